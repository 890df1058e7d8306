/*
 * Wiring of the gateway (see app.h). Shutdown order matters: the HTTP
 * server stops first (no new requests; those parked on the upstream engine
 * are answered 503 by the server), then the engine (services/upstream.c)
 * aborts what it still carries and joins, and only then is the server freed,
 * because a parked request must stay valid until the engine has let go of it.
 */
#include "app.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/http.h"
#include "eda/log.h"
#include "eda/shutdown.h"
#include "routers/api.h"
#include "routers/docs.h"
#include "services/jwt_verify.h"
#include "services/rate_limit.h"

#include <stdlib.h>

#define DRAIN_MS 5000
/* Drain (5 s) + server drain (5 s) + margin: a hang past this is a bug and
 * must not keep the pod from terminating. */
#define SHUTDOWN_DEADLINE_S 20

struct gw_app {
	const gw_settings_t *settings;
	eda_metrics_t *metrics;
	eda_http_server_t *server;
	gw_auth_t *auth;
	gw_rate_limit_t *rate;
	gw_upstream_t *upstream;
	gw_docs_t *docs;
	gw_api_t api;
};

static int order_ready(void *ctx, char *err, size_t errsz)
{
	const gw_settings_t *s = ctx;

	return gw_upstream_healthy(s->order_url, s->ready_timeout_ms, err, errsz);
}

static int inventory_ready(void *ctx, char *err, size_t errsz)
{
	const gw_settings_t *s = ctx;

	return gw_upstream_healthy(s->inventory_url, s->ready_timeout_ms, err, errsz);
}

gw_app_t *gw_app_new(const gw_settings_t *s, char *err, size_t errsz)
{
	gw_app_t *g = eda_xcalloc(1, sizeof(*g));
	/* Proxying does not hold server threads (the engine does the waiting),
	 * so the pool is sized for CPU work: JWT checks and parsing. */
	eda_http_config_t hc = {.bind_addr = s->bind_addr,
	                        .port = s->port,
	                        .threads = s->http_threads,
	                        .per_ip_limit = s->per_ip_limit,
	                        .max_body = s->max_body,
	                        .service = "api-gateway"};
	gw_upstream_config_t pc = {.timeout_ms = s->upstream_timeout_ms,
	                           .connect_timeout_ms = s->connect_timeout_ms,
	                           .max_inflight = s->max_inflight};

	g->settings = s;
	g->metrics = eda_metrics_new();
	hc.metrics = g->metrics;
	pc.metrics = g->metrics;
	g->auth = gw_auth_from_settings(s, err, errsz);
	if (g->auth == NULL)
		goto fail;
	g->docs = gw_docs_load(s->openapi_file, err, errsz);
	if (g->docs == NULL)
		goto fail;
	if (s->rate_per_s > 0)
		g->rate = gw_rate_limit_new(s->rate_per_s, s->rate_burst);
	g->server = eda_http_server_new(&hc, err, errsz);
	if (g->server == NULL)
		goto fail;
	g->upstream = gw_upstream_new(&pc, err, errsz);
	if (g->upstream == NULL)
		goto fail;
	g->api.settings = s;
	g->api.auth = g->auth;
	g->api.rate = g->rate;
	g->api.upstream = g->upstream;
	if (gw_api_routes_add(g->server, &g->api, err, errsz) != 0)
		goto fail;
	if (gw_docs_routes_add(g->server, g->docs) != 0 ||
	    eda_http_add_ready_check(g->server, "order-service", order_ready, (void *)s) != 0 ||
	    eda_http_add_ready_check(g->server, "inventory-service", inventory_ready, (void *)s) !=
	            0) {
		eda_errf(err, errsz, "cannot route the gateway's own endpoints");
		goto fail;
	}
	return g;
fail:
	gw_app_free(g);
	return NULL;
}

int gw_app_start(gw_app_t *g, char *err, size_t errsz)
{
	return eda_http_server_start(g->server, err, errsz);
}

int gw_app_run(gw_app_t *g)
{
	char err[512];

	if (gw_app_start(g, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "cannot start", "error", err, NULL);
		return 1;
	}
	eda_shutdown_await(SHUTDOWN_DEADLINE_S);
	return 0;
}

unsigned short gw_app_port(const gw_app_t *g)
{
	return eda_http_server_port(g->server);
}

eda_metrics_t *gw_app_metrics(const gw_app_t *g)
{
	return g->metrics;
}

gw_upstream_t *gw_app_upstream(const gw_app_t *g)
{
	return g->upstream;
}

void gw_app_stop(gw_app_t *g)
{
	if (g == NULL)
		return;
	/* Requests already with an upstream get to finish; only then does the
	 * server stop, which would answer the ones still parked with 503 (and
	 * waits for the replies just handed to it to be sent). */
	if (g->upstream != NULL && g->server != NULL)
		gw_upstream_drain(g->upstream, DRAIN_MS);
	eda_http_server_stop(g->server);
	gw_upstream_stop(g->upstream);
}

void gw_app_free(gw_app_t *g)
{
	if (g == NULL)
		return;
	gw_app_stop(g);
	eda_http_server_free(g->server);
	gw_upstream_free(g->upstream);
	gw_api_routes_release(&g->api);
	gw_docs_free(g->docs);
	gw_rate_limit_free(g->rate);
	gw_auth_free(g->auth);
	eda_metrics_free(g->metrics);
	free(g);
}
