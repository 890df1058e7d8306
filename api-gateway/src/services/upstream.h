/*
 * The upstream client, the gateway's forwarding engine: one thread runs a
 * libcurl multi handle and carries every upstream exchange, while the HTTP
 * server's threads only parse,
 * authenticate and hand the request over (eda_http_suspend), so a slow
 * upstream never holds a server thread. The multi handle's connection cache
 * keeps upstream connections alive across requests.
 *
 * Outcomes: the upstream's status, body and end-to-end headers are replied
 * as they are (hop-by-hop headers dropped); a refused or unreachable upstream
 * is a 502, one that does not answer within the timeout a 504, and more than
 * max_inflight requests at once a 503, all as problem documents.
 */
#ifndef GW_SERVICES_UPSTREAM_H
#define GW_SERVICES_UPSTREAM_H

#include "eda/http.h"
#include "eda/metrics.h"

#include <curl/curl.h>
#include <stddef.h>

typedef struct gw_upstream gw_upstream_t;

typedef struct {
	long timeout_ms;         /* whole exchange with the upstream */
	long connect_timeout_ms; /* TCP connect */
	long max_inflight;       /* forwarded requests at once; 0 = 4096 */
	size_t max_response;     /* largest upstream body; 0 = 16 MiB */
	eda_metrics_t *metrics;  /* borrowed; upstream_* families are added */
} gw_upstream_config_t;

/* One request to forward. Every pointer member is taken by gw_upstream_forward
 * (freed by the engine, also on failure). */
typedef struct {
	const char *upstream;             /* static name, for metrics and problems */
	char *url;                        /* full upstream URL with query */
	struct curl_slist *headers;       /* request headers to send, "Name: value" */
	struct curl_slist *reply_headers; /* extra headers for the client's reply */
} gw_forward_t;

/* Creates the engine and starts its thread. NULL with ERR filled on failure.
 * curl_global_init() must have been called. */
gw_upstream_t *gw_upstream_new(const gw_upstream_config_t *cfg, char *err, size_t errsz);

/* Suspends R and forwards it as FWD describes; the reply comes later from
 * the engine thread. Call it from R's handler, which must not touch R after
 * this returns. Takes FWD's contents in every case. */
void gw_upstream_forward(gw_upstream_t *p, eda_http_req_t *r, gw_forward_t *fwd);

/* Starts draining: new requests get 503 at once, and this waits up to
 * TIMEOUT_MS for those in flight to finish. Returns 0 when none is left,
 * -1 on timeout. */
int gw_upstream_drain(gw_upstream_t *p, unsigned timeout_ms);

/* Answers every queued and in-flight request with 503 and joins the thread.
 * Call it after eda_http_server_stop() and before eda_http_server_free().
 * Idempotent. */
void gw_upstream_stop(gw_upstream_t *p);

/* Stops if needed and frees. NULL allowed. */
void gw_upstream_free(gw_upstream_t *p);

/* Connections the engine has opened to upstreams so far (keep-alive check). */
long gw_upstream_connections_opened(gw_upstream_t *p);

/* GET BASE_URL/healthz with a short timeout: 0 on 2xx, else -1 with ERR. */
int gw_upstream_healthy(const char *base_url, long timeout_ms, char *err, size_t errsz);

#endif
