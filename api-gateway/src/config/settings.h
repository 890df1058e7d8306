/*
 * The gateway's configuration, read once from the environment (DESIGN.md,
 * "Configuration"). Every variable and its default is listed in
 * api-gateway/.env.example and api-gateway/README.md.
 *
 * Ownership: strings point into the environment or are static defaults;
 * list fields (cors_origins) are owned by the settings and freed by
 * gw_settings_free().
 */
#ifndef GW_SETTINGS_H
#define GW_SETTINGS_H

#include "eda/settings.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	GW_ALG_HS256 = 0,
	GW_ALG_RS256,
} gw_alg_t;

typedef struct {
	/* BIND_ADDR, PORT, HTTP_THREADS, LOG_LEVEL (eda_daemon_settings_load) */
	EDA_DAEMON_SETTINGS;
	unsigned per_ip_limit;
	size_t max_body;

	const char *order_url;     /* ORDER_SERVICE_URL, no trailing '/' kept */
	const char *inventory_url; /* INVENTORY_SERVICE_URL */
	long upstream_timeout_ms;
	long connect_timeout_ms;
	long ready_timeout_ms; /* each upstream's /healthz in /readyz */
	long max_inflight;     /* upstream requests in flight at once; more get 503 */

	gw_alg_t jwt_alg;
	const char *jwt_secret;           /* HS256 */
	const char *jwt_public_key_file;  /* RS256 */
	const char *jwt_private_key_file; /* RS256, only for `api-gateway token` */
	const char *jwt_issuer;           /* NULL: not checked */
	const char *jwt_audience;         /* NULL: not checked */
	long jwt_leeway_s;

	double rate_per_s; /* 0 disables rate limiting */
	double rate_burst;

	char **cors_origins; /* NULL-terminated; "*" allows any */
	size_t ncors;

	const char *openapi_file;
} gw_settings_t;

/* Reads every variable into *S. Errors are recorded in ENV (the first one is
 * kept); the caller ends with eda_env_exit_on_error(). Call gw_settings_free()
 * afterwards in any case. */
void gw_settings_load(gw_settings_t *s, eda_env_t *env);

void gw_settings_free(gw_settings_t *s);

/* True if ORIGIN is one of the configured CORS origins. */
bool gw_settings_origin_allowed(const gw_settings_t *s, const char *origin);

#endif
