/*
 * What the repositories share about talking to MongoDB: the collections'
 * names, what a repository call answers, inserts that tell stored from
 * refused documents, updates in commands FerretDB can take, reading a field
 * of a stored document, and finding the documents whose FIELD is one of a
 * list of strings, the way each server answers best:
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
#ifndef INV_REPOSITORIES_MONGO_H
#define INV_REPOSITORIES_MONGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/database.h"

/* What the repositories answer. */
enum {
	INV_REPO_OK = 0,
	INV_REPO_ERR = -1, /* the database failed (transient: retry later) */
	INV_REPO_DUP = -2, /* a unique index refused the insert */
};

/* Collections: products (catalogue + cached balance), ledger (append-only
 * stock entries, the truth), outbox (result events of orders), claims (the
 * orders some delivery has started on; repositories/claims.h), pending (the
 * rows whose events wait for publication; repositories/published.h). */
#define INV_COLL_PRODUCTS  "products"
#define INV_COLL_LEDGER    "ledger"
#define INV_COLL_OUTBOX    "outbox"
#define INV_COLL_CLAIMS    "claims"
#define INV_COLL_PENDING   "pending"
#define INV_COLL_CATALOGUE "catalogue" /* one document: the catalogue's change token */

/* true if ERR is a duplicate-key error. Some servers (mongo-java-server)
 * report code 0, so the message is checked too. */
bool inv_db_is_duplicate(const bson_error_t *err);

/* Reads the writeErrors of the REPLY to an insert of N documents: RCS[i] is
 * set to DUP_RC for each document refused as a duplicate key (the others are
 * left as they are). Returns the lowest index refused for any reason, or N
 * when none is listed. */
size_t inv_db_mark_duplicates(const bson_t *reply, size_t n, int *rcs, int dup_rc);

/* Inserts the N DOCS (destroyed here) into COLL in one unordered insert.
 * RCS[i] gets INV_REPO_OK, or after a failed insert INV_REPO_DUP for each
 * document refused as a duplicate key, INV_REPO_OK for each one the reply
 * shows stored (its insertedCount and its writeErrors together account for
 * every document) and INV_REPO_ERR for the others, whose fate the reply does
 * not tell. Returns true when every document was inserted, else false with
 * BE. */
bool inv_db_insert_unordered(mongoc_collection_t *coll, bson_t **docs, size_t n, int *rcs,
                             bson_error_t *be);

/* Update statements per update command. FerretDB 1.24 keeps the read of
 * each statement of an update command open until the whole command ends (a
 * defer inside its loop, internal/handler/msg_update.go), and each such read
 * holds a connection of its backend's pool (100 for SQLite, 50 for
 * PostgreSQL): a command of more statements than the pool waits for itself
 * forever, and takes every later request on that database with it (FACTS.md:
 * several such commands at once wedge the whole server). So the statements
 * this process can have open at once stay well under 50: one such command
 * at a time (the cache writer's) plus one update per HTTP thread and per
 * consumer, 8 + 4 + 1 = 13 with the defaults, 26 for two replicas. */
#define INV_DB_MAX_UPDATES_PER_COMMAND 8

/* Builds update statement I of a batch: *FILTER and *UPDATE, both new, owned
 * by the caller of the builder. */
typedef void (*inv_db_update_builder_t)(size_t i, bson_t **filter, bson_t **update, void *ctx);

/* Runs N update_one statements on COLL, unordered, in commands of at most
 * INV_DB_MAX_UPDATES_PER_COMMAND statements each (one round trip each).
 * Returns 0, or -1 with ERR (WHAT names the caller) at the first failed
 * command; the commands before it stay applied. */
int inv_db_update_each(inv_db_t *db, const char *coll, size_t n, inv_db_update_builder_t build,
                       void *ctx, const char *what, char *err, size_t errsz);

/* Reading a field of a stored document, with a neutral value when it is
 * missing or of another type (documents written by older versions of the
 * service may lack newer fields). */

/* KEY as an integer (any BSON number), or 0. */
int64_t inv_bson_int(const bson_t *doc, const char *key);

/* KEY as a string copied into DST (SIZE bytes, truncated), or "". */
void inv_bson_str(char *dst, size_t size, const bson_t *doc, const char *key);

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
