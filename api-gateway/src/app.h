/*
 * The gateway as one object: HTTP server, upstream engine, token verifier,
 * rate limiter, docs and readiness checks wired from the settings. main()
 * and the tests both build the gateway through this, so the tests run the
 * same wiring as the daemon (the shape of every daemon's src/app.h).
 */
#ifndef GW_APP_H
#define GW_APP_H

#include "config/settings.h"
#include "eda/metrics.h"
#include "services/upstream.h"

#include <stddef.h>

typedef struct gw_app gw_app_t;

/* Builds a stopped gateway from S (borrowed; must outlive it). Returns NULL
 * with ERR filled when a key, the OpenAPI file or a setting cannot be used. */
gw_app_t *gw_app_new(const gw_settings_t *s, char *err, size_t errsz);

/* Starts listening. Returns 0 or an EDA_HTTP_* error with ERR filled. */
int gw_app_start(gw_app_t *a, char *err, size_t errsz);

/* The daemon's life after gw_app_new(): starts, serves until SIGTERM/SIGINT
 * (eda_shutdown_init() must have been called), then arms the shutdown
 * watchdog so that gw_app_free() cannot hang the process. Returns 0 after a
 * signal, or 1 when the server could not start (logged). */
int gw_app_run(gw_app_t *a);

unsigned short gw_app_port(const gw_app_t *a);
eda_metrics_t *gw_app_metrics(const gw_app_t *a);
gw_upstream_t *gw_app_upstream(const gw_app_t *a);

/* Graceful stop: no new connections, in-flight requests drained (those
 * still waiting on an upstream get 503), engine thread joined. Idempotent. */
void gw_app_stop(gw_app_t *a);

/* Stops if needed and frees. NULL allowed. */
void gw_app_free(gw_app_t *a);

#endif
