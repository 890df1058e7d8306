/*
 * One order event -> one e-mail; see notifier.h. The order of the steps is
 * what makes delivery at-least-once without doubles in one process life: the
 * dedupe window is consulted first and updated only after the transport
 * accepted the message, and the caller stores the offset only after that.
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

/* Event time to accepted: from milliseconds (spool) to minutes (relay down). */
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,      2.5,   5,    10,    30,   60,  300};

struct notifier {
	mailer_t *mailer;
	transport_t *transport;
	dedupe_t *seen;
	eda_metric_t *sent, *failures, *duplicates, *latency;
};

notifier_t *notifier_new(mailer_t *mailer, transport_t *transport, size_t dedupe_window,
                         eda_metrics_t *reg, char *err, size_t errsz)
{
	notifier_t *n = eda_xcalloc(1, sizeof(*n));

	n->mailer = mailer;
	n->transport = transport;
	n->seen = dedupe_new(dedupe_window);
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
	free(n);
}

transport_t *notifier_transport(notifier_t *n)
{
	return n->transport;
}

void notifier_count_invalid(notifier_t *n)
{
	eda_counter_add(n->failures, EDA_LABELS("invalid_event"), 1);
}

static void observe_latency(notifier_t *n, const eda_event_t *ev)
{
	int64_t t = order_mail_time_ms(ev->time);
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
	if (dedupe_contains(n->seen, ev->id)) {
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
	switch (rc) {
	case TRANSPORT_OK:
		dedupe_add(n->seen, ev->id);
		eda_counter_add(n->sent,
		                EDA_LABELS(mail_kind_type((mail_kind_t)kind), n->transport->name),
		                1);
		observe_latency(n, ev);
		eda_log(EDA_LOG_DEBUG, "e-mail accepted", "event_id", ev->id, "order_id",
		        ev->subject, "message_id", msgid, "transport", n->transport->name, NULL);
		r = NOTIFY_SENT;
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
