/*
 * The saga's steps and their group commit (see saga.h).
 */
#include "services/saga.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "repositories/consumed_events.h"
#include "repositories/orders.h"
#include "repositories/outbox.h"
#include "repositories/tx.h"
#include "services/payments.h"

static const char *event_for(os_status_t to)
{
	switch (to) {
	case OS_CONFIRMED:
		return EDA_EVENT_ORDER_CONFIRMED;
	case OS_REJECTED:
		return EDA_EVENT_ORDER_REJECTED;
	case OS_PAID:
		return EDA_EVENT_ORDER_PAID;
	default:
		return EDA_EVENT_ORDER_CANCELLED;
	}
}

/* What a saga step did besides its outcome, for the after-commit work. */
typedef struct step {
	bool changed; /* the order moved: hooks, log */
	os_payment_found_t pay;
} step_t;

/* The saga step of EV on C, inside the caller's transaction: FROM -> TO once,
 * with its event in the outbox. Returns OS_OK with OUTCOME and *ST (whether
 * the order moved: it needs the after-commit hooks; payments to count), or
 * OS_EUNAVAILABLE with ERR (the transaction is lost). */
static int apply_in(os_service_t *s, PGconn *c, const eda_event_t *ev, const char *order_id,
                    os_status_t from, os_status_t to, const char *reason, const int64_t *amount,
                    const char *currency, char *outcome, size_t outsz, step_t *st, char *err,
                    size_t errsz)
{
	char event_id[128];
	char *payload = NULL;
	os_order_t o, after;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&after, 0, sizeof(after));
	memset(st, 0, sizeof(*st));
	snprintf(outcome, outsz, "applied");
	rc = os_repo_consumed_insert(c, ev->source, ev->id, ev->type, order_id, "applied", err,
	                             errsz);
	if (rc <= 0) {
		if (rc == 0)
			snprintf(outcome, outsz, "duplicate");
		goto done;
	}
	/* The saga's common case (no amount to check) goes straight to the
	 * conditional update, which takes the row lock itself: one round trip
	 * to PostgreSQL fewer per event, and this consumer's round trips are
	 * what bound the saga (README, "Performance"). The order is read first
	 * only to check a payment, or after the update matched nothing, to say
	 * why. */
	if (amount != NULL) {
		rc = os_payment_step(c, ev, order_id, *amount, currency, outcome, outsz, &st->pay,
		                     err, errsz);
		if (rc > 0) /* CONFIRMED, and the row is locked by us now */
			rc = os_repo_order_set_status(c, order_id, from, to, reason, &after, err,
			                              errsz);
	} else {
		rc = os_repo_order_set_status(c, order_id, from, to, reason, &after, err, errsz);
	}
	if (rc == 0 && amount == NULL) {
		rc = os_repo_order_get(c, order_id, 1, &o, err, errsz);
		if (rc == 0)
			snprintf(outcome, outsz, "ignored: unknown order");
		else if (rc > 0 && o.status != from)
			snprintf(outcome, outsz, "ignored: order is %s", os_status_name(o.status));
		else if (rc > 0) /* in FROM, and the row is locked by us now */
			rc = os_repo_order_set_status(c, order_id, from, to, reason, &after, err,
			                              errsz);
	}
	if (rc < 0)
		goto done;
	if (strcmp(outcome, "applied") != 0) {
		rc = os_repo_consumed_set_outcome(c, ev->source, ev->id, outcome, err, errsz);
		if (rc > 0)
			eda_log(EDA_LOG_INFO, "event does not apply", "event_id", ev->id,
			        "order_id", order_id, "outcome", outcome, NULL);
		goto done;
	}
	if (rc == 0) { /* the row is locked: cannot happen unless the schema changed */
		eda_errf(err, errsz, "order left %s under its row lock", os_status_name(from));
		rc = -1;
		goto done;
	}
	payload = os_service_event(&after, event_for(to), reason, ev, NULL, event_id);
	if (payload == NULL) {
		eda_errf(err, errsz, "cannot build %s", event_for(to));
		rc = -1;
		goto done;
	}
	rc = os_repo_outbox_insert(c, order_id, s->topic_orders, event_for(to), event_id, payload,
	                           err, errsz);
	st->changed = rc > 0;
done:
	free(payload);
	os_order_clear(&o);
	os_order_clear(&after);
	return rc < 0 ? OS_EUNAVAILABLE : OS_OK;
}

static void log_changed(const char *event_id, const char *order_id, os_status_t to)
{
	eda_log(EDA_LOG_INFO, "order status changed", "order_id", order_id, "event_id", event_id,
	        "status", os_status_name(to), NULL);
}

static void log_not_applied(const eda_event_t *ev, const char *order_id, const char *err)
{
	eda_log(EDA_LOG_ERROR, "cannot apply event", "event_id", ev->id, "order_id", order_id,
	        "error", err, NULL);
}

int os_saga_apply(os_service_t *s, const eda_event_t *ev, os_status_t from, os_status_t to,
                  const char *reason, const int64_t *amount, const char *currency, char *outcome,
                  size_t outsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char err[512], detail[256];
	step_t st = {0};
	PGconn *c;
	int rc;

	if ((c = os_service_checkout(s, detail, sizeof(detail))) == NULL)
		return OS_EUNAVAILABLE;
	rc = os_repo_begin(c, err, sizeof(err)) != 0 ? OS_EUNAVAILABLE : OS_OK;
	if (rc == OS_OK)
		rc = apply_in(s, c, ev, order_id, from, to, reason, amount, currency, outcome,
		              outsz, &st, err, sizeof(err));
	if (rc == OS_OK && os_repo_commit(c, err, sizeof(err)) != 0)
		rc = OS_EUNAVAILABLE;
	if (rc != OS_OK) {
		log_not_applied(ev, order_id, err);
		os_repo_rollback(c);
	}
	os_db_checkin(s->pool, c);
	if (rc == OS_OK)
		os_payments_count(s, st.pay.refund, st.pay.mismatch);
	if (rc == OS_OK && st.changed) {
		os_service_after_commit(s, order_id);
		log_changed(ev->id, order_id, to);
	}
	return rc;
}

/* One order the batch moved, for the hooks and the log after its commit. */
struct batch_change {
	char order_id[OS_UUID_LEN + 1];
	char *event_id;
	os_status_t to;
};

struct os_apply_batch {
	os_service_t *svc;
	PGconn *conn; /* checked out, in a transaction, while events are in it */
	bool broken;  /* something of it is lost: the next flush reports failure */
	char why[512];
	struct batch_change *changes;
	size_t nchanges, cap;
	int refunds, mismatches; /* payments found so far, counted at commit */
};

os_apply_batch_t *os_apply_batch_new(os_service_t *s)
{
	os_apply_batch_t *b = eda_xcalloc(1, sizeof(*b));

	b->svc = s;
	return b;
}

static void batch_forget(os_apply_batch_t *b)
{
	for (size_t i = 0; i < b->nchanges; i++)
		free(b->changes[i].event_id);
	b->nchanges = 0;
	b->refunds = b->mismatches = 0;
}

/* Ends B's transaction: committed when COMMIT is true and nothing broke it,
 * else rolled back (and B broken). */
static void batch_end(os_apply_batch_t *b, bool commit)
{
	char err[512];

	if (b->conn == NULL)
		return;
	if (commit && !b->broken && os_repo_commit(b->conn, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "cannot commit saga events", "error", err, NULL);
		snprintf(b->why, sizeof(b->why), "%s", err);
		b->broken = true;
	}
	if (!commit && !b->broken) {
		snprintf(b->why, sizeof(b->why), "saga batch rolled back");
		b->broken = true;
	}
	if (b->broken)
		os_repo_rollback(b->conn);
	os_db_checkin(b->svc->pool, b->conn);
	b->conn = NULL;
	if (!b->broken)
		os_payments_count(b->svc, b->refunds, b->mismatches);
	if (!b->broken && b->nchanges > 0) {
		/* One wake-up of the relay for the batch; one status hook per order. */
		os_service_after_commit(b->svc, NULL);
		for (size_t i = 0; i < b->nchanges; i++) {
			struct batch_change *ch = &b->changes[i];

			os_service_status_changed(b->svc, ch->order_id);
			log_changed(ch->event_id, ch->order_id, ch->to);
		}
	}
	batch_forget(b);
}

int os_apply_batch_add(os_apply_batch_t *b, const eda_event_t *ev, os_status_t from, os_status_t to,
                       const char *reason, const int64_t *amount, const char *currency,
                       char *outcome, size_t outsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char err[512], detail[256];
	step_t st = {0};

	snprintf(outcome, outsz, "batch failed");
	if (b->broken)
		return OS_EUNAVAILABLE;
	if (b->conn == NULL) {
		if ((b->conn = os_service_checkout(b->svc, detail, sizeof(detail))) == NULL) {
			snprintf(b->why, sizeof(b->why), "%s", detail);
			b->broken = true;
			return OS_EUNAVAILABLE;
		}
		if (os_repo_begin(b->conn, err, sizeof(err)) != 0)
			goto fail;
	}
	if (apply_in(b->svc, b->conn, ev, order_id, from, to, reason, amount, currency, outcome,
	             outsz, &st, err, sizeof(err)) != OS_OK)
		goto fail;
	b->refunds += st.pay.refund;
	b->mismatches += st.pay.mismatch;
	if (st.changed) {
		struct batch_change *ch;

		if (b->nchanges == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 64;
			b->changes = eda_xrealloc(b->changes, b->cap * sizeof(*b->changes));
		}
		ch = &b->changes[b->nchanges++];
		snprintf(ch->order_id, sizeof(ch->order_id), "%s", order_id);
		ch->event_id = eda_xstrdup(ev->id);
		ch->to = to;
	}
	return OS_OK;
fail:
	log_not_applied(ev, order_id, err);
	snprintf(b->why, sizeof(b->why), "%s", err);
	b->broken = true;
	batch_end(b, false);
	return OS_EUNAVAILABLE;
}

void os_apply_batch_commit(os_apply_batch_t *b)
{
	batch_end(b, true);
}

int os_apply_batch_flush(os_apply_batch_t *b, char *why, size_t whysz)
{
	int rc;

	batch_end(b, true);
	rc = b->broken ? -1 : 0;
	if (b->broken)
		snprintf(why, whysz, "%s", b->why);
	b->broken = false;
	b->why[0] = '\0';
	return rc;
}

void os_apply_batch_free(os_apply_batch_t *b)
{
	if (b == NULL)
		return;
	batch_end(b, false);
	free(b->changes);
	free(b);
}
