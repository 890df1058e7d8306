/*
 * Tests for the plans of the repositories (src/repositories/): on tables that only grow
 * (orders, order_items, outbox, consumed_events, idempotency_keys, payments,
 * and a catalogue of 20,000 products; 20,000 rows each, one in 20 old enough
 * to purge), no statement of a hot or recovery path reads a whole table.
 * Every statement runs through the repositories' own functions, often enough that the prepared ones
 * switch to their generic plan (the one a long-lived connection keeps), with auto_explain sending
 * each plan back as a notice; a "Seq Scan on" one of those tables fails the test, naming the call.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/database.h"
#include "config/migrations.h"
#include "eda/clock.h"
#include "eda/log.h"
#include "repositories/catalogue.h"
#include "repositories/consumed_events.h"
#include "repositories/idempotency.h"
#include "repositories/orders.h"
#include "repositories/outbox.h"
#include "repositories/payments.h"
#include "schemas/order.h"
#include "services/order_service.h"
#include "support/check_main.h"
#include "support/os_support.h"
#include "utils/pg.h"

/* More than PostgreSQL's 5 custom plans before it tries the generic one. */
#define RUNS 7

static const char *const growing[] = {"orders",   "order_items",      "outbox",   "consumed_events",
                                      "payments", "idempotency_keys", "catalogue"};

static char plans[1 << 16];

static void collect(void *arg, const char *message)
{
	size_t n = strlen(plans);

	(void)arg;
	snprintf(plans + n, sizeof(plans) - n, "%s", message);
}

/* Fails naming WHAT if a plan since the last call read a growing table whole. */
static void assert_no_full_scan(const char *what)
{
	for (size_t i = 0; i < sizeof(growing) / sizeof(growing[0]); i++) {
		char scan[64];

		snprintf(scan, sizeof(scan), "Seq Scan on %s ", growing[i]);
		if (strstr(plans, scan) != NULL) {
			fprintf(stderr, "%s\n", plans); /* too long for check's message */
			ck_abort_msg("%s reads all of %s (plans above)", what, growing[i]);
		}
	}
	ck_assert_msg(strstr(plans, "plan:") != NULL, "%s: no plan seen", what);
	plans[0] = '\0';
}

static PGconn *explaining(void)
{
	char err[256];
	PGconn *c = os_db_connect(ost_database_url(), 10000, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	PQsetNoticeProcessor(c, collect, NULL);
	ck_assert_int_eq(os_pg_cmd(c, "LOAD 'auto_explain'", err, sizeof(err)), 0);
	ck_assert_int_eq(os_pg_cmd(c, "SET auto_explain.log_min_duration = 0", err, sizeof(err)),
	                 0);
	ck_assert_int_eq(os_pg_cmd(c, "SET auto_explain.log_level = notice", err, sizeof(err)), 0);
	plans[0] = '\0';
	return c;
}

static void new_order(os_order_t *o, const char *customer)
{
	json_t *req = json_loads("{\"items\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price\":"
	                         "\"5.00\"}],\"currency\":\"EUR\"}",
	                         0, NULL);
	json_t *errors = NULL;

	memset(o, 0, sizeof(*o));
	ck_assert_int_eq(os_order_request_parse(req, o, &errors), 0);
	json_decref(req);
	os_order_new_id(o->id);
	snprintf(o->customer_id, sizeof(o->customer_id), "%s", customer);
	snprintf(o->customer_email, sizeof(o->customer_email), "ada@example.com");
	o->status = OS_PENDING;
	eda_clock_rfc3339(o->created_at);
	memcpy(o->updated_at, o->created_at, OS_TIME_LEN);
}

START_TEST(test_no_lookup_reads_a_growing_table)
{
	PGconn *c = explaining();
	char ids[RUNS][OS_UUID_LEN + 1], err[512], state[6], out[256], key[32], ev[32];
	os_outbox_row_t *rows;
	os_order_t o, page[5];
	long long gap = 1, next;
	int n;

	for (int i = 0; i < RUNS; i++) {
		os_place_write_t w = {.topic = "t",
		                      .event_id = "e",
		                      .payload = "{\"correlationid\":\"x\"}",
		                      .idem_key = NULL};

		new_order(&o, "plan-c");
		snprintf(ids[i], sizeof(ids[i]), "%s", o.id);
		ck_assert_int_eq(os_repo_order_insert(c, &o, &w, err, sizeof(err), state), 1);
		os_order_clear(&o);
		new_order(&o, "plan-c");
		snprintf(key, sizeof(key), "key-%d", i);
		w.idem_key = key;
		w.idem_canonical = "canonical";
		w.idem_response = "{}";
		ck_assert_int_eq(os_repo_order_insert(c, &o, &w, err, sizeof(err), state), 1);
		os_order_clear(&o);
	}
	assert_no_full_scan("POST /orders (order_insert, order_insert_keyed)");

	for (int i = 0; i < RUNS; i++) {
		bool same;
		int status;
		char *body = NULL;

		ck_assert_int_eq(os_repo_order_get(c, ids[i], i % 2, &o, err, sizeof(err)), 1);
		os_order_clear(&o);
		ck_assert_int_eq(
		        os_repo_order_correlation(c, ids[i], out, sizeof(out), err, sizeof(err)),
		        0);
		ck_assert_str_eq(out, "x");
		snprintf(key, sizeof(key), "key-%d", i);
		ck_assert_int_eq(os_repo_idempotency_get(c, "plan-c", key, "canonical", &same,
		                                         &status, &body, err, sizeof(err)),
		                 1);
		free(body);
	}
	assert_no_full_scan("order get, correlation, idempotency key");

	for (int i = 0; i < RUNS; i++) {
		os_product_t found[1];

		new_order(&o, "plan-c");
		ck_assert_int_eq(os_repo_catalogue_find(c, &o, found, err, sizeof(err)), 1);
		os_order_clear(&o);
		snprintf(key, sizeof(key), "PLAN-%d", i);
		ck_assert_int_eq(
		        os_repo_catalogue_upsert(c, key, "n", 100, "EUR", 1, err, sizeof(err)), 1);
		ck_assert_int_eq(
		        os_repo_catalogue_upsert(c, key, "n", 100, "EUR", 1, err, sizeof(err)), 0);
	}
	assert_no_full_scan("pricing (catalogue_find), ProductChanged (catalogue_upsert)");

	for (int i = 0; i < RUNS; i++) {
		ck_assert_int_eq(os_repo_order_set_status(c, ids[i], OS_PENDING, OS_CONFIRMED, NULL,
		                                          &o, err, sizeof(err)),
		                 1);
		os_order_clear(&o);
		snprintf(ev, sizeof(ev), "plan-ev-%d", i);
		ck_assert_int_eq(os_repo_consumed_insert(c, "/inventory-service", ev,
		                                         "InventoryReserved", ids[i], "applied",
		                                         err, sizeof(err)),
		                 1);
		ck_assert_int_eq(os_repo_consumed_set_outcome(c, "/inventory-service", ev,
		                                              "ignored", err, sizeof(err)),
		                 1);
	}
	assert_no_full_scan("saga step (set_status, consumed_events)");

	for (int i = 0; i < RUNS; i++) {
		snprintf(key, sizeof(key), "pi_plan_%d", i);
		ck_assert_int_eq(os_repo_payment_insert(c, ids[i], key, "processed", 500, "EUR",
		                                        "applied", err, sizeof(err)),
		                 1);
		ck_assert_int_eq(os_repo_payment_insert(c, ids[i], key, "processed", 500, "EUR",
		                                        "applied", err, sizeof(err)),
		                 0);
	}
	assert_no_full_scan("payment (payment_insert)");

	{
		os_status_t pending = OS_PENDING;

		n = os_repo_order_list(c, "bulk-7", NULL, 0, 4, page, &next, err, sizeof(err));
		ck_assert_int_eq(n, 4);
		for (int i = 0; i < n; i++)
			os_order_clear(&page[i]);
		n = os_repo_order_list(c, NULL, &pending, next, 4, page, &next, err, sizeof(err));
		ck_assert_int_eq(n, 4);
		for (int i = 0; i < n; i++)
			os_order_clear(&page[i]);
		n = os_repo_order_list(c, NULL, NULL, 0, 4, page, &next, err, sizeof(err));
		ck_assert_int_eq(n, 4);
		for (int i = 0; i < n; i++)
			os_order_clear(&page[i]);
	}
	assert_no_full_scan("GET /orders (customer, admin by status, admin)");

	for (int i = 0; i < RUNS; i++) {
		n = os_repo_outbox_fetch(c, 500, i == 0 ? 0 : 1000000, &gap, 1, &rows, err,
		                         sizeof(err));
		ck_assert_int_ge(n, 0);
		for (int j = 0; j < n; j++) {
			rows[j].status = 1;
			rows[j].delivered_at = 1700000000;
		}
		ck_assert_int_eq(os_repo_outbox_mark(c, rows, n, err, sizeof(err)), n);
		os_repo_outbox_free(rows, n);
	}
	assert_no_full_scan("relay (outbox_fetch, outbox_mark)");
	ck_assert_int_ge(os_repo_outbox_pending(c, err, sizeof(err)), 0);
	assert_no_full_scan("outbox_pending");
	/* 1,000 bulk rows of each table are old, and the outbox rows just marked
	 * say 2023: a purge of rows older than ten minutes takes those. */
	ck_assert_int_eq(os_repo_purge(c, 600, err, sizeof(err)), 3 * 1000 + 2 * RUNS);
	assert_no_full_scan("purge");
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox"), 19000);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM consumed_events"), 19000 + RUNS);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM idempotency_keys"), 19000 + RUNS);
	PQfinish(c);
}
END_TEST

/* One bulk row in 20 is two hours old, the others new, interleaved: a purge
 * deletes a small part of what a table holds, as it does in a running
 * system, and a scan of the table could not stop early. */
#define AGED "now() - CASE WHEN g % 20 = 0 THEN interval '2 hours' ELSE interval '0' END"

static void suite_setup(void)
{
	os_db_pool_t *pool;
	PGconn *c;
	char err[512];

	ost_create_database("os_plans");
	/* The schema, applied by the daemon's own migrations. */
	pool = os_db_pool_new(ost_database_url(), 1, 60000);
	c = os_db_checkout(pool, 1000, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_msg(os_migrate(c, "order-service/migrations", err, sizeof(err)) >= 0, "%s", err);
	os_db_checkin(pool, c);
	os_db_pool_free(pool);
	ost_sql("INSERT INTO orders (id, customer_id, customer_email, status, currency, total, "
	        "created_at, updated_at) SELECT gen_random_uuid(), 'bulk-' || (g % 500), "
	        "'b@example.com', CASE WHEN g % 5 = 0 THEN 'PENDING' ELSE 'PAID' END, 'EUR', 5, "
	        "now(), now() FROM generate_series(1, 20000) g");
	ost_sql("INSERT INTO order_items SELECT id, 1, 'SKU-1', 1, 5 FROM orders");
	ost_sql("INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload, "
	        "published_at) SELECT gen_random_uuid(), 't', 'OrderPlaced', 'e' || g, '{}', " AGED
	        " FROM generate_series(1, 20000) g");
	ost_sql("INSERT INTO consumed_events (source, event_id, event_type, outcome, consumed_at) "
	        "SELECT '/inventory-service', 'c' || g, 'InventoryReserved', 'applied', " AGED
	        " FROM generate_series(1, 20000) g");
	ost_sql("INSERT INTO idempotency_keys (customer_id, key, request_hash, status_code, "
	        "response_body, created_at) SELECT 'bulk-' || g, 'k', '\\x00', 201, '{}', " AGED
	        " FROM generate_series(1, 20000) g");
	/* A large catalogue: the pricing read must stay an index probe per SKU. */
	ost_sql("INSERT INTO catalogue (sku, name, price_cents, currency, version) SELECT "
	        "'C-' || g, 'n', 500, 'EUR', 1 FROM generate_series(1, 20000) g");
	ost_sql("INSERT INTO catalogue (sku, name, price_cents, currency, version) VALUES "
	        "('SKU-1', 'n', 500, 'EUR', 1)");
	ost_sql("INSERT INTO payments (order_id, payment_id, kind, amount_cents, currency, "
	        "outcome) SELECT gen_random_uuid(), 'pi_' || g, 'processed', 500, 'EUR', "
	        "'applied' FROM generate_series(1, 20000) g");
	ost_sql("ANALYZE");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service repository plans");
	TCase *tc = tcase_create("plans");

	eda_log_init("test", EDA_LOG_ERROR);
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_no_lookup_reads_a_growing_table);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
