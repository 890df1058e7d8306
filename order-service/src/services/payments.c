/*
 * Payments from outside (see payments.h).
 */
#include "services/payments.h"

#include <stdio.h>
#include <string.h>

#include "eda/log.h"
#include "eda/money.h"
#include "repositories/orders.h"
#include "repositories/payments.h"

void os_payments_count(os_service_t *s, int refunds, int mismatches)
{
	if (refunds > 0 && s->refunds != NULL)
		eda_counter_add(s->refunds, NULL, refunds);
	if (mismatches > 0 && s->mismatches != NULL)
		eda_counter_add(s->mismatches, NULL, mismatches);
}

/* What payment EV (AMOUNT, CURRENCY) means for order O (FOUND: whether it
 * exists): OUTCOME, and whether it may move the order. */
static bool judge_payment(const eda_event_t *ev, int found, const os_order_t *o, int64_t amount,
                          const char *currency, char *outcome, size_t outsz, os_payment_found_t *st)
{
	if (strcmp(ev->type, EDA_EVENT_PAYMENT_FAILED) == 0) {
		snprintf(outcome, outsz, "recorded: payment failed");
		return false;
	}
	if (!found) {
		snprintf(outcome, outsz, "ignored: unknown order");
		return false;
	}
	if (o->status == OS_CANCELLED || o->status == OS_REJECTED) {
		snprintf(outcome, outsz, "needs refund: order is %s", os_status_name(o->status));
		st->refund = true;
		return false;
	}
	if (strcmp(currency, o->currency) != 0) {
		snprintf(outcome, outsz, "mismatch: currency %s is not the order's %s", currency,
		         o->currency);
		st->mismatch = true;
		return false;
	}
	if (amount != o->total) {
		char paid[EDA_MONEY_STRLEN], total[EDA_MONEY_STRLEN];

		eda_money_format(amount, paid);
		eda_money_format(o->total, total);
		snprintf(outcome, outsz, "mismatch: amount %s is not the order total %s", paid,
		         total);
		st->mismatch = true;
		return false;
	}
	if (o->status != OS_CONFIRMED) {
		snprintf(outcome, outsz, "ignored: order is %s", os_status_name(o->status));
		return false;
	}
	return true;
}

int os_payment_step(PGconn *c, const eda_event_t *ev, const char *order_id, int64_t amount,
                    const char *currency, char *outcome, size_t outsz, os_payment_found_t *st,
                    char *err, size_t errsz)
{
	const char *payment_id = json_string_value(json_object_get(ev->data, "payment_id"));
	const char *kind = strcmp(ev->type, EDA_EVENT_PAYMENT_FAILED) == 0 ? "failed" : "processed";
	os_order_t o;
	bool applies;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = os_repo_order_get(c, order_id, 1, &o, err, errsz)) < 0)
		goto done;
	applies = judge_payment(ev, rc, &o, amount, currency, outcome, outsz, st);
	rc = os_repo_payment_insert(c, order_id, payment_id, kind, amount, currency, outcome, err,
	                            errsz);
	if (rc == 0) {
		/* The provider sent this payment before under another event id. */
		snprintf(outcome, outsz, "duplicate: payment %s already recorded", kind);
		st->refund = st->mismatch = false;
		goto done;
	}
	if (rc < 0)
		goto done;
	if (st->refund)
		eda_log(EDA_LOG_WARN, "payment needs a refund", "order_id", order_id, "payment_id",
		        payment_id, "outcome", outcome, NULL);
	else if (st->mismatch || strcmp(kind, "failed") == 0)
		eda_log(EDA_LOG_WARN,
		        st->mismatch ? "payment does not match the order" : "payment failed",
		        "order_id", order_id, "payment_id", payment_id, "outcome", outcome, NULL);
	rc = applies ? 1 : 0;
done:
	os_order_clear(&o);
	return rc;
}
