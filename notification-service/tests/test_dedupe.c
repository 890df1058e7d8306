/*
 * Tests of src/services/dedupe.c: membership, the bound, eviction of the
 * oldest first, a window much larger than the hash table's first guess, and
 * clearing (the notifier's per-batch window).
 */
#include <check.h>
#include <stdio.h>

#include "services/dedupe.h"
#include "support/check_main.h"

START_TEST(remembers_and_evicts_oldest)
{
	notif_dedupe_t *d = notif_dedupe_new(3);

	ck_assert(!notif_dedupe_contains(d, "a"));
	notif_dedupe_add(d, "a");
	notif_dedupe_add(d, "b");
	notif_dedupe_add(d, "a"); /* already there: no new slot */
	notif_dedupe_add(d, "c");
	ck_assert_uint_eq(notif_dedupe_size(d), 3);
	ck_assert(notif_dedupe_contains(d, "a") && notif_dedupe_contains(d, "b") &&
	          notif_dedupe_contains(d, "c"));
	notif_dedupe_add(d, "d");
	ck_assert_uint_eq(notif_dedupe_size(d), 3);
	ck_assert(!notif_dedupe_contains(d, "a"));
	ck_assert(notif_dedupe_contains(d, "b") && notif_dedupe_contains(d, "d"));
	notif_dedupe_free(d);
}
END_TEST

START_TEST(capacity_one)
{
	notif_dedupe_t *d = notif_dedupe_new(1);

	notif_dedupe_add(d, "x");
	notif_dedupe_add(d, "y");
	ck_assert(!notif_dedupe_contains(d, "x"));
	ck_assert(notif_dedupe_contains(d, "y"));
	notif_dedupe_free(d);
}
END_TEST

START_TEST(many_ids)
{
	enum { CAP = 5000, N = 20000 };
	notif_dedupe_t *d = notif_dedupe_new(CAP);
	char id[32];

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "event-%d", i);
		notif_dedupe_add(d, id);
	}
	ck_assert_uint_eq(notif_dedupe_size(d), CAP);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "event-%d", i);
		ck_assert_msg(notif_dedupe_contains(d, id) == (i >= N - CAP), "%s", id);
	}
	notif_dedupe_free(d);
}
END_TEST

START_TEST(clear_forgets_everything)
{
	notif_dedupe_t *d = notif_dedupe_new(4);

	notif_dedupe_add(d, "a");
	notif_dedupe_add(d, "b");
	notif_dedupe_clear(d);
	ck_assert_uint_eq(notif_dedupe_size(d), 0);
	ck_assert(!notif_dedupe_contains(d, "a") && !notif_dedupe_contains(d, "b"));
	/* Usable as new: fills and evicts as before. */
	for (int i = 0; i < 5; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n%d", i);
		notif_dedupe_add(d, id);
	}
	ck_assert_uint_eq(notif_dedupe_size(d), 4);
	ck_assert(!notif_dedupe_contains(d, "n0") && notif_dedupe_contains(d, "n4"));
	notif_dedupe_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dedupe");
	TCase *tc = tcase_create("dedupe");

	tcase_add_test(tc, remembers_and_evicts_oldest);
	tcase_add_test(tc, capacity_one);
	tcase_add_test(tc, many_ids);
	tcase_add_test(tc, clear_forgets_everything);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
