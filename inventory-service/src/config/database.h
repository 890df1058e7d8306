/*
 * MongoDB connection handling: one mongoc client pool for the process, the
 * database name, which server it is (MongoDB or FerretDB), a bounded ping
 * for /readyz and a hook for the tests to watch the commands sent. The
 * indexes are created by repositories/indexes.h; the query and write helpers
 * the repositories share are in repositories/mongo.h.
 */
#ifndef INV_DATABASE_H
#define INV_DATABASE_H

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct inv_db inv_db_t;

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

/* true when the server is FerretDB (its buildInfo names a ferretdbVersion),
 * which hands only equality filters to its backend, and answers none of
 * them from an index (repositories/mongo.h).
 * Learnt by inv_indexes_ensure (repositories/indexes.h), which a process calls before
 * it queries. */
bool inv_db_is_ferretdb(const inv_db_t *db);

/* Sets what inv_indexes_ensure learnt from the server; tests override it to run
 * the strategy meant for the other server against the stack's (both answer
 * the same reads; only their cost differs). */
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
 * first inv_db_acquire (inv_indexes_ensure included). */
void inv_db_observe(inv_db_t *db, inv_db_command_fn fn, void *ctx);

void inv_db_close(inv_db_t *db);

const char *inv_db_name(const inv_db_t *db);

/* A pooled client and one of its collections; give both back with
 * inv_db_release. Blocks while the pool is exhausted. */
mongoc_client_t *inv_db_acquire(inv_db_t *db);
void inv_db_release(inv_db_t *db, mongoc_client_t *client);
mongoc_collection_t *inv_db_collection(inv_db_t *db, mongoc_client_t *client, const char *name);

#endif
