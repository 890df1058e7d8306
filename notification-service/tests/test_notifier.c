/*
 * Tests of src/services/notifier.c on its flush path (issue 18, item 2): a
 * process that dies between any two writes of a batch (the relay's 250, the
 * sent-id record's write, its sync; a spool file's write, its rename), then
 * the same events again, finishes in one pass: every event is either sent or
 * a duplicate, none asks for a retry, and the first flush succeeds. The
 * crash is real: a child process handles the batch and _exits at the crash
 * point without any clean-up; the parent plays the restarted process.
 * Also: a recipient no mail header may carry never gives an e-mail.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "eda/event.h"
#include "eda/metrics.h"
#include "services/notifier.h"
#include "support/check_main.h"
#include "support/sink.h"

#define EVENTS 6

typedef struct fixture {
	ts_sink_t sink;
	char spool[256], record[300];
	eda_event_t *ev[EVENTS];
} fixture_t;

/* A notifier over SMTP to the sink with the record, or over the durable
 * spool (no record: its file names make a resend idempotent). */
static notif_notifier_t *new_notifier(fixture_t *f, bool smtp, eda_metrics_t *reg)
{
	notif_mailer_config_t mc = {.template_dir = "notification-service/templates",
	                            .from_addr = "orders@shop.example",
	                            .from_name = "Shop",
	                            .id_domain = "notification-service.eda"};
	notif_smtp_config_t sc = {.url = f->sink.url, .timeout_ms = 5000};
	char err[256];
	notif_mailer_t *m = notif_mailer_new(&mc, err, sizeof(err));
	notif_transport_t *t;
	notif_notifier_t *n;

	ck_assert_msg(m != NULL, "%s", err);
	t = smtp ? notif_transport_smtp_new(&sc, err, sizeof(err))
	         : notif_transport_spool_new(f->spool, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	n = notif_notifier_new(m, t, 1000, reg, err, sizeof(err));
	ck_assert_msg(n != NULL, "%s", err);
	if (smtp)
		ck_assert_msg(notif_notifier_record_sent(n, f->record, 1000, err, sizeof(err)) == 0,
		              "%s", err);
	return n;
}

static void fixture_init(fixture_t *f)
{
	char dir[256], order[37];

	memset(f, 0, sizeof(*f));
	ts_sink_start(&f->sink);
	ts_tmpdir(f->spool, sizeof(f->spool), "notif-notifier-spool");
	ts_tmpdir(dir, sizeof(dir), "notif-notifier-state");
	snprintf(f->record, sizeof(f->record), "%s/sent-ids", dir);
	for (int i = 0; i < EVENTS; i++) {
		char err[256], *json;

		ts_uuid(order);
		json = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "heidi@example.com", NULL,
		                      NULL);
		ck_assert_msg(eda_event_parse(json, strlen(json), &f->ev[i], err, sizeof(err)) == 0,
		              "%s", err);
		free(json);
	}
}

static void fixture_free(fixture_t *f)
{
	for (int i = 0; i < EVENTS; i++)
		eda_event_free(f->ev[i]);
	ts_sink_stop(&f->sink);
}

/* Drops the last CUT lines of the record: the state a crash leaves when the
 * relay accepted those e-mails but their ids were not written (the last one)
 * or not synced before the machine went down (the batch). */
static void cut_record(const char *path, int cut)
{
	FILE *f = fopen(path, "r");
	char *lines[EVENTS + 1], buf[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (n <= EVENTS && fgets(buf, sizeof(buf), f) != NULL)
		lines[n++] = strdup(buf);
	fclose(f);
	ck_assert_int_ge(n, cut);
	f = fopen(path, "w");
	for (int i = 0; i < n; i++) {
		if (i < n - cut)
			fputs(lines[i], f);
		free(lines[i]);
	}
	fclose(f);
}

static const struct {
	const char *crash; /* where the process dies */
	bool smtp;
	bool flushed; /* the batch's flush returned before the crash */
	int cut;      /* record lines lost (see cut_record) */
	int resent;   /* e-mails the second pass sends again */
} cases[] = {
        {"smtp: ids written, not synced (process killed)", true, false, 0, 0},
        {"smtp: record synced, offsets not stored", true, true, 0, 0},
        {"smtp: relay accepted the last e-mail, its id not written", true, false, 1, 1},
        {"smtp: machine down before the sync (batch lost)", true, false, EVENTS, EVENTS},
        {"spool: temporary files written, not flushed", false, false, 0, EVENTS},
        {"spool: files renamed, offsets not stored", false, true, 0, EVENTS},
};

START_TEST(crash_then_redelivery_finishes_in_one_pass)
{
	fixture_t f;
	char reason[256];
	int st, sent = 0, duplicate = 0;
	pid_t pid;

	fixture_init(&f);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		notif_notifier_t *n = new_notifier(&f, cases[_i].smtp, eda_metrics_new());

		for (int i = 0; i < EVENTS; i++)
			if (notif_notifier_handle(n, f.ev[i], reason, sizeof(reason)) !=
			    NOTIF_NOTIFY_PENDING)
				_exit(1);
		if (cases[_i].flushed && notif_notifier_flush(n, reason, sizeof(reason)) != 0)
			_exit(2);
		_exit(0); /* the crash: nothing freed, flushed or closed */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "first pass failed: %d", st);
	if (cases[_i].cut > 0)
		cut_record(f.record, cases[_i].cut);

	/* The restarted process gets the same events again. */
	eda_metrics_t *reg = eda_metrics_new();
	notif_notifier_t *n = new_notifier(&f, cases[_i].smtp, reg);

	for (int i = 0; i < EVENTS; i++) {
		notif_notify_result_t r = notif_notifier_handle(n, f.ev[i], reason, sizeof(reason));

		ck_assert_msg(r == NOTIF_NOTIFY_PENDING || r == NOTIF_NOTIFY_DUPLICATE,
		              "%s: event %d: %d %s", cases[_i].crash, i, r, reason);
		sent += r == NOTIF_NOTIFY_PENDING;
		duplicate += r == NOTIF_NOTIFY_DUPLICATE;
	}
	ck_assert_msg(notif_notifier_flush(n, reason, sizeof(reason)) == 0, "%s", reason);
	ck_assert_int_eq(sent, cases[_i].resent);
	ck_assert_int_eq(duplicate, EVENTS - cases[_i].resent);
	notif_notifier_free(n);
	eda_metrics_free(reg);

	if (cases[_i].smtp) {
		ck_assert_int_eq(ts_wait_eml(f.sink.dir, EVENTS + cases[_i].resent, 10),
		                 EVENTS + cases[_i].resent);
		for (int i = 0; i < EVENTS; i++) {
			char *m = ts_find_eml(f.sink.dir, f.ev[i]->id);

			ck_assert_msg(m != NULL, "event %d has no e-mail", i);
			free(m);
		}
	} else {
		/* The resend rewrote the same files: each e-mail once. */
		ck_assert_int_eq(ts_count_eml(f.spool), EVENTS);
	}
	fixture_free(&f);
}
END_TEST

/* The notifier checks the recipient itself (eda_email_valid, the event
 * contract's rule) because it writes it into a header: an event that reaches
 * it without the consumer's contract check, carrying an address no mail header
 * may hold, is dead with its reason, counted and never written. */
static const char *const unmailable[] = {"a..b@example.com", "x@a.b.", "a,b@example.com",
                                         "ada@example.com\r\nBcc: victim@evil.example"};

START_TEST(unmailable_recipient_is_dead)
{
	fixture_t f;
	eda_metrics_t *reg = eda_metrics_new();
	notif_notifier_t *n;
	eda_event_t *ev;
	char order[37], reason[256] = "", err[256], *json, *text;

	fixture_init(&f);
	n = new_notifier(&f, false, reg);
	ts_uuid(order);
	json = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, unmailable[_i], NULL, NULL);
	ck_assert_msg(eda_event_parse(json, strlen(json), &ev, err, sizeof(err)) == 0, "%s", err);
	free(json);
	ck_assert_int_eq(notif_notifier_handle(n, ev, reason, sizeof(reason)), NOTIF_NOTIFY_DEAD);
	ck_assert_msg(strstr(reason, "data.customer.email") != NULL, "%s", reason);
	ck_assert_msg(notif_notifier_flush(n, reason, sizeof(reason)) == 0, "%s", reason);
	ck_assert_int_eq(ts_count_eml(f.spool), 0);
	text = eda_metrics_render(reg, NULL);
	ck_assert_msg(strstr(text, "notification_failures_total{reason=\"invalid_recipient\"} 1") !=
	                      NULL,
	              "%s", text);
	free(text);
	eda_event_free(ev);
	notif_notifier_free(n);
	eda_metrics_free(reg);
	fixture_free(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notifier");
	TCase *tc = tcase_create("notifier");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, crash_then_redelivery_finishes_in_one_pass, 0,
	                    sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, unmailable_recipient_is_dead, 0,
	                    sizeof(unmailable) / sizeof(unmailable[0]));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
