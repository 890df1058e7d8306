/*
 * Tests of src/services/transport_smtp.c against a real SMTP server (aiosmtpd
 * via tests/support/smtp_sink.py): delivery with the right envelope, one
 * connection for several e-mails, and the classification that decides
 * between retry and DLQ (relay down, 4xx, 5xx, relay back); and a relay that
 * accepts connections and never answers (support/silent_server.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "services/transport.h"
#include "support/check_main.h"
#include "support/silent_server.h"
#include "support/sink.h"

static const char *msg =
        "Subject: hello\r\nMessage-ID: <m@x.example>\r\n\r\n.leading dot\r\nbody\r\n";

static notif_transport_t *smtp_to(const char *url)
{
	notif_smtp_config_t c = {.url = url, .timeout_ms = 5000};
	char err[256];
	notif_transport_t *t = notif_transport_smtp_new(&c, err, sizeof(err));

	ck_assert_msg(t != NULL, "%s", err);
	return t;
}

static int send_to(notif_transport_t *t, const char *rcpt, char *err, size_t errsz)
{
	return t->send(t, "orders@shop.example", rcpt, "m@x.example", msg, strlen(msg), err, errsz);
}

START_TEST(delivers_and_reuses_the_connection)
{
	ts_sink_t sink = {0};
	char err[256];
	notif_transport_t *t;
	char *got;

	ts_sink_start(&sink);
	t = smtp_to(sink.url);
	ck_assert_int_eq(t->check(t, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(send_to(t, "alice@example.com", err, sizeof(err)) ==
		                      NOTIF_TRANSPORT_OK,
		              "%s", err);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 3, 10), 3);
	got = ts_read_all_eml(sink.dir);
	ck_assert_ptr_nonnull(strstr(got, "X-Sink-Mail-From: orders@shop.example"));
	ck_assert_ptr_nonnull(strstr(got, "X-Sink-Rcpt-To: alice@example.com"));
	ck_assert_ptr_nonnull(strstr(got, "\r\n.leading dot\r\n")); /* dot-stuffing undone */
	free(got);
	/* One session for the readiness probe, one for the three e-mails. */
	ck_assert_int_eq(ts_sink_sessions(&sink), 2);
	notif_transport_free(t);
	ts_sink_stop(&sink);
}
END_TEST

START_TEST(classifies_failures)
{
	ts_sink_t sink = {.reject = {"gone@example.com"}, .tempfail = {"busy@example.com"}};
	char err[256];
	notif_transport_t *t;

	ts_sink_start(&sink);
	t = smtp_to(sink.url);
	ck_assert_int_eq(send_to(t, "gone@example.com", err, sizeof(err)),
	                 NOTIF_TRANSPORT_PERMANENT);
	ck_assert_msg(strstr(err, "550") != NULL, "%s", err);
	ck_assert_int_eq(send_to(t, "busy@example.com", err, sizeof(err)),
	                 NOTIF_TRANSPORT_TRANSIENT);
	ck_assert_msg(strstr(err, "451") != NULL, "%s", err);
	/* A 4xx is the relay answering: still ready. */
	ck_assert_msg(t->check(t, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(send_to(t, "alice@example.com", err, sizeof(err)), NOTIF_TRANSPORT_OK);

	/* Relay down: transient, and readiness says so. */
	ts_sink_stop(&sink);
	ck_assert_int_eq(send_to(t, "alice@example.com", err, sizeof(err)),
	                 NOTIF_TRANSPORT_TRANSIENT);
	ck_assert_int_ne(t->check(t, err, sizeof(err)), 0);
	/* Relay back on the same port: the same handle reconnects. */
	ts_sink_start(&sink);
	ck_assert_msg(send_to(t, "alice@example.com", err, sizeof(err)) == NOTIF_TRANSPORT_OK, "%s",
	              err);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, 10), 2);
	notif_transport_free(t);
	ts_sink_stop(&sink);
}
END_TEST

/* The send gives up at the deadline (the test's own timeout would end a
 * hang), as a transient failure; from then on readiness says not ready
 * without probing, and the probe alone says so too (its own deadline). */
START_TEST(silent_relay_is_transient_and_not_ready)
{
	ts_silent_t *relay = ts_silent_start();
	char url[64], err[256];
	notif_smtp_config_t c = {.url = url, .timeout_ms = 500};
	notif_transport_t *t;

	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", ts_silent_port(relay));
	t = notif_transport_smtp_new(&c, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_ne(t->check(t, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "last e-mail failed") == NULL, "%s", err);
	ck_assert_int_eq(send_to(t, "alice@example.com", err, sizeof(err)),
	                 NOTIF_TRANSPORT_TRANSIENT);
	ck_assert_msg(strstr(err, "reply 0") != NULL, "%s", err);
	ck_assert_int_ne(t->check(t, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "last e-mail failed") != NULL, "%s", err);
	ck_assert_int_ge(ts_silent_accepted(relay), 2);
	notif_transport_free(t);
	ts_silent_stop(relay);
}
END_TEST

START_TEST(refuses_other_schemes)
{
	notif_smtp_config_t c = {.url = "http://127.0.0.1:25"};
	char err[256];

	ck_assert_ptr_null(notif_transport_smtp_new(&c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "smtp://"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transport_smtp");
	TCase *tc = tcase_create("smtp");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, delivers_and_reuses_the_connection);
	tcase_add_test(tc, classifies_failures);
	tcase_add_test(tc, silent_relay_is_transient_and_not_ready);
	tcase_add_test(tc, refuses_other_schemes);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
