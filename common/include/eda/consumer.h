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
 * Stored offsets are committed by librdkafka's auto commit, on revoke and on
 * close. Consumer lag per partition (from librdkafka statistics) is exported as
 * the gauge consumer_lag{topic,partition}; events_consumed_total{topic,type,result},
 * event_processing_duration_seconds{topic} and dlq_messages_total{topic} too.
 */
#ifndef EDA_CONSUMER_H
#define EDA_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "eda/metrics.h"
#include "eda/producer.h"

typedef enum {
	EDA_HANDLER_DONE = 0,
	EDA_HANDLER_RETRY,
	EDA_HANDLER_DEAD,
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
	/* Set by the handler: the event type for metrics (a string that outlives
	 * the call, or NULL for "unknown") and why it asked for RETRY or DEAD. */
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
} eda_consumer_config_t;

typedef struct eda_consumer eda_consumer_t;

/* Takes ownership of CONF (also on failure); sets group.id, auto.offset.reset
 * (earliest, unless CONF sets it), enable.auto.offset.store=false and
 * enable.auto.commit=true over it and subscribes to the topics. */
eda_consumer_t *eda_consumer_new(rd_kafka_conf_t *conf, const eda_consumer_config_t *cfg, char *err,
                                 size_t errsz);

/* Polls and handles messages on the calling thread until eda_consumer_stop(). */
void eda_consumer_run(eda_consumer_t *c);

/* Or on a thread of its own. Returns 0, or -1 with ERR. */
int eda_consumer_start(eda_consumer_t *c, char *err, size_t errsz);

/* Asks the loop to end after the message in hand (safe from any thread or a
 * signal-watching thread) and, if started with eda_consumer_start, joins it. */
void eda_consumer_stop(eda_consumer_t *c);

/* Commits stored offsets, leaves the group (within TIMEOUT_MS) and frees C.
 * Messages handed out but not DONE/DEAD are not committed: another member, or
 * this group after a restart, gets them again. */
void eda_consumer_free(eda_consumer_t *c);

#endif
