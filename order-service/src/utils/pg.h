/*
 * Thin helpers over libpq for the repositories: run a parameterised statement
 * and turn any failure into one line in an error buffer. Parameters are
 * always text and always bound, never spliced into SQL.
 *
 * Every round trip has a deadline, the connection's timeout (set by
 * os_pg_connect, changed with os_pg_set_timeout): a server that stops
 * answering costs the caller that long, then an error, and the connection is
 * dropped (PQstatus() is CONNECTION_BAD afterwards; the pool replaces it).
 * Use these helpers, never PQexec, on the daemon's connections.
 */
#ifndef OS_PG_H
#define OS_PG_H

#include <libpq-fe.h>
#include <stddef.h>

/* Runs SQL with N text PARAMS (entries may be NULL for SQL NULL). Returns the
 * result (caller PQclear()s it) when it succeeded, else NULL with ERR filled
 * and, if SQLSTATE is not NULL, the five-character state copied there ("" when
 * the connection itself failed). */
PGresult *os_pg_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                     size_t errsz, char sqlstate[6]);

/* A statement on a hot path: each connection parses and plans it once, on
 * its first use there, instead of on every call (at several thousand calls a
 * second that was a fifth of the order database's CPU). NAME must be unique
 * in the process; SQL takes NPARAMS text parameters. */
typedef struct os_pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
} os_pg_stmt_t;

/* Like os_pg_exec, for a prepared statement S. The statement is prepared on C
 * first if C has not prepared it yet; a failure to prepare is reported like a
 * failure to run. */
PGresult *os_pg_run(PGconn *c, const os_pg_stmt_t *s, const char *const *params, char *err,
                    size_t errsz, char sqlstate[6]);

/* Runs a statement without parameters and result (BEGIN, COMMIT, ...).
 * Returns 0 or -1 with ERR filled. */
int os_pg_cmd(PGconn *c, const char *sql, char *err, size_t errsz);

/* Runs a script of several statements (a migration) without parameters.
 * Returns 0 or -1 with ERR filled. */
int os_pg_script(PGconn *c, const char *sql, char *err, size_t errsz);

/* Rolls back whatever transaction C has open, ignoring errors; nothing when
 * the connection is broken. */
void os_pg_rollback(PGconn *c);

/* Opens a connection with libpq's KEYS/VALS (expand_dbname on: a "dbname"
 * value may be a URL), waiting at most TIMEOUT_MS for the server to finish
 * the handshake; the connection is non-blocking and its round trips get the
 * same TIMEOUT_MS. Returns NULL with ERR filled (libpq's message, which may
 * quote the connection string: redact it before logging). */
PGconn *os_pg_connect(const char *const *keys, const char *const *vals, int timeout_ms, char *err,
                      size_t errsz);

/* Sets the deadline of each later round trip on C (a positive number of ms). */
void os_pg_set_timeout(PGconn *c, int timeout_ms);

/* C's deadline per round trip in ms. */
int os_pg_timeout(PGconn *c);

/* Drops C's link to the server at once (after a deadline passed or a send
 * failed half-way): C is CONNECTION_BAD afterwards, and the caller finishes
 * it as usual. */
void os_pg_abandon(PGconn *c);

#endif
