/*
 * The order API's HTTP handlers (see orders.h).
 */
#include "routers/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/identity.h"
#include "eda/log.h"
#include "eda/validate.h"
#include "models/order.h"
#include "schemas/order.h"

#define DEFAULT_LIMIT 20

#define PROBLEM_PRICE_CHANGED "urn:eda:problem:price-changed"
#define MAX_LIMIT             100

static int reply_error(eda_http_req_t *r, int rc, os_result_t *res)
{
	switch (rc) {
	case OS_EINVALID:
		eda_http_reply_problem(r, 422, "Invalid request",
		                       res->detail[0] ? res->detail
		                                      : "the request has invalid fields",
		                       res->errors);
		res->errors = NULL;
		break;
	case OS_EPRICE: {
		/* RFC 9457 extension member "prices": each line whose quoted price
		 * is not the catalogue's, with the current one to show the client. */
		json_t *p =
		        eda_problem_new(409, PROBLEM_PRICE_CHANGED, "Price changed", res->detail);

		json_object_set_new(p, "prices", res->prices);
		res->prices = NULL;
		eda_http_reply_problem_json(r, p);
		break;
	}
	case OS_ENOTFOUND:
		eda_http_reply_problem(r, 404, NULL, "order not found", NULL);
		break;
	case OS_ECONFLICT:
		eda_http_reply_problem(r, 409, NULL, res->detail, NULL);
		break;
	case OS_EIDEMPOTENCY:
		eda_http_reply_problem(r, 422, "Idempotency-Key reused", res->detail, NULL);
		break;
	case OS_EUNAVAILABLE:
		eda_http_reply_header(r, "Retry-After", "1");
		eda_http_reply_problem(r, 503, NULL, res->detail[0] ? res->detail : NULL, NULL);
		break;
	default:
		eda_http_reply_problem(r, 500, NULL, NULL, NULL);
	}
	json_decref(res->errors);
	json_decref(res->prices);
	return -1;
}

/* Reads the caller; replies 401/400 and returns -1 when it cannot. */
static int caller(eda_http_req_t *r, os_caller_t *who)
{
	eda_identity_t id;
	int rc = eda_identity_read(r, &id);

	who->customer_id = id.customer_id;
	who->email = id.email;
	who->admin = (id.roles & EDA_ROLE_ADMIN) != 0;
	if (rc == EDA_IDENTITY_MISSING) {
		eda_http_reply_header(r, "WWW-Authenticate", "Bearer");
		eda_http_reply_problem(r, 401, NULL, "X-Customer-Id is required", NULL);
		return -1;
	}
	if (rc != EDA_IDENTITY_OK) {
		eda_http_reply_problem(r, 400, NULL, "X-Customer-Id is not a valid customer id",
		                       eda_problem_field_error(NULL, "X-Customer-Id",
		                                               "must be 1 to 256 characters"));
		return -1;
	}
	return 0;
}

static bool visible_ascii(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static void post_orders(eda_http_req_t *r, void *ctx)
{
	os_orders_router_t *rt = ctx;
	const char *key = eda_http_req_header(r, "Idempotency-Key");
	os_result_t res;
	os_caller_t who;
	json_t *body;
	char loc[64];
	int rc;

	if (caller(r, &who) != 0)
		return;
	if (who.email == NULL || !eda_email_valid(who.email)) {
		eda_http_reply_problem(
		        r, 400, NULL, "X-Customer-Email must hold the customer's e-mail address",
		        eda_problem_field_error(NULL, "X-Customer-Email",
		                                "must be an ASCII address local@domain.tld"));
		return;
	}
	if (key != NULL && !visible_ascii(key, 255)) {
		eda_http_reply_problem(r, 400, NULL, "Idempotency-Key is malformed",
		                       eda_problem_field_error(NULL, "Idempotency-Key",
		                                               "must be 1 to 255 visible ASCII "
		                                               "characters"));
		return;
	}
	if (eda_http_req_json(r, &body) != 0)
		return;
	rc = os_orders_place(rt->svc, &who, body, key, eda_http_req_id(r), &res);
	json_decref(body);
	if (rc != OS_OK) {
		reply_error(r, rc, &res);
		return;
	}
	/* A replay answers as the first request was answered: an Idempotency-Key
	 * is kept only with an order it created (repositories/orders.c), so 201. */
	snprintf(loc, sizeof(loc), "/orders/%s",
	         json_string_value(json_object_get(res.body, "id")));
	eda_http_reply_header(r, "Location", loc);
	if (key != NULL)
		eda_http_reply_header(r, "Idempotency-Key", key);
	eda_http_reply_json(r, 201, res.body);
}

/* Parses an integer query parameter in [MIN, MAX]; -1 when absent, -2 bad. */
static long query_int(eda_http_req_t *r, const char *name, long min, long max)
{
	const char *v = eda_http_req_query(r, name);
	char *end;
	long n;

	if (v == NULL)
		return -1;
	n = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || strlen(v) > 9 || n < min || n > max)
		return -2;
	return n;
}

static void get_orders(eda_http_req_t *r, void *ctx)
{
	os_orders_router_t *rt = ctx;
	const char *status_s = eda_http_req_query(r, "status");
	const char *cursor = eda_http_req_query(r, "cursor");
	json_t *errors = NULL;
	os_status_t status;
	os_result_t res;
	os_caller_t who;
	long limit;
	int rc;

	if (caller(r, &who) != 0)
		return;
	limit = query_int(r, "limit", 1, MAX_LIMIT);
	if (limit == -2)
		errors = eda_problem_field_error(errors, "limit",
		                                 "must be an integer from 1 to 100");
	if (status_s != NULL && os_status_parse(status_s, &status) != 0)
		errors = eda_problem_field_error(errors, "status",
		                                 "must be one of PENDING, CONFIRMED, REJECTED, "
		                                 "PAID, CANCELLED");
	if (errors != NULL) {
		eda_http_reply_problem(r, 422, "Invalid request", "invalid query parameters",
		                       errors);
		return;
	}
	rc = os_orders_list(rt->svc, &who, status_s != NULL ? &status : NULL,
	                    cursor != NULL && cursor[0] != '\0' ? cursor : NULL,
	                    limit < 0 ? DEFAULT_LIMIT : (int)limit, &res);
	if (rc != OS_OK) {
		reply_error(r, rc, &res);
		return;
	}
	eda_http_reply_json(r, 200, res.body);
}

/* The {id} of the path, in lower case when it is a UUID in any case (BUF
 * holds it then); anything else as given, for the service to refuse. */
static const char *order_id(eda_http_req_t *r, char buf[OS_UUID_LEN + 1])
{
	const char *id = eda_http_req_param(r, "id");

	return os_uuid_lower(id, buf) ? buf : id;
}

static void get_order(eda_http_req_t *r, void *ctx)
{
	os_orders_router_t *rt = ctx;
	char id_lower[OS_UUID_LEN + 1], customer[OS_CUSTOMER_ID_MAX * 4 + 1];
	const char *id = order_id(r, id_lower);
	os_result_t res = {0};
	os_caller_t who;
	os_order_t o;
	long wait;
	int rc;

	if (caller(r, &who) != 0)
		return;
	wait = query_int(r, "wait", 0, rt->max_wait_s);
	if (wait == -2) {
		char msg[64];

		snprintf(msg, sizeof(msg), "must be an integer from 0 to %d", rt->max_wait_s);
		eda_http_reply_problem(r, 422, "Invalid request", "invalid query parameters",
		                       eda_problem_field_error(NULL, "wait", msg));
		return;
	}
	rc = os_orders_get(rt->svc, &who, id, &o, res.detail, sizeof(res.detail));
	if (rc != OS_OK) {
		reply_error(r, rc, &res);
		return;
	}
	if (wait <= 0 || o.status != OS_PENDING || rt->waiters == NULL) {
		eda_http_reply_json(r, 200, os_order_to_json(&o));
		os_order_clear(&o);
		return;
	}
	os_order_clear(&o);
	/* R may be answered and freed by the waiter thread as soon as it is
	 * registered, so keep our own copies of what we still need from it (the
	 * id is already: a found order's id is a UUID, held in ID_LOWER). */
	snprintf(customer, sizeof(customer), "%s", who.customer_id);
	who.customer_id = customer;
	who.email = NULL;
	eda_http_suspend(r);
	os_waiters_add(rt->waiters, r, id_lower, (int)wait);
	/* The status may have changed between the read and the registration, and
	 * that wake-up went to nobody: look once more. */
	if (os_orders_get(rt->svc, &who, id_lower, &o, res.detail, sizeof(res.detail)) == OS_OK) {
		if (o.status != OS_PENDING)
			os_waiters_wake(rt->waiters, id_lower);
		os_order_clear(&o);
	}
}

static void cancel_order(eda_http_req_t *r, void *ctx)
{
	os_orders_router_t *rt = ctx;
	char id_lower[OS_UUID_LEN + 1];
	os_result_t res;
	os_caller_t who;
	int rc;

	if (caller(r, &who) != 0)
		return;
	rc = os_orders_cancel(rt->svc, &who, order_id(r, id_lower), eda_http_req_id(r), &res);
	if (rc != OS_OK) {
		reply_error(r, rc, &res);
		return;
	}
	eda_http_reply_json(r, 200, res.body);
}

int os_orders_routes(eda_http_server_t *s, os_orders_router_t *ctx)
{
	int rc;

	if ((rc = eda_http_route(s, "POST", "/orders", post_orders, ctx)) != 0 ||
	    (rc = eda_http_route(s, "GET", "/orders", get_orders, ctx)) != 0 ||
	    (rc = eda_http_route(s, "GET", "/orders/{id}", get_order, ctx)) != 0 ||
	    (rc = eda_http_route(s, "POST", "/orders/{id}/cancel", cancel_order, ctx)) != 0)
		return rc;
	return 0;
}
