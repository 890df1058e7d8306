/*
 * The gateway as one object: HTTP server, proxy engine, verifier, rate
 * limiter, docs and readiness checks wired from the settings. main() and the
 * tests both build the gateway through this, so the tests run the same
 * wiring as the daemon.
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "config/settings.h"
#include "eda/metrics.h"
#include "utils/proxy.h"

#include <stddef.h>

typedef struct gw_gateway gw_gateway_t;

/* Builds a stopped gateway from S (borrowed; must outlive it). Returns NULL
 * with ERR filled when a key, the OpenAPI file or a setting cannot be used. */
gw_gateway_t *gw_gateway_new(const gw_settings_t *s, char *err, size_t errsz);

/* Starts listening. Returns 0 or an EDA_HTTP_* error with ERR filled. */
int gw_gateway_start(gw_gateway_t *g, char *err, size_t errsz);

unsigned short gw_gateway_port(const gw_gateway_t *g);
eda_metrics_t *gw_gateway_metrics(const gw_gateway_t *g);
gw_proxy_t *gw_gateway_proxy(const gw_gateway_t *g);

/* Graceful stop: no new connections, in-flight requests drained (those
 * still waiting on an upstream get 503), proxy thread joined. Idempotent. */
void gw_gateway_stop(gw_gateway_t *g);

/* Stops if needed and frees. NULL allowed. */
void gw_gateway_free(gw_gateway_t *g);

#endif
