/*
 * Tests for src/services/rate_limit.c: token buckets on a simulated clock
 * (the clock is an argument, so nothing here depends on real time).
 */
#include "services/rate_limit.h"

#include "support/check_main.h"
#include <check.h>
#include <stdio.h>

/* A script of takes on one key: at time T, expect WAIT (0 = allowed). */
static const struct step {
	double t;
	unsigned wait;
} burst3_rate2[] = {
        {0.0, 0},  {0.0, 0},  {0.0, 0}, /* the burst */
        {0.0, 1},                       /* empty: 1 token needs 0.5 s -> 1 s */
        {0.5, 0},                       /* refilled one */
        {0.5, 1},  {1.0, 0},  {1.0, 1},
        {10.0, 0}, {10.0, 0}, {10.0, 0}, /* refills to the burst, no more */
        {10.0, 1},
};

START_TEST(bucket_script)
{
	gw_rate_limit_t *rl = gw_rate_limit_new(2, 3);

	for (size_t i = 0; i < sizeof(burst3_rate2) / sizeof(burst3_rate2[0]); i++)
		ck_assert_msg(gw_rate_limit_take(rl, "c1", 100 + burst3_rate2[i].t) ==
		                      burst3_rate2[i].wait,
		              "step %zu", i);
	gw_rate_limit_free(rl);
}
END_TEST

START_TEST(retry_after_rounds_up)
{
	gw_rate_limit_t *rl = gw_rate_limit_new(0.1, 1); /* one per 10 s */

	ck_assert_uint_eq(gw_rate_limit_take(rl, "c", 0), 0);
	ck_assert_uint_eq(gw_rate_limit_take(rl, "c", 0), 10);
	ck_assert_uint_eq(gw_rate_limit_take(rl, "c", 7.5), 3);
	gw_rate_limit_free(rl);
}
END_TEST

START_TEST(customers_are_independent)
{
	gw_rate_limit_t *rl = gw_rate_limit_new(1, 1);

	ck_assert_uint_eq(gw_rate_limit_take(rl, "a", 0), 0);
	ck_assert_uint_gt(gw_rate_limit_take(rl, "a", 0), 0);
	ck_assert_uint_eq(gw_rate_limit_take(rl, "b", 0), 0);
	ck_assert_uint_eq(gw_rate_limit_take(rl, "", 0), 0);
	gw_rate_limit_free(rl);
}
END_TEST

/* Many one-off customers do not grow memory without bound: full buckets are
 * forgotten once a shard is at its limit. */
START_TEST(memory_is_bounded)
{
	gw_rate_limit_t *rl = gw_rate_limit_new(1000, 1);
	char key[32];

	for (int i = 0; i < 400000; i++) {
		snprintf(key, sizeof(key), "customer-%d", i);
		gw_rate_limit_take(rl, key, (double)i); /* each is full again a second later */
	}
	ck_assert_uint_le(gw_rate_limit_size(rl), 16UL * 8192);
	gw_rate_limit_free(rl);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway rate limit");
	TCase *tc = tcase_create("buckets");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bucket_script);
	tcase_add_test(tc, retry_after_rounds_up);
	tcase_add_test(tc, customers_are_independent);
	tcase_add_test(tc, memory_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(suite());
}
