/*
 * Helpers for the gateway's suites: a stub upstream built with the common
 * HTTP server that echoes what it received, a counter of TCP connections
 * accepted per listening port (to prove keep-alive), a small libcurl client,
 * settings for an in-process gateway, and RSA keys made with the openssl CLI.
 */
#ifndef GW_TEST_SUPPORT_H
#define GW_TEST_SUPPORT_H

#include "config/settings.h"
#include "eda/http.h"

#include <jansson.h>
#include <stddef.h>

#define TS_SECRET "test-secret-0123456789abcdef-0123456789"

/* ---- stub upstream ------------------------------------------------------ */

/* Serves every gateway route. The answer is JSON describing the request
 * (method, path, query values, the headers the gateway may set or must not
 * forward, body) with Location, ETag, X-Upstream and hop-by-hop headers
 * (Keep-Alive, Proxy-Authenticate, and X-Hop named by "Connection: X-Hop").
 * Behaviour by {id}/{sku}: "slow" sleeps 1.5 s first; "status-NNN" answers NNN
 * (a problem document for 4xx/5xx, nothing for 204). */
typedef struct {
	eda_http_server_t *srv;
	unsigned short port;
	char url[64];
} ts_stub_t;

void ts_stub_start(ts_stub_t *st);
/* Stops and frees the stub. The suites do not call it: stopping a server
 * whose threads are busy (closing the gateway's upstream connections, say)
 * can hit a race inside libmicrohttpd 0.9.75's MHD_quiesce_daemon(), reached
 * from eda_http_server_stop(), which aborts the process. A stub simply ends
 * with its forked test process. */
void ts_stub_stop(ts_stub_t *st);
/* Requests the stubs have handled in this process. */
long ts_stub_requests(void);

/* TCP connections accepted so far on listening port PORT in this process
 * (counted by an accept4() wrapper). */
long ts_accepts_on(unsigned short port);

/* ---- client ------------------------------------------------------------- */

typedef struct {
	long status;
	char *body;
	size_t len;
	char *headers; /* raw header block of the final response */
} ts_resp_t;

/* METHOD URL with HEADERS (NULL-terminated "Name: value" list, may be NULL)
 * and BODY (NULL: none). Fails the test on a transport error. Reuses one
 * connection per process, so several calls share a keep-alive connection. */
void ts_http(const char *method, const char *url, const char *const *headers, const char *body,
             ts_resp_t *out);
/* The value of header NAME in R (case-insensitive) copied into BUF, or NULL. */
const char *ts_header(const ts_resp_t *r, const char *name, char *buf, size_t bufsz);
/* The body as JSON (fails the test if it is not). */
json_t *ts_json(const ts_resp_t *r);
void ts_resp_free(ts_resp_t *r);

/* ---- gateway settings and keys ------------------------------------------ */

/* HS256 with TS_SECRET, bind 127.0.0.1 port 0, upstreams ORDER and INVENTORY,
 * rate limiting off, 2 s upstream timeout, openapi from the repo. */
void ts_settings(gw_settings_t *s, const char *order_url, const char *inventory_url);

/* Makes an RSA key pair once per process in a temporary directory; returns
 * the paths of the PEM files. */
const char *ts_rsa_private(void);
const char *ts_rsa_public(void);
/* The content of a file (malloc'd, NUL-terminated). */
char *ts_slurp(const char *path);

/* "Authorization: Bearer <HS256 token>" for SUB with ROLES (csv), malloc'd. */
char *ts_bearer(const char *sub, const char *roles);

/* Builds and starts an in-process gateway from S (which must outlive it) and
 * writes "http://127.0.0.1:PORT" into BASE. */
struct gw_app;
struct gw_app *ts_gateway(const gw_settings_t *s, char base[64]);

/* EDA_BIN_DIR/api-gateway (default build/bin). */
const char *ts_gateway_bin(void);

#endif
