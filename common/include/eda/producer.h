/*
 * The process's one Kafka producer: idempotent (enable.idempotence=true,
 * acks=all), long-lived, with a thread of its own serving delivery reports.
 *
 * Two ways to send:
 *  - eda_producer_send(): asynchronous; the delivery report for each message is
 *    handed to the callback given at creation, with the message's OPAQUE, from
 *    the producer's thread. The outbox relay uses this.
 *  - eda_producer_send_sync(): waits for the broker's acknowledgement (or a
 *    failure) of this one message. The consumer's DLQ forwarding and handlers
 *    that must know their result event is durable use this.
 *
 * A fatal error (the idempotent producer's guarantees can no longer hold) is
 * surfaced by eda_producer_fatal(); every later send fails with EDA_PRODUCER_FATAL
 * and the process should exit (and be restarted) rather than go on.
 */
#ifndef EDA_PRODUCER_H
#define EDA_PRODUCER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "eda/kafka.h"
#include "eda/metrics.h"

typedef struct eda_producer eda_producer_t;

enum {
	EDA_PRODUCER_OK = 0,
	EDA_PRODUCER_ERR = -1,        /* the broker refused or the message timed out */
	EDA_PRODUCER_QUEUE_FULL = -2, /* local queue full: poll and try again */
	EDA_PRODUCER_FATAL = -3,      /* the producer is unusable; exit and restart */
	EDA_PRODUCER_INVALID = -4,    /* bad arguments (topic, sizes) */
	EDA_PRODUCER_TIMEOUT = -5,    /* no delivery report in time (may still be delivered) */
};

/* Delivery report: ERR is EDA_PRODUCER_OK or a negative code, WHY a message
 * (never NULL), OPAQUE the pointer given to eda_producer_send. Runs on the
 * producer's thread: keep it short and do not call eda_producer_free from it. */
typedef void (*eda_delivery_fn)(void *opaque, int err, const char *why, void *ctx);

/* Takes ownership of CONF (also on failure); sets the properties the guarantees
 * need over whatever CONF holds. ON_DELIVERY may be NULL when only
 * eda_producer_send_sync is used. METRICS may be NULL. */
eda_producer_t *eda_producer_new(rd_kafka_conf_t *conf, eda_delivery_fn on_delivery, void *ctx,
                                 eda_metrics_t *metrics, char *err, size_t errsz);

/* Queues one message; KEY may be NULL. The bytes are copied. HEADERS may be NULL. */
int eda_producer_send(eda_producer_t *p, const char *topic, const void *key, size_t key_len,
                      const void *value, size_t len, const eda_kafka_header_t *headers,
                      size_t nheaders, void *opaque, char *err, size_t errsz);

/* Sends and waits up to TIMEOUT_MS for the broker's acknowledgement. */
int eda_producer_send_sync(eda_producer_t *p, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t len, const eda_kafka_header_t *headers,
                           size_t nheaders, int timeout_ms, char *err, size_t errsz);

/* Waits up to TIMEOUT_MS for every queued message to be reported. Returns 0, or
 * EDA_PRODUCER_TIMEOUT with messages still in flight. */
int eda_producer_flush(eda_producer_t *p, int timeout_ms);

/* true once librdkafka raised a fatal error; WHY (may be NULL) gets its text. */
bool eda_producer_fatal(eda_producer_t *p, char *why, size_t whysz);

/* Flushes for up to TIMEOUT_MS, then destroys the producer; messages still not
 * delivered get their delivery report with an error before this returns. */
void eda_producer_free(eda_producer_t *p, int timeout_ms);

#endif
