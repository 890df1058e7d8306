/*
 * Tests for src/services/orders.c (placing orders) through the daemon in-process (real
 * PostgreSQL, a fresh database for this program): Idempotency-Key replay,
 * conflict, scope and a race of concurrent retries; and outbox atomicity (a
 * failed outbox insert leaves neither order nor lines).
 */
#include <check.h>
#include <pthread.h>
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
	eda_log_init("test", EDA_LOG_ERROR);
	setenv("CONSUMERS_ENABLED", "false", 1);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "49.99", "EUR");
	ost_catalogue_put("B-2", "5.00", "EUR");
	port = os_app_port(&app);
	ts_unique(customer, sizeof(customer), "c");
}

static void teardown(void)
{
	os_app_stop(&app);
}

static void post(ost_resp_t *r, const char *who, const char *extra, const char *body)
{
	ost_post(r, port, who != NULL ? who : customer, extra, body);
}

static long long count_for(const char *who)
{
	return ost_orders_of(who);
}

/* ---- idempotency ----------------------------------------------------------- */

START_TEST(test_idempotency_replay)
{
	ost_resp_t a, b;

	post(&a, NULL, "Idempotency-Key: key-1", ORDER_BODY);
	post(&b, NULL, "Idempotency-Key: key-1", ORDER_BODY);
	ck_assert_int_eq(a.status, 201);
	ck_assert_int_eq(b.status, 201);
	ck_assert_str_eq(a.body, b.body);
	ck_assert_int_eq(count_for(customer), 1);
	ost_resp_free(&a);
	ost_resp_free(&b);
	/* The same meaning spelt differently is the same request. */
	post(&b, NULL, "Idempotency-Key: key-1",
	     "{\"currency\":\"EUR\",\"items\":[" ITEM("SKU-1", 2,
	                                              "49.99") "," ITEM("B-2", 1, "\"5.00\"") "]}");
	ck_assert_int_eq(b.status, 201);
	ck_assert_int_eq(count_for(customer), 1);
	ost_resp_free(&b);
}
END_TEST

START_TEST(test_idempotency_other_body)
{
	ost_resp_t a, b;
	json_t *p;

	post(&a, NULL, "Idempotency-Key: key-2", ORDER_BODY);
	post(&b, NULL, "Idempotency-Key: key-2",
	     "{\"items\":[" ITEM("SKU-1", 3, "\"49.99\"") "],\"currency\":\"EUR\"}");
	ck_assert_int_eq(a.status, 201);
	ck_assert_int_eq(b.status, 422);
	p = ost_json(&b);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 422);
	json_decref(p);
	ck_assert_int_eq(count_for(customer), 1);
	ost_resp_free(&a);
	ost_resp_free(&b);
}
END_TEST

START_TEST(test_idempotency_per_customer)
{
	char other[80];
	ost_resp_t a, b;

	snprintf(other, sizeof(other), "%s-other", customer);
	post(&a, NULL, "Idempotency-Key: shared", ORDER_BODY);
	post(&b, other, "Idempotency-Key: shared", ORDER_BODY);
	ck_assert_int_eq(a.status, 201);
	ck_assert_int_eq(b.status, 201);
	ck_assert_str_ne(a.body, b.body);
	ck_assert_int_eq(count_for(customer), 1);
	ck_assert_int_eq(count_for(other), 1);
	ost_resp_free(&a);
	ost_resp_free(&b);
}
END_TEST

static void *post_same_key(void *arg)
{
	ost_resp_t *r = arg;

	post(r, NULL, "Idempotency-Key: race", ORDER_BODY);
	return NULL;
}

START_TEST(test_idempotency_concurrent)
{
	enum { N = 8 };
	pthread_t t[N];
	ost_resp_t r[N];

	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, post_same_key, &r[i]);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(r[i].status, 201);
		ck_assert_str_eq(r[i].body, r[0].body);
	}
	for (int i = 0; i < N; i++)
		ost_resp_free(&r[i]);
	ck_assert_int_eq(count_for(customer), 1);
}
END_TEST

/* ---- atomicity and operations ---------------------------------------------- */

START_TEST(test_outbox_atomicity)
{
	ost_resp_t r;

	/* Make every outbox insert fail: the order must not be stored either. */
	ost_sql("CREATE OR REPLACE FUNCTION os_test_fail() RETURNS trigger LANGUAGE plpgsql AS "
	        "$$BEGIN RAISE EXCEPTION 'outbox refused by test'; END$$");
	ost_sql("CREATE TRIGGER os_test_fail BEFORE INSERT ON outbox FOR EACH ROW EXECUTE "
	        "FUNCTION os_test_fail()");
	post(&r, NULL, NULL, ORDER_BODY);
	ost_sql("DROP TRIGGER os_test_fail ON outbox");
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(count_for(customer), 0);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM order_items i LEFT JOIN orders o ON "
	                             "o.id = i.order_id WHERE o.id IS NULL"),
	                 0);
	ost_resp_free(&r);
	/* And the service recovers at once. */
	post(&r, NULL, NULL, ORDER_BODY);
	ck_assert_int_eq(r.status, 201);
	ost_resp_free(&r);
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_svc");
	ost_create_topics("os_svc");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service service");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_idempotency_replay);
	tcase_add_test(tc, test_idempotency_other_body);
	tcase_add_test(tc, test_idempotency_per_customer);
	tcase_add_test(tc, test_idempotency_concurrent);
	tcase_add_test(tc, test_outbox_atomicity);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
