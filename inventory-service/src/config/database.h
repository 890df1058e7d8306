/*
 * MongoDB connection handling: one mongoc client pool for the process, the
 * database name, the collections' unique indexes (created at start; the
 * guarantees rest on them) and a bounded ping for /readyz.
 *
 * Collections: products (catalogue + cached balance), ledger (append-only
 * stock entries, the truth), outbox (result events of orders), claims (the
 * orders some delivery has started on; repositories/claims.h), pending (the
 * rows whose events wait for publication; repositories/published.h).
 */
#ifndef INV_DATABASE_H
#define INV_DATABASE_H

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct inv_db inv_db_t;

/* What the repositories answer. */
enum {
	INV_REPO_OK = 0,
	INV_REPO_ERR = -1, /* the database failed (transient: retry later) */
	INV_REPO_DUP = -2, /* a unique index refused the insert */
};

/* The deadline of every call to the server unless MONGODB_TIMEOUT_MS or
 * the URL says otherwise. */
#define INV_DB_DEFAULT_TIMEOUT_MS 3000

/* The deadline of the readiness probe (inv_db_ping), whatever the URL says. */
#define INV_DB_PROBE_TIMEOUT_MS 1000

/* Connects a pool for URL (database DBNAME, or the URL's, or "inventory").
 * TIMEOUT_MS (0: INV_DB_DEFAULT_TIMEOUT_MS) bounds every call: it becomes
 * the URI's socketTimeoutMS, connectTimeoutMS and serverSelectionTimeoutMS,
 * each unless the URL sets it (the driver waits 5 minutes on a silent
 * socket by default). Does not talk to the server yet. NULL with ERR on a
 * bad URL. */
inv_db_t *inv_db_open(const char *url, const char *dbname, long pool_size, long timeout_ms,
                      char *err, size_t errsz);

/* Creates the indexes (idempotent) and learns which server this is.
 * Returns 0, or -1 with ERR. */
int inv_db_ensure_indexes(inv_db_t *db, char *err, size_t errsz);

/* true when the server is FerretDB (its buildInfo names a ferretdbVersion),
 * which hands only equality filters to its backend, and answers none of
 * them from an index (utils/find_in.h).
 * Learnt by inv_db_ensure_indexes, which a process calls before it queries. */
bool inv_db_is_ferretdb(const inv_db_t *db);

/* Overrides what inv_db_ensure_indexes learnt: tests run the strategy
 * meant for the other server against the stack's (both answer the same
 * reads; only their cost differs). */
void inv_db_set_ferretdb(inv_db_t *db, bool ferretdb);

/* Pings the server within about INV_DB_PROBE_TIMEOUT_MS, on a client of its own
 * (not the pool, which busy or hung requests may hold). Returns 0, or -1
 * with ERR. */
int inv_db_ping(inv_db_t *db, char *err, size_t errsz);

/* Called with each command the pool's clients send (NAME: "find",
 * "insert", ...; COMMAND borrowed for the call), on the sending thread. */
typedef void (*inv_db_command_fn)(const char *name, const bson_t *command, void *ctx);

/* Has FN see every command sent through DB's pool from now on: the tests
 * check with it which queries a lookup sends. Call it once, before the
 * first inv_db_acquire (inv_db_ensure_indexes included). */
void inv_db_observe(inv_db_t *db, inv_db_command_fn fn, void *ctx);

void inv_db_close(inv_db_t *db);

const char *inv_db_name(const inv_db_t *db);

/* A pooled client and one of its collections; give both back with
 * inv_db_release. Blocks while the pool is exhausted. */
mongoc_client_t *inv_db_acquire(inv_db_t *db);
void inv_db_release(inv_db_t *db, mongoc_client_t *client);
mongoc_collection_t *inv_db_collection(inv_db_t *db, mongoc_client_t *client, const char *name);

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

#define INV_COLL_PRODUCTS  "products"
#define INV_COLL_LEDGER    "ledger"
#define INV_COLL_OUTBOX    "outbox"
#define INV_COLL_CLAIMS    "claims"
#define INV_COLL_PENDING   "pending"
#define INV_COLL_CATALOGUE "catalogue" /* one document: the catalogue's change token */

#endif
