/*
 * Tests for src/traceparent.c: which traceparent values are continued and
 * what a started or continued one looks like (the gateway's use of it).
 */
#include "eda/event.h"

#include "support/check_main.h"
#include <check.h>
#include <stdbool.h>
#include <string.h>

static const struct {
	const char *h;
	bool valid;
} cases[] = {
        {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true},
        {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", true},
        {NULL, false},
        {"", false},
        {"garbage", false},
        {"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false},
        {"00-00000000000000000000000000000000-b7ad6b7169203331-01", false},
        {"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", false},
        {"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", false},
        {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", false},
        {"00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01", false},
        {"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01", false},
};

START_TEST(validity)
{
	ck_assert_msg((eda_traceparent_valid(cases[_i].h) != 0) == cases[_i].valid, "%s",
	              cases[_i].h ? cases[_i].h : "NULL");
}
END_TEST

START_TEST(continue_and_start)
{
	const char *in = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
	char a[EDA_TRACEPARENT_LEN + 1], b[EDA_TRACEPARENT_LEN + 1];

	ck_assert_int_eq(eda_traceparent_child(in, a), 0);
	ck_assert(eda_traceparent_valid(a));
	ck_assert_int_eq(strncmp(a, in, 36), 0);
	ck_assert_int_ne(strncmp(a + 36, in + 36, 16), 0);
	ck_assert_str_eq(a + 52, "-00"); /* flags kept: the caller decided sampling */

	ck_assert_int_ne(eda_traceparent_child("bad", a), 0);
	ck_assert_int_ne(eda_traceparent_child(NULL, b), 0);
	ck_assert(eda_traceparent_valid(a));
	ck_assert(eda_traceparent_valid(b));
	ck_assert_str_eq(a + 52, "-01");
	ck_assert_int_ne(strncmp(a + 3, b + 3, 32), 0); /* fresh trace ids differ */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("traceparent");
	TCase *tc = tcase_create("traceparent");

	tcase_add_loop_test(tc, validity, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, continue_and_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(suite());
}
