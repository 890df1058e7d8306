/*
 * One order event -> one e-mail; see notifier.h. The order of the steps is
 * what makes delivery at-least-once without doubles in one process life: the
 * dedupe window is consulted first and updated only after the transport
 * accepted the message, and the caller stores the offset only after that.
 * With a batching transport (the spool with fsync) "accepted" means flushed:
 * until then the event ids wait in a list of their own, which also catches
 * an event id twice in one batch, and a failed flush forgets them.
 *
 * The SMTP relay accepts an e-mail at once, but its event's offset is
 * committed later, so a crash in between would send it again after the
 * restart. With a sent-id record (notif_notifier_record_sent) the id is written to
 * the record right after the relay's 250 and the event answered PENDING like
 * a spool file; the flush syncs the record before the offsets are stored,
 * and the ids in the record count as sent after a restart. What a kill can
 * still resend is the e-mail in hand (accepted, not yet recorded); a crash of
 * the machine, the batch whose record was not synced yet.
 */
#include "services/notifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "eda/validate.h"
#include "repositories/sent_ids.h"
#include "schemas/order_mail.h"
#include "services/dedupe.h"

/* Event time to accepted: from milliseconds (spool) to minutes (relay down). */
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,      2.5,   5,    10,    30,   60,  300};

/* The batch's dedupe is only a shortcut: past this many ids a duplicate in
 * one batch is written twice under one name, which the spool allows. */
#define BATCH_IDS 1024

/* An e-mail the transport answered PENDING for. */
struct pending_mail {
	char *event_id;
	const char *type; /* static */
	int64_t event_ms; /* -1: unknown */
};

struct notif_notifier {
	notif_mailer_t *mailer;
	notif_transport_t *transport;
	notif_dedupe_t *seen;
	notif_dedupe_t *batch_ids; /* the ids of pending[] */
	notif_sent_ids_t *record;  /* may be NULL */
	struct pending_mail *pending;
	size_t npending, cappending;
	eda_metric_t *sent, *failures, *duplicates, *latency;
};

notif_notifier_t *notif_notifier_new(notif_mailer_t *mailer, notif_transport_t *transport,
                                     size_t dedupe_window, eda_metrics_t *reg, char *err,
                                     size_t errsz)
{
	notif_notifier_t *n = eda_xcalloc(1, sizeof(*n));

	n->mailer = mailer;
	n->transport = transport;
	n->seen = notif_dedupe_new(dedupe_window);
	n->batch_ids = notif_dedupe_new(BATCH_IDS);
	n->sent = eda_metrics_counter(reg, "notifications_sent_total",
	                              "E-mails accepted by the transport, by event type.",
	                              "type,transport", err, errsz);
	n->failures = eda_metrics_counter(reg, "notification_failures_total",
	                                  "Events that did not give an e-mail (yet), by reason.",
	                                  "reason", err, errsz);
	n->duplicates = eda_metrics_counter(reg, "notifications_duplicate_total",
	                                    "Events skipped because their e-mail was already sent.",
	                                    NULL, err, errsz);
	n->latency = eda_metrics_histogram(
	        reg, "notification_latency_seconds",
	        "From the event's time to the transport accepting its e-mail.", NULL,
	        latency_buckets, sizeof(latency_buckets) / sizeof(latency_buckets[0]), err, errsz);
	if (n->sent == NULL || n->failures == NULL || n->duplicates == NULL || n->latency == NULL) {
		notif_notifier_free(n);
		return NULL;
	}
	return n;
}

void notif_notifier_free(notif_notifier_t *n)
{
	if (n == NULL)
		return;
	notif_mailer_free(n->mailer);
	notif_transport_free(n->transport);
	notif_dedupe_free(n->seen);
	notif_dedupe_free(n->batch_ids);
	notif_sent_ids_close(n->record);
	for (size_t i = 0; i < n->npending; i++)
		free(n->pending[i].event_id);
	free(n->pending);
	free(n);
}

static void remember_sent(const char *id, void *ctx)
{
	notif_dedupe_add(ctx, id);
}

int notif_notifier_record_sent(notif_notifier_t *n, const char *path, size_t keep, char *err,
                               size_t errsz)
{
	n->record = notif_sent_ids_open(path, keep, remember_sent, n->seen, err, errsz);
	if (n->record == NULL)
		return -1;
	eda_logf(EDA_LOG_INFO, "sent-id record loaded: %zu event ids", notif_dedupe_size(n->seen));
	return 0;
}

notif_transport_t *notif_notifier_transport(notif_notifier_t *n)
{
	return n->transport;
}

void notif_notifier_count_invalid(notif_notifier_t *n)
{
	eda_counter_add(n->failures, EDA_LABELS("invalid_event"), 1);
}

/* T: the event's time in ms since the epoch, or negative when unknown. */
static void observe_latency(notif_notifier_t *n, int64_t t)
{
	struct timeval now;

	if (t < 0)
		return;
	gettimeofday(&now, NULL);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;

	/* Clocks of producer and consumer hosts differ; a negative age is skew. */
	eda_histogram_observe(n->latency, NULL, now_ms > t ? (double)(now_ms - t) / 1000.0 : 0);
}

/* The e-mail for EV (kind KIND, recipient TO): checks the recipient, renders
 * the message. Returns a new message (*LEN its length, MSGID filled), or NULL
 * with REASON when the event can never give an e-mail (counted). */
static char *build_mail(notif_notifier_t *n, const eda_event_t *ev, notif_mail_kind_t kind,
                        const char *to, size_t *len, char msgid[static NOTIF_MAILER_MSGID_MAX],
                        char *reason, size_t reasonsz)
{
	json_t *values;
	char *msg, why[512];

	/* The event contract has the same rule (eda_email_valid), so this refuses
	 * only events that broke the contract; kept because the header depends on it. */
	if (to == NULL || !eda_email_valid(to)) {
		eda_counter_add(n->failures, EDA_LABELS("invalid_recipient"), 1);
		eda_errf(reason, reasonsz, "data.customer.email: %s",
		         to == NULL ? "missing" : "not a deliverable local@domain address");
		return NULL;
	}
	values = notif_order_mail_values(ev);
	if (values == NULL) {
		eda_counter_add(n->failures, EDA_LABELS("invalid_event"), 1);
		eda_errf(reason, reasonsz, "data: an amount cannot be read");
		return NULL;
	}
	msg = notif_mailer_build(n->mailer, kind, values, to, time(NULL), len, msgid, why,
	                         sizeof(why));
	json_decref(values);
	if (msg == NULL) {
		eda_counter_add(n->failures, EDA_LABELS("render"), 1);
		eda_errf(reason, reasonsz, "cannot build the e-mail: %s", why);
	}
	return msg;
}

/* Hands MSG to the transport; with a sent-id record, an e-mail the relay
 * accepted is recorded and answered PENDING. Returns NOTIF_TRANSPORT_*, WHY
 * filled unless OK. */
static int send_mail(notif_notifier_t *n, const eda_event_t *ev, const char *to, const char *msgid,
                     const char *msg, size_t len, char *why, size_t whysz)
{
	int rc = n->transport->send(n->transport, notif_mailer_from(n->mailer), to, msgid, msg, len,
	                            why, whysz);

	if (rc == NOTIF_TRANSPORT_OK && n->record != NULL) {
		/* Accepted by the relay: recorded now, durable at the flush. An
		 * id the record cannot take (disk full) counts as sent at once,
		 * at-least-once as without a record. */
		if (notif_sent_ids_append(n->record, ev->id, why, whysz) == 0)
			rc = NOTIF_TRANSPORT_PENDING;
		else
			eda_log(EDA_LOG_ERROR,
			        "e-mail sent but not recorded; a crash may send it again",
			        "event_id", ev->id, "error", why, NULL);
	}
	return rc;
}

/* Turns the transport's answer RC for EV's e-mail into the verdict, and
 * remembers or counts it. */
static notif_notify_result_t settle(notif_notifier_t *n, const eda_event_t *ev,
                                    notif_mail_kind_t kind, const char *msgid, int rc,
                                    const char *why, char *reason, size_t reasonsz)
{
	switch (rc) {
	case NOTIF_TRANSPORT_OK:
		notif_dedupe_add(n->seen, ev->id);
		eda_counter_add(n->sent, EDA_LABELS(notif_mail_kind_type(kind), n->transport->name),
		                1);
		observe_latency(n, notif_order_mail_time_ms(ev->time));
		eda_log(EDA_LOG_DEBUG, "e-mail accepted", "event_id", ev->id, "order_id",
		        ev->subject, "message_id", msgid, "transport", n->transport->name, NULL);
		return NOTIF_NOTIFY_SENT;
	case NOTIF_TRANSPORT_PENDING:
		if (n->npending == n->cappending) {
			n->cappending = n->cappending ? n->cappending * 2 : 64;
			n->pending = eda_xrealloc(n->pending, n->cappending * sizeof(*n->pending));
		}
		n->pending[n->npending++] = (struct pending_mail){
		        .event_id = eda_xstrdup(ev->id),
		        .type = notif_mail_kind_type(kind),
		        .event_ms = notif_order_mail_time_ms(ev->time),
		};
		notif_dedupe_add(n->batch_ids, ev->id);
		eda_log(EDA_LOG_DEBUG, "e-mail written, durable at the next flush", "event_id",
		        ev->id, "order_id", ev->subject, "message_id", msgid, NULL);
		return NOTIF_NOTIFY_PENDING;
	case NOTIF_TRANSPORT_PERMANENT:
		eda_counter_add(n->failures, EDA_LABELS("rejected"), 1);
		eda_errf(reason, reasonsz, "%s", why);
		return NOTIF_NOTIFY_DEAD;
	default:
		eda_counter_add(n->failures, EDA_LABELS("transient"), 1);
		eda_errf(reason, reasonsz, "%s", why);
		return NOTIF_NOTIFY_RETRY;
	}
}

notif_notify_result_t notif_notifier_handle(notif_notifier_t *n, const eda_event_t *ev,
                                            char *reason, size_t reasonsz)
{
	int kind = notif_mail_kind_of(ev->type);
	const char *to = notif_order_mail_recipient(ev);
	char *msg, msgid[NOTIF_MAILER_MSGID_MAX], why[512];
	size_t len;
	int rc;

	if (kind < 0) {
		eda_errf(reason, reasonsz, "no e-mail for event type %s", ev->type);
		return NOTIF_NOTIFY_DEAD;
	}
	if (notif_dedupe_contains(n->seen, ev->id) ||
	    (n->npending > 0 && notif_dedupe_contains(n->batch_ids, ev->id))) {
		eda_counter_add(n->duplicates, NULL, 1);
		eda_log(EDA_LOG_INFO, "e-mail already sent for this event; skipped", "event_id",
		        ev->id, "order_id", ev->subject, NULL);
		return NOTIF_NOTIFY_DUPLICATE;
	}
	msg = build_mail(n, ev, (notif_mail_kind_t)kind, to, &len, msgid, reason, reasonsz);
	if (msg == NULL)
		return NOTIF_NOTIFY_DEAD;
	rc = send_mail(n, ev, to, msgid, msg, len, why, sizeof(why));
	free(msg);
	return settle(n, ev, (notif_mail_kind_t)kind, msgid, rc, why, reason, reasonsz);
}

int notif_notifier_flush(notif_notifier_t *n, char *reason, size_t reasonsz)
{
	char why[512];
	int rc = NOTIF_TRANSPORT_OK;

	if (n->npending == 0)
		return 0;
	if (n->transport->flush != NULL)
		rc = n->transport->flush(n->transport, why, sizeof(why));
	/* After the transport's flush: an id is recorded only once its e-mail is
	 * durable. The e-mails are delivered even if the sync fails, so a failure
	 * here does not hand them back (which would send them all again). */
	if (rc == NOTIF_TRANSPORT_OK && n->record != NULL &&
	    notif_sent_ids_sync(n->record, why, sizeof(why)) != 0)
		eda_log(EDA_LOG_ERROR,
		        "sent-id record not synced; a crash may send the batch again", "error", why,
		        NULL);
	if (rc == NOTIF_TRANSPORT_OK) {
		for (size_t i = 0; i < n->npending; i++) {
			notif_dedupe_add(n->seen, n->pending[i].event_id);
			eda_counter_add(n->sent, EDA_LABELS(n->pending[i].type, n->transport->name),
			                1);
			observe_latency(n, n->pending[i].event_ms);
		}
	} else {
		eda_counter_add(n->failures, EDA_LABELS("transient"), (double)n->npending);
		eda_errf(reason, reasonsz, "%s", why);
	}
	for (size_t i = 0; i < n->npending; i++)
		free(n->pending[i].event_id);
	n->npending = 0;
	notif_dedupe_clear(n->batch_ids);
	return rc == NOTIF_TRANSPORT_OK ? 0 : -1;
}
