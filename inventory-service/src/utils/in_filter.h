/*
 * Builds the query filter {FIELD: {$in: [v0, v1, ...]}} one string at a time
 * (the values are often computed in a loop, e.g. ledger ids):
 *
 *   inv_in_filter_t f;
 *   inv_in_begin(&f, "_id");
 *   for (...) inv_in_add(&f, id);
 *   bson_t *filter = inv_in_end(&f);   (caller destroys it)
 *
 * Queries by _id this way are answered by the _id index, also on
 * mongo-java-server and FerretDB.
 */
#ifndef INV_UTILS_IN_FILTER_H
#define INV_UTILS_IN_FILTER_H

#include <bson/bson.h>
#include <stdint.h>

typedef struct inv_in_filter {
	bson_t *filter;
	bson_t in, values;
	uint32_t n;
} inv_in_filter_t;

void inv_in_begin(inv_in_filter_t *f, const char *field);
void inv_in_add(inv_in_filter_t *f, const char *value);
/* Closes the filter and hands it to the caller. */
bson_t *inv_in_end(inv_in_filter_t *f);

#endif
