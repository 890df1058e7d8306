/*
 * Concurrency with two real inventory processes in one consumer group over
 * one database: the orders topic has two partitions, each process owns one,
 * and two orders for the last unit of a SKU are produced one to each
 * partition at the same moment. Exactly one may win, fifty times over. Then
 * admin restocks race with a stream of reservations and no update may be
 * lost. (Run against FerretDB 1.24, where a conditional $inc is a read and a
 * separate write, not atomic between clients; the ledger's unique
 * (sku, version) key is what makes this pass.)
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "support/check_main.h"
#include "support/inv_support.h"
#include "support/kafka_support.h"

#define ROUNDS  50
#define WAIT_MS 60000

typedef struct pair {
	ts_inv_t t;
	unsigned short port[2];
	pid_t pid[2];
	rd_kafka_t *producer;
} pair_t;

static void start_pair(pair_t *p, const char *name)
{
	char err[256];

	ts_inv_init(&p->t, name, 2);
	/* One member per process, so that each process owns one partition and
	 * the race is between processes. */
	setenv("CONSUMER_THREADS", "1", 1);
	for (int i = 0; i < 2; i++) {
		p->port[i] = ts_free_port();
		p->pid[i] = ts_inv_start(&p->t, p->port[i], NULL, NULL);
	}
	unsetenv("CONSUMER_THREADS");
	/* After the second member joined, each holds one partition. */
	for (int i = 0; i < 2; i++)
		ck_assert_msg(ts_inv_wait_log(&p->t, p->port[i], "1 partitions assigned", 30000),
		              "member %d never got exactly one partition", i);
	p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, ts_kafka_conf(), err, sizeof(err));
	ck_assert_ptr_nonnull(p->producer);
}

static void stop_pair(pair_t *p)
{
	rd_kafka_destroy(p->producer);
	ts_inv_stop(p->pid[0]);
	ts_inv_stop(p->pid[1]);
}

static void produce(pair_t *p, int partition, const char *key, const char *value)
{
	ck_assert_int_eq(
	        rd_kafka_producev(p->producer, RD_KAFKA_V_TOPIC(p->t.orders),
	                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, strlen(key)),
	                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
	                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
	        0);
}

static int result_of(ts_events_t *ev, const char *order_id)
{
	for (int i = 0; i < WAIT_MS / 100; i++) {
		if (ts_events_find(ev, "InventoryReserved", order_id) != NULL)
			return 1;
		if (ts_events_find(ev, "InventoryReservationFailed", order_id) != NULL)
			return 0;
		ts_events_poll(ev, 100);
	}
	ck_abort_msg("no result for %s", order_id);
	return -1;
}

START_TEST(last_unit_has_one_winner)
{
	pair_t p;
	ts_events_t ev;

	start_pair(&p, "inv-race");
	ts_events_open(&ev, p.t.inventory, 2);
	for (int round = 0; round < ROUNDS; round++) {
		char sku[32], a[37], b[37], *va, *vb;
		const char *skus[1] = {sku};
		int wins;

		snprintf(sku, sizeof(sku), "LAST-%d", round);
		ts_put_product(p.port[round % 2], sku, 1);
		ts_uuid(a);
		ts_uuid(b);
		va = ts_order_placed(a, 1, skus, (const int[]){1});
		vb = ts_order_placed(b, 1, skus, (const int[]){1});
		produce(&p, 0, a, va);
		produce(&p, 1, b, vb);
		rd_kafka_flush(p.producer, 10000);
		free(va);
		free(vb);
		wins = result_of(&ev, a) + result_of(&ev, b);
		ck_assert_msg(wins == 1, "round %d: %d winners", round, wins);
		ck_assert_int_eq(ts_stock(p.port[0], sku), 0);
		ck_assert_int_eq(ts_stock(p.port[1], sku), 0);
	}
	ts_events_poll(&ev, 200);
	ts_events_validate(&ev);
	ts_events_close(&ev);
	stop_pair(&p);
}
END_TEST

START_TEST(restock_racing_with_reservations_loses_nothing)
{
	enum { ORDERS = 60, RESTOCKS = 20, START = 10, EACH = 2 };
	pair_t p;
	ts_events_t ev;
	char ids[ORDERS][37];
	const char *skus[1] = {"HOT-1"};
	int reserved = 0;
	int64_t sum = 0, final;

	start_pair(&p, "inv-restock");
	ts_events_open(&ev, p.t.inventory, 2);
	ts_put_product(p.port[0], "HOT-1", START);
	for (int i = 0; i < ORDERS; i++) {
		char *v;

		ts_uuid(ids[i]);
		v = ts_order_placed(ids[i], 1, skus, (const int[]){1});
		produce(&p, i % 2, ids[i], v);
		free(v);
	}
	rd_kafka_flush(p.producer, 10000);
	for (int i = 0; i < RESTOCKS; i++) {
		const char *body = "{\"quantity\": 2}";

		ck_assert_int_eq(ts_http(p.port[i % 2], "POST", "/products/HOT-1/restock",
		                         ts_admin_headers, body, strlen(body), NULL),
		                 200);
	}
	for (int i = 0; i < ORDERS; i++)
		reserved += result_of(&ev, ids[i]);
	final = ts_stock(p.port[0], "HOT-1");
	ck_assert_int_eq(final, START + RESTOCKS * EACH - reserved);
	ck_assert_int_ge(final, 0);
	/* The published stock changes add up to the same balance: one event per
	 * change, none lost (ordered by SKU key on one partition). */
	ts_events_wait(&ev, "InventoryUpdated", "HOT-1", (size_t)reserved + 1 + RESTOCKS, WAIT_MS);
	ck_assert_uint_eq(ts_events_distinct(&ev, "InventoryUpdated", "HOT-1"),
	                  (size_t)reserved + 1 + RESTOCKS);
	for (size_t i = 0; i < ev.n; i++) {
		if (strcmp(ev.ev[i]->type, "InventoryUpdated") != 0)
			continue;
		sum += json_integer_value(json_object_get(ev.ev[i]->data, "delta"));
		ck_assert_int_ge(json_integer_value(json_object_get(ev.ev[i]->data, "stock")), 0);
	}
	ck_assert_int_eq(sum, final);
	ts_events_validate(&ev);
	ts_events_close(&ev);
	stop_pair(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_race");
	TCase *tc = tcase_create("race");

	eda_log_init("test-race", EDA_LOG_WARN);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, last_unit_has_one_winner);
	tcase_add_test(tc, restock_racing_with_reservations_loses_nothing);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
