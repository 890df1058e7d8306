/*
 * Tests for the gateway's own endpoints and life cycle (src/app.c,
 * src/routers/docs.c): /readyz follows the upstreams' /healthz,
 * bounded when they hang, /metrics has the families DESIGN.md asks for, /openapi.json describes
 * exactly the routes the gateway serves, /docs is a self-contained page, a
 * stop lets requests already with an upstream finish, and overload is 503.
 */
#include "app.h"
#include "routers/api.h"
#include "support/gw_support.h"

#include "support/check_main.h"
#include "support/silent_server.h"
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ts_stub_t orders, inventory;
static gw_settings_t settings;
static gw_app_t *gw;
static char base[64];
static char *auth42;

static void setup(void)
{
	ts_stub_start(&orders);
	ts_stub_start(&inventory);
	ts_settings(&settings, orders.url, inventory.url);
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

static void get(const char *path, const char *const *hdrs, ts_resp_t *r)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", base, path);
	ts_http("GET", url, hdrs, NULL, r);
}

START_TEST(readyz_follows_upstreams)
{
	gw_settings_t s;
	gw_app_t *g;
	char b[64], url[128];
	ts_resp_t r;
	json_t *j, *checks;

	get("/readyz", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	/* Nothing listens on port 1: that upstream is down. */
	ts_settings(&s, orders.url, "http://127.0.0.1:1");
	g = ts_gateway(&s, b);
	snprintf(url, sizeof(url), "%s/readyz", b);
	ts_http("GET", url, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	j = ts_json(&r);
	checks = json_object_get(j, "checks");
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_object_get(checks, "inventory-service"), "status")),
	                 "fail");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(checks, "order-service"),
	                                                   "status")),
	                 "ok");
	json_decref(j);
	ts_resp_free(&r);
	snprintf(url, sizeof(url), "%s/healthz", b);
	ts_http("GET", url, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	gw_app_free(g);
}
END_TEST

/* Upstreams that accept connections and never answer: /readyz says not
 * ready, naming both, within their UPSTREAM_READY_TIMEOUT_MS each instead of
 * hanging (and /healthz still answers). */
START_TEST(readyz_with_silent_upstreams_is_bounded)
{
	ts_silent_t *silent = ts_silent_start();
	struct timespec t0, t1;
	gw_settings_t s;
	gw_app_t *g;
	char b[64], up[64], url[128];
	ts_resp_t r;
	json_t *j, *checks;

	snprintf(up, sizeof(up), "http://127.0.0.1:%u", (unsigned)ts_silent_port(silent));
	ts_settings(&s, up, up);
	s.ready_timeout_ms = 300;
	g = ts_gateway(&s, b);
	snprintf(url, sizeof(url), "%s/readyz", b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts_http("GET", url, NULL, NULL, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "/readyz with two silent upstreams: %ld in %.3f s (300 ms each)\n",
	        r.status,
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ck_assert_int_eq(r.status, 503);
	j = ts_json(&r);
	checks = json_object_get(j, "checks");
	for (int i = 0; i < 2; i++) {
		json_t *c = json_object_get(checks, i == 0 ? "order-service" : "inventory-service");

		ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "fail");
		ck_assert_msg(strstr(json_string_value(json_object_get(c, "error")), "Timeout") !=
		                      NULL,
		              "%s", json_string_value(json_object_get(c, "error")));
	}
	json_decref(j);
	ts_resp_free(&r);
	gw_app_free(g);
	ts_silent_stop(silent);
}
END_TEST

START_TEST(metrics_families)
{
	static const char *const families[] = {
	        "http_requests_total{route=\"/orders\",code=\"200\"} 1",
	        "http_requests_total{route=\"/orders\",code=\"401\"} 1",
	        "http_request_duration_seconds_bucket{route=\"/orders\"",
	        "auth_rejections_total{reason=\"missing\"} 1",
	        "upstream_connections_opened_total{upstream=\"order-service\"} 1",
	        "# TYPE upstream_errors_total counter",
	};
	const char *hdrs[] = {auth42, NULL};
	ts_resp_t r;

	get("/orders", hdrs, &r);
	ts_resp_free(&r);
	get("/orders", NULL, &r);
	ts_resp_free(&r);
	get("/metrics", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		ck_assert_msg(strstr(r.body, families[i]) != NULL, "missing %s", families[i]);
	ts_resp_free(&r);
}
END_TEST

static bool served(const char *method, const char *path)
{
	static const char *const builtin[] = {"/healthz", "/readyz", "/metrics", "/openapi.json",
	                                      "/docs"};

	for (size_t i = 0; i < gw_nroutes; i++) {
		if (strcasecmp(gw_routes[i].method, method) == 0 &&
		    strcmp(gw_routes[i].pattern, path) == 0)
			return true;
	}
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (strcasecmp(method, "get") == 0 && strcmp(builtin[i], path) == 0)
			return true;
	}
	return false;
}

/* Both directions: every documented operation is served, every served
 * route is documented (with a 401 answer when it needs a token). */
START_TEST(openapi_matches_routes)
{
	static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head"};
	ts_resp_t r;
	json_t *doc, *paths, *ops;
	const char *path;
	size_t documented = 0;

	get("/openapi.json", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	doc = ts_json(&r);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "openapi")));
	ck_assert_int_eq(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.", 2), 0);
	ck_assert_ptr_nonnull(json_object_get(
	        json_object_get(json_object_get(doc, "components"), "schemas"), "Problem"));
	paths = json_object_get(doc, "paths");
	json_object_foreach(paths, path, ops)
	{
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			if (json_object_get(ops, methods[m]) == NULL)
				continue;
			ck_assert_msg(served(methods[m], path), "%s %s is documented, not served",
			              methods[m], path);
			documented++;
		}
	}
	for (size_t i = 0; i < gw_nroutes; i++) {
		char m[16];
		json_t *op;

		snprintf(m, sizeof(m), "%s", gw_routes[i].method);
		for (char *p = m; *p; p++)
			*p = (char)(*p - 'A' + 'a');
		op = json_object_get(json_object_get(paths, gw_routes[i].pattern), m);
		ck_assert_msg(op != NULL, "%s %s is served, not documented", gw_routes[i].method,
		              gw_routes[i].pattern);
		ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "401"));
	}
	ck_assert_uint_eq(documented, gw_nroutes + 5);
	json_decref(doc);
	ts_resp_free(&r);
}
END_TEST

START_TEST(docs_page_is_self_contained)
{
	char buf[256];
	ts_resp_t r;

	get("/docs", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(ts_header(&r, "Content-Type", buf, sizeof(buf)));
	ck_assert_ptr_nonnull(strstr(buf, "text/html"));
	ck_assert_ptr_nonnull(strstr(r.body, "openapi.json"));
	/* Nothing from elsewhere: no external scripts, styles or fonts. */
	ck_assert_ptr_null(strstr(r.body, "http://"));
	ck_assert_ptr_null(strstr(r.body, "https://"));
	ck_assert_ptr_null(strstr(r.body, "src="));
	ts_resp_free(&r);
}
END_TEST

struct slow_call {
	char url[128];
	const char *auth;
	long status;
};

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
	(void)data;
	(void)ud;
	return size * n;
}

static void *slow_get(void *arg)
{
	struct slow_call *c = arg;
	const char *hdrs[] = {c->auth, NULL};
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, hdrs[0]);

	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return NULL;
}

static void wait_for_stub_requests(long n)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};

	for (int i = 0; i < 1000 && ts_stub_requests() < n; i++)
		nanosleep(&tick, NULL);
	ck_assert_int_ge(ts_stub_requests(), n);
}

/* A stop while a request is with the upstream waits for its answer. */
START_TEST(stop_drains_requests_in_flight)
{
	struct slow_call c = {.auth = auth42};
	pthread_t t;

	snprintf(c.url, sizeof(c.url), "%s/orders/slow", base);
	ck_assert_int_eq(pthread_create(&t, NULL, slow_get, &c), 0);
	wait_for_stub_requests(1);
	gw_app_stop(gw);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.status, 200);
}
END_TEST

START_TEST(overload_is_503)
{
	struct slow_call c = {.auth = auth42};
	const char *hdrs[] = {auth42, NULL};
	gw_settings_t s;
	gw_app_t *g;
	char b[64], url[128], buf[32];
	pthread_t t;
	ts_resp_t r;

	ts_settings(&s, orders.url, inventory.url);
	s.max_inflight = 1;
	g = ts_gateway(&s, b);
	snprintf(c.url, sizeof(c.url), "%s/orders/slow", b);
	ck_assert_int_eq(pthread_create(&t, NULL, slow_get, &c), 0);
	wait_for_stub_requests(1);
	snprintf(url, sizeof(url), "%s/orders", b);
	ts_http("GET", url, hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(ts_header(&r, "Retry-After", buf, sizeof(buf)));
	ts_resp_free(&r);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.status, 200);
	gw_app_free(g);
}
END_TEST

START_TEST(bad_openapi_file_refused)
{
	gw_settings_t s;
	char err[512];

	ts_settings(&s, orders.url, inventory.url);
	s.openapi_file = "api-gateway/src/main.c";
	ck_assert_ptr_null(gw_app_new(&s, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "OpenAPI"));
	s.openapi_file = "/nonexistent/openapi.json";
	ck_assert_ptr_null(gw_app_new(&s, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/openapi.json"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway endpoints");
	TCase *tc = tcase_create("endpoints");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, readyz_follows_upstreams);
	tcase_add_test(tc, readyz_with_silent_upstreams_is_bounded);
	tcase_add_test(tc, metrics_families);
	tcase_add_test(tc, openapi_matches_routes);
	tcase_add_test(tc, docs_page_is_self_contained);
	tcase_add_test(tc, stop_drains_requests_in_flight);
	tcase_add_test(tc, overload_is_503);
	tcase_add_test(tc, bad_openapi_file_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return ts_run_suite(suite());
}
