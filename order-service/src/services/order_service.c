/*
 * Business logic of the order service (see order_service.h). Each operation
 * is one short unit of work on a pooled connection: checked out, used,
 * checked in, so no connection is held across anything slow.
 */
#include "services/order_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "eda/money.h"
#include "repositories/catalogue.h"
#include "repositories/consumed_events.h"
#include "repositories/idempotency.h"
#include "repositories/orders.h"
#include "repositories/outbox.h"
#include "schemas/order.h"
#include "services/payments.h"
#include "services/price_cache.h"
#include "services/pricing.h"
#include "utils/pg.h"

const char *os_strerror(int code)
{
	switch (code) {
	case OS_OK:
		return "ok";
	case OS_EINVALID:
		return "invalid request";
	case OS_ENOTFOUND:
		return "order not found";
	case OS_ECONFLICT:
		return "status does not allow it";
	case OS_EIDEMPOTENCY:
		return "idempotency key reused with another request";
	case OS_EUNAVAILABLE:
		return "database unavailable";
	case OS_EPRICE:
		return "a quoted price is not the catalogue's";
	default:
		return "internal error";
	}
}

/* Tells the long-poll waiters, here and in other replicas, that ORDER_ID's
 * status changed. */
static void announce_status(os_service_t *s, const char *order_id)
{
	if (s->status_changed != NULL)
		s->status_changed(order_id, s->status_ctx);
	os_notifier_status(s->notifier, order_id);
}

static void after_commit(os_service_t *s, const char *status_order_id)
{
	if (s->wake_relay != NULL)
		s->wake_relay(s->relay_ctx);
	if (s->relay_leads == NULL || !s->relay_leads(s->relay_ctx))
		os_notifier_outbox(s->notifier);
	if (status_order_id != NULL)
		announce_status(s, status_order_id);
}

static PGconn *checkout(os_service_t *s, char *detail, size_t detailsz)
{
	char err[256];
	PGconn *c = os_db_checkout(s->pool, s->db_wait_ms, err, sizeof(err));

	if (c == NULL) {
		eda_log(EDA_LOG_ERROR, "database unavailable", "error", err, NULL);
		snprintf(detail, detailsz, "the order database is unavailable; retry later");
	}
	return c;
}

/* Builds and checks an event of TYPE about O; NULL only on a contract breach,
 * which is a bug (inputs were validated against the same rules). */
static char *event_payload(const os_order_t *o, const char *type, const char *reason,
                           const eda_event_t *cause, const char *correlation_id, char event_id[128])
{
	eda_event_t *ev =
	        eda_event_new(OS_SOURCE, type, o->id, os_order_event_data(o, type, reason), cause,
	                      correlation_id);
	char err[256];
	char *payload = NULL;

	if (ev == NULL)
		return NULL;
	if (eda_event_validate_data(ev, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "event breaks its contract", "order_id", o->id, "type", type,
		        "error", err, NULL);
	} else {
		payload = eda_event_serialize(ev, NULL);
		snprintf(event_id, 128, "%s", ev->id);
	}
	eda_event_free(ev);
	return payload;
}

/* Prices O from the catalogue replica on C (one indexed read, before the
 * insert and outside its statement: a price that changes in between is caught
 * by inventory at reservation, reason price_changed). Returns OS_OK,
 * OS_EINVALID / OS_EPRICE with RES's errors / prices, or OS_EUNAVAILABLE. */
static int price(os_service_t *s, PGconn *c, os_order_t *o, os_result_t *res)
{
	os_product_t *products = eda_xcalloc(o->nitems, sizeof(*products));
	int64_t now = eda_clock_mono_ms();
	char err[512];
	int n = 0, rc;

	/* All of the order's products in memory: no read at all. */
	while ((size_t)n < o->nitems &&
	       os_price_cache_get(s->prices, o->items[n].sku, now, &products[n]))
		n++;
	if ((size_t)n < o->nitems) {
		n = os_repo_catalogue_find(c, o, products, err, sizeof(err));
		for (int i = 0; i < n; i++)
			os_price_cache_put(s->prices, &products[i], now);
	}
	if (n < 0) {
		eda_log(EDA_LOG_ERROR, "cannot read the catalogue", "error", err, NULL);
		snprintf(res->detail, sizeof(res->detail),
		         "the order database is unavailable; retry later");
		free(products);
		return OS_EUNAVAILABLE;
	}
	rc = os_price_order(o, products, (size_t)n, &res->errors, &res->prices);
	free(products);
	if (rc == OS_EPRICE)
		snprintf(res->detail, sizeof(res->detail),
		         "the price of %zu line(s) changed; see prices, then order again",
		         json_array_size(res->prices));
	else if (rc == OS_EINVALID && n < (int)o->nitems)
		snprintf(res->detail, sizeof(res->detail),
		         "unknown product: a product created a moment ago may not have reached "
		         "the order service yet; retry in a few seconds");
	return rc;
}

/* The first answer to IDEM_KEY of WHO into RES when the key was used with
 * the same request (CANONICAL): OS_OK; anything else leaves RES alone. */
static int replay(PGconn *c, const os_caller_t *who, const char *idem_key, const char *canonical,
                  os_result_t *res)
{
	char err[512], *body = NULL;
	bool same = false;
	int status = 0;
	json_t *j;

	if (os_repo_idempotency_get(c, who->customer_id, idem_key, canonical, &same, &status, &body,
	                            err, sizeof(err)) <= 0 ||
	    !same || (j = json_loads(body, 0, NULL)) == NULL) {
		free(body);
		return OS_ENOTFOUND;
	}
	free(body);
	json_decref(res->errors);
	json_decref(res->prices);
	res->errors = res->prices = NULL;
	res->status = status;
	res->body = j;
	return OS_OK;
}

int os_service_place(os_service_t *s, const os_caller_t *who, const json_t *request,
                     const char *idem_key, const char *request_id, os_result_t *res)
{
	os_order_t o;
	os_place_write_t w = {.topic = s->topic_orders, .idem_key = idem_key};
	char event_id[128], err[512], state[6];
	char *payload = NULL, *canonical = NULL, *response = NULL;
	json_t *errors = NULL;
	PGconn *c = NULL;
	int rc, attempt;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	if (os_order_request_parse(request, &o, &errors) != 0) {
		res->errors = errors;
		rc = OS_EINVALID;
		goto out;
	}
	/* The request as the client sent it (quoted prices or none), so that a
	 * retry with the same key is the same request whatever the catalogue
	 * says meanwhile. */
	if (idem_key != NULL)
		canonical = os_order_request_canonical(&o);
	if ((c = checkout(s, res->detail, sizeof(res->detail))) == NULL) {
		rc = OS_EUNAVAILABLE;
		goto out;
	}
	rc = price(s, c, &o, res);
	if (rc == OS_EINVALID || rc == OS_EPRICE) {
		/* A retry of an order that was placed before the price changed
		 * gets its first answer, not a refusal. */
		if (idem_key != NULL && replay(c, who, idem_key, canonical, res) == OS_OK)
			rc = OS_OK;
		goto out;
	}
	if (rc != OS_OK)
		goto out;
	os_order_new_id(o.id);
	snprintf(o.customer_id, sizeof(o.customer_id), "%s", who->customer_id);
	snprintf(o.customer_email, sizeof(o.customer_email), "%s", who->email);
	o.status = OS_PENDING;
	eda_clock_rfc3339(o.created_at);
	memcpy(o.updated_at, o.created_at, OS_TIME_LEN);
	memcpy(o.status_at[OS_PENDING], o.created_at, OS_TIME_LEN);
	payload = event_payload(&o, EDA_EVENT_ORDER_PLACED, NULL, NULL, request_id, event_id);
	if (payload == NULL) {
		res->errors = os_field_error(NULL, "body", "cannot be turned into an event");
		rc = OS_EINVALID;
		goto out;
	}
	w.event_id = event_id;
	w.payload = payload;
	res->body = os_order_to_json(&o);
	response = json_dumps(res->body, JSON_COMPACT);
	if (idem_key != NULL) {
		w.idem_canonical = canonical;
		w.idem_response = response;
	}
	/* Two attempts: a key purged between our insert and our lookup makes the
	 * insert worth trying again; nothing else loops. */
	for (attempt = 0; attempt < 2; attempt++) {
		bool same = false;
		int status = 0;
		char *body = NULL;

		rc = os_repo_order_insert(c, &o, &w, err, sizeof(err), state);
		if (rc == 1) {
			os_db_checkin(s->pool, c);
			c = NULL;
			after_commit(s, NULL);
			eda_log(EDA_LOG_INFO, "order placed", "order_id", o.id, "request_id",
			        request_id, NULL);
			res->status = 201;
			rc = OS_OK;
			goto out;
		}
		if (rc < 0)
			break;
		rc = os_repo_idempotency_get(c, who->customer_id, idem_key, canonical, &same,
		                             &status, &body, err, sizeof(err));
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		json_decref(res->body);
		res->body = NULL;
		if (!same) {
			free(body);
			snprintf(res->detail, sizeof(res->detail),
			         "Idempotency-Key was already used with a different request");
			rc = OS_EIDEMPOTENCY;
			goto out;
		}
		res->status = status;
		res->body = json_loads(body, 0, NULL);
		free(body);
		rc = res->body != NULL ? OS_OK : OS_EINTERNAL;
		goto out;
	}
	eda_log(EDA_LOG_ERROR, "cannot store order", "order_id", o.id, "error", err, NULL);
	json_decref(res->body);
	res->body = NULL;
	snprintf(res->detail, sizeof(res->detail), "the order could not be stored; retry later");
	rc = OS_EUNAVAILABLE;
out:
	if (c != NULL)
		os_db_checkin(s->pool, c);
	if (rc != OS_OK) {
		json_decref(res->body);
		res->body = NULL;
	}
	free(response);
	free(canonical);
	free(payload);
	os_order_clear(&o);
	return rc;
}

static bool may_see(const os_caller_t *who, const os_order_t *o)
{
	return who->admin || strcmp(who->customer_id, o->customer_id) == 0;
}

int os_service_get(os_service_t *s, const os_caller_t *who, const char *id, os_order_t *o,
                   char *detail, size_t detailsz)
{
	char err[512];
	PGconn *c;
	int rc;

	memset(o, 0, sizeof(*o));
	if (!eda_uuid_valid(id))
		return OS_ENOTFOUND;
	if ((c = checkout(s, detail, detailsz)) == NULL)
		return OS_EUNAVAILABLE;
	rc = os_repo_order_get(c, id, 0, o, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (rc < 0) {
		eda_log(EDA_LOG_ERROR, "cannot read order", "order_id", id, "error", err, NULL);
		snprintf(detail, detailsz, "the order database is unavailable; retry later");
		return OS_EUNAVAILABLE;
	}
	if (rc == 0 || !may_see(who, o)) {
		os_order_clear(o);
		return OS_ENOTFOUND;
	}
	return OS_OK;
}

int os_service_list(os_service_t *s, const os_caller_t *who, const os_status_t *status,
                    const char *cursor, int limit, os_result_t *res)
{
	long long after = 0, next = 0;
	os_order_t *page;
	char err[512], *end;
	json_t *items;
	PGconn *c;
	int n;

	memset(res, 0, sizeof(*res));
	if (cursor != NULL) {
		after = strtoll(cursor, &end, 10);
		if (cursor[0] < '1' || cursor[0] > '9' || *end != '\0' || after <= 0 ||
		    strlen(cursor) > 18) {
			res->errors = os_field_error(NULL, "cursor", "is not a valid cursor");
			return OS_EINVALID;
		}
	}
	if ((c = checkout(s, res->detail, sizeof(res->detail))) == NULL)
		return OS_EUNAVAILABLE;
	page = eda_xcalloc((size_t)limit, sizeof(*page));
	n = os_repo_order_list(c, who->admin ? NULL : who->customer_id, status, after, limit, page,
	                       &next, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (n < 0) {
		free(page);
		eda_log(EDA_LOG_ERROR, "cannot list orders", "error", err, NULL);
		snprintf(res->detail, sizeof(res->detail), "the order database is unavailable");
		return OS_EUNAVAILABLE;
	}
	items = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(items, os_order_to_json(&page[i]));
		os_order_clear(&page[i]);
	}
	free(page);
	res->status = 200;
	res->body = json_pack("{s:o}", "items", items);
	if (next > 0) {
		char buf[24];

		snprintf(buf, sizeof(buf), "%lld", next);
		json_object_set_new(res->body, "next_cursor", json_string(buf));
	} else {
		json_object_set_new(res->body, "next_cursor", json_null());
	}
	return OS_OK;
}

int os_service_cancel(os_service_t *s, const os_caller_t *who, const char *id,
                      const char *request_id, os_result_t *res)
{
	const char *reason;
	os_order_t o, after;
	char err[512], event_id[128], correlation[256];
	char *payload = NULL;
	PGconn *c;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	memset(&after, 0, sizeof(after));
	if (!eda_uuid_valid(id))
		return OS_ENOTFOUND;
	if ((c = checkout(s, res->detail, sizeof(res->detail))) == NULL)
		return OS_EUNAVAILABLE;
	if (os_pg_cmd(c, "BEGIN", err, sizeof(err)) != 0)
		goto db_fail;
	rc = os_repo_order_get(c, id, 1, &o, err, sizeof(err));
	if (rc < 0)
		goto db_fail;
	if (rc == 0 || !may_see(who, &o)) {
		rc = OS_ENOTFOUND;
		goto done;
	}
	if (!who->admin || strcmp(who->customer_id, o.customer_id) == 0)
		reason = "cancelled by the customer";
	else
		reason = "cancelled by an administrator";
	if (!os_status_can_transition(o.status, OS_CANCELLED)) {
		snprintf(res->detail, sizeof(res->detail),
		         "an order in status %s cannot be cancelled", os_status_name(o.status));
		rc = OS_ECONFLICT;
		goto done;
	}
	rc = os_repo_order_set_status(c, id, o.status, OS_CANCELLED, reason, &after, err,
	                              sizeof(err));
	if (rc <= 0)
		goto db_fail;
	after.nitems = o.nitems;
	after.items = o.items;
	o.items = NULL;
	o.nitems = 0;
	/* The cancel belongs to the saga the order's POST started: it carries that
	 * request's id, not the cancel request's (which is in the log line below). */
	if (os_repo_order_correlation(c, id, correlation, sizeof(correlation), err, sizeof(err)) <
	    0)
		goto db_fail;
	payload = event_payload(&after, EDA_EVENT_ORDER_CANCELLED, reason, NULL,
	                        correlation[0] != '\0' ? correlation : request_id, event_id);
	if (payload == NULL) {
		rc = OS_EINTERNAL;
		goto done;
	}
	if (os_repo_outbox_insert(c, id, s->topic_orders, EDA_EVENT_ORDER_CANCELLED, event_id,
	                          payload, err, sizeof(err)) < 0 ||
	    os_pg_cmd(c, "COMMIT", err, sizeof(err)) != 0)
		goto db_fail;
	os_db_checkin(s->pool, c);
	c = NULL;
	after_commit(s, id);
	eda_log(EDA_LOG_INFO, "order cancelled", "order_id", id, "request_id", request_id, NULL);
	res->status = 200;
	res->body = os_order_to_json(&after);
	rc = OS_OK;
	goto done;
db_fail:
	eda_log(EDA_LOG_ERROR, "cannot cancel order", "order_id", id, "error", err, NULL);
	snprintf(res->detail, sizeof(res->detail), "the order database is unavailable");
	rc = OS_EUNAVAILABLE;
done:
	if (c != NULL) {
		os_pg_rollback(c);
		os_db_checkin(s->pool, c);
	}
	free(payload);
	os_order_clear(&o);
	os_order_clear(&after);
	return rc;
}

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
	payload = event_payload(&after, event_for(to), reason, ev, NULL, event_id);
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

int os_service_apply(os_service_t *s, const eda_event_t *ev, os_status_t from, os_status_t to,
                     const char *reason, const int64_t *amount, const char *currency, char *outcome,
                     size_t outsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char err[512], detail[256];
	step_t st = {0};
	PGconn *c;
	int rc;

	if ((c = checkout(s, detail, sizeof(detail))) == NULL)
		return OS_EUNAVAILABLE;
	rc = os_pg_cmd(c, "BEGIN", err, sizeof(err)) != 0 ? OS_EUNAVAILABLE : OS_OK;
	if (rc == OS_OK)
		rc = apply_in(s, c, ev, order_id, from, to, reason, amount, currency, outcome,
		              outsz, &st, err, sizeof(err));
	if (rc == OS_OK && os_pg_cmd(c, "COMMIT", err, sizeof(err)) != 0)
		rc = OS_EUNAVAILABLE;
	if (rc != OS_OK) {
		log_not_applied(ev, order_id, err);
		os_pg_rollback(c);
	}
	os_db_checkin(s->pool, c);
	if (rc == OS_OK)
		os_payments_count(s, st.pay.refund, st.pay.mismatch);
	if (rc == OS_OK && st.changed) {
		after_commit(s, order_id);
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
	if (commit && !b->broken && os_pg_cmd(b->conn, "COMMIT", err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "cannot commit saga events", "error", err, NULL);
		snprintf(b->why, sizeof(b->why), "%s", err);
		b->broken = true;
	}
	if (!commit && !b->broken) {
		snprintf(b->why, sizeof(b->why), "saga batch rolled back");
		b->broken = true;
	}
	if (b->broken)
		os_pg_rollback(b->conn);
	os_db_checkin(b->svc->pool, b->conn);
	b->conn = NULL;
	if (!b->broken)
		os_payments_count(b->svc, b->refunds, b->mismatches);
	if (!b->broken && b->nchanges > 0) {
		/* One wake-up of the relay for the batch; one status hook per order. */
		after_commit(b->svc, NULL);
		for (size_t i = 0; i < b->nchanges; i++) {
			struct batch_change *ch = &b->changes[i];

			announce_status(b->svc, ch->order_id);
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
		if ((b->conn = checkout(b->svc, detail, sizeof(detail))) == NULL) {
			snprintf(b->why, sizeof(b->why), "%s", detail);
			b->broken = true;
			return OS_EUNAVAILABLE;
		}
		if (os_pg_cmd(b->conn, "BEGIN", err, sizeof(err)) != 0)
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

long long os_service_purge(os_service_t *s, long retention_s)
{
	char err[512], detail[256];
	PGconn *c = checkout(s, detail, sizeof(detail));
	long long n;

	if (c == NULL)
		return -1;
	n = os_repo_purge(c, retention_s, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (n < 0)
		eda_log(EDA_LOG_WARN, "purge failed", "error", err, NULL);
	return n;
}

long long os_service_outbox_pending(os_service_t *s)
{
	char err[512], detail[256];
	PGconn *c = checkout(s, detail, sizeof(detail));
	long long n;

	if (c == NULL)
		return -1;
	n = os_repo_outbox_pending(c, err, sizeof(err));
	os_db_checkin(s->pool, c);
	return n;
}
