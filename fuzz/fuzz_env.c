/*
 * libFuzzer driver for the environment getters (common/src/settings.c) and the
 * KAFKA_* to librdkafka mapping (common/src/kafka_conf.c): the first code of
 * every daemon to read text a deployment supplies.
 *
 * The input is cut at NUL bytes. The first NVARS pieces become the values of
 * FZ_V0, FZ_V1, ... (a missing piece leaves its variable unset) and every getter
 * reads every variable, once with a fresh eda_env_t so that its verdict can be
 * checked against eda/settings.h, and once all through one eda_env_t, as a
 * daemon's config/settings.c does. What follows, one line per entry, becomes a
 * small envp of "KAFKA_<line>" strings for eda_kafka_conf_from_env.
 */
#include "eda/kafka.h"
#include "eda/settings.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define NVARS       4
#define MAX_ENTRIES 16

static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};
static const char *const http_schemes[] = {"http", "https", NULL};
static const char *const mongo_schemes[] = {"mongodb", NULL};

/* The error of a failed getter names the variable and fits its buffer. */
static void check_env(const eda_env_t *env, const char *name)
{
	CHECK(strnlen(env->err, sizeof(env->err)) < sizeof(env->err));
	if (env->failed)
		CHECK(strncmp(env->err, name, strlen(name)) == 0);
	else
		CHECK(env->err[0] == '\0');
}

static bool has_scheme(const char *url, const char *const *schemes)
{
	const char *sep = strstr(url, "://");

	if (sep == NULL || sep[3] == '\0')
		return false;
	for (const char *const *s = schemes; *s != NULL; s++) {
		if (strlen(*s) == (size_t)(sep - url) && strncasecmp(url, *s, strlen(*s)) == 0)
			return true;
	}
	return false;
}

static void check_long(const char *name, long def, long min, long max)
{
	eda_env_t env;
	long v;

	eda_env_init(&env);
	v = eda_env_long(&env, name, def, min, max);
	check_env(&env, name);
	if (env.failed)
		CHECK(v == def);
	else
		CHECK(v == def || (v >= min && v <= max));
}

static void check_url(const char *name, const char *def, const char *const *schemes)
{
	eda_env_t env;
	const char *v;

	eda_env_init(&env);
	v = eda_env_url(&env, name, def, schemes);
	check_env(&env, name);
	if (env.failed)
		CHECK(v == def);
	else
		CHECK(v == def || has_scheme(v, schemes));
}

/* Every getter on one variable, each with its own eda_env_t. */
static void check_getters(const char *name)
{
	const char *raw = getenv(name);
	eda_env_t env;
	const char *s;
	unsigned short port;
	bool b;
	eda_log_level_t level;

	eda_env_init(&env);
	s = eda_env_string(&env, name, "default");
	check_env(&env, name);
	CHECK(s != NULL && (s == raw || (strcmp(s, "default") == 0 &&
	                                 (env.failed || raw == NULL || *raw == '\0'))));

	eda_env_init(&env);
	s = eda_env_string(&env, name, NULL);
	check_env(&env, name);
	CHECK(env.failed ? s == NULL : s == raw);

	check_long(name, 0, 0, LONG_MAX);
	check_long(name, -5, -10, 10);
	check_long(name, 7, LONG_MIN, LONG_MAX);
	check_long(name, 100, 1, 1);

	eda_env_init(&env);
	port = eda_env_port(&env, name, 8080);
	check_env(&env, name);
	CHECK(env.failed ? port == 8080 : port >= 1);

	eda_env_init(&env);
	b = eda_env_bool(&env, name, true);
	check_env(&env, name);
	CHECK(!env.failed || b);

	eda_env_init(&env);
	level = eda_env_log_level(&env, name, EDA_LOG_WARN);
	check_env(&env, name);
	CHECK(env.failed ? level == EDA_LOG_WARN
	                 : level >= EDA_LOG_DEBUG && level <= EDA_LOG_ERROR);

	check_url(name, NULL, pg_schemes);
	check_url(name, "http://localhost:8080", http_schemes);
	check_url(name, "mongodb://localhost", mongo_schemes);
}

/* All getters through one eda_env_t: once one fails, the error stays its. */
static void check_shared(char names[][8], size_t n)
{
	eda_env_t env;
	char first[sizeof(env.err)] = ""; /* n may be 0: nothing to compare then */

	eda_env_init(&env);
	for (size_t i = 0; i < n; i++) {
		eda_env_string(&env, names[i], NULL);
		eda_env_long(&env, names[i], 1, 0, 1000);
		eda_env_port(&env, names[i], 80);
		eda_env_bool(&env, names[i], false);
		eda_env_log_level(&env, names[i], EDA_LOG_INFO);
		eda_env_url(&env, names[i], NULL, pg_schemes);
		if (i == 0)
			memcpy(first, env.err, sizeof(first));
	}
	if (env.failed && first[0] != '\0')
		CHECK(strcmp(first, env.err) == 0);
	eda_env_fail(&env, "FZ_EXTRA", "%s", "added by the caller");
	CHECK(env.failed);
	CHECK(strnlen(env.err, sizeof(env.err)) < sizeof(env.err));
	eda_env_init(&env);
	eda_env_exit_on_error(&env, "fuzz_env");
}

/* Builds "KAFKA_<line>" entries from P[0..N) and hands them to
 * eda_kafka_conf_from_env. */
static void check_kafka(const char *p, size_t n)
{
	static const size_t errsizes[] = {512, 24, 1};
	char *envp[MAX_ENTRIES + 2];
	size_t nenv = 0, errsz;
	rd_kafka_conf_t *conf;
	char *err;

	/* Variables without the prefix must be passed over. */
	envp[nenv++] = strdup("PATH=/usr/bin:/bin");
	while (n > 0 && nenv < MAX_ENTRIES + 1) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl != NULL ? (size_t)(nl - p) : n;
		char *entry = malloc(len + sizeof("KAFKA_"));

		CHECK(entry != NULL);
		memcpy(entry, "KAFKA_", 6);
		memcpy(entry + 6, p, len);
		entry[6 + len] = '\0';
		p += len + (nl != NULL);
		n -= len + (nl != NULL);
		/* plugin.library.paths makes librdkafka dlopen() the named file while
		 * the property is set, which would run arbitrary code here. */
		if (strcasestr(entry, "PLUGIN") != NULL) {
			free(entry);
			continue;
		}
		envp[nenv++] = entry;
	}
	envp[nenv] = NULL;

	errsz = errsizes[nenv % 3];
	err = malloc(errsz);
	CHECK(err != NULL);
	memset(err, 'Z', errsz);
	conf = eda_kafka_conf_from_env(envp, err, errsz);
	if (conf != NULL) {
		size_t len = 0;

		/* Required, so a configuration returned always has it. */
		CHECK(rd_kafka_conf_get(conf, "bootstrap.servers", NULL, &len) == RD_KAFKA_CONF_OK);
		CHECK(len > 1);
		rd_kafka_conf_destroy(conf);
	} else {
		CHECK(strnlen(err, errsz) < errsz);
		CHECK(errsz == 1 || err[0] != '\0');
	}
	free(err);
	for (size_t i = 0; i < nenv; i++)
		free(envp[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char names[NVARS][8];
	char *vars[NVARS] = {NULL};
	size_t n = size;

	/* putenv() of a buffer this driver owns, not setenv(): glibc never frees
	 * the strings setenv() makes, so millions of runs would grow without
	 * bound. */
	for (size_t i = 0; i < NVARS; i++) {
		const char *nul = memchr(p, '\0', n);
		size_t len = nul != NULL ? (size_t)(nul - p) : n;

		snprintf(names[i], sizeof(names[i]), "FZ_V%zu", i);
		unsetenv(names[i]);
		if (n == 0)
			continue;
		vars[i] = malloc(strlen(names[i]) + 2 + len);
		CHECK(vars[i] != NULL);
		sprintf(vars[i], "%s=", names[i]);
		memcpy(vars[i] + strlen(names[i]) + 1, p, len);
		vars[i][strlen(names[i]) + 1 + len] = '\0';
		CHECK(putenv(vars[i]) == 0);
		p += len + (nul != NULL);
		n -= len + (nul != NULL);
	}

	for (size_t i = 0; i < NVARS; i++)
		check_getters(names[i]);
	check_shared(names, NVARS);
	check_kafka(p, n);

	for (size_t i = 0; i < NVARS; i++) {
		unsetenv(names[i]);
		free(vars[i]);
	}
	return 0;
}
