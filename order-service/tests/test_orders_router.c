/*
 * Tests for src/routers/orders.c through the whole daemon started in-process
 * (real PostgreSQL: a fresh database for this program; relay on, consumers
 * off): the validation table over HTTP, pagination, access rules,
 * cancellation and the operations endpoints. Idempotency and atomicity are in
 * test_orders_service.c, long-polls in test_order_waiters.c. Each test uses its own customer ids,
 * so tests sharing the database cannot see each other's orders.
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eda/log.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/os_support.h"

#define ITEM(sku, q, p) "{\"sku\":\"" sku "\",\"quantity\":" #q ",\"unit_price\":" p "}"
#define ORDER_BODY                                                                                 \
	"{\"items\":[" ITEM("SKU-1", 2, "\"49.99\"") "," ITEM("B-2", 1,                            \
	                                                      "5") "],\"currency\":\"EUR\"}"

static os_app_t app;
static unsigned short port;
static char customer[64];

static void setup(void)
{
	char unique[64];

	eda_log_init("test", EDA_LOG_ERROR);
	setenv("CONSUMERS_ENABLED", "false", 1);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "49.99", "EUR");
	ost_catalogue_put("B-2", "5.00", "EUR");
	ost_catalogue_put("A", "1.00", "EUR");
	ost_catalogue_put("book.978-3_x", "1.00", "EUR");
	port = os_app_port(&app);
	ts_unique(unique, sizeof(unique), "c");
	snprintf(customer, sizeof(customer), "%s", unique);
}

static void teardown(void)
{
	os_app_stop(&app);
}

static void post(ost_resp_t *r, const char *who, const char *extra, const char *body)
{
	ost_post(r, port, who != NULL ? who : customer, extra, body);
}

static void get(ost_resp_t *r, const char *who, const char *roles, const char *path)
{
	ost_get(r, port, who != NULL ? who : customer, roles, path);
}

static long long count_for(const char *who)
{
	return ost_orders_of(who);
}

/* ---- validation table ------------------------------------------------------ */

#define LOCAL64 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"

static const struct http_case {
	const char *name;
	const char *content_type; /* NULL: application/json */
	const char *extra_header; /* NULL: none */
	const char *body;
	long status;
	const char *field; /* first field error expected, or NULL */
} http_cases[] = {
        {"valid", NULL, NULL, ORDER_BODY, 201, NULL},
        {"malformed JSON", NULL, NULL, "{\"items\":[", 400, NULL},
        {"empty body", NULL, NULL, "", 400, NULL},
        {"duplicate keys", NULL, NULL, "{\"currency\":\"EUR\",\"currency\":\"USD\",\"items\":[]}",
         400, NULL},
        {"wrong content type", "text/plain", NULL, ORDER_BODY, 415, NULL},
        {"form content type", "application/x-www-form-urlencoded", NULL, ORDER_BODY, 415, NULL},
        {"unknown field", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "1") "],\"currency\":\"EUR\",\"admin\":true}", 422, "admin"},
        {"zero quantity", NULL, NULL, "{\"items\":[" ITEM("A", 0, "1") "],\"currency\":\"EUR\"}",
         422, "items[0].quantity"},
        {"negative quantity", NULL, NULL,
         "{\"items\":[" ITEM("A", -1, "1") "],\"currency\":\"EUR\"}", 422, "items[0].quantity"},
        {"three decimals", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "1.005") "],\"currency\":\"EUR\"}", 422,
         "items[0].unit_price"},
        {"three decimals text", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "\"1.005\"") "],\"currency\":\"EUR\"}", 422,
         "items[0].unit_price"},
        {"no items", NULL, NULL, "{\"items\":[],\"currency\":\"EUR\"}", 422, "items"},
        {"duplicate sku", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "1") "," ITEM("A", 1, "1") "],\"currency\":\"EUR\"}", 422,
         "items[1].sku"},
        {"unknown currency", NULL, NULL, "{\"items\":[" ITEM("A", 1, "1") "],\"currency\":\"ABC\"}",
         422, "currency"},
        {"SQL in sku", NULL, NULL,
         "{\"items\":[" ITEM("A'); DELETE FROM orders; --", 1, "1") "],\"currency\":\"EUR\"}", 422,
         "items[0].sku"},
        {"SQL in currency", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "1") "],\"currency\":\"' OR 1=1 --\"}", 422, "currency"},
        {"SQL in price", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "\"1; DROP TABLE orders\"") "],\"currency\":\"EUR\"}", 422,
         "items[0].unit_price"},
        {"SQL in unknown key", NULL, NULL,
         "{\"items\":[" ITEM("A", 1, "1") "],\"currency\":\"EUR\",\"'; DROP TABLE orders; --\":1}",
         422, "'; DROP TABLE orders; --"},
        {"SQL in email", NULL, "X-Customer-Email: x'@example.com; DROP TABLE orders", ORDER_BODY,
         400, "X-Customer-Email"},
        /* The event contract's local part is at most 64 characters: one more
         * used to pass here and break the OrderPlaced event (422 on "body"). */
        {"e-mail local part of 64", NULL, "X-Customer-Email: " LOCAL64 "@example.com", ORDER_BODY,
         201, NULL},
        {"e-mail local part of 65", NULL, "X-Customer-Email: " LOCAL64 "l@example.com", ORDER_BODY,
         400, "X-Customer-Email"},
        /* The contract's e-mail rule is the one notification-service needs to
         * write the address into a To: header: an address it could not mail
         * is refused here, not accepted and then never mailed. */
        {"e-mail with a doubled dot", NULL, "X-Customer-Email: a..b@example.com", ORDER_BODY, 400,
         "X-Customer-Email"},
        {"e-mail domain ending in a dot", NULL, "X-Customer-Email: x@a.b.", ORDER_BODY, 400,
         "X-Customer-Email"},
        {"e-mail with a comma", NULL, "X-Customer-Email: a,b@example.com", ORDER_BODY, 400,
         "X-Customer-Email"},
        {"e-mail domain label of 64", NULL, "X-Customer-Email: a@" LOCAL64 ".com", ORDER_BODY, 400,
         "X-Customer-Email"},
        {"bad idempotency key", NULL, "Idempotency-Key: has space", ORDER_BODY, 400,
         "Idempotency-Key"},
};

START_TEST(test_http_validation_table)
{
	const struct http_case *c = &http_cases[_i];
	char ct[128], hc[128];
	const char *h[] = {hc, "X-Customer-Email: ada@example.com", ct, c->extra_header, NULL};
	ost_resp_t r;

	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(ct, sizeof(ct), "Content-Type: %s",
	         c->content_type != NULL ? c->content_type : "application/json");
	/* A second X-Customer-Email (the case's) overrides nothing: put it first. */
	if (c->extra_header != NULL && strncmp(c->extra_header, "X-Customer-Email", 16) == 0) {
		h[1] = c->extra_header;
		h[3] = NULL;
	}
	ost_http(&r, port, "POST", "/orders", h, c->body, 0);
	if (c->body[0] == '\0') {
		ost_resp_free(&r);
		ost_http(&r, port, "POST", "/orders", h, NULL, 0);
	}
	ck_assert_msg(r.status == c->status, "%s: %ld %s", c->name, r.status, r.body);
	if (c->status != 201) {
		json_t *p = ost_json(&r);
		char ctype[128];

		ost_header(&r, "Content-Type", ctype, sizeof(ctype));
		ck_assert_str_eq(ctype, "application/problem+json");
		ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), c->status);
		if (c->field != NULL) {
			const char *f = json_string_value(json_object_get(
			        json_array_get(json_object_get(p, "errors"), 0), "field"));

			ck_assert_msg(f != NULL && strcmp(f, c->field) == 0, "%s: field %s",
			              c->name, f ? f : "(none)");
		}
		json_decref(p);
		ck_assert_int_eq(count_for(customer), 0);
	} else {
		ck_assert_int_eq(count_for(customer), 1);
	}
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_two_mib_body)
{
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n + 1);
	ost_resp_t r;

	memset(big, ' ', n);
	memcpy(big, "{\"items\":[", 10);
	big[n] = '\0';
	post(&r, NULL, NULL, big);
	ck_assert_int_eq(r.status, 413);
	ost_resp_free(&r);
	free(big);
	ck_assert_int_eq(count_for(customer), 0);
}
END_TEST

START_TEST(test_identity_required)
{
	const char *h[] = {"X-Customer-Email: ada@example.com", "Content-Type: application/json",
	                   NULL};
	ost_resp_t r;

	ost_http(&r, port, "POST", "/orders", h, ORDER_BODY, 0);
	ck_assert_int_eq(r.status, 401);
	ost_resp_free(&r);
	ost_http(&r, port, "GET", "/orders", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ost_resp_free(&r);
	ost_http(&r, port, "GET", "/orders/1b4e28ba-2fa1-41d2-883f-0016d3cca427", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ost_resp_free(&r);
	ost_http(&r, port, "POST", "/orders/1b4e28ba-2fa1-41d2-883f-0016d3cca427/cancel", NULL,
	         NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_sql_in_customer_id_is_data)
{
	const char *evil = "x'); DELETE FROM orders; --";
	char id[37], path[128];
	ost_resp_t r;
	json_t *j;

	ost_place(port, evil, ORDER_BODY, id);
	snprintf(path, sizeof(path), "/orders/%s", id);
	get(&r, evil, NULL, path);
	ck_assert_int_eq(r.status, 200);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "customer"), "id")),
	                 evil);
	json_decref(j);
	ost_resp_free(&r);
	ck_assert_int_ge(ost_sql_num("SELECT count(*) FROM orders"), 1);
}
END_TEST

START_TEST(test_created_order_representation)
{
	char loc[128], expect[128];
	ost_resp_t r, g;
	json_t *j, *k;

	post(&r, NULL, NULL, ORDER_BODY);
	ck_assert_int_eq(r.status, 201);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "PENDING");
	ck_assert_str_eq(json_string_value(json_object_get(j, "total")), "104.98");
	ck_assert_str_eq(json_string_value(json_object_get(j, "currency")), "EUR");
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(j, "items"), 1), "unit_price")),
	                 "5.00");
	ost_header(&r, "Location", loc, sizeof(loc));
	snprintf(expect, sizeof(expect), "/orders/%s", json_string_value(json_object_get(j, "id")));
	ck_assert_str_eq(loc, expect);
	get(&g, NULL, NULL, loc);
	ck_assert_int_eq(g.status, 200);
	k = ost_json(&g);
	ck_assert_msg(json_equal(j, k), "GET differs from POST: %s vs %s", g.body, r.body);
	json_decref(j);
	json_decref(k);
	ost_resp_free(&r);
	ost_resp_free(&g);
	/* The outbox row was written with the order. */
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox o JOIN orders d ON d.id = "
	                             "o.aggregate_id WHERE o.event_type = 'OrderPlaced'") >= 1,
	                 1);
}
END_TEST

/* ---- listing --------------------------------------------------------------- */

START_TEST(test_pagination)
{
	char id[37], path[256], cursor[64] = "";
	json_t *seen = json_object();
	int pages = 0, total = 0;

	for (int i = 0; i < 7; i++)
		ost_place(port, customer, ORDER_BODY, id);
	do {
		ost_resp_t r;
		json_t *j, *items, *next;
		size_t k;
		json_t *o;

		snprintf(path, sizeof(path), "/orders?limit=3%s%s", cursor[0] ? "&cursor=" : "",
		         cursor);
		get(&r, NULL, NULL, path);
		ck_assert_int_eq(r.status, 200);
		j = ost_json(&r);
		items = json_object_get(j, "items");
		ck_assert_int_le(json_array_size(items), 3);
		json_array_foreach(items, k, o)
		{
			const char *oid = json_string_value(json_object_get(o, "id"));

			ck_assert_ptr_null(json_object_get(seen, oid));
			json_object_set_new(seen, oid, json_true());
			total++;
		}
		next = json_object_get(j, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s",
		         json_is_string(next) ? json_string_value(next) : "");
		json_decref(j);
		ost_resp_free(&r);
		pages++;
	} while (cursor[0] != '\0' && pages < 10);
	ck_assert_int_eq(total, 7);
	ck_assert_int_eq(pages, 3);
	json_decref(seen);
}
END_TEST

static const struct query_case {
	const char *query;
	long status;
} query_cases[] = {
        {"/orders?limit=0", 422},
        {"/orders?limit=101", 422},
        {"/orders?limit=abc", 422},
        {"/orders?limit=100", 200},
        {"/orders?status=pending", 200},
        {"/orders?status=SHIPPED", 422},
        {"/orders?status=%27%20OR%201%3D1", 422},
        {"/orders?cursor=abc", 422},
        {"/orders?cursor=-1", 422},
        {"/orders?cursor=1%27%3B--", 422},
        {"/orders/not-a-uuid", 404},
        {"/orders/1b4e28ba-2fa1-41d2-883f-0016d3cca427", 404},
        {"/orders/1b4e28ba-2fa1-41d2-883f-0016d3cca427?wait=31", 422},
        {"/orders/1b4e28ba-2fa1-41d2-883f-0016d3cca427?wait=-1", 422},
};

START_TEST(test_query_table)
{
	const struct query_case *c = &query_cases[_i];
	ost_resp_t r;

	get(&r, NULL, NULL, c->query);
	ck_assert_msg(r.status == c->status, "%s: %ld %s", c->query, r.status, r.body);
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_status_filter)
{
	char a[37], b[37], path[128];
	ost_resp_t r;
	json_t *j;

	ost_place(port, customer, ORDER_BODY, a);
	ost_place(port, customer, ORDER_BODY, b);
	snprintf(path, sizeof(path), "/orders/%s/cancel", a);
	{
		char hc[100];
		const char *h[] = {hc, NULL};

		snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
		ost_http(&r, port, "POST", path, h, NULL, 0);
		ck_assert_int_eq(r.status, 200);
		ost_resp_free(&r);
	}
	get(&r, NULL, NULL, "/orders?status=CANCELLED");
	j = ost_json(&r);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(j, "items"), 0), "id")),
	                 a);
	json_decref(j);
	ost_resp_free(&r);
}
END_TEST

/* ---- access ---------------------------------------------------------------- */

START_TEST(test_access_rules)
{
	char id[37], path[128], other[80], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;
	json_t *j;

	snprintf(other, sizeof(other), "%s-other", customer);
	ost_place(port, customer, ORDER_BODY, id);
	snprintf(path, sizeof(path), "/orders/%s", id);
	get(&r, other, NULL, path);
	ck_assert_int_eq(r.status, 404);
	ost_resp_free(&r);
	get(&r, other, "customer, admin", path);
	ck_assert_int_eq(r.status, 200);
	ost_resp_free(&r);
	get(&r, other, "administrator", path); /* not the admin role */
	ck_assert_int_eq(r.status, 404);
	ost_resp_free(&r);
	/* A UUID is the same in upper case (RFC 9562). */
	for (char *p = path + strlen("/orders/"); *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	get(&r, customer, NULL, path);
	ck_assert_int_eq(r.status, 200);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), id);
	json_decref(j);
	ost_resp_free(&r);
	/* Someone else cannot cancel it, and it stays PENDING. */
	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", other);
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 404);
	ost_resp_free(&r);
	/* A customer's list holds only their orders; an admin's holds everyone's. */
	get(&r, other, NULL, "/orders");
	j = ost_json(&r);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	ost_resp_free(&r);
	get(&r, other, "admin", "/orders?limit=100");
	j = ost_json(&r);
	ck_assert_int_ge(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_cancel)
{
	char id[37], path[128], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;
	json_t *j;

	ost_place(port, customer, ORDER_BODY, id);
	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "CANCELLED");
	ck_assert(json_is_string(json_object_get(j, "cancelled_at")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 2);
	json_decref(j);
	ost_resp_free(&r);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 409);
	ost_resp_free(&r);
	{
		char sql[256];

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM outbox WHERE aggregate_id = '%s' AND event_type = "
		         "'OrderCancelled'",
		         id);
		ck_assert_int_eq(ost_sql_num(sql), 1);
	}
}
END_TEST

/* ---- operations ------------------------------------------------------------ */

START_TEST(test_operations)
{
	ost_resp_t r;

	ost_http(&r, port, "GET", "/healthz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ost_resp_free(&r);
	ost_http(&r, port, "GET", "/readyz", NULL, NULL, 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ost_resp_free(&r);
	ost_http(&r, port, "GET", "/metrics", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "outbox_pending"));
	ck_assert_ptr_nonnull(strstr(r.body, "http_requests_total"));
	ost_resp_free(&r);
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_router");
	ost_create_topics("osr");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service HTTP API");
	TCase *tc = tcase_create("api");
	int rc;

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_http_validation_table, 0,
	                    (int)(sizeof(http_cases) / sizeof(http_cases[0])));
	tcase_add_test(tc, test_two_mib_body);
	tcase_add_test(tc, test_identity_required);
	tcase_add_test(tc, test_sql_in_customer_id_is_data);
	tcase_add_test(tc, test_created_order_representation);
	tcase_add_test(tc, test_pagination);
	tcase_add_loop_test(tc, test_query_table, 0,
	                    (int)(sizeof(query_cases) / sizeof(query_cases[0])));
	tcase_add_test(tc, test_status_filter);
	tcase_add_test(tc, test_access_rules);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_operations);
	suite_add_tcase(s, tc);
	rc = ts_run_suite(s);
	return rc;
}
