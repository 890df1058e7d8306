/*
 * Tests common/src/money.c with tables: the lenient request strings, the strict
 * two-decimal event strings, JSON numbers judged by their shortest decimal form
 * (0.1+0.2 is refused, 1e2 is 100.00), and formatting. A sweep checks that every
 * amount survives format -> parse and cents/100.0 -> parse.
 */
#include "eda/money.h"

#include "support/check_main.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct str_case {
	const char *in;
	int rc;
	int64_t cents;
} str_cases[] = {
        {"49.99", 0, 4999},
        {"5", 0, 500},
        {"5.5", 0, 550},
        {"5.05", 0, 505},
        {"0", 0, 0},
        {"0.5", 0, 50},
        {"0.00", 0, 0},
        {"10", 0, 1000},
        {"99999999999.99", 0, EDA_MONEY_MAX_CENTS},
        {"100000000000", EDA_MONEY_TOO_LARGE, 0},
        {"100000000000.00", EDA_MONEY_TOO_LARGE, 0},
        {"99999999999999999999999999", EDA_MONEY_TOO_LARGE, 0},
        {"1.234", EDA_MONEY_TOO_PRECISE, 0},
        {"1.250", EDA_MONEY_TOO_PRECISE, 0}, /* the text is judged, not its value */
        {"0.001", EDA_MONEY_TOO_PRECISE, 0},
        {"-1", EDA_MONEY_NEGATIVE, 0},
        {"-0.50", EDA_MONEY_NEGATIVE, 0},
        {"-0", 0, 0},    /* as the JSON number -0 */
        {"-0.00", 0, 0}, /* negative zero is zero */
        {"-0.001", EDA_MONEY_TOO_PRECISE, 0},
        {"-", EDA_MONEY_BAD_SYNTAX, 0},
        {"--1", EDA_MONEY_BAD_SYNTAX, 0},
        {"-x", EDA_MONEY_BAD_SYNTAX, 0},
        {"", EDA_MONEY_BAD_SYNTAX, 0},
        {"01.5", EDA_MONEY_BAD_SYNTAX, 0}, /* leading zeros refused, as in JSON numbers */
        {"00", EDA_MONEY_BAD_SYNTAX, 0},
        {"007", EDA_MONEY_BAD_SYNTAX, 0},
        {".5", EDA_MONEY_BAD_SYNTAX, 0},
        {"5.", EDA_MONEY_BAD_SYNTAX, 0},
        {"+5", EDA_MONEY_BAD_SYNTAX, 0},
        {" 5", EDA_MONEY_BAD_SYNTAX, 0},
        {"5 ", EDA_MONEY_BAD_SYNTAX, 0},
        {"5\n", EDA_MONEY_BAD_SYNTAX, 0},
        {"1e2", EDA_MONEY_BAD_SYNTAX, 0},
        {"1E2", EDA_MONEY_BAD_SYNTAX, 0},
        {"1,50", EDA_MONEY_BAD_SYNTAX, 0},
        {"0x10", EDA_MONEY_BAD_SYNTAX, 0},
        {"NaN", EDA_MONEY_BAD_SYNTAX, 0},
        {"inf", EDA_MONEY_BAD_SYNTAX, 0},
        {"5.5.5", EDA_MONEY_BAD_SYNTAX, 0},
        {"1.2x", EDA_MONEY_BAD_SYNTAX, 0},
        {"123456789012x", EDA_MONEY_BAD_SYNTAX, 0},
        {"\xef\xbc\x91", EDA_MONEY_BAD_SYNTAX, 0}, /* a full-width digit one */
        {"49.99 EUR", EDA_MONEY_BAD_SYNTAX, 0},
};

START_TEST(parse_str_table)
{
	const struct str_case *c = &str_cases[_i];
	int64_t cents = -777;
	int rc = eda_money_parse_str(c->in, &cents);

	ck_assert_msg(rc == c->rc, "\"%s\": rc %d (%s), want %d", c->in, rc, eda_money_strerror(rc),
	              c->rc);
	ck_assert_int_eq(cents, c->rc == 0 ? c->cents : -777);
}
END_TEST

static const struct str_case canonical_cases[] = {
        {"49.99", 0, 4999},
        {"0.00", 0, 0},
        {"5.50", 0, 550},
        {"99999999999.99", 0, EDA_MONEY_MAX_CENTS},
        {"5", EDA_MONEY_NOT_CANONICAL, 0},
        {"5.5", EDA_MONEY_NOT_CANONICAL, 0},
        {"1.234", EDA_MONEY_TOO_PRECISE, 0},
        {"049.99", EDA_MONEY_BAD_SYNTAX, 0},
        {"-1.00", EDA_MONEY_NEGATIVE, 0},
        {"-0.00", EDA_MONEY_NOT_CANONICAL, 0}, /* zero, but canonical money has no sign */
        {"100000000000.00", EDA_MONEY_TOO_LARGE, 0},
        {"", EDA_MONEY_BAD_SYNTAX, 0},
};

START_TEST(parse_canonical_table)
{
	const struct str_case *c = &canonical_cases[_i];
	int64_t cents = -777;
	int rc = eda_money_parse_canonical(c->in, &cents);

	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, want %d", c->in, rc, c->rc);
	ck_assert_int_eq(cents, c->rc == 0 ? c->cents : -777);
}
END_TEST

/* JSON text as a request body would hold it. */
static const struct str_case json_cases[] = {
        {"49.99", 0, 4999},
        {"\"49.99\"", 0, 4999},
        {"\"5.5\"", 0, 550},
        {"5", 0, 500},
        {"0", 0, 0},
        {"-0", 0, 0},   /* jansson reads it as the integer 0 */
        {"-0.0", 0, 0}, /* negative zero is zero */
        {"0.1", 0, 10},
        {"0.07", 0, 7},   /* 0.07 * 100 is 7.000000000000001 in binary */
        {"4.35", 0, 435}, /* 4.35 * 100 is 434.99999999999994 */
        {"19.99", 0, 1999},
        {"1.1", 0, 110},
        {"123456789.12", 0, 12345678912},
        {"99999999999.99", 0, EDA_MONEY_MAX_CENTS},
        {"1.250", 0, 125}, /* a number is judged by its value */
        {"1e2", 0, 10000},
        {"1E2", 0, 10000},
        {"1.5e1", 0, 1500},
        {"1e-2", 0, 1},
        {"2.5e-1", 0, 25},
        {"0.30000000000000004", EDA_MONEY_TOO_PRECISE, 0}, /* 0.1 + 0.2 */
        {"1.005", EDA_MONEY_TOO_PRECISE, 0},
        {"1e-3", EDA_MONEY_TOO_PRECISE, 0},
        {"5e-324", EDA_MONEY_TOO_PRECISE, 0},
        {"-1", EDA_MONEY_NEGATIVE, 0},
        {"-0.01", EDA_MONEY_NEGATIVE, 0},
        {"100000000000", EDA_MONEY_TOO_LARGE, 0},
        {"100000000000.0", EDA_MONEY_TOO_LARGE, 0},
        {"1e12", EDA_MONEY_TOO_LARGE, 0},
        {"1e300", EDA_MONEY_TOO_LARGE, 0},
        {"9223372036854775807", EDA_MONEY_TOO_LARGE, 0},
        {"\"1e2\"", EDA_MONEY_BAD_SYNTAX, 0},
        {"\"\"", EDA_MONEY_BAD_SYNTAX, 0},
        {"\"1.234\"", EDA_MONEY_TOO_PRECISE, 0},
        {"true", EDA_MONEY_BAD_TYPE, 0},
        {"null", EDA_MONEY_BAD_TYPE, 0},
        {"[1]", EDA_MONEY_BAD_TYPE, 0},
        {"{\"amount\":1}", EDA_MONEY_BAD_TYPE, 0},
};

START_TEST(parse_json_table)
{
	const struct str_case *c = &json_cases[_i];
	json_error_t jerr;
	json_t *v = json_loads(c->in, JSON_DECODE_ANY, &jerr);
	int64_t cents = -777;
	int rc;

	ck_assert_msg(v != NULL, "%s: %s", c->in, jerr.text);
	rc = eda_money_parse_json(v, &cents);
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s), want %d", c->in, rc, eda_money_strerror(rc),
	              c->rc);
	ck_assert_int_eq(cents, c->rc == 0 ? c->cents : -777);
	json_decref(v);
}
END_TEST

/* Arithmetic in a program, not text: the sum is not 0.3 and must be refused. */
START_TEST(computed_reals)
{
	volatile double a = 0.1, b = 0.2;
	json_t *v = json_real(a + b);
	int64_t cents = 0;

	ck_assert_int_eq(eda_money_parse_json(v, &cents), EDA_MONEY_TOO_PRECISE);
	json_decref(v);
	v = json_real(a * 3);
	ck_assert_int_eq(eda_money_parse_json(v, &cents), EDA_MONEY_TOO_PRECISE);
	json_decref(v);
	v = json_real(a + a);
	ck_assert_int_eq(eda_money_parse_json(v, &cents), 0);
	ck_assert_int_eq(cents, 20);
	json_decref(v);
	/* jansson refuses NaN, leaving nothing to parse. */
	ck_assert_ptr_null(json_real(0.0 / 0.0));
	ck_assert_int_eq(eda_money_parse_json(NULL, &cents), EDA_MONEY_BAD_TYPE);
	ck_assert_int_eq(eda_money_parse_str(NULL, &cents), EDA_MONEY_BAD_TYPE);
}
END_TEST

static const struct fmt_case {
	int64_t cents;
	const char *out;
} fmt_cases[] = {
        {4999, "49.99"},
        {0, "0.00"},
        {5, "0.05"},
        {50, "0.50"},
        {100, "1.00"},
        {-50, "-0.50"},
        {-12345, "-123.45"},
        {EDA_MONEY_MAX_CENTS, "99999999999.99"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
};

START_TEST(format_table)
{
	char buf[EDA_MONEY_STRLEN];
	json_t *j;

	eda_money_format(fmt_cases[_i].cents, buf);
	ck_assert_str_eq(buf, fmt_cases[_i].out);
	j = eda_money_to_json(fmt_cases[_i].cents);
	ck_assert_str_eq(json_string_value(j), fmt_cases[_i].out);
	json_decref(j);
}
END_TEST

/* Every small amount and a spread of large ones: format -> canonical parse gives
 * the same cents, and so does the double nearest to the amount. */
START_TEST(round_trip_sweep)
{
	char buf[EDA_MONEY_STRLEN];
	int64_t cents, got;

	for (cents = 0; cents <= EDA_MONEY_MAX_CENTS;
	     cents = cents < 300000 ? cents + 1 : cents * 3 + 7) {
		json_t *real = json_real((double)cents / 100.0);

		eda_money_format(cents, buf);
		ck_assert_int_eq(eda_money_parse_canonical(buf, &got), 0);
		ck_assert_int_eq(got, cents);
		ck_assert_int_eq(eda_money_parse_str(buf, &got), 0);
		ck_assert_int_eq(got, cents);
		ck_assert_msg(eda_money_parse_json(real, &got) == 0 && got == cents,
		              "%s as a real read back as %lld", buf, (long long)got);
		json_decref(real);
	}
}
END_TEST

START_TEST(strerror_covers_codes)
{
	const int codes[] = {0,
	                     EDA_MONEY_BAD_TYPE,
	                     EDA_MONEY_BAD_SYNTAX,
	                     EDA_MONEY_TOO_PRECISE,
	                     EDA_MONEY_NEGATIVE,
	                     EDA_MONEY_TOO_LARGE,
	                     EDA_MONEY_NOT_CANONICAL};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_str_ne(eda_money_strerror(codes[i]), "unknown money error");
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(eda_money_strerror(codes[i]),
			                 eda_money_strerror(codes[j]));
	}
	ck_assert_str_eq(eda_money_strerror(-999), "unknown money error");
}
END_TEST

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

static Suite *money_suite(void)
{
	Suite *s = suite_create("money");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_str_table, 0, N(str_cases));
	tcase_add_loop_test(tc, parse_canonical_table, 0, N(canonical_cases));
	tcase_add_loop_test(tc, parse_json_table, 0, N(json_cases));
	tcase_add_test(tc, computed_reals);
	tcase_add_loop_test(tc, format_table, 0, N(fmt_cases));
	tcase_add_test(tc, round_trip_sweep);
	tcase_add_test(tc, strerror_covers_codes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(money_suite());
}
