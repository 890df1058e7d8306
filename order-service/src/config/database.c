/*
 * The libpq connection pool (see database.h). Slots hold either a connection or
 * NULL; a checkout takes any free slot, preferring one already connected, and
 * connects outside the lock so a slow connect never blocks other checkouts.
 */
#include "config/database.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"

struct slot {
	PGconn *conn;
	bool busy;
};

struct os_db_pool {
	char *url;
	int size;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

os_db_pool_t *os_db_pool_new(const char *url, int size)
{
	os_db_pool_t *p = eda_xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;

	p->url = eda_xstrdup(url);
	p->size = size > 0 ? size : 1;
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

const char *os_db_pool_url(const os_db_pool_t *p)
{
	return p->url;
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

PGconn *os_db_connect(const char *url, char *err, size_t errsz)
{
	/* Connect timeout bounds a checkout when the server is unreachable; the
	 * application name makes our sessions easy to find in pg_stat_activity. */
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {url, "5", "order-service", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		char msg[512];

		/* libpq's message may hold the URL's password; keep the log clean. */
		snprintf(msg, sizeof(msg), "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		eda_log_redact(msg, err, errsz);
		if (c != NULL)
			PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, on_notice, NULL);
	return c;
}

PGconn *os_db_checkout(os_db_pool_t *p, int wait_ms, char *err, size_t errsz)
{
	struct timespec deadline;
	int pick = -1;
	PGconn *c;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
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
		c = os_db_connect(p->url, err, errsz);
	if (c == NULL) {
		pthread_mutex_lock(&p->lock);
		p->slots[pick].busy = false;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->lock);
	}
	return c;
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
