/*
 * Unit tables for the pieces without I/O: SKU and name rules
 * (models/product.c), product and restock bodies (schemas/product.c), the
 * X-Roles check (routers/products.c), order lines and result data
 * (models/reservation.c), and the bounded id set (utils/idset.c).
 */
#include <check.h>
#include <string.h>

#include "eda/event.h"
#include "eda/identity.h"
#include "models/product.h"
#include "models/reservation.h"
#include "routers/products.h"
#include "schemas/product.h"
#include "services/heads.h"
#include "support/check_main.h"
#include "utils/idset.h"

static const struct {
	const char *sku;
	bool ok;
} skus[] = {
        {"A", true},
        {"abc-DEF_1.2", true},
        {"0", true},
        {"", false},
        {".a", false},
        {"-a", false},
        {"a b", false},
        {"a/b", false},
        {"ä", false},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true}, /* 64 */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
};

START_TEST(sku_rules)
{
	ck_assert_msg(eda_sku_valid(skus[_i].sku) == skus[_i].ok, "'%s'", skus[_i].sku);
}
END_TEST

static const struct {
	const char *body;
	int ok;
	const char *field; /* first error */
	long long stock, price;
} bodies[] = {
        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":3}", 1, NULL, 3, 990},
        {"{\"name\":\"Mug\",\"price\":9.9,\"stock\":3.0}", 1, NULL, 3, 990},
        {"{\"name\":\"Müg ☕\",\"price\":0,\"stock\":0}", 1, NULL, 0, 0},
        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":1000000000}", 1, NULL, 1000000000, 990},
        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":1000000001}", 0, "stock", 0, 0},
        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":-1}", 0, "stock", 0, 0},
        {"{\"name\":\"Mug\",\"price\":\"9.90\",\"stock\":\"3\"}", 0, "stock", 0, 0},
        {"{\"name\":\"Mug\",\"price\":\"9.999\",\"stock\":3}", 0, "price", 0, 0},
        {"{\"name\":\"Mug\",\"price\":null,\"stock\":3}", 0, "price", 0, 0},
        {"{\"name\":\"\",\"price\":\"1\",\"stock\":3}", 0, "name", 0, 0},
        {"{\"name\":\"a\\u0001b\",\"price\":\"1\",\"stock\":3}", 0, "name", 0, 0},
        {"{\"name\":7,\"price\":\"1\",\"stock\":3}", 0, "name", 0, 0},
        {"{\"price\":\"1\",\"stock\":3}", 0, "name", 0, 0},
        {"{\"name\":\"x\",\"price\":\"1\",\"stock\":3,\"sku\":\"A\"}", 0, "sku", 0, 0},
        {"[]", 0, "body", 0, 0},
};

START_TEST(product_bodies)
{
	json_t *body = json_loads(bodies[_i].body, 0, NULL), *errors = NULL;
	inv_product_t p;
	int rc;

	ck_assert_ptr_nonnull(body);
	rc = inv_product_from_json(body, &p, &errors);
	ck_assert_int_eq(rc == 0, bodies[_i].ok);
	if (rc == 0) {
		ck_assert_int_eq(p.stock, bodies[_i].stock);
		ck_assert_int_eq(p.price_cents, bodies[_i].price);
		inv_product_clear(&p);
	} else {
		json_t *e0 = json_array_get(errors, 0);

		ck_assert_str_eq(json_string_value(json_object_get(e0, "field")), bodies[_i].field);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(e0, "message")));
		json_decref(errors);
	}
	json_decref(body);
}
END_TEST

static const struct {
	const char *body;
	long long quantity; /* -1: refused */
} restocks[] = {
        {"{\"quantity\":1}", 1},          {"{\"quantity\":5.0}", 5},
        {"{\"quantity\":0}", -1},         {"{\"quantity\":-3}", -1},
        {"{\"quantity\":2.5}", -1},       {"{\"quantity\":\"2\"}", -1},
        {"{\"quantity\":true}", -1},      {"{}", -1},
        {"{\"quantity\":1,\"x\":1}", -1}, {"{\"quantity\":1e300}", -1},
};

START_TEST(restock_bodies)
{
	json_t *body = json_loads(restocks[_i].body, 0, NULL), *errors = NULL;
	int64_t q = 0;
	int rc = inv_restock_from_json(body, &q, &errors);

	ck_assert_int_eq(rc == 0, restocks[_i].quantity >= 0);
	if (rc == 0)
		ck_assert_int_eq(q, restocks[_i].quantity);
	json_decref(errors);
	json_decref(body);
}
END_TEST

/* The X-Roles values the admin routes (routers/products.c) accept. */
static bool admin_in(const char *roles)
{
	unsigned mask;

	(void)eda_roles_parse(roles, &mask);
	return (mask & EDA_ROLE_ADMIN) != 0;
}

START_TEST(roles)
{
	ck_assert(admin_in("admin"));
	ck_assert(admin_in("staff, admin"));
	ck_assert(admin_in("admin,staff"));
	ck_assert(!admin_in("administrator"));
	ck_assert(!admin_in(""));
	ck_assert(!admin_in(NULL));
	ck_assert(!admin_in("ADMIN"));
}
END_TEST

START_TEST(order_lines_merge_and_result_data)
{
	json_t *data = json_loads("{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\",\"quantity\":2},"
	                          "{\"sku\":\"B\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":3}]}",
	                          0, NULL);
	inv_order_lines_t lines;
	char err[128], op[INV_OP_MAX];
	json_t *failed;

	ck_assert_int_eq(inv_order_lines_from_placed(data, &lines, err, sizeof(err)), 0);
	ck_assert_uint_eq(lines.n, 2);
	ck_assert_str_eq(lines.line[0].sku, "A");
	ck_assert_int_eq(lines.line[0].quantity, 5);
	inv_op_key(op, "o-1", "A", "reserve");
	ck_assert_str_eq(op, "o-1/A/reserve");
	lines.line[0].state = INV_LINE_TAKEN;
	lines.line[1].state = INV_LINE_SHORT;
	lines.line[1].available = 0;
	failed = inv_failed_data(&lines);
	ck_assert_str_eq(json_string_value(json_object_get(failed, "reason")),
	                 "insufficient_stock");
	ck_assert_uint_eq(json_array_size(json_object_get(failed, "details")), 1);
	json_decref(failed);
	lines.line[1].state = INV_LINE_UNKNOWN;
	failed = inv_failed_data(&lines);
	ck_assert_str_eq(json_string_value(json_object_get(failed, "reason")), "unknown_sku");
	json_decref(failed);
	json_decref(data);
}
END_TEST

START_TEST(stock_bounds)
{
	int64_t out = -7;

	ck_assert_int_eq(inv_stock_add(1, -1, &out), 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(inv_stock_add(0, -1, &out), -1);
	ck_assert_int_eq(inv_stock_add(INV_STOCK_MAX, 1, &out), -2);
	ck_assert_int_eq(out, 0);
}
END_TEST

START_TEST(idset_forgets_oldest)
{
	inv_idset_t *s = inv_idset_new(2);

	ck_assert(inv_idset_begin(s, "a"));
	ck_assert(!inv_idset_begin(s, "a"));
	inv_idset_done(s, "a");
	ck_assert(!inv_idset_begin(s, "a"));
	ck_assert(inv_idset_begin(s, "b"));
	inv_idset_done(s, "b");
	ck_assert(inv_idset_begin(s, "c"));
	inv_idset_done(s, "c"); /* evicts a */
	ck_assert(inv_idset_begin(s, "a"));
	inv_idset_forget(s, "a");
	ck_assert(inv_idset_begin(s, "a"));
	inv_idset_free(s);
}
END_TEST

START_TEST(heads_keep_the_newest_and_start_over_when_full)
{
	inv_heads_t *h = inv_heads_new(2);
	int64_t v = -1, b = -1;

	ck_assert(!inv_heads_get(h, "A", &v, &b));
	inv_heads_put(h, "A", 5, 50);
	inv_heads_put(h, "A", 4, 40); /* older: ignored */
	ck_assert(inv_heads_get(h, "A", &v, &b));
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(b, 50);
	inv_heads_put(h, "B", 1, 10);
	inv_heads_put(h, "C", 1, 7); /* a third SKU: the table starts over */
	ck_assert(!inv_heads_get(h, "A", &v, &b));
	ck_assert(inv_heads_get(h, "C", &v, &b));
	ck_assert_int_eq(b, 7);
	ck_assert(!inv_heads_get(NULL, "C", &v, &b));
	inv_heads_put(NULL, "C", 2, 8);
	inv_heads_free(h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_units");
	TCase *tc = tcase_create("units");

	tcase_add_loop_test(tc, sku_rules, 0, sizeof(skus) / sizeof(skus[0]));
	tcase_add_loop_test(tc, product_bodies, 0, sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_loop_test(tc, restock_bodies, 0, sizeof(restocks) / sizeof(restocks[0]));
	tcase_add_test(tc, roles);
	tcase_add_test(tc, order_lines_merge_and_result_data);
	tcase_add_test(tc, stock_bounds);
	tcase_add_test(tc, idset_forgets_oldest);
	tcase_add_test(tc, heads_keep_the_newest_and_start_over_when_full);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
