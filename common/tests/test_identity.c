/*
 * Tests common/src/identity.c: role lists as the gateway forwards them and as
 * people type them (commas, spaces, tabs, empty entries, unknown and
 * look-alike names). eda_identity_read itself is
 * exercised through the services' router suites (401, 400 and 403 cases).
 */
#include "eda/identity.h"

#include "support/check_main.h"
#include <check.h>
#include <string.h>

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

static const struct roles_case {
	const char *list;
	unsigned mask;
	int unknown;
} roles_cases[] = {
        {"admin", EDA_ROLE_ADMIN, 0},
        {"customer", EDA_ROLE_CUSTOMER, 0},
        {"admin,customer", EDA_ROLE_ADMIN | EDA_ROLE_CUSTOMER, 0},
        {"staff, admin", EDA_ROLE_ADMIN, 1},
        {"admin,staff", EDA_ROLE_ADMIN, 1},
        {" admin ", EDA_ROLE_ADMIN, 0},
        {"\tadmin\t", EDA_ROLE_ADMIN, 0},
        {"customer admin", EDA_ROLE_ADMIN | EDA_ROLE_CUSTOMER, 0},
        {",,admin,,", EDA_ROLE_ADMIN, 0},
        {" , ,", 0, 0},
        {"", 0, 0},
        {NULL, 0, 0},
        {"administrator", 0, 1},
        {"adm", 0, 1},
        {"ADMIN", 0, 1}, /* names are case-sensitive */
        {"admin;customer", 0, 1},
        {"staff,auditor", 0, 2},
};

START_TEST(roles_table)
{
	const struct roles_case *c = &roles_cases[_i];
	unsigned mask = 0xffu;

	ck_assert_int_eq(eda_roles_parse(c->list, &mask), c->unknown);
	ck_assert_msg(mask == c->mask, "'%s': %#x", c->list ? c->list : "(null)", mask);
}
END_TEST

START_TEST(role_bits)
{
	ck_assert_uint_eq(eda_role_bit("admin"), EDA_ROLE_ADMIN);
	ck_assert_uint_eq(eda_role_bit("customer"), EDA_ROLE_CUSTOMER);
	ck_assert_uint_eq(eda_role_bit("admin,"), 0);
	ck_assert_uint_eq(eda_role_bit(""), 0);
	ck_assert_uint_eq(eda_role_bit(NULL), 0);
	ck_assert_uint_eq(EDA_ROLE_ADMIN & EDA_ROLE_CUSTOMER, 0);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, roles_table, 0, N(roles_cases));
	tcase_add_test(tc, role_bits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(identity_suite());
}
