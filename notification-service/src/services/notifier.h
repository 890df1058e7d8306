/*
 * The business logic of the service: one order event in, at most one e-mail
 * out. It decides the recipient, renders the e-mail, hands it to the
 * transport, remembers the event id in the dedupe window once the transport
 * accepted it (and, with a sent-id record, in the record, so that a restart
 * does not send it again), and counts what happened. It knows nothing about
 * Kafka: the
 * consumer (events/consumers.c) turns its verdict into DONE, RETRY or DEAD.
 */
#ifndef NOTIF_SERVICES_NOTIFIER_H
#define NOTIF_SERVICES_NOTIFIER_H

#include <stddef.h>

#include "eda/event.h"
#include "eda/metrics.h"
#include "services/mailer.h"
#include "services/transport.h"

typedef enum {
	NOTIF_NOTIFY_SENT = 0,  /* the transport accepted the e-mail */
	NOTIF_NOTIFY_PENDING,   /* written or sent; done once notif_notifier_flush() returns 0 */
	NOTIF_NOTIFY_DUPLICATE, /* already sent (window, record) or pending: nothing done */
	NOTIF_NOTIFY_RETRY,     /* transient failure: hand the event back later */
	NOTIF_NOTIFY_DEAD,      /* can never be sent: to the DLQ with the reason */
} notif_notify_result_t;

typedef struct notif_notifier notif_notifier_t;

/* Takes ownership of MAILER and TRANSPORT (also on failure). Registers
 * notifications_sent_total{type,transport}, notification_failures_total{reason},
 * notifications_duplicate_total and notification_latency_seconds in REG
 * (borrowed, must outlive the notifier). Returns NULL with ERR. */
notif_notifier_t *notif_notifier_new(notif_mailer_t *mailer, notif_transport_t *transport,
                                     size_t dedupe_window, eda_metrics_t *reg, char *err,
                                     size_t errsz);
void notif_notifier_free(notif_notifier_t *n);

/* Keeps a durable record of sent event ids at PATH (repositories/sent_ids.h;
 * KEEP ids retained) and remembers the ids already in it as sent. From then on
 * an e-mail the transport accepted at once (SMTP) is answered PENDING: its id
 * is appended to the record, and notif_notifier_flush() makes the batch's ids
 * durable before the consumer stores their offsets. Call once, before any
 * event. Returns 0, or -1 with ERR (the record cannot be opened or is locked). */
int notif_notifier_record_sent(notif_notifier_t *n, const char *path, size_t keep, char *err,
                               size_t errsz);

/* Handles EV, a valid order event (checked by eda_event_validate_data). On
 * RETRY and DEAD, REASON says why (no e-mail addresses in it). */
notif_notify_result_t notif_notifier_handle(notif_notifier_t *n, const eda_event_t *ev,
                                            char *reason, size_t reasonsz);

/* Makes the e-mails answered PENDING since the last call durable through the
 * transport's flush, then syncs the sent-id record. Only then are their event
 * ids remembered in the dedupe window and counted as sent. Returns 0; or -1
 * with REASON when the transport's flush failed, and then none of them counts
 * as sent: their events must be handled again. A failed sync of the record
 * still returns 0 (the relay has the e-mails; only a later crash may send
 * them again) and is logged. */
int notif_notifier_flush(notif_notifier_t *n, char *reason, size_t reasonsz);

/* Counts an event that failed before reaching the notifier (bad envelope or
 * data) as notification_failures_total{reason="invalid_event"}. */
void notif_notifier_count_invalid(notif_notifier_t *n);

/* The transport, for readiness checks. */
notif_transport_t *notif_notifier_transport(notif_notifier_t *n);

#endif
