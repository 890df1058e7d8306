/*
 * Tests of src/models/email.c: addresses checked before rendering, header encoding (the
 * header-injection cases), Message-ID tokens and the rendered message's shape.
 * Data-driven: each table row is an input and what must (not) come out.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/email.h"
#include "support/check_main.h"

static const struct {
	const char *addr;
	bool ok;
} addresses[] = {
        {"alice@example.com", true},
        {"a.b+tag@mail.example.co.uk", true},
        {"o'brien@example.com", true},
        {"x@a-b.example", true},
        {"", false},
        {"alice", false},
        {"alice@example", false}, /* no dot in the domain */
        {"@example.com", false},
        {"alice@@example.com", false},
        {"a@b@example.com", false},
        {".alice@example.com", false},
        {"alice.@example.com", false},
        {"al..ice@example.com", false},
        {"alice@-example.com", false},
        {"alice@example-.com", false},
        {"alice@example..com", false},
        {"alice@example.com.", false}, /* the contract allowed it until both had one rule */
        {"a..b@example.com", false},
        {"a,b@example.com", false}, /* a second recipient in a To: */
        {"a@example.com>,<victim@evil.example", false},
        {"a<b>@example.com", false},
        {"\"quoted\"@example.com", false},
        {"alice@example.com\r\nBcc: victim@evil.example", false},
        {"alice@example.com\nBcc:x@y.z", false},
        {"alice @example.com", false},
        {"alice@[127.0.0.1]", false},
        {"al(comment)ice@example.com", false},
        {"ålice@example.com", false},
        {"a;b@example.com", false},
        {"a:b@example.com", false},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com", false}, /* 65 */
};

/* The rule is common/'s eda_email_valid (tested in common/tests/test_validate.c);
 * this checks that rendering applies it to both addresses before they reach a
 * header. */
START_TEST(address_table)
{
	const char *addr = addresses[_i].addr;
	notif_mail_message_t m = {.from_addr = "orders@shop.example",
	                          .to_addr = addr,
	                          .subject = "s",
	                          .message_id = "x@y.example"};
	char err[128] = "";
	char *s = notif_mail_message_render(&m, NULL, err, sizeof(err));

	ck_assert_msg((s != NULL) == addresses[_i].ok, "to '%s': %s", addr, err);
	if (s == NULL)
		ck_assert_str_eq(err, "invalid recipient address");
	free(s);
	m.from_addr = addr;
	m.to_addr = "alice@example.com";
	s = notif_mail_message_render(&m, NULL, err, sizeof(err));
	ck_assert_msg((s != NULL) == addresses[_i].ok, "from '%s': %s", addr, err);
	if (s == NULL)
		ck_assert_str_eq(err, "invalid sender address");
	free(s);
}
END_TEST

/* After encoding, a header value must be one logical line: every CR is part of
 * a CRLF followed by a space (folding), so nothing can start a new header. */
static void assert_one_logical_line(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n' && p[2] == ' ', "bare CR in '%s'", s);
		else if (*p == '\n')
			ck_assert_msg(p > s && p[-1] == '\r', "bare LF in '%s'", s);
	}
}

static const struct {
	const char *in;
	const char *want; /* exact output, or NULL: only checked for shape */
} headers[] = {
        {"Your order 1234 is confirmed", "Your order 1234 is confirmed"},
        {"", ""},
        {"Hi\r\nBcc: victim@evil.example", NULL},
        {"Hi\nTo: x@y.z", NULL},
        {"Hi\rX: y", NULL},
        {"Tab\there", "Tab here"},
        {"Grüße aus Köln", "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="},
        {"=?UTF-8?B?SGk=?= is not decoded", NULL},
        {"A very long subject line that goes on and on well past the seventy-eight column limit "
         "of RFC 5322",
         NULL},
        {"日本語の件名が長い場合でも正しく折り返されることを確認するためのテスト文字列です", NULL},
};

START_TEST(header_table)
{
	char *enc = notif_mail_header_encode(headers[_i].in, strlen("Subject"));

	assert_one_logical_line(enc);
	if (headers[_i].want != NULL)
		ck_assert_str_eq(enc, headers[_i].want);
	/* No line of the folded header is longer than 78 with "Subject: ". */
	size_t col = strlen("Subject: ");
	for (const char *p = enc; *p; p++) {
		if (*p == '\n') {
			col = 0;
			continue;
		}
		col++;
		ck_assert_msg(col <= 79, "line too long in '%s'", enc);
	}
	if (strchr(headers[_i].in, '\n') || strchr(headers[_i].in, '\r'))
		ck_assert_ptr_null(strstr(enc, "\r\nBcc:"));
	free(enc);
}
END_TEST

static const struct {
	const char *id, *want;
} tokens[] = {
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca427", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"},
        {"a/b", "a_2Fb"},
        {"a_b", "a_5Fb"},
        {"<x>@y", "_3Cx_3E_40y"},
        {"\r\n", "_0D_0A"},
        {"..", "_2E_2E"},
};

START_TEST(token_table)
{
	char out[201];

	notif_mail_id_token(tokens[_i].id, out);
	ck_assert_str_eq(out, tokens[_i].want);
}
END_TEST

START_TEST(token_long_ids_stay_distinct)
{
	char a[400], b[400], ta[201], tb[201];

	memset(a, 'x', 300);
	a[300] = '\0';
	memcpy(b, a, 301);
	b[299] = 'y';
	notif_mail_id_token(a, ta);
	notif_mail_id_token(b, tb);
	ck_assert_uint_le(strlen(ta), 200);
	ck_assert_str_ne(ta, tb);
}
END_TEST

static char *render_sample(const char *subject, const char *text, const char *from_name)
{
	notif_mail_message_t m = {.from_name = from_name,
	                          .from_addr = "orders@shop.example",
	                          .to_addr = "alice@example.com",
	                          .subject = subject,
	                          .message_id = "abc-123@notification-service.eda",
	                          .text = text,
	                          .html = "<p>Hello &amp; welcome</p>",
	                          .date = 1795420800};
	char err[128];
	size_t len;
	char *s = notif_mail_message_render(&m, &len, err, sizeof(err));

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_uint_eq(strlen(s), len);
	return s;
}

/* Counts header lines named NAME in the header block of MSG. */
static int count_headers(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t n = strlen(name);
	int count = 0;

	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			count++;
	return count;
}

START_TEST(render_has_required_headers)
{
	char *s = render_sample("Your order", "Line one\nLine two\n", "Shop");

	ck_assert_ptr_nonnull(strstr(s, "From: Shop <orders@shop.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "To: <alice@example.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Subject: Your order\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Date: Mon, 23 Nov 2026 08:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Message-ID: <abc-123@notification-service.eda>\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "MIME-Version: 1.0\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: multipart/alternative; boundary="));
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: text/plain; charset=UTF-8"));
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: text/html; charset=UTF-8"));
	ck_assert_ptr_nonnull(strstr(s, "Line one\r\nLine two\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "<p>Hello &amp; welcome</p>"));
	for (const char *p = s; *p; p++)
		if (*p == '\n')
			ck_assert_msg(p > s && p[-1] == '\r', "bare LF");
	free(s);
}
END_TEST

static const struct {
	const char *subject, *from_name;
} injections[] = {
        {"Hi\r\nBcc: victim@evil.example", "Shop"}, {"Hi\nBcc: victim@evil.example", "Shop"},
        {"Hi", "Shop\r\nBcc: victim@evil.example"}, {"Hi", "Evil <victim@evil.example>, Shop"},
        {"Hi\r\n\r\nInjected body", "Shop"},
};

START_TEST(render_injection_table)
{
	char *s = render_sample(injections[_i].subject,
	                        "text\r\nBcc: in-body@evil.example\r\n.\r\nQUIT\r\n",
	                        injections[_i].from_name);

	ck_assert_int_eq(count_headers(s, "Bcc"), 0);
	ck_assert_int_eq(count_headers(s, "To"), 1);
	ck_assert_int_eq(count_headers(s, "From"), 1);
	ck_assert_int_eq(count_headers(s, "Subject"), 1);
	/* The From header holds exactly one address. */
	ck_assert_ptr_null(strstr(s, "<victim@evil.example>"));
	/* A lone "." line in the body is encoded, so no relay sees end-of-data. */
	ck_assert_ptr_null(strstr(s, "\r\n.\r\n"));
	free(s);
}
END_TEST

START_TEST(render_refuses_bad_addresses)
{
	notif_mail_message_t m = {.from_addr = "orders@shop.example",
	                          .to_addr = "a@b.example\r\nBcc: x@y.z",
	                          .subject = "s",
	                          .message_id = "x@y.example"};
	char err[128];

	ck_assert_ptr_null(notif_mail_message_render(&m, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "invalid recipient address");
	m.to_addr = "a@b.example";
	m.message_id = "x>\r\nBcc: y@z.example";
	ck_assert_ptr_null(notif_mail_message_render(&m, NULL, err, sizeof(err)));
}
END_TEST

START_TEST(quoted_printable_long_and_utf8)
{
	char text[400];
	char *s;

	memset(text, 'a', 300);
	strcpy(text + 300, " é=end ");
	s = render_sample("x", text, NULL);
	/* Every body line is at most 76 characters. */
	const char *body = strstr(s, "quoted-printable\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	size_t col = 0;
	for (const char *p = body; *p; p++) {
		if (*p == '\r')
			continue;
		col = *p == '\n' ? 0 : col + 1;
		ck_assert_uint_le(col, 78);
	}
	ck_assert_ptr_nonnull(strstr(s, "=C3=A9=3Dend=20"));
	ck_assert_ptr_nonnull(strstr(s, "From: <orders@shop.example>"));
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("email");
	TCase *tc = tcase_create("email");

	tcase_add_loop_test(tc, address_table, 0, sizeof(addresses) / sizeof(addresses[0]));
	tcase_add_loop_test(tc, header_table, 0, sizeof(headers) / sizeof(headers[0]));
	tcase_add_loop_test(tc, token_table, 0, sizeof(tokens) / sizeof(tokens[0]));
	tcase_add_test(tc, token_long_ids_stay_distinct);
	tcase_add_test(tc, render_has_required_headers);
	tcase_add_loop_test(tc, render_injection_table, 0,
	                    sizeof(injections) / sizeof(injections[0]));
	tcase_add_test(tc, render_refuses_bad_addresses);
	tcase_add_test(tc, quoted_printable_long_and_utf8);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
