/*
 * Tests common/src/clock.c: the RFC 3339 text of known instants (epoch,
 * milliseconds, leap day, before the epoch), "now" read back and parsed, the
 * RFC 3339 validator's edges, the monotonic clock's order and the deadline's
 * normalisation.
 */
#include "eda/clock.h"

#include "support/check_main.h"
#include <check.h>
#include <stdbool.h>
#include <string.h>

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

static const struct at_case {
	int64_t ms;
	const char *text;
} at_cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {1000, "1970-01-01T00:00:01.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {951782400000LL, "2000-02-29T00:00:00.000Z"}, /* leap day of a century year */
        {1795430400123LL, "2026-11-23T10:40:00.123Z"},
        {253402300799999LL, "9999-12-31T23:59:59.999Z"},
};

START_TEST(rfc3339_at_table)
{
	const struct at_case *c = &at_cases[_i];
	char out[EDA_RFC3339_LEN];

	eda_clock_rfc3339_at(c->ms, out);
	ck_assert_str_eq(out, c->text);
	ck_assert(eda_rfc3339_valid(out));
}
END_TEST

START_TEST(rfc3339_now)
{
	char out[EDA_RFC3339_LEN];
	int64_t before = eda_clock_wall_ms(), after;

	eda_clock_rfc3339(out);
	after = eda_clock_wall_ms();
	ck_assert_uint_eq(strlen(out), EDA_RFC3339_LEN - 1);
	ck_assert(eda_rfc3339_valid(out));
	/* Same instant as the millisecond clock, to the second. */
	{
		char lo[EDA_RFC3339_LEN], hi[EDA_RFC3339_LEN];

		eda_clock_rfc3339_at(before, lo);
		eda_clock_rfc3339_at(after, hi);
		ck_assert(strcmp(lo, out) <= 0 && strcmp(out, hi) <= 0);
	}
}
END_TEST

static const struct valid_case {
	const char *in;
	bool ok;
} valid_cases[] = {
        {"2026-11-23T10:30:00Z", true},
        {"2026-11-23T10:30:00.1Z", true},
        {"2026-11-23T10:30:00.123456789Z", true},
        {"2026-11-23T10:30:00+01:00", true},
        {"2026-11-23T10:30:00.5-23:59", true},
        {"2024-02-29T00:00:00Z", true},
        {"2026-11-23T10:30:00.1234567890Z", false}, /* ten fraction digits */
        {"2026-11-23T10:30:00.Z", false},
        {"2026-11-23t10:30:00Z", false},
        {"2026-11-23T10:30:00z", false},
        {"2026-11-23 10:30:00Z", false},
        {"2026-11-23T10:30:00", false},
        {"2026-02-29T00:00:00Z", false},
        {"1900-02-29T00:00:00Z", false},
        {"2026-13-01T00:00:00Z", false},
        {"2026-00-01T00:00:00Z", false},
        {"2026-04-31T00:00:00Z", false},
        {"2026-11-23T24:00:00Z", false},
        {"2026-11-23T23:60:00Z", false},
        {"2026-11-23T23:59:60Z", false}, /* no leap second */
        {"2026-11-23T10:30:00+24:00", false},
        {"2026-11-23T10:30:00+01:60", false},
        {"2026-11-23T10:30:00+0100", false},
        {"0000-01-01T00:00:00Z", false},
        {"", false},
};

START_TEST(rfc3339_valid_table)
{
	const struct valid_case *c = &valid_cases[_i];

	ck_assert_msg(eda_rfc3339_valid(c->in) == c->ok, "'%s'", c->in);
}
END_TEST

START_TEST(monotonic_never_goes_back)
{
	int64_t prev = eda_clock_mono_ms();

	for (int i = 0; i < 1000; i++) {
		int64_t now = eda_clock_mono_ms();

		ck_assert_int_ge(now, prev);
		prev = now;
	}
}
END_TEST

START_TEST(deadlines)
{
	static const int64_t timeouts[] = {0, 1, 999, 1000, 1001, 2500, 86400000};

	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		struct timespec before, d, after;
		int64_t d_ms, lo, hi;

		clock_gettime(CLOCK_MONOTONIC, &before);
		d = eda_clock_deadline(CLOCK_MONOTONIC, timeouts[i]);
		clock_gettime(CLOCK_MONOTONIC, &after);
		ck_assert_int_ge(d.tv_nsec, 0);
		ck_assert_int_lt(d.tv_nsec, 1000000000L);
		d_ms = (int64_t)d.tv_sec * 1000 + d.tv_nsec / 1000000;
		lo = (int64_t)before.tv_sec * 1000 + before.tv_nsec / 1000000 + timeouts[i];
		hi = (int64_t)after.tv_sec * 1000 + after.tv_nsec / 1000000 + timeouts[i];
		ck_assert_int_ge(d_ms, lo);
		ck_assert_int_le(d_ms, hi);
	}
	/* The wall clock's deadline is on the wall clock's scale. */
	{
		struct timespec d = eda_clock_deadline(CLOCK_REALTIME, 1500);
		int64_t d_ms = (int64_t)d.tv_sec * 1000 + d.tv_nsec / 1000000;
		int64_t now = eda_clock_wall_ms();

		ck_assert_int_ge(d_ms, now + 1000);
		ck_assert_int_le(d_ms, now + 1500);
	}
}
END_TEST

static Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rfc3339_at_table, 0, N(at_cases));
	tcase_add_test(tc, rfc3339_now);
	tcase_add_loop_test(tc, rfc3339_valid_table, 0, N(valid_cases));
	tcase_add_test(tc, monotonic_never_goes_back);
	tcase_add_test(tc, deadlines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(clock_suite());
}
