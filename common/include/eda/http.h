/*
 * The HTTP server every daemon embeds: libmicrohttpd in epoll mode with an
 * internal thread pool, a router (eda/http_router.h), JSON bodies with a size
 * limit, RFC 9457 problem documents for every error, X-Request-Id handling,
 * one log line and two metrics per request, and the built-in /healthz,
 * /readyz and /metrics.
 *
 *     eda_http_config_t cfg = {.bind_addr = "0.0.0.0", .port = 8001, .threads = 4,
 *                              .service = "order-service", .metrics = reg};
 *     eda_http_server_t *s = eda_http_server_new(&cfg, err, sizeof err);
 *     eda_http_route(s, "POST", "/orders/{id}/cancel", cancel_order, svc);
 *     eda_http_server_start(s, err, sizeof err);
 *     ...
 *     eda_http_server_stop(s);
 *     eda_http_server_free(s);
 *
 * Handlers run on the server's threads. Each request gets exactly one reply
 * (eda_http_reply_*), either before the handler returns or, after
 * eda_http_suspend(), later from any thread; a handler that returns without
 * doing either gets a 500 sent for it.
 *
 * Lifetime of a request: everything a request owns (body, parameters, headers
 * read through it) is freed in one place after its response is sent. A handler
 * that does not suspend must not keep the request after it returns. A
 * suspended request stays valid until it has been replied to by its owner,
 * even if eda_http_server_stop() answered it with 503 first (that later reply
 * is then discarded); eda_http_server_free() frees any that were never
 * replied to, so no request pointer may be used after it.
 */
#ifndef EDA_HTTP_H
#define EDA_HTTP_H

#include "eda/http_router.h"
#include "eda/metrics.h"

#include <jansson.h>
#include <stddef.h>

typedef struct eda_http_server eda_http_server_t;
typedef struct eda_http_req eda_http_req_t;

/* A route handler; CTX is what was given to eda_http_route. */
typedef void (*eda_http_handler_t)(eda_http_req_t *req, void *ctx);

/* A readiness check: returns 0 when the dependency is usable, otherwise
 * nonzero with a short reason in ERR (no secrets: /readyz shows it). It runs on
 * a server thread for every GET /readyz, so it must bound its own time. */
typedef int (*eda_http_check_t)(void *ctx, char *err, size_t errsz);

typedef struct {
	const char *bind_addr;  /* numeric address or host name; NULL = "127.0.0.1" */
	unsigned short port;    /* 0 = an ephemeral port, see eda_http_server_port */
	unsigned threads;       /* size of the thread pool; 0 = 1 */
	size_t max_body;        /* largest request body in bytes; 0 = 1 MiB */
	unsigned timeout_s;     /* idle connection timeout; 0 = 30 s */
	unsigned per_ip_limit;  /* connections one client address may hold; 0 = no limit */
	unsigned drain_ms;      /* how long stop() waits for in-flight requests; 0 = 5 s */
	const char *service;    /* shown by /healthz; NULL = none */
	eda_metrics_t *metrics; /* borrowed; NULL = the server keeps its own */
} eda_http_config_t;

#define EDA_HTTP_DEFAULT_MAX_BODY (1024 * 1024)

/* ---- server ------------------------------------------------------------- */

/* Creates a stopped server with /healthz, /readyz and /metrics routed, and the
 * http_requests_total{route,code} and http_request_duration_seconds{route}
 * families registered. Returns NULL with ERR filled on a bad configuration. */
eda_http_server_t *eda_http_server_new(const eda_http_config_t *cfg, char *err, size_t errsz);

/* Routes METHOD and PATTERN (see eda/http_router.h) to FN. Only before start.
 * Returns 0, or EDA_HTTP_EINVAL, EDA_HTTP_EEXIST, EDA_HTTP_ESTATE. */
int eda_http_route(eda_http_server_t *s, const char *method, const char *pattern,
                   eda_http_handler_t fn, void *ctx);

/* Adds a readiness check named NAME (copied) to /readyz. Only before start.
 * Returns 0, or EDA_HTTP_EINVAL, EDA_HTTP_ESTATE. */
int eda_http_add_ready_check(eda_http_server_t *s, const char *name, eda_http_check_t fn,
                             void *ctx);

/* Binds and starts serving. Returns 0, or EDA_HTTP_ESTATE (already started),
 * EDA_HTTP_EINVAL (bad address) or EDA_HTTP_ESYS, with ERR filled. */
int eda_http_server_start(eda_http_server_t *s, char *err, size_t errsz);

/* The port the server listens on (the real one when started with port 0). */
unsigned short eda_http_server_port(const eda_http_server_t *s);

/* The registry the server records into (the configured one or its own). */
eda_metrics_t *eda_http_server_metrics(const eda_http_server_t *s);

/* Stops accepting connections, answers suspended requests with 503, waits up
 * to drain_ms for in-flight requests to finish, then stops the threads.
 * Idempotent; call it from a thread that is not a handler. */
void eda_http_server_stop(eda_http_server_t *s);

/* Stops the server if needed and frees it. NULL is allowed. */
void eda_http_server_free(eda_http_server_t *s);

/* ---- request ------------------------------------------------------------ */

/* Every string returned below is owned by the request and valid until the
 * request has been replied to. */

const char *eda_http_req_method(const eda_http_req_t *r);
/* The path as received, still percent-encoded, without the query. */
const char *eda_http_req_path(const eda_http_req_t *r);
/* The pattern of the matched route ("/orders/{id}"). */
const char *eda_http_req_route(const eda_http_req_t *r);
/* The decoded value of the {NAME} segment, or NULL. */
const char *eda_http_req_param(const eda_http_req_t *r, const char *name);
/* The decoded value of the first query parameter NAME ("" for "?name"), or NULL. */
const char *eda_http_req_query(const eda_http_req_t *r, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *eda_http_req_header(const eda_http_req_t *r, const char *name);
/* The request id: the client's X-Request-Id when it is 1..128 visible ASCII
 * characters, otherwise a fresh UUID v4. Echoed in the response. */
const char *eda_http_req_id(const eda_http_req_t *r);
/* The body (NUL-terminated for convenience; it may contain NULs) and its length
 * in *LEN (if not NULL). An empty body gives "" and 0. */
const char *eda_http_req_body(const eda_http_req_t *r, size_t *len);

/* Parses the body as JSON into *OUT (a new reference the caller owns). The
 * request must say Content-Type: application/json (or application/...+json).
 * Returns 0, or -1 after having replied 415 (other content type) or 400 (empty
 * or malformed body, duplicate keys); the handler then just returns. */
int eda_http_req_json(eda_http_req_t *r, json_t **out);

/* ---- response ----------------------------------------------------------- */

/* Adds a response header for the coming reply (name and value copied). Header
 * names or values with CR, LF or NUL are dropped with a warning. Call it from
 * the thread that will reply, before the reply. */
void eda_http_reply_header(eda_http_req_t *r, const char *name, const char *value);

/* Like eda_http_reply, but takes BODY (malloc'd, freed with free()) instead
 * of copying it: for a large body that is already in a buffer of its own
 * (a proxied response, say). BODY is taken in every case; NULL with LEN 0
 * sends an empty body. */
void eda_http_reply_take(eda_http_req_t *r, int status, const char *content_type, char *body,
                         size_t len);

/* Replies with BODY serialised (compact). BODY is stolen, even on failure;
 * NULL sends "null". */
void eda_http_reply_json(eda_http_req_t *r, int status, json_t *body);

/* Replies with LEN bytes of BODY (copied) and CONTENT_TYPE (NULL for none). */
void eda_http_reply(eda_http_req_t *r, int status, const char *content_type, const char *body,
                    size_t len);

/* Replies with an application/problem+json document: "type" is
 * "urn:eda:problem:validation" when ERRORS is given, else "about:blank";
 * TITLE NULL uses the status' reason phrase; DETAIL may be NULL. ERRORS (an
 * array from eda_problem_field_error, or NULL) is stolen. */
void eda_http_reply_problem(eda_http_req_t *r, int status, const char *title, const char *detail,
                            json_t *errors);

/* Replies with a complete problem document built by the caller (see
 * eda_problem_new); the status is its "status" member (500 if missing). PROBLEM
 * is stolen. */
void eda_http_reply_problem_json(eda_http_req_t *r, json_t *problem);

/* Parks the request without holding a thread: the handler calls this and
 * returns; any thread later replies with eda_http_reply_*(r, ...), which wakes
 * the connection. Call it only from the handler, before handing R over. */
void eda_http_suspend(eda_http_req_t *r);

/* ---- problem documents (RFC 9457) -------------------------------------- */

#define EDA_PROBLEM_VALIDATION "urn:eda:problem:validation"

/* A new problem object {type, title, status, detail}. TYPE NULL means
 * "about:blank", TITLE NULL the reason phrase of STATUS, DETAIL NULL leaves
 * it out. The caller owns the result and may add extension members. */
json_t *eda_problem_new(int status, const char *type, const char *title, const char *detail);

/* Appends {field, message} to ERRORS (created when NULL) and returns it. */
json_t *eda_problem_field_error(json_t *errors, const char *field, const char *message);

/* The reason phrase of an HTTP status ("Not Found"), "Unknown" if none. */
const char *eda_http_reason(int status);

#endif
