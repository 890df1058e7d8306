/*
 * Tests for the pure routing layer of the HTTP server: route patterns,
 * matching and precedence, 404/405 with Allow, path decoding and its
 * rejections (common/src/http_router.c and common/src/http_url.c). Most cases
 * are rows in tables: a request and what it must produce.
 */
#include "eda/http_router.h"

#include "support/check_main.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- route table used by the matching cases ---------------------------- */

static const struct {
	const char *method, *pattern;
} routes[] = {
        {"GET", "/"},
        {"GET", "/orders"},
        {"POST", "/orders"},
        {"GET", "/orders/{id}"},
        {"GET", "/orders/special"},
        {"POST", "/orders/{id}/cancel"},
        {"GET", "/products/{sku}"},
        {"PUT", "/products/{sku}"},
        {"POST", "/products/{sku}/restock"},
        {"GET", "/a/{x}/c"},
        {"GET", "/a/b/{y}"},
        {"GET", "/m/{first}/n/{second}"},
        {"DELETE", "/items/{item_id}"},
        {"HEAD", "/probe"},
        {"GET", "/probe"},
};

static eda_router_t *build_router(void)
{
	eda_router_t *rt = eda_router_new();

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		/* The handler is the row index + 1, so a match names its route. */
		ck_assert_int_eq(eda_router_add(rt, routes[i].method, routes[i].pattern,
		                                (void *)(i + 1), (void *)routes[i].pattern),
		                 0);
	}
	return rt;
}

/* ---- matching ----------------------------------------------------------- */

static const struct match_case {
	const char *method;
	const char *path;
	int rc;
	const char *pattern; /* expected matched pattern (also on 405), NULL to skip */
	const char *param;   /* a parameter to check, NULL for none */
	const char *value;
	const char *allow; /* expected Allow on 405 */
} match_cases[] = {
        {"GET", "/", 0, "/", NULL, NULL, NULL},
        {"GET", "/orders", 0, "/orders", NULL, NULL, NULL},
        {"POST", "/orders", 0, "/orders", NULL, NULL, NULL},
        {"HEAD", "/orders", 0, "/orders", NULL, NULL, NULL},
        {"DELETE", "/orders", EDA_HTTP_EMETHOD, "/orders", NULL, NULL, "GET, HEAD, POST"},
        {"GET", "/orders/42", 0, "/orders/{id}", "id", "42", NULL},
        {"GET", "/orders/special", 0, "/orders/special", NULL, NULL, NULL},
        {"GET", "/orders/specia", 0, "/orders/{id}", "id", "specia", NULL},
        {"GET", "/orders/specials", 0, "/orders/{id}", "id", "specials", NULL},
        {"POST", "/orders/special", EDA_HTTP_EMETHOD, "/orders/special", NULL, NULL, "GET, HEAD"},
        {"POST", "/orders/42/cancel", 0, "/orders/{id}/cancel", "id", "42", NULL},
        {"GET", "/orders/42/cancel", EDA_HTTP_EMETHOD, "/orders/{id}/cancel", NULL, NULL, "POST"},
        {"HEAD", "/orders/42", 0, "/orders/{id}", "id", "42", NULL},
        {"get", "/orders", EDA_HTTP_EMETHOD, "/orders", NULL, NULL, "GET, HEAD, POST"},
        {"PUT", "/products/SKU-1", 0, "/products/{sku}", "sku", "SKU-1", NULL},
        {"POST", "/products/SKU-1/restock", 0, "/products/{sku}/restock", "sku", "SKU-1", NULL},
        {"DELETE", "/products/x", EDA_HTTP_EMETHOD, "/products/{sku}", NULL, NULL,
         "GET, HEAD, PUT"},
        {"DELETE", "/items/7", 0, "/items/{item_id}", "item_id", "7", NULL},
        {"GET", "/items/7", EDA_HTTP_EMETHOD, "/items/{item_id}", NULL, NULL, "DELETE"},
        {"HEAD", "/probe", 0, "/probe", NULL, NULL, NULL},
        /* Precedence: the first segment where the patterns differ decides. */
        {"GET", "/a/b/c", 0, "/a/b/{y}", "y", "c", NULL},
        {"GET", "/a/z/c", 0, "/a/{x}/c", "x", "z", NULL},
        {"GET", "/a/b/z", 0, "/a/b/{y}", "y", "z", NULL},
        {"GET", "/m/1/n/2", 0, "/m/{first}/n/{second}", "second", "2", NULL},
        /* Decoding happens per segment. */
        {"GET", "/orders/a%20b", 0, "/orders/{id}", "id", "a b", NULL},
        {"GET", "/orders/a+b", 0, "/orders/{id}", "id", "a+b", NULL},
        {"GET", "/orders/%E2%82%AC", 0, "/orders/{id}", "id", "\xe2\x82\xac", NULL},
        {"GET", "/orders/%73pecial", 0, "/orders/special", NULL, NULL, NULL},
        {"GET", "/%6frders", 0, "/orders", NULL, NULL, NULL},
        {"GET", "/orders/..a", 0, "/orders/{id}", "id", "..a", NULL},
        {"GET", "/orders/%3F", 0, "/orders/{id}", "id", "?", NULL},
        /* Unknown paths. */
        {"GET", "/nope", EDA_HTTP_ENOTFOUND, NULL, NULL, NULL, NULL},
        {"GET", "/orders/42/cancel/x", EDA_HTTP_ENOTFOUND, NULL, NULL, NULL, NULL},
        {"GET", "/Orders", EDA_HTTP_ENOTFOUND, NULL, NULL, NULL, NULL},
        {"GET", "/a/z/d", EDA_HTTP_ENOTFOUND, NULL, NULL, NULL, NULL},
        /* Malformed paths. */
        {"GET", "", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "orders", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "*", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "//", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "//orders", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders//cancel", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/.", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/..", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/../orders", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%2e%2e", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%2E", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/.%2e", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/a%2Fb", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/a%2fb", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%00", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%4", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%zz", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%%41", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET",
         "/orders/a\x01"
         "b",
         EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/a\x7f", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%0a", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%7F", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
        {"GET", "/orders/%C3%28", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},    /* bad UTF-8 */
        {"GET", "/orders/%ED%A0%80", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL}, /* surrogate */
        {"GET", "/orders/%C0%AF", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},    /* overlong '/' */
        {"GET", "/orders/%F4%90%80%80", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL}, /* > U+10FFFF */
        {"GET", "/orders/\xff", EDA_HTTP_EBADPATH, NULL, NULL, NULL, NULL},
};

START_TEST(test_match_table)
{
	const struct match_case *c = &match_cases[_i];
	eda_router_t *rt = build_router();
	eda_route_match_t *m = malloc(sizeof(*m));
	int rc = eda_router_match(rt, c->method, c->path, strlen(c->path), m);

	ck_assert_msg(rc == c->rc, "%s %s: rc %d, expected %d (%s)", c->method, c->path, rc, c->rc,
	              m->why != NULL ? m->why : "");
	if (c->pattern != NULL)
		ck_assert_str_eq(m->pattern, c->pattern);
	if (rc == 0) {
		ck_assert_ptr_nonnull(m->handler);
		ck_assert_str_eq((const char *)m->ctx, m->pattern);
	} else {
		ck_assert_ptr_null(m->handler);
	}
	if (c->param != NULL)
		ck_assert_str_eq(eda_route_param(m, c->param), c->value);
	if (c->allow != NULL)
		ck_assert_str_eq(m->allow, c->allow);
	if (rc == EDA_HTTP_EBADPATH)
		ck_assert_ptr_nonnull(m->why);
	free(m);
	eda_router_free(rt);
}
END_TEST

START_TEST(test_params_all_present)
{
	eda_router_t *rt = build_router();
	eda_route_match_t m;
	const char *path = "/m/x%20y/n/%C3%A9";

	ck_assert_int_eq(eda_router_match(rt, "GET", path, strlen(path), &m), 0);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert_str_eq(eda_route_param(&m, "first"), "x y");
	ck_assert_str_eq(eda_route_param(&m, "second"), "\xc3\xa9");
	ck_assert_ptr_null(eda_route_param(&m, "third"));
	eda_router_free(rt);
}
END_TEST

/* The length is authoritative: a NUL inside it is a byte of the path. */
START_TEST(test_embedded_nul)
{
	eda_router_t *rt = build_router();
	eda_route_match_t m;
	static const char path[] = "/orders/4\0"
	                           "2";

	ck_assert_int_eq(eda_router_match(rt, "GET", path, sizeof(path) - 1, &m),
	                 EDA_HTTP_EBADPATH);
	ck_assert_int_eq(eda_router_match(rt, "GET", path, 9, &m), 0);
	ck_assert_str_eq(eda_route_param(&m, "id"), "4");
	eda_router_free(rt);
}
END_TEST

START_TEST(test_long_paths)
{
	eda_router_t *rt = eda_router_new();
	eda_route_match_t m;
	char *path = malloc(EDA_HTTP_MAX_PATH + 2);
	char pattern[EDA_HTTP_MAX_SEGMENTS * 3 + 1];
	size_t n = 0;

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(eda_router_add(rt, "GET", "/x/{long}", (void *)1, NULL), 0);
	/* Exactly the maximum is fine... The path is never NUL-terminated: the router
	 * must go by the length it is given. */
	memcpy(path, "/x/", 3); /* NOLINT(bugprone-not-null-terminated-result) */
	memset(path + 3, 'a', EDA_HTTP_MAX_PATH - 3);
	ck_assert_int_eq(eda_router_match(rt, "GET", path, EDA_HTTP_MAX_PATH, &m), 0);
	ck_assert_uint_eq(strlen(eda_route_param(&m, "long")), EDA_HTTP_MAX_PATH - 3);
	/* ...one more byte is not. */
	path[EDA_HTTP_MAX_PATH] = 'a';
	ck_assert_int_eq(eda_router_match(rt, "GET", path, EDA_HTTP_MAX_PATH + 1, &m),
	                 EDA_HTTP_EBADPATH);

	/* EDA_HTTP_MAX_SEGMENTS segments route; one more is refused. */
	for (int i = 0; i < EDA_HTTP_MAX_SEGMENTS; i++)
		n += (size_t)snprintf(pattern + n, sizeof(pattern) - n, "/%c", 'a' + i % 26);
	ck_assert_int_eq(eda_router_add(rt, "GET", pattern, (void *)2, NULL), 0);
	ck_assert_int_eq(eda_router_match(rt, "GET", pattern, strlen(pattern), &m), 0);
	ck_assert_ptr_eq(m.handler, (void *)2);
	memcpy(path, pattern, n);
	memcpy(path + n, "/z", 2); /* NOLINT(bugprone-not-null-terminated-result) */
	ck_assert_int_eq(eda_router_match(rt, "GET", path, n + 2, &m), EDA_HTTP_EBADPATH);
	free(path);
	eda_router_free(rt);
}
END_TEST

/* ---- adding routes ------------------------------------------------------ */

static const struct add_case {
	const char *method, *pattern;
	int rc;
} add_cases[] = {
        {"GET", "/", 0},
        {"GET", "/orders/{id}/items/{item_id}", 0},
        {"GET", "/v1/_x-y.z~", 0},
        {"PATCH", "/orders/{Id_2}", 0},
        {"GET", "", EDA_HTTP_EINVAL},
        {"GET", "orders", EDA_HTTP_EINVAL},
        {"GET", "/orders/", EDA_HTTP_EINVAL},
        {"GET", "//", EDA_HTTP_EINVAL},
        {"GET", "/a//b", EDA_HTTP_EINVAL},
        {"GET", "/a/{}", EDA_HTTP_EINVAL},
        {"GET", "/a/{1x}", EDA_HTTP_EINVAL},
        {"GET", "/a/{x-y}", EDA_HTTP_EINVAL},
        {"GET", "/a/{x", EDA_HTTP_EINVAL},
        {"GET", "/a/x}", EDA_HTTP_EINVAL},
        {"GET", "/a/{x}{y}", EDA_HTTP_EINVAL},
        {"GET", "/a/pre{x}", EDA_HTTP_EINVAL},
        {"GET", "/a/{x}/{x}", EDA_HTTP_EINVAL},
        {"GET", "/a/b%20", EDA_HTTP_EINVAL},
        {"GET", "/a/..", EDA_HTTP_EINVAL},
        {"GET", "/a/.", EDA_HTTP_EINVAL},
        {"GET", "/a/b c", EDA_HTTP_EINVAL},
        {"GET", "/a?b", EDA_HTTP_EINVAL},
        {"", "/a", EDA_HTTP_EINVAL},
        {"GE T", "/a", EDA_HTTP_EINVAL},
        {"GET\n", "/a", EDA_HTTP_EINVAL},
        {"GETGETGETGETGETGETGETGETGETGETGE", "/a", EDA_HTTP_EINVAL}, /* 32 characters */
};

START_TEST(test_add_table)
{
	const struct add_case *c = &add_cases[_i];
	eda_router_t *rt = eda_router_new();

	ck_assert_msg(eda_router_add(rt, c->method, c->pattern, NULL, NULL) == c->rc,
	              "'%s' '%s' should give %d", c->method, c->pattern, c->rc);
	eda_router_free(rt);
}
END_TEST

START_TEST(test_add_duplicates)
{
	eda_router_t *rt = eda_router_new();

	ck_assert_int_eq(eda_router_add(rt, "GET", "/orders/{id}", NULL, NULL), 0);
	ck_assert_int_eq(eda_router_add(rt, "GET", "/orders/{id}", NULL, NULL), EDA_HTTP_EEXIST);
	/* Renaming the parameter does not make it a different route. */
	ck_assert_int_eq(eda_router_add(rt, "GET", "/orders/{oid}", NULL, NULL), EDA_HTTP_EEXIST);
	ck_assert_int_eq(eda_router_add(rt, "POST", "/orders/{oid}", NULL, NULL), 0);
	ck_assert_int_eq(eda_router_add(rt, "GET", "/orders/mine", NULL, NULL), 0);
	ck_assert_int_eq(eda_router_add(NULL, "GET", "/x", NULL, NULL), EDA_HTTP_EINVAL);
	ck_assert_int_eq(eda_router_add(rt, NULL, "/x", NULL, NULL), EDA_HTTP_EINVAL);
	ck_assert_int_eq(eda_router_add(rt, "GET", NULL, NULL, NULL), EDA_HTTP_EINVAL);
	eda_router_free(rt);
	eda_router_free(NULL);
}
END_TEST

/* More routes than the table's first allocation, and every one reachable. */
START_TEST(test_many_routes)
{
	eda_router_t *rt = eda_router_new();
	eda_route_match_t m;
	char path[64];

	for (long i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/r%ld/{p}", i);
		ck_assert_int_eq(eda_router_add(rt, "GET", path, (void *)(i + 1), NULL), 0);
	}
	for (long i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/r%ld/v", i);
		ck_assert_int_eq(eda_router_match(rt, "GET", path, strlen(path), &m), 0);
		ck_assert_ptr_eq(m.handler, (void *)(i + 1));
	}
	eda_router_free(rt);
}
END_TEST

/* ---- path splitting ----------------------------------------------------- */

START_TEST(test_path_split)
{
	eda_http_path_t p;
	const char *why = NULL;

	ck_assert_int_eq(eda_http_path_split("/", 1, &p, &why), 0);
	ck_assert_uint_eq(p.nseg, 0);
	ck_assert_int_eq(eda_http_path_split("/a/b%2Cc/d", 10, &p, &why), 0);
	ck_assert_uint_eq(p.nseg, 3);
	ck_assert_str_eq(p.seg[0], "a");
	ck_assert_str_eq(p.seg[1], "b,c");
	ck_assert_str_eq(p.seg[2], "d");
	ck_assert_int_eq(eda_http_path_split("/a%2Fb", 6, &p, &why), EDA_HTTP_EBADPATH);
	ck_assert_str_eq(why, "encoded '/' in a path segment");
	ck_assert_int_eq(eda_http_path_split("/a", 2, &p, NULL), 0);
	ck_assert_int_eq(eda_http_path_split(NULL, 0, &p, NULL), EDA_HTTP_EBADPATH);
}
END_TEST

/* ---- query strings ------------------------------------------------------ */

static const struct query_case {
	const char *qs;
	int rc;
	const char *key, *value; /* one lookup to check; value NULL = absent */
	size_t n;                /* expected count when rc == 0 */
} query_cases[] = {
        {"status=PENDING&limit=10", 0, "limit", "10", 2},
        {"status=PENDING&limit=10", 0, "status", "PENDING", 2},
        {"status=PENDING&limit=10", 0, "cursor", NULL, 2},
        {"", 0, "a", NULL, 0},
        {"a=1&&b=2", 0, "b", "2", 2},
        {"&a=1&", 0, "a", "1", 1},
        {"flag", 0, "flag", "", 1},
        {"flag=", 0, "flag", "", 1},
        {"=x&a=1", 0, "a", "1", 1},
        {"q=a+b%20c", 0, "q", "a b c", 1},
        {"q=%2F", 0, "q", "/", 1},
        {"q=1=2", 0, "q", "1=2", 1},
        {"a=1&a=2", 0, "a", "1", 2},
        {"k%65y=v", 0, "key", "v", 1},
        {"q=%E2%82%AC", 0, "q", "\xe2\x82\xac", 1},
        {"q=%", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"q=%zz", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"q=%00", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"q=%0A", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"q=%C3%28", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"%zz=1", EDA_HTTP_EBADPATH, NULL, NULL, 0},
        {"q=\x01", EDA_HTTP_EBADPATH, NULL, NULL, 0},
};

START_TEST(test_query_table)
{
	const struct query_case *c = &query_cases[_i];
	char *qs = strdup(c->qs);
	eda_http_query_t q;
	const char *why = NULL;
	int rc = eda_http_query_parse(qs, &q, &why);

	ck_assert_msg(rc == c->rc, "'%s': rc %d, expected %d", c->qs, rc, c->rc);
	if (rc == 0) {
		ck_assert_uint_eq(q.n, c->n);
		if (c->value != NULL)
			ck_assert_str_eq(eda_http_query_get(&q, c->key), c->value);
		else
			ck_assert_ptr_null(eda_http_query_get(&q, c->key));
	} else {
		ck_assert_ptr_nonnull(why);
	}
	free(qs);
}
END_TEST

START_TEST(test_query_too_many)
{
	char buf[EDA_HTTP_MAX_QUERY_PARAMS * 8 + 16];
	eda_http_query_t q;
	size_t n = 0;

	for (int i = 0; i < EDA_HTTP_MAX_QUERY_PARAMS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sk%d=v", i ? "&" : "", i);
	ck_assert_int_eq(eda_http_query_parse(buf, &q, NULL), 0);
	ck_assert_uint_eq(q.n, EDA_HTTP_MAX_QUERY_PARAMS);
	n = 0;
	for (int i = 0; i <= EDA_HTTP_MAX_QUERY_PARAMS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sk%d=v", i ? "&" : "", i);
	ck_assert_int_eq(eda_http_query_parse(buf, &q, NULL), EDA_HTTP_EBADPATH);
}
END_TEST

START_TEST(test_strerror)
{
	static const int codes[] = {EDA_HTTP_OK,       EDA_HTTP_EINVAL,    EDA_HTTP_EEXIST,
	                            EDA_HTTP_EBADPATH, EDA_HTTP_ENOTFOUND, EDA_HTTP_EMETHOD,
	                            EDA_HTTP_ESTATE,   EDA_HTTP_ESYS};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(eda_http_strerror(codes[i]));
		ck_assert_str_ne(eda_http_strerror(codes[i]), "unknown error");
	}
	ck_assert_str_eq(eda_http_strerror(-1000), "unknown error");
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("http_router");
	TCase *tc = tcase_create("router");

	tcase_add_loop_test(tc, test_match_table, 0,
	                    (int)(sizeof(match_cases) / sizeof(match_cases[0])));
	tcase_add_test(tc, test_params_all_present);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_long_paths);
	tcase_add_loop_test(tc, test_add_table, 0, (int)(sizeof(add_cases) / sizeof(add_cases[0])));
	tcase_add_test(tc, test_add_duplicates);
	tcase_add_test(tc, test_many_routes);
	tcase_add_test(tc, test_path_split);
	tcase_add_loop_test(tc, test_query_table, 0,
	                    (int)(sizeof(query_cases) / sizeof(query_cases[0])));
	tcase_add_test(tc, test_query_too_many);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(router_suite());
}
