/*
 * Tests for src/main.c with the daemon as a real process ($EDA_BIN_DIR/
 * api-gateway): exit status 2 and one line for a bad configuration, the
 * `token` subcommand, and serving until SIGTERM with a clean exit.
 */
#include "services/jwt_verify.h"
#include "support/gw_support.h"

#include "support/check_main.h"
#include "support/ports.h"
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs the gateway with ARGV (after the program name) in an environment of
 * ENV ("NAME=value" list) plus OPENAPI_FILE; captures stdout and stderr. */
static int run(const char *const *argv, const char *const *env, char *out, size_t outsz, char *err,
               size_t errsz)
{
	int po[2], pe[2], status;
	pid_t pid;
	ssize_t n;

	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[16] = {ts_gateway_bin()};
		char *envp[32];
		int i = 0, k = 1;

		for (; argv != NULL && argv[k - 1] != NULL && k < 15; k++)
			args[k] = argv[k - 1];
		envp[i++] = "OPENAPI_FILE=api-gateway/openapi.json";
		envp[i++] = "LOG_LEVEL=warn";
		for (int j = 0; env[j] != NULL && i < 31; j++)
			envp[i++] = (char *)env[j];
		envp[i] = NULL;
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execve(args[0], (char *const *)args, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, outsz - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], err, errsz - 1);
	err[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "did not exit");
	ck_assert_msg(WEXITSTATUS(status) != 127, "cannot run %s", ts_gateway_bin());
	return WEXITSTATUS(status);
}

static const struct bad_env {
	const char *env[3];
	const char *names;
} bad_envs[] = {
        {{NULL}, "JWT_SECRET"},
        {{"JWT_SECRET=short", NULL}, "JWT_SECRET"},
        {{"JWT_SECRET=" TS_SECRET, "PORT=99999", NULL}, "PORT"},
        {{"JWT_SECRET=" TS_SECRET, "JWT_ALGORITHM=none", NULL}, "JWT_ALGORITHM"},
        {{"JWT_PUBLIC_KEY_FILE=/nonexistent.pem", NULL}, "/nonexistent.pem"},
        {{"JWT_SECRET=" TS_SECRET, "ORDER_SERVICE_URL=gopher://x", NULL}, "ORDER_SERVICE_URL"},
};

START_TEST(bad_configuration_exits_2)
{
	char out[256], err[1024];
	int rc = run(NULL, bad_envs[_i].env, out, sizeof(out), err, sizeof(err));

	ck_assert_int_eq(rc, 2);
	ck_assert_msg(strstr(err, bad_envs[_i].names) != NULL, "stderr: %s", err);
	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "more than one line: %s", err);
}
END_TEST

START_TEST(token_command)
{
	const char *env[] = {"JWT_SECRET=" TS_SECRET, "JWT_ISSUER=iss", NULL};
	const char *argv[] = {"token",   "--sub", "42",    "--email", "a@example.com",
	                      "--roles", "admin", "--ttl", "600",     NULL};
	char out[4096], err[1024], why[160], *hdr;
	gw_auth_t *a = gw_auth_new(GW_ALG_HS256, TS_SECRET, strlen(TS_SECRET), "iss", NULL, 0, why,
	                           sizeof(why));
	gw_identity_t id;

	ck_assert_int_eq(run(argv, env, out, sizeof(out), err, sizeof(err)), 0);
	out[strcspn(out, "\n")] = '\0';
	ck_assert_int_gt(asprintf(&hdr, "Bearer %s", out), 0);
	ck_assert_int_eq(gw_auth_verify(a, hdr, time(NULL), &id, why, sizeof(why)), GW_AUTH_OK);
	ck_assert_str_eq(id.sub, "42");
	ck_assert_str_eq(id.roles, "admin");
	free(hdr);
	gw_auth_free(a);
}
END_TEST

START_TEST(token_command_rs256)
{
	char pub[256], priv[256], out[4096], err[1024], why[160], *hdr, *pem;
	const char *env[] = {pub, priv, NULL};
	const char *argv[] = {"token", "--sub", "7", NULL};
	gw_auth_t *a;
	gw_identity_t id;

	snprintf(pub, sizeof(pub), "JWT_PUBLIC_KEY_FILE=%s", ts_rsa_public());
	snprintf(priv, sizeof(priv), "JWT_PRIVATE_KEY_FILE=%s", ts_rsa_private());
	ck_assert_int_eq(run(argv, env, out, sizeof(out), err, sizeof(err)), 0);
	out[strcspn(out, "\n")] = '\0';
	pem = ts_slurp(ts_rsa_public());
	a = gw_auth_new(GW_ALG_RS256, pem, strlen(pem), NULL, NULL, 0, why, sizeof(why));
	ck_assert_int_gt(asprintf(&hdr, "Bearer %s", out), 0);
	ck_assert_int_eq(gw_auth_verify(a, hdr, time(NULL), &id, why, sizeof(why)), GW_AUTH_OK);
	free(hdr);
	free(pem);
	gw_auth_free(a);
}
END_TEST

START_TEST(token_command_usage_errors)
{
	static const char *const cases[][4] = {{"token", NULL},
	                                       {"token", "--ttl", "0", NULL},
	                                       {"token", "--bogus", NULL},
	                                       {"serve-me", NULL}};
	const char *env[] = {"JWT_SECRET=" TS_SECRET, NULL};
	char out[256], err[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_int_eq(run(cases[i], env, out, sizeof(out), err, sizeof(err)), 2);
}
END_TEST

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
	(void)data;
	(void)ud;
	return size * n;
}

static long try_get(const char *url, const char *auth)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = auth != NULL ? curl_slist_append(NULL, auth) : NULL;
	long status = 0;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return status;
}

/* The daemon serves through to a stub and exits 0 on SIGTERM. */
START_TEST(serves_and_stops_on_sigterm)
{
	ts_stub_t stub;
	unsigned short port = ts_free_port();
	char port_env[32], order_env[96], inv_env[96], url[128];
	char *auth = ts_bearer("42", "customer");
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
	int status = 0;
	pid_t pid;

	ts_stub_start(&stub);
	snprintf(port_env, sizeof(port_env), "PORT=%u", (unsigned)port);
	snprintf(order_env, sizeof(order_env), "ORDER_SERVICE_URL=%s", stub.url);
	snprintf(inv_env, sizeof(inv_env), "INVENTORY_SERVICE_URL=%s", stub.url);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* "JWT_SECRET=" TS_SECRET is one string, joined on purpose. */
		char *envp[] = {
		        port_env,
		        order_env,
		        inv_env,
		        "BIND_ADDR=127.0.0.1",
		        "JWT_SECRET=" TS_SECRET, // NOLINT(bugprone-suspicious-missing-comma)
		        "OPENAPI_FILE=api-gateway/openapi.json",
		        "LOG_LEVEL=warn",
		        NULL};
		char *args[] = {(char *)ts_gateway_bin(), NULL};

		execve(args[0], args, envp);
		_exit(127);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", (unsigned)port);
	for (int i = 0; i < 500 && try_get(url, NULL) != 200; i++)
		nanosleep(&tick, NULL);
	ck_assert_int_eq(try_get(url, NULL), 200);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/orders/o-1", (unsigned)port);
	ck_assert_int_eq(try_get(url, auth), 200);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/readyz", (unsigned)port);
	ck_assert_int_eq(try_get(url, NULL), 200);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* The stub ends with this test process (see ts_stub_stop). */
	free(auth);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway process");
	TCase *tc = tcase_create("process");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, bad_configuration_exits_2, 0,
	                    (int)(sizeof(bad_envs) / sizeof(bad_envs[0])));
	tcase_add_test(tc, token_command);
	tcase_add_test(tc, token_command_rs256);
	tcase_add_test(tc, token_command_usage_errors);
	tcase_add_test(tc, serves_and_stops_on_sigterm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ts_rsa_private();
	return ts_run_suite(suite());
}
