/*
 * Tests common/src/validate.c with tables: each rule of the event contract's
 * SKU, UUID and e-mail shapes at its edges (lengths 64/65, the local part's
 * 64/65, a label's 63/64, the address's 254/255, the first character, case,
 * dots in the local part and the domain, the mail-header injection shapes),
 * and the customer id's (characters, not bytes; no control characters).
 */
#include "eda/validate.h"

#include "support/check_main.h"
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* C repeated N times followed by TAIL, in BUF. */
static const char *rep(char *buf, size_t bufsz, char c, size_t n, const char *tail)
{
	ck_assert_uint_lt(n + strlen(tail), bufsz);
	memset(buf, c, n);
	snprintf(buf + n, bufsz - n, "%s", tail);
	return buf;
}

static const struct text_case {
	const char *in;
	bool ok;
} sku_cases[] = {
        {"A", true},    {"sku-1", true}, {"a.b_c-D9", true}, {"9", true},
        {"", false},    {"-a", false},   {".a", false},      {"_a", false},
        {"a b", false}, {"a/b", false},  {"a'b", false},     {"\xc3\xa9", false}, /* non-ASCII */
        {NULL, false},
};

static void check_case(bool (*rule)(const char *), const struct text_case *c)
{
	ck_assert_msg(rule(c->in) == c->ok, "'%s'", c->in ? c->in : "(null)");
}

START_TEST(sku_table)
{
	check_case(eda_sku_valid, &sku_cases[_i]);
}
END_TEST

START_TEST(sku_length_edges)
{
	char buf[128];

	ck_assert(eda_sku_valid(rep(buf, sizeof(buf), 'x', EDA_SKU_MAX, "")));
	ck_assert(!eda_sku_valid(rep(buf, sizeof(buf), 'x', EDA_SKU_MAX + 1, "")));
}
END_TEST

static const struct text_case uuid_cases[] = {
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca427", true},
        {"00000000-0000-0000-0000-000000000000", true},
        {"1B4E28BA-2FA1-11D2-883F-0016D3CCA427", false}, /* upper case is not canonical */
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca42A", false},
        {"1b4e28ba2fa111d2883f0016d3cca427", false},      /* no dashes */
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca4277", false}, /* 37 */
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca42", false},   /* 35 */
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca42g", false},
        {"1b4e28ba-2fa1-11d2-883f+0016d3cca427", false},
        {"1b4e28ba-2fa1-11d2-883f-0016d3cca42'", false},
        {"", false},
        {NULL, false},
};

START_TEST(uuid_table)
{
	check_case(eda_uuid_valid, &uuid_cases[_i]);
}
END_TEST

/* The mail-safe rule: notification-service writes every address that passes
 * into a To: header, so the injection shapes are here too. */
static const struct text_case email_cases[] = {
        {"ada@example.com", true},
        {"a@b.co", true},
        {"a+tag@mail.example.org", true},
        {"a.b+tag@mail.example.co.uk", true},
        {"o'brien@example.com", true},
        {"x@a-b.example", true},
        {"x@1.2", true},                    /* a label may be all digits (RFC 5321) */
        {"ADA@EXAMPLE.COM", true},          /* case is the mail system's business */
        {"!#$%&'*+-/=?^_`{|}~@x.io", true}, /* every atext character */
        {"x@a.b.", false},                  /* a domain ending in a dot */
        {"a..b@example.com", false},        /* a doubled dot in the local part */
        {".ada@example.com", false},
        {"ada.@example.com", false},
        {"ada@localhost", false},
        {"ada@.com", false},
        {"ada@com.", false},
        {"ada@.", false},
        {"ada@example..com", false},
        {"ada@-example.com", false},
        {"ada@example-.com", false},
        {"ada@exa_mple.com", false},
        {"ada@[127.0.0.1]", false},
        {"a da@example.com", false},
        {"a@b@example.com", false},
        {"ada@@example.com", false},
        {"@example.com", false},
        {"ada@", false},
        {"ada", false},
        {"ada\t@example.com", false},
        {"\xc3\xa9@example.com", false},   /* ASCII only */
        {"ada@ex\xc3\xa4mple.com", false}, /* IDNs as xn-- only */
        {"ada@example.com\x7f", false},
        {"a,b@example.com", false}, /* a second recipient in a To: */
        {"a@example.com>,<victim@evil.example", false},
        {"a<b>@example.com", false},
        {"\"quoted\"@example.com", false},
        {"ada@example.com\r\nBcc: victim@evil.example", false},
        {"ada@example.com\nBcc:x@y.z", false},
        {"al(comment)ice@example.com", false},
        {"a;b@example.com", false},
        {"a:b@example.com", false},
        {"a\\b@example.com", false},
        {"", false},
        {NULL, false},
};

START_TEST(email_table)
{
	check_case(eda_email_valid, &email_cases[_i]);
}
END_TEST

/* A domain of LABELS labels of LEN characters each ("ddd.ddd..."), in BUF. */
static const char *domain_of(char *buf, size_t bufsz, size_t labels, size_t len)
{
	size_t n = 0;

	ck_assert_uint_lt(labels * (len + 1), bufsz);
	for (size_t i = 0; i < labels; i++) {
		if (i > 0)
			buf[n++] = '.';
		memset(buf + n, 'd', len);
		n += len;
	}
	buf[n] = '\0';
	return buf;
}

START_TEST(email_length_edges)
{
	char buf[512], dom[512];

	/* The local part: 64 characters pass, 65 do not (RFC 5321). */
	ck_assert(eda_email_valid(rep(buf, sizeof(buf), 'l', EDA_EMAIL_LOCAL_MAX, "@example.com")));
	ck_assert(!eda_email_valid(
	        rep(buf, sizeof(buf), 'l', EDA_EMAIL_LOCAL_MAX + 1, "@example.com")));
	/* A label: 63 characters pass, 64 do not. */
	snprintf(buf, sizeof(buf), "a@%s.com", domain_of(dom, sizeof(dom), 1, EDA_EMAIL_LABEL_MAX));
	ck_assert(eda_email_valid(buf));
	snprintf(buf, sizeof(buf), "a@%s.com",
	         domain_of(dom, sizeof(dom), 1, EDA_EMAIL_LABEL_MAX + 1));
	ck_assert(!eda_email_valid(buf));
	/* The whole address: 254 characters pass, 255 do not. "a@" and four labels
	 * of 62 ("d" x 62 joined by dots: 251) make 253; one more letter each time. */
	snprintf(buf, sizeof(buf), "ab@%s", domain_of(dom, sizeof(dom), 4, 62));
	ck_assert_uint_eq(strlen(buf), EDA_EMAIL_MAX);
	ck_assert(eda_email_valid(buf));
	snprintf(buf, sizeof(buf), "abc@%s", domain_of(dom, sizeof(dom), 4, 62));
	ck_assert_uint_eq(strlen(buf), EDA_EMAIL_MAX + 1);
	ck_assert(!eda_email_valid(buf));
}
END_TEST

static const struct text_case domain_cases[] = {
        {"example.com", true},
        {"a-b.c", true},
        {"xn--bcher-kva.example", true},
        {"1.2", true},
        {"com", false},
        {"example.com.", false},
        {".example.com", false},
        {"example..com", false},
        {"-a.com", false},
        {"a-.com", false},
        {"a_b.com", false},
        {"a b.com", false},
        {"a@b.com", false},
        {"", false},
        {NULL, false},
};

START_TEST(domain_table)
{
	check_case(eda_email_domain_valid, &domain_cases[_i]);
}
END_TEST

START_TEST(customer_ids)
{
	char buf[4 * EDA_CUSTOMER_ID_MAX + 8];

	ck_assert(eda_customer_id_valid("c-1"));
	ck_assert(eda_customer_id_valid("x'; DROP TABLE orders;--"));
	ck_assert(eda_customer_id_valid("caf\xc3\xa9"));
	ck_assert(!eda_customer_id_valid(""));
	ck_assert(!eda_customer_id_valid(NULL));
	ck_assert(!eda_customer_id_valid("a\tb"));
	ck_assert(!eda_customer_id_valid("a\x7f"));
	/* The limit counts characters, not bytes: 256 two-byte characters pass. */
	for (int i = 0; i < EDA_CUSTOMER_ID_MAX; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	buf[2 * EDA_CUSTOMER_ID_MAX] = '\0';
	ck_assert(eda_customer_id_valid(buf));
	memcpy(buf + 2 * EDA_CUSTOMER_ID_MAX, "x", 2);
	ck_assert(!eda_customer_id_valid(buf));
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, sku_table, 0, N(sku_cases));
	tcase_add_test(tc, sku_length_edges);
	tcase_add_loop_test(tc, uuid_table, 0, N(uuid_cases));
	tcase_add_loop_test(tc, email_table, 0, N(email_cases));
	tcase_add_test(tc, email_length_edges);
	tcase_add_loop_test(tc, domain_table, 0, N(domain_cases));
	tcase_add_test(tc, customer_ids);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(validate_suite());
}
