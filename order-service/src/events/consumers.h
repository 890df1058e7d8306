/*
 * The saga's reactions to other services' events (group CONSUMER_GROUP on the
 * inventory and payments topics):
 *   InventoryReserved          PENDING   -> CONFIRMED  (OrderConfirmed)
 *   InventoryReservationFailed PENDING   -> REJECTED   (OrderRejected, reason)
 *   PaymentProcessed           CONFIRMED -> PAID       (OrderPaid; amount and
 *                                                       currency must match)
 * Each event is applied once (os_service_apply records it by source and id in
 * the same transaction as the change and its outbox row); one that no longer
 * applies is recorded and ignored; a database failure is retried with the
 * consumer's backoff; a malformed event goes to dlq.<group>.
 */
#ifndef OS_CONSUMERS_H
#define OS_CONSUMERS_H

#include <stddef.h>

#include "eda/consumer.h"
#include "services/order_service.h"

/* The consumer's handler (ctx = the os_service_t); exposed for tests. */
eda_handler_result_t os_consumers_handle(eda_consumed_t *m, void *ctx);

/* A consumer on TOPICS (NULL-terminated) in GROUP, not yet started. CONF is
 * taken. DLQ is the producer dead messages are forwarded with. */
eda_consumer_t *os_consumers_new(rd_kafka_conf_t *conf, os_service_t *svc, const char *group,
                                 const char *const *topics, eda_producer_t *dlq,
                                 eda_metrics_t *metrics, char *err, size_t errsz);

#endif
