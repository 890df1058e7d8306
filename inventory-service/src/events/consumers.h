/*
 * The consumer of the orders topic: OrderPlaced reserves, OrderCancelled
 * releases, other types are ignored, and a message that is not a valid event
 * goes to dlq.<group> (eda_event_dispatch decides). A database failure asks
 * for a retry, so the offset is stored only once the outcome is durable.
 */
#ifndef INV_CONSUMERS_H
#define INV_CONSUMERS_H

#include "eda/consumer.h"
#include "services/context.h"

/* The eda_consumer handler; CTX is the inv_app_t. */
eda_handler_result_t inv_on_order_message(eda_consumed_t *m, void *ctx);

#endif
