/*
 * Environment -> gw_settings_t. Validation happens here so that a bad value
 * stops the gateway at start-up with one line naming the variable (exit 2),
 * never at the first request.
 */
#include "config/settings.h"

#include "eda/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const http_schemes[] = {"http", "https", NULL};

/* An origin is scheme://host[:port] without path, e.g. "https://shop.example". */
static bool origin_ok(const char *o)
{
	const char *rest;

	if (strcmp(o, "*") == 0)
		return true;
	if (strncmp(o, "http://", 7) == 0)
		rest = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		rest = o + 8;
	else
		return false;
	return *rest != '\0' && strchr(rest, '/') == NULL;
}

static void load_cors(gw_settings_t *s, eda_env_t *env)
{
	const char *v = eda_env_string(env, "CORS_ALLOWED_ORIGINS", "");
	char *copy = eda_xstrdup(v), *save = NULL;

	s->cors_origins = eda_xcalloc(1, sizeof(*s->cors_origins));
	for (char *tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (!origin_ok(tok)) {
			eda_env_fail(env, "CORS_ALLOWED_ORIGINS",
			             "'%s' is not an origin (scheme://host[:port]) or '*'", tok);
			break;
		}
		s->cors_origins =
		        eda_xrealloc(s->cors_origins, (s->ncors + 2) * sizeof(*s->cors_origins));
		s->cors_origins[s->ncors++] = eda_xstrdup(tok);
		s->cors_origins[s->ncors] = NULL;
	}
	free(copy);
}

/* The algorithm is pinned here, never taken from a token: JWT_ALGORITHM when
 * set, otherwise implied by which key is configured. */
static void load_jwt(gw_settings_t *s, eda_env_t *env)
{
	const char *alg = eda_env_string(env, "JWT_ALGORITHM", "");

	s->jwt_secret = eda_env_string(env, "JWT_SECRET", "");
	s->jwt_public_key_file = eda_env_string(env, "JWT_PUBLIC_KEY_FILE", "");
	s->jwt_private_key_file = eda_env_string(env, "JWT_PRIVATE_KEY_FILE", "");
	s->jwt_issuer = eda_env_string(env, "JWT_ISSUER", "");
	s->jwt_audience = eda_env_string(env, "JWT_AUDIENCE", "");
	s->jwt_leeway_s = eda_env_long(env, "JWT_LEEWAY_SECONDS", 30, 0, 600);
	if (*s->jwt_secret == '\0')
		s->jwt_secret = NULL;
	if (*s->jwt_public_key_file == '\0')
		s->jwt_public_key_file = NULL;
	if (*s->jwt_private_key_file == '\0')
		s->jwt_private_key_file = NULL;
	if (*s->jwt_issuer == '\0')
		s->jwt_issuer = NULL;
	if (*s->jwt_audience == '\0')
		s->jwt_audience = NULL;

	if (strcasecmp(alg, "HS256") == 0) {
		s->jwt_alg = GW_ALG_HS256;
	} else if (strcasecmp(alg, "RS256") == 0) {
		s->jwt_alg = GW_ALG_RS256;
	} else if (*alg != '\0') {
		eda_env_fail(env, "JWT_ALGORITHM", "must be HS256 or RS256, not '%s'", alg);
		return;
	} else if (s->jwt_secret != NULL && s->jwt_public_key_file != NULL) {
		eda_env_fail(env, "JWT_ALGORITHM",
		             "both JWT_SECRET and JWT_PUBLIC_KEY_FILE are set: say which to use");
		return;
	} else {
		s->jwt_alg = s->jwt_public_key_file != NULL ? GW_ALG_RS256 : GW_ALG_HS256;
	}
	if (s->jwt_alg == GW_ALG_HS256) {
		if (s->jwt_secret == NULL)
			eda_env_fail(env, "JWT_SECRET",
			             "is required (or set JWT_PUBLIC_KEY_FILE for RS256)");
		/* RFC 7518 3.2: an HS256 key shorter than the hash is guessable. */
		else if (strlen(s->jwt_secret) < 32)
			eda_env_fail(env, "JWT_SECRET", "must be at least 32 bytes long");
	} else if (s->jwt_public_key_file == NULL) {
		eda_env_fail(env, "JWT_PUBLIC_KEY_FILE", "is required for RS256");
	}
}

void gw_settings_load(gw_settings_t *s, eda_env_t *env)
{
	memset(s, 0, sizeof(*s));
	eda_daemon_settings_load(
	        &s->daemon, env,
	        &(eda_daemon_defaults_t){.port = 8080, .http_threads = 2, .http_threads_max = 256});
	s->per_ip_limit = (unsigned)eda_env_long(env, "HTTP_MAX_CONNECTIONS_PER_IP", 0, 0, 100000);
	s->max_body =
	        (size_t)eda_env_long(env, "MAX_BODY_BYTES", 1024 * 1024, 1, 64L * 1024 * 1024);
	s->order_url = eda_env_url(env, "ORDER_SERVICE_URL", "http://127.0.0.1:8001", http_schemes);
	s->inventory_url =
	        eda_env_url(env, "INVENTORY_SERVICE_URL", "http://127.0.0.1:8002", http_schemes);
	s->upstream_timeout_ms = eda_env_long(env, "UPSTREAM_TIMEOUT_MS", 35000, 1, 600000);
	s->connect_timeout_ms = eda_env_long(env, "UPSTREAM_CONNECT_TIMEOUT_MS", 2000, 1, 60000);
	/* /readyz checks the two upstreams one after the other: 2 x 400 ms stays
	 * under a kubelet's default 1 s probe timeout. */
	s->ready_timeout_ms = eda_env_long(env, "UPSTREAM_READY_TIMEOUT_MS", 400, 1, 60000);
	s->max_inflight = eda_env_long(env, "UPSTREAM_MAX_INFLIGHT", 4096, 1, 1000000);
	load_jwt(s, env);
	s->rate_per_s = (double)eda_env_long(env, "RATE_LIMIT_PER_SECOND", 20, 0, 1000000);
	s->rate_burst = (double)eda_env_long(env, "RATE_LIMIT_BURST", 40, 1, 1000000);
	load_cors(s, env);
	s->openapi_file = eda_env_string(env, "OPENAPI_FILE", "api-gateway/openapi.json");
}

void gw_settings_free(gw_settings_t *s)
{
	for (size_t i = 0; i < s->ncors; i++)
		free(s->cors_origins[i]);
	free(s->cors_origins);
	s->cors_origins = NULL;
	s->ncors = 0;
}

bool gw_settings_origin_allowed(const gw_settings_t *s, const char *origin)
{
	if (origin == NULL || origin[0] == '\0') /* an empty Origin names no site */
		return false;
	for (size_t i = 0; i < s->ncors; i++) {
		if (strcmp(s->cors_origins[i], "*") == 0 || strcmp(s->cors_origins[i], origin) == 0)
			return true;
	}
	return false;
}
