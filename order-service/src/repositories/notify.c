/*
 * The coalescing NOTIFY sender and the LISTEN helpers (see notify.h).
 */
#include "repositories/notify.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/database.h"
#include "eda/alloc.h"
#include "eda/log.h"
#include "models/order.h"
#include "utils/pg.h"

#define MAX_IDS         1000 /* order ids per round; more only cost a later round */
#define MIN_INTERVAL_US 5000

struct os_notify {
	char *url;
	int timeout_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, outbox;
	size_t nids;
	char (*ids)[OS_UUID_LEN + 1];
	PGconn *conn;
};

static PGconn *connect_session(const os_notify_t *n)
{
	char err[256];
	PGconn *c = os_db_connect(n->url, n->timeout_ms, err, sizeof(err));

	if (c == NULL || os_pg_cmd(c, "SET synchronous_commit = off", err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_WARN, "notifier cannot connect", "error", err, NULL);
		if (c != NULL)
			PQfinish(c);
		return NULL;
	}
	return c;
}

static void send_round(os_notify_t *n, bool outbox, char (*ids)[OS_UUID_LEN + 1], size_t nids)
{
	static const os_pg_stmt_t notify = {
	        "notify",
	        "SELECT CASE WHEN $1 = '1' THEN pg_notify('" OS_CHANNEL_OUTBOX
	        "', '') END, (SELECT count(pg_notify('" OS_CHANNEL_STATUS
	        "', x)) FROM unnest($2::text[]) AS x)",
	        2};
	size_t cap = 16 + nids * (OS_UUID_LEN + 1), len = 0;
	char *arr = eda_xmalloc(cap), err[256];
	const char *p[2] = {outbox ? "1" : "0", arr};
	PGresult *r;

	arr[len++] = '{';
	for (size_t i = 0; i < nids; i++)
		len += (size_t)snprintf(arr + len, cap - len, "%s%s", i ? "," : "", ids[i]);
	snprintf(arr + len, cap - len, "}");
	for (int attempt = 0; attempt < 2; attempt++) {
		if (n->conn == NULL && (n->conn = connect_session(n)) == NULL)
			break;
		r = os_pg_run(n->conn, &notify, p, err, sizeof(err), NULL);
		if (r != NULL) {
			PQclear(r);
			break;
		}
		eda_log(EDA_LOG_WARN, "notify failed", "error", err, NULL);
		PQfinish(n->conn);
		n->conn = NULL;
	}
	free(arr);
}

static void *run(void *arg)
{
	os_notify_t *n = arg;
	char(*ids)[OS_UUID_LEN + 1] = eda_xmalloc(MAX_IDS * sizeof(*ids));

	n->conn = connect_session(n);
	pthread_mutex_lock(&n->lock);
	for (;;) {
		bool outbox;
		size_t nids;

		while (!n->stopping && !n->outbox && n->nids == 0)
			pthread_cond_wait(&n->cond, &n->lock);
		if (!n->outbox && n->nids == 0)
			break; /* stopping with nothing pending */
		outbox = n->outbox;
		nids = n->nids;
		memcpy(ids, n->ids, nids * sizeof(*ids));
		n->outbox = false;
		n->nids = 0;
		pthread_mutex_unlock(&n->lock);
		send_round(n, outbox, ids, nids);
		/* Every NOTIFY costs the server a trip through its global notify
		 * queue and every listener a wake-up; under load, one per
		 * MIN_INTERVAL_US carries all that happened meanwhile at the price
		 * of at most that much added cross-replica latency. */
		usleep(MIN_INTERVAL_US);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	free(ids);
	if (n->conn != NULL)
		PQfinish(n->conn);
	return NULL;
}

os_notify_t *os_notify_start(const char *url, int timeout_ms, char *err, size_t errsz)
{
	os_notify_t *n = eda_xcalloc(1, sizeof(*n));

	n->url = eda_xstrdup(url);
	n->timeout_ms = timeout_ms;
	n->ids = eda_xmalloc(MAX_IDS * sizeof(*n->ids));
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	if (pthread_create(&n->thread, NULL, run, n) != 0) {
		snprintf(err, errsz, "cannot start the notifier thread");
		free(n->ids);
		free(n->url);
		free(n);
		return NULL;
	}
	return n;
}

void os_notify_stop(os_notify_t *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n->ids);
	free(n->url);
	free(n);
}

void os_notify_outbox(os_notify_t *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->outbox = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

void os_notify_status(os_notify_t *n, const char *order_id)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->nids < MAX_IDS)
		snprintf(n->ids[n->nids++], OS_UUID_LEN + 1, "%s", order_id);
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

PGconn *os_notify_listen(const char *url, const char *channel, int timeout_ms, char *err,
                         size_t errsz)
{
	char sql[128];
	PGconn *c = os_db_connect(url, timeout_ms, err, errsz);

	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	if (c != NULL && os_pg_cmd(c, sql, err, errsz) != 0) {
		PQfinish(c);
		c = NULL;
	}
	return c;
}

int os_notify_drain(PGconn *c, void (*on_notify)(const char *payload, void *ctx), void *ctx)
{
	PGnotify *n;

	if (PQconsumeInput(c) == 0)
		return -1;
	while ((n = PQnotifies(c)) != NULL) {
		on_notify(n->extra, ctx);
		PQfreemem(n);
	}
	return 0;
}
