/*
 * Tests for src/config/settings.c: each bad configuration is named by the
 * variable at fault, and the defaults and derived choices (the pinned JWT
 * algorithm) are what README.md and .env.example say.
 */
#include "config/settings.h"

#include "support/check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "0123456789abcdef0123456789abcdef"

static const char *const all_vars[] = {
        "PORT",
        "BIND_ADDR",
        "HTTP_THREADS",
        "HTTP_MAX_CONNECTIONS_PER_IP",
        "LOG_LEVEL",
        "MAX_BODY_BYTES",
        "ORDER_SERVICE_URL",
        "INVENTORY_SERVICE_URL",
        "UPSTREAM_TIMEOUT_MS",
        "UPSTREAM_CONNECT_TIMEOUT_MS",
        "UPSTREAM_MAX_INFLIGHT",
        "JWT_ALGORITHM",
        "JWT_SECRET",
        "JWT_PUBLIC_KEY_FILE",
        "JWT_PRIVATE_KEY_FILE",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_LEEWAY_SECONDS",
        "RATE_LIMIT_PER_SECOND",
        "RATE_LIMIT_BURST",
        "CORS_ALLOWED_ORIGINS",
        "OPENAPI_FILE",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
}

/* NAME=VALUE pairs set on top of a valid HS256 configuration; EXPECT the
 * variable the error must name, or NULL when the result is valid. */
static const struct env_case {
	const char *set[3][2];
	const char *expect;
} env_cases[] = {
        {{{NULL, NULL}}, NULL},
        {{{"PORT", "0"}}, "PORT"},
        {{{"PORT", "80a"}}, "PORT"},
        {{{"HTTP_THREADS", "0"}}, "HTTP_THREADS"},
        {{{"HTTP_MAX_CONNECTIONS_PER_IP", "-1"}}, "HTTP_MAX_CONNECTIONS_PER_IP"},
        {{{"LOG_LEVEL", "loud"}}, "LOG_LEVEL"},
        {{{"ORDER_SERVICE_URL", "ftp://x"}}, "ORDER_SERVICE_URL"},
        {{{"INVENTORY_SERVICE_URL", "localhost:8002"}}, "INVENTORY_SERVICE_URL"},
        {{{"UPSTREAM_TIMEOUT_MS", "-1"}}, "UPSTREAM_TIMEOUT_MS"},
        {{{"JWT_SECRET", "short"}}, "JWT_SECRET"},
        {{{"JWT_SECRET", ""}}, "JWT_SECRET"},
        {{{"JWT_ALGORITHM", "none"}}, "JWT_ALGORITHM"},
        {{{"JWT_ALGORITHM", "HS512"}}, "JWT_ALGORITHM"},
        {{{"JWT_ALGORITHM", "RS256"}}, "JWT_PUBLIC_KEY_FILE"},
        {{{"JWT_PUBLIC_KEY_FILE", "/k.pem"}}, "JWT_ALGORITHM"},
        {{{"JWT_SECRET", ""}, {"JWT_PUBLIC_KEY_FILE", "/k.pem"}}, NULL},
        {{{"JWT_LEEWAY_SECONDS", "100000"}}, "JWT_LEEWAY_SECONDS"},
        {{{"RATE_LIMIT_BURST", "0"}}, "RATE_LIMIT_BURST"},
        {{{"CORS_ALLOWED_ORIGINS", "https://a.example, http://b:8080"}}, NULL},
        {{{"CORS_ALLOWED_ORIGINS", "https://a.example/path"}}, "CORS_ALLOWED_ORIGINS"},
        {{{"CORS_ALLOWED_ORIGINS", "a.example"}}, "CORS_ALLOWED_ORIGINS"},
        {{{"MAX_BODY_BYTES", "0"}}, "MAX_BODY_BYTES"},
};

START_TEST(environment_table)
{
	const struct env_case *c = &env_cases[_i];
	gw_settings_t s;
	eda_env_t env;

	clear_env();
	setenv("JWT_SECRET", SECRET, 1);
	for (int i = 0; i < 3 && c->set[i][0] != NULL; i++)
		setenv(c->set[i][0], c->set[i][1], 1);
	eda_env_init(&env);
	gw_settings_load(&s, &env);
	if (c->expect == NULL) {
		ck_assert_msg(!env.failed, "case %d: %s", _i, env.err);
	} else {
		ck_assert_msg(env.failed, "case %d: accepted", _i);
		ck_assert_msg(strncmp(env.err, c->expect, strlen(c->expect)) == 0,
		              "case %d: '%s' does not start with %s", _i, env.err, c->expect);
	}
	gw_settings_free(&s);
}
END_TEST

START_TEST(defaults)
{
	gw_settings_t s;
	eda_env_t env;

	clear_env();
	setenv("JWT_SECRET", SECRET, 1);
	eda_env_init(&env);
	gw_settings_load(&s, &env);
	ck_assert(!env.failed);
	ck_assert_uint_eq(s.port, 8080);
	ck_assert_str_eq(s.order_url, "http://127.0.0.1:8001");
	ck_assert_str_eq(s.inventory_url, "http://127.0.0.1:8002");
	ck_assert_int_eq(s.jwt_alg, GW_ALG_HS256);
	ck_assert_ptr_null(s.jwt_issuer);
	ck_assert_ptr_null(s.jwt_audience);
	ck_assert_uint_eq(s.max_body, 1024 * 1024);
	ck_assert_uint_eq(s.ncors, 0);
	ck_assert(!gw_settings_origin_allowed(&s, "https://a.example"));
	gw_settings_free(&s);

	setenv("CORS_ALLOWED_ORIGINS", "*", 1);
	eda_env_init(&env);
	gw_settings_load(&s, &env);
	ck_assert(gw_settings_origin_allowed(&s, "https://any.example"));
	ck_assert(!gw_settings_origin_allowed(&s, NULL));
	gw_settings_free(&s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway settings");
	TCase *tc = tcase_create("settings");

	tcase_add_loop_test(tc, environment_table, 0,
	                    (int)(sizeof(env_cases) / sizeof(env_cases[0])));
	tcase_add_test(tc, defaults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(suite());
}
