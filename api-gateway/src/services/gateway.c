/*
 * Wiring of the gateway (see gateway.h). Shutdown order matters: the HTTP
 * server stops first (no new requests; those parked on the proxy are
 * answered 503 by the server), then the proxy engine aborts what it still
 * carries and joins, and only then is the server freed, because a parked
 * request must stay valid until the engine has let go of it.
 */
#include "services/gateway.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/http.h"
#include "routers/docs.h"
#include "routers/proxy.h"
#include "services/rate_limit.h"
#include "utils/auth.h"

#include <stdlib.h>

#define DRAIN_MS 5000

struct gw_gateway {
	const gw_settings_t *settings;
	eda_metrics_t *metrics;
	eda_http_server_t *server;
	gw_auth_t *auth;
	gw_rate_limit_t *rate;
	gw_proxy_t *proxy;
	gw_docs_t *docs;
	gw_app_t app;
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

gw_gateway_t *gw_gateway_new(const gw_settings_t *s, char *err, size_t errsz)
{
	gw_gateway_t *g = eda_xcalloc(1, sizeof(*g));
	/* Proxying does not hold server threads (the engine does the waiting),
	 * so the pool is sized for CPU work: JWT checks and parsing. */
	eda_http_config_t hc = {.bind_addr = s->bind_addr,
	                        .port = s->port,
	                        .threads = s->http_threads,
	                        .per_ip_limit = s->per_ip_limit,
	                        .max_body = s->max_body,
	                        .service = "api-gateway"};
	gw_proxy_config_t pc = {.timeout_ms = s->upstream_timeout_ms,
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
	g->proxy = gw_proxy_new(&pc, err, errsz);
	if (g->proxy == NULL)
		goto fail;
	g->app.settings = s;
	g->app.auth = g->auth;
	g->app.rate = g->rate;
	g->app.proxy = g->proxy;
	if (gw_api_routes_add(g->server, &g->app, err, errsz) != 0)
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
	gw_gateway_free(g);
	return NULL;
}

int gw_gateway_start(gw_gateway_t *g, char *err, size_t errsz)
{
	return eda_http_server_start(g->server, err, errsz);
}

unsigned short gw_gateway_port(const gw_gateway_t *g)
{
	return eda_http_server_port(g->server);
}

eda_metrics_t *gw_gateway_metrics(const gw_gateway_t *g)
{
	return g->metrics;
}

gw_proxy_t *gw_gateway_proxy(const gw_gateway_t *g)
{
	return g->proxy;
}

void gw_gateway_stop(gw_gateway_t *g)
{
	if (g == NULL)
		return;
	/* Requests already with an upstream get to finish; only then does the
	 * server stop, which would answer the ones still parked with 503 (and
	 * waits for the replies just handed to it to be sent). */
	if (g->proxy != NULL && g->server != NULL)
		gw_proxy_drain(g->proxy, DRAIN_MS);
	eda_http_server_stop(g->server);
	gw_proxy_stop(g->proxy);
}

void gw_gateway_free(gw_gateway_t *g)
{
	if (g == NULL)
		return;
	gw_gateway_stop(g);
	eda_http_server_free(g->server);
	gw_proxy_free(g->proxy);
	gw_api_routes_release(&g->app);
	gw_docs_free(g->docs);
	gw_rate_limit_free(g->rate);
	gw_auth_free(g->auth);
	eda_metrics_free(g->metrics);
	free(g);
}
