/*
 * ProductChanged -> catalogue replica (see catalogue.h).
 */
#include "events/catalogue.h"

#include <stdio.h>

#include "eda/event_bus.h"
#include "eda/money.h"
#include "services/catalogue.h"

static eda_handler_result_t on_product_changed(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	const json_t *d = ev->data;
	int64_t price;
	int rc;

	/* The contract check already passed; a failure here would be a bug there. */
	if (eda_money_parse_canonical(json_string_value(json_object_get(d, "price")), &price) !=
	    0) {
		snprintf(m->reason, sizeof(m->reason), "data.price: not canonical money");
		return EDA_HANDLER_DEAD;
	}
	rc = os_catalogue_put(ctx, json_string_value(json_object_get(d, "sku")),
	                      json_string_value(json_object_get(d, "name")), price,
	                      json_string_value(json_object_get(d, "currency")),
	                      (long long)json_integer_value(json_object_get(d, "version")));
	if (rc < 0) {
		snprintf(m->reason, sizeof(m->reason), "%s", os_strerror(rc));
		return EDA_HANDLER_RETRY;
	}
	return EDA_HANDLER_DONE;
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_PRODUCT_CHANGED, on_product_changed},
};

eda_handler_result_t os_catalogue_handle(eda_consumed_t *m, void *ctx)
{
	return eda_event_dispatch(m, routes, sizeof(routes) / sizeof(routes[0]), ctx);
}

eda_consumer_t *os_catalogue_consumer_new(rd_kafka_conf_t *conf, os_service_t *svc,
                                          const char *group, const char *instance_id,
                                          const char *topic, eda_producer_t *dlq,
                                          eda_metrics_t *metrics, char *err, size_t errsz)
{
	const char *topics[] = {topic, NULL};
	eda_consumer_config_t cfg = {
	        .group = group,
	        .instance_id = instance_id,
	        .topics = topics,
	        .handler = os_catalogue_handle,
	        .ctx = svc,
	        .dlq_producer = dlq,
	        .metrics = metrics,
	        /* A replica of a compacted topic: the whole topic at every
	         * assignment, whatever the group committed. */
	        .from_beginning = true,
	};

	return eda_consumer_new(conf, &cfg, err, errsz);
}
