/*
 * The order commands behind the HTTP API (see orders.h). Placing an order is
 * one statement (order, lines, OrderPlaced and the Idempotency-Key together,
 * repositories/orders.c); a cancel is one transaction (row lock, status,
 * OrderCancelled).
 */
#include "services/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"
#include "repositories/catalogue.h"
#include "repositories/idempotency.h"
#include "repositories/orders.h"
#include "repositories/outbox.h"
#include "repositories/tx.h"
#include "schemas/order.h"
#include "services/price_cache.h"
#include "services/pricing.h"

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
	int status = 0; /* always 201: only created orders are kept */
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
	res->replayed = true;
	res->body = j;
	return OS_OK;
}

/* Stores O (already priced, stamped and answered in RES->body) with its
 * OrderPlaced and, with a key, the key (W), on C. With a key that exists it
 * gives the first answer instead (RES->replayed) or OS_EIDEMPOTENCY when the
 * request differs (CANONICAL). Returns OS_OK, OS_EIDEMPOTENCY, OS_EINTERNAL
 * or OS_EUNAVAILABLE; on failure RES->body is gone. */
static int store(PGconn *c, const os_caller_t *who, const os_order_t *o, const os_place_write_t *w,
                 const char *canonical, os_result_t *res)
{
	char err[512], state[6];
	int rc, attempt;

	/* Two attempts: a key purged between our insert and our lookup makes the
	 * insert worth trying again; nothing else loops. */
	for (attempt = 0; attempt < 2; attempt++) {
		bool same = false;
		int status = 0;
		char *body = NULL;

		rc = os_repo_order_insert(c, o, w, err, sizeof(err), state);
		if (rc == 1)
			return OS_OK;
		if (rc < 0)
			break;
		rc = os_repo_idempotency_get(c, who->customer_id, w->idem_key, canonical, &same,
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
			return OS_EIDEMPOTENCY;
		}
		res->replayed = true;
		res->body = json_loads(body, 0, NULL);
		free(body);
		return res->body != NULL ? OS_OK : OS_EINTERNAL;
	}
	eda_log(EDA_LOG_ERROR, "cannot store order", "order_id", o->id, "error", err, NULL);
	json_decref(res->body);
	res->body = NULL;
	snprintf(res->detail, sizeof(res->detail), "the order could not be stored; retry later");
	return OS_EUNAVAILABLE;
}

/* Makes O a new PENDING order of WHO, placed now. */
static void stamp_new(os_order_t *o, const os_caller_t *who)
{
	os_order_new_id(o->id);
	snprintf(o->customer_id, sizeof(o->customer_id), "%s", who->customer_id);
	snprintf(o->customer_email, sizeof(o->customer_email), "%s", who->email);
	o->status = OS_PENDING;
	eda_clock_rfc3339(o->created_at);
	memcpy(o->updated_at, o->created_at, OS_TIME_LEN);
	memcpy(o->status_at[OS_PENDING], o->created_at, OS_TIME_LEN);
}

int os_orders_place(os_service_t *s, const os_caller_t *who, const json_t *request,
                    const char *idem_key, const char *request_id, os_result_t *res)
{
	os_order_t o;
	os_place_write_t w = {.topic = s->topic_orders, .idem_key = idem_key};
	char event_id[128];
	char *payload = NULL, *canonical = NULL, *response = NULL;
	json_t *errors = NULL;
	PGconn *c = NULL;
	int rc;

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
	if ((c = os_service_checkout(s, res->detail, sizeof(res->detail))) == NULL) {
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
	stamp_new(&o, who);
	payload = os_service_event(&o, EDA_EVENT_ORDER_PLACED, NULL, NULL, request_id, event_id);
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
	rc = store(c, who, &o, &w, canonical, res);
	if (rc == OS_OK && !res->replayed) {
		os_db_checkin(s->pool, c);
		c = NULL;
		os_service_after_commit(s, NULL);
		eda_log(EDA_LOG_INFO, "order placed", "order_id", o.id, "request_id", request_id,
		        NULL);
	}
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

int os_orders_read(os_service_t *s, const char *id, os_order_t *o, char *detail, size_t detailsz)
{
	char err[512];
	PGconn *c;
	int rc;

	memset(o, 0, sizeof(*o));
	if ((c = os_service_checkout(s, detail, detailsz)) == NULL)
		return OS_EUNAVAILABLE;
	rc = os_repo_order_get(c, id, 0, o, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (rc < 0) {
		eda_log(EDA_LOG_ERROR, "cannot read order", "order_id", id, "error", err, NULL);
		snprintf(detail, detailsz, "the order database is unavailable; retry later");
		return OS_EUNAVAILABLE;
	}
	return rc == 0 ? OS_ENOTFOUND : OS_OK;
}

int os_orders_get(os_service_t *s, const os_caller_t *who, const char *id, os_order_t *o,
                  char *detail, size_t detailsz)
{
	int rc;

	memset(o, 0, sizeof(*o));
	if (!eda_uuid_valid(id))
		return OS_ENOTFOUND;
	rc = os_orders_read(s, id, o, detail, detailsz);
	if (rc == OS_OK && !may_see(who, o)) {
		os_order_clear(o);
		return OS_ENOTFOUND;
	}
	return rc;
}

int os_orders_list(os_service_t *s, const os_caller_t *who, const os_status_t *status,
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
	if ((c = os_service_checkout(s, res->detail, sizeof(res->detail))) == NULL)
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

/* The cancel of order ID for WHO on C, inside the caller's transaction: the
 * row locked, CANCELLED with REASON, OrderCancelled in the outbox. Returns
 * OS_OK with AFTER (the cancelled order, lines included), OS_ENOTFOUND,
 * OS_ECONFLICT or OS_EINTERNAL with RES->detail, or OS_EUNAVAILABLE with ERR
 * (the transaction is lost). */
static int cancel_in(os_service_t *s, PGconn *c, const os_caller_t *who, const char *id,
                     const char *request_id, os_order_t *after, os_result_t *res, char *err,
                     size_t errsz)
{
	char event_id[128], correlation[256];
	const char *reason;
	char *payload = NULL;
	os_order_t o;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = os_repo_order_get(c, id, 1, &o, err, errsz);
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
	if (os_repo_order_set_status(c, id, o.status, OS_CANCELLED, reason, after, err, errsz) <= 0)
		goto db_fail;
	after->nitems = o.nitems;
	after->items = o.items;
	o.items = NULL;
	o.nitems = 0;
	/* The cancel belongs to the saga the order's POST started: it carries that
	 * request's id, not the cancel request's (which is in the log line of
	 * os_orders_cancel). */
	if (os_repo_order_correlation(c, id, correlation, sizeof(correlation), err, errsz) < 0)
		goto db_fail;
	payload = os_service_event(after, EDA_EVENT_ORDER_CANCELLED, reason, NULL,
	                           correlation[0] != '\0' ? correlation : request_id, event_id);
	if (payload == NULL) {
		rc = OS_EINTERNAL;
		goto done;
	}
	if (os_repo_outbox_insert(c, id, s->topic_orders, EDA_EVENT_ORDER_CANCELLED, event_id,
	                          payload, err, errsz) < 0)
		goto db_fail;
	rc = OS_OK;
	goto done;
db_fail:
	rc = OS_EUNAVAILABLE;
done:
	free(payload);
	os_order_clear(&o);
	return rc;
}

int os_orders_cancel(os_service_t *s, const os_caller_t *who, const char *id,
                     const char *request_id, os_result_t *res)
{
	char err[512] = "";
	os_order_t after;
	PGconn *c;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&after, 0, sizeof(after));
	if (!eda_uuid_valid(id))
		return OS_ENOTFOUND;
	if ((c = os_service_checkout(s, res->detail, sizeof(res->detail))) == NULL)
		return OS_EUNAVAILABLE;
	rc = os_repo_begin(c, err, sizeof(err)) != 0 ? OS_EUNAVAILABLE : OS_OK;
	if (rc == OS_OK)
		rc = cancel_in(s, c, who, id, request_id, &after, res, err, sizeof(err));
	if (rc == OS_OK && os_repo_commit(c, err, sizeof(err)) != 0)
		rc = OS_EUNAVAILABLE;
	if (rc != OS_OK)
		os_repo_rollback(c);
	os_db_checkin(s->pool, c);
	if (rc == OS_OK) {
		os_service_after_commit(s, id);
		eda_log(EDA_LOG_INFO, "order cancelled", "order_id", id, "request_id", request_id,
		        NULL);
		res->body = os_order_to_json(&after);
	} else if (rc == OS_EUNAVAILABLE) {
		eda_log(EDA_LOG_ERROR, "cannot cancel order", "order_id", id, "error", err, NULL);
		snprintf(res->detail, sizeof(res->detail), "the order database is unavailable");
	}
	os_order_clear(&after);
	return rc;
}
