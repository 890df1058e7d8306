/*
 * The catalogue's prices against the real daemon, Kafka and FerretDB:
 * product currency (default, explicit, refused), ProductChanged on every
 * change of name, price or currency with a growing version and none for a
 * stock-only change or a repeat, the price check at reservation
 * (price_changed, stock untouched, a redelivery republishes the same
 * result), a price change racing orders, and the crash points of a
 * change's publication (services/catalogue.c, services/prices.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "support/inv_support.h"
#include "support/kafka_support.h"

#define WAIT_MS 60000

static long put(unsigned short port, const char *sku, const char *body, json_t **out)
{
	char path[128];

	snprintf(path, sizeof(path), "/products/%s", sku);
	return ts_http(port, "PUT", path, ts_admin_headers, body, strlen(body), out);
}

/* The ProductChanged events of SKU so far, oldest first, into V (versions). */
static size_t versions(const ts_events_t *e, const char *sku, int64_t *v, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n && n < max; i++)
		if (strcmp(e->ev[i]->type, "ProductChanged") == 0 &&
		    strcmp(e->ev[i]->subject, sku) == 0)
			v[n++] = json_integer_value(json_object_get(e->ev[i]->data, "version"));
	return n;
}

/* The ProductChanged of SKU with the highest version, or NULL. */
static const eda_event_t *newest(const ts_events_t *e, const char *sku)
{
	const eda_event_t *best = NULL;

	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->ev[i]->type, "ProductChanged") == 0 &&
		    strcmp(e->ev[i]->subject, sku) == 0 &&
		    (best == NULL ||
		     json_integer_value(json_object_get(e->ev[i]->data, "version")) >
		             json_integer_value(json_object_get(best->data, "version"))))
			best = e->ev[i];
	return best;
}

static const char *str(const eda_event_t *ev, const char *key)
{
	return json_string_value(json_object_get(ev->data, key));
}

START_TEST(currency_and_product_changed)
{
	ts_inv_t t;
	ts_events_t pe;
	unsigned short p = ts_free_port();
	pid_t d;
	json_t *out = NULL;
	int64_t v[16];
	size_t n;
	static const struct {
		const char *body;
		long code;
		const char *currency; /* in the answer; NULL: refused */
		int publishes;
	} steps[] = {
	        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":5}", 201, "EUR", 1},
	        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":5}", 200, "EUR", 0},
	        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"currency\":\"EUR\",\"stock\":8}", 200,
	         "EUR", 0},
	        {"{\"name\":\"Mug\",\"price\":\"9.95\",\"stock\":8}", 200, "EUR", 1},
	        {"{\"name\":\"Mug\",\"price\":\"9.95\",\"currency\":\"USD\",\"stock\":8}", 200,
	         "USD", 1},
	        {"{\"name\":\"Big mug\",\"price\":\"9.95\",\"currency\":\"USD\",\"stock\":8}", 200,
	         "USD", 1},
	        {"{\"name\":\"Mug\",\"price\":\"9.95\",\"currency\":\"usd\",\"stock\":8}", 422,
	         NULL, 0},
	        {"{\"name\":\"Mug\",\"price\":\"9.95\",\"currency\":\"EURO\",\"stock\":8}", 422,
	         NULL, 0},
	        {"{\"name\":\"Mug\",\"price\":\"9.95\",\"currency\":7,\"stock\":8}", 422, NULL, 0},
	};
	int want = 0;

	ts_inv_init(&t, "inv-prices-cur", 1);
	d = ts_inv_start(&t, p, NULL, NULL);
	ts_events_open(&pe, t.products, 1);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ck_assert_int_eq(put(p, "MUG-C", steps[i].body, &out), steps[i].code);
		if (steps[i].currency != NULL) {
			ck_assert_str_eq(json_string_value(json_object_get(out, "currency")),
			                 steps[i].currency);
		} else {
			json_t *e0 = json_array_get(json_object_get(out, "errors"), 0);

			ck_assert_str_eq(json_string_value(json_object_get(e0, "field")),
			                 "currency");
		}
		json_decref(out);
		want += steps[i].publishes;
	}
	ck_assert_int_eq(ts_http(p, "GET", "/products/MUG-C", ts_user_headers, NULL, 0, &out), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "currency")), "USD");
	json_decref(out);
	ck_assert_uint_eq(ts_events_wait(&pe, "ProductChanged", "MUG-C", (size_t)want, WAIT_MS),
	                  (size_t)want);
	/* Nothing more arrives: stock-only changes and repeats publish none. */
	ts_events_poll(&pe, 1500);
	n = versions(&pe, "MUG-C", v, 16);
	ck_assert_uint_eq(n, (size_t)want);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(v[i], (int64_t)i + 1);
	ck_assert_str_eq(str(newest(&pe, "MUG-C"), "name"), "Big mug");
	ck_assert_str_eq(str(newest(&pe, "MUG-C"), "price"), "9.95");
	ck_assert_str_eq(str(newest(&pe, "MUG-C"), "currency"), "USD");
	ts_events_validate(&pe);
	ts_events_close(&pe);
	ts_inv_stop(d);
}
END_TEST

START_TEST(stale_price_fails_the_order)
{
	ts_inv_t t;
	ts_events_t ev;
	unsigned short p = ts_free_port();
	pid_t d;
	char order[37], *placed;
	const char *skus[] = {"DEAR-1", "CHEAP-1"};
	const int qty[] = {2, 1};
	const eda_event_t *r;
	json_t *det;

	ts_inv_init(&t, "inv-prices-stale", 1);
	d = ts_inv_start(&t, p, NULL, NULL);
	ts_events_open(&ev, t.inventory, 1);
	/* The order quotes 10.00 for both lines (inv_support.c). */
	ck_assert_int_eq(
	        put(p, "DEAR-1", "{\"name\":\"Dear\",\"price\":\"25.00\",\"stock\":5}", NULL), 201);
	ck_assert_int_eq(
	        put(p, "CHEAP-1", "{\"name\":\"Cheap\",\"price\":\"10.00\",\"stock\":5}", NULL),
	        201);
	ts_uuid(order);
	placed = ts_order_placed(order, 2, skus, qty);
	ts_send(t.orders, order, placed);
	ck_assert_uint_eq(ts_events_wait(&ev, "InventoryReservationFailed", order, 1, WAIT_MS), 1);
	r = ts_events_find(&ev, "InventoryReservationFailed", order);
	ck_assert_str_eq(str(r, "reason"), "price_changed");
	det = json_object_get(r->data, "details");
	ck_assert_uint_eq(json_array_size(det), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(det, 0), "sku")),
	                 "DEAR-1");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(det, 0), "quoted")),
	                 "10.00");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(det, 0), "price")),
	                 "25.00");
	ck_assert_int_eq(ts_stock(p, "DEAR-1"), 5);
	ck_assert_int_eq(ts_stock(p, "CHEAP-1"), 5);
	/* Redelivered after the price came back to the quote: the recorded
	 * decision is republished, not taken again. */
	ck_assert_int_eq(
	        put(p, "DEAR-1", "{\"name\":\"Dear\",\"price\":\"10.00\",\"stock\":5}", NULL), 200);
	ts_send(t.orders, order, placed);
	ts_events_poll(&ev, 3000);
	ck_assert_uint_eq(ts_events_distinct(&ev, "InventoryReservationFailed", order), 1);
	ck_assert_ptr_null(ts_events_find(&ev, "InventoryReserved", order));
	ck_assert_int_eq(ts_stock(p, "DEAR-1"), 5);
	/* A currency that is not the products' is refused the same way. */
	ck_assert_int_eq(
	        put(p, "DEAR-1",
	            "{\"name\":\"Dear\",\"price\":\"10.00\",\"currency\":\"USD\",\"stock\":5}",
	            NULL),
	        200);
	free(placed);
	ts_uuid(order);
	placed = ts_order_placed(order, 2, skus, qty);
	ts_send(t.orders, order, placed);
	ck_assert_uint_eq(ts_events_wait(&ev, "InventoryReservationFailed", order, 1, WAIT_MS), 1);
	r = ts_events_find(&ev, "InventoryReservationFailed", order);
	ck_assert_str_eq(str(r, "reason"), "price_changed");
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(r->data, "details"), 0), "sku")),
	                 "DEAR-1");
	free(placed);
	ts_events_validate(&ev);
	ts_events_close(&ev);
	ts_inv_stop(d);
}
END_TEST

/* Orders sent after the PUT that changed the price returned are never
 * reserved at the old price; those sent before may go either way. */
START_TEST(price_change_races_orders)
{
	enum { BEFORE = 10, AFTER = 10 };
	ts_inv_t t;
	ts_events_t ev;
	unsigned short p = ts_free_port();
	pid_t d;
	char before[BEFORE][37], after[AFTER][37];
	const char *sku[] = {"RACE-1"};
	const int one[] = {1};

	ts_inv_init(&t, "inv-prices-race", 1);
	d = ts_inv_start(&t, p, NULL, NULL);
	ts_events_open(&ev, t.inventory, 1);
	ck_assert_int_eq(
	        put(p, "RACE-1", "{\"name\":\"Race\",\"price\":\"10.00\",\"stock\":100}", NULL),
	        201);
	for (int i = 0; i < BEFORE; i++) {
		char *v;

		ts_uuid(before[i]);
		v = ts_order_placed(before[i], 1, sku, one);
		ts_send(t.orders, before[i], v);
		free(v);
	}
	ck_assert_int_eq(
	        put(p, "RACE-1", "{\"name\":\"Race\",\"price\":\"11.00\",\"stock\":100}", NULL),
	        200);
	for (int i = 0; i < AFTER; i++) {
		char *v;

		ts_uuid(after[i]);
		v = ts_order_placed(after[i], 1, sku, one);
		ts_send(t.orders, after[i], v);
		free(v);
	}
	for (int i = 0; i < AFTER; i++) {
		const eda_event_t *r;

		ck_assert_uint_eq(
		        ts_events_wait(&ev, "InventoryReservationFailed", after[i], 1, WAIT_MS), 1);
		r = ts_events_find(&ev, "InventoryReservationFailed", after[i]);
		ck_assert_str_eq(str(r, "reason"), "price_changed");
		ck_assert_ptr_null(ts_events_find(&ev, "InventoryReserved", after[i]));
	}
	for (int i = 0; i < BEFORE; i++)
		ck_assert(ts_events_find(&ev, "InventoryReserved", before[i]) != NULL ||
		          ts_events_find(&ev, "InventoryReservationFailed", before[i]) != NULL);
	ts_events_validate_c(&ev);
	ts_events_close(&ev);
	ts_inv_stop(d);
}
END_TEST

/* INVENTORY_CRASH_AT=N for N = 1, 2, ... through a PUT that creates a
 * product: after a restart the newest ProductChanged says what GET says, and
 * the same PUT again publishes nothing new. */
START_TEST(publication_crash_points)
{
	ts_inv_t t;
	ts_events_t pe;
	const char *body = "{\"name\":\"Crash\",\"price\":\"25.00\",\"stock\":3}";
	bool finished = false;

	ts_inv_init(&t, "inv-prices-crash", 1);
	ts_events_open(&pe, t.products, 1);
	for (int n = 1; n <= 20 && !finished; n++) {
		unsigned short p = ts_free_port();
		char crash[16], sku[32], path[64];
		pid_t d;
		json_t *out = NULL;
		long code;
		int64_t v[16];
		size_t before;

		snprintf(crash, sizeof(crash), "%d", n);
		snprintf(sku, sizeof(sku), "CRASH-%d", n);
		d = ts_inv_start(&t, p, NULL, crash);
		/* Wait until it serves (the crash run does not wait for ready). */
		for (int i = 0;
		     i < 600 && ts_http(p, "GET", "/healthz", NULL, NULL, 0, NULL) != 200; i++)
			ts_events_poll(&pe, 50);
		code = put(p, sku, body, NULL);
		if (ts_inv_wait_exit(d, 3) != 99) {
			/* No crash point left in the PUT and its publication. */
			ck_assert_int_eq(code, 201);
			finished = true;
		}
		d = ts_inv_start(&t, p, NULL, NULL);
		snprintf(path, sizeof(path), "/products/%s", sku);
		code = ts_http(p, "GET", path, ts_user_headers, NULL, 0, &out);
		if (code == 200) {
			const eda_event_t *last;

			ck_assert_uint_ge(ts_events_wait(&pe, "ProductChanged", sku, 1, WAIT_MS),
			                  1);
			last = newest(&pe, sku);
			ck_assert_str_eq(str(last, "price"),
			                 json_string_value(json_object_get(out, "price")));
			ck_assert_str_eq(str(last, "name"), "Crash");
			ck_assert_str_eq(str(last, "currency"), "EUR");
		} else {
			/* Crashed before the document: no product, no event. */
			ck_assert_int_eq(code, 404);
			ck_assert_uint_eq(versions(&pe, sku, v, 16), 0);
		}
		json_decref(out);
		/* The PUT again (a client's retry): a crashed creation finishes,
		 * a finished one publishes nothing new. */
		ts_events_poll(&pe, 500);
		before = versions(&pe, sku, v, 16);
		code = put(p, sku, body, NULL);
		ck_assert(code == 200 || code == 201);
		ck_assert_uint_ge(ts_events_wait(&pe, "ProductChanged", sku, 1, WAIT_MS), 1);
		ts_events_poll(&pe, 1000);
		if (before > 0)
			ck_assert_uint_eq(versions(&pe, sku, v, 16), before);
		ck_assert_str_eq(str(newest(&pe, sku), "price"), "25.00");
		ts_inv_stop(d);
	}
	ck_assert_msg(finished, "a PUT still crashed at its 20th write");
	ts_events_validate_c(&pe);
	ts_events_close(&pe);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_prices");
	TCase *tc = tcase_create("prices");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, currency_and_product_changed);
	tcase_add_test(tc, stale_price_fails_the_order);
	tcase_add_test(tc, price_change_races_orders);
	tcase_add_test(tc, publication_crash_points);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
