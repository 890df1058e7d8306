/*
 * Tests for eda/settings.h (environment getters) and eda/kafka.h
 * (KAFKA_* -> librdkafka properties). Data-driven: one row per input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/kafka.h"
#include "eda/settings.h"
#include "support/check_main.h"

#define VAR "EDA_TEST_VALUE"

struct long_case {
	const char *value; /* NULL: unset */
	long min, max, def;
	long want;
	int fails;
	const char *msg; /* substring of the error, if it fails */
};

static const struct long_case long_cases[] = {
        {NULL, 0, 10, 7, 7, 0, NULL},
        {"", 0, 10, 7, 7, 0, NULL},
        {"5", 0, 10, 7, 5, 0, NULL},
        {"0", 0, 10, 7, 0, 0, NULL},
        {"10", 0, 10, 7, 10, 0, NULL},
        {"-3", -5, 5, 0, -3, 0, NULL},
        {"11", 0, 10, 7, 7, 1, "out of range [0, 10]"},
        {"-1", 0, 10, 7, 7, 1, "out of range"},
        {"abc", 0, 10, 7, 7, 1, "not an integer"},
        {"5x", 0, 10, 7, 7, 1, "not an integer"},
        {" 5", 0, 10, 7, 7, 1, "not an integer"},
        {"+5", 0, 10, 7, 7, 1, "not an integer"},
        {"0x10", 0, 100, 7, 7, 1, "not an integer"},
        {"99999999999999999999999", 0, 10, 7, 7, 1, "not an integer"},
        {"1.5", 0, 10, 7, 7, 1, "not an integer"},
        {"-", -5, 5, 0, 0, 1, "not an integer"},
        {"5\t", 0, 10, 7, 7, 1, "control character"},
};

START_TEST(env_long_table)
{
	const struct long_case *c = &long_cases[_i];
	eda_env_t env;
	long got;

	if (c->value == NULL)
		unsetenv(VAR);
	else
		setenv(VAR, c->value, 1);
	eda_env_init(&env);
	got = eda_env_long(&env, VAR, c->def, c->min, c->max);
	ck_assert_int_eq(got, c->want);
	ck_assert_int_eq(env.failed, c->fails);
	if (c->fails) {
		ck_assert_msg(strncmp(env.err, VAR ": ", strlen(VAR) + 2) == 0, "err: %s", env.err);
		ck_assert_msg(strstr(env.err, c->msg) != NULL, "err: %s", env.err);
	}
}
END_TEST

struct bool_case {
	const char *value;
	int want, fails;
};

static const struct bool_case bool_cases[] = {
        {NULL, 1, 0},    {"true", 1, 0},  {"TRUE", 1, 0},  {"1", 1, 0},  {"yes", 1, 0},
        {"on", 1, 0},    {"false", 0, 0}, {"0", 0, 0},     {"No", 0, 0}, {"off", 0, 0},
        {"maybe", 1, 1}, {"2", 1, 1},     {"truee", 1, 1},
};

START_TEST(env_bool_table)
{
	const struct bool_case *c = &bool_cases[_i];
	eda_env_t env;

	if (c->value == NULL)
		unsetenv(VAR);
	else
		setenv(VAR, c->value, 1);
	eda_env_init(&env);
	ck_assert_int_eq(eda_env_bool(&env, VAR, true), c->want);
	ck_assert_int_eq(env.failed, c->fails);
}
END_TEST

struct url_case {
	const char *value;
	int fails;
};

static const struct url_case url_cases[] = {
        {"postgresql://eda@127.0.0.1:5432/eda", 0},
        {"postgres://u:p@h/db", 0},
        {"POSTGRESQL://h", 0},
        {"mysql://h/db", 1},
        {"mysql://user:hunter2@h/db", 1},
        {"postgresql://", 1},
        {"postgresql:/h", 1},
        {"h:5432", 1},
        {"postgresqlx://h", 1},
};

START_TEST(env_url_table)
{
	static const char *const schemes[] = {"postgresql", "postgres", NULL};
	const struct url_case *c = &url_cases[_i];
	eda_env_t env;

	setenv(VAR, c->value, 1);
	eda_env_init(&env);
	eda_env_url(&env, VAR, NULL, schemes);
	ck_assert_int_eq(env.failed, c->fails);
	/* A rejected URL may hold a password: the error must not echo it. */
	ck_assert_msg(strstr(env.err, "hunter2") == NULL, "err: %s", env.err);
}
END_TEST

START_TEST(env_url_optional_with_empty_default)
{
	static const char *const schemes[] = {"smtp", "smtps", NULL};
	eda_env_t env;

	unsetenv(VAR);
	eda_env_init(&env);
	ck_assert_str_eq(eda_env_url(&env, VAR, "", schemes), "");
	ck_assert(!env.failed);
	setenv(VAR, "ftp://x", 1);
	eda_env_url(&env, VAR, "", schemes);
	ck_assert(env.failed);
}
END_TEST

START_TEST(env_string_required_and_default)
{
	eda_env_t env;

	unsetenv(VAR);
	eda_env_init(&env);
	ck_assert_str_eq(eda_env_string(&env, VAR, "dflt"), "dflt");
	ck_assert(!env.failed);
	ck_assert_ptr_null(eda_env_string(&env, VAR, NULL));
	ck_assert(env.failed);
	ck_assert_str_eq(env.err, VAR ": required but not set");

	setenv(VAR, "value", 1);
	eda_env_init(&env);
	ck_assert_str_eq(eda_env_string(&env, VAR, NULL), "value");
	ck_assert(!env.failed);
}
END_TEST

START_TEST(env_first_error_is_kept)
{
	eda_env_t env;

	setenv("EDA_TEST_A", "x", 1);
	setenv("EDA_TEST_B", "y", 1);
	eda_env_init(&env);
	eda_env_port(&env, "EDA_TEST_A", 80);
	eda_env_bool(&env, "EDA_TEST_B", false);
	ck_assert(env.failed);
	ck_assert_msg(strncmp(env.err, "EDA_TEST_A: ", 12) == 0, "err: %s", env.err);
}
END_TEST

/* The replica's name for static group membership: INSTANCE_ID as given,
 * else host name and port, else (ephemeral port) none; a bad one is an error. */
START_TEST(env_instance_id)
{
	static const struct {
		const char *instance, *hostname;
		unsigned short port;
		const char *want; /* NULL: a configuration error */
	} cases[] = {
	        {"pod-7f9c-abc12", "ignored", 8001, "pod-7f9c-abc12"},
	        {NULL, "order-service-5d8f-x2x9q", 8001, "order-service-5d8f-x2x9q-8001"},
	        {NULL, "laptop", 0, ""},
	        {"set:with.dots_and-dash", NULL, 0, "set:with.dots_and-dash"},
	        {"bad id", "h", 8001, NULL},
	        {"slash/no", "h", 8001, NULL},
	        {NULL, "host with spaces", 8001, ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		eda_env_t env;
		char buf[256];

		if (cases[i].instance != NULL)
			setenv("INSTANCE_ID", cases[i].instance, 1);
		else
			unsetenv("INSTANCE_ID");
		if (cases[i].hostname != NULL)
			setenv("HOSTNAME", cases[i].hostname, 1);
		eda_env_init(&env);
		eda_env_instance_id(&env, cases[i].port, buf, sizeof(buf));
		if (cases[i].want == NULL) {
			ck_assert_msg(env.failed, "case %zu", i);
			ck_assert_msg(strncmp(env.err, "INSTANCE_ID: ", 13) == 0, "%s", env.err);
		} else {
			ck_assert_msg(!env.failed, "case %zu: %s", i, env.err);
			ck_assert_str_eq(buf, cases[i].want);
		}
	}
	unsetenv("INSTANCE_ID");
}
END_TEST

START_TEST(env_port_and_level)
{
	eda_env_t env;

	setenv(VAR, "65536", 1);
	eda_env_init(&env);
	ck_assert_int_eq(eda_env_port(&env, VAR, 8080), 8080);
	ck_assert(env.failed);

	setenv(VAR, "WARN", 1);
	eda_env_init(&env);
	ck_assert_int_eq(eda_env_log_level(&env, VAR, EDA_LOG_INFO), EDA_LOG_WARN);
	ck_assert(!env.failed);
	setenv(VAR, "loud", 1);
	ck_assert_int_eq(eda_env_log_level(&env, VAR, EDA_LOG_INFO), EDA_LOG_INFO);
	ck_assert(env.failed);
}
END_TEST

/* The base settings of a daemon, one row per environment: what it reads and
 * the first variable it refuses. */
static const struct daemon_case {
	const char *port, *threads, *level, *bind; /* NULL: unset */
	bool zero_ok;
	unsigned short want_port;
	unsigned want_threads;
	eda_log_level_t want_level;
	const char *err; /* prefix of the error, NULL: none */
} daemon_cases[] = {
        {NULL, NULL, NULL, NULL, false, 8080, 2, EDA_LOG_INFO, NULL},
        {"9000", "16", "debug", "127.0.0.1", false, 9000, 16, EDA_LOG_DEBUG, NULL},
        {"0", NULL, NULL, NULL, true, 0, 2, EDA_LOG_INFO, NULL},
        {"0", NULL, NULL, NULL, false, 8080, 2, EDA_LOG_INFO, "PORT: "},
        {"65536", NULL, NULL, NULL, true, 8080, 2, EDA_LOG_INFO, "PORT: "},
        {NULL, "64", NULL, NULL, false, 8080, 64, EDA_LOG_INFO, NULL},
        {NULL, "65", NULL, NULL, false, 8080, 2, EDA_LOG_INFO, "HTTP_THREADS: "},
        {NULL, "0", NULL, NULL, false, 8080, 2, EDA_LOG_INFO, "HTTP_THREADS: "},
        {NULL, NULL, "loud", NULL, false, 8080, 2, EDA_LOG_INFO, "LOG_LEVEL: "},
        {"x", "0", NULL, NULL, false, 8080, 2, EDA_LOG_INFO, "PORT: "}, /* the first kept */
};

static void set_or_unset(const char *name, const char *v)
{
	if (v != NULL)
		setenv(name, v, 1);
	else
		unsetenv(name);
}

START_TEST(daemon_settings_table)
{
	const struct daemon_case *c = &daemon_cases[_i];
	eda_daemon_defaults_t def = {.port = 8080,
	                             .port_may_be_zero = c->zero_ok,
	                             .http_threads = 2,
	                             .http_threads_max = 64};
	eda_daemon_settings_t s;
	eda_env_t env;

	set_or_unset("PORT", c->port);
	set_or_unset("HTTP_THREADS", c->threads);
	set_or_unset("LOG_LEVEL", c->level);
	set_or_unset("BIND_ADDR", c->bind);
	eda_env_init(&env);
	eda_daemon_settings_load(&s, &env, &def);
	ck_assert_int_eq(s.port, c->want_port);
	ck_assert_uint_eq(s.http_threads, c->want_threads);
	ck_assert_int_eq(s.log_level, c->want_level);
	ck_assert_str_eq(s.bind_addr, c->bind != NULL ? c->bind : "0.0.0.0");
	ck_assert_int_eq(env.failed, c->err != NULL);
	if (c->err != NULL)
		ck_assert_msg(strncmp(env.err, c->err, strlen(c->err)) == 0, "%s", env.err);
}
END_TEST

/* A daemon's struct reaches the base members by name and as one struct. */
START_TEST(daemon_settings_embedded)
{
	struct {
		EDA_DAEMON_SETTINGS;
		int own;
	} s = {.own = 7};
	eda_env_t env;

	setenv("PORT", "8123", 1);
	setenv("HTTP_THREADS", "3", 1);
	eda_env_init(&env);
	eda_daemon_settings_load(
	        &s.daemon, &env,
	        &(eda_daemon_defaults_t){.port = 1, .http_threads = 1, .http_threads_max = 8});
	ck_assert(!env.failed);
	ck_assert_int_eq(s.port, 8123);
	ck_assert_uint_eq(s.http_threads, 3);
	ck_assert_str_eq(s.bind_addr, "0.0.0.0");
	ck_assert_int_eq(s.own, 7);
}
END_TEST

START_TEST(env_too_long_value)
{
	char *big = malloc(5000);
	eda_env_t env;

	memset(big, 'a', 4999);
	big[4999] = '\0';
	setenv(VAR, big, 1);
	free(big);
	eda_env_init(&env);
	eda_env_string(&env, VAR, "d");
	ck_assert(env.failed);
	ck_assert_msg(strstr(env.err, "longer than") != NULL, "err: %s", env.err);
}
END_TEST

/* A bad value ends the process with status 2 and one line naming the variable. */
START_TEST(exit_on_error_status_2)
{
	eda_env_t env;

	setenv("PORT", "eighty", 1);
	eda_env_init(&env);
	eda_env_port(&env, "PORT", 8080);
	eda_env_exit_on_error(&env, "test-service");
}
END_TEST

START_TEST(exit_on_error_returns_when_ok)
{
	eda_env_t env;

	eda_env_init(&env);
	eda_env_exit_on_error(&env, "test-service");
}
END_TEST

/* ---- KAFKA_* passthrough ---------------------------------------------------- */

struct kafka_case {
	const char *env[4];
	const char *prop, *want; /* property to read back, if it succeeds */
	const char *err;         /* substring of the error, if it fails */
};

static const struct kafka_case kafka_cases[] = {
        {{"KAFKA_BOOTSTRAP_SERVERS=h1:9092,h2:9092"}, "bootstrap.servers", "h1:9092,h2:9092", NULL},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_SECURITY_PROTOCOL=sasl_ssl"},
         "security.protocol",
         "sasl_ssl",
         NULL},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_SASL_MECHANISMS=PLAIN", "KAFKA_CLIENT_ID=x"},
         "client.id",
         "x",
         NULL},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_SOCKET_TIMEOUT_MS=1234"},
         "socket.timeout.ms",
         "1234",
         NULL},
        {{"PATH=/bin", "KAFKA_BOOTSTRAP_SERVERS=h:1"}, "bootstrap.servers", "h:1", NULL},
        /* reconnect within a second of a broker's restart, unless told otherwise */
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1"}, "reconnect.backoff.max.ms", "1000", NULL},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_RECONNECT_BACKOFF_MAX_MS=5000"},
         "reconnect.backoff.max.ms",
         "5000",
         NULL},
        {{"KAFKA_SECURITY_PROTOCOL=ssl"}, NULL, NULL, "KAFKA_BOOTSTRAP_SERVERS: required"},
        {{"KAFKA_BOOTSTRAP_SERVERS="}, NULL, NULL, "KAFKA_BOOTSTRAP_SERVERS: required"},
        {{"KAFKA_BOOTSTRAP_SERVERS= \v "}, NULL, NULL, "KAFKA_BOOTSTRAP_SERVERS: required"},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_NO_SUCH_THING=1"},
         NULL,
         NULL,
         "KAFKA_NO_SUCH_THING: "},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_SECURITY_PROTOCOL=carrier_pigeon"},
         NULL,
         NULL,
         "KAFKA_SECURITY_PROTOCOL: "},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_=x"}, NULL, NULL, "KAFKA_: not a Kafka property"},
        {{"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_SOCKET_TIMEOUT_MS=soon"},
         NULL,
         NULL,
         "KAFKA_SOCKET_TIMEOUT_MS: "},
};

START_TEST(kafka_env_table)
{
	const struct kafka_case *c = &kafka_cases[_i];
	char *envp[5] = {NULL};
	char err[512] = "";
	rd_kafka_conf_t *conf;

	for (int i = 0; i < 4 && c->env[i] != NULL; i++)
		envp[i] = (char *)c->env[i];
	conf = eda_kafka_conf_from_env(envp, err, sizeof(err));
	if (c->err != NULL) {
		ck_assert_ptr_null(conf);
		ck_assert_msg(strstr(err, c->err) != NULL, "err: %s", err);
		return;
	}
	ck_assert_msg(conf != NULL, "err: %s", err);
	char got[256];
	size_t n = sizeof(got);

	ck_assert_int_eq(rd_kafka_conf_get(conf, c->prop, got, &n), RD_KAFKA_CONF_OK);
	ck_assert_str_eq(got, c->want);
	rd_kafka_conf_destroy(conf);
}
END_TEST

/* linger.ms 1 unless KAFKA_LINGER_MS chose: each test runs in its own process,
 * so the environment set here goes with it. */
START_TEST(kafka_low_latency_default)
{
	char *envp[] = {"KAFKA_BOOTSTRAP_SERVERS=h:1", "KAFKA_LINGER_MS=7", NULL};
	char err[256] = "", got[64];
	size_t n = sizeof(got);
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(envp, err, sizeof(err));

	ck_assert_msg(conf != NULL, "err: %s", err);
	unsetenv("KAFKA_LINGER_MS");
	ck_assert_int_eq(eda_kafka_conf_low_latency(conf, err, sizeof(err)), 0);
	ck_assert_int_eq(rd_kafka_conf_get(conf, "linger.ms", got, &n), RD_KAFKA_CONF_OK);
	ck_assert_str_eq(got, "1");

	/* With KAFKA_LINGER_MS set, the deployment's value stays. */
	ck_assert_int_eq(eda_kafka_conf_set(conf, "linger.ms", "7", err, sizeof(err)), 0);
	setenv("KAFKA_LINGER_MS", "7", 1);
	ck_assert_int_eq(eda_kafka_conf_low_latency(conf, err, sizeof(err)), 0);
	n = sizeof(got);
	ck_assert_int_eq(rd_kafka_conf_get(conf, "linger.ms", got, &n), RD_KAFKA_CONF_OK);
	ck_assert_str_eq(got, "7");
	rd_kafka_conf_destroy(conf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("env");
	TCase *tk = tcase_create("kafka_env");

	tcase_add_loop_test(tc, env_long_table, 0, sizeof(long_cases) / sizeof(long_cases[0]));
	tcase_add_loop_test(tc, env_bool_table, 0, sizeof(bool_cases) / sizeof(bool_cases[0]));
	tcase_add_loop_test(tc, env_url_table, 0, sizeof(url_cases) / sizeof(url_cases[0]));
	tcase_add_test(tc, env_url_optional_with_empty_default);
	tcase_add_test(tc, env_string_required_and_default);
	tcase_add_test(tc, env_first_error_is_kept);
	tcase_add_test(tc, env_port_and_level);
	tcase_add_test(tc, env_too_long_value);
	tcase_add_exit_test(tc, exit_on_error_status_2, 2);
	tcase_add_test(tc, exit_on_error_returns_when_ok);
	tcase_add_test(tc, env_instance_id);
	tcase_add_loop_test(tc, daemon_settings_table, 0,
	                    sizeof(daemon_cases) / sizeof(daemon_cases[0]));
	tcase_add_test(tc, daemon_settings_embedded);
	tcase_add_loop_test(tk, kafka_env_table, 0, sizeof(kafka_cases) / sizeof(kafka_cases[0]));
	tcase_add_test(tk, kafka_low_latency_default);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tk);
	return ts_run_suite(s);
}
