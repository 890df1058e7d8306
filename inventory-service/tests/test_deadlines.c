/*
 * Deadlines on MongoDB (config/database.c, routers/products.c): against a
 * server that accepts connections and never answers (ts_silent_start), the
 * products API answers 503 with a problem document and Retry-After, /readyz
 * says not ready within 2 s, and a consumer's batch fails instead of waiting
 * (mongo-c-driver's own socket deadline is 5 minutes). The services are
 * wired as src/app.c wires them: the real routes and readiness check on the
 * real HTTP server, on a pool opened with a short MONGODB_TIMEOUT_MS.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "config/database.h"
#include "eda/http.h"
#include "eda/log.h"
#include "routers/products.h"
#include "services/reservation.h"
#include "support/check_main.h"
#include "support/inv_support.h"
#include "support/silent_server.h"

/* The request deadline the tests give the pool. */
#define TIMEOUT_MS 500

typedef struct hung {
	ts_silent_t *silent;
	inv_ctx_t ctx;
	eda_http_server_t *http;
} hung_t;

static int mongo_ready(void *ctx, char *err, size_t errsz)
{
	return inv_db_ping(ctx, err, errsz);
}

static void up(hung_t *h)
{
	char url[128], err[256];

	h->silent = ts_silent_start();
	snprintf(url, sizeof(url), "mongodb://127.0.0.1:%u/inventory", ts_silent_port(h->silent));
	memset(&h->ctx, 0, sizeof(h->ctx));
	h->ctx.db = inv_db_open(url, NULL, 4, TIMEOUT_MS, err, sizeof(err));
	ck_assert_msg(h->ctx.db != NULL, "%s", err);
	h->ctx.store_currency = "EUR";
	h->http = eda_http_server_new(&(eda_http_config_t){.bind_addr = "127.0.0.1",
	                                                   .port = 0,
	                                                   .threads = 2,
	                                                   .service = "test-deadlines"},
	                              err, sizeof(err));
	ck_assert_msg(h->http != NULL, "%s", err);
	ck_assert_int_eq(inv_products_routes(h->http, &h->ctx), 0);
	ck_assert_int_eq(eda_http_add_ready_check(h->http, "mongodb", mongo_ready, h->ctx.db), 0);
	ck_assert_msg(eda_http_server_start(h->http, err, sizeof(err)) == 0, "%s", err);
}

static void down(hung_t *h)
{
	eda_http_server_free(h->http);
	inv_db_close(h->ctx.db);
	ts_silent_stop(h->silent);
}

typedef struct answer {
	long status;
	char content_type[128];
	char retry_after[32];
	char body[4096];
	size_t len;
} answer_t;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	answer_t *a = ctx;
	size_t len = size * n, room = sizeof(a->body) - 1 - a->len;

	memcpy(a->body + a->len, p, len < room ? len : room);
	a->len += len < room ? len : room;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	answer_t *a = ctx;
	size_t len = size * n;

	if (len > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		snprintf(a->retry_after, sizeof(a->retry_after), "%.*s",
		         (int)strcspn(p + 13, "\r\n"), p + 13);
	return len;
}

/* GET PATH within DEADLINE_S (a hang fails the test), as a customer. */
static void get(const hung_t *h, const char *path, long deadline_s, answer_t *a)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "X-Customer-Id: user-1");
	char url[256];
	char *ct = NULL;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", eda_http_server_port(h->http), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, deadline_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "GET %s: %s", path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(a->content_type, sizeof(a->content_type), "%s", ct != NULL ? ct : "");
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
}

/* The products API's reads on a hung server: 503 problem documents that tell
 * the client when to come back, not a hang. */
static const char *const product_paths[] = {"/products/SKU-1", "/products?limit=5"};

START_TEST(a_hung_database_is_a_fast_503_with_retry_after)
{
	hung_t h;
	answer_t a;
	json_t *doc;

	up(&h);
	/* Server selection, then the request, each bounded by TIMEOUT_MS:
	 * 10 s only tells a deadline (well under a second here) from the
	 * driver's 5 minutes. */
	get(&h, product_paths[_i], 10, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(a.content_type, "application/problem+json");
	ck_assert_str_eq(a.retry_after, "2");
	doc = json_loadb(a.body, a.len, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), 503);
	json_decref(doc);
	ck_assert_int_ge(ts_silent_accepted(h.silent), 1);
	down(&h);
}
END_TEST

/* /readyz has its own client with a 1 s deadline, so it says not ready
 * within 2 s whatever MONGODB_TIMEOUT_MS is, also while requests hold the
 * pool. */
START_TEST(readyz_says_not_ready_within_two_seconds)
{
	hung_t h;
	answer_t a;

	up(&h);
	for (int i = 0; i < 2; i++) {
		get(&h, "/readyz", 2, &a);
		ck_assert_int_eq(a.status, 503);
		ck_assert_ptr_nonnull(strstr(a.body, "mongodb"));
	}
	down(&h);
}
END_TEST

/* A consumer's batch fails (and is handed back for a retry) instead of
 * holding the consumer. */
START_TEST(a_batch_fails_instead_of_waiting)
{
	hung_t h;
	const char *skus[] = {"SKU-1"};
	int qty[] = {1};
	char *v = ts_order_placed("order-1", 1, skus, qty), err[256] = "";
	eda_event_t *ev = NULL;

	up(&h);
	ck_assert_int_eq(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)), 0);
	ck_assert_int_eq(
	        inv_reserve_orders(&h.ctx, (const eda_event_t *const *)&ev, 1, err, sizeof(err)),
	        -1);
	ck_assert_str_ne(err, "");
	eda_event_free(ev);
	free(v);
	down(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_deadlines");
	TCase *tc = tcase_create("deadlines");

	eda_log_init("test-deadlines", EDA_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_ALL);
	/* Generous: each test is bounded by a few TIMEOUT_MS; the driver's own
	 * default would take 5 minutes. */
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, a_hung_database_is_a_fast_503_with_retry_after, 0,
	                    sizeof(product_paths) / sizeof(product_paths[0]));
	tcase_add_test(tc, readyz_says_not_ready_within_two_seconds);
	tcase_add_test(tc, a_batch_fails_instead_of_waiting);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
