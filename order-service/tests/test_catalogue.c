/*
 * The catalogue replica and pricing (issue 19), on the real stack:
 * ProductChanged produced to the test's own products topic as
 * inventory-service would, read by the daemon's catalogue consumer into its
 * table; POST /orders priced from it (a table of bodies and answers); newer
 * version wins (redelivered and older events ignored); a dropped table is
 * rebuilt from the topic at the next start; /readyz waits for the replica.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "eda/log.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/os_support.h"

static os_app_t app;
static unsigned short port;
static char customer[64];

/* Products of the suite: P-1 25.00 EUR, P-2 3.50 EUR, U-1 9.00 USD. */
static void wait_price(const char *sku, const char *price)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM catalogue WHERE sku = '%s' AND price_cents = "
	         "(%s::numeric * 100)::bigint",
	         sku, price);
	ost_wait_sql(sql, 1);
}

static void setup(void)
{
	eda_log_init("test", EDA_LOG_ERROR);
	ost_app_start(&app);
	port = os_app_port(&app);
	ts_unique(customer, sizeof(customer), "cat");
	wait_price("P-1", "25.00");
	wait_price("P-2", "3.50");
	wait_price("U-1", "9.00");
}

static void teardown(void)
{
	os_app_stop(&app);
}

#define LINE(sku, q, p) "{\"sku\":\"" sku "\",\"quantity\":" #q ",\"unit_price\":\"" p "\"}"
#define BARE(sku, q)    "{\"sku\":\"" sku "\",\"quantity\":" #q "}"

static const struct price_case {
	const char *name, *body;
	long status;
	const char *field; /* 422: the field named */
	const char *stale; /* 409: the SKUs listed in prices, comma-separated */
	const char *total; /* 201: the total */
} price_cases[] = {
        {"zero price", "{\"items\":[" LINE("P-1", 2, "0.00") "],\"currency\":\"EUR\"}", 409, NULL,
         "P-1", NULL},
        {"stale price, one of two lines",
         "{\"items\":[" LINE("P-1", 1, "20.00") "," LINE("P-2", 1, "3.50") "]}", 409, NULL, "P-1",
         NULL},
        {"both stale", "{\"items\":[" LINE("P-1", 1, "20.00") "," LINE("P-2", 1, "3.00") "]}", 409,
         NULL, "P-1,P-2", NULL},
        {"currency not the products'", "{\"items\":[" BARE("P-1", 1) "],\"currency\":\"USD\"}", 422,
         "currency", NULL, NULL},
        {"products of two currencies", "{\"items\":[" BARE("P-1", 1) "," BARE("U-1", 1) "]}", 422,
         "currency", NULL, NULL},
        {"unknown SKU", "{\"items\":[" BARE("NOPE-1", 1) "],\"currency\":\"EUR\"}", 422,
         "items[0].sku", NULL, NULL},
        {"price omitted", "{\"items\":[" BARE("P-1", 2) "," BARE("P-2", 1) "]}", 201, NULL, NULL,
         "53.50"},
        {"right price quoted", "{\"items\":[" LINE("P-1", 2, "25.00") "],\"currency\":\"EUR\"}",
         201, NULL, NULL, "50.00"},
        {"USD product", "{\"items\":[" BARE("U-1", 3) "],\"currency\":\"USD\"}", 201, NULL, NULL,
         "27.00"},
};

START_TEST(test_pricing_table)
{
	const struct price_case *pc = &price_cases[_i];
	ost_resp_t r;
	json_t *j;

	ost_post(&r, port, customer, "Idempotency-Key: k-1", pc->body);
	ck_assert_msg(r.status == pc->status, "%s: %ld %s", pc->name, r.status, r.body);
	j = ost_json(&r);
	if (pc->status == 201) {
		ck_assert_str_eq(json_string_value(json_object_get(j, "total")), pc->total);
		ck_assert_int_eq(ost_orders_of(customer), 1);
	} else {
		/* Nothing written, not even the idempotency key. */
		ck_assert_int_eq(ost_orders_of(customer), 0);
		char sql[256];

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM idempotency_keys WHERE customer_id = '%s'",
		         customer);
		ck_assert_int_eq(ost_sql_num(sql), 0);
	}
	if (pc->field != NULL) {
		json_t *e = json_array_get(json_object_get(j, "errors"), 0);

		ck_assert_str_eq(json_string_value(json_object_get(e, "field")), pc->field);
		if (strcmp(pc->field, "items[0].sku") == 0)
			ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
			                 "unknown product");
	}
	if (pc->stale != NULL) {
		json_t *prices = json_object_get(j, "prices"), *p;
		char listed[64] = "";
		size_t i;

		ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
		                 "urn:eda:problem:price-changed");
		json_array_foreach(prices, i, p)
		{
			const char *sku = json_string_value(json_object_get(p, "sku"));

			snprintf(listed + strlen(listed), sizeof(listed) - strlen(listed), "%s%s",
			         i ? "," : "", sku);
			ck_assert_str_eq(json_string_value(json_object_get(p, "price")),
			                 strcmp(sku, "P-1") == 0 ? "25.00" : "3.50");
			ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "quoted")));
		}
		ck_assert_str_eq(listed, pc->stale);
	}
	json_decref(j);
	ost_resp_free(&r);
}
END_TEST

/* OrderPlaced carries the catalogue's unit price of each line. */
START_TEST(test_order_placed_carries_catalogue_prices)
{
	char id[37], sql[256];

	ost_place(port, customer, "{\"items\":[" BARE("P-2", 4) "]}", id);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE aggregate_id = '%s' AND "
	         "payload::json->'data'->'items'->0->>'unit_price' = '3.50' AND "
	         "payload::json->'data'->>'total' = '14.00' AND "
	         "payload::json->'data'->>'currency' = 'EUR'",
	         id);
	ck_assert_int_eq(ost_sql_num(sql), 1);
}
END_TEST

/* Newer version wins: a redelivered event and an older one change nothing.
 * All on partition 0, so that the sentinel after them proves they were read. */
START_TEST(test_versions)
{
	char sku[32], sentinel[32], sql[256];

	ts_unique(sku, sizeof(sku), "V");
	ts_unique(sentinel, sizeof(sentinel), "S");
	ost_produce_product(0, sku, "30.00", "EUR", 2);
	wait_price(sku, "30.00");
	ost_produce_product(0, sku, "30.00", "EUR", 2); /* redelivered */
	ost_produce_product(0, sku, "10.00", "EUR", 1); /* older, late */
	ost_produce_product(0, sentinel, "1.00", "EUR", 1);
	wait_price(sentinel, "1.00");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM catalogue WHERE sku = '%s' AND price_cents = 3000 AND "
	         "version = 2",
	         sku);
	ck_assert_int_eq(ost_sql_num(sql), 1);
	ost_produce_product(0, sku, "31.00", "EUR", 3); /* newer */
	wait_price(sku, "31.00");
}
END_TEST

/* The replica is derived state: dropped, it comes back at the next start
 * (R_catalogue.sql) and is filled again from the topic's start. */
START_TEST(test_dropped_table_rebuilt)
{
	os_app_stop(&app);
	ost_sql("DROP TABLE catalogue");
	ost_app_start(&app);
	port = os_app_port(&app);
	wait_price("P-1", "25.00");
	wait_price("P-2", "3.50");
	wait_price("U-1", "9.00");
}
END_TEST

/* /readyz answers 200 only once the whole topic is in the table. */
START_TEST(test_ready_only_when_caught_up)
{
	long long n = ost_sql_num("SELECT count(*) FROM catalogue");
	time_t deadline;
	ost_resp_t r;
	char body[4096] = "";
	long status;

	os_app_stop(&app);
	/* 200 more products, then a fresh replica. */
	for (int i = 0; i < 200; i++) {
		char sku[32];

		snprintf(sku, sizeof(sku), "R-%d", i);
		ost_produce_product(-1, sku, "2.00", "EUR", 1);
	}
	ost_sql("DROP TABLE catalogue");
	ost_app_start(&app);
	port = os_app_port(&app);
	ost_http(&r, port, "GET", "/readyz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 503);
	ost_resp_free(&r);
	deadline = time(NULL) + 60;
	do {
		usleep(50000);
		ost_http(&r, port, "GET", "/readyz", NULL, NULL, 0);
		status = r.status;
		if (status != 200)
			snprintf(body, sizeof(body), "%s", r.body != NULL ? r.body : "");
		ost_resp_free(&r);
	} while (status != 200 && time(NULL) < deadline);
	ck_assert_int_eq(status, 200);
	/* Ready means caught up: every product of the topic is there. */
	ck_assert_int_ge(ost_sql_num("SELECT count(*) FROM catalogue"), n + 200);
	ck_assert_msg(strstr(body, "catalogue") != NULL, "last not-ready answer: %s", body);
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_catalogue");
	ost_create_topics("oscat");
	ost_produce_product(-1, "P-1", "25.00", "EUR", 1);
	ost_produce_product(-1, "P-2", "3.50", "EUR", 1);
	ost_produce_product(-1, "U-1", "9.00", "USD", 1);
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service catalogue replica and pricing");
	TCase *tc = tcase_create("catalogue");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_loop_test(tc, test_pricing_table, 0,
	                    sizeof(price_cases) / sizeof(price_cases[0]));
	tcase_add_test(tc, test_order_placed_carries_catalogue_prices);
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_dropped_table_rebuilt);
	tcase_add_test(tc, test_ready_only_when_caught_up);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
