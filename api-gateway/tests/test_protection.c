/*
 * Tests for what the gateway refuses before any upstream is involved
 * (src/routers/api.c with the common HTTP server's limits): 401 with the
 * RFC 6750 challenge, tokens in the query string, 413 before the body is
 * read, the per-customer rate limit (429 + Retry-After), unknown routes,
 * query parameter forwarding, and CORS. Every refusal is checked to leave
 * the stub upstream untouched.
 */
#include "app.h"
#include "support/gw_support.h"

#include "support/check_main.h"
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ts_stub_t orders, inventory;
static gw_settings_t settings;
static gw_app_t *gw;
static char base[64];
static char *auth42;
static char *origins[] = {"https://shop.example", NULL};

static void setup(void)
{
	ts_stub_start(&orders);
	ts_stub_start(&inventory);
	ts_settings(&settings, orders.url, inventory.url);
	settings.rate_per_s = 1;
	settings.rate_burst = 5;
	settings.cors_origins = origins;
	settings.ncors = 1;
	gw = ts_gateway(&settings, base);
	auth42 = ts_bearer("42", "customer");
}

static void teardown(void)
{
	gw_app_free(gw);
	/* The stubs are left to the end of this (forked) test process; see
	 * ts_stub_stop. */
	free(auth42);
}

static void call(const char *method, const char *path, const char *const *hdrs, const char *body,
                 ts_resp_t *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", base, path);
	ts_http(method, url, hdrs, body, r);
}

/* ---- refusals that never reach an upstream -------------------------------- */

static const struct refusal {
	const char *method, *path;
	const char *auth; /* "$OK" = a valid customer token */
	long status;
	const char *challenge; /* substring of WWW-Authenticate, or NULL: none */
} refusals[] = {
        {"GET", "/orders", NULL, 401, "Bearer realm=\"eda\""},
        {"GET", "/orders", "Authorization: Basic dXNlcjpwdw==", 401, "Bearer realm"},
        {"GET", "/orders", "Authorization: Bearer garbage", 401, "error=\"invalid_token\""},
        {"GET", "/orders", "Authorization: Bearer a.b.c", 401, "error=\"invalid_token\""},
        {"GET", "/orders?access_token=x.y.z", NULL, 401, "error=\"invalid_token\""},
        {"GET", "/orders?access_token=x.y.z", "$OK", 401, "error=\"invalid_token\""},
        {"GET", "/admin", "$OK", 404, NULL},
        {"GET", "/orders/a/b", "$OK", 404, NULL},
        {"GET", "/", "$OK", 404, NULL},
        {"GET", "/orders/..", "$OK", 400, NULL},
        {"GET", "/orders/a%2Fb", "$OK", 400, NULL},
        {"DELETE", "/orders/o-1", "$OK", 405, NULL},
        {"PATCH", "/products/x", "$OK", 405, NULL},
        {"PUT", "/products/x", "$OK", 403, "insufficient_scope"},
};

START_TEST(refused_before_upstream)
{
	const struct refusal *c = &refusals[_i];
	const char *hdrs[] = {c->auth != NULL && strcmp(c->auth, "$OK") == 0 ? auth42 : c->auth,
	                      NULL};
	char buf[512];
	ts_resp_t r;
	json_t *j;

	call(c->method, c->path, hdrs[0] != NULL ? hdrs : NULL, NULL, &r);
	ck_assert_msg(r.status == c->status, "%s %s: %ld", c->method, c->path, r.status);
	ck_assert_str_eq(ts_header(&r, "Content-Type", buf, sizeof(buf)),
	                 "application/problem+json");
	j = ts_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), c->status);
	json_decref(j);
	if (c->challenge != NULL) {
		ck_assert_ptr_nonnull(ts_header(&r, "WWW-Authenticate", buf, sizeof(buf)));
		ck_assert_msg(strstr(buf, c->challenge) != NULL, "%s", buf);
	}
	ck_assert_int_eq(ts_stub_requests(), 0);
	ts_resp_free(&r);
}
END_TEST

/* The body is refused on its announced size: the upstream sees nothing. */
START_TEST(oversized_body_is_413)
{
	const char *hdrs[] = {auth42, "Content-Type: application/json", NULL};
	size_t n = 1024 * 1024 + 1;
	char *body = malloc(n + 1);
	ts_resp_t r;

	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	body[n] = '\0';
	call("POST", "/orders", hdrs, body, &r);
	ck_assert_int_eq(r.status, 413);
	ck_assert_int_eq(ts_stub_requests(), 0);
	ts_resp_free(&r);
	/* Exactly the limit is accepted and forwarded whole. */
	body[n - 2] = '}';
	body[n - 1] = '\0';
	call("POST", "/orders", hdrs, body, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert_int_eq(ts_stub_requests(), 1);
	ts_resp_free(&r);
	free(body);
}
END_TEST

/* Header size and count are bounded by the server's per-connection memory
 * (16 KiB): 8 KiB of headers pass; past 12 KiB the answer is a 431 problem
 * document (between 12 and 16 KiB, MHD itself would parse the request and
 * then have no room for any answer); past the pool it is MHD's own 431. In
 * no case is anything forwarded. */
/* R is our 431 problem document, not libmicrohttpd's own page. */
static void assert_431_problem(ts_resp_t *r, const char *what)
{
	char type[64];

	ck_assert_msg(r->status == 431, "%s: %ld", what, (long)r->status);
	ck_assert_msg(ts_header(r, "Content-Type", type, sizeof(type)) != NULL &&
	                      strcmp(type, "application/problem+json") == 0,
	              "%s: not a problem document", what);
	ts_resp_free(r);
}

START_TEST(oversized_headers_are_431)
{
	static char big[70 * 1024];
	const char *one_big[] = {auth42, big, NULL};
	const char **many = calloc(3002, sizeof(*many));
	char(*lines)[32] = calloc(3000, sizeof(*lines));
	ts_resp_t r;

	snprintf(big, sizeof(big), "X-Big: ");
	memset(big + 7, 'a', 8 * 1024);
	call("GET", "/orders", one_big, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stub_requests(), 1);
	for (size_t kib = 12; kib <= 14; kib++) {
		memset(big + 7, 'a', kib * 1024 + 512);
		call("GET", "/orders", one_big, NULL, &r);
		assert_431_problem(&r, "a 12.5-14.5 KiB header");
	}
	memset(big + 7, 'a', sizeof(big) - 8);
	call("GET", "/orders", one_big, NULL, &r);
	ck_assert_int_eq(r.status, 431);
	ts_resp_free(&r);
	many[0] = auth42;
	for (int i = 0; i < 3000; i++) {
		snprintf(lines[i], sizeof(lines[i]), "X-H%d: v", i);
		many[i + 1] = lines[i];
	}
	call("GET", "/orders", many, NULL, &r);
	ck_assert_int_eq(r.status, 431);
	ts_resp_free(&r);
	/* 160 small cookies in one header: MHD parses each into a record of
	 * its own, which the budget counts (from about 200, MHD runs out of
	 * pool while parsing them and closes the connection by itself). */
	{
		char *cookie = calloc(1, 16 * 160 + 16);
		const char *with_cookies[] = {auth42, cookie, NULL};
		size_t off = (size_t)sprintf(cookie, "Cookie: ");

		for (int i = 0; i < 160; i++)
			off += (size_t)sprintf(cookie + off, "%sc%d=v", i ? "; " : "", i);
		call("GET", "/orders", with_cookies, NULL, &r);
		assert_431_problem(&r, "160 cookies");
		free(cookie);
	}
	/* 200 small headers: within the pool, past the budget. */
	many[201] = NULL;
	call("GET", "/orders", many, NULL, &r);
	assert_431_problem(&r, "200 small headers");
	ck_assert_int_eq(ts_stub_requests(), 1);
	free(many);
	free(lines);
}
END_TEST

START_TEST(rate_limited_after_burst)
{
	const char *hdrs[] = {auth42, NULL};
	char *other = ts_bearer("43", "customer");
	const char *other_hdrs[] = {other, NULL};
	char buf[64];
	ts_resp_t r;
	int i;

	/* Burst 5 at 1/s: five pass at once, the sixth waits. */
	for (i = 0; i < 5; i++) {
		call("GET", "/products", hdrs, NULL, &r);
		ck_assert_int_eq(r.status, 200);
		ts_resp_free(&r);
	}
	call("GET", "/products", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(ts_header(&r, "Retry-After", buf, sizeof(buf)));
	ck_assert_int_ge(atoi(buf), 1);
	ck_assert_int_eq(ts_stub_requests(), 5);
	ts_resp_free(&r);
	/* Buckets are per customer. */
	call("GET", "/products", other_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	free(other);
}
END_TEST

/* ---- query parameters ------------------------------------------------------ */

START_TEST(query_parameters_forwarded_per_route)
{
	const char *hdrs[] = {auth42, NULL};
	ts_resp_t r;
	json_t *j, *q;

	call("GET", "/orders?status=PENDING&limit=5&cursor=a%2Bb+c%26d&extra=1", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = ts_json(&r);
	q = json_object_get(j, "query");
	ck_assert_str_eq(json_string_value(json_object_get(q, "status")), "PENDING");
	ck_assert_str_eq(json_string_value(json_object_get(q, "limit")), "5");
	ck_assert_str_eq(json_string_value(json_object_get(q, "cursor")), "a+b c&d");
	ck_assert(json_is_null(json_object_get(q, "extra")));
	json_decref(j);
	ts_resp_free(&r);

	call("GET", "/orders/o-1?wait=5&status=x", hdrs, NULL, &r);
	j = ts_json(&r);
	q = json_object_get(j, "query");
	ck_assert_str_eq(json_string_value(json_object_get(q, "wait")), "5");
	ck_assert(json_is_null(json_object_get(q, "status")));
	json_decref(j);
	ts_resp_free(&r);
}
END_TEST

/* ---- CORS ------------------------------------------------------------------- */

START_TEST(cors_preflight_allowed_origin)
{
	const char *hdrs[] = {"Origin: https://shop.example", "Access-Control-Request-Method: POST",
	                      "Access-Control-Request-Headers: authorization, content-type", NULL};
	char buf[256];
	ts_resp_t r;

	call("OPTIONS", "/orders", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(ts_header(&r, "Access-Control-Allow-Origin", buf, sizeof(buf)),
	                 "https://shop.example");
	ck_assert_ptr_nonnull(ts_header(&r, "Access-Control-Allow-Methods", buf, sizeof(buf)));
	ck_assert_ptr_nonnull(strstr(buf, "POST"));
	ck_assert_ptr_nonnull(strstr(buf, "GET"));
	ck_assert_ptr_nonnull(ts_header(&r, "Access-Control-Allow-Headers", buf, sizeof(buf)));
	ck_assert_ptr_nonnull(strstr(buf, "Authorization"));
	ck_assert_int_eq(ts_stub_requests(), 0);
	ts_resp_free(&r);
}
END_TEST

START_TEST(cors_preflight_other_origin)
{
	const char *hdrs[] = {"Origin: https://evil.example", "Access-Control-Request-Method: GET",
	                      NULL};
	char buf[256];
	ts_resp_t r;

	call("OPTIONS", "/products/x", hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_null(ts_header(&r, "Access-Control-Allow-Origin", buf, sizeof(buf)));
	ts_resp_free(&r);
}
END_TEST

START_TEST(cors_headers_on_proxied_and_refused_answers)
{
	const char *ok[] = {auth42, "Origin: https://shop.example", NULL};
	const char *evil[] = {auth42, "Origin: https://evil.example", NULL};
	const char *noauth[] = {"Origin: https://shop.example", NULL};
	char buf[256];
	ts_resp_t r;

	call("GET", "/orders", ok, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_header(&r, "Access-Control-Allow-Origin", buf, sizeof(buf)),
	                 "https://shop.example");
	ck_assert_ptr_nonnull(ts_header(&r, "Access-Control-Expose-Headers", buf, sizeof(buf)));
	ck_assert_ptr_nonnull(strstr(buf, "X-Request-Id"));
	ts_resp_free(&r);

	call("GET", "/orders", evil, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(ts_header(&r, "Access-Control-Allow-Origin", buf, sizeof(buf)));
	ts_resp_free(&r);

	/* A browser must be able to read the 401 too. */
	call("GET", "/orders", noauth, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(ts_header(&r, "Access-Control-Allow-Origin", buf, sizeof(buf)),
	                 "https://shop.example");
	ts_resp_free(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway protection");
	TCase *tc = tcase_create("protection");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, refused_before_upstream, 0,
	                    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, oversized_body_is_413);
	tcase_add_test(tc, oversized_headers_are_431);
	tcase_add_test(tc, rate_limited_after_burst);
	tcase_add_test(tc, query_parameters_forwarded_per_route);
	tcase_add_test(tc, cors_preflight_allowed_origin);
	tcase_add_test(tc, cors_preflight_other_origin);
	tcase_add_test(tc, cors_headers_on_proxied_and_refused_answers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return ts_run_suite(suite());
}
