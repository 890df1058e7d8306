/*
 * Tests for src/routers/order_waiters.c through the daemon in-process: a
 * long-poll answers as soon as the order's status changes, or with the
 * unchanged order when its time runs out, and keeps the access rules.
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

static void get(ost_resp_t *r, const char *who, const char *roles, const char *path)
{
	ost_get(r, port, who != NULL ? who : customer, roles, path);
}

/* ---- long-poll ------------------------------------------------------------- */

struct delayed_cancel {
	char id[37], customer[64];
};

static void *cancel_later(void *arg)
{
	struct delayed_cancel *d = arg;
	char path[128], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;

	usleep(300000);
	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", d->customer);
	snprintf(path, sizeof(path), "/orders/%s/cancel", d->id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ost_resp_free(&r);
	return NULL;
}

START_TEST(test_long_poll_wakes_on_change)
{
	struct delayed_cancel d;
	char path[128];
	pthread_t t;
	ost_resp_t r;
	json_t *j;

	ost_place(port, customer, ORDER_BODY, d.id);
	snprintf(d.customer, sizeof(d.customer), "%s", customer);
	pthread_create(&t, NULL, cancel_later, &d);
	snprintf(path, sizeof(path), "/orders/%s?wait=30", d.id);
	get(&r, NULL, NULL, path);
	pthread_join(t, NULL);
	ck_assert_int_eq(r.status, 200);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "CANCELLED");
	json_decref(j);
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_long_poll_times_out)
{
	char id[37], path[128], other[80];
	ost_resp_t r;
	json_t *j;

	ost_place(port, customer, ORDER_BODY, id);
	snprintf(path, sizeof(path), "/orders/%s?wait=1", id);
	get(&r, NULL, NULL, path);
	ck_assert_int_eq(r.status, 200);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "PENDING");
	json_decref(j);
	ost_resp_free(&r);
	/* Access rules hold for long-polls too. */
	snprintf(other, sizeof(other), "%s-x", customer);
	get(&r, other, NULL, path);
	ck_assert_int_eq(r.status, 404);
	ost_resp_free(&r);
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_wait");
	ost_create_topics("os_wait");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service long-polls");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_long_poll_wakes_on_change);
	tcase_add_test(tc, test_long_poll_times_out);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
