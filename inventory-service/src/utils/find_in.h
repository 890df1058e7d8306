/*
 * The documents whose FIELD is one of a list of strings, the way each
 * server answers best:
 *   MongoDB   one query {FIELD: {$in: [v0, v1, ...]}};
 *   FerretDB  one query {FIELD: v} per value. FerretDB 1.24 hands only
 *             equality filters down to its backend (SQLite: only on _id)
 *             and answers anything else, $in included, by reading the whole
 *             collection into itself; which made a reservation cost 50-70 ms
 *             of the store's CPU in bench/inventory-service. Even an equality
 *             is no index lookup on its PostgreSQL handler: it filters with
 *             `_jsonb->'FIELD' @> value`, which the btree indexes that
 *             createIndexes makes cannot serve, so PostgreSQL scans the
 *             table, though far faster than FerretDB reads it. Hot paths
 *             therefore avoid queries on growing collections altogether
 *             (repositories/claims.h, repositories/published.h).
 * Which one is learnt once per process (inv_db_is_ferretdb).
 */
#ifndef INV_UTILS_FIND_IN_H
#define INV_UTILS_FIND_IN_H

#include <stddef.h>

#include "config/database.h"

/* {FIELD: {$in: [VALUES...]}}, owned by the caller. */
bson_t *inv_in_filter(const char *field, const char *const *values, size_t n);

/* Called once for each document found (borrowed for the call). */
typedef void (*inv_found_fn)(const bson_t *doc, void *ctx);

/* Runs FILTER (taken) with OPTS (may be NULL) on COLL and calls FN for every
 * document. Returns 0, or -1 with ERR ("WHAT: why"). */
int inv_find_each(mongoc_collection_t *coll, bson_t *filter, const bson_t *opts, inv_found_fn fn,
                  void *ctx, const char *what, char *err, size_t errsz);

/* Finds the documents of COLL whose FIELD is one of the N VALUES, with OPTS
 * (projection; may be NULL), calling FN for each; a document matching two
 * values may be reported twice. Returns 0, or -1 with ERR ("WHAT: why"). */
int inv_find_in(inv_db_t *db, mongoc_collection_t *coll, const char *field,
                const char *const *values, size_t n, const bson_t *opts, inv_found_fn fn, void *ctx,
                const char *what, char *err, size_t errsz);

#endif
