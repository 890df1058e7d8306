/*
 * Tests of src/services/template.c: a table of templates, values and expected
 * output (text and HTML escaping), and a table of syntax errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/event.h"
#include "schemas/order_mail.h"
#include "services/template.h"
#include "support/check_main.h"

static const char *values_json =
        "{\"name\":\"Ann & <Bob>\",\"n\":3,\"yes\":true,\"no\":false,\"empty\":\"\","
        "\"items\":[{\"sku\":\"A\",\"q\":1},{\"sku\":\"B\",\"q\":2}],\"none\":[],"
        "\"obj\":{\"inner\":\"in\"},\"quote\":\"it's \\\"x\\\"\"}";

static const struct {
	const char *tpl;
	notif_tpl_escape_t esc;
	const char *want;
} cases[] = {
        {"plain text", NOTIF_TPL_TEXT, "plain text"},
        {"Hi {{name}}!", NOTIF_TPL_TEXT, "Hi Ann & <Bob>!"},
        {"Hi {{name}}!", NOTIF_TPL_HTML, "Hi Ann &amp; &lt;Bob&gt;!"},
        {"{{quote}}", NOTIF_TPL_HTML, "it&#39;s &quot;x&quot;"},
        {"{{ n }} {{yes}} {{no}}", NOTIF_TPL_TEXT, "3 true false"},
        {"[{{missing}}]", NOTIF_TPL_TEXT, "[]"},
        {"{{#items}}{{sku}}x{{q}};{{/items}}", NOTIF_TPL_TEXT, "Ax1;Bx2;"},
        {"{{#items}}\n- {{sku}}\n{{/items}}\nend", NOTIF_TPL_TEXT, "- A\n- B\nend"},
        {"a\n  {{#items}}  \n{{sku}}\n  {{/items}}\nb", NOTIF_TPL_TEXT, "a\nA\nB\nb"},
        {"{{#none}}x{{/none}}{{^none}}nothing{{/none}}", NOTIF_TPL_TEXT, "nothing"},
        {"{{#empty}}x{{/empty}}{{^empty}}e{{/empty}}", NOTIF_TPL_TEXT, "e"},
        {"{{#yes}}Y{{/yes}}{{#no}}N{{/no}}", NOTIF_TPL_TEXT, "Y"},
        {"{{#obj}}{{inner}}{{/obj}}", NOTIF_TPL_TEXT, "in"},
        {"{{#items}}{{name}}:{{sku}} {{/items}}", NOTIF_TPL_TEXT, "Ann & <Bob>:A Ann & <Bob>:B "},
        {"{{#items}}{{#items}}.{{/items}}{{/items}}", NOTIF_TPL_TEXT, "...."},
        {"single { brace } stays", NOTIF_TPL_TEXT, "single { brace } stays"},
        {"{{name}}\r\n", NOTIF_TPL_TEXT, "Ann & <Bob>\r\n"},
};

START_TEST(render_table)
{
	json_error_t je;
	json_t *v = json_loads(values_json, 0, &je);
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	char err[128];

	ck_assert_ptr_nonnull(v);
	ck_assert_msg(notif_tpl_render(cases[_i].tpl, v, cases[_i].esc, &b, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(notif_strbuf_cstr(&b), cases[_i].want);
	notif_strbuf_free(&b);
	json_decref(v);
}
END_TEST

static const struct {
	const char *tpl, *err;
} bad[] = {
        {"{{name", "line 1: unclosed {{"},      {"ok\n{{}}", "line 2: a tag needs a name"},
        {"{{na me}}", "only letters"},          {"{{#items}}x", "never closed"},
        {"x{{/items}}", "closing tag without"}, {"{{#a}}{{/b}}", "never closed"},
        {"{{#a}}{{#b}}{{/a}}", "never closed"}, {"{{{raw}}}", "only letters"},
};

START_TEST(syntax_errors)
{
	char err[128] = "";

	ck_assert_int_eq(notif_tpl_check(bad[_i].tpl, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "'%s': got '%s'", bad[_i].tpl, err);
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
	json_t *v = json_pack("{s:b}", "a", 1);
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	char tpl[512] = "", err[128];

	for (int i = 0; i < 10; i++)
		strcat(tpl, "{{#a}}");
	for (int i = 0; i < 10; i++)
		strcat(tpl, "{{/a}}");
	ck_assert_int_eq(notif_tpl_render(tpl, v, NOTIF_TPL_TEXT, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too deep"));
	notif_strbuf_free(&b);
	json_decref(v);
}
END_TEST

/* The shipped rejection e-mail, rendered from an OrderRejected of each
 * reason: price_changed is told in plain words, other reasons by name. */
static const struct {
	const char *reason, *tpl;
	notif_tpl_escape_t esc;
	const char *has, *lacks;
} rejections[] = {
        {"price_changed", "order_rejected.txt", NOTIF_TPL_TEXT,
         "price of an item in your order changed before we could confirm it", "Reason:"},
        {"price_changed", "order_rejected.txt", NOTIF_TPL_TEXT,
         "Please review the new price and\nplace your order again.", "price_changed"},
        {"price_changed", "order_rejected.html", NOTIF_TPL_HTML,
         "Please review the new price and place your order again.", "Reason:"},
        {"insufficient_stock", "order_rejected.txt", NOTIF_TPL_TEXT, "Reason: insufficient_stock",
         "review the new price"},
        {"insufficient_stock", "order_rejected.html", NOTIF_TPL_HTML, "Reason: insufficient_stock",
         "review the new price"},
};

/* The whole file PATH as a new string, or NULL. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = calloc(1, 65536);
	size_t n;

	if (f == NULL || s == NULL) {
		if (f != NULL)
			fclose(f);
		free(s);
		return NULL;
	}
	n = fread(s, 1, 65535, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

START_TEST(rejection_reasons)
{
	char path[256], err[256];
	json_t *data = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "order_id",
	                         "0b8e1f4c-5d2a-4c1e-9f3a-7b6d5e4c3a21", "customer", "id", "u-1",
	                         "email", "u1@example.com", "total", "25.00", "currency", "EUR",
	                         "reason", rejections[_i].reason);
	eda_event_t *ev = eda_event_new("/order-service", EDA_EVENT_ORDER_REJECTED,
	                                "0b8e1f4c-5d2a-4c1e-9f3a-7b6d5e4c3a21", data, NULL, "t");
	json_t *v;
	char *tpl;
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	const char *text;

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(eda_event_validate_data(ev, err, sizeof(err)), 0);
	v = notif_order_mail_values(ev);
	ck_assert_ptr_nonnull(v);
	snprintf(path, sizeof(path), "notification-service/templates/%s", rejections[_i].tpl);
	tpl = read_text(path);
	ck_assert_msg(tpl != NULL, "cannot read %s", path);
	ck_assert_int_eq(notif_tpl_render(tpl, v, rejections[_i].esc, &b, err, sizeof(err)), 0);
	text = notif_strbuf_cstr(&b);
	ck_assert_msg(strstr(text, rejections[_i].has) != NULL, "%s: no \"%s\" in:\n%s",
	              rejections[_i].reason, rejections[_i].has, text);
	ck_assert_msg(strstr(text, rejections[_i].lacks) == NULL, "%s: \"%s\" in:\n%s",
	              rejections[_i].reason, rejections[_i].lacks, text);
	notif_strbuf_free(&b);
	free(tpl);
	json_decref(v);
	eda_event_free(ev);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("template");

	tcase_add_loop_test(tc, render_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, syntax_errors, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, deep_nesting_is_refused);
	tcase_add_loop_test(tc, rejection_reasons, 0, sizeof(rejections) / sizeof(rejections[0]));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
