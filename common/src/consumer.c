/*
 * The consumer-group member of eda/consumer.h.
 *
 * Every partition that ever needed it has a queue of messages in offset
 * order, in two parts:
 *   q[head .. head+npend)    handled, settled only by the next flush (group
 *                            commit: PENDING answers and what follows them);
 *   q[head+npend .. head+n)  held: not (successfully) handled yet.
 * Retries keep order without relying on seek semantics: a message whose handler
 * asks for RETRY is held, its partition is paused, and any message of that
 * partition that was already fetched queues behind it in the same hold. When
 * the backoff has passed, the held messages are handled in order; only when the
 * hold is empty is the partition resumed. librdkafka resumes fetching after the
 * last message it handed us, so nothing is skipped and nothing fetched twice.
 * A failed flush turns the pending part back into held messages, which is
 * the same retry path. A revoke flushes, then drops the queues of the revoked
 * partitions without storing their offsets: the next owner gets those
 * messages again.
 */
#include "eda/consumer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consumer_lag.h"
#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"

#define DLQ_TIMEOUT_MS        30000
#define DEFAULT_BATCH_MAX     256
#define DEFAULT_BATCH_MAX_MS  100
#define DEFAULT_QUEUED_KBYTES 4096
/* librdkafka's 45 s default kept a killed member's partitions idle for 40 s;
 * with static membership a restart takes them back at once, and this only
 * bounds how long a member that stays dead holds them. Heartbeats every 3 s
 * (librdkafka's default) fit three times into it, as Kafka recommends. */
#define DEFAULT_SESSION_MS 10000

enum assignment_state {
	ASSIGN_WAITING = 0, /* no assignment from the group yet */
	ASSIGN_HELD,        /* the group's assignment (maybe empty) is ours */
	ASSIGN_LOST,        /* revoked or lost, since lost_at_ms */
};

enum entry_state {
	ENTRY_NEW = 0, /* the handler has yet to see it (again) */
	ENTRY_PENDING, /* answered PENDING: durable after the next flush */
	ENTRY_SETTLED, /* DONE or DEAD behind a pending one: only its offset waits */
};

struct entry {
	rd_kafka_message_t *m;
	const char *type; /* of a PENDING message, for the metric counted at flush */
	enum entry_state state;
	int tries; /* handler runs on it so far */
};

struct hold {
	char *topic;
	int32_t partition;
	struct entry *q; /* FIFO: q[head .. head+n), the first npend pending */
	size_t head, n, npend, cap;
	int64_t resume_at_ms; /* of the first held message */
	bool paused;
};

struct eda_consumer {
	rd_kafka_t *rk;
	eda_consumer_config_t cfg;
	char *group;
	char *dlq_topic;
	struct hold *holds;
	size_t nholds, capholds;
	size_t npending;          /* sum of the holds' npend */
	int64_t pending_since_ms; /* when the oldest of them was handled */
	int flush_failures;       /* consecutive, for the backoff */
	char **topics;            /* NULL-terminated; subscribed to when the loop starts */
	rd_kafka_conf_t *conf;    /* a copy, for a new handle after a fatal error */
	pthread_mutex_t rk_lock;  /* rk is replaced on the consumer's thread, read on others */
	int64_t fatal_at_ms;      /* when a fatal error was first seen, or 0 */
	bool subscribed;
	char *instance_id; /* NULL: a dynamic member */
	int session_ms;    /* session.timeout.ms as configured */
	/* Read by /readyz on a server thread, written on the consumer's. */
	atomic_int assignment;
	atomic_int_least64_t lost_at_ms;
	atomic_bool fenced;
	/* The next offset to read after what is durable, per partition, for the
	 * caught-up check on a server thread (stored on the consumer's). */
	pthread_mutex_t settled_lock;
	struct settled {
		char *topic;
		int32_t partition;
		int64_t next;
	} * settled;
	size_t nsettled;
	atomic_bool stop;
	bool thread_started;
	pthread_t thread;
	eda_metric_t *consumed, *duration, *dlq, *lag;
};

static const char *const result_names[] = {"done", "retry", "dead"};

const void *eda_consumed_header(const eda_consumed_t *m, const char *name, size_t *len)
{
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t n;

	if (rd_kafka_message_headers(m->raw, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	if (rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	if (len != NULL)
		*len = n;
	return v;
}

/* ---- holds --------------------------------------------------------------- */

static struct hold *hold_find(eda_consumer_t *c, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < c->nholds; i++) {
		if (c->holds[i].partition == partition && strcmp(c->holds[i].topic, topic) == 0)
			return &c->holds[i];
	}
	return NULL;
}

/* May move every hold: no struct hold pointer survives a call. */
static struct hold *hold_get(eda_consumer_t *c, const char *topic, int32_t partition)
{
	struct hold *h = hold_find(c, topic, partition);

	if (h != NULL)
		return h;
	if (c->nholds == c->capholds) {
		c->capholds = c->capholds ? c->capholds * 2 : 8;
		c->holds = eda_xrealloc(c->holds, c->capholds * sizeof(*c->holds));
	}
	h = &c->holds[c->nholds++];
	memset(h, 0, sizeof(*h));
	h->topic = eda_xstrdup(topic);
	h->partition = partition;
	return h;
}

static size_t held(const struct hold *h)
{
	return h->n - h->npend;
}

static void hold_push(struct hold *h, rd_kafka_message_t *m)
{
	if (h->head + h->n == h->cap) {
		if (h->head > 0) {
			memmove(h->q, h->q + h->head, h->n * sizeof(*h->q));
			h->head = 0;
		} else {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->q = eda_xrealloc(h->q, h->cap * sizeof(*h->q));
		}
	}
	h->q[h->head + h->n++] = (struct entry){.m = m, .state = ENTRY_NEW};
}

/* Destroys the first message of H (settled or dropped). */
static void hold_pop(struct hold *h)
{
	rd_kafka_message_destroy(h->q[h->head].m);
	h->head++;
	h->n--;
	if (h->n == 0)
		h->head = 0;
}

static void hold_clear(eda_consumer_t *c, struct hold *h)
{
	c->npending -= h->npend;
	h->npend = 0;
	while (h->n > 0)
		hold_pop(h);
	h->paused = false;
}

static void hold_free_all(eda_consumer_t *c)
{
	for (size_t i = 0; i < c->nholds; i++) {
		hold_clear(c, &c->holds[i]);
		free(c->holds[i].q);
		free(c->holds[i].topic);
	}
	free(c->holds);
	c->holds = NULL;
	c->nholds = c->capholds = 0;
	c->npending = 0;
}

static void set_paused(eda_consumer_t *c, struct hold *h, bool pause)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;

	if (h->paused == pause)
		return;
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, h->topic, h->partition);
	e = pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		eda_log(EDA_LOG_WARN, pause ? "pause failed" : "resume failed", "topic", h->topic,
		        "error", rd_kafka_err2str(e), NULL);
	h->paused = pause;
	rd_kafka_topic_partition_list_destroy(l);
}

/* ---- handling ------------------------------------------------------------ */

static int backoff_ms(const eda_consumer_t *c, int attempts)
{
	int64_t ms = c->cfg.retry_initial_ms;

	for (int i = 1; i < attempts && ms < c->cfg.retry_max_ms; i++)
		ms *= 2;
	return (int)(ms < c->cfg.retry_max_ms ? ms : c->cfg.retry_max_ms);
}

static void note_settled(eda_consumer_t *c, const char *topic, int32_t partition, int64_t next)
{
	size_t i;

	pthread_mutex_lock(&c->settled_lock);
	for (i = 0; i < c->nsettled; i++) {
		if (c->settled[i].partition == partition && strcmp(c->settled[i].topic, topic) == 0)
			break;
	}
	if (i == c->nsettled) {
		c->settled = eda_xrealloc(c->settled, (c->nsettled + 1) * sizeof(*c->settled));
		c->settled[i] =
		        (struct settled){.topic = eda_xstrdup(topic), .partition = partition};
		c->nsettled++;
	}
	c->settled[i].next = next;
	pthread_mutex_unlock(&c->settled_lock);
}

/* The next offset after what is durable in TOPIC [PARTITION], or -1. */
static int64_t settled_next(eda_consumer_t *c, const char *topic, int32_t partition)
{
	int64_t next = -1;

	pthread_mutex_lock(&c->settled_lock);
	for (size_t i = 0; i < c->nsettled; i++) {
		if (c->settled[i].partition == partition && strcmp(c->settled[i].topic, topic) == 0)
			next = c->settled[i].next;
	}
	pthread_mutex_unlock(&c->settled_lock);
	return next;
}

static void store_offset(eda_consumer_t *c, const rd_kafka_message_t *m)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
	        m->offset + 1;
	if (c->cfg.from_beginning)
		note_settled(c, rd_kafka_topic_name(m->rkt), m->partition, m->offset + 1);
	e = rd_kafka_offsets_store(c->rk, l);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		e = l->elems[0].err;
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Typically the partition was revoked meanwhile: its next owner
		 * handles the message again, which idempotent handlers allow. */
		char off[32];

		snprintf(off, sizeof(off), "%" PRId64, m->offset);
		eda_log(EDA_LOG_WARN, "offset not stored", "topic", rd_kafka_topic_name(m->rkt),
		        "offset", off, "error", rd_kafka_err2str(e), NULL);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Forwards M to dlq.<group>. Returns 0 once the broker has it. */
static int forward_to_dlq(eda_consumer_t *c, const rd_kafka_message_t *m, const char *reason)
{
	char part[16], off[32], err[512];
	eda_kafka_header_t hdrs[64];
	size_t n = 0;
	rd_kafka_headers_t *orig = NULL;
	int rc;

	snprintf(part, sizeof(part), "%" PRId32, m->partition);
	snprintf(off, sizeof(off), "%" PRId64, m->offset);
	hdrs[n++] = (eda_kafka_header_t){"dlq.error", reason, strlen(reason)};
	hdrs[n++] = (eda_kafka_header_t){"dlq.topic", rd_kafka_topic_name(m->rkt),
	                                 strlen(rd_kafka_topic_name(m->rkt))};
	hdrs[n++] = (eda_kafka_header_t){"dlq.partition", part, strlen(part)};
	hdrs[n++] = (eda_kafka_header_t){"dlq.offset", off, strlen(off)};
	hdrs[n++] = (eda_kafka_header_t){"dlq.group", c->group, strlen(c->group)};
	if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		const char *name;
		const void *val;
		size_t len;

		for (size_t i = 0; n < sizeof(hdrs) / sizeof(hdrs[0]) &&
		                   rd_kafka_header_get_all(orig, i, &name, &val, &len) ==
		                           RD_KAFKA_RESP_ERR_NO_ERROR;
		     i++)
			hdrs[n++] = (eda_kafka_header_t){name, val, len};
	}
	rc = eda_producer_send_sync(c->cfg.dlq_producer, c->dlq_topic, m->key, m->key_len,
	                            m->payload, m->len, hdrs, n, DLQ_TIMEOUT_MS, err, sizeof(err));
	if (rc != EDA_PRODUCER_OK) {
		eda_log(EDA_LOG_ERROR, "could not forward to the DLQ; will retry", "topic",
		        c->dlq_topic, "error", err, NULL);
		return -1;
	}
	if (c->dlq != NULL)
		eda_counter_add(c->dlq, EDA_LABELS(rd_kafka_topic_name(m->rkt)), 1);
	eda_log(EDA_LOG_WARN, "message sent to the DLQ", "topic", rd_kafka_topic_name(m->rkt),
	        "partition", part, "offset", off, "reason", reason, NULL);
	return 0;
}

static void count(eda_consumer_t *c, const char *topic, const char *type, eda_handler_result_t r,
                  size_t n)
{
	if (c->consumed != NULL)
		eda_counter_add(c->consumed,
		                EDA_LABELS(topic, type ? type : "unknown", result_names[r]),
		                (double)n);
}

/* Runs the handler on M and forwards it to the DLQ if DEAD. Stores nothing:
 * the caller settles M by the result. *TYPE gets the handler's event type. */
static eda_handler_result_t handle(eda_consumer_t *c, rd_kafka_message_t *m, int attempt,
                                   const char **type)
{
	eda_consumed_t msg = {
	        .topic = rd_kafka_topic_name(m->rkt),
	        .partition = m->partition,
	        .offset = m->offset,
	        .key = m->key,
	        .key_len = m->key_len,
	        .value = m->payload,
	        .len = m->len,
	        .attempt = attempt,
	        .raw = m,
	};
	int64_t t0 = eda_clock_mono_ms();
	eda_handler_result_t r = c->cfg.handler(&msg, c->cfg.ctx);

	if (r == EDA_HANDLER_PENDING && c->cfg.flush == NULL) {
		/* A programming error; storing the offset would lose the effect. */
		eda_log(EDA_LOG_ERROR, "handler answered PENDING but the consumer has no flush",
		        "group", c->group, NULL);
		snprintf(msg.reason, sizeof(msg.reason), "PENDING without a flush callback");
		r = EDA_HANDLER_RETRY;
	}
	if (r == EDA_HANDLER_DEAD &&
	    forward_to_dlq(c, m, msg.reason[0] ? msg.reason : "unhandled") != 0)
		r = EDA_HANDLER_RETRY;
	/* PENDING is counted when its flush tells how it ended. */
	if (r != EDA_HANDLER_PENDING)
		count(c, msg.topic, msg.type, r, 1);
	if (c->duration != NULL)
		eda_histogram_observe(c->duration, EDA_LABELS(msg.topic),
		                      (double)(eda_clock_mono_ms() - t0) / 1000.0);
	if (r == EDA_HANDLER_RETRY) {
		char off[32];

		snprintf(off, sizeof(off), "%" PRId64, m->offset);
		eda_log(EDA_LOG_WARN, "handler asked to retry", "topic", msg.topic, "offset", off,
		        "reason", msg.reason[0] ? msg.reason : "unspecified", NULL);
	}
	*type = msg.type;
	return r;
}

static void note_pending(eda_consumer_t *c)
{
	if (c->npending++ == 0)
		c->pending_since_ms = eda_clock_mono_ms();
}

/* Flushes the pending messages and settles them: their offsets stored after a
 * successful flush, handed back as held messages after a failed one. */
static void flush_pending(eda_consumer_t *c)
{
	char reason[256] = "";
	int rc = c->cfg.flush(c->cfg.ctx, reason, sizeof(reason));
	int64_t resume_at = 0;

	if (rc == 0) {
		c->flush_failures = 0;
	} else {
		c->flush_failures++;
		resume_at = eda_clock_mono_ms() + backoff_ms(c, c->flush_failures);
		eda_logf(EDA_LOG_WARN,
		         "group %s: flush of %zu pending messages failed (%s); "
		         "they will be handled again",
		         c->group, c->npending, reason[0] ? reason : "no reason given");
	}
	for (size_t i = 0; i < c->nholds; i++) {
		struct hold *h = &c->holds[i];

		if (h->npend == 0)
			continue;
		if (rc == 0) {
			/* Offsets are positions: storing the last one settles all. */
			store_offset(c, h->q[h->head + h->npend - 1].m);
			for (size_t k = 0; k < h->npend; k++) {
				if (h->q[h->head].state == ENTRY_PENDING)
					count(c, h->topic, h->q[h->head].type, EDA_HANDLER_DONE, 1);
				hold_pop(h);
			}
		} else {
			for (size_t k = 0; k < h->npend; k++) {
				struct entry *e = &h->q[h->head + k];

				if (e->state == ENTRY_PENDING) {
					count(c, h->topic, e->type, EDA_HANDLER_RETRY, 1);
					e->state = ENTRY_NEW;
				}
			}
			h->resume_at_ms = resume_at;
			set_paused(c, h, true);
		}
		h->npend = 0;
	}
	c->npending = 0;
	if (rc == 0 && c->cfg.commit_on_flush) {
		/* Asynchronous: a failure only means the auto commit (or the next
		 * flush) sends these offsets instead. */
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 1);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			eda_log(EDA_LOG_WARN, "offset commit after flush failed", "group", c->group,
			        "error", rd_kafka_err2str(e), NULL);
	}
}

/* Settles M, handled with result R, at the end of H's queue (H may be NULL
 * when its partition has no queue yet): stored now when nothing before it
 * waits, else queued behind the pending ones. Takes ownership of M. */
static void settle(eda_consumer_t *c, struct hold *h, rd_kafka_message_t *m, eda_handler_result_t r,
                   const char *type)
{
	if (r != EDA_HANDLER_PENDING && (h == NULL || h->npend == 0)) {
		store_offset(c, m);
		rd_kafka_message_destroy(m);
		return;
	}
	if (h == NULL)
		h = hold_get(c, rd_kafka_topic_name(m->rkt), m->partition);
	hold_push(h, m);
	h->q[h->head + h->n - 1].state = r == EDA_HANDLER_PENDING ? ENTRY_PENDING : ENTRY_SETTLED;
	h->q[h->head + h->n - 1].type = type;
	h->q[h->head + h->n - 1].tries = 1;
	h->npend++;
	note_pending(c);
}

/* Handles the held messages of every hold whose backoff has passed. */
static void drain_holds(eda_consumer_t *c)
{
	int64_t now = eda_clock_mono_ms();

	for (size_t i = 0; i < c->nholds && !atomic_load(&c->stop); i++) {
		struct hold *h = &c->holds[i];

		if (held(h) == 0 || h->resume_at_ms > now)
			continue;
		/* A full batch is flushed first (by the loop), then this goes on. */
		while (held(h) > 0 && !atomic_load(&c->stop) &&
		       (c->cfg.flush == NULL || c->npending < (size_t)c->cfg.batch_max)) {
			struct entry *e = &h->q[h->head + h->npend];
			const char *type = e->type;
			eda_handler_result_t r = EDA_HANDLER_DONE;

			/* A settled message behind a failed flush is not handled again. */
			if (e->state != ENTRY_SETTLED)
				r = handle(c, e->m, ++e->tries, &type);
			if (r == EDA_HANDLER_RETRY) {
				h->resume_at_ms = eda_clock_mono_ms() + backoff_ms(c, e->tries);
				break;
			}
			if (r != EDA_HANDLER_PENDING && h->npend == 0) {
				store_offset(c, e->m);
				hold_pop(h);
				continue;
			}
			e->state = r == EDA_HANDLER_PENDING ? ENTRY_PENDING : ENTRY_SETTLED;
			e->type = type;
			h->npend++;
			note_pending(c);
		}
		if (held(h) == 0)
			set_paused(c, h, false);
	}
}

static int next_poll_ms(const eda_consumer_t *c)
{
	int64_t now = eda_clock_mono_ms(), wait = 100;

	/* Pending messages: look whether more are waiting, flush if not. */
	if (c->npending > 0)
		return 0;
	for (size_t i = 0; i < c->nholds; i++) {
		if (held(&c->holds[i]) > 0 && c->holds[i].resume_at_ms - now < wait)
			wait = c->holds[i].resume_at_ms - now;
	}
	return wait < 0 ? 0 : (int)wait;
}

static void on_message(eda_consumer_t *c, rd_kafka_message_t *m)
{
	struct hold *h;
	const char *type = NULL;
	eda_handler_result_t r;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			eda_log(EDA_LOG_WARN, "kafka consumer error", "group", c->group, "error",
			        rd_kafka_message_errstr(m), NULL);
		rd_kafka_message_destroy(m);
		return;
	}
	h = hold_find(c, rd_kafka_topic_name(m->rkt), m->partition);
	if (h != NULL && held(h) > 0) {
		/* Fetched before the pause took effect: wait behind the held one. */
		hold_push(h, m);
		return;
	}
	r = handle(c, m, 1, &type);
	if (r == EDA_HANDLER_RETRY) {
		h = hold_get(c, rd_kafka_topic_name(m->rkt), m->partition);
		h->resume_at_ms = eda_clock_mono_ms() + backoff_ms(c, 1);
		hold_push(h, m);
		h->q[h->head + h->n - 1].tries = 1;
		set_paused(c, h, true);
		return;
	}
	settle(c, h, m, r, type);
}

/* ---- librdkafka callbacks -------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	eda_consumer_t *c = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (c->cfg.from_beginning) {
			for (int i = 0; i < parts->cnt; i++)
				parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
		}
		rd_kafka_assign(rk, parts);
		atomic_store(&c->assignment, ASSIGN_HELD);
		eda_logf(EDA_LOG_INFO, "group %s: %d partitions assigned", c->group, parts->cnt);
		if (c->cfg.on_assign != NULL)
			c->cfg.on_assign(parts, c->cfg.ctx);
		return;
	}
	atomic_store(&c->lost_at_ms, eda_clock_mono_ms());
	atomic_store(&c->assignment, ASSIGN_LOST);
	/* Make the batch durable while its offsets can still be stored; if that
	 * fails, its messages become held and are dropped below. */
	if (c->npending > 0)
		flush_pending(c);
	if (c->cfg.on_revoke != NULL)
		c->cfg.on_revoke(parts, c->cfg.ctx);
	/* Commit what is durable now, so the next owner starts where we stopped;
	 * but not partitions that were lost (the session ended while the broker
	 * was away): another member may own them already, and a static member's
	 * commit under its old member id is answered "fenced", which librdkafka
	 * 2.0.2 makes a fatal error. */
	if (!rd_kafka_assignment_lost(rk))
		rd_kafka_commit(rk, NULL, 0);
	for (int i = 0; i < parts->cnt; i++) {
		struct hold *h = hold_find(c, parts->elems[i].topic, parts->elems[i].partition);

		if (h != NULL)
			hold_clear(c, h);
	}
	rd_kafka_assign(rk, NULL);
	eda_logf(EDA_LOG_INFO, "group %s: %d partitions revoked", c->group, parts->cnt);
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	eda_consumer_t *c = opaque;

	(void)rk;
	if (c->lag != NULL)
		eda_consumer_lag_update(json, len, c->lag);
	return 0; /* librdkafka frees json */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	eda_consumer_t *c = opaque;
	char fatal[256];

	if (err == RD_KAFKA_RESP_ERR__FATAL && rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) ==
	                                               RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
		/* Another live process joined with our group.instance.id: this
		 * member can never consume again. /readyz says so for good. */
		atomic_store(&c->fenced, true);
		eda_log(EDA_LOG_ERROR, "consumer fenced: another member uses its instance id",
		        "group", c->group, "instance_id", c->instance_id, "error", fatal, NULL);
		return;
	}
	eda_log(EDA_LOG_WARN, "kafka consumer error", "group", c->group, "error", reason, "code",
	        rd_kafka_err2name((rd_kafka_resp_err_t)err), NULL);
}

int eda_consumer_ready_check(void *ctx, char *err, size_t errsz)
{
	eda_consumer_t *c = ctx;

	if (atomic_load(&c->fenced)) {
		snprintf(err, errsz,
		         "group %s: its Kafka handle had a fatal error (fenced: instance id %s); "
		         "a new one follows within a session timeout",
		         c->group, c->instance_id != NULL ? c->instance_id : "none");
		return 1;
	}
	switch (atomic_load(&c->assignment)) {
	case ASSIGN_HELD:
		return 0;
	case ASSIGN_LOST:
		if (eda_clock_mono_ms() - atomic_load(&c->lost_at_ms) < c->session_ms)
			return 0;
		snprintf(err, errsz, "group %s: partitions lost, waiting for new ones", c->group);
		return 1;
	default:
		snprintf(err, errsz, "group %s: waiting for partitions", c->group);
		return 1;
	}
}

int eda_consumer_caught_up_check(void *ctx, char *err, size_t errsz)
{
	eda_consumer_t *c = ctx;
	rd_kafka_topic_partition_list_t *parts = NULL;
	int rc = eda_consumer_ready_check(c, err, errsz);

	if (rc != 0)
		return rc;
	pthread_mutex_lock(&c->rk_lock);
	if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		pthread_mutex_unlock(&c->rk_lock);
		snprintf(err, errsz, "group %s: assignment unknown", c->group);
		return 1;
	}
	for (int i = 0; i < parts->cnt && rc == 0; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t lo = -1, hi = -1, next = settled_next(c, p->topic, p->partition);

		/* Watermarks come with fetch responses; -1 until the first one.
		 * Durable, not merely fetched: a handled message whose batch is not
		 * flushed yet does not count. */
		if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) !=
		            RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0 || (next < 0 ? lo < hi : next < hi)) {
			snprintf(err, errsz, "group %s: catching up on %s [%d]", c->group, p->topic,
			         (int)p->partition);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&c->rk_lock);
	rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

static int register_metrics(eda_consumer_t *c, char *err, size_t errsz)
{
	eda_metrics_t *reg = c->cfg.metrics;
	char why[256];

	if (reg == NULL)
		return 0;
	c->consumed = eda_metrics_counter(reg, "events_consumed_total",
	                                  "Messages handled, by result (done, retry, dead).",
	                                  "topic,type,result", why, sizeof(why));
	if (c->consumed != NULL)
		c->duration = eda_metrics_histogram(reg, "event_processing_duration_seconds",
		                                    "Time a handler took for one message.", "topic",
		                                    NULL, 0, why, sizeof(why));
	if (c->duration != NULL)
		c->dlq = eda_metrics_counter(reg, "dlq_messages_total",
		                             "Messages forwarded to the dead-letter topic.",
		                             "topic", why, sizeof(why));
	if (c->dlq != NULL)
		c->lag = eda_metrics_gauge(reg, "consumer_lag",
		                           "Messages behind the partition's high watermark.",
		                           "topic,partition", why, sizeof(why));
	if (c->lag == NULL) {
		snprintf(err, errsz, "metrics: %s", why);
		return -1;
	}
	return 0;
}

static char **copy_topics(const char *const *topics)
{
	size_t n = 0;
	char **copy;

	while (topics[n] != NULL)
		n++;
	copy = eda_xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy[i] = eda_xstrdup(topics[i]);
	return copy;
}

/* Joining the group is left to the start of the loop, not done when the
 * consumer is made: a process that then fails to start (its port taken by
 * the live replica it duplicates) must not have joined with that replica's
 * instance id, which would fence the live one. */
static int subscribe(eda_consumer_t *c, char *err, size_t errsz)
{
	rd_kafka_topic_partition_list_t *subs;
	rd_kafka_resp_err_t e;

	if (c->subscribed)
		return 0;
	subs = rd_kafka_topic_partition_list_new(4);
	for (char **t = c->topics; *t != NULL; t++)
		rd_kafka_topic_partition_list_add(subs, *t, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(c->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errsz, "subscribe: %s", rd_kafka_err2str(e));
		return -1;
	}
	c->subscribed = true;
	return 0;
}

/* The configuration's zeros and out-of-order values made the defaults. */
static void apply_defaults(eda_consumer_config_t *cfg)
{
	if (cfg->retry_initial_ms <= 0)
		cfg->retry_initial_ms = 100;
	if (cfg->retry_max_ms <= 0)
		cfg->retry_max_ms = 30000;
	if (cfg->retry_max_ms < cfg->retry_initial_ms)
		cfg->retry_max_ms = cfg->retry_initial_ms;
	if (cfg->stats_interval_ms == 0)
		cfg->stats_interval_ms = 5000;
	if (cfg->batch_max <= 0)
		cfg->batch_max = DEFAULT_BATCH_MAX;
	if (cfg->batch_max_ms <= 0)
		cfg->batch_max_ms = DEFAULT_BATCH_MAX_MS;
}

/* Sets on CONF what the consumer's guarantees need (offsets stored only after
 * a message is settled) and our defaults where the deployment left
 * librdkafka's, and the static member id (CONF's or CFG's) into C. Returns 0,
 * or -1 with ERR filled. */
static int set_group_props(eda_consumer_t *c, rd_kafka_conf_t *conf,
                           const eda_consumer_config_t *cfg, char *err, size_t errsz)
{
	char why[512], interval[16], reset[32];
	size_t reset_len = sizeof(reset);
	char queued[32], session[32];
	size_t queued_len = sizeof(queued), session_len = sizeof(session);
	char instance[256];
	size_t instance_len = sizeof(instance);

	if (rd_kafka_conf_get(conf, "auto.offset.reset", reset, &reset_len) != RD_KAFKA_CONF_OK ||
	    strcmp(reset, "largest") ==
	            0) /* librdkafka's default: new groups read from the start */
		snprintf(reset, sizeof(reset), "earliest");
	/* librdkafka pre-fetches up to 64 MiB per consumer by default: with a
	 * backlog that is most of a daemon's RSS and buys nothing, as handlers are
	 * slower than the fetches. 4 MiB keeps the fetcher ahead; a value set
	 * through KAFKA_QUEUED_MAX_MESSAGES_KBYTES (other than the default) wins. */
	if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", queued, &queued_len) !=
	            RD_KAFKA_CONF_OK ||
	    strcmp(queued, "65536") == 0)
		snprintf(queued, sizeof(queued), "%d", DEFAULT_QUEUED_KBYTES);
	snprintf(interval, sizeof(interval), "%d",
	         c->cfg.stats_interval_ms > 0 ? c->cfg.stats_interval_ms : 0);
	/* librdkafka's default (45000) means "not set here": ours is shorter. */
	if (rd_kafka_conf_get(conf, "session.timeout.ms", session, &session_len) !=
	            RD_KAFKA_CONF_OK ||
	    strcmp(session, "45000") == 0)
		snprintf(session, sizeof(session), "%d", DEFAULT_SESSION_MS);
	c->session_ms = atoi(session);
	if (rd_kafka_conf_get(conf, "group.instance.id", instance, &instance_len) ==
	            RD_KAFKA_CONF_OK &&
	    instance[0] != '\0')
		c->instance_id = eda_xstrdup(instance);
	else if (cfg->instance_id != NULL && cfg->instance_id[0] != '\0')
		c->instance_id = eda_xstrdup(cfg->instance_id);
	const char *const props[][2] = {
	        {"group.id", c->group},
	        {"enable.auto.offset.store", "false"},
	        {"enable.auto.commit", "true"},
	        {"auto.offset.reset", reset},
	        {"statistics.interval.ms", interval},
	        {"queued.max.messages.kbytes", queued},
	        {"session.timeout.ms", session},
	        {"group.instance.id", c->instance_id}, /* skipped when NULL */
	};
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (props[i][1] == NULL)
			continue;
		if (eda_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why)) != 0) {
			snprintf(err, errsz, "%s: %s", props[i][0], why);
			return -1;
		}
	}
	return 0;
}

eda_consumer_t *eda_consumer_new(rd_kafka_conf_t *conf, const eda_consumer_config_t *cfg, char *err,
                                 size_t errsz)
{
	eda_consumer_t *c = eda_xcalloc(1, sizeof(*c));
	char why[512];

	pthread_mutex_init(&c->settled_lock, NULL);
	pthread_mutex_init(&c->rk_lock, NULL);

	if (cfg->group == NULL || *cfg->group == '\0' || cfg->topics == NULL ||
	    cfg->topics[0] == NULL || cfg->handler == NULL || cfg->dlq_producer == NULL) {
		snprintf(err, errsz,
		         "consumer: group, topics, handler and dlq_producer are required");
		goto fail;
	}
	c->cfg = *cfg;
	c->group = eda_xstrdup(cfg->group);
	c->dlq_topic = eda_xasprintf("dlq.%s", cfg->group);
	c->cfg.group = c->group;
	c->cfg.topics = NULL; /* not kept: only used to subscribe below */
	apply_defaults(&c->cfg);
	if (register_metrics(c, err, errsz) != 0 || set_group_props(c, conf, cfg, err, errsz) != 0)
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_stats_cb(conf, on_stats);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, c);
	c->conf = rd_kafka_conf_dup(conf);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (c->rk == NULL) {
		snprintf(err, errsz, "kafka consumer: %s", why);
		goto fail;
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(c->rk);
	c->topics = copy_topics(cfg->topics);
	return c;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	eda_consumer_free(c);
	return NULL;
}

/*
 * A fatal error ends a librdkafka handle for good, and librdkafka 2.0.2 can
 * give a static member one of its own making: after a broker restart longer
 * than the session, the member rejoins under a new member id while an offset
 * commit still carries the old one, and that commit's FENCED_INSTANCE_ID is
 * fatal (seen in make chaos: the order service's saga stopped for good). So
 * the consumer answers a fatal error with a new handle, after one session
 * timeout: its uncommitted messages come again (handlers are idempotent), and
 * two live processes that share an instance id by mistake take turns, loudly
 * logged, instead of one of them standing still forever. Returns 0, or -1 when
 * the new handle cannot be made (tried again a session later).
 */
static int renew_handle(eda_consumer_t *c)
{
	char why[512];

	/* Settle what can be: effects made durable, offsets (if the handle
	 * still takes them) stored; the rest is redelivered. */
	if (c->npending > 0)
		flush_pending(c);
	hold_free_all(c); /* messages belong to the old handle */
	c->npending = 0;
	pthread_mutex_lock(&c->rk_lock);
	if (c->rk != NULL)
		rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rd_kafka_conf_dup(c->conf), why, sizeof(why));
	if (c->rk != NULL)
		rd_kafka_poll_set_consumer(c->rk);
	pthread_mutex_unlock(&c->rk_lock);
	c->subscribed = false;
	atomic_store(&c->assignment, ASSIGN_WAITING);
	if (c->rk == NULL || subscribe(c, why, sizeof(why)) != 0) {
		eda_log(EDA_LOG_ERROR, "consumer: no new handle after a fatal error", "group",
		        c->group, "error", why, NULL);
		return -1;
	}
	atomic_store(&c->fenced, false);
	c->fatal_at_ms = 0;
	eda_log(EDA_LOG_WARN, "consumer: new handle after a fatal error, rejoining", "group",
	        c->group, NULL);
	return 0;
}

/* Whether the handle is dead (a fatal error, or none could be made). */
static bool handle_dead(eda_consumer_t *c)
{
	if (c->rk != NULL && rd_kafka_fatal_error(c->rk, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	if (c->fatal_at_ms == 0) {
		c->fatal_at_ms = eda_clock_mono_ms();
		atomic_store(&c->fenced, true); /* /readyz: not ready until renewed */
	}
	return true;
}

void eda_consumer_run(eda_consumer_t *c)
{
	char err[256];

	if (subscribe(c, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "consumer cannot join its group", "group", c->group, "error",
		        err, NULL);
		return;
	}
	while (!atomic_load(&c->stop)) {
		rd_kafka_message_t *m;

		if (c->npending >= (size_t)c->cfg.batch_max ||
		    (c->npending > 0 &&
		     eda_clock_mono_ms() - c->pending_since_ms >= c->cfg.batch_max_ms))
			flush_pending(c);
		if (handle_dead(c)) {
			/* Nothing to poll: wait out a session timeout, then renew. */
			if (eda_clock_mono_ms() - c->fatal_at_ms < c->session_ms)
				usleep(100 * 1000);
			else if (renew_handle(c) != 0)
				c->fatal_at_ms =
				        eda_clock_mono_ms(); /* try again a session later */
			continue;
		}
		drain_holds(c);
		m = rd_kafka_consumer_poll(c->rk, next_poll_ms(c));
		if (m != NULL)
			on_message(c, m);
		else if (c->npending > 0)
			flush_pending(c); /* nothing waiting: this batch is as big as it gets */
	}
	/* A graceful stop settles the batch, so a restart does not repeat it. */
	if (c->npending > 0)
		flush_pending(c);
}

static void *run_thread(void *arg)
{
	eda_consumer_run(arg);
	return NULL;
}

int eda_consumer_start(eda_consumer_t *c, char *err, size_t errsz)
{
	if (subscribe(c, err, errsz) != 0)
		return -1;
	if (pthread_create(&c->thread, NULL, run_thread, c) != 0) {
		snprintf(err, errsz, "consumer %s: cannot start its thread", c->group);
		return -1;
	}
	c->thread_started = true;
	return 0;
}

void eda_consumer_stop(eda_consumer_t *c)
{
	atomic_store(&c->stop, true);
	if (c->thread_started) {
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
}

void eda_consumer_free(eda_consumer_t *c)
{
	if (c == NULL)
		return;
	eda_consumer_stop(c);
	if (c->rk != NULL) {
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			eda_log(EDA_LOG_WARN, "final commit failed", "group", c->group, "error",
			        rd_kafka_err2str(e), NULL);
		/* Held messages were never settled: drop them before leaving so that
		 * the rebalance on close does not see them. */
		hold_free_all(c);
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	hold_free_all(c);
	free(c->dlq_topic);
	free(c->group);
	free(c->instance_id);
	for (size_t i = 0; i < c->nsettled; i++)
		free(c->settled[i].topic);
	free(c->settled);
	pthread_mutex_destroy(&c->settled_lock);
	pthread_mutex_destroy(&c->rk_lock);
	if (c->conf != NULL)
		rd_kafka_conf_destroy(c->conf);
	for (char **t = c->topics; t != NULL && *t != NULL; t++)
		free(*t);
	free(c->topics);
	free(c);
}
