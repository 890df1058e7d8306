/*
 * Saga event handlers (see consumers.h).
 */
#include "events/consumers.h"

#include <string.h>

#include "eda/event_bus.h"
#include "eda/log.h"
#include "eda/money.h"

static eda_handler_result_t result_of(int rc, eda_consumed_t *m, const char *outcome)
{
	if (rc == OS_OK)
		return EDA_HANDLER_DONE;
	snprintf(m->reason, sizeof(m->reason), "%s", outcome[0] ? outcome : os_strerror(rc));
	return EDA_HANDLER_RETRY;
}

static eda_handler_result_t on_reserved(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	char outcome[128] = "";
	int rc = os_service_apply(ctx, ev, OS_PENDING, OS_CONFIRMED, NULL, NULL, NULL, outcome,
	                          sizeof(outcome));

	return result_of(rc, m, outcome);
}

static eda_handler_result_t on_reservation_failed(const eda_event_t *ev, eda_consumed_t *m,
                                                  void *ctx)
{
	const char *reason = json_string_value(json_object_get(ev->data, "reason"));
	char outcome[128] = "";
	int rc = os_service_apply(ctx, ev, OS_PENDING, OS_REJECTED, reason, NULL, NULL, outcome,
	                          sizeof(outcome));

	return result_of(rc, m, outcome);
}

static eda_handler_result_t on_payment(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	const char *currency = json_string_value(json_object_get(ev->data, "currency"));
	char outcome[128] = "";
	int64_t amount;
	int rc;

	/* The contract check already passed; a failure here would be a bug there. */
	if (eda_money_parse_canonical(json_string_value(json_object_get(ev->data, "amount")),
	                              &amount) != 0) {
		snprintf(m->reason, sizeof(m->reason), "data.amount: not canonical money");
		return EDA_HANDLER_DEAD;
	}
	rc = os_service_apply(ctx, ev, OS_CONFIRMED, OS_PAID, NULL, &amount, currency, outcome,
	                      sizeof(outcome));
	return result_of(rc, m, outcome);
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_INVENTORY_RESERVED, on_reserved},
        {EDA_EVENT_INVENTORY_RESERVATION_FAILED, on_reservation_failed},
        {EDA_EVENT_PAYMENT_PROCESSED, on_payment},
};

eda_handler_result_t os_consumers_handle(eda_consumed_t *m, void *ctx)
{
	return eda_event_dispatch(m, routes, sizeof(routes) / sizeof(routes[0]), ctx);
}

eda_consumer_t *os_consumers_new(rd_kafka_conf_t *conf, os_service_t *svc, const char *group,
                                 const char *const *topics, eda_producer_t *dlq,
                                 eda_metrics_t *metrics, char *err, size_t errsz)
{
	eda_consumer_config_t cfg = {
	        .group = group,
	        .topics = topics,
	        .handler = os_consumers_handle,
	        .ctx = svc,
	        .dlq_producer = dlq,
	        .metrics = metrics,
	};

	return eda_consumer_new(conf, &cfg, err, errsz);
}
