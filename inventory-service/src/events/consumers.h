/*
 * The consumer of the orders topic: OrderPlaced reserves, OrderCancelled
 * releases, other types are ignored, and a message that is not a valid event
 * goes to dlq.<group> (eda_event_dispatch decides). OrderPlaced and
 * OrderCancelled are staged (EDA_HANDLER_PENDING) and handled at the
 * consumer's flush, many orders per round trip (inv_reserve_orders); a
 * failed flush drops the batch and the consumer hands every message back,
 * so an offset is stored only once its outcome is durable.
 */
#ifndef INV_CONSUMERS_H
#define INV_CONSUMERS_H

#include "eda/consumer.h"
#include "services/context.h"

/* Messages per flush: a round trip per step is shared by this many orders,
 * which makes it negligible long before the default of 256, while the
 * batch's memory (an order's lines are held in full) grows with it. */
#define INV_BATCH_MAX 64

/* The staged messages of one consumer (it is used on that consumer's thread
 * only). */
typedef struct inv_order_batch inv_order_batch_t;

/* A batch for a consumer of the services' context CTX (borrowed; it must
 * outlive the batch). */
inv_order_batch_t *inv_order_batch_new(const inv_ctx_t *ctx);
void inv_order_batch_free(inv_order_batch_t *b);

/* The eda_consumer handler; CTX is the consumer's inv_order_batch_t. */
eda_handler_result_t inv_on_order_message(eda_consumed_t *m, void *ctx);

/* The eda_consumer flush (eda_flush_fn); CTX likewise. */
int inv_order_batch_flush(void *ctx, char *reason, size_t reasonsz);

#endif
