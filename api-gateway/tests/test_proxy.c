/*
 * Tests for the forwarding path (src/routers/api.c, src/services/upstream.c):
 * a real gateway in the test process in front of stub upstreams served by
 * the common HTTP server. Methods, bodies, statuses, problem documents and
 * headers pass through; identity headers cannot be forged; request ids and
 * traceparent propagate; refused and silent upstreams give 502 and 504;
 * upstream connections are reused.
 */
#include "app.h"
#include "eda/event.h"
#include "services/upstream.h"
#include "support/gw_support.h"

#include "support/check_main.h"
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static ts_stub_t orders, inventory;
static gw_settings_t settings;
static gw_app_t *gw;
static char base[64];
static char *admin_auth, *customer_auth;

static void setup(void)
{
	ts_stub_start(&orders);
	ts_stub_start(&inventory);
	ts_settings(&settings, orders.url, inventory.url);
	gw = ts_gateway(&settings, base);
	admin_auth = ts_bearer("1", "admin");
	customer_auth = ts_bearer("42", "customer");
}

static void teardown(void)
{
	gw_app_free(gw);
	/* The stubs are left to the end of this (forked) test process; see
	 * ts_stub_stop. */
	free(admin_auth);
	free(customer_auth);
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

/* ---- pass-through ------------------------------------------------------- */

static const struct pass_case {
	const char *method, *path, *body;
	long status;
	const char *upstream_route; /* NULL: the answer is not the echo */
	const char *content_type;
} passes[] = {
        {"GET", "/orders", NULL, 200, "/orders", "application/json"},
        {"POST", "/orders", "{\"items\":[{\"sku\":\"a\",\"quantity\":1}]}", 201, "/orders",
         "application/json"},
        {"GET", "/orders/o-1", NULL, 200, "/orders/{id}", "application/json"},
        {"POST", "/orders/o-1/cancel", NULL, 201, "/orders/{id}/cancel", "application/json"},
        {"GET", "/products", NULL, 200, "/products", "application/json"},
        {"GET", "/products/sku-%C3%A9", NULL, 200, "/products/{sku}", "application/json"},
        {"GET", "/products/sku-\xC3\xA9", NULL, 200, "/products/{sku}", "application/json"},
        {"PUT", "/products/sku-1", "{\"name\":\"n\",\"price\":\"1.00\",\"stock\":3}", 200,
         "/products/{sku}", "application/json"},
        {"POST", "/products/sku-1/restock", "{\"quantity\":2}", 201, "/products/{sku}/restock",
         "application/json"},
        {"GET", "/orders/status-404", NULL, 404, NULL, "application/problem+json"},
        {"GET", "/orders/status-422", NULL, 422, NULL, "application/problem+json"},
        {"GET", "/orders/status-409", NULL, 409, NULL, "application/problem+json"},
        {"GET", "/orders/status-503", NULL, 503, NULL, "application/problem+json"},
        {"GET", "/orders/status-204", NULL, 204, NULL, NULL},
        {"HEAD", "/orders/o-1", NULL, 200, NULL, "application/json"},
};

static void check_pass(const struct pass_case *c)
{
	const char *hdrs[] = {admin_auth, "Content-Type: application/json", NULL};
	char url[256], buf[256];
	ts_resp_t r;

	snprintf(url, sizeof(url), "%s%s", base, c->path);
	ts_http(c->method, url, hdrs, c->body, &r);
	ck_assert_msg(r.status == c->status, "%s %s: %ld %s", c->method, c->path, r.status, r.body);
	if (c->content_type != NULL)
		ck_assert_str_eq(ts_header(&r, "Content-Type", buf, sizeof(buf)), c->content_type);
	if (c->upstream_route != NULL) {
		json_t *j = ts_json(&r);

		ck_assert_str_eq(jstr(j, "method", NULL), c->method);
		ck_assert_str_eq(jstr(j, "route", NULL), c->upstream_route);
		ck_assert_str_eq(jstr(j, "body", NULL), c->body != NULL ? c->body : "");
		/* The path reaches the upstream as the client sent it (raw
		 * UTF-8 percent-encoded on the way, in either case). */
		ck_assert_msg(strcasecmp(jstr(j, "path", NULL), strstr(c->path, "\xC3")
		                                                        ? "/products/sku-%C3%A9"
		                                                        : c->path) == 0,
		              "%s", jstr(j, "path", NULL));
		ck_assert_str_eq(ts_header(&r, "Location", buf, sizeof(buf)), "/orders/123");
		ck_assert_str_eq(ts_header(&r, "ETag", buf, sizeof(buf)), "\"v1\"");
		ck_assert_str_eq(ts_header(&r, "X-Upstream", buf, sizeof(buf)), "stub");
		/* Hop-by-hop headers of the upstream stay there. */
		ck_assert_ptr_null(ts_header(&r, "Keep-Alive", buf, sizeof(buf)));
		ck_assert_ptr_null(ts_header(&r, "Proxy-Authenticate", buf, sizeof(buf)));
		ck_assert_ptr_null(ts_header(&r, "X-Hop", buf, sizeof(buf)));
		json_decref(j);
	}
	if (c->status == 422) {
		json_t *j = ts_json(&r);

		ck_assert_str_eq(jstr(j, "detail", NULL), "stub problem");
		ck_assert_int_eq(json_array_size(json_object_get(j, "errors")), 1);
		json_decref(j);
	}
	if (strcmp(c->method, "HEAD") == 0 || c->status == 204)
		ck_assert_uint_eq(r.len, 0);
	ts_resp_free(&r);
}

START_TEST(pass_through)
{
	check_pass(&passes[_i]);
}
END_TEST

/* The engine recycles its libcurl handles, so a request must not inherit
 * anything of the one before it on the same handle (a HEAD's "no body", a
 * POST's body or a PUT's method word): every case after every other,
 * forwards and backwards, in one process. */
START_TEST(methods_do_not_leak_between_requests)
{
	size_t n = sizeof(passes) / sizeof(passes[0]);

	for (size_t i = 0; i < n; i++)
		check_pass(&passes[i]);
	for (size_t i = n; i > 0; i--)
		check_pass(&passes[i - 1]);
}
END_TEST

/* GET /orders through the gateway with HDRS: what the stub upstream echoed
 * of the request it got. */
static json_t *upstream_echo(const char *const *hdrs)
{
	char url[128];
	ts_resp_t r;
	json_t *j;

	snprintf(url, sizeof(url), "%s/orders", base);
	ts_http("GET", url, hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = ts_json(&r);
	ts_resp_free(&r);
	return j;
}

/* ---- identity ------------------------------------------------------------ */

START_TEST(identity_headers_cannot_be_forged)
{
	const char *hdrs[] = {customer_auth,
	                      "X-Customer-Id: 1",
	                      "X-Customer-Email: boss@example.com",
	                      "X-Roles: admin",
	                      "x-customer-id: 2",
	                      "X-Forwarded-Evil: 1",
	                      "Cookie: session=1",
	                      NULL};
	json_t *j = upstream_echo(hdrs);

	ck_assert_str_eq(jstr(j, "headers", "x-customer-id"), "42");
	ck_assert_str_eq(jstr(j, "headers", "x-customer-email"), "someone@example.com");
	ck_assert_str_eq(jstr(j, "headers", "x-roles"), "customer");
	/* Neither the token nor unknown or hop-by-hop headers go upstream. */
	ck_assert(json_is_null(json_object_get(json_object_get(j, "headers"), "authorization")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "headers"), "x-forwarded-evil")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "headers"), "cookie")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "headers"), "expect")));
	json_decref(j);
}
END_TEST

/* An empty Idempotency-Key reaches the service (which refuses it) instead of
 * vanishing on the way ("Name;" is how libcurl sends an empty header). */
START_TEST(empty_forwarded_header_stays_empty)
{
	const char *hdrs[] = {customer_auth, "Idempotency-Key;", NULL};
	json_t *j = upstream_echo(hdrs);

	ck_assert_str_eq(jstr(j, "headers", "idempotency-key"), "");
	json_decref(j);
}
END_TEST

START_TEST(forbidden_without_admin_role)
{
	const char *hdrs[] = {customer_auth, "Content-Type: application/json", NULL};
	char url[128], buf[256];
	ts_resp_t r;

	snprintf(url, sizeof(url), "%s/products/sku-1", base);
	ts_http("PUT", url, hdrs, "{\"name\":\"x\",\"price\":\"1.00\",\"stock\":1}", &r);
	ck_assert_int_eq(r.status, 403);
	ck_assert_str_eq(ts_header(&r, "Content-Type", buf, sizeof(buf)),
	                 "application/problem+json");
	ck_assert_int_eq(ts_stub_requests(), 0);
	ts_resp_free(&r);
}
END_TEST

/* ---- request id and trace context --------------------------------------- */

START_TEST(request_id_propagates)
{
	const char *given[] = {customer_auth, "X-Request-Id: req-abc-123", NULL};
	const char *none[] = {customer_auth, NULL};
	char url[128], buf[256];
	ts_resp_t r;
	json_t *j;

	snprintf(url, sizeof(url), "%s/orders/o-1", base);
	ts_http("GET", url, given, NULL, &r);
	j = ts_json(&r);
	ck_assert_str_eq(ts_header(&r, "X-Request-Id", buf, sizeof(buf)), "req-abc-123");
	ck_assert_str_eq(jstr(j, "headers", "x-request-id"), "req-abc-123");
	json_decref(j);
	ts_resp_free(&r);

	ts_http("GET", url, none, NULL, &r);
	j = ts_json(&r);
	ck_assert_ptr_nonnull(ts_header(&r, "X-Request-Id", buf, sizeof(buf)));
	ck_assert_uint_eq(strlen(buf), 36);
	ck_assert_str_eq(jstr(j, "headers", "x-request-id"), buf);
	json_decref(j);
	ts_resp_free(&r);
}
END_TEST

START_TEST(traceparent_continued)
{
	const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	char tph[128];
	const char *hdrs[] = {customer_auth, tph, "tracestate: vendor=1", NULL};
	const char *up;
	json_t *j;

	snprintf(tph, sizeof(tph), "traceparent: %s", tp);
	j = upstream_echo(hdrs);
	up = jstr(j, "headers", "traceparent");
	ck_assert(eda_traceparent_valid(up));
	ck_assert_int_eq(strncmp(up, tp, 36), 0);           /* same version and trace id */
	ck_assert_int_ne(strncmp(up + 36, tp + 36, 16), 0); /* the gateway's own span */
	ck_assert_str_eq(up + 52, "-01");
	ck_assert_str_eq(jstr(j, "headers", "tracestate"), "vendor=1");
	json_decref(j);
}
END_TEST

START_TEST(traceparent_started)
{
	static const char *const bad[] = {
	        NULL,
	        "traceparent: garbage",
	        "traceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01",
	        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
	        "traceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *hdrs[] = {customer_auth, bad[i], "tracestate: vendor=1", NULL};
		const char *up;
		json_t *j;

		if (bad[i] == NULL)
			hdrs[1] = "X-Nothing: 1";
		j = upstream_echo(hdrs);
		up = jstr(j, "headers", "traceparent");
		ck_assert_msg(eda_traceparent_valid(up), "case %zu: %s", i, up ? up : "none");
		ck_assert_str_ne(up + 3, "0af7651916cd43dd8448eb211c80319c");
		/* tracestate belongs to the trace it came with. */
		ck_assert(
		        json_is_null(json_object_get(json_object_get(j, "headers"), "tracestate")));
		json_decref(j);
	}
}
END_TEST

/* ---- upstream failures --------------------------------------------------- */

START_TEST(refused_upstream_is_502)
{
	const char *hdrs[] = {customer_auth, NULL};
	gw_settings_t s;
	gw_app_t *g;
	char b[64], url[128], buf[256], *metrics;
	ts_resp_t r;
	json_t *j;

	/* Port 1 on loopback: nothing listens there, the connect is refused. */
	ts_settings(&s, "http://127.0.0.1:1", inventory.url);
	g = ts_gateway(&s, b);
	snprintf(url, sizeof(url), "%s/orders", b);
	ts_http("GET", url, hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 502);
	ck_assert_str_eq(ts_header(&r, "Content-Type", buf, sizeof(buf)),
	                 "application/problem+json");
	j = ts_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 502);
	ck_assert_ptr_nonnull(jstr(j, "detail", NULL));
	json_decref(j);
	ts_resp_free(&r);
	metrics = eda_metrics_render(gw_app_metrics(g), NULL);
	ck_assert_ptr_nonnull(strstr(
	        metrics, "upstream_errors_total{upstream=\"order-service\",kind=\"refused\"} 1"));
	free(metrics);
	gw_app_free(g);
}
END_TEST

START_TEST(silent_upstream_is_504)
{
	const char *hdrs[] = {customer_auth, NULL};
	gw_settings_t s;
	gw_app_t *g;
	char b[64], url[128], buf[256];
	ts_resp_t r;

	ts_settings(&s, orders.url, inventory.url);
	s.upstream_timeout_ms = 300; /* the stub's "slow" takes 1.5 s */
	g = ts_gateway(&s, b);
	snprintf(url, sizeof(url), "%s/orders/slow", b);
	ts_http("GET", url, hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 504);
	ck_assert_str_eq(ts_header(&r, "Content-Type", buf, sizeof(buf)),
	                 "application/problem+json");
	ts_resp_free(&r);
	gw_app_free(g);
}
END_TEST

/* ---- keep-alive ------------------------------------------------------------ */

START_TEST(upstream_connections_reused)
{
	const char *hdrs[] = {customer_auth, NULL};
	char url[128];

	snprintf(url, sizeof(url), "%s/orders/o-1", base);
	for (int i = 0; i < 20; i++) {
		ts_resp_t r;

		ts_http("GET", url, hdrs, NULL, &r);
		ck_assert_int_eq(r.status, 200);
		ts_resp_free(&r);
	}
	ck_assert_int_eq(ts_stub_requests(), 20);
	/* Counted where the upstream accepts, and as libcurl reports it. */
	ck_assert_int_eq(ts_accepts_on(orders.port), 1);
	ck_assert_int_eq(gw_upstream_connections_opened(gw_app_upstream(gw)), 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway proxy");
	TCase *tc = tcase_create("proxy");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, pass_through, 0, (int)(sizeof(passes) / sizeof(passes[0])));
	tcase_add_test(tc, methods_do_not_leak_between_requests);
	tcase_add_test(tc, identity_headers_cannot_be_forged);
	tcase_add_test(tc, empty_forwarded_header_stays_empty);
	tcase_add_test(tc, forbidden_without_admin_role);
	tcase_add_test(tc, request_id_propagates);
	tcase_add_test(tc, traceparent_continued);
	tcase_add_test(tc, traceparent_started);
	tcase_add_test(tc, refused_upstream_is_502);
	tcase_add_test(tc, silent_upstream_is_504);
	tcase_add_test(tc, upstream_connections_reused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return ts_run_suite(suite());
}
