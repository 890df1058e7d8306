/*
 * The idempotent Kafka producer; see eda/producer.h.
 *
 * Every message carries a small heap record (struct delivery) as librdkafka's
 * opaque so the delivery-report callback can tell a synchronous sender, which
 * waits on a condition variable, from an asynchronous one, which gets the
 * caller's callback. A synchronous wait that times out must not leave the
 * callback writing into a dead stack frame, so the wait is reference counted.
 */
#include "eda/producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs; /* the sender and the delivery report */
	bool done;
	int err;
	char why[256];
};

struct delivery {
	struct sync_wait *wait; /* NULL for asynchronous messages */
	void *opaque;
};

struct eda_producer {
	rd_kafka_t *rk;
	eda_delivery_fn on_delivery;
	void *ctx;
	eda_metric_t *produced; /* kafka_messages_produced_total{topic,result} */
	pthread_t poller;
	atomic_bool stopping;
	atomic_bool fatal;
	pthread_mutex_t fatal_lock;
	char fatal_why[512];
};

static void wait_release(struct sync_wait *w)
{
	int left;

	pthread_mutex_lock(&w->lock);
	left = --w->refs;
	pthread_mutex_unlock(&w->lock);
	if (left == 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
	}
}

static void on_message_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	eda_producer_t *p = opaque;
	struct delivery *d = m->_private;
	int err = m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? EDA_PRODUCER_OK : EDA_PRODUCER_ERR;
	const char *why =
	        m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? "delivered" : rd_kafka_err2str(m->err);

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR__FATAL)
		err = EDA_PRODUCER_FATAL;
	if (p->produced != NULL)
		eda_counter_add(p->produced,
		                EDA_LABELS(rd_kafka_topic_name(m->rkt), err == 0 ? "ok" : "error"),
		                1);
	if (d == NULL)
		return;
	if (d->wait != NULL) {
		struct sync_wait *w = d->wait;

		pthread_mutex_lock(&w->lock);
		w->done = true;
		w->err = err;
		snprintf(w->why, sizeof(w->why), "%s", why);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		wait_release(w);
	} else if (p->on_delivery != NULL) {
		p->on_delivery(d->opaque, err, why, p->ctx);
	}
	free(d);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	eda_producer_t *p = opaque;

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];

		rd_kafka_fatal_error(rk, why, sizeof(why));
		pthread_mutex_lock(&p->fatal_lock);
		snprintf(p->fatal_why, sizeof(p->fatal_why), "%s", why);
		pthread_mutex_unlock(&p->fatal_lock);
		atomic_store(&p->fatal, true);
		eda_log(EDA_LOG_ERROR, "kafka producer fatal error", "error", why, NULL);
		return;
	}
	/* Transient errors (broker down, all brokers down) are retried by librdkafka
	 * itself; they are worth a line but not an action. */
	eda_log(EDA_LOG_WARN, "kafka producer error", "error", reason, "code",
	        rd_kafka_err2name((rd_kafka_resp_err_t)err), NULL);
}

static void *poll_loop(void *arg)
{
	eda_producer_t *p = arg;

	while (!atomic_load(&p->stopping))
		rd_kafka_poll(p->rk, 100);
	return NULL;
}

eda_producer_t *eda_producer_new(rd_kafka_conf_t *conf, eda_delivery_fn on_delivery, void *ctx,
                                 eda_metrics_t *metrics, char *err, size_t errsz)
{
	/* The guarantees of DESIGN.md rest on these; the environment cannot override them. */
	static const char *const required[][2] = {
	        {"enable.idempotence", "true"},
	        {"acks", "all"},
	        {"max.in.flight.requests.per.connection", "5"},
	        {"message.send.max.retries", "2147483647"},
	};
	eda_producer_t *p = eda_xcalloc(1, sizeof(*p));
	char why[512];

	p->on_delivery = on_delivery;
	p->ctx = ctx;
	pthread_mutex_init(&p->fatal_lock, NULL);
	if (metrics != NULL) {
		p->produced = eda_metrics_counter(metrics, "kafka_messages_produced_total",
		                                  "Messages the broker acknowledged or refused.",
		                                  "topic,result", why, sizeof(why));
		if (p->produced == NULL) {
			snprintf(err, errsz, "metrics: %s", why);
			goto fail;
		}
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (eda_kafka_conf_set(conf, required[i][0], required[i][1], why, sizeof(why)) !=
		    0) {
			snprintf(err, errsz, "%s: %s", required[i][0], why);
			goto fail;
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_message_delivered);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, p);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (p->rk == NULL) {
		snprintf(err, errsz, "kafka producer: %s", why);
		goto fail;
	}
	conf = NULL; /* owned by rk now */
	if (pthread_create(&p->poller, NULL, poll_loop, p) != 0) {
		snprintf(err, errsz, "kafka producer: cannot start its thread");
		rd_kafka_destroy(p->rk);
		goto fail_destroyed;
	}
	return p;
fail:
	rd_kafka_conf_destroy(conf);
fail_destroyed:
	pthread_mutex_destroy(&p->fatal_lock);
	free(p);
	return NULL;
}

bool eda_producer_fatal(eda_producer_t *p, char *why, size_t whysz)
{
	if (!atomic_load(&p->fatal))
		return false;
	if (why != NULL) {
		pthread_mutex_lock(&p->fatal_lock);
		snprintf(why, whysz, "%s", p->fatal_why);
		pthread_mutex_unlock(&p->fatal_lock);
	}
	return true;
}

static int produce(eda_producer_t *p, const char *topic, const void *key, size_t key_len,
                   const void *value, size_t len, const eda_kafka_header_t *headers,
                   size_t nheaders, struct delivery *d, char *err, size_t errsz)
{
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t e;

	if (topic == NULL || *topic == '\0' || (value == NULL && len > 0) ||
	    (key == NULL && key_len > 0)) {
		snprintf(err, errsz, "invalid message arguments");
		return EDA_PRODUCER_INVALID;
	}
	if (eda_producer_fatal(p, err, errsz))
		return EDA_PRODUCER_FATAL;
	if (nheaders > 0) {
		hdrs = rd_kafka_headers_new(nheaders);
		for (size_t i = 0; i < nheaders; i++)
			rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
			                    (ssize_t)headers[i].len);
	}
	e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
	                      RD_KAFKA_V_VALUE((void *)value, len),
	                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
	                      RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return EDA_PRODUCER_OK;
	/* On failure the headers are still ours. */
	if (hdrs != NULL)
		rd_kafka_headers_destroy(hdrs);
	snprintf(err, errsz, "%s", rd_kafka_err2str(e));
	if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return EDA_PRODUCER_QUEUE_FULL;
	if (e == RD_KAFKA_RESP_ERR__FATAL)
		return EDA_PRODUCER_FATAL;
	if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
	    e == RD_KAFKA_RESP_ERR__INVALID_ARG)
		return EDA_PRODUCER_INVALID;
	return EDA_PRODUCER_ERR;
}

int eda_producer_send(eda_producer_t *p, const char *topic, const void *key, size_t key_len,
                      const void *value, size_t len, const eda_kafka_header_t *headers,
                      size_t nheaders, void *opaque, char *err, size_t errsz)
{
	struct delivery *d = eda_xmalloc(sizeof(*d));
	int rc;

	d->wait = NULL;
	d->opaque = opaque;
	rc = produce(p, topic, key, key_len, value, len, headers, nheaders, d, err, errsz);
	if (rc != EDA_PRODUCER_OK)
		free(d);
	return rc;
}

int eda_producer_send_sync(eda_producer_t *p, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t len, const eda_kafka_header_t *headers,
                           size_t nheaders, int timeout_ms, char *err, size_t errsz)
{
	struct sync_wait *w = eda_xcalloc(1, sizeof(*w));
	struct delivery *d = eda_xmalloc(sizeof(*d));
	struct timespec deadline;
	int rc;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->refs = 2;
	d->wait = w;
	d->opaque = NULL;
	rc = produce(p, topic, key, key_len, value, len, headers, nheaders, d, err, errsz);
	if (rc != EDA_PRODUCER_OK) {
		free(d);
		w->refs = 1;
		wait_release(w);
		return rc;
	}
	deadline = eda_clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) != 0)
			break;
	}
	if (w->done) {
		rc = w->err;
		if (rc != EDA_PRODUCER_OK)
			snprintf(err, errsz, "%s", w->why);
	} else {
		rc = EDA_PRODUCER_TIMEOUT;
		snprintf(err, errsz, "no delivery report within %d ms", timeout_ms);
	}
	pthread_mutex_unlock(&w->lock);
	wait_release(w);
	return rc;
}

int eda_producer_flush(eda_producer_t *p, int timeout_ms)
{
	return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR
	               ? EDA_PRODUCER_OK
	               : EDA_PRODUCER_TIMEOUT;
}

void eda_producer_free(eda_producer_t *p, int timeout_ms)
{
	if (p == NULL)
		return;
	atomic_store(&p->stopping, true);
	pthread_join(p->poller, NULL);
	if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		eda_logf(EDA_LOG_WARN, "kafka producer: %d messages undelivered at shutdown",
		         rd_kafka_outq_len(p->rk));
		/* Purged messages get a delivery report with an error, so that no
		 * caller waits forever and the outbox keeps them unpublished. */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(p->rk, 0);
		rd_kafka_flush(p->rk, 1000);
	}
	rd_kafka_destroy(p->rk);
	pthread_mutex_destroy(&p->fatal_lock);
	free(p);
}
