/*
 * The libpq connection pool (see database.h). Slots hold either a connection or
 * NULL; a checkout takes any free slot, preferring one already connected, and
 * connects outside the lock so a slow connect never blocks other checkouts.
 */
#include "config/database.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "utils/pg.h"

struct slot {
	PGconn *conn;
	bool busy;
};

struct os_db_pool {
	char *url;
	int size;
	int timeout_ms; /* per connect and per round trip */
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

os_db_pool_t *os_db_pool_new(const char *url, int size, int timeout_ms)
{
	os_db_pool_t *p = eda_xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;

	p->url = eda_xstrdup(url);
	p->size = size > 0 ? size : 1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 3000;
	p->slots = eda_xcalloc((size_t)p->size, sizeof(*p->slots));
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->freed, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

void os_db_pool_free(os_db_pool_t *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->size; i++)
		if (p->slots[i].conn != NULL)
			PQfinish(p->slots[i].conn);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->slots);
	free(p->url);
	free(p);
}

/* Server notices ("relation already exists, skipping") would reach stderr as
 * non-JSON lines; they carry nothing an operator needs, so log them at debug. */
static void on_notice(void *arg, const char *message)
{
	char line[512];

	(void)arg;
	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	eda_log(EDA_LOG_DEBUG, "postgresql notice", "notice", line, NULL);
}

PGconn *os_db_connect(const char *url, int timeout_ms, char *err, size_t errsz)
{
	char idle[16], user_timeout[16], options[64], msg[512];
	/* The deadlines come BEFORE "dbname" (the URL), so that a URL naming its
	 * own keepalives, tcp_user_timeout or options wins. statement_timeout
	 * ends a statement the server works on for too long (and keeps the
	 * session usable); keepalives and tcp_user_timeout notice a peer that is
	 * gone from the network while the session idles (a LISTEN session waits
	 * for ever otherwise). A server that is there but silent is caught by the
	 * client-side deadline of every round trip (utils/pg.c). The application
	 * name makes our sessions easy to find in pg_stat_activity. */
	const char *keys[] = {"keepalives",       "keepalives_idle",  "keepalives_interval",
	                      "keepalives_count", "tcp_user_timeout", "options",
	                      "dbname",           "application_name", NULL};
	const char *vals[] = {"1", idle, "1", "3", user_timeout, options, url, "order-service",
	                      NULL};
	PGconn *c;

	snprintf(idle, sizeof(idle), "%d", timeout_ms >= 2000 ? timeout_ms / 1000 : 1);
	snprintf(user_timeout, sizeof(user_timeout), "%d", timeout_ms);
	snprintf(options, sizeof(options), "-c statement_timeout=%d", timeout_ms);
	if ((c = os_pg_connect(keys, vals, timeout_ms, msg, sizeof(msg))) == NULL) {
		/* libpq's message may hold the URL's password; keep the log clean. */
		eda_log_redact(msg, err, errsz);
		return NULL;
	}
	PQsetNoticeProcessor(c, on_notice, NULL);
	return c;
}

/* A connection within WAIT_MS for a free slot, then CONNECT_MS to open one
 * if the slot has none. */
static PGconn *checkout(os_db_pool_t *p, int wait_ms, int connect_ms, char *err, size_t errsz)
{
	struct timespec deadline;
	int pick = -1;
	PGconn *c;

	deadline = eda_clock_deadline(CLOCK_MONOTONIC, wait_ms);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (int i = 0; i < p->size; i++) {
			if (p->slots[i].busy)
				continue;
			if (pick < 0 || (p->slots[pick].conn == NULL && p->slots[i].conn != NULL))
				pick = i;
		}
		if (pick >= 0)
			break;
		if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			eda_errf(err, errsz, "no database connection free within %d ms", wait_ms);
			return NULL;
		}
	}
	p->slots[pick].busy = true;
	c = p->slots[pick].conn;
	p->slots[pick].conn = NULL;
	pthread_mutex_unlock(&p->lock);

	if (c != NULL && PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		c = NULL;
	}
	if (c == NULL)
		c = os_db_connect(p->url, connect_ms, err, errsz);
	if (c == NULL) {
		pthread_mutex_lock(&p->lock);
		p->slots[pick].busy = false;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->lock);
	}
	return c;
}

PGconn *os_db_checkout(os_db_pool_t *p, int wait_ms, char *err, size_t errsz)
{
	return checkout(p, wait_ms, p->timeout_ms, err, errsz);
}

int os_db_probe(os_db_pool_t *p, int budget_ms, char *err, size_t errsz)
{
	int64_t end = eda_clock_mono_ms() + budget_ms;
	PGconn *c = checkout(p, budget_ms, budget_ms, err, errsz);
	int rc, left = (int)(end - eda_clock_mono_ms());

	if (c == NULL)
		return -1;
	if (left < 1)
		left = 1;
	/* The probe's own deadline on a connection the pool shares: restored
	 * before the check-in (a connection that timed out is dropped anyway). */
	os_pg_set_timeout(c, left);
	rc = os_pg_cmd(c, "SELECT 1", err, errsz);
	os_pg_set_timeout(c, p->timeout_ms);
	os_db_checkin(p, c);
	return rc;
}

void os_db_checkin(os_db_pool_t *p, PGconn *c)
{
	if (c != NULL && (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE)) {
		PQfinish(c);
		c = NULL;
	}
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->size; i++) {
		if (p->slots[i].busy && p->slots[i].conn == NULL) {
			p->slots[i].busy = false;
			p->slots[i].conn = c;
			break;
		}
	}
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}
