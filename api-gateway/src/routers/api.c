/*
 * Public routes -> upstream requests (see api.h). A request goes through
 * CORS, authentication, authorisation and the rate limit on the server
 * thread; everything that talks to an upstream happens on the upstream
 * engine's thread (services/upstream.c).
 *
 * Request headers are forwarded from a fixed list of end-to-end headers the
 * services use, rather than "everything but hop-by-hop": hop-by-hop and
 * identity headers (X-Customer-*, X-Roles, Authorization) can then never
 * slip through, whatever spelling a client uses. Query parameters are
 * forwarded per route for the same reason (and because the HTTP server only
 * offers them by name).
 */
#include "routers/api.h"

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/event.h"
#include "eda/identity.h"
#include "eda/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const gw_route_t gw_routes[] = {
        {"POST", "/orders", GW_SERVICE_ORDER, NULL, ""},
        {"GET", "/orders", GW_SERVICE_ORDER, NULL, "status,limit,cursor"},
        {"GET", "/orders/{id}", GW_SERVICE_ORDER, NULL, "wait"},
        {"POST", "/orders/{id}/cancel", GW_SERVICE_ORDER, NULL, ""},
        {"GET", "/products", GW_SERVICE_INVENTORY, NULL, "limit,cursor"},
        {"GET", "/products/{sku}", GW_SERVICE_INVENTORY, NULL, ""},
        {"PUT", "/products/{sku}", GW_SERVICE_INVENTORY, "admin", ""},
        {"POST", "/products/{sku}/restock", GW_SERVICE_INVENTORY, "admin", ""},
};
const size_t gw_nroutes = sizeof(gw_routes) / sizeof(gw_routes[0]);

static const char *const forwarded_headers[] = {
        "Accept",   "Accept-Language", "Content-Type", "Idempotency-Key",
        "If-Match", "If-None-Match",   "User-Agent",   "Prefer",
};

#define ALLOW_HEADERS                                                                              \
	"Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id, traceparent"
#define EXPOSE_HEADERS "X-Request-Id, Location, Retry-After, ETag"

/* Binds a route entry to the api for the handler's context. */
struct bound_route {
	const gw_route_t *route;
	gw_api_t *api;
};

/* One allocation per pattern for the OPTIONS route. */
struct preflight {
	char methods[64];
	gw_api_t *api;
};

/* The handlers' contexts, owned by the api (gw_api_t.routes). */
struct gw_routes_ctx {
	struct bound_route bound[sizeof(gw_routes) / sizeof(gw_routes[0])];
	struct preflight preflights[sizeof(gw_routes) / sizeof(gw_routes[0])];
};

static const char *upstream_name(gw_service_t u)
{
	return u == GW_SERVICE_ORDER ? "order-service" : "inventory-service";
}

static const char *upstream_url(const gw_api_t *api, gw_service_t u)
{
	return u == GW_SERVICE_ORDER ? api->settings->order_url : api->settings->inventory_url;
}

/* ---- CORS --------------------------------------------------------------- */

/* The allowed Origin of the request, or NULL when there is none or it is not
 * allowed (then no CORS header is sent and the browser blocks the answer). */
static const char *cors_origin(const gw_api_t *api, eda_http_req_t *r)
{
	const char *origin = eda_http_req_header(r, "Origin");

	return gw_settings_origin_allowed(api->settings, origin) ? origin : NULL;
}

static void cors_reply_headers(eda_http_req_t *r, const char *origin)
{
	if (origin == NULL)
		return;
	eda_http_reply_header(r, "Access-Control-Allow-Origin", origin);
	eda_http_reply_header(r, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
	eda_http_reply_header(r, "Vary", "Origin");
}

static void preflight(eda_http_req_t *r, void *ctx)
{
	struct preflight *pf = ctx;
	const char *origin = eda_http_req_header(r, "Origin");
	const char *want = eda_http_req_header(r, "Access-Control-Request-Method");

	if (origin == NULL || want == NULL) {
		/* A plain OPTIONS: say what the resource supports. */
		eda_http_reply_header(r, "Allow", pf->methods);
		eda_http_reply(r, 204, NULL, NULL, 0);
		return;
	}
	if (!gw_settings_origin_allowed(pf->api->settings, origin)) {
		eda_http_reply_problem(r, 403, NULL, "this origin is not allowed", NULL);
		return;
	}
	eda_http_reply_header(r, "Access-Control-Allow-Origin", origin);
	eda_http_reply_header(r, "Access-Control-Allow-Methods", pf->methods);
	eda_http_reply_header(r, "Access-Control-Allow-Headers", ALLOW_HEADERS);
	eda_http_reply_header(r, "Access-Control-Max-Age", "600");
	eda_http_reply_header(r, "Vary", "Origin");
	eda_http_reply(r, 204, NULL, NULL, 0);
}

/* ---- building the upstream request ---------------------------------------- */

/* Appends S to the growing URL, percent-encoding every byte that is not a
 * letter, a digit or one of KEEP. */
static void append_encoded(char **buf, size_t *len, size_t *cap, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (*len + 4 > *cap) {
			*cap = *cap * 2 + 64;
			*buf = eda_xrealloc(*buf, *cap);
		}
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr(keep, c) != NULL) {
			(*buf)[(*len)++] = (char)c;
		} else {
			(*buf)[(*len)++] = '%';
			(*buf)[(*len)++] = hex[c >> 4];
			(*buf)[(*len)++] = hex[c & 15];
		}
	}
	(*buf)[*len] = '\0';
}

/* A query value: only RFC 3986's unreserved characters stay as they are. */
static void append_escaped(char **buf, size_t *len, size_t *cap, const char *s)
{
	append_encoded(buf, len, cap, s, "-_.~");
}

/* The raw path as received, with any byte a URL may not carry as it is
 * (raw UTF-8, quotes, spaces...) percent-encoded; existing escapes stay, so
 * the upstream decodes the same segments the gateway's router did. */
static void append_path(char **buf, size_t *len, size_t *cap, const char *path)
{
	append_encoded(buf, len, cap, path, "-._~!$&'()*+,;=:@/%");
}

/* BASE + the raw request path (already checked by the router: no "..",
 * no encoded '/', no control bytes) + the route's parameters re-encoded. */
static char *build_url(const char *base, const gw_route_t *rt, eda_http_req_t *r)
{
	size_t blen = strlen(base);
	char *url, *names, *save = NULL;
	size_t len, cap;
	char sep = '?';

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	url = eda_xasprintf("%.*s", (int)blen, base);
	len = strlen(url);
	cap = len + 1;
	append_path(&url, &len, &cap, eda_http_req_path(r));
	names = eda_xstrdup(rt->query);
	for (char *n = strtok_r(names, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
		const char *v = eda_http_req_query(r, n);

		if (v == NULL)
			continue;
		if (len + strlen(n) + 3 > cap) {
			cap = len + strlen(n) + 64;
			url = eda_xrealloc(url, cap);
		}
		url[len++] = sep;
		sep = '&';
		memcpy(url + len, n, strlen(n));
		len += strlen(n);
		url[len++] = '=';
		url[len] = '\0';
		append_escaped(&url, &len, &cap, v);
	}
	free(names);
	return url;
}

static struct curl_slist *append_line(struct curl_slist *l, const char *line)
{
	l = curl_slist_append(l, line);
	if (l == NULL) {
		fprintf(stderr, "out of memory building upstream headers\n");
		abort();
	}
	return l;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
	/* Most lines fit on the stack; curl_slist_append copies the line. */
	char buf[512], *line = buf;
	int n;

	/* For libcurl "Name:" removes a header and "Name;" sends it empty: an
	 * empty Idempotency-Key must reach the service, which refuses it, not
	 * vanish and leave a retried POST without its key. */
	if (value[0] == '\0') {
		snprintf(buf, sizeof(buf), "%.*s;", (int)(sizeof(buf) - 2), name);
		return append_line(l, buf);
	}
	n = snprintf(buf, sizeof(buf), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(buf))
		line = eda_xasprintf("%s: %s", name, value);
	l = append_line(l, line);
	if (line != buf)
		free(line);
	return l;
}

static struct curl_slist *upstream_headers(eda_http_req_t *r, const gw_identity_t *id)
{
	struct curl_slist *h = NULL;
	const char *incoming = eda_http_req_header(r, "traceparent");
	const char *tracestate = eda_http_req_header(r, "tracestate");
	char tp[EDA_TRACEPARENT_LEN + 1];

	for (size_t i = 0; i < sizeof(forwarded_headers) / sizeof(forwarded_headers[0]); i++) {
		const char *v = eda_http_req_header(r, forwarded_headers[i]);

		if (v != NULL)
			h = add_header(h, forwarded_headers[i], v);
	}
	/* libcurl adds these unless told not to ("Name:" removes a header):
	 * Expect: 100-continue would cost a round trip per large body, and a
	 * made-up Content-Type or Accept would misstate the client's. */
	h = curl_slist_append(h, "Expect:");
	if (eda_http_req_header(r, "Content-Type") == NULL)
		h = curl_slist_append(h, "Content-Type:");
	if (eda_http_req_header(r, "Accept") == NULL)
		h = curl_slist_append(h, "Accept:");
	h = add_header(h, "X-Request-Id", eda_http_req_id(r));
	/* A valid incoming trace is continued with the gateway's own span (and
	 * its tracestate kept); anything else starts a new trace. */
	if (eda_traceparent_child(incoming, tp) == 0 && tracestate != NULL)
		h = add_header(h, "tracestate", tracestate);
	h = add_header(h, "traceparent", tp);
	/* Identity comes from the verified token only; the client's own
	 * X-Customer-* and X-Roles are never in the forwarded list. */
	h = add_header(h, EDA_HEADER_CUSTOMER_ID, id->sub);
	if (id->email[0] != '\0')
		h = add_header(h, EDA_HEADER_CUSTOMER_EMAIL, id->email);
	h = add_header(h, EDA_HEADER_ROLES, id->roles);
	return h;
}

/* ---- the handler ---------------------------------------------------------- */

static void unauthorized(gw_api_t *api, eda_http_req_t *r, const char *origin, int rc,
                         const char *why)
{
	char challenge[320];

	if (rc == GW_AUTH_EMISSING) {
		snprintf(challenge, sizeof(challenge), "Bearer realm=\"eda\"");
		eda_counter_add(api->m_auth, EDA_LABELS("missing"), 1);
	} else {
		snprintf(challenge, sizeof(challenge),
		         "Bearer realm=\"eda\", error=\"invalid_token\", error_description=\"%s\"",
		         why);
		eda_counter_add(api->m_auth, EDA_LABELS("invalid"), 1);
	}
	cors_reply_headers(r, origin);
	eda_http_reply_header(r, "WWW-Authenticate", challenge);
	eda_http_reply_problem(r, 401, NULL, why, NULL);
}

static void forward(eda_http_req_t *r, void *ctx)
{
	struct bound_route *b = ctx;
	gw_api_t *api = b->api;
	const char *origin = cors_origin(api, r);
	gw_identity_t id;
	gw_forward_t fwd = {0};
	char why[160];
	int rc;

	/* RFC 6750 allows access_token in the query; we do not, because URLs
	 * end up in logs, histories and Referer headers. */
	if (eda_http_req_query(r, "access_token") != NULL) {
		unauthorized(api, r, origin, GW_AUTH_EINVALID,
		             "tokens are accepted in the Authorization header only");
		return;
	}
	rc = gw_auth_verify(api->auth, eda_http_req_header(r, "Authorization"), time(NULL), &id,
	                    why, sizeof(why));
	if (rc != GW_AUTH_OK) {
		unauthorized(api, r, origin, rc, why);
		return;
	}
	if (b->route->role != NULL && !gw_auth_has_role(&id, b->route->role)) {
		eda_counter_add(api->m_auth, EDA_LABELS("forbidden"), 1);
		snprintf(why, sizeof(why), "this operation needs the %s role", b->route->role);
		cors_reply_headers(r, origin);
		eda_http_reply_header(r, "WWW-Authenticate",
		                      "Bearer realm=\"eda\", error=\"insufficient_scope\"");
		eda_http_reply_problem(r, 403, NULL, why, NULL);
		return;
	}
	if (api->rate != NULL) {
		unsigned wait =
		        gw_rate_limit_take(api->rate, id.sub, (double)eda_clock_mono_ms() / 1000.0);

		if (wait > 0) {
			char secs[16];

			snprintf(secs, sizeof(secs), "%u", wait);
			cors_reply_headers(r, origin);
			eda_http_reply_header(r, "Retry-After", secs);
			eda_http_reply_problem(r, 429, NULL, "too many requests for this customer",
			                       NULL);
			return;
		}
	}
	fwd.upstream = upstream_name(b->route->upstream);
	fwd.url = build_url(upstream_url(api, b->route->upstream), b->route, r);
	fwd.headers = upstream_headers(r, &id);
	if (origin != NULL) {
		fwd.reply_headers = add_header(NULL, "Access-Control-Allow-Origin", origin);
		fwd.reply_headers = add_header(fwd.reply_headers, "Access-Control-Expose-Headers",
		                               EXPOSE_HEADERS);
		fwd.reply_headers = add_header(fwd.reply_headers, "Vary", "Origin");
	}
	gw_upstream_forward(api->upstream, r, &fwd);
}

int gw_api_routes_add(eda_http_server_t *s, gw_api_t *api, char *err, size_t errsz)
{
	struct bound_route *bound;
	struct preflight *preflights;
	size_t npf = 0;
	int rc;

	if (api->routes == NULL)
		api->routes = eda_xcalloc(1, sizeof(*api->routes));
	bound = api->routes->bound;
	preflights = api->routes->preflights;

	api->m_auth = eda_metrics_counter(eda_http_server_metrics(s), "auth_rejections_total",
	                                  "Requests refused by authentication, by reason "
	                                  "(missing, invalid, forbidden).",
	                                  "reason", err, errsz);
	if (api->m_auth == NULL)
		return EDA_HTTP_EINVAL;
	for (size_t i = 0; i < gw_nroutes; i++) {
		const gw_route_t *rt = &gw_routes[i];
		size_t j;

		bound[i].route = rt;
		bound[i].api = api;
		rc = eda_http_route(s, rt->method, rt->pattern, forward, &bound[i]);
		if (rc != 0) {
			eda_errf(err, errsz, "cannot route %s %s: %s", rt->method, rt->pattern,
			         eda_http_strerror(rc));
			return rc;
		}
		/* One OPTIONS route per pattern, listing all its methods. */
		for (j = 0; j < i && strcmp(gw_routes[j].pattern, rt->pattern) != 0; j++)
			;
		if (j < i)
			continue;
		preflights[npf].api = api;
		snprintf(preflights[npf].methods, sizeof(preflights[npf].methods), "OPTIONS");
		for (size_t k = i; k < gw_nroutes; k++) {
			size_t n = strlen(preflights[npf].methods);

			if (strcmp(gw_routes[k].pattern, rt->pattern) == 0)
				snprintf(preflights[npf].methods + n,
				         sizeof(preflights[npf].methods) - n, ", %s",
				         gw_routes[k].method);
		}
		rc = eda_http_route(s, "OPTIONS", rt->pattern, preflight, &preflights[npf]);
		if (rc != 0) {
			eda_errf(err, errsz, "cannot route OPTIONS %s: %s", rt->pattern,
			         eda_http_strerror(rc));
			return rc;
		}
		npf++;
	}
	return 0;
}

void gw_api_routes_release(gw_api_t *api)
{
	free(api->routes);
	api->routes = NULL;
}
