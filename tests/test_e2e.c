/*
 * End to end, through the gateway only, on the real stack and the four real
 * daemons (tests/support/system.c starts them on topics and databases of their
 * own):
 *   - the sagas: confirmed, rejected for lack of stock, cancelled after
 *     confirmation (stock comes back), PaymentProcessed -> PAID;
 *   - every event on every topic is a valid envelope whose data keeps its
 *     contract, and carries the X-Request-Id of the request that started it;
 *   - stock arithmetic over 200 random orders from 4 concurrent clients, while
 *     each daemon is restarted once (SIGTERM) in the middle: every order ends
 *     CONFIRMED or REJECTED, final stock = initial - confirmed quantities.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/event.h"
#include "eda/log.h"
#include "eda/producer.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/system.h"

static sys_t sys;

static void start_system(void)
{
	sys_start(&sys);
}

static void stop_system(void)
{
	sys_stop(&sys);
}

/* POSTs an order for QUANTITY of SKU as TOKEN with X-Request-Id REQ; returns its id. */
static char *place(const char *token, const char *sku, int quantity, const char *req)
{
	char body[256], hdr[128];
	json_t *o = NULL;
	char *id;
	int code;

	snprintf(body, sizeof(body),
	         "{\"items\":[{\"sku\":\"%s\",\"quantity\":%d,\"unit_price\":\"5.00\"}],"
	         "\"currency\":\"EUR\"}",
	         sku, quantity);
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", req);
	code = sys_http(&sys, "POST", "/orders", token, body, hdr, &o);
	ck_assert_msg(code == 201, "POST /orders: %d", code);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "PENDING");
	id = strdup(json_string_value(json_object_get(o, "id")));
	json_decref(o);
	return id;
}

static long stock_of(const char *sku)
{
	char path[128];
	json_t *p = NULL;
	long stock;

	snprintf(path, sizeof(path), "/products/%s", sku);
	ck_assert_int_eq(sys_http(&sys, "GET", path, sys.customer_token, NULL, NULL, &p), 200);
	stock = (long)json_integer_value(json_object_get(p, "stock"));
	json_decref(p);
	return stock;
}

/* Waits until SKU's stock reads WANT (the product document follows the ledger
 * shortly after the event). */
static void expect_stock(const char *sku, long want)
{
	long got = -1;

	for (time_t deadline = time(NULL) + 20; time(NULL) < deadline; usleep(100 * 1000)) {
		got = stock_of(sku);
		if (got == want)
			return;
	}
	ck_abort_msg("stock of %s is %ld, want %ld", sku, got, want);
}

static void expect_status(const char *id, const char *want)
{
	json_t *o = sys_wait_order(&sys, sys.customer_token, id, 20);

	ck_assert_msg(strcmp(json_string_value(json_object_get(o, "status")), want) == 0,
	              "order %s is %s, want %s", id,
	              json_string_value(json_object_get(o, "status")), want);
	json_decref(o);
}

START_TEST(confirmed_saga)
{
	char *id;

	sys_put_product(&sys, "E2E-A", "5.00", 10);
	id = place(sys.customer_token, "E2E-A", 2, "req-confirmed");
	expect_status(id, "CONFIRMED");
	expect_stock("E2E-A", 8);
	/* Someone else's order is not found for another customer. */
	char path[128];
	snprintf(path, sizeof(path), "/orders/%s", id);
	ck_assert_int_eq(sys_http(&sys, "GET", path, sys.other_token, NULL, NULL, NULL), 404);
	free(id);
}
END_TEST

START_TEST(rejected_saga)
{
	char *id;

	sys_put_product(&sys, "E2E-B", "5.00", 1);
	id = place(sys.customer_token, "E2E-B", 3, "req-rejected");
	expect_status(id, "REJECTED");
	expect_stock("E2E-B", 1);
	free(id);
}
END_TEST

START_TEST(cancelled_after_confirmation_releases_stock)
{
	char path[160], *id;
	json_t *o = NULL;

	sys_put_product(&sys, "E2E-C", "5.00", 5);
	id = place(sys.customer_token, "E2E-C", 4, "req-cancelled");
	expect_status(id, "CONFIRMED");
	expect_stock("E2E-C", 1);
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ck_assert_int_eq(sys_http(&sys, "POST", path, sys.customer_token, NULL, NULL, &o), 200);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "CANCELLED");
	json_decref(o);
	expect_stock("E2E-C", 5);
	/* Cancelling twice is a conflict, not a second release. */
	ck_assert_int_eq(sys_http(&sys, "POST", path, sys.customer_token, NULL, NULL, NULL), 409);
	free(id);
}
END_TEST

START_TEST(payment_moves_confirmed_to_paid)
{
	char err[512], *id;
	eda_producer_t *p;
	eda_event_t *ev;
	char *value;
	size_t len;
	eda_kafka_header_t hdr = {"content-type", EDA_EVENT_CONTENT_TYPE,
	                          strlen(EDA_EVENT_CONTENT_TYPE)};
	json_t *o = NULL;
	char path[160];

	sys_put_product(&sys, "E2E-D", "5.00", 5);
	id = place(sys.customer_token, "E2E-D", 1, "req-paid");
	expect_status(id, "CONFIRMED");
	ev = eda_event_new("/payment-service", EDA_EVENT_PAYMENT_PROCESSED, id,
	                   json_pack("{s:s, s:s, s:s, s:s}", "order_id", id, "payment_id",
	                             "7d0f2b8e-4c1a-4f5e-9b3d-2a6c8e1f0a11", "amount", "5.00",
	                             "currency", "EUR"),
	                   NULL, "req-paid");
	value = eda_event_serialize(ev, &len);
	p = eda_producer_new(ts_kafka_conf(), NULL, NULL, NULL, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(eda_producer_send_sync(p, sys.topic_payments, id, strlen(id), value, len,
	                                        &hdr, 1, 30000, err, sizeof(err)),
	                 EDA_PRODUCER_OK);
	eda_producer_free(p, 5000);
	free(value);
	eda_event_free(ev);

	snprintf(path, sizeof(path), "/orders/%s", id);
	for (time_t deadline = time(NULL) + 20; time(NULL) < deadline; usleep(100 * 1000)) {
		json_decref(o);
		o = NULL;
		ck_assert_int_eq(sys_http(&sys, "GET", path, sys.customer_token, NULL, NULL, &o),
		                 200);
		if (strcmp(json_string_value(json_object_get(o, "status")), "PAID") == 0)
			break;
	}
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "PAID");
	json_decref(o);
	free(id);
}
END_TEST

/* Runs after the sagas above (same fixture, tests run in order): every event the
 * system produced is a valid envelope of a known type, and every one of a saga
 * started above carries that request's id as correlationid. */
START_TEST(every_event_is_valid_and_correlated)
{
	const char *topics[] = {sys.topic_orders, sys.topic_inventory};
	int seen_placed = 0;

	for (size_t t = 0; t < 2; t++) {
		json_t *all = sys_read_topic(topics[t]), *v;
		size_t i;

		ck_assert_int_gt(json_array_size(all), 0);
		json_array_foreach(all, i, v)
		{
			char *text = json_dumps(v, JSON_COMPACT);
			char err[256];
			eda_event_t *ev = NULL;

			ck_assert_ptr_nonnull(text);
			ck_assert_msg(eda_event_parse(text, strlen(text), &ev, err, sizeof(err)) ==
			                      0,
			              "%s: %s", topics[t], err);
			ck_assert_msg(eda_event_validate_data(ev, err, sizeof(err)) == 0,
			              "%s %s: %s", topics[t], ev->type, err);
			if (strcmp(ev->type, EDA_EVENT_INVENTORY_UPDATED) != 0) {
				ck_assert_msg(ev->correlationid != NULL &&
				                      strncmp(ev->correlationid, "req-", 4) == 0,
				              "%s %s has correlationid %s", topics[t], ev->type,
				              ev->correlationid ? ev->correlationid : "(none)");
			}
			/* Events that react to an event name it; OrderPlaced and
			 * OrderCancelled are caused by HTTP requests, and InventoryUpdated
			 * may come from an admin's request too. */
			if (strcmp(ev->type, EDA_EVENT_ORDER_PLACED) == 0)
				seen_placed++;
			else if (strcmp(ev->type, EDA_EVENT_ORDER_CANCELLED) != 0 &&
			         strcmp(ev->type, EDA_EVENT_INVENTORY_UPDATED) != 0)
				ck_assert_msg(ev->causationid != NULL, "%s without causationid",
				              ev->type);
			eda_event_free(ev);
			free(text);
		}
		json_decref(all);
	}
	ck_assert_int_ge(seen_placed, 4);
}
END_TEST

/* ---- load with restarts ---------------------------------------------------- */

#define CLIENTS           4
#define ORDERS_PER_CLIENT 50
#define SKUS              5
#define INITIAL_STOCK     60

struct client {
	int n;
	char *ids[ORDERS_PER_CLIENT];
	int sku[ORDERS_PER_CLIENT];
	int quantity[ORDERS_PER_CLIENT];
	unsigned seed;
};

static void *client_run(void *arg)
{
	struct client *c = arg;

	for (int i = 0; i < ORDERS_PER_CLIENT; i++) {
		char sku[32], req[64];

		c->sku[i] = (int)(rand_r(&c->seed) % SKUS);
		c->quantity[i] = 1 + (int)(rand_r(&c->seed) % 3);
		snprintf(sku, sizeof(sku), "LOAD-%d", c->sku[i]);
		snprintf(req, sizeof(req), "req-load-%u-%d", c->seed, i);
		c->ids[i] = place(sys.customer_token, sku, c->quantity[i], req);
		c->n++;
	}
	return NULL;
}

START_TEST(stock_arithmetic_under_restarts)
{
	struct client clients[CLIENTS];
	pthread_t threads[CLIENTS];
	long confirmed[SKUS] = {0};
	int done = 0;

	for (int k = 0; k < SKUS; k++) {
		char sku[32];

		snprintf(sku, sizeof(sku), "LOAD-%d", k);
		sys_put_product(&sys, sku, "5.00", INITIAL_STOCK);
	}
	memset(clients, 0, sizeof(clients));
	for (int c = 0; c < CLIENTS; c++) {
		clients[c].seed = (unsigned)(1000 + c);
		ck_assert_int_eq(pthread_create(&threads[c], NULL, client_run, &clients[c]), 0);
	}
	/* While the clients run, restart the daemons behind the gateway one by one:
	 * orders already accepted must still end right. (The gateway itself is
	 * restarted after the clients are done: they talk only to it.) */
	usleep(300 * 1000);
	sys_restart(&sys, SYS_INVENTORY);
	sys_restart(&sys, SYS_NOTIFICATION);
	for (int c = 0; c < CLIENTS; c++)
		pthread_join(threads[c], NULL);
	sys_restart(&sys, SYS_ORDER);
	sys_restart(&sys, SYS_GATEWAY);

	for (int c = 0; c < CLIENTS; c++) {
		for (int i = 0; i < clients[c].n; i++) {
			json_t *o = sys_wait_order(&sys, sys.customer_token, clients[c].ids[i], 30);
			const char *st = json_string_value(json_object_get(o, "status"));

			ck_assert_msg(strcmp(st, "CONFIRMED") == 0 || strcmp(st, "REJECTED") == 0,
			              "order %s ended %s", clients[c].ids[i], st);
			if (strcmp(st, "CONFIRMED") == 0)
				confirmed[clients[c].sku[i]] += clients[c].quantity[i];
			done++;
			json_decref(o);
			free(clients[c].ids[i]);
		}
	}
	ck_assert_int_eq(done, CLIENTS * ORDERS_PER_CLIENT);
	for (int k = 0; k < SKUS; k++) {
		char sku[32];

		snprintf(sku, sizeof(sku), "LOAD-%d", k);
		ck_assert_int_le(confirmed[k], INITIAL_STOCK);
		expect_stock(sku, INITIAL_STOCK - confirmed[k]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e");
	TCase *saga = tcase_create("saga");
	TCase *load = tcase_create("load");

	eda_log_init("test-e2e", EDA_LOG_WARN);
	/* One system for the saga tests (started once, in the runner's process). */
	tcase_add_unchecked_fixture(saga, start_system, stop_system);
	tcase_set_timeout(saga, 120);
	tcase_add_test(saga, confirmed_saga);
	tcase_add_test(saga, rejected_saga);
	tcase_add_test(saga, cancelled_after_confirmation_releases_stock);
	tcase_add_test(saga, payment_moves_confirmed_to_paid);
	tcase_add_test(saga, every_event_is_valid_and_correlated);
	/* The restart test changes which processes run: it gets a system of its own,
	 * started and stopped inside its forked test process. */
	tcase_add_checked_fixture(load, start_system, stop_system);
	tcase_set_timeout(load, 300);
	tcase_add_test(load, stock_arithmetic_under_restarts);
	suite_add_tcase(s, saga);
	suite_add_tcase(s, load);
	return ts_run_suite(s);
}
