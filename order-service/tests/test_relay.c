/*
 * Tests for src/events/relay.c, the outbox relay, against the real
 * PostgreSQL and Kafka: a fresh database and fresh topics per test.
 *   - rows are published once each, in order per order id, with key = order
 *     id, and every event validates against common/schemas/;
 *   - with Kafka unreachable, POST /orders keeps answering 201, rows pile up
 *     unpublished, and a relay that can reach Kafka later drains them without
 *     loss or reordering (the shared broker of the stack must not be stopped,
 *     so "Kafka down" is a relay whose bootstrap address does not answer);
 *   - two replicas racing: only one relay publishes, nothing is published
 *     twice, and the standby takes over when the leader stops.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/migrations.h"
#include "eda/log.h"
#include "repositories/outbox.h"
#include "services/maintenance.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/os_support.h"

#define BODY                                                                                       \
	"{\"items\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price\":\"9.99\"}],\"currency\":"    \
	"\"EUR\"}"

static void setup(void)
{
	eda_log_init("test", EDA_LOG_ERROR);
	setenv("CONSUMERS_ENABLED", "false", 1);
	ost_create_database("os_relay");
	ost_create_topics("osp");
}

static void teardown(void)
{
	ost_drop_database();
}

static void cancel(unsigned short port, const char *customer, const char *id)
{
	char path[128], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;

	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ost_resp_free(&r);
}

/* Checks that the messages hold each outbox row exactly once, keyed by its
 * order, and that per order they come in outbox order. */
static void check_topic_matches_outbox(const ost_msg_t *m, size_t n)
{
	PGconn *c = ost_db();
	PGresult *r = PQexec(c, "SELECT event_id, aggregate_id::text FROM outbox ORDER BY id");
	json_t *seen = json_object(), *last_pos = json_object();
	int rows = PQntuples(r);

	ck_assert_int_eq((int)n, rows);
	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_loads(m[i].value, 0, NULL);
		const char *id = json_string_value(json_object_get(ev, "id"));

		ck_assert_ptr_nonnull(id);
		ck_assert_msg(json_object_get(seen, id) == NULL, "event %s published twice", id);
		ck_assert_str_eq(m[i].key, json_string_value(json_object_get(ev, "subject")));
		json_object_set_new(seen, id, json_integer((json_int_t)i));
		json_decref(ev);
	}
	/* Walk the outbox in id order: per order, the position in the topic must grow. */
	for (int i = 0; i < rows; i++) {
		json_t *pos = json_object_get(seen, PQgetvalue(r, i, 0));
		const char *order = PQgetvalue(r, i, 1);
		json_t *prev = json_object_get(last_pos, order);

		ck_assert_msg(pos != NULL, "outbox row %s never published", PQgetvalue(r, i, 0));
		if (prev != NULL)
			ck_assert_msg(json_integer_value(pos) > json_integer_value(prev),
			              "order %s reordered", order);
		json_object_set(last_pos, order, pos);
	}
	json_decref(seen);
	json_decref(last_pos);
	PQclear(r);
	PQfinish(c);
}

START_TEST(test_publishes_in_order)
{
	enum { N = 20 };
	char ids[N][37];
	os_app_t app;
	ost_msg_t *m;
	size_t n;

	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	for (int i = 0; i < N; i++)
		ost_place(os_app_port(&app), "c-1", BODY, ids[i]);
	for (int i = 0; i < N; i += 2)
		cancel(os_app_port(&app), "c-1", ids[i]);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", N + N / 2);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at IS NULL"), 0);
	/* published_at comes from the delivery report, after the insert. */
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at < created_at"),
	                 0);
	os_app_stop(&app);
	m = ost_read_topic(ost_topic("orders"), N + N / 2, &n);
	check_topic_matches_outbox(m, n);
	ost_validate_events(m, n);
	ost_msgs_free(m, n);
}
END_TEST

START_TEST(test_kafka_down_then_back)
{
	enum { N = 10 };
	const char *real = ts_bootstrap();
	char ids[N][37], saved[256];
	os_app_t app;
	ost_msg_t *m;
	size_t n;

	snprintf(saved, sizeof(saved), "%s", real);
	/* Nothing listens on port 1: the producer can never connect. */
	setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1", 1);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	for (int i = 0; i < N; i++)
		ost_place(os_app_port(&app), "c-down", BODY, ids[i]);
	for (int i = 0; i < N; i += 2)
		cancel(os_app_port(&app), "c-down", ids[i]);
	sleep(1);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
	                 N + N / 2);
	os_app_stop(&app);
	/* Shutting down with the broker away published nothing and lost nothing. */
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
	                 N + N / 2);

	setenv("KAFKA_BOOTSTRAP_SERVERS", saved, 1);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", N + N / 2);
	os_app_stop(&app);
	m = ost_read_topic(ost_topic("orders"), N + N / 2, &n);
	check_topic_matches_outbox(m, n);
	ost_msgs_free(m, n);
}
END_TEST

START_TEST(test_two_relays_race)
{
	enum { N = 40 };
	os_app_t a, b;
	char id[37];
	ost_msg_t *m;
	size_t n;

	ost_app_start(&a);
	ost_app_start(&b);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	for (int i = 0; i < N; i++)
		ost_place(os_app_port(i % 2 ? &a : &b), "c-race", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", N);
	/* Exactly one of them holds the lock, and only it published. */
	ck_assert_int_eq((int)os_relay_is_leader(a.relay) + (int)os_relay_is_leader(b.relay), 1);
	ck_assert_int_eq(os_relay_published(a.relay) + os_relay_published(b.relay), N);
	ck_assert(os_relay_published(a.relay) == 0 || os_relay_published(b.relay) == 0);
	/* The leader goes away; the standby takes over and publishes new rows. */
	if (os_relay_is_leader(a.relay)) {
		os_app_stop(&a);
		for (int i = 0; i < 5; i++)
			ost_place(os_app_port(&b), "c-race", BODY, id);
		ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", N + 5);
		ck_assert(os_relay_is_leader(b.relay));
		os_app_stop(&b);
	} else {
		os_app_stop(&b);
		for (int i = 0; i < 5; i++)
			ost_place(os_app_port(&a), "c-race", BODY, id);
		ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", N + 5);
		ck_assert(os_relay_is_leader(a.relay));
		os_app_stop(&a);
	}
	m = ost_read_topic(ost_topic("orders"), N + 5, &n);
	check_topic_matches_outbox(m, n);
	ost_msgs_free(m, n);
}
END_TEST

START_TEST(test_purge_retention)
{
	os_app_t app;
	char id[37];

	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	ost_place(os_app_port(&app), "c-purge", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 1);
	ost_place(os_app_port(&app), "c-purge", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 2);
	ost_sql("INSERT INTO consumed_events (source, event_id, event_type, outcome, consumed_at) "
	        "VALUES ('/t', 'old', 'InventoryReserved', 'applied', now() - interval '2 days'), "
	        "('/t', 'new', 'InventoryReserved', 'applied', now())");
	ost_sql("INSERT INTO idempotency_keys (customer_id, key, request_hash, status_code, "
	        "response_body, created_at) VALUES ('c', 'old', '\\x00', 201, '{}', now() - "
	        "interval '2 days'), ('c', 'new', '\\x00', 201, '{}', now())");
	ost_sql("UPDATE outbox SET published_at = now() - interval '2 days' WHERE id = (SELECT "
	        "min(id) FROM outbox)");
	ck_assert_int_eq(os_service_purge(&app.svc, 86400), 3);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox"), 2 - 1);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM consumed_events"), 1);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM idempotency_keys"), 1);
	/* Unpublished rows are never purged, however old. */
	ost_sql("UPDATE outbox SET published_at = NULL, created_at = now() - interval '30 days'");
	ck_assert_int_eq(os_service_purge(&app.svc, 1), 0);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox"), 1);
	os_app_stop(&app);
}
END_TEST

/* A transaction that commits after a later one (its id is below the relay's
 * high-water mark by then) is published from the gap it left, well before
 * the minute-long sweep; and a gap that never fills (a rolled-back insert)
 * holds nothing up. */
START_TEST(test_a_late_commit_is_published)
{
	char id[37], sql[512];
	os_app_t app;
	PGconn *late, *rolled;
	time_t t0;

	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "9.99", "EUR");
	ost_place(os_app_port(&app), "c-late", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 1);
	late = ost_db();
	rolled = ost_db();
	snprintf(sql, sizeof(sql),
	         "INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload) "
	         "VALUES (gen_random_uuid(), '%s', 'OrderPlaced', 'late-1', '{}')",
	         ost_topic("orders"));
	PQclear(PQexec(late, "BEGIN"));
	PQclear(PQexec(late, sql));
	PQclear(PQexec(rolled, "BEGIN"));
	PQclear(PQexec(rolled, sql));
	ost_place(os_app_port(&app), "c-late", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 2);
	PQclear(PQexec(rolled, "ROLLBACK"));
	PQclear(PQexec(late, "COMMIT"));
	t0 = time(NULL);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 3);
	ck_assert_msg(time(NULL) - t0 < 30, "the late row waited for the sweep");
	ost_place(os_app_port(&app), "c-late", BODY, id);
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 4);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at IS NULL"), 0);
	PQfinish(rolled);
	PQfinish(late);
	os_app_stop(&app);
}
END_TEST

/* Rows of outbox that the plan of EXPLAIN (ANALYZE, FORMAT JSON) read, summed
 * over its nodes (Actual Rows times Actual Loops). */
static double outbox_rows_read(json_t *node)
{
	const char *rel = json_string_value(json_object_get(node, "Relation Name"));
	json_t *kids = json_object_get(node, "Plans"), *kid;
	double n = 0;
	size_t i;

	if (rel != NULL && strcmp(rel, "outbox") == 0 &&
	    strcmp(json_string_value(json_object_get(node, "Node Type")), "ModifyTable") != 0)
		n = json_number_value(json_object_get(node, "Actual Rows")) *
		    json_number_value(json_object_get(node, "Actual Loops"));
	json_array_foreach(kids, i, kid) n += outbox_rows_read(kid);
	return n;
}

/* Marking K rows reads K rows of outbox, however many wait unpublished: the
 * relay's connection keeps the statement's generic plan, made while the table
 * was small. A join with the id list let that plan read every unpublished row
 * per mark (a hash join), so a backlog made each mark slower and the backlog
 * longer: 5 ms a mark in a benchmark run. */
START_TEST(test_mark_reads_only_its_rows)
{
	PGconn *c = ost_db();
	os_outbox_row_t rows[2];
	char err[256], sql[256];
	PGresult *r;
	json_t *plan;
	long long first;

	ck_assert_int_ge(os_migrate(c, "order-service/migrations", err, sizeof(err)), 1);
	ost_sql("INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload) "
	        "SELECT gen_random_uuid(), 'orders', 'OrderPlaced', 'e' || g, '{}' "
	        "FROM generate_series(1, 12) g");
	first = ost_sql_num("SELECT min(id) FROM outbox");
	/* Six executions: PostgreSQL then plans it generically, once. */
	for (int i = 0; i < 6; i++) {
		memset(rows, 0, sizeof(rows));
		for (int k = 0; k < 2; k++)
			rows[k] = (os_outbox_row_t){.id = first + 2 * i + k,
			                            .delivered_at = 1700000000.5 + k,
			                            .status = 1};
		ck_assert_int_eq(os_repo_outbox_mark(c, rows, 2, err, sizeof(err)), 2);
	}
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at = "
	                             "to_timestamp(1700000001.5)"),
	                 6);
	ost_sql("INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload) "
	        "SELECT gen_random_uuid(), 'orders', 'OrderPlaced', 'b' || g, '{}' "
	        "FROM generate_series(1, 5000) g");
	first = ost_sql_num("SELECT min(id) FROM outbox WHERE published_at IS NULL");
	snprintf(sql, sizeof(sql),
	         "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE outbox_mark('{%lld,%lld}', "
	         "'{1700000000,1700000001}')",
	         first, first + 1);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	plan = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	ck_assert_ptr_nonnull(plan);
	ck_assert_double_le(outbox_rows_read(json_object_get(json_array_get(plan, 0), "Plan")), 2);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
	                 5000 - 2);
	json_decref(plan);
	PQclear(r);
	PQfinish(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order-service outbox relay");
	TCase *tc = tcase_create("relay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_publishes_in_order);
	tcase_add_test(tc, test_kafka_down_then_back);
	tcase_add_test(tc, test_two_relays_race);
	tcase_add_test(tc, test_purge_retention);
	tcase_add_test(tc, test_a_late_commit_is_published);
	tcase_add_test(tc, test_mark_reads_only_its_rows);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
