/*
 * Publishing events and dispatching consumed ones; see eda/event_bus.h.
 * Parsing happens once here so that a daemon's handlers only ever see events
 * that passed the envelope and data checks.
 */
#include "eda/event_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"

const eda_kafka_header_t eda_event_headers[] = {
        {"content-type", EDA_EVENT_CONTENT_TYPE, sizeof(EDA_EVENT_CONTENT_TYPE) - 1},
};
const size_t eda_event_nheaders = sizeof(eda_event_headers) / sizeof(eda_event_headers[0]);

eda_metric_t *eda_event_published_metric(eda_metrics_t *reg, char *err, size_t errsz)
{
	return eda_metrics_counter(reg, "events_published_total",
	                           "Events the broker acknowledged, by topic and type.",
	                           "topic,type", err, errsz);
}

int eda_event_publish_sync(eda_producer_t *p, const char *topic, const eda_event_t *ev,
                           eda_metric_t *published, int timeout_ms, char *err, size_t errsz)
{
	size_t len;
	char *value = eda_event_serialize(ev, &len);
	int rc;

	if (value == NULL) {
		snprintf(err, errsz, "event %s cannot be serialized", ev->type ? ev->type : "?");
		return EDA_PRODUCER_INVALID;
	}
	rc = eda_producer_send_sync(p, topic, ev->subject, ev->subject ? strlen(ev->subject) : 0,
	                            value, len, eda_event_headers, eda_event_nheaders, timeout_ms,
	                            err, errsz);
	free(value);
	if (rc == EDA_PRODUCER_OK && published != NULL)
		eda_counter_add(published, EDA_LABELS(topic, ev->type), 1);
	return rc;
}

eda_handler_result_t eda_event_dispatch(eda_consumed_t *m, const eda_event_route_t *routes,
                                        size_t nroutes, void *ctx)
{
	eda_event_t *ev = NULL;
	char why[256];
	int rc;
	eda_handler_result_t r = EDA_HANDLER_DONE;

	rc = eda_event_parse(m->value, m->len, &ev, why, sizeof(why));
	if (rc != EDA_EVENT_OK) {
		snprintf(m->reason, sizeof(m->reason), "%.40s: %.200s", eda_event_strerror(rc),
		         why);
		m->type = "invalid";
		return EDA_HANDLER_DEAD;
	}
	for (size_t i = 0; i < nroutes; i++) {
		if (strcmp(routes[i].type, ev->type) != 0)
			continue;
		m->type = routes[i].type; /* static: outlives the call, unlike ev->type */
		rc = eda_event_validate_data(ev, why, sizeof(why));
		if (rc != EDA_EVENT_OK) {
			snprintf(m->reason, sizeof(m->reason), "%.40s: %.200s",
			         eda_event_strerror(rc), why);
			r = EDA_HANDLER_DEAD;
		} else {
			r = routes[i].fn(ev, m, ctx);
		}
		eda_event_free(ev);
		return r;
	}
	/* Not ours to handle: a type another service reacts to, or one added later. */
	m->type = "ignored";
	eda_event_free(ev);
	return EDA_HANDLER_DONE;
}
