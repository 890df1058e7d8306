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

/* Runs a statement without parameters and result (BEGIN, COMMIT, ...).
 * Returns 0 or -1 with ERR filled. */
int os_pg_cmd(PGconn *c, const char *sql, char *err, size_t errsz);

/* Rolls back whatever transaction C has open, ignoring errors. */
void os_pg_rollback(PGconn *c);

/* SQLSTATE 23505. */
bool os_pg_unique_violation(const char *sqlstate);

#endif
