/*
 * Integration tests of src/events/consumers.c (and the wiring in app.c)
 * against the real Kafka of the local stack and a real SMTP server: one
 * e-mail per event type with the right recipient, subject and body; unknown
 * types ignored; the spool transport; SMTP down for a while then back (every
 * e-mail arrives, none twice); a 5xx recipient and events without a usable
 * address in the DLQ; header injection through event fields; a duplicate
 * event id mailed once; the durable spool's group commit (a batch of files,
 * offsets committed once it is flushed). Every test has its own topics,
 * group and folders.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eda/event.h"
#include "eda/log.h"
#include "support/app_harness.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/sink.h"

#define WAIT_S 60
/* For a counter that trails the e-mail it counts (ts_app_wait_metric). */
#define METRIC_WAIT_S 10

static void produce(const char *topic, const char *key, char *value)
{
	const char *v[] = {value};

	ts_produce(topic, -1, key, v, 1);
	free(value);
}

static int occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const struct {
	const char *type, *email, *reason, *subject, *body;
} per_type[] = {
        {EDA_EVENT_ORDER_PLACED, "placed@example.com", NULL, "We received your order",
         "2 x SKU-1 at 12.50 EUR =3D 25.00 EUR"},
        {EDA_EVENT_ORDER_CONFIRMED, "confirmed@example.com", NULL, "is confirmed",
         "Total: 30.00 EUR"},
        {EDA_EVENT_ORDER_REJECTED, "rejected@example.com", "out of stock", "could not fulfil",
         "Reason: out of stock"},
        {EDA_EVENT_ORDER_CANCELLED, "cancelled@example.com", "changed my mind", "was cancelled",
         "Reason: changed my mind"},
};

START_TEST(one_email_per_type_over_smtp)
{
	ts_sink_t sink = {0};
	ts_app_t app;
	char order[37], needle[128];
	size_t n = sizeof(per_type) / sizeof(per_type[0]);

	ts_sink_start(&sink);
	ts_app_start(&app, 3, sink.url, NULL);
	/* Types the service does not mail: ignored, not sent to the DLQ. */
	ts_uuid(order);
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_PAID, order, "paid@example.com", NULL, NULL));
	produce(app.topic, "x",
	        ts_event_with_data("SomethingNew", "x", json_pack("{s:i}", "n", 1), NULL));
	for (size_t i = 0; i < n; i++) {
		ts_uuid(order);
		produce(app.topic, order,
		        ts_order_event(per_type[i].type, order, per_type[i].email,
		                       per_type[i].reason, NULL));
	}
	ck_assert_int_eq(ts_wait_eml(sink.dir, (int)n, WAIT_S), (int)n);
	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "X-Sink-Rcpt-To: %s\r\n", per_type[i].email);
		char *mail = ts_find_eml(sink.dir, needle);

		ck_assert_msg(mail != NULL, "no e-mail to %s", per_type[i].email);
		snprintf(needle, sizeof(needle), "To: <%s>", per_type[i].email);
		ck_assert_ptr_nonnull(strstr(mail, needle));
		ck_assert_int_eq(occurrences(mail, "X-Sink-Rcpt-To:"), 1);
		ck_assert_msg(strstr(mail, per_type[i].subject) != NULL, "%s", mail);
		ck_assert_msg(strstr(mail, per_type[i].body) != NULL, "%s", mail);
		ck_assert_ptr_nonnull(strstr(mail, "From: Shop <orders@shop.example>"));
		ck_assert_ptr_nonnull(strstr(mail, "@notification-service.eda>"));
		ck_assert_ptr_nonnull(strstr(mail, "Content-Type: text/html; charset=UTF-8"));
		ck_assert_double_eq(ts_app_wait_metric(&app, "notifications_sent_total",
		                                       EDA_LABELS(per_type[i].type, "smtp"), 1,
		                                       METRIC_WAIT_S),
		                    1);
		free(mail);
	}
	/* Nothing for the ignored ones, even after a while. */
	sleep(1);
	ck_assert_int_eq(ts_count_eml(sink.dir), (int)n);
	ck_assert_ptr_null(ts_find_eml(sink.dir, "paid@example.com"));
	ts_app_stop(&app);
	ts_sink_stop(&sink);
}
END_TEST

START_TEST(spool_transport_writes_eml_files)
{
	char dir[256], order[37], id[37], path[512];
	ts_app_t app;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	ts_app_start(&app, 1, NULL, dir);
	for (int i = 0; i < 3; i++) {
		ts_uuid(order);
		produce(app.topic, order,
		        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "bob@example.com", NULL,
		                       id));
	}
	ck_assert_int_eq(ts_wait_eml(dir, 3, WAIT_S), 3);
	/* The last one is named after its event id. */
	snprintf(path, sizeof(path), "%s/%s@notification-service.eda.eml", dir, id);
	ck_assert_int_eq(access(path, R_OK), 0);
	char *all = ts_read_all_eml(dir);
	ck_assert_int_eq(occurrences(all, "To: <bob@example.com>"), 3);
	free(all);
	ck_assert_double_eq(ts_app_wait_metric(&app, "notifications_sent_total",
	                                       EDA_LABELS("OrderConfirmed", "spool"), 3,
	                                       METRIC_WAIT_S),
	                    3);
	ts_app_stop(&app);
}
END_TEST

/* MAIL_SPOOL_FSYNC=true: the spool answers PENDING and the consumer flushes
 * batches. Every e-mail lands once, no temporary file stays, an event id twice
 * in a row is mailed once, and a restarted member does not send the batch
 * again: its offsets were committed after the flush. */
START_TEST(durable_spool_commits_in_batches)
{
	enum { N = 60 };
	char dir[256], order[37], id[37], cmd[400];
	const char *values[N + 1];
	char *owned[N];
	ts_app_t app;

	setenv("MAIL_SPOOL_FSYNC", "true", 1);
	ts_tmpdir(dir, sizeof(dir), "notif-spool-batch");
	ts_app_start(&app, 1, NULL, dir);
	for (int i = 0; i < N; i++) {
		ts_uuid(order);
		owned[i] = ts_order_event(EDA_EVENT_ORDER_PLACED, order, "erin@example.com", NULL,
		                          NULL);
		values[i] = owned[i];
	}
	values[N] = owned[N - 1]; /* the same event again, right behind itself */
	ts_produce(app.topic, 0, "orders", values, N + 1);
	ck_assert_int_eq(ts_wait_eml(dir, N, WAIT_S), N);
	ck_assert_double_eq(
	        ts_app_wait_metric(&app, "notifications_duplicate_total", NULL, 1, METRIC_WAIT_S),
	        1);
	ck_assert_double_eq(ts_app_wait_metric(&app, "notifications_sent_total",
	                                       EDA_LABELS("OrderPlaced", "spool"), N,
	                                       METRIC_WAIT_S),
	                    N);
	ts_app_stop(&app);
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq %d", dir, N);
	ck_assert_int_eq(system(cmd), 0);
	for (int i = 0; i < N; i++)
		free(owned[i]);

	/* The next member of the group starts after the batch: one more event
	 * is the only e-mail it sends (one partition, so a resend of the batch
	 * would come first). */
	ts_app_restart(&app);
	ts_uuid(order);
	produce(app.topic, "orders",
	        ts_order_event(EDA_EVENT_ORDER_PLACED, order, "erin@example.com", NULL, id));
	ck_assert_int_eq(ts_wait_eml(dir, N + 1, WAIT_S), N + 1);
	ck_assert_double_eq(ts_app_wait_metric(&app, "notifications_sent_total",
	                                       EDA_LABELS("OrderPlaced", "spool"), 1,
	                                       METRIC_WAIT_S),
	                    1);
	ts_app_stop(&app);
}
END_TEST

START_TEST(smtp_down_then_back_loses_nothing)
{
	ts_sink_t sink = {0};
	ts_app_t app;
	char order[37], ids[8][37];
	int total = 8;

	ts_sink_start(&sink);
	ts_app_start(&app, 3, sink.url, NULL);
	for (int i = 0; i < 3; i++) {
		ts_uuid(order);
		produce(app.topic, order,
		        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "carol@example.com", NULL,
		                       ids[i]));
	}
	ck_assert_int_eq(ts_wait_eml(sink.dir, 3, WAIT_S), 3);

	ts_sink_stop(&sink);
	for (int i = 3; i < total; i++) {
		ts_uuid(order);
		produce(app.topic, order,
		        ts_order_event(EDA_EVENT_ORDER_PLACED, order, "carol@example.com", NULL,
		                       ids[i]));
	}
	/* The relay is down: the service keeps retrying without moving on. */
	ck_assert_double_ge(ts_app_wait_metric(&app, "notification_failures_total",
	                                       EDA_LABELS("transient"), 2, 2 * METRIC_WAIT_S),
	                    2);
	ts_sink_start(&sink); /* same port, same folder */
	ck_assert_int_eq(ts_wait_eml(sink.dir, total, WAIT_S), total);
	sleep(2); /* room for any double to show up */
	ck_assert_int_eq(ts_count_eml(sink.dir), total);
	char *all = ts_read_all_eml(sink.dir);
	for (int i = 0; i < total; i++) {
		char mid[512];

		snprintf(mid, sizeof(mid), "Message-ID: <%s@", ids[i]);
		ck_assert_msg(occurrences(all, mid) == 1, "event %d: %d copies", i,
		              occurrences(all, mid));
	}
	free(all);
	ts_app_stop(&app);
	ts_sink_stop(&sink);
}
END_TEST

START_TEST(undeliverable_events_go_to_the_dlq)
{
	ts_sink_t sink = {.reject = {"gone@example.com"}};
	ts_app_t app;
	char order[37];
	ts_msg_t dlq[4];
	int got;

	ts_sink_start(&sink);
	ts_app_start(&app, 1, sink.url, NULL);
	ts_uuid(order);
	/* All on one key, so they are handled in this order. */
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "gone@example.com", NULL, NULL));
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, NULL, NULL, NULL));
	/* Neither address can be put into a To: header, and since the contract has
	 * the mail rule (eda_email_valid) both are refused as invalid events before
	 * the notifier sees them. */
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "a,b@example.com", NULL, NULL));
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "a..b@example.com", NULL, NULL));
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "ok@example.com", NULL, NULL));
	/* The consumer went on past the four bad ones. */
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, WAIT_S), 1);
	char *mail = ts_find_eml(sink.dir, "X-Sink-Rcpt-To: ok@example.com");
	ck_assert_ptr_nonnull(mail);
	free(mail);

	got = ts_read_n(app.dlq, dlq, 4, WAIT_S);
	ck_assert_int_eq(got, 4);
	ck_assert_msg(strstr(dlq[0].dlq_error, "550") != NULL, "%s", dlq[0].dlq_error);
	ck_assert_msg(strstr(dlq[1].dlq_error, "email") != NULL, "%s", dlq[1].dlq_error);
	for (int i = 2; i < 4; i++)
		ck_assert_msg(strstr(dlq[i].dlq_error, "data.customer.email") != NULL, "%s",
		              dlq[i].dlq_error);
	/* The DLQ keeps the original event. */
	ck_assert_ptr_nonnull(strstr(dlq[0].value, "gone@example.com"));
	for (int i = 0; i < got; i++)
		ts_msg_free(&dlq[i]);
	ck_assert_double_eq(
	        ts_app_metric(&app, "notification_failures_total", EDA_LABELS("rejected")), 1);
	ck_assert_double_eq(
	        ts_app_metric(&app, "notification_failures_total", EDA_LABELS("invalid_event")), 3);
	ck_assert_double_eq(
	        ts_app_metric(&app, "notification_failures_total", EDA_LABELS("invalid_recipient")),
	        0);
	ts_app_stop(&app);
	ts_sink_stop(&sink);
}
END_TEST

/* Templates whose subject carries event text, so that injection through the
 * subject header is really attempted. */
static void hostile_templates(char *dir, size_t size)
{
	char cmd[600], path[600];
	FILE *f;

	ts_tmpdir(dir, size, "notif-tpl");
	snprintf(cmd, sizeof(cmd), "cp notification-service/templates/* %s/", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/order_rejected.subject.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("Rejected: {{reason}} for {{customer_id}}\n", f);
	fclose(f);
	setenv("TEMPLATE_DIR", dir, 1);
	setenv("MAIL_FROM_NAME", "Shop\r\nBcc: from-name@evil.example", 1);
}

START_TEST(header_injection_cannot_add_headers_or_recipients)
{
	ts_sink_t sink = {0};
	ts_app_t app;
	char tpl[256], order[37];
	json_t *data;
	ts_msg_t dlq[2];

	hostile_templates(tpl, sizeof(tpl));
	/* MAIL_FROM_NAME with CR/LF is refused by common's settings; use a name
	 * with a comma and angle brackets instead. */
	setenv("MAIL_FROM_NAME", "Evil <victim@evil.example>, Shop", 1);
	ts_sink_start(&sink);
	ts_app_start(&app, 1, sink.url, NULL);
	ts_uuid(order);
	data = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "order_id", order, "customer", "id",
	                 "Eve\r\nTo: victim2@evil.example", "email", "eve@example.com", "total",
	                 "1.00", "currency", "EUR", "reason",
	                 "nope\r\nBcc: victim@evil.example\r\n\r\nfake body");
	produce(app.topic, order, ts_event_with_data(EDA_EVENT_ORDER_REJECTED, order, data, NULL));
	/* CR/LF in the e-mail field or a SKU breaks the contract: DLQ, no e-mail. */
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order,
	                       "eve@example.com\r\nBcc: victim@evil.example", NULL, NULL));
	data = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:i, s:s}], s:s, s:s}", "order_id", order,
	                 "customer", "id", "c", "email", "eve@example.com", "items", "sku",
	                 "SKU\r\nBcc: victim@evil.example", "quantity", 1, "unit_price", "1.00",
	                 "total", "1.00", "currency", "EUR");
	produce(app.topic, order, ts_event_with_data(EDA_EVENT_ORDER_PLACED, order, data, NULL));
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CANCELLED, order, "last@example.com", NULL, NULL));

	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, WAIT_S), 2);
	ck_assert_int_eq(ts_read_n(app.dlq, dlq, 2, WAIT_S), 2);
	ts_msg_free(&dlq[0]);
	ts_msg_free(&dlq[1]);
	char *mail = ts_find_eml(sink.dir, "X-Sink-Rcpt-To: eve@example.com");
	ck_assert_ptr_nonnull(mail);
	/* One envelope recipient; header block without Bcc or a second To/From. */
	ck_assert_int_eq(occurrences(mail, "X-Sink-Rcpt-To:"), 1);
	char *body = strstr(mail, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	*body = '\0';
	ck_assert_ptr_null(strstr(mail, "\nBcc:"));
	ck_assert_int_eq(occurrences(mail, "\nTo:"), 1);
	ck_assert_int_eq(occurrences(mail, "\nFrom:"), 1);
	ck_assert_ptr_null(strstr(mail, "<victim@evil.example>"));
	ck_assert_ptr_null(strstr(mail, "victim2"));
	ck_assert_ptr_nonnull(strstr(mail, "Subject: =?UTF-8?B?"));
	free(mail);
	ck_assert_int_eq(ts_count_eml(sink.dir), 2);
	ts_app_stop(&app);
	ts_sink_stop(&sink);
}
END_TEST

START_TEST(duplicate_event_is_mailed_once)
{
	ts_sink_t sink = {0};
	ts_app_t app;
	char order[37], id[37], *value;

	ts_sink_start(&sink);
	ts_app_start(&app, 1, sink.url, NULL);
	ts_uuid(order);
	value = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "dan@example.com", NULL, id);
	produce(app.topic, order, strdup(value));
	produce(app.topic, order, value);
	produce(app.topic, order,
	        ts_order_event(EDA_EVENT_ORDER_CANCELLED, order, "dan@example.com", NULL, NULL));
	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, WAIT_S), 2);
	ck_assert_double_eq(
	        ts_app_wait_metric(&app, "notifications_duplicate_total", NULL, 1, METRIC_WAIT_S),
	        1);
	ck_assert_int_eq(ts_count_eml(sink.dir), 2);
	ts_app_stop(&app);
	ts_sink_stop(&sink);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("consumers");
	TCase *tc = tcase_create("consumers");

	eda_log_init("test-notification", EDA_LOG_ERROR);
	setenv("TEMPLATE_DIR", "notification-service/templates", 0);
	setenv("MAIL_SPOOL_FSYNC", "false", 1);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, one_email_per_type_over_smtp);
	tcase_add_test(tc, spool_transport_writes_eml_files);
	tcase_add_test(tc, smtp_down_then_back_loses_nothing);
	tcase_add_test(tc, undeliverable_events_go_to_the_dlq);
	tcase_add_test(tc, header_injection_cannot_add_headers_or_recipients);
	tcase_add_test(tc, duplicate_event_is_mailed_once);
	tcase_add_test(tc, durable_spool_commits_in_batches);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
