/*
 * Events on Kafka: publishing an eda_event_t and dispatching consumed messages
 * to per-type handlers. This is the glue between eda/event.h, eda/producer.h
 * and eda/consumer.h that every daemon would otherwise write again.
 */
#ifndef EDA_EVENT_BUS_H
#define EDA_EVENT_BUS_H

#include <stddef.h>

#include "eda/consumer.h"
#include "eda/event.h"
#include "eda/metrics.h"
#include "eda/producer.h"

/* Registers events_published_total{topic,type} in REG (or returns the existing
 * family); NULL with ERR on a conflicting registration. */
eda_metric_t *eda_event_published_metric(eda_metrics_t *reg, char *err, size_t errsz);

/* Serializes EV and sends it to TOPIC with key = EV's subject and the header
 * content-type: application/cloudevents+json, waiting up to TIMEOUT_MS for the
 * broker's acknowledgement. Counts it in PUBLISHED (may be NULL) once
 * acknowledged. Returns an EDA_PRODUCER_* code (0 when durable in Kafka). */
int eda_event_publish_sync(eda_producer_t *p, const char *topic, const eda_event_t *ev,
                           eda_metric_t *published, int timeout_ms, char *err, size_t errsz);

/* The Kafka headers an event message carries (content-type). */
extern const eda_kafka_header_t eda_event_headers[];
extern const size_t eda_event_nheaders;

/* A handler of one event type. EV is valid (envelope and data checked) and
 * owned by the dispatcher; M is the message, for its reason and type fields. */
typedef eda_handler_result_t (*eda_event_handler_fn)(const eda_event_t *ev, eda_consumed_t *m,
                                                     void *ctx);

typedef struct eda_event_route {
	const char *type;
	eda_event_handler_fn fn;
} eda_event_route_t;

/*
 * Consumer handler body: parses M's value as an envelope and validates its data,
 * then calls the route for its type.
 *   - not an envelope, or data that breaks its contract: DEAD, with the reason
 *     (so it lands in the DLQ with that reason as dlq.error);
 *   - a type with no route (ours or unknown): DONE, ignored (forward
 *     compatibility), counted with type "ignored";
 *   - otherwise whatever the route returns.
 */
eda_handler_result_t eda_event_dispatch(eda_consumed_t *m, const eda_event_route_t *routes,
                                        size_t nroutes, void *ctx);

#endif
