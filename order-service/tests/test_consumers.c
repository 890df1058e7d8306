/*
 * Tests for src/events/consumers.c: the order saga driven by events produced
 * onto the real Kafka topics (fresh topics and group, one fresh database for
 * this program), with the daemon in-process. Covers every transition, the
 * duplicate delivery of each consumed event, events that no longer apply,
 * malformed events (DLQ), and checks every event the service produced
 * against common/schemas/. Group commit: a batch is invisible until flushed,
 * a broken batch applies nothing and is applied once when added again, and
 * an event that keeps failing does not hold back the others of its batch.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/event.h"
#include "eda/log.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/os_support.h"

#define BODY                                                                                       \
	"{\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price\":\"49.99\"}],\"currency\":"   \
	"\"EUR\"}"

static os_app_t app;
static unsigned short port;
static char customer[64];

static void setup(void)
{
	eda_log_init("test", EDA_LOG_ERROR);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "49.99", "EUR");
	port = os_app_port(&app);
	ts_unique(customer, sizeof(customer), "cust");
}

static void teardown(void)
{
	os_app_stop(&app);
}

/* Waits until the order's status is WANT (or fails after 60 s). The long poll
 * only waits while the order is PENDING; a later transition (CONFIRMED ->
 * PAID) answers at once, hence the deadline rather than a number of polls. */
static void wait_status(const char *id, const char *want)
{
	char path[128], hc[120];
	const char *h[] = {hc, NULL};
	time_t deadline = time(NULL) + 60;

	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(path, sizeof(path), "/orders/%s?wait=10", id);
	while (time(NULL) < deadline) {
		ost_resp_t r;
		json_t *j;
		int done;

		ost_http(&r, port, "GET", path, h, NULL, 0);
		ck_assert_int_eq(r.status, 200);
		j = ost_json(&r);
		done = strcmp(json_string_value(json_object_get(j, "status")), want) == 0;
		json_decref(j);
		ost_resp_free(&r);
		if (done)
			return;
		usleep(100000);
	}
	ck_abort_msg("order %s never reached %s", id, want);
}

static long long outbox_count(const char *id, const char *type)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE aggregate_id = '%s' AND event_type = '%s'", id,
	         type);
	return ost_sql_num(sql);
}

/* Waits until event EVENT_ID has been recorded as consumed. */
static void wait_consumed(const char *event_id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM consumed_events WHERE event_id = '%s'",
	         event_id);
	ost_wait_sql(sql, 1);
}

static void outcome_of(const char *event_id, char *out, size_t outsz)
{
	char sql[256];
	PGconn *c = ost_db();
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT outcome FROM consumed_events WHERE event_id = '%s'",
	         event_id);
	r = PQexec(c, sql);
	snprintf(out, outsz, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}

static void reserved_to(int32_t partition, const char *id, const char *event_id)
{
	char data[256];

	snprintf(data, sizeof(data),
	         "{\"order_id\":\"%s\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}", id);
	ost_produce_event_to(ost_topic("inventory"), partition, "InventoryReserved", id, data,
	                     event_id);
}

static void reserved(const char *id, const char *event_id)
{
	reserved_to(-1, id, event_id);
}

static void paid_in(const char *id, const char *amount, const char *currency, const char *event_id)
{
	char data[256];

	/* A provider-style id ("pi_..."), one per payment, as a payment service
	 * would send it: the same event delivered twice carries the same one. */
	snprintf(data, sizeof(data),
	         "{\"order_id\":\"%s\",\"payment_id\":\"pi_%s\",\"amount\":\"%s\","
	         "\"currency\":\"%s\"}",
	         id, event_id, amount, currency);
	ost_produce_event(ost_topic("payments"), "PaymentProcessed", id, data, event_id);
}

static void paid(const char *id, const char *amount, const char *event_id)
{
	paid_in(id, amount, "EUR", event_id);
}

static void failed(const char *id, const char *event_id)
{
	char data[256];

	snprintf(data, sizeof(data),
	         "{\"order_id\":\"%s\",\"reason\":\"insufficient_stock\",\"details\":[{\"sku\":"
	         "\"SKU-1\",\"requested\":2,\"available\":1}]}",
	         id);
	ost_produce_event(ost_topic("inventory"), "InventoryReservationFailed", id, data, event_id);
}

START_TEST(test_confirm_then_pay)
{
	char id[37], ev1[64], ev2[64], sql[512];

	ost_place(port, customer, BODY, id);
	ts_unique(ev1, sizeof(ev1), "res");
	reserved(id, ev1);
	wait_status(id, "CONFIRMED");
	ts_unique(ev2, sizeof(ev2), "pay");
	paid(id, "99.98", ev2);
	wait_status(id, "PAID");
	ck_assert_int_eq(outbox_count(id, "OrderConfirmed"), 1);
	ck_assert_int_eq(outbox_count(id, "OrderPaid"), 1);
	/* The result events name their cause and keep the saga's correlation id. */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE aggregate_id = '%s' AND event_type = "
	         "'OrderPaid' AND payload::json->>'causationid' = '%s' AND "
	         "payload::json->>'correlationid' = 'test-correlation'",
	         id, ev2);
	ck_assert_int_eq(ost_sql_num(sql), 1);
}
END_TEST

START_TEST(test_reject)
{
	char id[37], ev[64], path[128], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;
	json_t *j;

	ost_place(port, customer, BODY, id);
	ts_unique(ev, sizeof(ev), "fail");
	failed(id, ev);
	wait_status(id, "REJECTED");
	ck_assert_int_eq(outbox_count(id, "OrderRejected"), 1);
	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(path, sizeof(path), "/orders/%s", id);
	ost_http(&r, port, "GET", path, h, NULL, 0);
	j = ost_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "insufficient_stock");
	ck_assert(json_is_string(json_object_get(j, "rejected_at")));
	json_decref(j);
	ost_resp_free(&r);
	/* A rejected order cannot be cancelled. */
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 409);
	ost_resp_free(&r);
}
END_TEST

START_TEST(test_duplicate_deliveries)
{
	char id[37], ev1[64], ev2[64], ev3[64], ev4[64], outcome[128];

	ost_place(port, customer, BODY, id);
	ts_unique(ev1, sizeof(ev1), "res");
	ts_unique(ev2, sizeof(ev2), "pay");
	ts_unique(ev3, sizeof(ev3), "fail");
	/* Each event twice, same id: Kafka's at-least-once in the worst case. The
	 * payment comes after the confirmation, as in the real saga (the payment
	 * service reacts to OrderConfirmed); both topics are read independently. */
	reserved(id, ev1);
	reserved(id, ev1);
	wait_status(id, "CONFIRMED");
	paid(id, "99.98", ev2);
	paid(id, "99.98", ev2);
	wait_status(id, "PAID");
	failed(id, ev3);
	failed(id, ev3);
	/* A last event on the same key: once it is recorded, all before it were handled. */
	ts_unique(ev4, sizeof(ev4), "last");
	reserved(id, ev4);
	wait_consumed(ev4);
	wait_consumed(ev3);
	wait_status(id, "PAID");
	ck_assert_int_eq(outbox_count(id, "OrderConfirmed"), 1);
	ck_assert_int_eq(outbox_count(id, "OrderPaid"), 1);
	ck_assert_int_eq(outbox_count(id, "OrderRejected"), 0);
	outcome_of(ev3, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "ignored: order is PAID");
	outcome_of(ev1, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "applied");
}
END_TEST

START_TEST(test_events_that_no_longer_apply)
{
	char id[37], other[37], ev[64], ev2[64], ev3[64], outcome[128], path[128], hc[120];
	const char *h[] = {hc, NULL};
	ost_resp_t r;

	ost_place(port, customer, BODY, id);
	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
	snprintf(path, sizeof(path), "/orders/%s/cancel", id);
	ost_http(&r, port, "POST", path, h, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ost_resp_free(&r);
	ts_unique(ev, sizeof(ev), "late");
	reserved(id, ev);
	wait_consumed(ev);
	outcome_of(ev, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "ignored: order is CANCELLED");
	ck_assert_int_eq(outbox_count(id, "OrderConfirmed"), 0);

	/* An order this service never had. */
	ts_unique(ev2, sizeof(ev2), "ghost");
	reserved("0b4e28ba-2fa1-41d2-883f-0016d3cca427", ev2);
	wait_consumed(ev2);
	outcome_of(ev2, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "ignored: unknown order");

	/* A payment that does not match the total leaves the order CONFIRMED. */
	ost_place(port, customer, BODY, other);
	ts_unique(ev3, sizeof(ev3), "res");
	reserved(other, ev3);
	wait_status(other, "CONFIRMED");
	ts_unique(ev3, sizeof(ev3), "short");
	paid(other, "1.00", ev3);
	wait_consumed(ev3);
	outcome_of(ev3, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "mismatch: amount 1.00 is not the order total 99.98");
	/* The right amount in another currency is not the order's total either. */
	ts_unique(ev3, sizeof(ev3), "usd");
	paid_in(other, "99.98", "USD", ev3);
	wait_consumed(ev3);
	outcome_of(ev3, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, "mismatch: currency USD is not the order's EUR");
	ck_assert_int_eq(outbox_count(other, "OrderPaid"), 0);
}
END_TEST

START_TEST(test_malformed_events_go_to_dlq)
{
	const char *bad[] = {"not json at all"};
	const char *unknown = "{\"specversion\":\"1.0\",\"id\":\"u-1\",\"source\":\"/x\","
	                      "\"type\":\"SomethingNew\"}";
	const char *unknown_v[] = {unknown};
	ost_msg_t *m;
	size_t n;

	ts_produce(ost_topic("inventory"), -1, "k", unknown_v, 1);
	ts_produce(ost_topic("inventory"), -1, "k", bad, 1);
	m = ost_read_topic(ost_topic("dlq"), 1, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(m[0].value, "not json at all");
	ost_msgs_free(m, n);
}
END_TEST

START_TEST(test_produced_events_validate)
{
	char id[37], ev[64];
	long long published;
	ost_msg_t *m;
	size_t n;

	/* One more saga so the topic holds every type this suite produces. */
	ost_place(port, customer, BODY, id);
	ts_unique(ev, sizeof(ev), "res");
	reserved(id, ev);
	wait_status(id, "CONFIRMED");
	ost_wait_sql("SELECT count(*) FROM outbox WHERE published_at IS NULL AND "
	             "created_at < now() - interval '1 hour'",
	             0);
	ost_wait_sql("SELECT (count(*) FILTER (WHERE published_at IS NULL) = 0)::int FROM outbox",
	             1);
	published = ost_sql_num("SELECT count(*) FROM outbox");
	m = ost_read_topic(ost_topic("orders"), (size_t)published, &n);
	ost_validate_events(m, n);
	ost_msgs_free(m, n);
}
END_TEST

/* An InventoryReserved for order ID as the consumer would parse it. */
static eda_event_t *reserved_event(const char *id)
{
	json_t *data = json_pack("{s:s, s:[{s:s, s:i}]}", "order_id", id, "items", "sku", "SKU-1",
	                         "quantity", 2);
	eda_event_t *ev = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_RESERVED, id,
	                                data, NULL, "test-correlation");

	ck_assert_ptr_nonnull(ev);
	return ev;
}

static long long count_where(const char *fmt, const char *id)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, id);
	return ost_sql_num(sql);
}

#define CONFIRMED_ONCE(id)                                                                         \
	do {                                                                                       \
		ck_assert_int_eq(count_where("SELECT count(*) FROM orders WHERE id = '%s' AND "    \
		                             "status = 'CONFIRMED'",                               \
		                             (id)),                                                \
		                 1);                                                               \
		ck_assert_int_eq(outbox_count((id), "OrderConfirmed"), 1);                         \
	} while (0)

START_TEST(test_batch_is_one_transaction)
{
	os_apply_batch_t *b = os_apply_batch_new(&app.svc);
	eda_event_t *ev[3];
	char id[3][37], outcome[128], why[256];

	for (int i = 0; i < 3; i++) {
		ost_place(port, customer, BODY, id[i]);
		ev[i] = reserved_event(id[i]);
		ck_assert_int_eq(os_apply_batch_add(b, ev[i], OS_PENDING, OS_CONFIRMED, NULL, NULL,
		                                    NULL, outcome, sizeof(outcome)),
		                 OS_OK);
		ck_assert_str_eq(outcome, "applied");
	}
	/* The same event again in the same batch: seen as a duplicate. */
	ck_assert_int_eq(os_apply_batch_add(b, ev[0], OS_PENDING, OS_CONFIRMED, NULL, NULL, NULL,
	                                    outcome, sizeof(outcome)),
	                 OS_OK);
	ck_assert_str_eq(outcome, "duplicate");
	/* Nothing of it is visible before the flush. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(count_where("SELECT count(*) FROM orders WHERE id = '%s' AND "
		                             "status = 'PENDING'",
		                             id[i]),
		                 1);
		ck_assert_int_eq(outbox_count(id[i], "OrderConfirmed"), 0);
	}
	ck_assert_int_eq(os_apply_batch_flush(b, why, sizeof(why)), 0);
	for (int i = 0; i < 3; i++) {
		CONFIRMED_ONCE(id[i]);
		eda_event_free(ev[i]);
	}
	/* An empty batch flushes to success. */
	ck_assert_int_eq(os_apply_batch_flush(b, why, sizeof(why)), 0);
	os_apply_batch_free(b);
}
END_TEST

/* Places N orders (ids into ID) and makes an InventoryReserved for each. */
static void place_reserved(int n, char id[][37], eda_event_t **ev)
{
	for (int i = 0; i < n; i++) {
		ost_place(port, customer, BODY, id[i]);
		ev[i] = reserved_event(id[i]);
	}
}

/* Adds the first N of EV to B, each accepted. */
static void add_to_batch(os_apply_batch_t *b, eda_event_t **ev, int n)
{
	char outcome[128];

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(os_apply_batch_add(b, ev[i], OS_PENDING, OS_CONFIRMED, NULL, NULL,
		                                    NULL, outcome, sizeof(outcome)),
		                 OS_OK);
}

START_TEST(test_broken_batch_applies_nothing)
{
	os_apply_batch_t *b = os_apply_batch_new(&app.svc);
	eda_event_t *ev[3];
	char id[3][37], outcome[128], why[256] = "";

	place_reserved(3, id, ev);
	add_to_batch(b, ev, 2);
	/* The batch's session dies under it (a failover, an administrator). */
	ost_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name "
	        "= 'order-service' AND state = 'idle in transaction'");
	ck_assert_int_eq(os_apply_batch_add(b, ev[2], OS_PENDING, OS_CONFIRMED, NULL, NULL, NULL,
	                                    outcome, sizeof(outcome)),
	                 OS_EUNAVAILABLE);
	/* Broken: further adds do no work, and the flush says so. */
	ck_assert_int_eq(os_apply_batch_add(b, ev[0], OS_PENDING, OS_CONFIRMED, NULL, NULL, NULL,
	                                    outcome, sizeof(outcome)),
	                 OS_EUNAVAILABLE);
	ck_assert_int_eq(os_apply_batch_flush(b, why, sizeof(why)), -1);
	ck_assert_int_gt(strlen(why), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(count_where("SELECT count(*) FROM orders WHERE id = '%s' AND "
		                             "status = 'PENDING'",
		                             id[i]),
		                 1);
		ck_assert_int_eq(count_where("SELECT count(*) FROM consumed_events WHERE "
		                             "order_id = '%s'",
		                             id[i]),
		                 0);
	}
	/* Handed over again, the batch applies each event once. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(os_apply_batch_add(b, ev[i], OS_PENDING, OS_CONFIRMED, NULL, NULL,
		                                    NULL, outcome, sizeof(outcome)),
		                 OS_OK);
	ck_assert_int_eq(os_apply_batch_flush(b, why, sizeof(why)), 0);
	for (int i = 0; i < 3; i++) {
		CONFIRMED_ONCE(id[i]);
		eda_event_free(ev[i]);
	}
	os_apply_batch_free(b);
}
END_TEST

/* A crash after a batch's commit and before its offsets were stored (or a
 * commit whose answer was lost to a deadline) hands the same events over
 * again, now mixed with new ones: the applied ones take the duplicate path
 * and the batch commits in one attempt, nothing applied twice. */
START_TEST(test_redelivered_batch_completes_in_one_pass)
{
	os_apply_batch_t *b = os_apply_batch_new(&app.svc);
	eda_event_t *ev[4];
	char id[4][37], outcome[128], why[256] = "";
	int attempts = 0, rc;

	place_reserved(4, id, ev);
	add_to_batch(b, ev, 2);
	ck_assert_int_eq(os_apply_batch_flush(b, why, sizeof(why)), 0);
	/* ... the crash; the redelivered batch: */
	do {
		attempts++;
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(os_apply_batch_add(b, ev[i], OS_PENDING, OS_CONFIRMED,
			                                    NULL, NULL, NULL, outcome,
			                                    sizeof(outcome)),
			                 OS_OK);
			ck_assert_str_eq(outcome, i < 2 ? "duplicate" : "applied");
		}
		rc = os_apply_batch_flush(b, why, sizeof(why));
	} while (rc != 0 && attempts < 5);
	ck_assert_msg(attempts == 1, "%d attempts: %s", attempts, why);
	for (int i = 0; i < 4; i++) {
		CONFIRMED_ONCE(id[i]);
		eda_event_free(ev[i]);
	}
	os_apply_batch_free(b);
}
END_TEST

START_TEST(test_failing_event_does_not_hold_back_its_batch)
{
	char good[3][37], bad[37], ev[4][64], sql[256];

	/* A trigger refuses one event while it is listed in test_poison: every
	 * batch holding it fails, and only its second delivery, alone in its
	 * transaction, tells it apart from the others. It is on partition 0, the
	 * others on 1 and 2: what is behind it on its own partition waits, by
	 * design (order is kept). */
	ost_sql("CREATE TABLE IF NOT EXISTS test_poison (event_id text PRIMARY KEY)");
	ost_sql("CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger AS $$ BEGIN IF EXISTS "
	        "(SELECT 1 FROM test_poison WHERE event_id = NEW.event_id) THEN RAISE EXCEPTION "
	        "'poisoned %', NEW.event_id; END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
	ost_sql("CREATE TRIGGER test_poison BEFORE INSERT ON consumed_events FOR EACH ROW "
	        "EXECUTE FUNCTION test_poison()");
	ost_place(port, customer, BODY, bad);
	ts_unique(ev[3], sizeof(ev[3]), "poison");
	snprintf(sql, sizeof(sql), "INSERT INTO test_poison VALUES ('%s')", ev[3]);
	ost_sql(sql);
	for (int i = 0; i < 3; i++) {
		ost_place(port, customer, BODY, good[i]);
		ts_unique(ev[i], sizeof(ev[i]), "res");
	}
	reserved_to(0, bad, ev[3]);
	for (int i = 0; i < 3; i++)
		reserved_to(1 + i % 2, good[i], ev[i]);
	for (int i = 0; i < 3; i++)
		wait_status(good[i], "CONFIRMED");
	ck_assert_int_eq(count_where("SELECT count(*) FROM orders WHERE id = '%s' AND status = "
	                             "'PENDING'",
	                             bad),
	                 1);
	ost_sql("DELETE FROM test_poison");
	wait_status(bad, "CONFIRMED");
	ost_sql("DROP TRIGGER test_poison ON consumed_events");
	for (int i = 0; i < 3; i++)
		CONFIRMED_ONCE(good[i]);
	CONFIRMED_ONCE(bad);
}
END_TEST

/* ---- payments from outside (issue 19) ------------------------------------- */

/* Produces payment event TYPE for ORDER as a payment service outside the
 * project would: its own source, a provider id, and the CloudEvents
 * attribute dataschema only when WITH_SCHEMA. EVENT_ID gets the event's id. */
static void outside_payment(const char *type, const char *order, const char *payment_id,
                            const char *amount, bool with_schema, char event_id[64])
{
	char text[1024];
	const char *values[1] = {text};

	ts_unique(event_id, 64, "ext");
	snprintf(text, sizeof(text),
	         "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/payment-provider\","
	         "\"type\":\"%s\",\"subject\":\"%s\",\"time\":\"2026-12-07T10:00:00Z\","
	         "\"datacontenttype\":\"application/json\",%s\"data\":{\"order_id\":\"%s\","
	         "\"payment_id\":\"%s\",\"amount\":\"%s\",\"currency\":\"EUR\"}}",
	         event_id, type, order,
	         with_schema ? (strcmp(type, "PaymentFailed") == 0
	                                ? "\"dataschema\":\"urn:eda:schema:PaymentFailed:1\","
	                                : "\"dataschema\":\"urn:eda:schema:PaymentProcessed:1\",")
	                     : "",
	         order, payment_id, amount);
	ts_produce(ost_topic("payments"), -1, order, values, 1);
	wait_consumed(event_id);
}

static void confirmed_order(char id[37])
{
	char ev[64];

	ost_place(port, customer, BODY, id);
	ts_unique(ev, sizeof(ev), "res");
	reserved(id, ev);
	wait_status(id, "CONFIRMED");
}

static void assert_outcome(const char *event_id, const char *want)
{
	char outcome[256];

	outcome_of(event_id, outcome, sizeof(outcome));
	ck_assert_str_eq(outcome, want);
}

/* The payments row of PAYMENT_ID: its kind and outcome, "" when none. */
static void payment_row(const char *payment_id, char *out, size_t outsz)
{
	char sql[512];
	PGconn *c = ost_db();
	PGresult *r;

	snprintf(sql, sizeof(sql),
	         "SELECT string_agg(kind || ' ' || amount_cents || ' ' || outcome, '; ') FROM "
	         "payments WHERE payment_id = '%s'",
	         payment_id);
	r = PQexec(c, sql);
	snprintf(out, outsz, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}

static bool metrics_have(const char *line)
{
	ost_resp_t r;
	bool found;

	ost_http(&r, port, "GET", "/metrics", NULL, NULL, 0);
	found = r.body != NULL && strstr(r.body, line) != NULL;
	ost_resp_free(&r);
	return found;
}

static const struct payment_case {
	const char *name;
	const char *type;
	const char *amount;
	bool cancel_first; /* the customer cancels the order before the payment */
	bool with_schema;
	const char *status;  /* the order's status afterwards */
	const char *outcome; /* recorded for the event and in payments */
} payment_cases[] = {
        {"processed, no dataschema", "PaymentProcessed", "99.98", false, false, "PAID", "applied"},
        {"processed, dataschema", "PaymentProcessed", "99.98", false, true, "PAID", "applied"},
        {"failed, no dataschema", "PaymentFailed", "99.98", false, false, "CONFIRMED",
         "recorded: payment failed"},
        {"failed, dataschema", "PaymentFailed", "99.98", false, true, "CONFIRMED",
         "recorded: payment failed"},
        {"cancelled order", "PaymentProcessed", "99.98", true, false, "CANCELLED",
         "needs refund: order is CANCELLED"},
        {"short amount", "PaymentProcessed", "10.00", false, true, "CONFIRMED",
         "mismatch: amount 10.00 is not the order total 99.98"},
};

START_TEST(test_outside_payments)
{
	const struct payment_case *pc = &payment_cases[_i];
	char id[37], ev[64], pid[80], row[512], want[300], hc[120];
	const char *h[] = {hc, NULL};

	confirmed_order(id);
	if (pc->cancel_first) {
		char path[80];
		ost_resp_t r;

		snprintf(hc, sizeof(hc), "X-Customer-Id: %s", customer);
		snprintf(path, sizeof(path), "/orders/%s/cancel", id);
		ost_http(&r, port, "POST", path, h, NULL, 0);
		ck_assert_int_eq(r.status, 200);
		ost_resp_free(&r);
	}
	ts_unique(pid, sizeof(pid), "pi_3NxYzABC");
	outside_payment(pc->type, id, pid, pc->amount, pc->with_schema, ev);
	assert_outcome(ev, pc->outcome);
	wait_status(id, pc->status);
	payment_row(pid, row, sizeof(row));
	snprintf(want, sizeof(want), "%s %lld %s",
	         strcmp(pc->type, "PaymentFailed") == 0 ? "failed" : "processed",
	         strcmp(pc->amount, "10.00") == 0 ? 1000LL : 9998LL, pc->outcome);
	ck_assert_str_eq(row, want);
	if (pc->cancel_first)
		ck_assert(metrics_have("payments_needing_refund_total 1"));
	if (strncmp(pc->outcome, "mismatch", 8) == 0)
		ck_assert(metrics_have("payments_mismatched_total 1"));

	/* The provider sends the same payment again under another event id: it
	 * is recorded once and changes nothing more. */
	outside_payment(pc->type, id, pid, pc->amount, pc->with_schema, ev);
	snprintf(want, sizeof(want), "duplicate: payment %s already recorded",
	         strcmp(pc->type, "PaymentFailed") == 0 ? "failed" : "processed");
	assert_outcome(ev, want);
	wait_status(id, pc->status);
	if (pc->cancel_first)
		ck_assert(metrics_have("payments_needing_refund_total 1"));
}
END_TEST

/* Inventory found the price changed since the order was priced. */
START_TEST(test_price_changed_rejects)
{
	char id[37], ev[64], data[512], sql[256];

	ost_place(port, customer, BODY, id);
	ts_unique(ev, sizeof(ev), "pc");
	snprintf(data, sizeof(data),
	         "{\"order_id\":\"%s\",\"reason\":\"price_changed\",\"details\":[{\"sku\":"
	         "\"SKU-1\",\"quoted\":\"49.99\",\"price\":\"54.99\"}]}",
	         id);
	ost_produce_event(ost_topic("inventory"), "InventoryReservationFailed", id, data, ev);
	wait_status(id, "REJECTED");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM orders WHERE id = '%s' AND reason = 'price_changed'", id);
	ck_assert_int_eq(ost_sql_num(sql), 1);
	/* OrderRejected carries it, so that the e-mail can say why. */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE aggregate_id = '%s' AND event_type = "
	         "'OrderRejected' AND payload::json->'data'->>'reason' = 'price_changed'",
	         id);
	ck_assert_int_eq(ost_sql_num(sql), 1);
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_consumers");
	ost_create_topics("osc");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service saga consumers");
	TCase *tc = tcase_create("saga");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_confirm_then_pay);
	tcase_add_test(tc, test_reject);
	tcase_add_test(tc, test_duplicate_deliveries);
	tcase_add_test(tc, test_events_that_no_longer_apply);
	tcase_add_test(tc, test_malformed_events_go_to_dlq);
	tcase_add_test(tc, test_produced_events_validate);
	tcase_add_test(tc, test_batch_is_one_transaction);
	tcase_add_test(tc, test_broken_batch_applies_nothing);
	tcase_add_test(tc, test_redelivered_batch_completes_in_one_pass);
	tcase_add_test(tc, test_failing_event_does_not_hold_back_its_batch);
	tcase_add_loop_test(tc, test_outside_payments, 0,
	                    sizeof(payment_cases) / sizeof(payment_cases[0]));
	tcase_add_test(tc, test_price_changed_rejects);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
