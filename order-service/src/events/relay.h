/*
 * The outbox relay: publishes outbox rows to Kafka in id order with the
 * common idempotent producer and marks each row published only after its
 * delivery report.
 *
 * Exactly one relay publishes at a time across replicas: the one holding a
 * PostgreSQL session advisory lock on its dedicated connection. Standbys try
 * the lock every standby_ms; if the leader's session dies, its lock goes with
 * it and a standby takes over. The leader wakes at once on os_relay_wake()
 * (same process) or a NOTIFY on OS_CHANNEL_OUTBOX (other replicas), and
 * sweeps every sweep_ms anyway.
 *
 * Each round sends a batch asynchronously (opaque = the row id), waits for all
 * its delivery reports, then marks the delivered rows in one UPDATE. With
 * message.timeout.ms=0 a broker outage only stalls a round; nothing is dropped
 * or reordered, and rows still undelivered at shutdown stay unpublished for
 * the next leader (at-least-once; consumers deduplicate by event id).
 */
#ifndef OS_EVENTS_RELAY_H
#define OS_EVENTS_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "eda/metrics.h"
#include "eda/producer.h"

typedef struct os_relay os_relay_t;

typedef struct os_relay_config {
	const char *database_url; /* copied */
	int batch;
	int sweep_ms;
	int standby_ms;
	int db_timeout_ms;      /* connect and round-trip deadline of its session */
	eda_metrics_t *metrics; /* borrowed; may be NULL */
} os_relay_config_t;

/* A stopped relay. Returns NULL with ERR filled (bad metrics registration). */
os_relay_t *os_relay_new(const os_relay_config_t *cfg, char *err, size_t errsz);

/* The delivery-report callback to give eda_producer_new (ctx = the relay). */
void os_relay_on_delivery(void *opaque, int err, const char *why, void *ctx);

/* Adds librdkafka settings the relay relies on to CONF: message.timeout.ms=0
 * (a broker outage delays, never drops) and a short linger. Returns 0 or -1. */
int os_relay_tune_conf(rd_kafka_conf_t *conf, char *err, size_t errsz);

/* Starts the relay thread publishing through P (borrowed; its delivery
 * callback must be os_relay_on_delivery with this relay). Returns 0 or -1. */
int os_relay_start(os_relay_t *r, eda_producer_t *p, char *err, size_t errsz);

/* Wakes the relay now (new rows committed). Safe from any thread; NULL is fine. */
void os_relay_wake(os_relay_t *r);

/* Whether this relay currently holds the leader lock (R not NULL). */
bool os_relay_is_leader(os_relay_t *r);

/* Rows published by this relay since start. */
unsigned long long os_relay_published(os_relay_t *r);

/* Stops the thread (an unfinished round is abandoned: its rows stay
 * unpublished) and releases the lock. Idempotent. */
void os_relay_stop(os_relay_t *r);

/* Stops if needed and frees R. Free the producer AFTER this returns or before
 * starting: late delivery reports find no batch and are ignored. */
void os_relay_free(os_relay_t *r);

#endif
