/*
 * infrastructure/scripts/layers.sh, the check of ARCHITECTURE.md's layers that
 * `make test` runs on the four daemons: shown a daemon of its own in a
 * temporary folder, it must pass a tree that keeps to the plan and name every
 * file that does not (a checker that passes everything fails this suite).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/check_main.h"
#include "support/run_cmd.h"

typedef struct {
	char root[64]; /* the fake daemon: ROOT/src/... */
} fake_t;

static void put(const fake_t *f, const char *path, const char *text)
{
	char full[256], dir[256];
	FILE *fp;

	snprintf(full, sizeof(full), "%s/src/%s", f->root, path);
	snprintf(dir, sizeof(dir), "%s", full);
	for (char *p = dir + strlen(f->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	fp = fopen(full, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A daemon that keeps to the plan: every layer, calls going down only. */
static void fake_new(fake_t *f)
{
	snprintf(f->root, sizeof(f->root), "/tmp/eda-layers-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->root));
	put(f, "main.c", "#include \"app.h\"\n");
	put(f, "app.c", "#include \"app.h\"\n#include \"routers/items.h\"\n");
	put(f, "app.h", "#include <stdbool.h>\n");
	put(f, "routers/items.c",
	    "#include \"routers/items.h\"\n#include \"eda/http.h\"\n"
	    "#include \"services/items.h\"\n#include \"schemas/item.h\"\n");
	put(f, "routers/items.h", "#include \"eda/http.h\"\n");
	put(f, "events/consumers.c", "#include \"services/items.h\"\n");
	put(f, "services/items.c",
	    "#include \"services/items.h\"\n#include \"repositories/items.h\"\n"
	    "#include \"models/item.h\"\n#include \"items_internal.h\"\n#include <libpq-fe.h>\n");
	put(f, "services/items.h", "#include \"models/item.h\"\n");
	put(f, "repositories/items.c",
	    "#include \"repositories/items.h\"\n#include \"config/db.h\"\n"
	    "int f(void *c) { return PQexec(c, \"SELECT 1\") != 0; }\n");
	put(f, "repositories/items.h", "#include \"models/item.h\"\n");
	put(f, "schemas/item.c", "#include \"schemas/item.h\"\n#include \"models/item.h\"\n");
	put(f, "schemas/item.h", "#include \"models/item.h\"\n");
	put(f, "models/item.h", "#include \"utils/text.h\"\n");
	put(f, "config/db.h", "#include <libpq-fe.h>\n");
	put(f, "utils/text.h", "#include <stddef.h>\n");
}

static void fake_free(fake_t *f)
{
	char cmd[128], out[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
}

static int check(const fake_t *f, char *out, size_t outsz)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "infrastructure/scripts/layers.sh %s 2>&1", f->root);
	return ts_run(cmd, out, outsz);
}

START_TEST(a_daemon_that_keeps_to_the_plan_passes)
{
	fake_t f;
	char out[4096];

	fake_new(&f);
	ck_assert_msg(check(&f, out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "every include keeps to ARCHITECTURE.md"));
	fake_free(&f);
}
END_TEST

/* Each case breaks the plan once; the checker must fail naming the file, the
 * line and the reason. */
static const struct {
	const char *path, *text, *expect;
} broken[] = {
        {"services/items.c", "#include \"routers/items.h\"\n",
         "services/items.c:1: services/ may not include \"routers/items.h\""},
        {"services/up.c", "#include \"events/consumers.h\"\n",
         "services/up.c:1: services/ may not include \"events/consumers.h\""},
        {"repositories/items.c", "\n#include \"services/items.h\"\n",
         "repositories/items.c:2: repositories/ may not include \"services/items.h\""},
        {"models/item.c", "#include \"schemas/item.h\"\n",
         "models/item.c:1: models/ may not include \"schemas/item.h\""},
        {"utils/text.c", "#include \"config/db.h\"\n",
         "utils/text.c:1: utils/ may not include \"config/db.h\""},
        {"routers/items.c", "#include \"app.h\"\n",
         "routers/items.c:1: routers/ may not include \"app.h\""},
        {"services/http.c", "#include \"eda/http.h\"\n",
         "services/http.c:1: services/ must not include eda/http.h"},
        {"services/sql.c", "int g(void *c) { return PQexecParams(c, 0, 0, 0, 0, 0, 0, 0) != 0; }\n",
         "services/sql.c:1: services/ sends SQL"},
        {"routers/sql.c", "x = PQprepare (c, \"s\", \"SELECT 1\", 0, 0);\n",
         "routers/sql.c:1: routers/ sends SQL"},
        {"helpers/x.c", "int x;\n", "folder helpers/ is not a layer"},
};

START_TEST(a_daemon_that_breaks_it_fails_naming_where)
{
	fake_t f;
	char out[4096];

	fake_new(&f);
	put(&f, broken[_i].path, broken[_i].text);
	ck_assert_msg(check(&f, out, sizeof(out)) == 1, "%s: %s", broken[_i].path, out);
	ck_assert_msg(strstr(out, broken[_i].expect) != NULL, "want \"%s\" in: %s",
	              broken[_i].expect, out);
	fake_free(&f);
}
END_TEST

START_TEST(a_folder_that_is_no_daemon_is_a_usage_error)
{
	char out[1024];

	ck_assert_int_eq(ts_run("infrastructure/scripts/layers.sh /nonexistent/daemon 2>&1", out,
	                        sizeof(out)),
	                 2);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/daemon/src: no such folder"));
}
END_TEST

/* The project's own four daemons: what `make test` checks. */
START_TEST(the_four_daemons_keep_to_the_plan)
{
	char out[16384];

	ck_assert_msg(ts_run("infrastructure/scripts/layers.sh 2>&1", out, sizeof(out)) == 0, "%s",
	              out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("layers");
	TCase *tc = tcase_create("layers");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_daemon_that_keeps_to_the_plan_passes);
	tcase_add_loop_test(tc, a_daemon_that_breaks_it_fails_naming_where, 0,
	                    (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, a_folder_that_is_no_daemon_is_a_usage_error);
	tcase_add_test(tc, the_four_daemons_keep_to_the_plan);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
