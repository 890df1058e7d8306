/*
 * Internals shared by the HTTP server's files: http_server.c (libmicrohttpd
 * daemon and request life cycle), http_request.c (what handlers call) and
 * http_builtin.c (/healthz, /readyz, /metrics). Not installed; nothing outside
 * these files includes it.
 */
#ifndef EDA_HTTP_INTERNAL_H
#define EDA_HTTP_INTERNAL_H

#include "eda/http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#define EDA_HTTP_MAX_REQUEST_ID 128

struct ready_check {
	char *name;
	eda_http_check_t fn;
	void *ctx;
};

struct eda_http_server {
	char *bind_addr;
	char *service;
	unsigned short port;
	unsigned threads;
	size_t max_body;
	unsigned timeout_s;
	unsigned per_ip_limit;
	unsigned drain_ms;

	eda_router_t *router;
	struct ready_check *checks;
	size_t nchecks;

	eda_metrics_t *metrics;
	bool own_metrics;
	eda_metric_t *m_requests; /* http_requests_total{route,code} */
	eda_metric_t *m_duration; /* http_request_duration_seconds{route} */

	struct MHD_Daemon *daemon;
	bool started;
	atomic_bool stopping;
	atomic_long inflight; /* requests MHD has not completed yet */

	/* Guards the state of every request that has called eda_http_suspend
	 * (see struct eda_http_req) and the list of those the application still
	 * holds. One lock for all of them keeps the ordering trivial; only
	 * long-poll requests ever take it. */
	pthread_mutex_t park_lock;
	struct eda_http_req *held;
};

enum req_phase {
	REQ_HEADERS, /* the access handler has not seen the request yet */
	REQ_BODY,    /* routed; collecting the body */
	REQ_HANDLED, /* the handler ran; waiting for or sending the reply */
};

struct eda_http_req {
	eda_http_server_t *server;
	struct MHD_Connection *conn;
	struct timespec start;
	enum req_phase phase;
	char method[EDA_HTTP_MAX_METHOD + 1];
	char id[EDA_HTTP_MAX_REQUEST_ID + 1];

	char *path;        /* raw path, NUL-terminated, inside text[] */
	char *query;       /* decoded in place by the query parser, inside text[]; NULL if none */
	const char *route; /* matched pattern, or NULL ("unmatched" in metrics) */
	eda_http_handler_t handler;
	void *handler_ctx;
	eda_route_match_t match;
	eda_http_query_t args;

	char *body;
	size_t body_len, body_cap;
	bool body_too_large;
	size_t discarded;   /* bytes read and dropped after body_too_large */
	size_t discard_max; /* past this many, the connection is cut instead */

	char **headers; /* name, value, name, value, ...: added by eda_http_reply_header */
	size_t nheaders, headers_cap;

	struct MHD_Response *response; /* built by a reply, queued by the MHD thread */
	unsigned status;
	bool replied;
	bool queued;

	/* Once suspend_requested is set, the fields below and replied/response/
	 * status are guarded by server->park_lock. refs counts MHD (until
	 * NOTIFY_COMPLETED) and the application (from eda_http_suspend until its
	 * reply); the last one to let go frees the request. */
	bool suspend_requested;
	bool parked;  /* MHD_suspend_connection called, not resumed */
	bool app_ref; /* in the held list */
	int refs;
	struct eda_http_req *prev, *next;

	char text[]; /* the request target: raw path, then a copy of the query */
};

/* http_request.c */
eda_http_req_t *eda_http__req_new(eda_http_server_t *s, struct MHD_Connection *conn,
                                  const char *uri);
/* Drops MHD's reference; frees the request if the application holds none. */
void eda_http__req_release_mhd(eda_http_req_t *r);
/* Frees the request whatever its references (server teardown only). */
void eda_http__req_free(eda_http_req_t *r);
/* Answers a suspended request with 503 without taking the application's
 * reference away. Caller holds park_lock. */
void eda_http__req_answer_stopping(eda_http_req_t *r);
/* Queues the reply a handler or another thread produced. */
enum MHD_Result eda_http__req_queue(eda_http_req_t *r);

/* http_builtin.c: routes /healthz, /readyz and /metrics; 0 or an error. */
int eda_http__add_builtins(eda_http_server_t *s);

#endif
