/*
 * Publishing the service's events from its two outboxes (ledger entries carry
 * their InventoryUpdated, outbox rows their order result). A row is always
 * durable in MongoDB before its event is handed here; the event goes out
 * through the process's idempotent producer, and once the broker acknowledges
 * it a relay thread marks the row published (batched). A failed delivery is
 * retried with capped backoff; rows still unpublished when the process dies
 * are sent again by inv_publisher_replay() at the next start, with the same
 * event id, so consumers can drop the rare duplicate by id.
 */
#ifndef INV_PRODUCERS_H
#define INV_PRODUCERS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config/database.h"
#include "eda/metrics.h"
#include "eda/producer.h"

typedef struct inv_publisher inv_publisher_t;

/* Takes ownership of CONF. Events go to TOPIC, except ProductChanged, which
 * goes to PRODUCTS_TOPIC; both are copied. NULL with ERR on failure. */
inv_publisher_t *inv_publisher_new(rd_kafka_conf_t *conf, inv_db_t *db, const char *topic,
                                   const char *products_topic, eda_metrics_t *metrics, char *err,
                                   size_t errsz);

/* The producer, also used to forward dead messages to the DLQ. */
eda_producer_t *inv_publisher_producer(inv_publisher_t *pub);

/* Sends the N EVENTS of row ID of COLLECTION (serialized envelopes; key =
 * each one's subject) and marks the row once all are acknowledged. Never
 * fails: a refused send is retried. */
void inv_publisher_send(inv_publisher_t *pub, const char *collection, const char *id,
                        const char *const *events, size_t n);

/* Sends every unpublished row of both outboxes. Returns how many, or -1. */
int inv_publisher_replay(inv_publisher_t *pub, char *err, size_t errsz);

/* Waits up to TIMEOUT_MS for everything to be acknowledged and marked. Returns
 * 0, or -1 when some is still pending. */
int inv_publisher_drain(inv_publisher_t *pub, int timeout_ms);

/* Flushes within TIMEOUT_MS, stops the relay and frees PUB. Rows not marked
 * stay unpublished in MongoDB for the next start. */
void inv_publisher_free(inv_publisher_t *pub, int timeout_ms);

/* The publisher as the services see it (they do not depend on Kafka). */
void inv_publish_cb(void *pub, const char *collection, const char *id, const char *const *events,
                    size_t n);

#endif
