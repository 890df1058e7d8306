/*
 * Reading a field of a stored document, with a neutral value when it is
 * missing or of another type (documents written by older versions of the
 * service may lack newer fields).
 */
#ifndef INV_UTILS_BSON_FIELDS_H
#define INV_UTILS_BSON_FIELDS_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

/* KEY as an integer (any BSON number), or 0. */
int64_t inv_bson_int(const bson_t *doc, const char *key);

/* KEY as a string copied into DST (SIZE bytes, truncated), or "". */
void inv_bson_str(char *dst, size_t size, const bson_t *doc, const char *key);

#endif
