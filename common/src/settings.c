/*
 * Typed getters over getenv(); see eda/settings.h. Every getter validates the
 * whole value (no atoi-style prefixes) because a typo in a deployment should
 * stop the daemon at start-up, not change its behaviour silently.
 */
#include "eda/settings.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_VALUE_LEN 4096

void eda_env_init(eda_env_t *env)
{
	env->err[0] = '\0';
	env->failed = false;
}

void eda_env_fail(eda_env_t *env, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (env->failed)
		return;
	env->failed = true;
	n = snprintf(env->err, sizeof(env->err), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(env->err))
		return;
	va_start(ap, fmt);
	vsnprintf(env->err + n, sizeof(env->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Returns the raw value, NULL when unset or empty (empty counts as unset so that
 * "FOO=" in an env file falls back to the default instead of failing). */
static const char *raw(eda_env_t *env, const char *name)
{
	const char *v = getenv(name);
	size_t len;

	if (v == NULL || *v == '\0')
		return NULL;
	len = strnlen(v, MAX_VALUE_LEN + 1);
	if (len > MAX_VALUE_LEN) {
		eda_env_fail(env, name, "value longer than %d bytes", MAX_VALUE_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			eda_env_fail(env, name, "value contains a control character");
			return NULL;
		}
	}
	return v;
}

const char *eda_env_string(eda_env_t *env, const char *name, const char *def)
{
	const char *v = raw(env, name);

	if (v != NULL)
		return v;
	if (def == NULL)
		eda_env_fail(env, name, "required but not set");
	return def;
}

long eda_env_long(eda_env_t *env, const char *name, long def, long min, long max)
{
	const char *v = raw(env, name);
	char *end;
	long n;

	if (v == NULL)
		return def;
	if (!(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) {
		eda_env_fail(env, name, "'%s' is not an integer", v);
		return def;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v) {
		eda_env_fail(env, name, "'%s' is not an integer", v);
		return def;
	}
	if (n < min || n > max) {
		eda_env_fail(env, name, "%ld is out of range [%ld, %ld]", n, min, max);
		return def;
	}
	return n;
}

unsigned short eda_env_port(eda_env_t *env, const char *name, unsigned short def)
{
	return (unsigned short)eda_env_long(env, name, def, 1, 65535);
}

/* Kafka's rule for group.instance.id: what a topic name may hold, plus ':'. */
static bool instance_id_valid(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && n <= 249 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") == n;
}

void eda_env_instance_id(eda_env_t *env, unsigned short port, char *buf, size_t bufsz)
{
	const char *set = getenv("INSTANCE_ID");
	const char *host = getenv("HOSTNAME");
	char name[256];

	buf[0] = '\0';
	if (set != NULL && *set != '\0') {
		if (!instance_id_valid(set) || strlen(set) >= bufsz)
			eda_env_fail(
			        env, "INSTANCE_ID",
			        "1 to 249 characters of letters, digits, '.', '_', '-' and ':'");
		else
			snprintf(buf, bufsz, "%s", set);
		return;
	}
	/* An ephemeral port changes with every start: nothing stable to name. */
	if (port == 0)
		return;
	if (host == NULL || *host == '\0') {
		if (gethostname(name, sizeof(name)) != 0)
			return;
		name[sizeof(name) - 1] = '\0';
		host = name;
	}
	/* The port tells apart the replicas of one host (two processes cannot
	 * both listen on it), and stays the same across restarts. */
	snprintf(buf, bufsz, "%.200s-%u", host, (unsigned)port);
	if (!instance_id_valid(buf))
		buf[0] = '\0'; /* a host name Kafka would refuse: a dynamic member */
}

bool eda_env_bool(eda_env_t *env, const char *name, bool def)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	const char *v = raw(env, name);

	if (v == NULL)
		return def;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return true;
		if (strcasecmp(v, no[i]) == 0)
			return false;
	}
	eda_env_fail(env, name, "'%s' is not a boolean (true/false, 1/0, yes/no, on/off)", v);
	return def;
}

eda_log_level_t eda_env_log_level(eda_env_t *env, const char *name, eda_log_level_t def)
{
	const char *v = raw(env, name);
	eda_log_level_t level = def;

	if (v != NULL && eda_log_level_parse(v, &level) != 0)
		eda_env_fail(env, name, "'%s' is not a log level (debug, info, warn, error)", v);
	return level;
}

const char *eda_env_url(eda_env_t *env, const char *name, const char *def,
                        const char *const *schemes)
{
	const char *v = eda_env_string(env, name, def);
	const char *sep;

	/* An empty default makes the URL optional (SMTP_URL unset: use the spool). */
	if (v == NULL || *v == '\0')
		return v;
	sep = strstr(v, "://");
	if (sep != NULL && sep[3] != '\0') {
		for (const char *const *s = schemes; *s != NULL; s++) {
			if (strlen(*s) == (size_t)(sep - v) &&
			    strncasecmp(v, *s, (size_t)(sep - v)) == 0)
				return v;
		}
	}
	/* The value may hold a password: name the expected schemes, not the value. */
	char want[256] = "";
	for (const char *const *s = schemes; *s != NULL; s++) {
		size_t used = strlen(want);
		snprintf(want + used, sizeof(want) - used, "%s%s://", used ? ", " : "", *s);
	}
	eda_env_fail(env, name, "not a URL of the form %s...", want);
	return def;
}

void eda_env_exit_on_error(const eda_env_t *env, const char *service)
{
	if (!env->failed)
		return;
	fprintf(stderr, "%s: configuration error: %s\n", service, env->err);
	exit(2);
}

void eda_daemon_settings_load(eda_daemon_settings_t *s, eda_env_t *env,
                              const eda_daemon_defaults_t *def)
{
	s->bind_addr = eda_env_string(env, "BIND_ADDR", "0.0.0.0");
	s->port = (unsigned short)eda_env_long(env, "PORT", def->port,
	                                       def->port_may_be_zero ? 0 : 1, 65535);
	s->http_threads = (unsigned)eda_env_long(env, "HTTP_THREADS", def->http_threads, 1,
	                                         def->http_threads_max);
	s->log_level = eda_env_log_level(env, "LOG_LEVEL", EDA_LOG_INFO);
}
