/*
 * The saga's reactions to other services' events (group CONSUMER_GROUP on the
 * inventory and payments topics):
 *   InventoryReserved          PENDING   -> CONFIRMED  (OrderConfirmed)
 *   InventoryReservationFailed PENDING   -> REJECTED   (OrderRejected, reason)
 *   PaymentProcessed           CONFIRMED -> PAID       (OrderPaid; amount and
 *                                                       currency must match)
 *   PaymentFailed              nothing moves           (recorded, logged)
 * Every payment is recorded in `payments` with what it did (see
 * os_saga_apply: refunds, mismatches).
 * Each event is applied once (os_saga_apply records it by source and id in
 * the same transaction as the change and its outbox row); one that no longer
 * applies is recorded and ignored; a database failure is retried with the
 * consumer's backoff; a malformed event goes to dlq.<group>.
 *
 * Events are group-committed: on first delivery each goes into the open batch
 * (os_apply_batch_add, answered PENDING) and the consumer's flush commits the
 * batch before any offset is stored. A failed batch is handed back; an event
 * on its second or later delivery is applied in a transaction of its own, so
 * one that keeps failing holds back only its own partition.
 */
#ifndef OS_CONSUMERS_H
#define OS_CONSUMERS_H

#include <stddef.h>

#include "eda/consumer.h"
#include "services/saga.h"

/* What the handler works with; must outlive the consumer. */
typedef struct os_consumers_ctx {
	os_service_t *svc;
	os_apply_batch_t *batch; /* used on the consumer's thread only */
} os_consumers_ctx_t;

/* The consumer's handler (ctx = an os_consumers_ctx_t). */
eda_handler_result_t os_consumers_handle(eda_consumed_t *m, void *ctx);

/* A consumer on TOPICS (NULL-terminated) in GROUP, not yet started. CONF is
 * taken. INSTANCE_ID makes it a static member ("" or NULL: dynamic). DLQ is
 * the producer dead messages are forwarded with. */
eda_consumer_t *os_consumers_new(rd_kafka_conf_t *conf, os_consumers_ctx_t *ctx, const char *group,
                                 const char *instance_id, const char *const *topics,
                                 eda_producer_t *dlq, eda_metrics_t *metrics, char *err,
                                 size_t errsz);

#endif
