/*
 * Tests for src/schemas/order.c and src/models/order.c without any server:
 * the POST /orders validation table (each case: a body and the field the
 * first error must name, or NULL for a valid body with its total), the
 * canonical form used by Idempotency-Key, and the saga's transition table.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "eda/event.h"
#include "models/order.h"
#include "schemas/order.h"
#include "support/check_main.h"

static const struct body_case {
	const char *name, *body;
	const char *field; /* NULL: valid */
	long long total;   /* cents, for valid cases */
} body_cases[] = {
        {"minimal",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         NULL, 100},
        {"price as number",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":3,\"unit_price\":49.99}],\"currency\":\"USD\"}",
         NULL, 14997},
        {"price one decimal",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price\":\"5.5\"}],\"currency\":\"GBP\"}",
         NULL, 1100},
        {"free item",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":0}],\"currency\":\"EUR\"}", NULL,
         0},
        {"sku with dots",
         "{\"items\":[{\"sku\":\"book.978-3_x\",\"quantity\":1,\"unit_price\":\"1.00\"}],"
         "\"currency\":\"EUR\"}",
         NULL, 100},
        {"not an object", "[1,2]", "body", 0},
        {"missing items", "{\"currency\":\"EUR\"}", "items", 0},
        {"empty items", "{\"items\":[],\"currency\":\"EUR\"}", "items", 0},
        {"items not array", "{\"items\":{},\"currency\":\"EUR\"}", "items", 0},
        /* The order takes its products' currency (services/pricing.c). */
        {"missing currency", "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}]}",
         NULL, 100},
        {"unknown currency",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"XXX\"}",
         "currency", 0},
        {"lower-case currency",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"eur\"}",
         "currency", 0},
        {"currency number",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":978}",
         "currency", 0},
        {"unknown top field",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\","
         "\"coupon\":\"X\"}",
         "coupon", 0},
        {"unknown item field",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\",\"name\":\"n\"}],"
         "\"currency\":\"EUR\"}",
         "items[0].name", 0},
        {"item not object", "{\"items\":[3],\"currency\":\"EUR\"}", "items[0]", 0},
        {"zero quantity",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":0,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].quantity", 0},
        {"negative quantity",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":-2,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].quantity", 0},
        {"fractional quantity",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1.5,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].quantity", 0},
        {"quantity as string",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":\"1\",\"unit_price\":\"1\"}],\"currency\":"
         "\"EUR\"}",
         "items[0].quantity", 0},
        {"huge quantity",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1000001,\"unit_price\":\"1\"}],\"currency\":"
         "\"EUR\"}",
         "items[0].quantity", 0},
        {"missing quantity",
         "{\"items\":[{\"sku\":\"A\",\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].quantity", 0},
        {"three decimals string",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1.234\"}],\"currency\":"
         "\"EUR\"}",
         "items[0].unit_price", 0},
        {"three decimals number",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":1.234}],\"currency\":\"EUR\"}",
         "items[0].unit_price", 0},
        {"negative price",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"-1.00\"}],\"currency\":"
         "\"EUR\"}",
         "items[0].unit_price", 0},
        {"price with exponent text",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1e2\"}],\"currency\":\"EUR\"}",
         "items[0].unit_price", 0},
        {"price null",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":null}],\"currency\":\"EUR\"}",
         "items[0].unit_price", 0},
        /* The catalogue prices the line (services/pricing.c). */
        {"missing price", "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"currency\":\"EUR\"}", NULL,
         0},
        {"empty sku",
         "{\"items\":[{\"sku\":\"\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].sku", 0},
        {"sku with quote",
         "{\"items\":[{\"sku\":\"A'; DROP TABLE "
         "orders;--\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].sku", 0},
        {"sku with space",
         "{\"items\":[{\"sku\":\"A B\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].sku", 0},
        {"sku too long",
         "{\"items\":[{\"sku\":"
         "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"quantity\":1,"
         "\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].sku", 0},
        {"sku starting with dash",
         "{\"items\":[{\"sku\":\"-A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[0].sku", 0},
        {"duplicate sku",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"},{\"sku\":\"A\","
         "\"quantity\":2,\"unit_price\":\"1\"}],\"currency\":\"EUR\"}",
         "items[1].sku", 0},
        {"currency with quote",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1\"}],\"currency\":\"E'R\"}",
         "currency", 0},
        {"total overflow",
         "{\"items\":[{\"sku\":\"A\",\"quantity\":1000000,\"unit_price\":\"99999999999.99\"}],"
         "\"currency\":\"EUR\"}",
         "items", 0},
};

START_TEST(test_body_table)
{
	const struct body_case *c = &body_cases[_i];
	json_t *body = json_loads(c->body, 0, NULL), *errors = NULL;
	os_order_t o;
	int rc;

	ck_assert_msg(body != NULL, "%s: bad fixture", c->name);
	memset(&o, 0, sizeof(o));
	rc = os_order_request_parse(body, &o, &errors);
	if (c->field == NULL) {
		ck_assert_msg(rc == 0, "%s: refused", c->name);
		ck_assert_int_eq(o.total, c->total);
	} else {
		const char *first;

		ck_assert_msg(rc != 0, "%s: accepted", c->name);
		ck_assert_ptr_nonnull(errors);
		first = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
		ck_assert_msg(first != NULL && strcmp(first, c->field) == 0, "%s: first field %s",
		              c->name, first ? first : "(none)");
		ck_assert_ptr_nonnull(json_object_get(json_array_get(errors, 0), "message"));
	}
	json_decref(errors);
	json_decref(body);
	os_order_clear(&o);
}
END_TEST

START_TEST(test_hundred_and_one_items)
{
	json_t *items = json_array(), *body, *errors = NULL;
	os_order_t o;

	for (int i = 0; i < 101; i++) {
		char sku[16];

		snprintf(sku, sizeof(sku), "S%d", i);
		json_array_append_new(items, json_pack("{s:s,s:i,s:s}", "sku", sku, "quantity", 1,
		                                       "unit_price", "1.00"));
	}
	body = json_pack("{s:o,s:s}", "items", items, "currency", "EUR");
	ck_assert_int_ne(os_order_request_parse(body, &o, &errors), 0);
	json_decref(errors);
	os_order_clear(&o);
	/* 100 is the limit, and fine. */
	json_array_remove(json_object_get(body, "items"), 0);
	errors = NULL;
	ck_assert_int_eq(os_order_request_parse(body, &o, &errors), 0);
	ck_assert_int_eq(o.nitems, 100);
	ck_assert_int_eq(o.total, 10000);
	os_order_clear(&o);
	json_decref(body);
}
END_TEST

START_TEST(test_canonical_ignores_spelling)
{
	json_t *a = json_loads("{\"currency\":\"EUR\",\"items\":[{\"unit_price\":5,\"quantity\":1,"
	                       "\"sku\":\"A\"}]}",
	                       0, NULL);
	json_t *b =
	        json_loads("{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"5.00\"}],"
	                   "\"currency\":\"EUR\"}",
	                   0, NULL);
	json_t *c =
	        json_loads("{\"items\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price\":\"5.00\"}],"
	                   "\"currency\":\"EUR\"}",
	                   0, NULL);
	json_t *e = NULL;
	os_order_t oa, ob, oc;
	char *ca, *cb, *cc;

	ck_assert_int_eq(os_order_request_parse(a, &oa, &e), 0);
	ck_assert_int_eq(os_order_request_parse(b, &ob, &e), 0);
	ck_assert_int_eq(os_order_request_parse(c, &oc, &e), 0);
	ca = os_order_request_canonical(&oa);
	cb = os_order_request_canonical(&ob);
	cc = os_order_request_canonical(&oc);
	ck_assert_str_eq(ca, cb);
	ck_assert_str_ne(ca, cc);
	free(ca);
	free(cb);
	free(cc);
	os_order_clear(&oa);
	os_order_clear(&ob);
	os_order_clear(&oc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

static const struct transition {
	os_status_t from, to;
	bool allowed;
} transitions[] = {
        {OS_PENDING, OS_CONFIRMED, true},    {OS_PENDING, OS_REJECTED, true},
        {OS_PENDING, OS_CANCELLED, true},    {OS_CONFIRMED, OS_PAID, true},
        {OS_CONFIRMED, OS_CANCELLED, true},  {OS_PENDING, OS_PAID, false},
        {OS_CONFIRMED, OS_REJECTED, false},  {OS_REJECTED, OS_CONFIRMED, false},
        {OS_CANCELLED, OS_CONFIRMED, false}, {OS_PAID, OS_CANCELLED, false},
        {OS_REJECTED, OS_CANCELLED, false},  {OS_CANCELLED, OS_CANCELLED, false},
        {OS_PAID, OS_PENDING, false},
};

START_TEST(test_transitions)
{
	const struct transition *t = &transitions[_i];

	ck_assert_msg(os_status_can_transition(t->from, t->to) == t->allowed, "%s -> %s",
	              os_status_name(t->from), os_status_name(t->to));
}
END_TEST

START_TEST(test_identity_checks)
{
	ck_assert(eda_email_valid("ada@example.com"));
	ck_assert(!eda_email_valid("ada@localhost"));
	ck_assert(!eda_email_valid("a da@example.com"));
	ck_assert(!eda_email_valid("a@b@example.com"));
	ck_assert(!eda_email_valid("@example.com"));
	ck_assert(eda_customer_id_valid("c-1"));
	ck_assert(eda_customer_id_valid("x'; DROP TABLE orders;--"));
	ck_assert(!eda_customer_id_valid(""));
	ck_assert(!eda_customer_id_valid("a\tb"));
	ck_assert(eda_uuid_valid("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
	ck_assert(!eda_uuid_valid("1B4E28BA-2FA1-41D2-883F-0016D3CCA427"));
	ck_assert(!eda_uuid_valid("1b4e28ba2fa141d2883f0016d3cca427"));
	ck_assert(!eda_uuid_valid("1b4e28ba-2fa1-41d2-883f-0016d3cca42'"));
	{
		char low[OS_UUID_LEN + 1];

		ck_assert(os_uuid_lower("1B4E28BA-2fa1-41D2-883F-0016D3CCA427", low));
		ck_assert_str_eq(low, "1b4e28ba-2fa1-41d2-883f-0016d3cca427");
		ck_assert(!os_uuid_lower("1B4E28BA-2FA1-41D2-883F-0016D3CCA42G", low));
		ck_assert(!os_uuid_lower("1B4E28BA", low));
	}
}
END_TEST

START_TEST(test_event_data_validates)
{
	static const char *const types[] = {EDA_EVENT_ORDER_PLACED, EDA_EVENT_ORDER_CONFIRMED,
	                                    EDA_EVENT_ORDER_REJECTED, EDA_EVENT_ORDER_CANCELLED,
	                                    EDA_EVENT_ORDER_PAID};
	os_item_t item = {.sku = "SKU-1", .quantity = 2, .unit_price = 4999};
	os_order_t o = {.customer_id = "c-1",
	                .customer_email = "ada@example.com",
	                .currency = "EUR",
	                .total = 9998,
	                .nitems = 1,
	                .items = &item};
	char err[256];

	os_order_new_id(o.id);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		eda_event_t *ev = eda_event_new("/order-service", types[i], o.id,
		                                os_order_event_data(&o, types[i], "out of stock"),
		                                NULL, "r-1");

		ck_assert_msg(eda_event_validate_data(ev, err, sizeof(err)) == 0, "%s: %s",
		              types[i], err);
		eda_event_free(ev);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order-service schemas and model");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_body_table, 0,
	                    (int)(sizeof(body_cases) / sizeof(body_cases[0])));
	tcase_add_test(tc, test_hundred_and_one_items);
	tcase_add_test(tc, test_canonical_ignores_spelling);
	tcase_add_loop_test(tc, test_transitions, 0,
	                    (int)(sizeof(transitions) / sizeof(transitions[0])));
	tcase_add_test(tc, test_identity_checks);
	tcase_add_test(tc, test_event_data_validates);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
