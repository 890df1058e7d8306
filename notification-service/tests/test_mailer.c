/*
 * Tests of src/services/mailer.c and src/schemas/order_mail.c with the real
 * templates of notification-service/templates: one e-mail per event type with
 * its subject and body, HTML escaping of event text, template loading errors,
 * and the event-time parser.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas/order_mail.h"
#include "services/mailer.h"
#include "support/check_main.h"
#include "support/sink.h"

#define TEMPLATES "notification-service/templates"
#define ORDER_ID  "0b6b1f0e-8a4e-4c4e-9a57-2f4b7c1d9e01"

static notif_mailer_t *real_mailer(void)
{
	notif_mailer_config_t c = {.template_dir = TEMPLATES,
	                           .from_addr = "orders@shop.example",
	                           .from_name = "Shop",
	                           .id_domain = "notification-service.eda"};
	char err[256];
	notif_mailer_t *m = notif_mailer_new(&c, err, sizeof(err));

	ck_assert_msg(m != NULL, "%s", err);
	return m;
}

/* Undoes quoted-printable soft breaks and =XX so that tests can search text. */
static char *qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (const char *p = s; *p;) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 3;
		} else if (p[0] == '=' && p[1] && p[2] && strchr("0123456789ABCDEF", p[1]) &&
		           strchr("0123456789ABCDEF", p[2])) {
			char hex[3] = {p[1], p[2], 0};

			*o++ = (char)strtol(hex, NULL, 16);
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static const struct {
	const char *type, *reason, *subject;
	const char *text[4]; /* in the decoded text */
} kinds[] = {
        {EDA_EVENT_ORDER_PLACED,
         NULL,
         "Subject: We received your order 0b6b1f0e",
         {"2 x SKU-1 at 12.50 EUR = 25.00 EUR", "1 x SKU-2 at 5.00 EUR = 5.00 EUR",
          "Total: 30.00 EUR (3 items)", "<td>SKU-1</td><td>2</td>"}},
        {EDA_EVENT_ORDER_CONFIRMED,
         NULL,
         "Subject: Your order 0b6b1f0e is confirmed",
         {"your order " ORDER_ID " is confirmed", "Total: 30.00 EUR", NULL}},
        {EDA_EVENT_ORDER_REJECTED,
         "insufficient stock for <SKU-1> & co",
         "Subject: We could not fulfil your order 0b6b1f0e",
         {"Reason: insufficient stock for <SKU-1> & co",
          "Reason: insufficient stock for &lt;SKU-1&gt; &amp; co", "30.00 EUR", NULL}},
        {EDA_EVENT_ORDER_CANCELLED,
         "customer asked",
         "Subject: Your order 0b6b1f0e was cancelled",
         {"your order " ORDER_ID " was cancelled", "Reason: customer asked", NULL}},
        {EDA_EVENT_ORDER_CANCELLED,
         NULL,
         "Subject: Your order 0b6b1f0e was cancelled",
         {"Order total: 30.00 EUR.", NULL}},
};

START_TEST(one_email_per_type)
{
	notif_mailer_t *m = real_mailer();
	char id[37], *s, err[256], msgid[NOTIF_MAILER_MSGID_MAX];
	char *value =
	        ts_order_event(kinds[_i].type, ORDER_ID, "alice@example.com", kinds[_i].reason, id);
	eda_event_t *ev;
	json_t *values;
	size_t len;

	ck_assert_int_eq(eda_event_parse(value, strlen(value), &ev, err, sizeof(err)), 0);
	ck_assert_int_eq(eda_event_validate_data(ev, err, sizeof(err)), 0);
	ck_assert_str_eq(notif_order_mail_recipient(ev), "alice@example.com");
	values = notif_order_mail_values(ev);
	ck_assert_ptr_nonnull(values);
	s = notif_mailer_build(m, (notif_mail_kind_t)notif_mail_kind_of(ev->type), values,
	                       "alice@example.com", 0, &len, msgid, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	char *decoded = qp_decode(s);

	ck_assert_msg(strstr(s, kinds[_i].subject) != NULL, "%s", s);
	for (int k = 0; k < 4 && kinds[_i].text[k]; k++)
		ck_assert_msg(strstr(decoded, kinds[_i].text[k]) != NULL, "missing '%s' in\n%s",
		              kinds[_i].text[k], decoded);
	/* Event text is escaped in the HTML part: no raw tag from the reason. */
	ck_assert_ptr_null(strstr(decoded, "<SKU-1>&lt;"));
	if (kinds[_i].reason != NULL && strchr(kinds[_i].reason, '<'))
		ck_assert_ptr_null(strstr(strstr(decoded, "text/html"), "<SKU-1>"));
	char want_id[128];
	snprintf(want_id, sizeof(want_id), "Message-ID: <%s@notification-service.eda>", id);
	ck_assert_ptr_nonnull(strstr(s, want_id));
	ck_assert_ptr_nonnull(strstr(s, "To: <alice@example.com>"));
	free(decoded);
	free(s);
	json_decref(values);
	eda_event_free(ev);
	free(value);
	notif_mailer_free(m);
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A template folder with every file valid, then one file replaced by BAD. */
static const struct {
	const char *file, *content, *err;
} broken[] = {
        {NULL, NULL, "order_placed.subject.txt: No such file"},
        {"order_rejected.html", "{{#reason}}", "order_rejected.html: template line 1"},
        {"order_confirmed.txt", "bad \xff byte", "order_confirmed.txt: not UTF-8"},
};

START_TEST(template_errors_are_reported)
{
	char dir[256], err[256] = "";
	notif_mailer_config_t c = {
	        .template_dir = dir, .from_addr = "orders@shop.example", .id_domain = "x.example"};

	ts_tmpdir(dir, sizeof(dir), "notif-tpl");
	if (broken[_i].file != NULL) {
		const char *names[] = {"order_placed", "order_confirmed", "order_rejected",
		                       "order_cancelled"};
		const char *sfx[] = {".subject.txt", ".txt", ".html"};

		for (int k = 0; k < 4; k++)
			for (int p = 0; p < 3; p++) {
				char name[64];

				snprintf(name, sizeof(name), "%s%s", names[k], sfx[p]);
				write_file(dir, name, "{{order_id}}\n");
			}
		write_file(dir, broken[_i].file, broken[_i].content);
	}
	ck_assert_ptr_null(notif_mailer_new(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, broken[_i].err) != NULL, "got '%s'", err);
}
END_TEST

START_TEST(sender_must_be_plain)
{
	notif_mailer_config_t c = {.template_dir = TEMPLATES,
	                           .from_addr = "Shop <orders@shop.example>",
	                           .id_domain = "x.example"};
	char err[256];

	ck_assert_ptr_null(notif_mailer_new(&c, err, sizeof(err)));
}
END_TEST

START_TEST(rejects_bad_recipient)
{
	notif_mailer_t *m = real_mailer();
	json_t *v = json_pack("{s:s, s:s}", "event_id", "e1", "order_id", ORDER_ID);
	char err[256], msgid[NOTIF_MAILER_MSGID_MAX];

	ck_assert_ptr_null(notif_mailer_build(m, NOTIF_MAIL_ORDER_CONFIRMED, v, "a,b@example.com",
	                                      0, NULL, msgid, err, sizeof(err)));
	ck_assert_str_eq(err, "invalid recipient address");
	json_decref(v);
	notif_mailer_free(m);
}
END_TEST

static const struct {
	const char *in;
	long long ms;
} times[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-23T10:30:00.123Z", 1795429800123LL},
        {"2026-11-23T11:30:00.5+01:00", 1795429800500LL},
        {"2026-11-23t10:30:00z", 1795429800000LL},
        {"2026-11-23 10:30:00Z", -1},
        {"2026-13-01T00:00:00Z", -1},
        {"2026-11-23T10:30:00", -1},
        {"2026-11-23T10:30:00Zjunk", -1},
        {"", -1},
};

START_TEST(time_table)
{
	ck_assert_int_eq(notif_order_mail_time_ms(times[_i].in), times[_i].ms);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailer");
	TCase *tc = tcase_create("mailer");

	tcase_add_loop_test(tc, one_email_per_type, 0, sizeof(kinds) / sizeof(kinds[0]));
	tcase_add_loop_test(tc, template_errors_are_reported, 0,
	                    sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, sender_must_be_plain);
	tcase_add_test(tc, rejects_bad_recipient);
	tcase_add_loop_test(tc, time_table, 0, sizeof(times) / sizeof(times[0]));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
