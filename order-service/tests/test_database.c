/*
 * Tests for the deadlines of src/config/database.c and src/utils/pg.c, alone
 * and through the daemon in-process: a PostgreSQL that accepts connections
 * and never answers (ts_silent_start) fails a connect, a checkout and the
 * readiness probe within the setting, and stops the daemon's start-up with an
 * error instead of a hang; a PostgreSQL that hangs while the daemon runs (the
 * real server behind a proxy the test freezes) turns every route into a 503
 * problem with Retry-After, /readyz into 503, a waiting long-poll into a 503
 * at its deadline, and the daemon recovers by itself once the server answers
 * again. Durations are printed, not asserted: a hang shows as the test's
 * timeout.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/database.h"
#include "eda/log.h"
#include "support/check_main.h"
#include "support/freeze_proxy.h"
#include "support/kafka_support.h"
#include "support/os_support.h"
#include "support/silent_server.h"
#include "utils/pg.h"

#define TIMEOUT_MS 400
#define BODY                                                                                       \
	"{\"items\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"unit_price\":\"5.00\"}],\"currency\":"    \
	"\"EUR\"}"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void silent_url(const ts_silent_t *s, char *out, size_t outsz)
{
	snprintf(out, outsz, "postgresql://eda@127.0.0.1:%u/none", (unsigned)ts_silent_port(s));
}

START_TEST(test_connect_to_silent_server_is_bounded)
{
	ts_silent_t *s = ts_silent_start();
	char url[128], err[256] = "";
	double t0 = now_s();
	PGconn *c;

	silent_url(s, url, sizeof(url));
	c = os_db_connect(url, TIMEOUT_MS, err, sizeof(err));
	fprintf(stderr, "connect to a silent server: %.3f s (timeout %d ms)\n", now_s() - t0,
	        TIMEOUT_MS);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "no answer from PostgreSQL within 400 ms") != NULL, "%s", err);
	ck_assert_int_ge(ts_silent_accepted(s), 1); /* it was reached, then it was silent */
	ts_silent_stop(s);
}
END_TEST

START_TEST(test_pool_and_probe_on_silent_server_fail)
{
	ts_silent_t *s = ts_silent_start();
	char url[128], err[256] = "";
	os_db_pool_t *p;
	double t0;

	silent_url(s, url, sizeof(url));
	p = os_db_pool_new(url, 2, 5000);
	t0 = now_s();
	/* The probe's budget bounds the connect too, not only the query. */
	ck_assert_int_eq(os_db_probe(p, 300, err, sizeof(err)), -1);
	fprintf(stderr, "readiness probe on a silent server: %.3f s (budget 300 ms)\n",
	        now_s() - t0);
	ck_assert_msg(strstr(err, "within 300 ms") != NULL, "%s", err);
	os_db_pool_free(p);
	ts_silent_stop(s);
}
END_TEST

START_TEST(test_start_with_silent_database_fails)
{
	ts_silent_t *s = ts_silent_start();
	os_settings_t cfg;
	eda_env_t env;
	os_app_t app;
	char url[128], err[512] = "";
	double t0;

	silent_url(s, url, sizeof(url));
	setenv("DATABASE_URL", url, 1);
	setenv("DATABASE_TIMEOUT_MS", "400", 1);
	setenv("KAFKA_BOOTSTRAP_SERVERS", ts_bootstrap(), 1);
	eda_env_init(&env);
	os_settings_load(&cfg, &env);
	ck_assert_msg(!env.failed, "%s", env.err);
	t0 = now_s();
	ck_assert_int_eq(os_app_start(&app, &cfg, err, sizeof(err)), -1);
	fprintf(stderr, "start-up against a silent database: %.3f s\n", now_s() - t0);
	ck_assert_msg(strstr(err, "no answer from PostgreSQL within 400 ms") != NULL, "%s", err);
	ts_silent_stop(s);
}
END_TEST

/* A statement that takes longer than the deadline on a server that is alive
 * ends by statement_timeout (server side): an error, and the session stays
 * usable. */
START_TEST(test_slow_statement_keeps_the_session)
{
	char err[256] = "";
	PGconn *c = os_db_connect(ost_database_url(), TIMEOUT_MS, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(os_pg_cmd(c, "SELECT pg_sleep(5)", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "statement timeout") != NULL ||
	                      strstr(err, "no answer within") != NULL,
	              "%s", err);
	if (strstr(err, "statement timeout") != NULL) {
		ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
		ck_assert_int_eq(os_pg_cmd(c, "SELECT 1", err, sizeof(err)), 0);
	}
	PQfinish(c);
}
END_TEST

/* ---- a database that hangs while the daemon runs ---------------------------- */

static ost_proxy_t *proxy;
static os_app_t app;
static unsigned short port;

static void start_behind_proxy(void)
{
	char host[64], url[512];
	unsigned short pg_port;

	ost_url_host_port(ost_database_url(), host, sizeof(host), &pg_port);
	proxy = ost_proxy_start(host, pg_port);
	ost_proxy_url(proxy, ost_database_url(), url, sizeof(url));
	setenv("DATABASE_URL", url, 1);
	setenv("DATABASE_TIMEOUT_MS", "400", 1);
	setenv("DATABASE_READY_TIMEOUT_MS", "300", 1);
	setenv("DB_POOL_WAIT_MS", "400", 1);
	setenv("CONSUMERS_ENABLED", "false", 1);
	ost_app_start(&app);
	ost_catalogue_put("SKU-1", "5.00", "EUR");
	port = os_app_port(&app);
}

static void stop_behind_proxy(void)
{
	ost_proxy_freeze(proxy, false);
	os_app_stop(&app);
	ost_proxy_stop(proxy);
	setenv("DATABASE_URL", ost_database_url(), 1);
}

/* R is a 503 problem document, with Retry-After if RETRY (a probe's answer
 * needs none). */
static void assert_503(const ost_resp_t *r, const char *what, double took, bool retry_after)
{
	char ct[128], retry[32];

	fprintf(stderr, "%s with PostgreSQL hung: %ld in %.3f s\n", what, r->status, took);
	ck_assert_msg(r->status == 503, "%s: %ld %s", what, r->status, r->body);
	ost_header(r, "Content-Type", ct, sizeof(ct));
	ck_assert_msg(strncmp(ct, "application/problem+json", 24) == 0, "%s: %s", what, ct);
	ost_header(r, "Retry-After", retry, sizeof(retry));
	ck_assert_msg(!retry_after || retry[0] != '\0', "%s: no Retry-After", what);
}

struct long_poll {
	char path[128];
	ost_resp_t resp;
	double took;
};

static void *long_poll(void *arg)
{
	struct long_poll *lp = arg;
	double t0 = now_s();

	ost_get(&lp->resp, port, "hung-c1", NULL, lp->path);
	lp->took = now_s() - t0;
	return NULL;
}

START_TEST(test_hung_database_gives_fast_503s)
{
	const char *h[] = {"Content-Type: application/json", "X-Customer-Id: hung-c1",
	                   "X-Customer-Email: ada@example.com", NULL};
	struct long_poll lp = {.took = 0};
	char id[37], path[128];
	pthread_t t;
	ost_resp_t r;
	double t0;

	start_behind_proxy();
	ost_place(port, "hung-c1", BODY, id);
	snprintf(path, sizeof(path), "/orders/%s", id);

	/* A long-poll already waiting when the database hangs. */
	snprintf(lp.path, sizeof(lp.path), "/orders/%s?wait=1", id);
	ck_assert_int_eq(pthread_create(&t, NULL, long_poll, &lp), 0);
	while (os_waiters_count(app.waiters) == 0)
		usleep(10000);
	ost_proxy_freeze(proxy, true);
	pthread_join(t, NULL);
	assert_503(&lp.resp, "long-poll ?wait=1 (registered before the hang)", lp.took, true);
	ost_resp_free(&lp.resp);

	t0 = now_s();
	ost_http(&r, port, "POST", "/orders", h, BODY, 0);
	assert_503(&r, "POST /orders", now_s() - t0, true);
	ost_resp_free(&r);

	t0 = now_s();
	ost_get(&r, port, "hung-c1", NULL, "/orders");
	assert_503(&r, "GET /orders", now_s() - t0, true);
	ost_resp_free(&r);

	t0 = now_s();
	ost_get(&r, port, "hung-c1", NULL, path);
	assert_503(&r, "GET /orders/{id}", now_s() - t0, true);
	ost_resp_free(&r);

	snprintf(lp.path, sizeof(lp.path), "/orders/%s?wait=2", id);
	t0 = now_s();
	ost_get(&r, port, "hung-c1", NULL, lp.path);
	assert_503(&r, "GET /orders/{id}?wait=2", now_s() - t0, true);
	ost_resp_free(&r);

	t0 = now_s();
	ost_http(&r, port, "GET", "/readyz", NULL, NULL, 0);
	assert_503(&r, "GET /readyz", now_s() - t0, false);
	ost_resp_free(&r);

	/* The server answers again: the dropped connections are replaced and
	 * the daemon serves without a restart. */
	ost_proxy_freeze(proxy, false);
	for (long ready = 0; ready != 200;) {
		usleep(50000);
		ost_http(&r, port, "GET", "/readyz", NULL, NULL, 0);
		ready = r.status;
		ost_resp_free(&r);
	}
	ost_http(&r, port, "POST", "/orders", h, BODY, 0);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ost_resp_free(&r);
	ost_get(&r, port, "hung-c1", NULL, path);
	ck_assert_int_eq(r.status, 200);
	ost_resp_free(&r);
	stop_behind_proxy();
}
END_TEST

static void suite_setup(void)
{
	ost_create_database("os_deadline");
	ost_create_topics("os_deadline");
}

static void suite_teardown(void)
{
	ost_drop_database();
}

int main(void)
{
	Suite *s = suite_create("order-service database deadlines");
	TCase *tc = tcase_create("core");

	eda_log_init("test", EDA_LOG_ERROR);
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_connect_to_silent_server_is_bounded);
	tcase_add_test(tc, test_pool_and_probe_on_silent_server_fail);
	tcase_add_test(tc, test_start_with_silent_database_fails);
	tcase_add_test(tc, test_slow_statement_keeps_the_session);
	tcase_add_test(tc, test_hung_database_gives_fast_503s);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
