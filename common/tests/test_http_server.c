/*
 * Tests for the HTTP server (common/src/http_server.c, http_request.c,
 * http_builtin.c, http_problem.c): a real server on 127.0.0.1 and an
 * ephemeral port per test, libcurl (or a raw socket where the test needs to
 * control exactly what is sent) as the client, problem documents checked with
 * Jansson. Timeouts exist only to turn a hang into a failure; no assertion
 * depends on timing.
 */
#include "eda/http.h"
#include "eda/log.h"
#include "eda/metrics.h"

#include "support/check_main.h"
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_TIMEOUT_S 20

static eda_http_server_t *srv;
static eda_metrics_t *reg;
static unsigned per_ip_limit; /* for the next start_with() */
static char base[64];

/* ---- handlers ----------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Echoes what the request looks like to a handler. */
static void h_echo(eda_http_req_t *r, void *ctx)
{
	json_t *o = json_object();

	(void)ctx;
	json_object_set_new(o, "method", json_string(eda_http_req_method(r)));
	json_object_set_new(o, "path", json_string(eda_http_req_path(r)));
	json_object_set_new(o, "route", json_string(eda_http_req_route(r)));
	json_object_set_new(o, "id", str_or_null(eda_http_req_param(r, "id")));
	json_object_set_new(o, "status", str_or_null(eda_http_req_query(r, "status")));
	json_object_set_new(o, "flag", str_or_null(eda_http_req_query(r, "flag")));
	json_object_set_new(o, "x_test", str_or_null(eda_http_req_header(r, "x-test")));
	json_object_set_new(o, "request_id", json_string(eda_http_req_id(r)));
	eda_http_reply_json(r, 200, o);
}

static void h_create(eda_http_req_t *r, void *ctx)
{
	json_t *body, *o;

	(void)ctx;
	if (eda_http_req_json(r, &body) != 0)
		return;
	o = json_object();
	json_object_set_new(o, "received", body);
	eda_http_reply_header(r, "Location", "/orders/new-1");
	eda_http_reply_json(r, 201, o);
}

static void h_validate(eda_http_req_t *r, void *ctx)
{
	json_t *body, *errors = NULL;

	(void)ctx;
	if (eda_http_req_json(r, &body) != 0)
		return;
	if (!json_is_string(json_object_get(body, "sku")))
		errors = eda_problem_field_error(errors, "sku", "is required");
	if (!json_is_integer(json_object_get(body, "quantity")))
		errors = eda_problem_field_error(errors, "quantity", "must be an integer");
	json_decref(body);
	if (errors != NULL) {
		eda_http_reply_problem(r, 422, "Validation failed", "the order is invalid", errors);
		return;
	}
	eda_http_reply(r, 204, NULL, NULL, 0);
}

static void h_size(eda_http_req_t *r, void *ctx)
{
	size_t len;

	(void)ctx;
	eda_http_req_body(r, &len);
	eda_http_reply_json(r, 200, json_pack("{s:I}", "size", (json_int_t)len));
}

static void h_text(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	eda_http_reply(r, 200, "text/plain", "hello", 5);
}

/* A body handed over instead of copied; "?empty" hands over an empty one. */
static void h_taken(eda_http_req_t *r, void *ctx)
{
	bool empty = eda_http_req_query(r, "empty") != NULL;
	char *body = strdup(empty ? "" : "taken body");

	(void)ctx;
	eda_http_reply_take(r, 200, "text/plain", body, strlen(body));
}

static void h_noreply(eda_http_req_t *r, void *ctx)
{
	(void)r;
	(void)ctx;
}

static void h_twice(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	eda_http_reply(r, 200, "text/plain", "first", 5);
	eda_http_reply(r, 202, "text/plain", "second", 6);
}

static void h_badstatus(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	eda_http_reply(r, 42, "text/plain", "x", 1);
}

static void h_badheader(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	eda_http_reply_header(r, "X-Evil", "a\r\nSet-Cookie: stolen=1");
	eda_http_reply_header(r, "X-Bad Name", "v");
	eda_http_reply_header(r, "X-Good", "yes");
	eda_http_reply(r, 200, "text/plain", "ok", 2);
}

/* Parked requests, handed from handlers to the test. */
static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
static eda_http_req_t *parked[16];
static int nparked;

static void h_park(eda_http_req_t *r, void *ctx)
{
	(void)ctx;
	eda_http_suspend(r);
	pthread_mutex_lock(&park_mu);
	parked[nparked++] = r;
	pthread_cond_broadcast(&park_cv);
	pthread_mutex_unlock(&park_mu);
}

static eda_http_req_t *wait_parked(int n)
{
	struct timespec deadline;
	eda_http_req_t *r;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CLIENT_TIMEOUT_S;
	pthread_mutex_lock(&park_mu);
	while (nparked < n) {
		if (pthread_cond_timedwait(&park_cv, &park_mu, &deadline) == ETIMEDOUT)
			break;
	}
	r = nparked >= n ? parked[n - 1] : NULL;
	pthread_mutex_unlock(&park_mu);
	ck_assert_msg(r != NULL, "no request was parked");
	return r;
}

static void *reply_now(void *arg)
{
	eda_http_reply_json(arg, 200, json_pack("{s:b}", "late", 1));
	return NULL;
}

/* Suspends and has another thread reply while the handler may still be
 * running, to exercise the race between the reply and the suspension. */
static void h_race(eda_http_req_t *r, void *ctx)
{
	pthread_t t;
	/* The delay needs variety, not unpredictability. */
	struct timespec ts = {0, (long)(rand() % 3) * 100000L}; /* NOLINT(cert-msc30-c) */

	(void)ctx;
	eda_http_suspend(r);
	pthread_create(&t, NULL, reply_now, r);
	pthread_detach(t);
	nanosleep(&ts, NULL);
}

/* ---- server fixture ----------------------------------------------------- */

static int check_flag_ok = 1;

static int check_db(void *ctx, char *err, size_t errsz)
{
	(void)ctx;
	if (check_flag_ok)
		return 0;
	snprintf(err, errsz, "connection refused");
	return -1;
}

static int check_always(void *ctx, char *err, size_t errsz)
{
	(void)ctx;
	(void)err;
	(void)errsz;
	return 0;
}

static void start_with(unsigned threads, size_t max_body)
{
	eda_http_config_t cfg = {.bind_addr = "127.0.0.1",
	                         .port = 0,
	                         .threads = threads,
	                         .max_body = max_body,
	                         .timeout_s = 10,
	                         .per_ip_limit = per_ip_limit,
	                         .drain_ms = 3000,
	                         .service = "test-service",
	                         .metrics = reg};
	char err[256] = "";

	srv = eda_http_server_new(&cfg, err, sizeof(err));
	ck_assert_msg(srv != NULL, "server_new: %s", err);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/orders/{id}", h_echo, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/orders/special", h_text, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "POST", "/orders", h_create, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "POST", "/validate", h_validate, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "POST", "/upload", h_size, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "PUT", "/upload", h_size, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/taken", h_taken, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/noreply", h_noreply, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/twice", h_twice, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/badstatus", h_badstatus, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/badheader", h_badheader, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/park", h_park, NULL), 0);
	ck_assert_int_eq(eda_http_route(srv, "GET", "/race", h_race, NULL), 0);
	ck_assert_int_eq(eda_http_add_ready_check(srv, "database", check_db, NULL), 0);
	ck_assert_int_eq(eda_http_add_ready_check(srv, "always", check_always, NULL), 0);
	ck_assert_msg(eda_http_server_start(srv, err, sizeof(err)) == 0, "start: %s", err);
	ck_assert_uint_ne(eda_http_server_port(srv), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", eda_http_server_port(srv));
}

static void start(void)
{
	start_with(2, 0);
}

static void setup(void)
{
	int devnull = open("/dev/null", O_WRONLY);

	/* Request log lines would drown check's output; tests that read them
	 * point the logger at a file of their own. */
	eda_log_init("test-http", EDA_LOG_INFO);
	eda_log_set_fd(devnull);
	curl_global_init(CURL_GLOBAL_ALL);
	reg = eda_metrics_new();
	srv = NULL;
	nparked = 0;
	check_flag_ok = 1;
	per_ip_limit = 0;
}

static void teardown(void)
{
	eda_http_server_free(srv);
	srv = NULL;
	eda_metrics_free(reg);
	reg = NULL;
	curl_global_cleanup();
}

/* ---- client helpers ----------------------------------------------------- */

typedef struct {
	CURLcode rc;
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
	curl_off_t uploaded;
} resp_t;

static void buf_append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	resp_t *r = ud;

	buf_append(&r->body, &r->len, p, sz * n);
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	resp_t *r = ud;

	buf_append(&r->headers, &r->hlen, p, sz * n);
	return sz * n;
}

static void resp_free(resp_t *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

/* The value of the last response header NAME (from the last response block,
 * so a "100 Continue" before it does not count), or NULL. Static storage. */
static const char *resp_header(const resp_t *r, const char *name)
{
	static char value[512];
	const char *p = r->headers;
	const char *found = NULL;
	size_t nlen = strlen(name);

	if (p == NULL)
		return NULL;
	for (const char *line = p; line != NULL && *line != '\0';) {
		const char *eol = strstr(line, "\r\n");
		size_t llen = eol != NULL ? (size_t)(eol - line) : strlen(line);

		if (strncmp(line, "HTTP/", 5) == 0)
			found = NULL;
		else if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;
			size_t vlen = llen - nlen - 1;

			while (vlen > 0 && *v == ' ') {
				v++;
				vlen--;
			}
			if (vlen >= sizeof(value))
				vlen = sizeof(value) - 1;
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			found = value;
		}
		line = eol != NULL ? eol + 2 : NULL;
	}
	return found;
}

static CURL *client_new(void)
{
	CURL *h = curl_easy_init();

	ck_assert_ptr_nonnull(h);
	return h;
}

/* One request on handle H (reused connections when H is reused). HEADERS is
 * a NULL-terminated list or NULL; BODY NULL sends none. */
static void request_on(CURL *h, resp_t *out, const char *method, const char *path,
                       const char *const *headers, const char *body, size_t len)
{
	struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
	char url[4096];

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", base, path);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	out->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
}

static void request(resp_t *out, const char *method, const char *path, const char *const *headers,
                    const char *body, size_t len)
{
	CURL *h = client_new();

	request_on(h, out, method, path, headers, body, len);
	curl_easy_cleanup(h);
	ck_assert_msg(out->rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(out->rc));
}

static json_t *resp_json(const resp_t *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body != NULL ? r->body : "", r->len, 0, &e);

	ck_assert_msg(j != NULL, "response is not JSON (%s): %s", e.text,
	              r->body != NULL ? r->body : "");
	return j;
}

/* Asserts an RFC 9457 document with STATUS and returns it (caller decrefs). */
static json_t *check_problem(const resp_t *r, long status)
{
	json_t *p;

	ck_assert_int_eq(r->status, status);
	ck_assert_ptr_nonnull(resp_header(r, "Content-Type"));
	ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
	ck_assert_ptr_nonnull(resp_header(r, "X-Request-Id"));
	p = resp_json(r);
	ck_assert(json_is_string(json_object_get(p, "type")));
	ck_assert(json_is_string(json_object_get(p, "title")));
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), status);
	return p;
}

/* Streams TOTAL bytes of JSON-ish filler to PATH, chunked or with a
 * Content-Length and "Expect: 100-continue". */
typedef struct {
	size_t total, sent;
} upload_t;

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
	upload_t *u = ud;
	size_t k = sz * n;

	if (k > u->total - u->sent)
		k = u->total - u->sent;
	memset(buf, ' ', k);
	u->sent += k;
	return k;
}

static void upload(resp_t *out, const char *path, size_t total, bool chunked)
{
	CURL *h = client_new();
	upload_t u = {total, 0};
	struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", base, path);
	hl = curl_slist_append(hl, chunked ? "Transfer-Encoding: chunked" : "Expect: 100-continue");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	if (!chunked) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)total);
		/* Long enough that a server ignoring Expect shows up as a sent body,
		 * not as curl giving up waiting and sending anyway. */
		curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	out->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	out->uploaded = (curl_off_t)u.sent;
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
}

/* Sends REQ on a fresh connection, then reads until the server closes it (or
 * the timeout). Returns what came back (caller frees). */
/* A TCP connection to the running server. */
/* > 0: the send buffer of the next raw connections, so a big body is still
 * being written when the server answers. */
static int client_sndbuf;

static int connect_server(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(eda_http_server_port(srv))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (client_sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &client_sndbuf, sizeof(client_sndbuf));

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything FD receives until the peer closes or CLIENT_TIMEOUT_S passes. */
static char *read_all(int fd)
{
	char *buf = NULL;
	size_t blen = 0;
	time_t deadline = time(NULL) + CLIENT_TIMEOUT_S;

	buf_append(&buf, &blen, "", 0);
	while (time(NULL) < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char chunk[4096];
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			break;
		buf_append(&buf, &blen, chunk, (size_t)n);
	}
	return buf;
}

static char *raw_exchange(const char *req, size_t len)
{
	int fd = connect_server();
	size_t off = 0;
	char *buf;

	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf = read_all(fd);
	close(fd);
	return buf;
}

/* A connection that sent half a request and waits, as a slow client does. */
static int half_request(void)
{
	static const char part[] = "GET /orders/1 HTTP/1.1\r\nHost: t\r\n";
	int fd = connect_server();

	ck_assert_int_eq(send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(part) - 1);
	return fd;
}

/* Whether some line of TEXT contains all of A, B and C. */
static bool has_line_with(const char *text, const char *a, const char *b, const char *c)
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *eol = strchr(line, '\n');
		size_t n = eol != NULL ? (size_t)(eol - line) : strlen(line);
		char *l = strndup(line, n);
		bool ok =
		        strstr(l, a) != NULL && strstr(l, b) != NULL && (c == NULL || strstr(l, c));

		free(l);
		if (ok)
			return true;
		line = eol != NULL ? eol + 1 : NULL;
	}
	return false;
}

/* ---- routing, parameters, headers --------------------------------------- */

START_TEST(test_get_params_query_headers)
{
	static const char *const hdrs[] = {"X-Test: hello", NULL};
	resp_t r;
	json_t *j;

	start();
	request(&r, "GET", "/orders/a%20b?status=PAID&flag&x=%E2%82%AC", hdrs, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
	ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "/orders/a%20b");
	ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "/orders/{id}");
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "a b");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "PAID");
	ck_assert_str_eq(json_string_value(json_object_get(j, "flag")), "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "x_test")), "hello");
	json_decref(j);
	resp_free(&r);

	/* A literal segment beats the parameter. */
	request(&r, "GET", "/orders/special", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "text/plain");
	resp_free(&r);
}
END_TEST

START_TEST(test_post_json)
{
	static const char *const hdrs[] = {"Content-Type: application/json; charset=utf-8", NULL};
	const char *body = "{\"sku\":\"A-1\",\"quantity\":2}";
	resp_t r;
	json_t *j;

	start();
	request(&r, "POST", "/orders", hdrs, body, strlen(body));
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(resp_header(&r, "Location"), "/orders/new-1");
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "received"), "sku")),
	                 "A-1");
	json_decref(j);
	resp_free(&r);
}
END_TEST

START_TEST(test_head_and_text)
{
	resp_t r;

	start();
	request(&r, "HEAD", "/orders/1", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_ptr_nonnull(resp_header(&r, "X-Request-Id"));
	resp_free(&r);
	/* Bodies handed over with eda_http_reply_take (ASan sees them freed). */
	request(&r, "GET", "/taken", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "taken body");
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "text/plain");
	resp_free(&r);
	request(&r, "GET", "/taken?empty", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 0);
	resp_free(&r);
}
END_TEST

/* Many requests over one kept-alive connection, on a one-thread pool. */
START_TEST(test_keepalive)
{
	CURL *h;
	long connects = 0;

	start_with(1, 0);
	h = client_new();
	for (int i = 0; i < 50; i++) {
		resp_t r;
		char path[32];

		snprintf(path, sizeof(path), "/orders/%d", i);
		request_on(h, &r, "GET", path, NULL, NULL, 0);
		ck_assert_int_eq(r.rc, CURLE_OK);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	ck_assert_int_eq(connects, 0); /* the last request reused the connection */
	curl_easy_cleanup(h);
}
END_TEST

/* ---- request ids -------------------------------------------------------- */

START_TEST(test_request_id_echo)
{
	static const char *const hdrs[] = {"X-Request-Id: req-abc_123.XYZ", NULL};
	resp_t r;
	json_t *j;

	start();
	request(&r, "GET", "/orders/1", hdrs, NULL, 0);
	ck_assert_str_eq(resp_header(&r, "X-Request-Id"), "req-abc_123.XYZ");
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-abc_123.XYZ");
	json_decref(j);
	resp_free(&r);

	/* Problem responses carry it too. */
	request(&r, "GET", "/nope", hdrs, NULL, 0);
	ck_assert_str_eq(resp_header(&r, "X-Request-Id"), "req-abc_123.XYZ");
	resp_free(&r);
}
END_TEST

static void assert_uuid_v4(const char *id)
{
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(strlen(id), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ck_assert_int_eq(id[i], '-');
		else
			ck_assert_msg(strchr("0123456789abcdef", id[i]) != NULL, "not a UUID: %s",
			              id);
	}
	ck_assert_int_eq(id[14], '4');
	ck_assert_msg(strchr("89ab", id[19]) != NULL, "not a v4 variant: %s", id);
}

static const char *const bad_ids[] = {
        NULL, /* no header at all */
        "X-Request-Id: has space", "X-Request-Id: caf\xc3\xa9",
        "X-Request-Id: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 129 characters */
};

START_TEST(test_request_id_generated)
{
	const char *hdrs[] = {bad_ids[_i], NULL};
	char first[64];
	resp_t r;
	json_t *j;

	start();
	request(&r, "GET", "/orders/1", hdrs, NULL, 0);
	assert_uuid_v4(resp_header(&r, "X-Request-Id"));
	snprintf(first, sizeof(first), "%s", resp_header(&r, "X-Request-Id"));
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), first);
	json_decref(j);
	resp_free(&r);
	request(&r, "GET", "/orders/1", hdrs, NULL, 0);
	ck_assert_str_ne(resp_header(&r, "X-Request-Id"), first);
	resp_free(&r);
}
END_TEST

START_TEST(test_request_id_128_accepted)
{
	char hdr[200];
	const char *hdrs[] = {hdr, NULL};
	resp_t r;

	start();
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %0128d", 7);
	request(&r, "GET", "/orders/1", hdrs, NULL, 0);
	ck_assert_str_eq(resp_header(&r, "X-Request-Id"), hdr + 14);
	resp_free(&r);
}
END_TEST

/* ---- errors as problem documents ---------------------------------------- */

static const struct error_case {
	const char *method;
	const char *path;
	long status;
	const char *allow; /* expected Allow header, or NULL */
} error_cases[] = {
        {"GET", "/nope", 404, NULL},
        {"GET", "/orders/1/items", 404, NULL},
        {"DELETE", "/orders/1", 405, "GET, HEAD"},
        {"GET", "/orders", 405, "POST"},
        {"PATCH", "/upload", 405, "POST, PUT"},
        {"GET", "/orders/a%2Fb", 400, NULL},
        {"GET", "/orders/%zz", 400, NULL},
        {"GET", "/orders/%00", 400, NULL},
        {"GET", "/orders/%C3%28", 400, NULL},
        {"GET", "/orders/..", 400, NULL},
        {"GET", "/orders/%2e%2e", 400, NULL},
        {"GET", "//orders", 400, NULL},
        {"GET", "/orders//x", 400, NULL},
        {"GET", "/orders/", 400, NULL},
        {"GET", "/orders/1?status=%zz", 400, NULL},
        {"GET", "/orders/1?status=%00", 400, NULL},
        {"GET", "/noreply", 500, NULL},
        {"GET", "/badstatus", 500, NULL},
};

START_TEST(test_error_table)
{
	const struct error_case *c = &error_cases[_i];
	resp_t r;
	json_t *p;

	start();
	request(&r, c->method, c->path, NULL, NULL, 0);
	p = check_problem(&r, c->status);
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "about:blank");
	if (c->allow != NULL)
		ck_assert_str_eq(resp_header(&r, "Allow"), c->allow);
	if (c->status == 405 || c->status == 404)
		ck_assert(json_is_string(json_object_get(p, "detail")));
	json_decref(p);
	resp_free(&r);
}
END_TEST

START_TEST(test_long_path_400)
{
	char *path = malloc(EDA_HTTP_MAX_PATH + 16);
	resp_t r;
	json_t *p;

	start();
	strcpy(path, "/orders/");
	memset(path + 8, 'x', EDA_HTTP_MAX_PATH);
	path[EDA_HTTP_MAX_PATH + 8] = '\0';
	request(&r, "GET", path, NULL, NULL, 0);
	p = check_problem(&r, 400);
	json_decref(p);
	resp_free(&r);
	free(path);
}
END_TEST

static const struct body_case {
	const char *content_type; /* NULL: no header */
	const char *body;
	long status;
	const char *detail; /* a part of it, or NULL */
} body_cases[] = {
        {"Content-Type: text/plain", "{\"a\":1}", 415, NULL},
        {NULL, "{\"a\":1}", 415, NULL},
        {"Content-Type: application/jsonx", "{\"a\":1}", 415, NULL},
        {"Content-Type: application/json", "{bad", 400, NULL},
        {"Content-Type: application/json", "{\"a\":1,\"a\":2}", 400, NULL},
        {"Content-Type: application/json", "", 400, NULL},
        {"Content-Type: application/json", "{\"a\":1} trailing", 400,
         "data follows the JSON value"},
        {"Content-Type: application/json", "{\"a\":\"x\\u0000\"}", 400,
         "\\u0000 is not allowed in a string"},
        {"Content-Type: application/merge-patch+json", "{\"a\":1}", 201, NULL},
        {"Content-Type: APPLICATION/JSON", "[1,2]", 201, NULL},
};

START_TEST(test_body_table)
{
	const struct body_case *c = &body_cases[_i];
	const char *hdrs[] = {c->content_type != NULL ? c->content_type : "Content-Type:", NULL};
	resp_t r;

	start();
	request(&r, "POST", "/orders", hdrs, c->body, strlen(c->body));
	if (c->status >= 400) {
		json_t *p = check_problem(&r, c->status);

		ck_assert(json_is_string(json_object_get(p, "detail")));
		if (c->detail != NULL)
			ck_assert_msg(strstr(json_string_value(json_object_get(p, "detail")),
			                     c->detail) != NULL,
			              "detail: %s",
			              json_string_value(json_object_get(p, "detail")));
		json_decref(p);
	} else {
		ck_assert_int_eq(r.status, c->status);
	}
	resp_free(&r);
}
END_TEST

START_TEST(test_validation_problem)
{
	static const char *const hdrs[] = {"Content-Type: application/json", NULL};
	const char *body = "{\"quantity\":\"two\"}";
	resp_t r;
	json_t *p, *errors;

	start();
	request(&r, "POST", "/validate", hdrs, body, strlen(body));
	p = check_problem(&r, 422);
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")), EDA_PROBLEM_VALIDATION);
	ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Validation failed");
	ck_assert_str_eq(json_string_value(json_object_get(p, "detail")), "the order is invalid");
	errors = json_object_get(p, "errors");
	ck_assert_uint_eq(json_array_size(errors), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
	                 "sku");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 1), "message")),
	                 "must be an integer");
	json_decref(p);
	resp_free(&r);

	body = "{\"sku\":\"A\",\"quantity\":1}";
	request(&r, "POST", "/validate", hdrs, body, strlen(body));
	ck_assert_int_eq(r.status, 204);
	resp_free(&r);
}
END_TEST

START_TEST(test_reply_misuse)
{
	resp_t r;

	start();
	/* Only the first reply counts. */
	request(&r, "GET", "/twice", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "first");
	resp_free(&r);
	/* Header injection attempts are dropped, the rest goes out. */
	request(&r, "GET", "/badheader", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(resp_header(&r, "X-Evil"));
	ck_assert_ptr_null(resp_header(&r, "Set-Cookie"));
	ck_assert_str_eq(resp_header(&r, "X-Good"), "yes");
	resp_free(&r);
}
END_TEST

/* ---- body size limits --------------------------------------------------- */

/* The server answers 413 from the headers alone: the body is never sent. */
/* HTTP_MAX_CONNECTIONS_PER_IP: slow clients of one address cannot take every
 * connection; the one past the limit is closed at once, and a freed slot
 * serves again. */
START_TEST(test_per_ip_limit)
{
	static const char req[] = "GET /orders/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	int a, b;
	char *out;

	per_ip_limit = 2;
	start();
	a = half_request();
	b = half_request();
	usleep(200 * 1000); /* both counted before the third arrives */
	out = raw_exchange(req, sizeof(req) - 1);
	ck_assert_msg(out[0] == '\0', "a third connection was served: %.60s", out);
	free(out);
	close(a);
	for (int i = 0; i < 50; i++) { /* until the server saw the close */
		out = raw_exchange(req, sizeof(req) - 1);
		if (strncmp(out, "HTTP/1.1 200", 12) == 0)
			break;
		free(out);
		out = NULL;
		usleep(100 * 1000);
	}
	ck_assert_msg(out != NULL, "a freed slot was not served");
	free(out);
	close(b);
}
END_TEST

/* RFC 9112, 3.2: HTTP/1.1 without Host is a bad request; HTTP/1.0 needs none. */
START_TEST(test_host_required)
{
	static const char v11[] = "GET /orders/1 HTTP/1.1\r\nConnection: close\r\n\r\n";
	static const char v10[] = "GET /orders/1 HTTP/1.0\r\n\r\n";
	char *out;

	start();
	out = raw_exchange(v11, sizeof(v11) - 1);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400", 12) == 0, "got: %.60s", out);
	ck_assert_ptr_nonnull(strstr(out, "application/problem+json"));
	ck_assert_ptr_nonnull(strstr(out, "Host header"));
	free(out);
	out = raw_exchange(v10, sizeof(v10) - 1);
	ck_assert_msg(strncmp(out, "HTTP/1.0 200", 12) == 0 ||
	                      strncmp(out, "HTTP/1.1 200", 12) == 0,
	              "got: %.60s", out);
	free(out);
}
END_TEST

START_TEST(test_413_content_length_raw)
{
	const char *req = "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
	                  "Content-Length: 10485760\r\n\r\n";
	char *resp;
	char *body;
	json_t *p;

	start();
	resp = raw_exchange(req, strlen(req));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "got: %.200s", resp);
	ck_assert_ptr_nonnull(strcasestr(resp, "content-type: application/problem+json"));
	ck_assert_ptr_nonnull(strcasestr(resp, "connection: close"));
	body = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	p = json_loads(body + 4, 0, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 413);
	json_decref(p);
	free(resp);
}
END_TEST

/* A client that writes its whole oversized body before it reads (Python's
 * urllib, most scripts) gets the 413 problem, not a broken pipe: the server
 * drains a body of up to twice the limit before answering. urllib gave up with
 * EPIPE on 4 of 5 such requests before; a small send buffer keeps this client
 * writing while the server answers, as a slower link would. */
START_TEST(test_413_after_the_whole_body)
{
	const size_t size = 2 * 1024 * 1024; /* twice the default 1 MiB limit */
	char head[256], *req, *resp;
	size_t off = 0, len;
	int n, fd;

	start();
	client_sndbuf = 4096;
	fd = connect_server();
	client_sndbuf = 0;
	n = snprintf(head, sizeof(head),
	             "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
	             "Connection: close\r\nContent-Length: %zu\r\n\r\n",
	             size);
	len = (size_t)n + size;
	req = malloc(len);
	ck_assert_ptr_nonnull(req);
	memcpy(req, head, (size_t)n);
	memset(req + n, ' ', size);
	while (off < len) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		ck_assert_msg(w > 0, "send failed after %zu of %zu bytes: %s", off, len,
		              strerror(errno));
		off += (size_t)w;
	}
	free(req);
	resp = read_all(fd);
	close(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "got: %.200s", resp);
	ck_assert_ptr_nonnull(strcasestr(resp, "content-type: application/problem+json"));
	free(resp);
}
END_TEST

START_TEST(test_413_expect_continue)
{
	resp_t r;
	json_t *p;

	start_with(2, 64 * 1024);
	upload(&r, "/upload", 4 * 1024 * 1024, false);
	ck_assert_int_eq(r.rc, CURLE_OK);
	p = check_problem(&r, 413);
	json_decref(p);
	ck_assert_int_eq(r.uploaded, 0); /* no "100 Continue", so curl sent nothing */
	resp_free(&r);
}
END_TEST

START_TEST(test_413_chunked)
{
	resp_t r;
	json_t *p;

	start_with(2, 64 * 1024);
	upload(&r, "/upload", 96 * 1024, true);
	ck_assert_int_eq(r.rc, CURLE_OK);
	p = check_problem(&r, 413);
	json_decref(p);
	resp_free(&r);
}
END_TEST

/* A chunked body far over the limit is cut off instead of read whole. */
START_TEST(test_chunked_flood_cut)
{
	const size_t total = (size_t)256 * 1024 * 1024;
	resp_t r;

	start_with(2, 64 * 1024);
	upload(&r, "/upload", total, true);
	ck_assert_msg(r.rc != CURLE_OK || r.status == 413, "rc %d status %ld", r.rc, r.status);
	ck_assert_msg((size_t)r.uploaded < total, "the whole body was read");
	resp_free(&r);
	request(&r, "GET", "/healthz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
}
END_TEST

START_TEST(test_body_limits_exact)
{
	static const char *const hdrs[] = {"Content-Type: application/octet-stream", NULL};
	const size_t max = 64 * 1024;
	char *body = malloc(max + 1);
	resp_t r;
	json_t *j;

	memset(body, 'x', max + 1);
	start_with(2, max);
	request(&r, "PUT", "/upload", hdrs, body, max);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "size")), (json_int_t)max);
	json_decref(j);
	resp_free(&r);
	request(&r, "PUT", "/upload", hdrs, body, max + 1);
	j = check_problem(&r, 413);
	json_decref(j);
	resp_free(&r);
	/* Chunked and exactly at the limit is fine too. */
	upload(&r, "/upload", max, true);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	free(body);
}
END_TEST

/* The default limit is 1 MiB. */
START_TEST(test_default_limit)
{
	const size_t mib = 1024 * 1024;
	resp_t r;
	json_t *p;

	start();
	upload(&r, "/upload", mib, false);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	upload(&r, "/upload", mib + 1, false);
	p = check_problem(&r, 413);
	json_decref(p);
	resp_free(&r);
}
END_TEST

/* MHD answers oversized headers itself; the request object must still be
 * freed (ASan checks) and the server keep working. */
START_TEST(test_headers_too_large)
{
	size_t big = 200 * 1024;
	char *req = malloc(big + 128);
	size_t n;
	char *resp;
	resp_t r;

	start();
	n = (size_t)sprintf(req, "GET /orders/1 HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + n, 'b', big);
	n += big;
	n += (size_t)sprintf(req + n, "\r\n\r\n");
	resp = raw_exchange(req, n);
	ck_assert_msg(resp[0] == '\0' || strncmp(resp, "HTTP/1.1 4", 10) == 0, "got: %.100s", resp);
	free(resp);
	free(req);
	request(&r, "GET", "/orders/1", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
}
END_TEST

/* ---- built-in endpoints ------------------------------------------------- */

START_TEST(test_healthz)
{
	resp_t r;
	json_t *j;

	start();
	request(&r, "GET", "/healthz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(j, "service")), "test-service");
	json_decref(j);
	resp_free(&r);
	request(&r, "POST", "/healthz", NULL, "", 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(resp_header(&r, "Allow"), "GET, HEAD");
	resp_free(&r);
}
END_TEST

START_TEST(test_readyz)
{
	resp_t r;
	json_t *j;

	start();
	request(&r, "GET", "/readyz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	ck_assert_str_eq(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(j, "checks"), "database"), "status")),
	        "ok");
	json_decref(j);
	resp_free(&r);

	check_flag_ok = 0;
	request(&r, "GET", "/readyz", NULL, NULL, 0);
	j = check_problem(&r, 503);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "detail")),
	                             "database: connection refused"));
	ck_assert_str_eq(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(j, "checks"), "database"), "status")),
	        "fail");
	ck_assert_str_eq(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(j, "checks"), "always"), "status")),
	        "ok");
	json_decref(j);
	resp_free(&r);

	check_flag_ok = 1;
	request(&r, "GET", "/readyz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
}
END_TEST

START_TEST(test_metrics)
{
	CURL *h;
	resp_t r;

	start();
	/* One connection, so each request is completed (and counted) before the
	 * next one is read. */
	h = client_new();
	request_on(h, &r, "GET", "/orders/42", NULL, NULL, 0);
	resp_free(&r);
	request_on(h, &r, "GET", "/orders/43", NULL, NULL, 0);
	resp_free(&r);
	request_on(h, &r, "GET", "/no/such/thing", NULL, NULL, 0);
	resp_free(&r);
	request_on(h, &r, "DELETE", "/orders/1", NULL, NULL, 0);
	resp_free(&r);
	request_on(h, &r, "GET", "/metrics", NULL, NULL, 0);
	ck_assert_int_eq(r.rc, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Type"),
	                 "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_msg(has_line_with(r.body, "http_requests_total{", "route=\"/orders/{id}\"",
	                            "code=\"200\"} 2"),
	              "%s", r.body);
	ck_assert(has_line_with(r.body, "http_requests_total{", "route=\"unmatched\"",
	                        "code=\"404\"} 1"));
	ck_assert(has_line_with(r.body, "http_requests_total{", "route=\"/orders/{id}\"",
	                        "code=\"405\"} 1"));
	ck_assert(has_line_with(r.body, "http_request_duration_seconds_count{",
	                        "route=\"/orders/{id}\"", NULL));
	/* The raw path never becomes a label. */
	ck_assert_ptr_null(strstr(r.body, "/orders/42"));
	ck_assert_ptr_null(strstr(r.body, "/no/such/thing"));
	resp_free(&r);
	curl_easy_cleanup(h);
}
END_TEST

/* ---- logging ------------------------------------------------------------ */

START_TEST(test_log_line)
{
	static const char *const hdrs[] = {"X-Request-Id: log-test-1",
	                                   "Authorization: Bearer sekrit-token-value", NULL};
	char path[] = "/tmp/eda-http-log-XXXXXX";
	int fd = mkstemp(path);
	char text[8192];
	ssize_t n;
	resp_t r;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	eda_log_set_fd(fd);
	start();
	request(&r, "GET", "/orders/77?status=x", hdrs, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	/* Stopping waits for the request's completion, which writes the line. */
	eda_http_server_stop(srv);
	n = pread(fd, text, sizeof(text) - 1, 0);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	ck_assert_msg(has_line_with(text, "\"route\":\"/orders/{id}\"", "\"status\":\"200\"",
	                            "\"request_id\":\"log-test-1\""),
	              "%s", text);
	ck_assert(has_line_with(text, "\"method\":\"GET\"", "\"duration_ms\":", "log-test-1"));
	ck_assert_ptr_null(strstr(text, "sekrit"));
	ck_assert_ptr_null(strstr(text, "Authorization"));
	close(fd);
}
END_TEST

/* ---- suspend and resume ------------------------------------------------- */

typedef struct {
	const char *path;
	resp_t resp;
} client_job_t;

static void *client_thread(void *arg)
{
	client_job_t *job = arg;
	CURL *h = curl_easy_init();

	request_on(h, &job->resp, "GET", job->path, NULL, NULL, 0);
	curl_easy_cleanup(h);
	return NULL;
}

static void *reply_later(void *arg)
{
	struct timespec ts = {0, 200 * 1000 * 1000};

	nanosleep(&ts, NULL);
	eda_http_reply_json(arg, 200, json_pack("{s:b}", "late", 1));
	return NULL;
}

/* With a single server thread, a parked request must not hold it: other
 * requests are answered while it waits, and the late reply still arrives. */
START_TEST(test_suspend_does_not_hold_thread)
{
	client_job_t job = {.path = "/park"};
	pthread_t client, replier;
	eda_http_req_t *parked_req;
	json_t *j;

	start_with(1, 0);
	pthread_create(&client, NULL, client_thread, &job);
	parked_req = wait_parked(1);
	for (int i = 0; i < 5; i++) {
		resp_t r;

		request(&r, "GET", "/orders/1", NULL, NULL, 0);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	/* The parked client is still waiting: nobody has replied yet. */
	ck_assert_ptr_null(job.resp.headers);
	pthread_create(&replier, NULL, reply_later, parked_req);
	pthread_join(replier, NULL);
	pthread_join(client, NULL);
	ck_assert_int_eq(job.resp.rc, CURLE_OK);
	ck_assert_int_eq(job.resp.status, 200);
	ck_assert_ptr_nonnull(resp_header(&job.resp, "X-Request-Id"));
	j = resp_json(&job.resp);
	ck_assert(json_is_true(json_object_get(j, "late")));
	json_decref(j);
	resp_free(&job.resp);
}
END_TEST

/* Replies racing with the suspension (the other thread may finish before
 * the handler returns). */
START_TEST(test_suspend_reply_race)
{
	CURL *h;

	start_with(2, 0);
	h = client_new();
	for (int i = 0; i < 100; i++) {
		resp_t r;

		request_on(h, &r, "GET", "/race", NULL, NULL, 0);
		ck_assert_int_eq(r.rc, CURLE_OK);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	curl_easy_cleanup(h);
}
END_TEST

START_TEST(test_stop_answers_parked)
{
	client_job_t jobs[3] = {{.path = "/park"}, {.path = "/park"}, {.path = "/park"}};
	pthread_t clients[3];
	eda_http_req_t *reqs[3];
	resp_t r;

	start_with(2, 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&clients[i], NULL, client_thread, &jobs[i]);
	for (int i = 0; i < 3; i++)
		reqs[i] = wait_parked(i + 1);
	eda_http_server_stop(srv);
	for (int i = 0; i < 3; i++) {
		json_t *p;

		pthread_join(clients[i], NULL);
		ck_assert_int_eq(jobs[i].resp.rc, CURLE_OK);
		p = check_problem(&jobs[i].resp, 503);
		json_decref(p);
		resp_free(&jobs[i].resp);
	}
	/* The owner's late replies are discarded and release the requests;
	 * the third is never replied to and freed with the server. */
	eda_http_reply_json(reqs[0], 200, json_object());
	eda_http_reply_problem(reqs[1], 504, NULL, "too late", NULL);
	/* New connections are refused once stopped. */
	{
		CURL *h = client_new();

		request_on(h, &r, "GET", "/healthz", NULL, NULL, 0);
		ck_assert_int_ne(r.rc, CURLE_OK);
		resp_free(&r);
		curl_easy_cleanup(h);
	}
	eda_http_server_stop(srv); /* idempotent */
}
END_TEST

/* ---- configuration and life cycle --------------------------------------- */

START_TEST(test_lifecycle_errors)
{
	eda_http_config_t cfg = {.bind_addr = "127.0.0.1", .metrics = reg};
	eda_http_config_t bad = {.bind_addr = "no.such.host.invalid", .metrics = reg};
	eda_http_config_t huge = {.threads = 100000};
	eda_http_server_t *other;
	char err[256];

	ck_assert_ptr_null(eda_http_server_new(NULL, err, sizeof(err)));
	ck_assert_ptr_null(eda_http_server_new(&huge, err, sizeof(err)));
	start();
	ck_assert_int_eq(eda_http_route(srv, "GET", "/late", h_text, NULL), EDA_HTTP_ESTATE);
	ck_assert_int_eq(eda_http_add_ready_check(srv, "late", check_always, NULL),
	                 EDA_HTTP_ESTATE);
	ck_assert_int_eq(eda_http_server_start(srv, err, sizeof(err)), EDA_HTTP_ESTATE);
	ck_assert_ptr_eq(eda_http_server_metrics(srv), reg);

	/* The same port twice. */
	cfg.port = eda_http_server_port(srv);
	other = eda_http_server_new(&cfg, err, sizeof(err));
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(eda_http_route(other, "GET", "/x/{y}", h_text, NULL), 0);
	ck_assert_int_eq(eda_http_route(other, "GET", "/x/{z}", h_text, NULL), EDA_HTTP_EEXIST);
	ck_assert_int_eq(eda_http_route(other, "GET", "bad", h_text, NULL), EDA_HTTP_EINVAL);
	ck_assert_int_eq(eda_http_route(other, "GET", "/healthz", h_text, NULL), EDA_HTTP_EEXIST);
	ck_assert_int_eq(eda_http_add_ready_check(other, "", check_always, NULL), EDA_HTTP_EINVAL);
	ck_assert_int_eq(eda_http_server_start(other, err, sizeof(err)), EDA_HTTP_ESYS);
	ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
	eda_http_server_free(other);

	other = eda_http_server_new(&bad, err, sizeof(err));
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(eda_http_server_start(other, err, sizeof(err)), EDA_HTTP_EINVAL);
	eda_http_server_free(other);
}
END_TEST

/* With no registry configured the server keeps its own, and a server that
 * was never started frees cleanly. */
START_TEST(test_own_registry)
{
	eda_http_config_t cfg = {0};
	eda_http_server_t *s;
	char err[256];

	s = eda_http_server_new(&cfg, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(eda_http_server_metrics(s));
	ck_assert_ptr_ne(eda_http_server_metrics(s), reg);
	eda_http_server_stop(s);
	eda_http_server_free(s);
	eda_http_server_free(NULL);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
	eda_http_config_t cfg = {.bind_addr = "::1", .metrics = reg};
	char err[256], url[64];
	resp_t r;
	CURL *h;

	srv = eda_http_server_new(&cfg, err, sizeof(err));
	ck_assert_ptr_nonnull(srv);
	if (eda_http_server_start(srv, err, sizeof(err)) != 0)
		return; /* no IPv6 on this machine */
	snprintf(url, sizeof(url), "http://[::1]:%u", eda_http_server_port(srv));
	snprintf(base, sizeof(base), "%s", url);
	h = client_new();
	request_on(h, &r, "GET", "/healthz", NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	curl_easy_cleanup(h);
}
END_TEST

/* ---- problem builders --------------------------------------------------- */

START_TEST(test_problem_builders)
{
	json_t *p = eda_problem_new(404, NULL, NULL, NULL);
	json_t *e;

	ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "about:blank");
	ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Not Found");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 404);
	ck_assert_ptr_null(json_object_get(p, "detail"));
	json_decref(p);

	p = eda_problem_new(409, "urn:eda:problem:conflict", "Conflict!", "bad \xff utf8");
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "urn:eda:problem:conflict");
	ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Conflict!");
	ck_assert(json_is_string(json_object_get(p, "detail")));
	json_decref(p);

	e = eda_problem_field_error(NULL, "items[0].sku", "is required");
	ck_assert_ptr_eq(eda_problem_field_error(e, "total", "must be positive"), e);
	ck_assert_uint_eq(json_array_size(e), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(e, 0), "field")),
	                 "items[0].sku");
	json_decref(e);

	ck_assert_str_eq(eda_http_reason(413), "Content Too Large");
	ck_assert_str_eq(eda_http_reason(503), "Service Unavailable");
	ck_assert_str_eq(eda_http_reason(299), "Unknown");
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_get_params_query_headers);
	tcase_add_test(tc, test_post_json);
	tcase_add_test(tc, test_head_and_text);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_request_id_echo);
	tcase_add_loop_test(tc, test_request_id_generated, 0,
	                    (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(tc, test_request_id_128_accepted);
	tcase_add_loop_test(tc, test_error_table, 0,
	                    (int)(sizeof(error_cases) / sizeof(error_cases[0])));
	tcase_add_test(tc, test_long_path_400);
	tcase_add_loop_test(tc, test_body_table, 0,
	                    (int)(sizeof(body_cases) / sizeof(body_cases[0])));
	tcase_add_test(tc, test_validation_problem);
	tcase_add_test(tc, test_reply_misuse);
	tcase_add_test(tc, test_413_content_length_raw);
	tcase_add_test(tc, test_per_ip_limit);
	tcase_add_test(tc, test_host_required);
	tcase_add_test(tc, test_413_expect_continue);
	tcase_add_test(tc, test_413_after_the_whole_body);
	tcase_add_test(tc, test_413_chunked);
	tcase_add_test(tc, test_chunked_flood_cut);
	tcase_add_test(tc, test_body_limits_exact);
	tcase_add_test(tc, test_default_limit);
	tcase_add_test(tc, test_headers_too_large);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_readyz);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_log_line);
	tcase_add_test(tc, test_suspend_does_not_hold_thread);
	tcase_add_test(tc, test_suspend_reply_race);
	tcase_add_test(tc, test_stop_answers_parked);
	tcase_add_test(tc, test_lifecycle_errors);
	tcase_add_test(tc, test_own_registry);
	tcase_add_test(tc, test_ipv6_loopback);
	tcase_add_test(tc, test_problem_builders);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(server_suite());
}
