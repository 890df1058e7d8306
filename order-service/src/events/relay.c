/*
 * The outbox relay (see relay.h).
 */
#include "events/relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/event.h"
#include "eda/event_bus.h"
#include "eda/log.h"
#include "events/outbox_cursor.h"
#include "repositories/notify.h"
#include "repositories/outbox.h"

static const double lag_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                     0.1,   0.25,  0.5,   1,    2.5,  10};

struct os_relay {
	char *url;
	int batch_size, sweep_ms, standby_ms, db_timeout_ms;
	eda_producer_t *producer;
	PGconn *conn;
	bool leader;
	int efd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards batch, outstanding, stopping */
	pthread_cond_t cond;
	os_outbox_row_t *batch;
	int nbatch, outstanding;
	bool stopping;
	os_outbox_cursor_t *cursor; /* relay thread only */
	double pending_at;          /* when outbox_pending was last counted */
	unsigned long long published;
	eda_metric_t *m_published, *m_lag, *m_pending, *m_leader;
};

/* Seconds since the epoch: the outbox cursor's and the relay's timestamps. */
static double wall_now(void)
{
	return (double)eda_clock_wall_ms() / 1000.0;
}

os_relay_t *os_relay_new(const os_relay_config_t *cfg, char *err, size_t errsz)
{
	os_relay_t *r = eda_xcalloc(1, sizeof(*r));

	r->url = eda_xstrdup(cfg->database_url);
	r->batch_size = cfg->batch > 0 ? cfg->batch : 500;
	r->sweep_ms = cfg->sweep_ms > 0 ? cfg->sweep_ms : 1000;
	r->standby_ms = cfg->standby_ms > 0 ? cfg->standby_ms : 3000;
	r->db_timeout_ms = cfg->db_timeout_ms > 0 ? cfg->db_timeout_ms : 3000;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->cursor = os_outbox_cursor_new();
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (cfg->metrics != NULL) {
		r->m_published = eda_event_published_metric(cfg->metrics, err, errsz);
		r->m_lag = eda_metrics_histogram(
		        cfg->metrics, "outbox_relay_lag_seconds",
		        "From the outbox insert to the broker's delivery report.", NULL,
		        lag_buckets, sizeof(lag_buckets) / sizeof(lag_buckets[0]), err, errsz);
		r->m_pending =
		        eda_metrics_gauge(cfg->metrics, "outbox_pending",
		                          "Outbox rows not yet published.", NULL, err, errsz);
		r->m_leader = eda_metrics_gauge(cfg->metrics, "outbox_relay_leader",
		                                "1 while this replica's relay holds the lock.",
		                                NULL, err, errsz);
		if (r->m_published == NULL || r->m_lag == NULL || r->m_pending == NULL ||
		    r->m_leader == NULL) {
			os_relay_free(r);
			return NULL;
		}
	}
	return r;
}

int os_relay_tune_conf(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
	if (eda_kafka_conf_set(conf, "message.timeout.ms", "0", err, errsz) != 0)
		return -1;
	if (eda_kafka_conf_low_latency(conf, err, errsz) != 0)
		return -1;
	return 0;
}

void os_relay_on_delivery(void *opaque, int err, const char *why, void *ctx)
{
	os_relay_t *r = ctx;
	long long id = (long long)(intptr_t)opaque;
	int lo = 0, hi;

	pthread_mutex_lock(&r->lock);
	hi = r->nbatch - 1;
	/* Batch rows are sorted by id; a report for an abandoned batch finds nothing. */
	while (r->batch != NULL && lo <= hi) {
		int mid = (lo + hi) / 2;
		os_outbox_row_t *row = &r->batch[mid];

		if (row->id < id) {
			lo = mid + 1;
		} else if (row->id > id) {
			hi = mid - 1;
		} else {
			if (row->status == 0) {
				row->status = err == 0 ? 1 : -1;
				row->delivered_at = wall_now();
				r->outstanding--;
				if (err != 0)
					eda_log(EDA_LOG_WARN, "outbox row not delivered",
					        "order_id", row->aggregate_id, "error", why, NULL);
				pthread_cond_broadcast(&r->cond);
			}
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void drop_session(os_relay_t *r, const char *why)
{
	if (why != NULL)
		eda_log(EDA_LOG_WARN, "relay lost its database session", "error", why, NULL);
	if (r->conn != NULL)
		PQfinish(r->conn);
	r->conn = NULL;
	if (r->leader)
		eda_log(EDA_LOG_INFO, "relay is no longer the leader", NULL);
	__atomic_store_n(&r->leader, false, __ATOMIC_RELAXED);
	if (r->m_leader != NULL)
		eda_gauge_set(r->m_leader, NULL, 0);
}

static bool stopping(os_relay_t *r)
{
	bool s;

	pthread_mutex_lock(&r->lock);
	s = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return s;
}

/* Tries to become the leader. Returns true when this relay holds the lock. */
static bool elect(os_relay_t *r)
{
	char err[256];
	int rc;

	if (r->conn == NULL) {
		r->conn = os_repo_outbox_session(r->url, r->db_timeout_ms, err, sizeof(err));
		if (r->conn == NULL) {
			eda_log(EDA_LOG_WARN, "relay cannot connect", "error", err, NULL);
			return false;
		}
	}
	rc = os_repo_outbox_lead(r->conn, err, sizeof(err));
	if (rc < 0)
		drop_session(r, err);
	if (rc <= 0)
		return false;
	/* Another leader may have published anything meanwhile. */
	os_outbox_cursor_sweep(r->cursor);
	__atomic_store_n(&r->leader, true, __ATOMIC_RELAXED);
	if (r->m_leader != NULL)
		eda_gauge_set(r->m_leader, NULL, 1);
	eda_log(EDA_LOG_INFO, "relay is the leader", NULL);
	return true;
}

/* Sends the N rows of the batch in order, each with its row id as opaque.
 * A row that cannot be sent ends the send: it and the rest count as not
 * delivered (later rows must not overtake it); a fatal producer error also
 * stops the relay. */
static void send_batch(os_relay_t *r, os_outbox_row_t *rows, int n)
{
	char err[512];
	int rc;

	for (int i = 0; i < n; i++) {
		for (;;) {
			rc = eda_producer_send(r->producer, rows[i].topic, rows[i].aggregate_id,
			                       strlen(rows[i].aggregate_id), rows[i].payload,
			                       strlen(rows[i].payload), eda_event_headers,
			                       eda_event_nheaders, (void *)(intptr_t)rows[i].id,
			                       err, sizeof(err));
			if (rc != EDA_PRODUCER_QUEUE_FULL || stopping(r))
				break;
			usleep(1000);
		}
		if (rc != EDA_PRODUCER_OK) {
			/* Later rows must not overtake this one: stop the round here and
			 * treat the rest as not sent. */
			eda_log(EDA_LOG_ERROR, "relay cannot send", "order_id",
			        rows[i].aggregate_id, "error", err, NULL);
			pthread_mutex_lock(&r->lock);
			for (int j = i; j < n; j++) {
				if (rows[j].status == 0) {
					rows[j].status = -1;
					r->outstanding--;
				}
			}
			pthread_mutex_unlock(&r->lock);
			if (rc == EDA_PRODUCER_FATAL) {
				eda_log(EDA_LOG_ERROR, "producer is unusable; shutting down", NULL);
				pthread_mutex_lock(&r->lock);
				r->stopping = true;
				pthread_mutex_unlock(&r->lock);
			}
			return;
		}
	}
}

/* Marks the delivered rows of the batch published and counts them. Returns
 * how many were marked, or -1 with the session dropped. */
static int mark_delivered(os_relay_t *r, os_outbox_row_t *rows, int n)
{
	char err[512];
	int marked;

	/* A row may be marked only if every earlier row of the batch was delivered:
	 * otherwise a failed row would be retried after later ones of the same
	 * order, reordering them. */
	for (int i = 0, failed = 0; i < n; i++) {
		if (rows[i].status != 1)
			failed = 1;
		if (failed && rows[i].status == 1)
			rows[i].status = 0;
	}
	marked = os_repo_outbox_mark(r->conn, rows, n, err, sizeof(err));
	if (marked < 0) {
		drop_session(r, err);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rows[i].status != 1)
			continue;
		if (r->m_published != NULL)
			eda_counter_add(r->m_published, EDA_LABELS(rows[i].topic, rows[i].type), 1);
		if (r->m_lag != NULL)
			eda_histogram_observe(r->m_lag, NULL,
			                      rows[i].delivered_at - rows[i].created_at);
	}
	return marked;
}

/* One round: fetch, send, wait for every report, mark. Returns the number of
 * rows published, 0 when there was nothing, -1 on a database error, -2 when
 * stopping or a delivery failed (retry after a pause). */
static int round_trip(os_relay_t *r)
{
	char err[512];
	os_outbox_row_t *rows;
	const long long *gaps;
	long long after, *ids;
	size_t ngaps;
	int n, marked;

	os_outbox_cursor_next(r->cursor, wall_now(), &after, &gaps, &ngaps);
	n = os_repo_outbox_fetch(r->conn, r->batch_size, after, gaps, ngaps, &rows, err,
	                         sizeof(err));
	if (n < 0) {
		drop_session(r, err);
		return -1;
	}
	ids = eda_xcalloc((size_t)n + 1, sizeof(*ids));
	for (int i = 0; i < n; i++)
		ids[i] = rows[i].id;
	os_outbox_cursor_saw(r->cursor, wall_now(), ids, (size_t)n, n == r->batch_size);
	free(ids);
	if (n == 0) {
		os_repo_outbox_free(rows, 0);
		return 0;
	}
	pthread_mutex_lock(&r->lock);
	r->batch = rows;
	r->nbatch = n;
	r->outstanding = n;
	pthread_mutex_unlock(&r->lock);
	send_batch(r, rows, n);
	pthread_mutex_lock(&r->lock);
	while (r->outstanding > 0 && !r->stopping)
		pthread_cond_wait(&r->cond, &r->lock);
	/* Detach the batch: late reports (after stop) must find nothing. */
	r->batch = NULL;
	r->nbatch = 0;
	pthread_mutex_unlock(&r->lock);

	marked = mark_delivered(r, rows, n);
	if (marked < 0) {
		os_repo_outbox_free(rows, n);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	r->published += (unsigned long long)marked;
	pthread_mutex_unlock(&r->lock);
	os_repo_outbox_free(rows, n);
	/* The rows left behind are below the mark now: sweep for them. */
	if (marked < n)
		os_outbox_cursor_sweep(r->cursor);
	return marked < n ? -2 : marked;
}

static void ignore_notify(const char *payload, void *ctx)
{
	(void)payload;
	(void)ctx;
}

static void wait_for_work(os_relay_t *r, int timeout_ms)
{
	struct pollfd pfd[2] = {{.fd = r->efd, .events = POLLIN}};
	int nfd = 1;

	if (r->conn != NULL && r->leader) {
		pfd[1] = (struct pollfd){.fd = PQsocket(r->conn), .events = POLLIN};
		nfd = 2;
	}
	if (poll(pfd, (nfds_t)nfd, timeout_ms) > 0) {
		uint64_t v;

		if (pfd[0].revents & POLLIN)
			(void)!read(r->efd, &v, sizeof(v));
		/* A NOTIFY only wakes the relay: what to publish is in the table. */
		if (nfd == 2 && pfd[1].revents != 0 &&
		    os_notify_drain(r->conn, ignore_notify, NULL) != 0)
			drop_session(r, PQerrorMessage(r->conn));
	}
}

static void update_pending(os_relay_t *r)
{
	char err[256];
	long long n;

	if (r->m_pending == NULL || r->conn == NULL)
		return;
	/* The count walks the whole unpublished index: once a second is
	 * enough for a gauge. */
	if (wall_now() - r->pending_at < 1.0)
		return;
	r->pending_at = wall_now();
	n = os_repo_outbox_pending(r->conn, err, sizeof(err));
	if (n >= 0)
		eda_gauge_set(r->m_pending, NULL, (double)n);
}

static void *run(void *arg)
{
	os_relay_t *r = arg;

	while (!stopping(r)) {
		int rc;

		if (!r->leader && !elect(r)) {
			wait_for_work(r, r->standby_ms);
			continue;
		}
		/* Drain everything there is, then sleep until woken or the sweep. */
		while ((rc = round_trip(r)) > 0 && !stopping(r))
			;
		update_pending(r);
		if (rc == 0)
			wait_for_work(r, r->sweep_ms);
		else if (!stopping(r))
			wait_for_work(r, 200); /* error: pause before retrying */
	}
	drop_session(r, NULL);
	return NULL;
}

int os_relay_start(os_relay_t *r, eda_producer_t *p, char *err, size_t errsz)
{
	r->producer = p;
	if (r->efd < 0 || pthread_create(&r->thread, NULL, run, r) != 0) {
		snprintf(err, errsz, "cannot start the relay thread");
		return -1;
	}
	r->started = true;
	return 0;
}

void os_relay_wake(os_relay_t *r)
{
	uint64_t one = 1;

	if (r != NULL && write(r->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		eda_logf(EDA_LOG_WARN, "relay: cannot signal: %s", strerror(errno));
}

bool os_relay_is_leader(os_relay_t *r)
{
	return __atomic_load_n(&r->leader, __ATOMIC_RELAXED);
}

unsigned long long os_relay_published(os_relay_t *r)
{
	unsigned long long n;

	pthread_mutex_lock(&r->lock);
	n = r->published;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void os_relay_stop(os_relay_t *r)
{
	if (r == NULL || !r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	os_relay_wake(r);
	pthread_join(r->thread, NULL);
	r->started = false;
}

void os_relay_free(os_relay_t *r)
{
	if (r == NULL)
		return;
	os_relay_stop(r);
	if (r->conn != NULL)
		PQfinish(r->conn);
	if (r->efd >= 0)
		close(r->efd);
	os_outbox_cursor_free(r->cursor);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->url);
	free(r);
}
