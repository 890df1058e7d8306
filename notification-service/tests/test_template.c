/*
 * Tests of src/services/template.c: a table of templates, values and expected
 * output (text and HTML escaping), and a table of syntax errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "services/template.h"
#include "support/check_main.h"

static const char *values_json =
        "{\"name\":\"Ann & <Bob>\",\"n\":3,\"yes\":true,\"no\":false,\"empty\":\"\","
        "\"items\":[{\"sku\":\"A\",\"q\":1},{\"sku\":\"B\",\"q\":2}],\"none\":[],"
        "\"obj\":{\"inner\":\"in\"},\"quote\":\"it's \\\"x\\\"\"}";

static const struct {
	const char *tpl;
	tpl_escape_t esc;
	const char *want;
} cases[] = {
        {"plain text", TPL_TEXT, "plain text"},
        {"Hi {{name}}!", TPL_TEXT, "Hi Ann & <Bob>!"},
        {"Hi {{name}}!", TPL_HTML, "Hi Ann &amp; &lt;Bob&gt;!"},
        {"{{quote}}", TPL_HTML, "it&#39;s &quot;x&quot;"},
        {"{{ n }} {{yes}} {{no}}", TPL_TEXT, "3 true false"},
        {"[{{missing}}]", TPL_TEXT, "[]"},
        {"{{#items}}{{sku}}x{{q}};{{/items}}", TPL_TEXT, "Ax1;Bx2;"},
        {"{{#items}}\n- {{sku}}\n{{/items}}\nend", TPL_TEXT, "- A\n- B\nend"},
        {"a\n  {{#items}}  \n{{sku}}\n  {{/items}}\nb", TPL_TEXT, "a\nA\nB\nb"},
        {"{{#none}}x{{/none}}{{^none}}nothing{{/none}}", TPL_TEXT, "nothing"},
        {"{{#empty}}x{{/empty}}{{^empty}}e{{/empty}}", TPL_TEXT, "e"},
        {"{{#yes}}Y{{/yes}}{{#no}}N{{/no}}", TPL_TEXT, "Y"},
        {"{{#obj}}{{inner}}{{/obj}}", TPL_TEXT, "in"},
        {"{{#items}}{{name}}:{{sku}} {{/items}}", TPL_TEXT, "Ann & <Bob>:A Ann & <Bob>:B "},
        {"{{#items}}{{#items}}.{{/items}}{{/items}}", TPL_TEXT, "...."},
        {"single { brace } stays", TPL_TEXT, "single { brace } stays"},
        {"{{name}}\r\n", TPL_TEXT, "Ann & <Bob>\r\n"},
};

START_TEST(render_table)
{
	json_error_t je;
	json_t *v = json_loads(values_json, 0, &je);
	strbuf_t b = STRBUF_INIT;
	char err[128];

	ck_assert_ptr_nonnull(v);
	ck_assert_msg(tpl_render(cases[_i].tpl, v, cases[_i].esc, &b, err, sizeof(err)) == 0, "%s",
	              err);
	ck_assert_str_eq(strbuf_cstr(&b), cases[_i].want);
	strbuf_free(&b);
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

	ck_assert_int_eq(tpl_check(bad[_i].tpl, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "'%s': got '%s'", bad[_i].tpl, err);
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
	json_t *v = json_pack("{s:b}", "a", 1);
	strbuf_t b = STRBUF_INIT;
	char tpl[512] = "", err[128];

	for (int i = 0; i < 10; i++)
		strcat(tpl, "{{#a}}");
	for (int i = 0; i < 10; i++)
		strcat(tpl, "{{/a}}");
	ck_assert_int_eq(tpl_render(tpl, v, TPL_TEXT, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too deep"));
	strbuf_free(&b);
	json_decref(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("template");

	tcase_add_loop_test(tc, render_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, syntax_errors, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, deep_nesting_is_refused);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
