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
 * restart. With a sent-id record (notifier_record_sent) the id is written to
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
#include "models/email.h"
#include "schemas/order_mail.h"
#include "services/dedupe.h"
#include "services/sent_ids.h"

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

struct notifier {
	mailer_t *mailer;
	transport_t *transport;
	dedupe_t *seen;
	dedupe_t *batch_ids; /* the ids of pending[] */
	sent_ids_t *record;  /* may be NULL */
	struct pending_mail *pending;
	size_t npending, cappending;
	eda_metric_t *sent, *failures, *duplicates, *latency;
};

notifier_t *notifier_new(mailer_t *mailer, transport_t *transport, size_t dedupe_window,
                         eda_metrics_t *reg, char *err, size_t errsz)
{
	notifier_t *n = eda_xcalloc(1, sizeof(*n));

	n->mailer = mailer;
	n->transport = transport;
	n->seen = dedupe_new(dedupe_window);
	n->batch_ids = dedupe_new(BATCH_IDS);
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
		notifier_free(n);
		return NULL;
	}
	return n;
}

void notifier_free(notifier_t *n)
{
	if (n == NULL)
		return;
	mailer_free(n->mailer);
	transport_free(n->transport);
	dedupe_free(n->seen);
	dedupe_free(n->batch_ids);
	sent_ids_close(n->record);
	for (size_t i = 0; i < n->npending; i++)
		free(n->pending[i].event_id);
	free(n->pending);
	free(n);
}

static void remember_sent(const char *id, void *ctx)
{
	dedupe_add(ctx, id);
}

int notifier_record_sent(notifier_t *n, const char *path, size_t keep, char *err, size_t errsz)
{
	n->record = sent_ids_open(path, keep, remember_sent, n->seen, err, errsz);
	if (n->record == NULL)
		return -1;
	eda_logf(EDA_LOG_INFO, "sent-id record loaded: %zu event ids", dedupe_size(n->seen));
	return 0;
}

transport_t *notifier_transport(notifier_t *n)
{
	return n->transport;
}

void notifier_count_invalid(notifier_t *n)
{
	eda_counter_add(n->failures, EDA_LABELS("invalid_event"), 1);
}

/* T: the event's time in ms since the epoch, or negative when unknown. */
static void observe_latency(notifier_t *n, int64_t t)
{
	struct timeval now;

	if (t < 0)
		return;
	gettimeofday(&now, NULL);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;

	/* Clocks of producer and consumer hosts differ; a negative age is skew. */
	eda_histogram_observe(n->latency, NULL, now_ms > t ? (double)(now_ms - t) / 1000.0 : 0);
}

notify_result_t notifier_handle(notifier_t *n, const eda_event_t *ev, char *reason, size_t reasonsz)
{
	int kind = mail_kind_of(ev->type);
	const char *to = order_mail_recipient(ev);
	json_t *values = NULL;
	char *msg = NULL, msgid[MAILER_MSGID_MAX], why[512];
	size_t len;
	notify_result_t r;
	int rc;

	if (kind < 0) {
		eda_errf(reason, reasonsz, "no e-mail for event type %s", ev->type);
		return NOTIFY_DEAD;
	}
	if (dedupe_contains(n->seen, ev->id) ||
	    (n->npending > 0 && dedupe_contains(n->batch_ids, ev->id))) {
		eda_counter_add(n->duplicates, NULL, 1);
		eda_log(EDA_LOG_INFO, "e-mail already sent for this event; skipped", "event_id",
		        ev->id, "order_id", ev->subject, NULL);
		return NOTIFY_DUPLICATE;
	}
	/* common/ checks the address loosely (no spaces, one '@'); a mail header
	 * needs a plain dot-atom mailbox, so anything else is refused here. */
	if (to == NULL || !mail_address_valid(to)) {
		eda_counter_add(n->failures, EDA_LABELS("invalid_recipient"), 1);
		eda_errf(reason, reasonsz, "data.customer.email: %s",
		         to == NULL ? "missing" : "not a deliverable local@domain address");
		return NOTIFY_DEAD;
	}
	values = order_mail_values(ev);
	if (values == NULL) {
		eda_counter_add(n->failures, EDA_LABELS("invalid_event"), 1);
		eda_errf(reason, reasonsz, "data: an amount cannot be read");
		return NOTIFY_DEAD;
	}
	msg = mailer_build(n->mailer, (mail_kind_t)kind, values, to, time(NULL), &len, msgid, why,
	                   sizeof(why));
	json_decref(values);
	if (msg == NULL) {
		eda_counter_add(n->failures, EDA_LABELS("render"), 1);
		eda_errf(reason, reasonsz, "cannot build the e-mail: %s", why);
		return NOTIFY_DEAD;
	}
	rc = n->transport->send(n->transport, mailer_from(n->mailer), to, msgid, msg, len, why,
	                        sizeof(why));
	free(msg);
	if (rc == TRANSPORT_OK && n->record != NULL) {
		/* Accepted by the relay: recorded now, durable at the flush. An
		 * id the record cannot take (disk full) counts as sent at once,
		 * at-least-once as without a record. */
		if (sent_ids_append(n->record, ev->id, why, sizeof(why)) == 0)
			rc = TRANSPORT_PENDING;
		else
			eda_log(EDA_LOG_ERROR,
			        "e-mail sent but not recorded; a crash may send it again",
			        "event_id", ev->id, "error", why, NULL);
	}
	switch (rc) {
	case TRANSPORT_OK:
		dedupe_add(n->seen, ev->id);
		eda_counter_add(n->sent,
		                EDA_LABELS(mail_kind_type((mail_kind_t)kind), n->transport->name),
		                1);
		observe_latency(n, order_mail_time_ms(ev->time));
		eda_log(EDA_LOG_DEBUG, "e-mail accepted", "event_id", ev->id, "order_id",
		        ev->subject, "message_id", msgid, "transport", n->transport->name, NULL);
		r = NOTIFY_SENT;
		break;
	case TRANSPORT_PENDING:
		if (n->npending == n->cappending) {
			n->cappending = n->cappending ? n->cappending * 2 : 64;
			n->pending = eda_xrealloc(n->pending, n->cappending * sizeof(*n->pending));
		}
		n->pending[n->npending++] = (struct pending_mail){
		        .event_id = eda_xstrdup(ev->id),
		        .type = mail_kind_type((mail_kind_t)kind),
		        .event_ms = order_mail_time_ms(ev->time),
		};
		dedupe_add(n->batch_ids, ev->id);
		eda_log(EDA_LOG_DEBUG, "e-mail written, durable at the next flush", "event_id",
		        ev->id, "order_id", ev->subject, "message_id", msgid, NULL);
		r = NOTIFY_PENDING;
		break;
	case TRANSPORT_PERMANENT:
		eda_counter_add(n->failures, EDA_LABELS("rejected"), 1);
		eda_errf(reason, reasonsz, "%s", why);
		r = NOTIFY_DEAD;
		break;
	default:
		eda_counter_add(n->failures, EDA_LABELS("transient"), 1);
		eda_errf(reason, reasonsz, "%s", why);
		r = NOTIFY_RETRY;
		break;
	}
	return r;
}

int notifier_flush(notifier_t *n, char *reason, size_t reasonsz)
{
	char why[512];
	int rc = TRANSPORT_OK;

	if (n->npending == 0)
		return 0;
	if (n->transport->flush != NULL)
		rc = n->transport->flush(n->transport, why, sizeof(why));
	/* After the transport's flush: an id is recorded only once its e-mail is
	 * durable. The e-mails are delivered even if the sync fails, so a failure
	 * here does not hand them back (which would send them all again). */
	if (rc == TRANSPORT_OK && n->record != NULL &&
	    sent_ids_sync(n->record, why, sizeof(why)) != 0)
		eda_log(EDA_LOG_ERROR,
		        "sent-id record not synced; a crash may send the batch again", "error", why,
		        NULL);
	if (rc == TRANSPORT_OK) {
		for (size_t i = 0; i < n->npending; i++) {
			dedupe_add(n->seen, n->pending[i].event_id);
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
	dedupe_clear(n->batch_ids);
	return rc == TRANSPORT_OK ? 0 : -1;
}
