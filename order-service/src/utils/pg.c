/*
 * libpq helpers (see pg.h).
 */
#include "utils/pg.h"

#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"

/* Turns R (which may be NULL) into the caller's result or into ERR. */
static PGresult *checked(PGconn *c, PGresult *r, char *err, size_t errsz, char sqlstate[6])
{
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

PGresult *os_pg_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                     size_t errsz, char sqlstate[6])
{
	return checked(c, PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0), err, errsz,
	               sqlstate);
}

/* The statements a connection has prepared, kept with the connection by
 * libpq's event hooks so they are forgotten when it is reset or finished. */
typedef struct prepared {
	const os_pg_stmt_t **stmts;
	size_t n, cap;
} prepared_t;

static int prepared_events(PGEventId id, void *info, void *pass)
{
	PGconn *c;
	prepared_t *p;

	(void)pass;
	if (id == PGEVT_CONNRESET)
		c = ((PGEventConnReset *)info)->conn;
	else if (id == PGEVT_CONNDESTROY)
		c = ((PGEventConnDestroy *)info)->conn;
	else
		return 1;
	p = PQinstanceData(c, prepared_events);
	if (p == NULL)
		return 1;
	p->n = 0; /* a reset connection is a new session: nothing is prepared */
	if (id == PGEVT_CONNDESTROY) {
		free(p->stmts);
		free(p);
	}
	return 1;
}

/* C's set of prepared statements, NULL when libpq cannot keep one. */
static prepared_t *prepared_of(PGconn *c)
{
	prepared_t *p = PQinstanceData(c, prepared_events);

	if (p != NULL)
		return p;
	if (!PQregisterEventProc(c, prepared_events, "os-prepared", NULL))
		return NULL;
	p = eda_xcalloc(1, sizeof(*p));
	if (!PQsetInstanceData(c, prepared_events, p)) {
		free(p);
		return NULL;
	}
	return p;
}

PGresult *os_pg_run(PGconn *c, const os_pg_stmt_t *s, const char *const *params, char *err,
                    size_t errsz, char sqlstate[6])
{
	prepared_t *p = prepared_of(c);
	size_t i = 0;

	if (p == NULL) /* not expected; the unprepared path gives the same answer */
		return os_pg_exec(c, s->sql, s->nparams, params, err, errsz, sqlstate);
	while (i < p->n && p->stmts[i] != s)
		i++;
	if (i == p->n) {
		PGresult *r = checked(c, PQprepare(c, s->name, s->sql, s->nparams, NULL), err,
		                      errsz, sqlstate);

		if (r == NULL)
			return NULL;
		PQclear(r);
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->stmts = eda_xrealloc(p->stmts, p->cap * sizeof(*p->stmts));
		}
		p->stmts[p->n++] = s;
	}
	return checked(c, PQexecPrepared(c, s->name, s->nparams, params, NULL, NULL, 0), err, errsz,
	               sqlstate);
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
