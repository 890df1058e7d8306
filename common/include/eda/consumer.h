/*
 * A Kafka consumer-group member with at-least-once delivery and offsets stored
 * only after the handler says the effect is durable.
 *
 * The handler returns what happened to one message:
 *   EDA_HANDLER_DONE   effect durable (or nothing to do): the offset is stored
 *   EDA_HANDLER_RETRY  transient failure: the same message is handed back after a
 *                      capped exponential backoff; later messages of its
 *                      partition wait behind it (order kept, nothing skipped),
 *                      other partitions go on
 *   EDA_HANDLER_DEAD   the message can never be handled: it is forwarded to
 *                      dlq.<group> with headers dlq.error, dlq.topic,
 *                      dlq.partition, dlq.offset, dlq.group (and its own), then
 *                      its offset is stored and the consumer goes on
 *   EDA_HANDLER_PENDING (group commit, only with a flush callback) the effect
 *                      was written but is durable only once the batch is
 *                      flushed: the offset is stored after cfg.flush succeeds
 *
 * Group commit. A handler whose effect is expensive to make durable one by one
 * (an fsync per file) answers PENDING and the consumer calls cfg.flush once for
 * many messages: when a poll finds no message waiting, when batch_max messages
 * are pending, when the oldest pending one is batch_max_ms old, before its
 * partitions are revoked and when the loop stops. Rules:
 *   - no offset of a pending message is stored before flush returned 0; a
 *     DONE or DEAD message of a partition that has pending messages is
 *     settled but its offset waits for the same flush (offsets are stored in
 *     order, so a later message never commits past an earlier pending one);
 *   - flush returning nonzero means none of the batch is known durable: every
 *     pending message is handed back to the handler in partition order, after
 *     a capped exponential backoff that grows with consecutive failed flushes
 *     (the RETRY path, attempt > 1); DONE and DEAD messages queued behind
 *     them are not handled again (no second DLQ copy), only their offsets
 *     wait; the handler's owner must have dropped its unflushed batch by then;
 *   - a crash before or during flush stores nothing of the batch: the group
 *     gets those messages again (at-least-once, so handlers are idempotent);
 *   - a revoke flushes first; if that flush fails, the revoked partitions'
 *     messages are dropped unstored and their next owner handles them again.
 * Pending messages count in events_consumed_total as "done" after a
 * successful flush and as "retry" after a failed one.
 * Stored offsets are committed by librdkafka's auto commit, on revoke and on
 * close, and (with commit_on_flush) right after every successful flush.
 *
 * Liveness after a crash. With an instance_id the member is static (KIP-345,
 * group.instance.id): a restarted process that comes back with the same id
 * takes its partitions back at once, without waiting for the session of the
 * member it replaces to expire. The session timeout (10 s unless CONF sets
 * session.timeout.ms) then only decides how long a member that stays dead
 * keeps its partitions. A second live process with the same id fences the
 * first (a fatal error there): ids must be unique per live replica. A fatal
 * error (that one, or the self-fencing librdkafka 2.0.2 can cause after a
 * broker restart longer than the session) is answered with a new librdkafka
 * handle after one session timeout; the uncommitted messages come again. Consumer lag per partition
 * (from librdkafka statistics) is exported as the gauge consumer_lag{topic,partition};
 * events_consumed_total{topic,type,result}, event_processing_duration_seconds{topic} and
 * dlq_messages_total{topic} too.
 */
#ifndef EDA_CONSUMER_H
#define EDA_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eda/metrics.h"
#include "eda/producer.h"

typedef enum {
	EDA_HANDLER_DONE = 0,
	EDA_HANDLER_RETRY,
	EDA_HANDLER_DEAD,
	EDA_HANDLER_PENDING,
} eda_handler_result_t;

/* One message as the handler sees it. Everything is valid until the handler returns. */
typedef struct eda_consumed {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *key;
	size_t key_len;
	const void *value;
	size_t len;
	int attempt; /* 1 on the first delivery in this process, 2 on the first retry, ... */
	const rd_kafka_message_t *raw;
	/* Set by the handler: the event type for metrics (a static string: it is
	 * kept until a PENDING message is flushed; or NULL for "unknown") and why
	 * it asked for RETRY or DEAD. */
	const char *type;
	char reason[256];
} eda_consumed_t;

/* Returns the last header NAME of M (not NUL-terminated; LEN gets its length),
 * or NULL. */
const void *eda_consumed_header(const eda_consumed_t *m, const char *name, size_t *len);

typedef eda_handler_result_t (*eda_handler_fn)(eda_consumed_t *m, void *ctx);
/* Called on the consumer's thread after partitions are assigned or before they
 * are revoked. */
typedef void (*eda_rebalance_fn)(const rd_kafka_topic_partition_list_t *parts, void *ctx);
/* Makes the effect of every message answered PENDING since the last flush
 * durable, on the consumer's thread. Returns 0 when all of it is durable; else
 * nonzero with a REASON (for the log), after dropping the unflushed batch:
 * those messages will be handed to the handler again. */
typedef int (*eda_flush_fn)(void *ctx, char *reason, size_t reasonsz);

typedef struct eda_consumer_config {
	const char *group;         /* group.id, also names the DLQ: dlq.<group> */
	const char *const *topics; /* NULL-terminated */
	eda_handler_fn handler;
	void *ctx;                    /* passed to handler and rebalance callbacks */
	eda_producer_t *dlq_producer; /* required: forwards dead messages */
	eda_metrics_t *metrics;       /* may be NULL */
	int retry_initial_ms;         /* first backoff; 0 means 100 */
	int retry_max_ms;             /* cap; 0 means 30000 */
	int stats_interval_ms;        /* lag statistics; 0 means 5000, -1 off */
	eda_rebalance_fn on_assign;   /* may be NULL */
	eda_rebalance_fn on_revoke;   /* may be NULL */
	/* Group commit (see above). Without flush, a PENDING answer is treated as
	 * RETRY and logged as an error: nothing is stored that is not durable. */
	eda_flush_fn flush; /* may be NULL */
	int batch_max;      /* pending messages that trigger a flush; 0 means 256 */
	int batch_max_ms;   /* age of the oldest pending one that does; 0 means 100 */
	/* group.instance.id for static membership (see above); NULL or "" for a
	 * dynamic member. A group.instance.id set in CONF (KAFKA_GROUP_INSTANCE_ID)
	 * wins. */
	const char *instance_id;
	/* Commit stored offsets (asynchronously) right after each successful
	 * flush, instead of waiting for the auto commit (every 5 s): after a
	 * kill, only the batch in flight is handled again. Costs one offset
	 * commit request per batch. */
	bool commit_on_flush;
	/* Read every assigned partition from its first retained message, whatever
	 * the group committed: for a replica of a compacted topic (a table rebuilt
	 * at every start and every rebalance). */
	bool from_beginning;
} eda_consumer_config_t;

typedef struct eda_consumer eda_consumer_t;

/* Takes ownership of CONF (also on failure); sets group.id, auto.offset.reset
 * (earliest, unless CONF sets it), enable.auto.offset.store=false,
 * enable.auto.commit=true and session.timeout.ms (10 s unless CONF sets it)
 * over it. It joins the group and subscribes to the topics only when the
 * loop starts (eda_consumer_start or eda_consumer_run), so a process can make
 * its consumer, fail to bind its port and exit without ever having joined. */
eda_consumer_t *eda_consumer_new(rd_kafka_conf_t *conf, const eda_consumer_config_t *cfg, char *err,
                                 size_t errsz);

/* Subscribes, then polls and handles messages on the calling thread until
 * eda_consumer_stop(); returns at once (logged) if it cannot subscribe. */
void eda_consumer_run(eda_consumer_t *c);

/* Or subscribes and runs on a thread of its own. Returns 0, or -1 with ERR. */
int eda_consumer_start(eda_consumer_t *c, char *err, size_t errsz);

/* Asks the loop to end after the message in hand and a last flush of the
 * pending ones (safe from any thread or a signal-watching thread) and, if
 * started with eda_consumer_start, joins it. */
void eda_consumer_stop(eda_consumer_t *c);

/* A /readyz check (eda_http_check_t) for CTX, an eda_consumer_t: 0 while the
 * member holds the assignment the group gave it (an empty one counts: the
 * group has told it there is nothing for it), else 1 with why in ERR
 * ("waiting for partitions", "fenced"). A member that had an assignment and
 * lost it (a rebalance in progress, a lost session) stays ready for up to the
 * session timeout, so that an ordinary rebalance of a few seconds does not
 * take every replica out of its Service at once; longer, it is not ready. */
int eda_consumer_ready_check(void *ctx, char *err, size_t errsz);

/* A /readyz check for a replica of a compacted topic (CTX an eda_consumer_t):
 * ready as eda_consumer_ready_check, and besides every assigned partition read
 * up to its high watermark as librdkafka last saw it (a partition with no
 * message counts once its first fetch answered). 1 with "catching up" in ERR
 * until then. */
int eda_consumer_caught_up_check(void *ctx, char *err, size_t errsz);

/* Commits stored offsets, leaves the group (within TIMEOUT_MS) and frees C.
 * Messages handed out but not DONE/DEAD (or PENDING and flushed) are not
 * committed: another member, or this group after a restart, gets them again. */
void eda_consumer_free(eda_consumer_t *c);

#endif
