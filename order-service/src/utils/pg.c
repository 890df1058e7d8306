/*
 * libpq helpers (see pg.h). Every round trip goes through bounded(): the
 * query is sent without blocking and its answer awaited with poll() until
 * the connection's deadline, because libpq itself waits for ever on a server
 * that accepted the connection and stopped answering (FACTS.md, "Failure and
 * recovery"): neither statement_timeout (the server's own clock) nor TCP
 * keepalives (the peer's kernel still answers them) end that wait.
 */
#include "utils/pg.h"

#include <errno.h>
#include <libpq-events.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"

/* For a connection not opened by os_pg_connect (a test's own): long, but
 * still a bound. */
#define FALLBACK_TIMEOUT_MS 30000

/* What the daemon keeps with each connection, through libpq's event hooks so
 * that it goes when the connection does: the statements it has prepared and
 * its deadline per round trip. */
typedef struct session {
	const os_pg_stmt_t **stmts;
	size_t n, cap;
	int timeout_ms;
} session_t;

static int session_events(PGEventId id, void *info, void *pass)
{
	PGconn *c;
	session_t *p;

	(void)pass;
	if (id == PGEVT_CONNRESET)
		c = ((PGEventConnReset *)info)->conn;
	else if (id == PGEVT_CONNDESTROY)
		c = ((PGEventConnDestroy *)info)->conn;
	else
		return 1;
	p = PQinstanceData(c, session_events);
	if (p == NULL)
		return 1;
	p->n = 0; /* a reset connection is a new session: nothing is prepared */
	if (id == PGEVT_CONNDESTROY) {
		free(p->stmts);
		free(p);
	}
	return 1;
}

/* C's session state, NULL when libpq cannot keep one. */
static session_t *session_of(PGconn *c)
{
	session_t *p = PQinstanceData(c, session_events);

	if (p != NULL)
		return p;
	if (!PQregisterEventProc(c, session_events, "os-session", NULL))
		return NULL;
	p = eda_xcalloc(1, sizeof(*p));
	p->timeout_ms = FALLBACK_TIMEOUT_MS;
	if (!PQsetInstanceData(c, session_events, p)) {
		free(p);
		return NULL;
	}
	return p;
}

void os_pg_set_timeout(PGconn *c, int timeout_ms)
{
	session_t *p = session_of(c);

	if (p != NULL)
		p->timeout_ms = timeout_ms > 0 ? timeout_ms : FALLBACK_TIMEOUT_MS;
}

int os_pg_timeout(PGconn *c)
{
	session_t *p = session_of(c);

	return p != NULL ? p->timeout_ms : FALLBACK_TIMEOUT_MS;
}

/* Waits until C's socket is ready for EVENTS or DEADLINE (monotonic ms)
 * passes. Returns 1 ready, 0 timed out, -1 failed. */
static int wait_socket(PGconn *c, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = PQsocket(c), .events = events};
		int64_t left = deadline - eda_clock_mono_ms();
		int n;

		if (pfd.fd < 0)
			return -1;
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

void os_pg_abandon(PGconn *c)
{
	PGresult *r;

	/* Shutting the socket down makes libpq read an end of file: it marks the
	 * connection bad and closes the socket itself, so every later call on C
	 * fails at once instead of waiting for the lost answer, and the pool or
	 * session owner replaces the connection. PQcancel is no help here: it
	 * opens a new connection to the same unresponsive server and waits. */
	if (PQsocket(c) >= 0)
		shutdown(PQsocket(c), SHUT_RDWR);
	(void)PQconsumeInput(c);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

/* Sends what libpq buffered and waits for the whole answer of the command
 * just sent (SENT: the PQsend* call's return), at most C's timeout. Returns
 * the last result, or the first error one, like PQexec; NULL with ERR when
 * the connection failed or the deadline passed (C is then abandoned). */
static PGresult *bounded(PGconn *c, int sent, char *err, size_t errsz)
{
	int timeout = os_pg_timeout(c);
	int64_t deadline = eda_clock_mono_ms() + timeout;
	PGresult *keep = NULL, *r;
	int flushing;

	if (!sent)
		goto failed;
	while ((flushing = PQflush(c)) != 0) {
		int w;

		if (flushing < 0)
			goto failed;
		if ((w = wait_socket(c, POLLOUT | POLLIN, deadline)) == 0)
			goto timed_out;
		if (w < 0)
			goto failed;
		/* The server may answer (an error) before reading all we send. */
		if (PQconsumeInput(c) == 0)
			goto failed;
	}
	for (;;) {
		while (PQisBusy(c)) {
			int w = wait_socket(c, POLLIN, deadline);

			if (w == 0)
				goto timed_out;
			if (w < 0)
				goto failed;
			if (PQconsumeInput(c) == 0)
				goto failed;
		}
		if ((r = PQgetResult(c)) == NULL)
			break;
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(keep);
			keep = r;
		}
	}
	return keep;
timed_out:
	PQclear(keep);
	os_pg_abandon(c);
	eda_errf(err, errsz, "postgresql: no answer within %d ms; connection dropped", timeout);
	return NULL;
failed:
	PQclear(keep);
	eda_errf(err, errsz, "postgresql: %s", PQerrorMessage(c));
	err[strcspn(err, "\n")] = '\0';
	if (PQstatus(c) == CONNECTION_OK)
		os_pg_abandon(c); /* half-sent or half-read: not reusable */
	return NULL;
}

/* Turns R (which may be NULL, then ERR is already filled) into the caller's
 * result or into ERR. */
static PGresult *checked(PGconn *c, PGresult *r, char *err, size_t errsz, char sqlstate[6])
{
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state;
	char msg[512];

	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	if (r == NULL)
		return NULL;
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (sqlstate != NULL && state != NULL)
		snprintf(sqlstate, 6, "%s", state);
	snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
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
	int sent = PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0);

	return checked(c, bounded(c, sent, err, errsz), err, errsz, sqlstate);
}

int os_pg_script(PGconn *c, const char *sql, char *err, size_t errsz)
{
	/* PQsendQuery (not PQsendQueryParams) runs several statements. */
	PGresult *r = checked(c, bounded(c, PQsendQuery(c, sql), err, errsz), err, errsz, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

PGresult *os_pg_run(PGconn *c, const os_pg_stmt_t *s, const char *const *params, char *err,
                    size_t errsz, char sqlstate[6])
{
	session_t *p = session_of(c);
	size_t i = 0;

	if (p == NULL) /* not expected; the unprepared path gives the same answer */
		return os_pg_exec(c, s->sql, s->nparams, params, err, errsz, sqlstate);
	while (i < p->n && p->stmts[i] != s)
		i++;
	if (i == p->n) {
		int sent = PQsendPrepare(c, s->name, s->sql, s->nparams, NULL);
		PGresult *r = checked(c, bounded(c, sent, err, errsz), err, errsz, sqlstate);

		if (r == NULL)
			return NULL;
		PQclear(r);
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->stmts = eda_xrealloc(p->stmts, p->cap * sizeof(*p->stmts));
		}
		p->stmts[p->n++] = s;
	}
	return checked(c,
	               bounded(c,
	                       PQsendQueryPrepared(c, s->name, s->nparams, params, NULL, NULL, 0),
	                       err, errsz),
	               err, errsz, sqlstate);
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
	char err[256];

	/* A broken connection has nothing to roll back (the server ends its
	 * transaction when the session goes) and must not be waited on. */
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		(void)os_pg_cmd(c, "ROLLBACK", err, sizeof(err));
}

PGconn *os_pg_connect(const char *const *keys, const char *const *vals, int timeout_ms, char *err,
                      size_t errsz)
{
	int64_t deadline = eda_clock_mono_ms() + timeout_ms;
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (c == NULL) {
		eda_errf(err, errsz, "out of memory");
		return NULL;
	}
	/* libpq's own connect_timeout counts whole seconds (at least 2) and only
	 * in its blocking connect; polling here keeps the setting's milliseconds,
	 * including the wait for the server's answer to the startup packet. */
	while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	       st != PGRES_POLLING_FAILED) {
		int w = wait_socket(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);

		if (w == 0) {
			eda_errf(err, errsz, "no answer from PostgreSQL within %d ms", timeout_ms);
			PQfinish(c);
			return NULL;
		}
		st = PQconnectPoll(c);
	}
	if (PQstatus(c) != CONNECTION_OK) {
		eda_errf(err, errsz, "%s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	/* Sends never block either: bounded() flushes under the deadline. */
	if (PQsetnonblocking(c, 1) != 0) {
		eda_errf(err, errsz, "cannot make the connection non-blocking");
		PQfinish(c);
		return NULL;
	}
	os_pg_set_timeout(c, timeout_ms);
	return c;
}
