/*
 * libpq helpers (see pg.h).
 */
#include "utils/pg.h"

#include <stdio.h>
#include <string.h>

#include "eda/errbuf.h"

PGresult *os_pg_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                     size_t errsz, char sqlstate[6])
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state;
	char msg[512];

	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (sqlstate != NULL && state != NULL)
		snprintf(sqlstate, 6, "%s", state);
	snprintf(msg, sizeof(msg), "%s", r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c));
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	eda_errf(err, errsz, "postgresql: %s", msg);
	PQclear(r);
	return NULL;
}

int os_pg_cmd(PGconn *c, const char *sql, char *err, size_t errsz)
{
	PGresult *r = os_pg_exec(c, sql, 0, NULL, err, errsz, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

void os_pg_rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

bool os_pg_unique_violation(const char *sqlstate)
{
	return sqlstate != NULL && strcmp(sqlstate, "23505") == 0;
}
