/*
 * The products API of the real daemon (src/routers/products.c): a table of
 * requests and the status and problem field each must get (bad SKU characters,
 * negative stock, non-integer quantity, a 2 MiB body, missing roles, ...), the
 * happy paths (create 201, replace 200, restock, pagination, Idempotency-Key),
 * the InventoryUpdated each stock change publishes, `seed FILE`, and exit
 * status 2 on a bad configuration.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eda/log.h"
#include "support/check_main.h"
#include "support/inv_support.h"

#define LONG_ID                                                                                    \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char *const no_role[] = {"X-Customer-Id: user-9", NULL};
static const char *const nobody[] = {NULL};
/* One character more than a customer id may have (eda/validate.h). */
static const char *const long_id[] = {"X-Customer-Id: " LONG_ID "x", NULL};

struct api_case {
	const char *name;
	const char *method;
	const char *path;
	const char *const *headers;
	const char *body; /* NULL: none; "@big": 2 MiB */
	long status;
	const char *field; /* expected errors[0].field, or NULL */
};

static const struct api_case cases[] = {
        {"bad sku characters", "PUT", "/products/bad%20sku", ts_admin_headers,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1}", 400, "sku"},
        {"sku starting with dot", "GET", "/products/.hidden", ts_user_headers, NULL, 400, "sku"},
        {"sku too long", "GET",
         "/products/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         ts_user_headers, NULL, 400, "sku"},
        {"negative stock", "PUT", "/products/NEG-1", ts_admin_headers,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":-1}", 422, "stock"},
        {"fractional stock", "PUT", "/products/FRAC-1", ts_admin_headers,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1.5}", 422, "stock"},
        {"price with three decimals", "PUT", "/products/P-1", ts_admin_headers,
         "{\"name\":\"x\",\"price\":\"1.005\",\"stock\":1}", 422, "price"},
        {"negative price", "PUT", "/products/P-2", ts_admin_headers,
         "{\"name\":\"x\",\"price\":-1,\"stock\":1}", 422, "price"},
        {"missing name", "PUT", "/products/P-3", ts_admin_headers,
         "{\"price\":\"1.00\",\"stock\":1}", 422, "name"},
        {"blank name", "PUT", "/products/P-4", ts_admin_headers,
         "{\"name\":\"   \",\"price\":\"1.00\",\"stock\":1}", 422, "name"},
        {"unknown member", "PUT", "/products/P-5", ts_admin_headers,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1,\"colour\":\"red\"}", 422, "colour"},
        {"not an object", "PUT", "/products/P-6", ts_admin_headers, "[1,2]", 422, "body"},
        {"malformed json", "PUT", "/products/P-7", ts_admin_headers, "{\"name\":", 400, NULL},
        {"2 MiB body", "PUT", "/products/BIG-1", ts_admin_headers, "@big", 413, NULL},
        {"put without role", "PUT", "/products/R-1", no_role,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1}", 403, NULL},
        {"put without identity", "PUT", "/products/R-2", nobody,
         "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1}", 401, NULL},
        {"customer id too long", "GET", "/products/SEEDED", long_id, NULL, 400, "X-Customer-Id"},
        {"restock without role", "POST", "/products/SEEDED/restock", no_role, "{\"quantity\":1}",
         403, NULL},
        {"restock non-integer quantity", "POST", "/products/SEEDED/restock", ts_admin_headers,
         "{\"quantity\":2.5}", 422, "quantity"},
        {"restock quantity as string", "POST", "/products/SEEDED/restock", ts_admin_headers,
         "{\"quantity\":\"2\"}", 422, "quantity"},
        {"restock zero", "POST", "/products/SEEDED/restock", ts_admin_headers, "{\"quantity\":0}",
         422, "quantity"},
        {"restock unknown sku", "POST", "/products/NOPE-1/restock", ts_admin_headers,
         "{\"quantity\":1}", 404, NULL},
        {"restock over the cap", "POST", "/products/SEEDED/restock", ts_admin_headers,
         "{\"quantity\":1000000000}", 409, NULL},
        {"get without identity", "GET", "/products/SEEDED", nobody, NULL, 401, NULL},
        {"get unknown", "GET", "/products/NOPE-2", ts_user_headers, NULL, 404, NULL},
        {"list with bad limit", "GET", "/products?limit=0", ts_user_headers, NULL, 400, "limit"},
        {"list with bad cursor", "GET", "/products?cursor=%2E%2E", ts_user_headers, NULL, 400,
         "cursor"},
        {"wrong method", "DELETE", "/products/SEEDED", ts_admin_headers, NULL, 405, NULL},
};

static ts_inv_t shared;
static unsigned short port;
static pid_t pid;

static void setup(void)
{
	ts_inv_init(&shared, "inv-api", 1);
	port = ts_free_port();
	pid = ts_inv_start(&shared, port, NULL, NULL);
	ts_put_product(port, "SEEDED", 7);
}

static void teardown(void)
{
	ts_inv_stop(pid);
}

START_TEST(api_table)
{
	const struct api_case *c = &cases[_i];
	json_t *out = NULL;
	char *big = NULL;
	const char *body = c->body;
	size_t len = body != NULL ? strlen(body) : 0;
	long code;

	if (body != NULL && strcmp(body, "@big") == 0) {
		len = 2 * 1024 * 1024;
		big = malloc(len + 1);
		ck_assert_ptr_nonnull(big);
		memset(big, ' ', len);
		memcpy(big, "{\"name\":\"", 9);
		big[len - 2] = '"';
		big[len - 1] = '}';
		big[len] = '\0';
		body = big;
	}
	code = ts_http(port, c->method, c->path, c->headers, body, len, &out);
	ck_assert_msg(code == c->status, "%s: status %ld, want %ld", c->name, code, c->status);
	if (c->status >= 400 && c->status != 405 && c->status != 413) {
		const char *detail = json_string_value(json_object_get(out, "detail"));

		ck_assert_msg(json_integer_value(json_object_get(out, "status")) == c->status,
		              "%s: not a problem document", c->name);
		ck_assert_msg(detail != NULL && detail[0] != '\0', "%s: no detail", c->name);
	}
	if (c->field != NULL) {
		json_t *e0 = json_array_get(json_object_get(out, "errors"), 0);

		ck_assert_msg(e0 != NULL, "%s: no errors[]", c->name);
		ck_assert_str_eq(json_string_value(json_object_get(e0, "field")), c->field);
	}
	json_decref(out);
	free(big);
	ck_assert_int_eq(ts_stock(port, "SEEDED"), 7); /* nothing above changed it */
}
END_TEST

START_TEST(create_replace_restock_and_list)
{
	ts_inv_t t;
	unsigned short p = ts_free_port();
	pid_t d;
	ts_events_t ev;
	json_t *out = NULL;
	const char *put = "{\"name\":\"Mug\",\"price\":9.5,\"stock\":3}";
	const char *restock = "{\"quantity\":4}";
	const char *key[] = {"X-Customer-Id: a", "X-Roles: admin", "Idempotency-Key: k-1", NULL};
	char path[128], cursor[80] = "";
	int seen = 0;

	ts_inv_init(&t, "inv-api-flow", 1);
	d = ts_inv_start(&t, p, NULL, NULL);
	ts_events_open(&ev, t.inventory, 1);
	ck_assert_int_eq(
	        ts_http(p, "PUT", "/products/MUG-1", ts_admin_headers, put, strlen(put), &out),
	        201);
	ck_assert_str_eq(json_string_value(json_object_get(out, "price")), "9.50");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "stock")), 3);
	json_decref(out);
	ck_assert_int_eq(
	        ts_http(p, "PUT", "/products/MUG-1", ts_admin_headers, put, strlen(put), NULL),
	        200);
	/* The same Idempotency-Key twice restocks once. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(ts_http(p, "POST", "/products/MUG-1/restock", key, restock,
		                         strlen(restock), &out),
		                 200);
		ck_assert_int_eq(json_integer_value(json_object_get(out, "stock")), 7);
		json_decref(out);
	}
	for (int i = 0; i < 5; i++) {
		char sku[32];

		snprintf(sku, sizeof(sku), "PAGE-%d", i);
		ts_put_product(p, sku, i);
	}
	/* Walk the pages two at a time: 6 products in all. */
	do {
		snprintf(path, sizeof(path), "/products?limit=2%s%s", cursor[0] ? "&cursor=" : "",
		         cursor);
		ck_assert_int_eq(ts_http(p, "GET", path, ts_user_headers, NULL, 0, &out), 200);
		seen += (int)json_array_size(json_object_get(out, "items"));
		if (json_is_string(json_object_get(out, "next_cursor")))
			snprintf(cursor, sizeof(cursor), "%s",
			         json_string_value(json_object_get(out, "next_cursor")));
		else
			cursor[0] = '\0';
		json_decref(out);
	} while (cursor[0] != '\0');
	ck_assert_int_eq(seen, 6);
	/* Stock changes of MUG-1: set 3, restock 4 (the replace changed nothing). */
	ck_assert_uint_eq(ts_events_wait(&ev, "InventoryUpdated", "MUG-1", 2, 30000), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(
	                         ts_events_find(&ev, "InventoryUpdated", "MUG-1")->data, "delta")),
	                 3);
	ts_events_wait(&ev, "InventoryUpdated", NULL, 7, 30000);
	ts_events_validate(&ev);
	ts_events_close(&ev);
	ts_inv_stop(d);
}
END_TEST

static int run_daemon(const ts_inv_t *t, const char *const *argv_tail, const char *bad_env)
{
	char exe[512];
	const char *dir = getenv("EDA_BIN_DIR");
	pid_t c;
	int st;

	snprintf(exe, sizeof(exe), "%s/inventory-service", dir != NULL && *dir ? dir : "build/bin");
	c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		const char *argv[4] = {exe, argv_tail[0], argv_tail[1], NULL};

		setenv("TOPIC_ORDERS", t->orders, 1);
		setenv("TOPIC_INVENTORY", t->inventory, 1);
		/* A seed publishes ProductChanged: to this test's topic, never
		 * to the running system's "products" (topic-guard.sh). */
		setenv("TOPIC_PRODUCTS", t->products, 1);
		setenv("CONSUMER_GROUP", t->group, 1);
		setenv("MONGODB_DATABASE", t->db, 1);
		setenv("LOG_LEVEL", "error", 1);
		if (bad_env != NULL)
			putenv((char *)bad_env);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(seed_command_and_bad_config)
{
	ts_inv_t t;
	unsigned short p = ts_free_port();
	pid_t d;
	char cat[] = "/tmp/inv-seed-XXXXXX";
	int fd = mkstemp(cat);
	const char *json =
	        "{\"products\":[{\"sku\":\"S-1\",\"name\":\"One\",\"price\":\"1.00\","
	        "\"stock\":3},{\"sku\":\"S-2\",\"name\":\"Two\",\"price\":2,\"stock\":0}]}";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	ts_inv_init(&t, "inv-seed", 1);
	ck_assert_int_eq(run_daemon(&t, (const char *const[]){"seed", cat}, NULL), 0);
	ck_assert_int_eq(run_daemon(&t, (const char *const[]){"seed", "/nonexistent.json"}, NULL),
	                 2);
	ck_assert_int_eq(run_daemon(&t, (const char *const[]){"--bogus", NULL}, NULL), 2);
	ck_assert_int_eq(run_daemon(&t, (const char *const[]){NULL, NULL}, "PORT=99999"), 2);
	ck_assert_int_eq(run_daemon(&t, (const char *const[]){NULL, NULL}, "TOPIC_ORDERS=a b"), 2);
	ck_assert_int_eq(
	        run_daemon(&t, (const char *const[]){NULL, NULL}, "INVENTORY_CRASH_AT=soon"), 2);
	ck_assert_int_eq(
	        run_daemon(&t, (const char *const[]){NULL, NULL}, "MONGODB_URL=postgres://x"), 2);
	unlink(cat);
	d = ts_inv_start(&t, p, NULL, NULL);
	ck_assert_int_eq(ts_stock(p, "S-1"), 3);
	ck_assert_int_eq(ts_stock(p, "S-2"), 0);
	ts_inv_stop(d);
}
END_TEST

START_TEST(shipped_catalogue_loads)
{
	ts_inv_t t;

	ts_inv_init(&t, "inv-catalogue", 1);
	ck_assert_int_eq(
	        run_daemon(&t,
	                   (const char *const[]){"seed", "inventory-service/seed/catalogue.json"},
	                   NULL),
	        0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_products_router");
	TCase *table = tcase_create("validation");
	TCase *flow = tcase_create("flow");

	eda_log_init("test-products-router", EDA_LOG_WARN);
	/* One daemon for the whole table (unchecked fixture: set up once). */
	tcase_add_unchecked_fixture(table, setup, teardown);
	tcase_set_timeout(table, 60);
	tcase_add_loop_test(table, api_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_set_timeout(flow, 120);
	tcase_add_test(flow, create_replace_restock_and_list);
	tcase_add_test(flow, seed_command_and_bad_config);
	tcase_add_test(flow, shipped_catalogue_loads);
	suite_add_tcase(s, table);
	suite_add_tcase(s, flow);
	return ts_run_suite(s);
}
