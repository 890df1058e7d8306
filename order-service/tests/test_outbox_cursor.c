/*
 * The outbox relay's high-water mark with gaps (src/events/outbox_cursor.c),
 * on a simulated clock: what each fetch asks for after what the ones before
 * it returned.
 */
#include <check.h>

#include "events/outbox_cursor.h"
#include "support/check_main.h"

/* The next fetch at NOW: its lower bound, and its gaps (as a count and the
 * first one). */
static long long after_at(os_outbox_cursor_t *c, double now, size_t *ngaps, long long *gap0)
{
	const long long *gaps;
	long long after;

	os_outbox_cursor_next(c, now, &after, &gaps, ngaps);
	*gap0 = *ngaps > 0 ? gaps[0] : -1;
	return after;
}

START_TEST(starts_with_a_sweep_then_follows_the_mark)
{
	os_outbox_cursor_t *c = os_outbox_cursor_new();
	const long long first[] = {1, 2, 3};
	size_t n;
	long long g;

	ck_assert_int_eq(after_at(c, 100, &n, &g), 0);
	os_outbox_cursor_saw(c, 100, first, 3, false);
	ck_assert_int_eq(after_at(c, 101, &n, &g), 3);
	ck_assert_uint_eq(n, 0);
	os_outbox_cursor_free(c);
}
END_TEST

START_TEST(a_skipped_id_is_asked_for_until_it_comes)
{
	os_outbox_cursor_t *c = os_outbox_cursor_new();
	const long long a[] = {1, 2}, b[] = {5}, late[] = {4};
	size_t n;
	long long g;

	after_at(c, 100, &n, &g);
	os_outbox_cursor_saw(c, 100, a, 2, false);
	after_at(c, 100, &n, &g);
	os_outbox_cursor_saw(c, 100, b, 1, false);
	ck_assert_int_eq(after_at(c, 101, &n, &g), 5);
	ck_assert_uint_eq(n, 2); /* 3 and 4 */
	os_outbox_cursor_saw(c, 101, late, 1, false);
	ck_assert_int_eq(after_at(c, 102, &n, &g), 5);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(g, 3);
	/* 3 never comes (a rolled-back insert): forgotten after the timeout. */
	ck_assert_int_eq(after_at(c, 112, &n, &g), 5);
	ck_assert_uint_eq(n, 0);
	os_outbox_cursor_free(c);
}
END_TEST

START_TEST(a_full_sweep_goes_on_from_where_it_stopped)
{
	os_outbox_cursor_t *c = os_outbox_cursor_new();
	const long long a[] = {1, 2, 3}, b[] = {4, 5};
	size_t n;
	long long g;

	ck_assert_int_eq(after_at(c, 100, &n, &g), 0);
	os_outbox_cursor_saw(c, 100, a, 3, true);
	ck_assert_int_eq(after_at(c, 100, &n, &g), 3);
	os_outbox_cursor_saw(c, 100, b, 2, false);
	ck_assert_int_eq(after_at(c, 100, &n, &g), 5);
	os_outbox_cursor_sweep(c); /* a row was not delivered */
	ck_assert_int_eq(after_at(c, 100, &n, &g), 0);
	os_outbox_cursor_saw(c, 100, NULL, 0, false);
	ck_assert_int_eq(after_at(c, 100, &n, &g), 5);
	os_outbox_cursor_free(c);
}
END_TEST

START_TEST(sweeps_after_a_long_jump_and_once_a_minute)
{
	os_outbox_cursor_t *c = os_outbox_cursor_new();
	const long long a[] = {1}, far[] = {100000};
	size_t n;
	long long g;

	after_at(c, 100, &n, &g);
	os_outbox_cursor_saw(c, 100, a, 1, false);
	after_at(c, 100, &n, &g);
	os_outbox_cursor_saw(c, 100, far, 1, false);
	ck_assert_int_eq(after_at(c, 101, &n, &g), 100000);
	ck_assert_uint_eq(n, 0); /* not noted id by id */
	ck_assert_int_eq(after_at(c, 111, &n, &g), 0);
	os_outbox_cursor_saw(c, 111, NULL, 0, false);
	ck_assert_int_eq(after_at(c, 150, &n, &g), 100000);
	ck_assert_int_eq(after_at(c, 172, &n, &g), 0);
	os_outbox_cursor_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outbox_cursor");
	TCase *tc = tcase_create("cursor");

	tcase_add_test(tc, starts_with_a_sweep_then_follows_the_mark);
	tcase_add_test(tc, a_skipped_id_is_asked_for_until_it_comes);
	tcase_add_test(tc, a_full_sweep_goes_on_from_where_it_stopped);
	tcase_add_test(tc, sweeps_after_a_long_jump_and_once_a_minute);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
