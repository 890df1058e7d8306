/*
 * The catalogue consumer: ProductChanged from the compacted topic
 * TOPIC_PRODUCTS (key = SKU) into the catalogue replica, in a group of its
 * own (CATALOGUE_GROUP), reading every partition from its start at each
 * assignment (from_beginning): a new replica, or one whose table was dropped
 * and re-created at start, rebuilds the whole catalogue before /readyz says
 * ready (eda_consumer_caught_up_check). Newer version wins, so reading the
 * topic again is harmless. A message that breaks the contract goes to
 * dlq.<CATALOGUE_GROUP>; other event types are ignored.
 */
#ifndef OS_EVENTS_CATALOGUE_H
#define OS_EVENTS_CATALOGUE_H

#include <stddef.h>

#include "eda/consumer.h"
#include "services/order_service.h"

/* The consumer's handler (ctx = an os_service_t). */
eda_handler_result_t os_catalogue_handle(eda_consumed_t *m, void *ctx);

/* A consumer of TOPIC in GROUP (not yet started). CONF is taken. INSTANCE_ID
 * makes it a static member ("" or NULL: dynamic). SVC must outlive it. */
eda_consumer_t *os_catalogue_consumer_new(rd_kafka_conf_t *conf, os_service_t *svc,
                                          const char *group, const char *instance_id,
                                          const char *topic, eda_producer_t *dlq,
                                          eda_metrics_t *metrics, char *err, size_t errsz);

#endif
