/*
 * Tests services/price_cache.c: a price is served while younger than the TTL,
 * an older version never replaces a newer one (a table read that began before
 * the consumer stored a change), a full table starts over, no cache means no
 * hit. Times are given, not waited for.
 */
#include <check.h>
#include <stdio.h>

#include "services/price_cache.h"
#include "support/check_main.h"

static os_product_t product(const char *sku, int64_t price, long long version)
{
	os_product_t p = {.price = price, .version = version};

	snprintf(p.sku, sizeof(p.sku), "%s", sku);
	snprintf(p.currency, sizeof(p.currency), "EUR");
	return p;
}

START_TEST(fresh_entries_are_served_until_the_ttl)
{
	os_price_cache_t *c = os_price_cache_new(2000);
	os_product_t p = product("SKU-1", 4999, 3), got;

	ck_assert(!os_price_cache_get(c, "SKU-1", 1000, &got));
	os_price_cache_put(c, &p, 1000);
	ck_assert(os_price_cache_get(c, "SKU-1", 2999, &got));
	ck_assert_int_eq(got.price, 4999);
	ck_assert_str_eq(got.currency, "EUR");
	ck_assert(!os_price_cache_get(c, "SKU-1", 3000, &got));
	ck_assert(!os_price_cache_get(c, "SKU-2", 1000, &got));
	os_price_cache_free(c);
}
END_TEST

START_TEST(an_older_version_never_replaces_a_newer_one)
{
	os_price_cache_t *c = os_price_cache_new(2000);
	os_product_t newer = product("SKU-1", 2499, 5), older = product("SKU-1", 1999, 4), got;

	os_price_cache_put(c, &newer, 1000);
	os_price_cache_put(c, &older, 1001);
	ck_assert(os_price_cache_get(c, "SKU-1", 1001, &got));
	ck_assert_int_eq(got.price, 2499);
	/* The same version read again renews the entry's age. */
	os_price_cache_put(c, &newer, 2500);
	ck_assert(os_price_cache_get(c, "SKU-1", 4000, &got));
	os_price_cache_free(c);
}
END_TEST

START_TEST(a_full_table_starts_over)
{
	os_price_cache_t *c = os_price_cache_new(60000);
	os_product_t got;
	char sku[32];

	for (int i = 0; i < 20000; i++) {
		os_product_t p;

		snprintf(sku, sizeof(sku), "SKU-%d", i);
		p = product(sku, i, 1);
		os_price_cache_put(c, &p, 1000);
	}
	ck_assert(os_price_cache_get(c, "SKU-19999", 1000, &got));
	ck_assert_int_eq(got.price, 19999);
	os_price_cache_free(c);
}
END_TEST

START_TEST(no_cache_no_hit)
{
	os_product_t p = product("SKU-1", 1, 1), got;

	ck_assert_ptr_null(os_price_cache_new(0));
	os_price_cache_put(NULL, &p, 1);
	ck_assert(!os_price_cache_get(NULL, "SKU-1", 1, &got));
	os_price_cache_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("price_cache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, fresh_entries_are_served_until_the_ttl);
	tcase_add_test(tc, an_older_version_never_replaces_a_newer_one);
	tcase_add_test(tc, a_full_table_starts_over);
	tcase_add_test(tc, no_cache_no_hit);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
