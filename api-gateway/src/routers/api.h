/*
 * The gateway's public API: the route table of DESIGN.md ("HTTP API") mapped
 * to the two upstreams, and the handler that authenticates, rate-limits and
 * forwards each request. Paths the table does not name are answered 404 by
 * the HTTP server's router before any of this runs, so they never reach an
 * upstream.
 */
#ifndef GW_ROUTERS_API_H
#define GW_ROUTERS_API_H

#include "config/settings.h"
#include "eda/http.h"
#include "eda/metrics.h"
#include "services/jwt_verify.h"
#include "services/rate_limit.h"
#include "services/upstream.h"

#include <stddef.h>

typedef enum {
	GW_SERVICE_ORDER = 0,
	GW_SERVICE_INVENTORY,
} gw_service_t;

typedef struct {
	const char *method;
	const char *pattern; /* as the HTTP router and OpenAPI write it */
	gw_service_t upstream;
	const char *role;  /* required role, or NULL: any valid token */
	const char *query; /* query parameters forwarded, comma-separated */
} gw_route_t;

extern const gw_route_t gw_routes[];
extern const size_t gw_nroutes;

/* What the handlers share. Every member is borrowed and must outlive the
 * server; RATE may be NULL (no rate limiting). */
typedef struct {
	const gw_settings_t *settings;
	const gw_auth_t *auth;
	gw_rate_limit_t *rate;
	gw_upstream_t *upstream;
	eda_metric_t *m_auth;         /* auth_rejections_total{reason}, set by gw_api_routes_add */
	struct gw_routes_ctx *routes; /* owned; set by gw_api_routes_add */
} gw_api_t;

/* Routes every entry of gw_routes (and an OPTIONS route per pattern for CORS
 * preflight) on S. Returns 0 or an EDA_HTTP_* error with ERR filled. */
int gw_api_routes_add(eda_http_server_t *s, gw_api_t *api, char *err, size_t errsz);

/* Frees what gw_api_routes_add allocated in APP, after the server is freed. */
void gw_api_routes_release(gw_api_t *api);

#endif
