/*
 * Test helpers for the gateway (see gw_support.h).
 */
#include "support/gw_support.h"

#include "app.h"
#include "eda/log.h"
#include "services/jwt_issue.h"
#include "utils/file.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- accept counter ------------------------------------------------------ */

#define MAX_PORTS 16

static struct {
	atomic_int port;
	atomic_long count;
} accepts[MAX_PORTS];

static void count_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port;

	memset(&ss, 0, sizeof(ss)); /* the analyser cannot see getsockname fill it */
	if (getsockname(lfd, (struct sockaddr *)&ss, &len) != 0)
		return;
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                      : ((struct sockaddr_in *)&ss)->sin_port);
	for (int i = 0; i < MAX_PORTS; i++) {
		int expect = 0;

		/* Claim a free slot for a new port; a racing claim for the same
		 * port is seen by the second load. */
		if (atomic_load(&accepts[i].port) == 0)
			atomic_compare_exchange_strong(&accepts[i].port, &expect, port);
		if (atomic_load(&accepts[i].port) == port) {
			atomic_fetch_add(&accepts[i].count, 1);
			return;
		}
	}
}

/* libmicrohttpd accepts with accept4(); this definition in the test program
 * comes first in symbol lookup, counts, and calls the real one. */
int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	int c;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept4");
	c = real(fd, addr, alen, flags);
	if (c >= 0)
		count_accept(fd);
	return c;
}

long ts_accepts_on(unsigned short port)
{
	for (int i = 0; i < MAX_PORTS; i++) {
		if (atomic_load(&accepts[i].port) == port)
			return atomic_load(&accepts[i].count);
	}
	return 0;
}

/* ---- stub upstream --------------------------------------------------------- */

static atomic_long stub_requests;

long ts_stub_requests(void)
{
	return atomic_load(&stub_requests);
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static void stub_echo(eda_http_req_t *r, void *ctx)
{
	static const char *const headers[] = {"x-customer-id",    "x-customer-email",
	                                      "x-roles",          "x-request-id",
	                                      "traceparent",      "tracestate",
	                                      "content-type",     "authorization",
	                                      "idempotency-key",  "accept",
	                                      "x-forwarded-evil", "connection",
	                                      "expect",           "cookie"};
	static const char *const params[] = {"status", "limit", "cursor",
	                                     "wait",   "extra", "access_token"};
	const char *id = eda_http_req_param(r, "id");
	json_t *o = json_object(), *h = json_object(), *q = json_object();
	size_t len = 0;
	const char *body = eda_http_req_body(r, &len);

	(void)ctx;
	atomic_fetch_add(&stub_requests, 1);
	if (id == NULL)
		id = eda_http_req_param(r, "sku");
	if (id != NULL && strcmp(id, "slow") == 0) {
		struct timespec ts = {.tv_sec = 1, .tv_nsec = 500 * 1000000L};

		nanosleep(&ts, NULL);
	}
	if (id != NULL && strncmp(id, "status-", 7) == 0) {
		int st = atoi(id + 7);

		json_decref(o);
		json_decref(h);
		json_decref(q);
		if (st == 204) {
			eda_http_reply(r, 204, NULL, NULL, 0);
		} else {
			json_t *errs =
			        st == 422 ? eda_problem_field_error(NULL, "items", "is required")
			                  : NULL;

			eda_http_reply_problem(r, st, NULL, "stub problem", errs);
		}
		return;
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		json_object_set_new(h, headers[i], str_or_null(eda_http_req_header(r, headers[i])));
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		json_object_set_new(q, params[i], str_or_null(eda_http_req_query(r, params[i])));
	json_object_set_new(o, "method", json_string(eda_http_req_method(r)));
	json_object_set_new(o, "path", json_string(eda_http_req_path(r)));
	json_object_set_new(o, "route", json_string(eda_http_req_route(r)));
	json_object_set_new(o, "headers", h);
	json_object_set_new(o, "query", q);
	json_object_set_new(o, "body", json_stringn(body, len));
	eda_http_reply_header(r, "Location", "/orders/123");
	eda_http_reply_header(r, "ETag", "\"v1\"");
	eda_http_reply_header(r, "X-Upstream", "stub");
	eda_http_reply_header(r, "Keep-Alive", "timeout=5");
	eda_http_reply_header(r, "Proxy-Authenticate", "Basic");
	eda_http_reply_header(r, "Connection", "X-Hop");
	eda_http_reply_header(r, "X-Hop", "1");
	eda_http_reply_json(r, strcmp(eda_http_req_method(r), "POST") == 0 ? 201 : 200, o);
}

void ts_stub_start(ts_stub_t *st)
{
	static const char *const routes[][2] = {
	        {"POST", "/orders"},        {"GET", "/orders"},
	        {"GET", "/orders/{id}"},    {"POST", "/orders/{id}/cancel"},
	        {"GET", "/products"},       {"GET", "/products/{sku}"},
	        {"PUT", "/products/{sku}"}, {"POST", "/products/{sku}/restock"},
	        {"DELETE", "/orders/{id}"}, {"PATCH", "/orders/{id}"},
	};
	eda_http_config_t cfg = {
	        .bind_addr = "127.0.0.1", .threads = 4, .drain_ms = 200, .service = "stub"};
	char err[256];

	eda_log_init("api-gateway-test", EDA_LOG_WARN);
	st->srv = eda_http_server_new(&cfg, err, sizeof(err));
	ck_assert_msg(st->srv != NULL, "%s", err);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		ck_assert_int_eq(
		        eda_http_route(st->srv, routes[i][0], routes[i][1], stub_echo, NULL), 0);
	ck_assert_msg(eda_http_server_start(st->srv, err, sizeof(err)) == 0, "%s", err);
	st->port = eda_http_server_port(st->srv);
	snprintf(st->url, sizeof(st->url), "http://127.0.0.1:%u", (unsigned)st->port);
}

void ts_stub_stop(ts_stub_t *st)
{
	eda_http_server_free(st->srv);
	st->srv = NULL;
}

/* ---- client ---------------------------------------------------------------- */

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = size * n;

	b->p = realloc(b->p, b->n + len + 1);
	ck_assert_ptr_nonnull(b->p);
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static size_t collect_headers(char *data, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	/* Keep only the last response's block. */
	if (size * n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		b->n = 0;
	return collect(data, size, n, ud);
}

static CURL *client;

void ts_http(const char *method, const char *url, const char *const *headers, const char *body,
             ts_resp_t *out)
{
	struct curl_slist *hl = NULL;
	struct buf b = {0}, h = {0};
	CURLcode rc;

	if (client == NULL)
		client = curl_easy_init();
	else
		curl_easy_reset(client);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	/* Small bodies go at once; a large one waits for 100-continue, so that an
	 * early 413 is read instead of a reset of the connection mid-upload. */
	if (body == NULL || strlen(body) < 1024 * 1024)
		hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(client, CURLOPT_URL, url);
	curl_easy_setopt(client, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(client, CURLOPT_TIMEOUT, 20L);
	/* Send "/orders/.." as it is: the gateway must refuse it itself. */
	curl_easy_setopt(client, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(client, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(client, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(client, CURLOPT_HEADERFUNCTION, collect_headers);
	curl_easy_setopt(client, CURLOPT_HEADERDATA, &h);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(client, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(client, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(client, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		curl_easy_setopt(client, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(client);
	curl_slist_free_all(hl);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(client, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = b.p != NULL ? b.p : strdup("");
	out->len = b.n;
	out->headers = h.p != NULL ? h.p : strdup("");
}

const char *ts_header(const ts_resp_t *r, const char *name, char *buf, size_t bufsz)
{
	size_t n = strlen(name);

	for (const char *l = r->headers; l != NULL && *l != '\0';) {
		const char *end = strstr(l, "\r\n");
		size_t len = end != NULL ? (size_t)(end - l) : strlen(l);

		if (len > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1;

			while (*v == ' ')
				v++;
			snprintf(buf, bufsz, "%.*s", (int)(len - (size_t)(v - l)), v);
			return buf;
		}
		l = end != NULL ? end + 2 : NULL;
	}
	return NULL;
}

json_t *ts_json(const ts_resp_t *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, r->body);
	return j;
}

void ts_resp_free(ts_resp_t *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

/* ---- settings and keys ----------------------------------------------------- */

void ts_settings(gw_settings_t *s, const char *order_url, const char *inventory_url)
{
	static char *no_origins[] = {NULL};

	memset(s, 0, sizeof(*s));
	s->bind_addr = "127.0.0.1";
	s->port = 0;
	s->http_threads = 2;
	s->log_level = EDA_LOG_WARN;
	s->max_body = 1024 * 1024;
	s->order_url = order_url;
	s->inventory_url = inventory_url;
	s->upstream_timeout_ms = 2000;
	s->connect_timeout_ms = 1000;
	s->ready_timeout_ms = 1000;
	s->max_inflight = 64;
	s->jwt_alg = GW_ALG_HS256;
	s->jwt_secret = TS_SECRET;
	s->jwt_leeway_s = 30;
	s->rate_per_s = 0;
	s->rate_burst = 1;
	s->cors_origins = no_origins;
	s->ncors = 0;
	s->openapi_file = "api-gateway/openapi.json";
}

static char keydir[64];
static char priv_path[128], pub_path[128];
static pid_t key_owner;

/* Only the process that made the keys removes them: check's forked tests
 * run atexit handlers too and must not delete what their siblings use. */
static void remove_keys(void)
{
	if (getpid() != key_owner)
		return;
	unlink(priv_path);
	unlink(pub_path);
	rmdir(keydir);
}

static void make_keys(void)
{
	char cmd[512];

	if (keydir[0] != '\0')
		return;
	/* Called from main() before the suite runs, where check's asserts
	 * cannot report: failures here end the program plainly. */
	snprintf(keydir, sizeof(keydir), "/tmp/gw-keys-XXXXXX");
	if (mkdtemp(keydir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(priv_path, sizeof(priv_path), "%s/private.pem", keydir);
	snprintf(pub_path, sizeof(pub_path), "%s/public.pem", keydir);
	snprintf(cmd, sizeof(cmd),
	         "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null"
	         " && openssl pkey -in %s -pubout -out %s 2>/dev/null",
	         priv_path, priv_path, pub_path);
	key_owner = getpid();
	atexit(remove_keys);
	if (system(cmd) != 0) {
		fprintf(stderr, "openssl could not make an RSA key pair\n");
		exit(1);
	}
}

const char *ts_rsa_private(void)
{
	make_keys();
	return priv_path;
}

const char *ts_rsa_public(void)
{
	make_keys();
	return pub_path;
}

char *ts_slurp(const char *path)
{
	char err[256];
	char *s = gw_read_file(path, 1 << 20, NULL, err, sizeof(err));

	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

char *ts_bearer(const char *sub, const char *roles)
{
	char err[256];
	char *tok = gw_auth_issue(GW_ALG_HS256, TS_SECRET, strlen(TS_SECRET), sub,
	                          "someone@example.com", roles, 600, NULL, NULL, time(NULL), err,
	                          sizeof(err));
	char *h;

	ck_assert_msg(tok != NULL, "%s", err);
	ck_assert_int_gt(asprintf(&h, "Authorization: Bearer %s", tok), 0);
	free(tok);
	return h;
}

const char *ts_gateway_bin(void)
{
	static char path[512];
	const char *dir = getenv("EDA_BIN_DIR");

	snprintf(path, sizeof(path), "%s/api-gateway", dir != NULL && *dir ? dir : "build/bin");
	return path;
}

struct gw_app *ts_gateway(const gw_settings_t *s, char base[64])
{
	char err[512];
	gw_app_t *g;

	eda_log_init("api-gateway", EDA_LOG_WARN);
	g = gw_app_new(s, err, sizeof(err));

	ck_assert_msg(g != NULL, "%s", err);
	ck_assert_msg(gw_app_start(g, err, sizeof(err)) == 0, "%s", err);
	snprintf(base, 64, "http://127.0.0.1:%u", (unsigned)gw_app_port(g));
	return g;
}
