/*
 * The message handling of eda/consumer.h's consumer-group member and its poll
 * loop; the member around it (configuration, callbacks, readiness, life
 * cycle) is consumer_group.c.
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
#include "consumer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"

#define DLQ_TIMEOUT_MS 30000

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

struct hold *eda_consumer__hold_find(eda_consumer_t *c, const char *topic, int32_t partition)
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
	struct hold *h = eda_consumer__hold_find(c, topic, partition);

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

void eda_consumer__hold_clear(eda_consumer_t *c, struct hold *h)
{
	c->npending -= h->npend;
	h->npend = 0;
	while (h->n > 0)
		hold_pop(h);
	h->paused = false;
}

void eda_consumer__hold_free_all(eda_consumer_t *c)
{
	for (size_t i = 0; i < c->nholds; i++) {
		eda_consumer__hold_clear(c, &c->holds[i]);
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
int64_t eda_consumer__settled_next(eda_consumer_t *c, const char *topic, int32_t partition)
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
void eda_consumer__flush_pending(eda_consumer_t *c)
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
	h = eda_consumer__hold_find(c, rd_kafka_topic_name(m->rkt), m->partition);
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

void eda_consumer_run(eda_consumer_t *c)
{
	char err[256];

	if (eda_consumer__subscribe(c, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "consumer cannot join its group", "group", c->group, "error",
		        err, NULL);
		return;
	}
	while (!atomic_load(&c->stop)) {
		rd_kafka_message_t *m;

		if (c->npending >= (size_t)c->cfg.batch_max ||
		    (c->npending > 0 &&
		     eda_clock_mono_ms() - c->pending_since_ms >= c->cfg.batch_max_ms))
			eda_consumer__flush_pending(c);
		if (eda_consumer__handle_dead(c)) {
			/* Nothing to poll: wait out a session timeout, then renew. */
			if (eda_clock_mono_ms() - c->fatal_at_ms < c->session_ms)
				usleep(100 * 1000);
			else if (eda_consumer__renew_handle(c) != 0)
				c->fatal_at_ms =
				        eda_clock_mono_ms(); /* try again a session later */
			continue;
		}
		drain_holds(c);
		m = rd_kafka_consumer_poll(c->rk, next_poll_ms(c));
		if (m != NULL)
			on_message(c, m);
		else if (c->npending > 0)
			eda_consumer__flush_pending(
			        c); /* nothing waiting: this batch is as big as it gets */
	}
	/* A graceful stop settles the batch, so a restart does not repeat it. */
	if (c->npending > 0)
		eda_consumer__flush_pending(c);
}
