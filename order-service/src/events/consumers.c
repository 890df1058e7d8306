/*
 * Saga event handlers (see consumers.h).
 */
#include "events/consumers.h"

#include <string.h>

#include "eda/event_bus.h"
#include "eda/log.h"
#include "eda/money.h"

/* The saga's batches: at most this old before they are committed, which
 * bounds what a batch adds to a saga's latency under a steady stream. */
#define BATCH_MAX_MS 20

static eda_handler_result_t apply(os_consumers_ctx_t *x, const eda_event_t *ev, eda_consumed_t *m,
                                  os_status_t from, os_status_t to, const char *reason,
                                  const int64_t *amount, const char *currency)
{
	char outcome[128] = "";
	int rc;

	if (m->attempt == 1) {
		/* A broken batch is reported by the flush, which hands this event
		 * back with the rest: PENDING either way. */
		os_apply_batch_add(x->batch, ev, from, to, reason, amount, currency, outcome,
		                   sizeof(outcome));
		return EDA_HANDLER_PENDING;
	}
	/* Its own transaction, on another connection: commit the batch first, so
	 * that it holds no row lock this one could wait for. */
	os_apply_batch_commit(x->batch);
	rc = os_saga_apply(x->svc, ev, from, to, reason, amount, currency, outcome,
	                   sizeof(outcome));
	if (rc == OS_OK)
		return EDA_HANDLER_DONE;
	snprintf(m->reason, sizeof(m->reason), "%s", outcome[0] ? outcome : os_strerror(rc));
	return EDA_HANDLER_RETRY;
}

static eda_handler_result_t on_reserved(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	return apply(ctx, ev, m, OS_PENDING, OS_CONFIRMED, NULL, NULL, NULL);
}

static eda_handler_result_t on_reservation_failed(const eda_event_t *ev, eda_consumed_t *m,
                                                  void *ctx)
{
	const char *reason = json_string_value(json_object_get(ev->data, "reason"));

	return apply(ctx, ev, m, OS_PENDING, OS_REJECTED, reason, NULL, NULL);
}

static eda_handler_result_t on_payment(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	const char *currency = json_string_value(json_object_get(ev->data, "currency"));
	int64_t amount;

	/* PaymentFailed takes the same path: it is recorded, moves nothing (the
	 * service looks at EV's type). The contract check already passed; a
	 * failure here would be a bug there. */
	if (eda_money_parse_canonical(json_string_value(json_object_get(ev->data, "amount")),
	                              &amount) != 0) {
		snprintf(m->reason, sizeof(m->reason), "data.amount: not canonical money");
		return EDA_HANDLER_DEAD;
	}
	return apply(ctx, ev, m, OS_CONFIRMED, OS_PAID, NULL, &amount, currency);
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_INVENTORY_RESERVED, on_reserved},
        {EDA_EVENT_INVENTORY_RESERVATION_FAILED, on_reservation_failed},
        {EDA_EVENT_PAYMENT_PROCESSED, on_payment},
        {EDA_EVENT_PAYMENT_FAILED, on_payment},
};

eda_handler_result_t os_consumers_handle(eda_consumed_t *m, void *ctx)
{
	os_consumers_ctx_t *x = ctx;
	eda_handler_result_t r =
	        eda_event_dispatch(m, routes, sizeof(routes) / sizeof(routes[0]), x);

	/* A dead letter is sent synchronously (up to 30 s): not while the batch
	 * holds its row locks, and its outbox ids that the relay waits for. */
	if (r == EDA_HANDLER_DEAD)
		os_apply_batch_commit(x->batch);
	return r;
}

static int flush(void *ctx, char *reason, size_t reasonsz)
{
	os_consumers_ctx_t *x = ctx;

	return os_apply_batch_flush(x->batch, reason, reasonsz);
}

eda_consumer_t *os_consumers_new(rd_kafka_conf_t *conf, os_consumers_ctx_t *ctx, const char *group,
                                 const char *instance_id, const char *const *topics,
                                 eda_producer_t *dlq, eda_metrics_t *metrics, char *err,
                                 size_t errsz)
{
	eda_consumer_config_t cfg = {
	        .group = group,
	        .instance_id = instance_id,
	        .topics = topics,
	        .handler = os_consumers_handle,
	        .ctx = ctx,
	        .dlq_producer = dlq,
	        .metrics = metrics,
	        .flush = flush,
	        .batch_max_ms = BATCH_MAX_MS,
	};

	return eda_consumer_new(conf, &cfg, err, errsz);
}
