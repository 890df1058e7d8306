/*
 * The publisher: async sends, delivery reports queued to a relay thread that
 * marks rows published in batches (deletes their pending markers) and resends
 * failures. See producers.h.
 */
#include "events/producers.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/event_bus.h"
#include "eda/log.h"
#include "repositories/ledger.h"
#include "repositories/outbox.h"
#include "repositories/published.h"
#include "utils/crash.h"
#include "utils/idset.h"

#define MARK_BATCH   256
#define RETRY_MAX_MS 30000

/* How long acknowledgements wait for company before their markers are
 * deleted. On FerretDB every delete reads the whole pending collection
 * (dead rows included until autovacuum comes by, about 1.7 ms under load),
 * so one delete per 256 markers or per MARK_WAIT_MS instead of one per
 * relay wake-up (a few acknowledgements each) saves most of those scans. A
 * crash in the window only sends the window's events again, with their ids. */
#define MARK_WAIT_MS 200

/* A row to mark once every message of it is acknowledged. */
typedef struct row {
	const char *collection; /* a static string */
	char *id;
	char *seen_key;
	int unacked;     /* messages not yet acknowledged; only the relay thread counts down */
	atomic_int refs; /* messages alive; the last one frees the row */
} row_t;

typedef struct msg {
	struct msg *next;
	row_t *row;
	char *event;
	char *key;
	const char *topic; /* the publisher's topic for this type */
	char type[48];
	int err;
	int attempts;
} msg_t;

struct inv_publisher {
	eda_producer_t *producer;
	inv_db_t *db;
	char *topic;
	char *products_topic; /* ProductChanged goes here, everything else to TOPIC */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	msg_t *head, *tail;
	size_t queued; /* messages between head and tail */
	bool draining; /* someone waits for the queue: mark without delay */
	bool stopping, started;
	pthread_t relay;
	atomic_long pending;
	inv_idset_t *seen; /* "<collection>/<id>" in flight or recently acknowledged */
	eda_metric_t *published;
	eda_metric_t *pending_gauge;
};

static void msg_free(msg_t *m)
{
	if (atomic_fetch_sub(&m->row->refs, 1) == 1) {
		free(m->row->seen_key);
		free(m->row->id);
		free(m->row);
	}
	free(m->event);
	free(m->key);
	free(m);
}

static void push(inv_publisher_t *pub, msg_t *m)
{
	pthread_mutex_lock(&pub->mu);
	if (pub->stopping && !pub->started) {
		/* The relay is gone: the row stays unpublished for the next start. */
		pthread_mutex_unlock(&pub->mu);
		atomic_fetch_sub(&pub->pending, 1);
		msg_free(m);
		return;
	}
	m->next = NULL;
	if (pub->tail != NULL)
		pub->tail->next = m;
	else
		pub->head = m;
	pub->tail = m;
	/* The relay sleeps on an empty queue or waits for a full batch. */
	if (++pub->queued == 1 || pub->queued == MARK_BATCH)
		pthread_cond_signal(&pub->cv);
	pthread_mutex_unlock(&pub->mu);
}

static void on_delivery(void *opaque, int err, const char *why, void *ctx)
{
	msg_t *m = opaque;

	m->err = err;
	if (err != EDA_PRODUCER_OK)
		eda_log(EDA_LOG_WARN, "event delivery failed", "why", why, "type", m->type, NULL);
	push(ctx, m);
}

static void send_msg(inv_publisher_t *pub, msg_t *m)
{
	char err[256];
	int rc;

	m->attempts++;
	rc = eda_producer_send(pub->producer, m->topic, m->key, strlen(m->key), m->event,
	                       strlen(m->event), eda_event_headers, eda_event_nheaders, m, err,
	                       sizeof(err));
	if (rc != EDA_PRODUCER_OK) {
		m->err = rc;
		push(pub, m);
	}
}

void inv_publisher_send(inv_publisher_t *pub, const char *collection, const char *id,
                        const char *const *events, size_t n)
{
	row_t *row;
	char *key = eda_xasprintf("%s/%s", collection, id);
	bool fresh;

	if (n == 0) {
		free(key);
		return;
	}
	pthread_mutex_lock(&pub->mu);
	fresh = inv_idset_begin(pub->seen, key);
	pthread_mutex_unlock(&pub->mu);
	if (!fresh) {
		/* Already on its way (or just acknowledged): a redelivery. */
		free(key);
		return;
	}
	row = eda_xcalloc(1, sizeof(*row));
	row->seen_key = key;
	row->collection =
	        strcmp(collection, INV_COLL_LEDGER) == 0 ? INV_COLL_LEDGER : INV_COLL_OUTBOX;
	row->id = eda_xstrdup(id);
	/* Both counts are set before the first send, so that no early
	 * acknowledgement can complete the row. */
	row->unacked = (int)n;
	atomic_init(&row->refs, (int)n);
	atomic_fetch_add(&pub->pending, (long)n);
	eda_gauge_set(pub->pending_gauge, NULL, (double)atomic_load(&pub->pending));
	for (size_t i = 0; i < n; i++) {
		msg_t *m = eda_xcalloc(1, sizeof(*m));
		json_t *j = json_loads(events[i], 0, NULL);
		const char *subject = json_string_value(json_object_get(j, "subject"));
		const char *type = json_string_value(json_object_get(j, "type"));

		m->row = row;
		m->event = eda_xstrdup(events[i]);
		m->key = eda_xstrdup(subject != NULL ? subject : "");
		snprintf(m->type, sizeof(m->type), "%s", type != NULL ? type : "unknown");
		m->topic = strcmp(m->type, EDA_EVENT_PRODUCT_CHANGED) == 0 ? pub->products_topic
		                                                           : pub->topic;
		json_decref(j);
		send_msg(pub, m);
	}
}

void inv_publish_cb(void *pub, const char *collection, const char *id, const char *const *events,
                    size_t n)
{
	inv_publisher_send(pub, collection, id, events, n);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Marks the complete ROWS of one collection; retries while the database is
 * away, since a lost mark only costs a duplicate after restart. */
static void mark_batch(inv_publisher_t *pub, row_t **rows, size_t n, const char *collection)
{
	const char *ids[MARK_BATCH];
	size_t k = 0;
	char err[256];

	for (size_t i = 0; i < n; i++)
		if (rows[i]->collection == collection)
			ids[k++] = rows[i]->id;
	if (k == 0)
		return;
	inv_crash_point("publish-acked");
	for (int attempt = 0; attempt < 5; attempt++) {
		if (inv_mark_published(pub->db, collection, ids, k, err, sizeof(err)) == 0)
			break;
		eda_log(EDA_LOG_WARN, "marking published failed", "why", err, NULL);
		sleep_ms(200L << attempt);
	}
	inv_crash_point("mark");
}

/* With MU held and something queued: waits until MARK_BATCH messages are
 * queued, MARK_WAIT_MS have passed, or a drain or stop wants them now. */
static void wait_for_company(inv_publisher_t *pub)
{
	struct timespec until;

	until = eda_clock_deadline(CLOCK_MONOTONIC, MARK_WAIT_MS);
	while (pub->queued < MARK_BATCH && !pub->draining && !pub->stopping)
		if (pthread_cond_timedwait(&pub->cv, &pub->mu, &until) == ETIMEDOUT)
			break;
}

static void *relay_main(void *arg)
{
	inv_publisher_t *pub = arg;

	for (;;) {
		msg_t *batch[MARK_BATCH], *retry = NULL;
		row_t *rows[MARK_BATCH];
		size_t n = 0, nrows;
		bool stop;

		pthread_mutex_lock(&pub->mu);
		while (pub->head == NULL && !pub->stopping)
			pthread_cond_wait(&pub->cv, &pub->mu);
		wait_for_company(pub);
		stop = pub->stopping && pub->head == NULL;
		while (pub->head != NULL && n < MARK_BATCH) {
			msg_t *m = pub->head;

			pub->head = m->next;
			pub->queued--;
			if (pub->head == NULL)
				pub->tail = NULL;
			if (m->err == EDA_PRODUCER_OK) {
				batch[n++] = m;
			} else {
				m->next = retry;
				retry = m;
			}
		}
		pthread_mutex_unlock(&pub->mu);
		if (stop)
			break;
		/* A row is done when its last message is acknowledged; the
		 * messages of this batch keep their rows alive until freed. */
		nrows = 0;
		for (size_t i = 0; i < n; i++)
			if (--batch[i]->row->unacked == 0)
				rows[nrows++] = batch[i]->row;
		mark_batch(pub, rows, nrows, INV_COLL_LEDGER);
		mark_batch(pub, rows, nrows, INV_COLL_OUTBOX);
		pthread_mutex_lock(&pub->mu);
		for (size_t i = 0; i < nrows; i++)
			inv_idset_done(pub->seen, rows[i]->seen_key);
		pthread_mutex_unlock(&pub->mu);
		for (size_t i = 0; i < n; i++) {
			eda_counter_add(pub->published, EDA_LABELS(batch[i]->topic, batch[i]->type),
			                1);
			msg_free(batch[i]);
		}
		atomic_fetch_sub(&pub->pending, (long)n);
		eda_gauge_set(pub->pending_gauge, NULL, (double)atomic_load(&pub->pending));
		while (retry != NULL) {
			msg_t *m = retry;
			long backoff = 100L << (m->attempts < 9 ? m->attempts : 9);

			retry = m->next;
			if (pub->stopping) {
				atomic_fetch_sub(&pub->pending, 1);
				msg_free(m);
				continue;
			}
			/* Backing off on this thread also slows marks, which is
			 * what we want while the broker is away. */
			sleep_ms(backoff < RETRY_MAX_MS ? backoff : RETRY_MAX_MS);
			send_msg(pub, m);
		}
	}
	return NULL;
}

inv_publisher_t *inv_publisher_new(rd_kafka_conf_t *conf, inv_db_t *db, const char *topic,
                                   const char *products_topic, eda_metrics_t *metrics, char *err,
                                   size_t errsz)
{
	inv_publisher_t *pub = eda_xcalloc(1, sizeof(*pub));

	pthread_condattr_t ca;

	pthread_mutex_init(&pub->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pub->cv, &ca);
	pthread_condattr_destroy(&ca);
	pub->db = db;
	pub->topic = eda_xstrdup(topic);
	pub->products_topic = eda_xstrdup(products_topic);
	pub->seen = inv_idset_new(16384);
	pub->published = eda_event_published_metric(metrics, err, errsz);
	pub->pending_gauge = eda_metrics_gauge(metrics, "outbox_pending",
	                                       "Result and stock events written but not yet "
	                                       "acknowledged by Kafka.",
	                                       NULL, err, errsz);
	if (pub->published == NULL || pub->pending_gauge == NULL) {
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	pub->producer = eda_producer_new(conf, on_delivery, pub, metrics, err, errsz);
	if (pub->producer == NULL)
		goto fail;
	if (pthread_create(&pub->relay, NULL, relay_main, pub) != 0) {
		eda_errf(err, errsz, "cannot start the relay thread");
		goto fail;
	}
	pub->started = true;
	return pub;
fail:
	inv_publisher_free(pub, 0);
	return NULL;
}

eda_producer_t *inv_publisher_producer(inv_publisher_t *pub)
{
	return pub->producer;
}

static void replay_one(void *ctx, const char *id, const char *const *events, size_t n)
{
	inv_publisher_t *pub = ((void **)ctx)[0];
	const char *coll = ((void **)ctx)[1];

	inv_publisher_send(pub, coll, id, events, n);
}

int inv_publisher_replay(inv_publisher_t *pub, char *err, size_t errsz)
{
	void *lctx[2] = {pub, (void *)INV_COLL_LEDGER};
	void *octx[2] = {pub, (void *)INV_COLL_OUTBOX};
	int a, b;

	a = inv_unpublished(pub->db, INV_COLL_LEDGER, 100000, replay_one, lctx, err, errsz);
	if (a < 0)
		return -1;
	b = inv_unpublished(pub->db, INV_COLL_OUTBOX, 100000, replay_one, octx, err, errsz);
	if (b < 0)
		return -1;
	if (a + b > 0)
		eda_logf(EDA_LOG_INFO, "replaying %d unpublished events", a + b);
	return a + b;
}

int inv_publisher_drain(inv_publisher_t *pub, int timeout_ms)
{
	int rc = 0;

	pthread_mutex_lock(&pub->mu);
	pub->draining = true;
	pthread_cond_signal(&pub->cv);
	pthread_mutex_unlock(&pub->mu);
	for (int waited = 0; atomic_load(&pub->pending) > 0; waited += 10) {
		if (waited >= timeout_ms) {
			rc = -1;
			break;
		}
		sleep_ms(10);
	}
	pthread_mutex_lock(&pub->mu);
	pub->draining = false;
	pthread_mutex_unlock(&pub->mu);
	return rc;
}

void inv_publisher_free(inv_publisher_t *pub, int timeout_ms)
{
	if (pub == NULL)
		return;
	if (pub->producer != NULL)
		eda_producer_flush(pub->producer, timeout_ms);
	inv_publisher_drain(pub, timeout_ms > 2000 ? 2000 : timeout_ms);
	pthread_mutex_lock(&pub->mu);
	pub->stopping = true;
	pthread_cond_signal(&pub->cv);
	pthread_mutex_unlock(&pub->mu);
	if (pub->started)
		pthread_join(pub->relay, NULL);
	pthread_mutex_lock(&pub->mu);
	pub->started = false;
	while (pub->head != NULL) {
		msg_t *m = pub->head;

		pub->head = m->next;
		msg_free(m);
	}
	pub->tail = NULL;
	pub->queued = 0;
	pthread_mutex_unlock(&pub->mu);
	/* Reports of messages still in flight now free themselves in push(). */
	if (pub->producer != NULL)
		eda_producer_free(pub->producer, 0);
	pthread_mutex_destroy(&pub->mu);
	pthread_cond_destroy(&pub->cv);
	inv_idset_free(pub->seen);
	free(pub->topic);
	free(pub->products_topic);
	free(pub);
}
