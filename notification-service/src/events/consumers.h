/*
 * The service's Kafka side: a consumer-group member on the orders topic that
 * routes OrderPlaced, OrderConfirmed, OrderRejected and OrderCancelled to the
 * notifier and ignores every other type (forward compatibility).
 */
#ifndef NOTIF_EVENTS_CONSUMERS_H
#define NOTIF_EVENTS_CONSUMERS_H

#include <stdbool.h>
#include <stddef.h>

#include "eda/consumer.h"
#include "services/notifier.h"

typedef struct notif_consumer_config {
	const char *topic;            /* the orders topic */
	const char *group;            /* consumer group; the DLQ is dlq.<group> */
	const char *instance_id;      /* group.instance.id; "" or NULL: a dynamic member */
	eda_producer_t *dlq_producer; /* borrowed */
	eda_metrics_t *metrics;       /* borrowed */
	int retry_initial_ms, retry_max_ms;
	int batch_max, batch_max_ms; /* group commit (spool files, sent ids); 0: defaults */
	bool commit_on_flush;        /* commit offsets after each durable batch */
} notif_consumer_config_t;

typedef struct notif_consumer notif_consumer_t;

/* Takes ownership of CONF (also on failure); NOTIFIER is borrowed and must
 * outlive the consumer. Returns NULL with ERR. */
notif_consumer_t *notif_consumer_new(rd_kafka_conf_t *conf, const notif_consumer_config_t *cfg,
                                     notif_notifier_t *notifier, char *err, size_t errsz);

/* The group member itself, for its /readyz check (eda_consumer_ready_check). */
eda_consumer_t *notif_consumer_kafka(notif_consumer_t *c);

/* Starts the consumer thread. 0, or -1 with ERR. */
int notif_consumer_start(notif_consumer_t *c, char *err, size_t errsz);

/* Stops after the message in hand, commits stored offsets, leaves the group
 * and frees C. NULL is fine. */
void notif_consumer_free(notif_consumer_t *c);

#endif
