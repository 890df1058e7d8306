/*
 * Thin helpers over libpq for the repositories: run a parameterised statement
 * and turn any failure into one line in an error buffer, plus the SQLSTATEs
 * the daemon reacts to. Parameters are always text and always bound, never
 * spliced into SQL.
 */
#ifndef OS_PG_H
#define OS_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
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

/* Rolls back whatever transaction C has open, ignoring errors. */
void os_pg_rollback(PGconn *c);

/* SQLSTATE 23505. */
bool os_pg_unique_violation(const char *sqlstate);

#endif
