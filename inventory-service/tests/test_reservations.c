/*
 * The consumer against the real daemon, Kafka and the MongoDB-protocol server:
 * all-or-nothing reservations, unknown SKUs, redelivery, cancels before and
 * after the reservation, poison messages to the DLQ. Every test has its own
 * topics (one partition, so a later "marker" order proves earlier events were
 * handled), group and database; every published event is schema-checked.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "support/check_main.h"
#include "support/inv_support.h"
#include "support/kafka_support.h"

#define WAIT_MS 60000

typedef struct fixture {
	ts_inv_t t;
	unsigned short port;
	pid_t pid;
	ts_events_t ev;
} fixture_t;

static void up(fixture_t *f, const char *name)
{
	ts_inv_init(&f->t, name, 1);
	f->port = ts_free_port();
	f->pid = ts_inv_start(&f->t, f->port, NULL, NULL);
	ts_events_open(&f->ev, f->t.inventory, 1);
}

static void down(fixture_t *f)
{
	ts_events_poll(&f->ev, 200);
	ts_events_validate(&f->ev);
	ts_events_close(&f->ev);
	ts_inv_stop(f->pid);
}

/* Sends an OrderPlaced and waits for its result event; returns its type. */
static const eda_event_t *place(fixture_t *f, const char *order_id, size_t n,
                                const char *const *skus, const int *qty)
{
	char *v = ts_order_placed(order_id, n, skus, qty);
	const eda_event_t *r;

	ts_send(f->t.orders, order_id, v);
	free(v);
	for (int i = 0; i < WAIT_MS / 100; i++) {
		ts_events_poll(&f->ev, 100);
		if ((r = ts_events_find(&f->ev, "InventoryReserved", order_id)) != NULL ||
		    (r = ts_events_find(&f->ev, "InventoryReservationFailed", order_id)) != NULL)
			return r;
	}
	ck_abort_msg("no result for order %s", order_id);
	return NULL;
}

static json_int_t detail(const eda_event_t *r, const char *sku, const char *what)
{
	json_t *d = json_object_get(r->data, "details"), *it;
	size_t i;

	json_array_foreach(d, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "sku")), sku) == 0)
			return json_integer_value(json_object_get(it, what));
	}
	return -1;
}

START_TEST(all_or_nothing_when_last_is_short)
{
	fixture_t f;
	char o1[37], o2[37];
	const char *skus[] = {"A-1", "B-1", "C-1"};
	const eda_event_t *r;

	up(&f, "inv-aon");
	ts_put_product(f.port, "A-1", 5);
	ts_put_product(f.port, "B-1", 5);
	ts_put_product(f.port, "C-1", 1);
	ts_uuid(o1);
	r = place(&f, o1, 3, skus, (const int[]){2, 3, 2});
	ck_assert_str_eq(r->type, "InventoryReservationFailed");
	ck_assert_str_eq(json_string_value(json_object_get(r->data, "reason")),
	                 "insufficient_stock");
	ck_assert_int_eq(detail(r, "C-1", "requested"), 2);
	ck_assert_int_eq(detail(r, "C-1", "available"), 1);
	ck_assert_int_eq(detail(r, "A-1", "requested"), -1);
	ck_assert_int_eq(ts_stock(f.port, "A-1"), 5);
	ck_assert_int_eq(ts_stock(f.port, "B-1"), 5);
	ck_assert_int_eq(ts_stock(f.port, "C-1"), 1);

	ts_uuid(o2);
	r = place(&f, o2, 3, skus, (const int[]){2, 3, 1});
	ck_assert_str_eq(r->type, "InventoryReserved");
	ck_assert_int_eq(json_array_size(json_object_get(r->data, "items")), 3);
	ck_assert_int_eq(ts_stock(f.port, "A-1"), 3);
	ck_assert_int_eq(ts_stock(f.port, "B-1"), 2);
	ck_assert_int_eq(ts_stock(f.port, "C-1"), 0);
	/* Stock changes: 3 sets, 2 reservations + 2 compensations, 3 reservations. */
	ck_assert_uint_eq(ts_events_wait(&f.ev, "InventoryUpdated", NULL, 10, WAIT_MS), 10);
	down(&f);
}
END_TEST

START_TEST(unknown_sku_changes_nothing)
{
	fixture_t f;
	char o[37];
	const char *skus[] = {"KNOWN", "NOT-THERE"};
	const eda_event_t *r;

	up(&f, "inv-unknown");
	ts_put_product(f.port, "KNOWN", 4);
	ts_uuid(o);
	r = place(&f, o, 2, skus, (const int[]){1, 1});
	ck_assert_str_eq(r->type, "InventoryReservationFailed");
	ck_assert_str_eq(json_string_value(json_object_get(r->data, "reason")), "unknown_sku");
	ck_assert_int_eq(detail(r, "NOT-THERE", "available"), 0);
	ck_assert_int_eq(ts_stock(f.port, "KNOWN"), 4);
	down(&f);
}
END_TEST

START_TEST(same_order_three_times_applies_once)
{
	fixture_t f;
	char o[37], marker[37];
	const char *skus[] = {"TRIPLE"};
	char *v;

	up(&f, "inv-triple");
	ts_put_product(f.port, "TRIPLE", 10);
	ts_uuid(o);
	v = ts_order_placed(o, 1, skus, (const int[]){3});
	for (int i = 0; i < 3; i++)
		ts_send(f.t.orders, o, v);
	free(v);
	ts_uuid(marker);
	ck_assert_str_eq(place(&f, marker, 1, skus, (const int[]){1})->type, "InventoryReserved");
	ck_assert_uint_eq(ts_events_distinct(&f.ev, "InventoryReserved", o), 1);
	ck_assert_uint_eq(ts_events_distinct(&f.ev, "InventoryReservationFailed", o), 0);
	ck_assert_int_eq(ts_stock(f.port, "TRIPLE"), 6);
	down(&f);
}
END_TEST

START_TEST(cancel_after_reservation_releases_once)
{
	fixture_t f;
	char o[37], marker[37];
	const char *skus[] = {"CA-1", "CA-2"};
	const eda_event_t *rel;
	char *c;

	up(&f, "inv-cancel-after");
	ts_put_product(f.port, "CA-1", 5);
	ts_put_product(f.port, "CA-2", 5);
	ts_uuid(o);
	ck_assert_str_eq(place(&f, o, 2, skus, (const int[]){2, 1})->type, "InventoryReserved");
	ck_assert_int_eq(ts_stock(f.port, "CA-1"), 3);
	c = ts_order_cancelled(o);
	ts_send(f.t.orders, o, c);
	ts_send(f.t.orders, o, c); /* redelivered */
	free(c);
	ck_assert_uint_eq(ts_events_wait(&f.ev, "InventoryReleased", o, 1, WAIT_MS), 1);
	ts_uuid(marker);
	ck_assert_str_eq(place(&f, marker, 1, skus, (const int[]){1})->type, "InventoryReserved");
	rel = ts_events_find(&f.ev, "InventoryReleased", o);
	ck_assert_int_eq(json_array_size(json_object_get(rel->data, "items")), 2);
	ck_assert_uint_eq(ts_events_distinct(&f.ev, "InventoryReleased", o), 1);
	ck_assert_int_eq(ts_stock(f.port, "CA-1"), 4); /* 5 - 2 + 2 - 1 (marker) */
	ck_assert_int_eq(ts_stock(f.port, "CA-2"), 5);
	down(&f);
}
END_TEST

START_TEST(cancel_before_reservation_reserves_nothing)
{
	fixture_t f;
	char o[37], rejected[37], marker[37];
	const char *skus[] = {"CB-1"};
	char *c, *p;

	up(&f, "inv-cancel-before");
	ts_put_product(f.port, "CB-1", 5);
	ts_uuid(o);
	c = ts_order_cancelled(o);
	p = ts_order_placed(o, 1, skus, (const int[]){2});
	ts_send(f.t.orders, o, c);
	ts_send(f.t.orders, o, p);
	free(c);
	free(p);
	/* A rejected order's cancel releases nothing either. */
	ts_uuid(rejected);
	ck_assert_str_eq(place(&f, rejected, 1, skus, (const int[]){50})->type,
	                 "InventoryReservationFailed");
	c = ts_order_cancelled(rejected);
	ts_send(f.t.orders, rejected, c);
	free(c);
	ts_uuid(marker);
	ck_assert_str_eq(place(&f, marker, 1, skus, (const int[]){1})->type, "InventoryReserved");
	ck_assert_ptr_null(ts_events_find(&f.ev, "InventoryReserved", o));
	ck_assert_ptr_null(ts_events_find(&f.ev, "InventoryReleased", o));
	ck_assert_ptr_null(ts_events_find(&f.ev, "InventoryReleased", rejected));
	ck_assert_int_eq(ts_stock(f.port, "CB-1"), 4);
	down(&f);
}
END_TEST

/* Reads N messages of the DLQ topic and checks each has a dlq.error header. */
static void expect_dlq(const char *topic, int n)
{
	char err[256];
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	int got = 0;

	rd_kafka_conf_set(conf, "group.id", "ts-dlq-reader", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_ptr_nonnull(rk);
	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	for (int i = 0; i < 600 && got < n; i++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		rd_kafka_headers_t *h;
		const void *v;
		size_t len;

		if (m == NULL)
			continue;
		if (m->err == 0) {
			ck_assert_int_eq(rd_kafka_message_headers(m, &h), 0);
			ck_assert_int_eq(rd_kafka_header_get_last(h, "dlq.error", &v, &len), 0);
			ck_assert_uint_gt(len, 0);
			ck_assert_int_eq(rd_kafka_header_get_last(h, "dlq.offset", &v, &len), 0);
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	ck_assert_int_eq(got, n);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

START_TEST(poison_goes_to_dlq_and_consumer_goes_on)
{
	fixture_t f;
	char o[37], bad[37];
	const char *skus[] = {"POISON-OK"};
	char *v;

	up(&f, "inv-poison");
	ts_put_product(f.port, "POISON-OK", 3);
	ts_send(f.t.orders, "x", "{not json");
	ts_uuid(bad);
	v = ts_order_placed(bad, 1, skus, (const int[]){1});
	/* Quantity 0 breaks the OrderPlaced contract. */
	ck_assert_ptr_nonnull(strstr(v, "\"quantity\":1"));
	/* In place, same length: V stays terminated. */
	// NOLINTNEXTLINE(bugprone-not-null-terminated-result)
	memcpy(strstr(v, "\"quantity\":1"), "\"quantity\":0", 12);
	ts_send(f.t.orders, bad, v);
	free(v);
	ts_send(f.t.orders, "y",
	        "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/x\","
	        "\"type\":\"SomethingNew\"}");
	ts_uuid(o);
	ck_assert_str_eq(place(&f, o, 1, skus, (const int[]){1})->type, "InventoryReserved");
	expect_dlq(f.t.dlq, 2);
	ck_assert_int_eq(ts_stock(f.port, "POISON-OK"), 2);
	down(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_reservations");
	TCase *tc = tcase_create("consumer");

	eda_log_init("test-reservations", EDA_LOG_WARN);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, all_or_nothing_when_last_is_short);
	tcase_add_test(tc, unknown_sku_changes_nothing);
	tcase_add_test(tc, same_order_three_times_applies_once);
	tcase_add_test(tc, cancel_after_reservation_releases_once);
	tcase_add_test(tc, cancel_before_reservation_reserves_nothing);
	tcase_add_test(tc, poison_goes_to_dlq_and_consumer_goes_on);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
