/*
 * KAFKA_* environment variables -> librdkafka properties. The mapping is
 * mechanical on purpose: any property librdkafka knows can be set by a
 * deployment (TLS, SASL, timeouts) without a code change, and librdkafka itself
 * rejects names and values it does not know, which we report with the variable.
 */
#include "eda/kafka.h"

#include "eda/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define PREFIX "KAFKA_"

int eda_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t errsz)
{
	char why[512];

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errsz, "%s", why);
		return -1;
	}
	return 0;
}

int eda_kafka_conf_low_latency(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
	if (getenv("KAFKA_LINGER_MS") != NULL)
		return 0;
	return eda_kafka_conf_set(conf, "linger.ms", "1", err, errsz);
}

/* KAFKA_SSL_CA_LOCATION -> ssl.ca.location; returns -1 for an empty or too long name. */
static int property_name(const char *var, size_t var_len, char *out, size_t outsz)
{
	size_t o = 0;

	if (var_len == 0)
		return -1;
	for (size_t i = 0; i < var_len; i++) {
		char c = var[i];

		if (o + 1 >= outsz)
			return -1;
		if (c == '_' && i + 1 < var_len && var[i + 1] == '_') {
			out[o++] = '_';
			i++;
		} else if (c == '_') {
			out[o++] = '.';
		} else {
			out[o++] = (char)tolower((unsigned char)c);
		}
	}
	out[o] = '\0';
	return 0;
}

/* librdkafka's own lines (broker down, connection refused) go through the JSON
 * logger like every other line; without this it prints raw "%3|...|FAIL|..."
 * lines into the daemon's stderr. Called on librdkafka's threads: eda_log is
 * one write(2) per line. Syslog levels: 0-3 error, 4 warning, 5-6 info. */
static void log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	eda_log_level_t l = level <= 3   ? EDA_LOG_ERROR
	                    : level == 4 ? EDA_LOG_WARN
	                    : level <= 6 ? EDA_LOG_INFO
	                                 : EDA_LOG_DEBUG;

	eda_log(l, buf, "component", "librdkafka", "client", rd_kafka_name(rk), "facility", fac,
	        NULL);
}

void eda_kafka_conf_set_logger(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, log_line);
}

rd_kafka_conf_t *eda_kafka_conf_from_env(char *const *envp, char *err, size_t errsz)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char bootstrap[4200]; /* settings.c caps values at 4096 bytes */
	size_t bootstrap_len = sizeof(bootstrap);

	eda_kafka_conf_set_logger(conf);
	/* librdkafka backs off reconnecting to a broker that is away up to 10 s
	 * (reconnect.backoff.max.ms): after a broker restart of 15 s, a client
	 * could wait 10 s more before it noticed. 1 s costs a connection attempt
	 * a second while the broker is away. Set before the environment, which
	 * overrides it. */
	if (eda_kafka_conf_set(conf, "reconnect.backoff.max.ms", "1000", err, errsz) != 0)
		goto fail;
	if (envp == NULL)
		envp = environ;
	for (char *const *e = envp; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char prop[256], why[512];
		size_t name_len;

		if (eq == NULL || strncmp(*e, PREFIX, strlen(PREFIX)) != 0)
			continue;
		name_len = (size_t)(eq - *e);
		if (property_name(*e + strlen(PREFIX), name_len - strlen(PREFIX), prop,
		                  sizeof(prop)) != 0) {
			snprintf(err, errsz, "%.*s: not a Kafka property name", (int)name_len, *e);
			goto fail;
		}
		if (eda_kafka_conf_set(conf, prop, eq + 1, why, sizeof(why)) != 0) {
			/* librdkafka's message may quote the value; it never holds more
			 * than the property name for unknown properties, and for refused
			 * values the variable name is what the operator needs. */
			snprintf(err, errsz, "%.*s: %s", (int)name_len, *e, why);
			goto fail;
		}
	}
	/* Read back what librdkafka kept: it strips blanks, so "KAFKA_BOOTSTRAP_SERVERS= "
	 * would otherwise pass as set and leave the daemon with no broker. */
	if (rd_kafka_conf_get(conf, "bootstrap.servers", bootstrap, &bootstrap_len) !=
	            RD_KAFKA_CONF_OK ||
	    strspn(bootstrap, " \t\r\n\v\f,") == strlen(bootstrap)) {
		snprintf(err, errsz, "KAFKA_BOOTSTRAP_SERVERS: required but not set");
		goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}
