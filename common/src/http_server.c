/*
 * The HTTP server over libmicrohttpd 0.9.75 (see eda/http.h): daemon set-up,
 * the request life cycle and shutdown.
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (we route, check limits and may answer at once, before any
 * body is read), once per body chunk (copied into the request's own buffer,
 * so MHD's per-connection pool stays small), once when the request is
 * complete (we run the handler) and, for a suspended request, again after it
 * is resumed (we queue the reply another thread stored). The request object
 * is created by the URI log callback, the earliest hook MHD offers, and
 * released by the completion callback, so every request that MHD saw is
 * freed exactly once.
 */
#include "http_internal.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>
#include <uuid/uuid.h>

/* MHD keeps request headers and the response header block in a per-connection
 * pool; bodies never go there (they are copied out chunk by chunk), so a pool
 * that holds generous headers (a few JWTs' worth, 8 KiB pass) is enough.
 * Larger headers get 431 from MHD. Keep it small: MHD 0.9.75 zeroes the whole
 * pool before each request of a keep-alive connection, which at 64 KiB was 5 %
 * of the gateway's CPU. */
#define CONN_MEMORY_LIMIT (16 * 1024)

/* Request headers are refused with a 431 problem document past this share of
 * the pool, each counted with MHD's bookkeeping for it (HEADER_OVERHEAD, about
 * what a parsed header costs in the pool). Past about 15 KiB MHD still parsed
 * the request but had no room left for the response: the client got no answer
 * at all, or a proxied upstream failed and the gateway said 502. */
#define HEADER_BUDGET   (12 * 1024)
#define HEADER_OVERHEAD 64

/* ---- construction ------------------------------------------------------- */

eda_http_server_t *eda_http_server_new(const eda_http_config_t *cfg, char *err, size_t errsz)
{
	eda_http_server_t *s;

	if (cfg == NULL) {
		eda_errf(err, errsz, "no HTTP server configuration");
		return NULL;
	}
	if (cfg->threads > 1024) {
		eda_errf(err, errsz, "HTTP thread pool of %u threads is too large", cfg->threads);
		return NULL;
	}
	s = eda_xcalloc(1, sizeof(*s));
	s->bind_addr = eda_xstrdup(cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1");
	s->service = cfg->service != NULL ? eda_xstrdup(cfg->service) : NULL;
	s->port = cfg->port;
	s->threads = cfg->threads != 0 ? cfg->threads : 1;
	s->max_body = cfg->max_body != 0 ? cfg->max_body : EDA_HTTP_DEFAULT_MAX_BODY;
	s->timeout_s = cfg->timeout_s != 0 ? cfg->timeout_s : 30;
	s->per_ip_limit = cfg->per_ip_limit;
	s->drain_ms = cfg->drain_ms != 0 ? cfg->drain_ms : 5000;
	s->router = eda_router_new();
	pthread_mutex_init(&s->park_lock, NULL);
	atomic_init(&s->stopping, false);
	atomic_init(&s->inflight, 0);
	if (cfg->metrics != NULL) {
		s->metrics = cfg->metrics;
	} else {
		s->metrics = eda_metrics_new();
		s->own_metrics = true;
	}
	s->m_requests = eda_metrics_counter(s->metrics, "http_requests_total",
	                                    "HTTP requests answered, by route pattern and status.",
	                                    "route,code", err, errsz);
	if (s->m_requests == NULL)
		goto fail;
	s->m_duration = eda_metrics_histogram(
	        s->metrics, "http_request_duration_seconds",
	        "Time from the request line to the completed response, by route pattern.", "route",
	        NULL, 0, err, errsz);
	if (s->m_duration == NULL)
		goto fail;
	if (eda_http__add_builtins(s) != 0) {
		eda_errf(err, errsz, "cannot route the built-in endpoints");
		goto fail;
	}
	return s;
fail:
	eda_http_server_free(s);
	return NULL;
}

int eda_http_route(eda_http_server_t *s, const char *method, const char *pattern,
                   eda_http_handler_t fn, void *ctx)
{
	if (s == NULL || fn == NULL)
		return EDA_HTTP_EINVAL;
	if (s->started)
		return EDA_HTTP_ESTATE;
	/* A function pointer travels through the router's void * slot; POSIX
	 * guarantees the round trip (dlsym relies on it). */
	return eda_router_add(s->router, method, pattern, (void *)fn, ctx);
}

int eda_http_add_ready_check(eda_http_server_t *s, const char *name, eda_http_check_t fn, void *ctx)
{
	if (s == NULL || name == NULL || *name == '\0' || fn == NULL)
		return EDA_HTTP_EINVAL;
	if (s->started)
		return EDA_HTTP_ESTATE;
	s->checks = eda_xrealloc(s->checks, (s->nchecks + 1) * sizeof(*s->checks));
	s->checks[s->nchecks].name = eda_xstrdup(name);
	s->checks[s->nchecks].fn = fn;
	s->checks[s->nchecks].ctx = ctx;
	s->nchecks++;
	return 0;
}

unsigned short eda_http_server_port(const eda_http_server_t *s)
{
	return s->port;
}

eda_metrics_t *eda_http_server_metrics(const eda_http_server_t *s)
{
	return s->metrics;
}

/* ---- one request -------------------------------------------------------- */

/* Visible ASCII only: the id is echoed in a header, logged and copied into
 * events as the correlation id, so anything else is replaced. */
static bool request_id_ok(const char *id)
{
	size_t n = 0;

	for (; id[n] != '\0'; n++) {
		if (n == EDA_HTTP_MAX_REQUEST_ID || id[n] <= 0x20 || id[n] >= 0x7f)
			return false;
	}
	return n > 0;
}

/* Request ids come from a per-thread xoshiro256** generator seeded once from
 * getrandom(2). libuuid's uuid_generate_random() costs six system calls per
 * id (getrandom, and getpid twice, getppid, getuid and gettid for its own
 * checks), a visible share of a proxied request. An id has to be unique, not
 * secret: 122 random bits from a 256-bit-state generator seeded from the
 * kernel's entropy are as collision-free as libuuid's. */
static _Thread_local uint64_t id_rng[4];
static _Thread_local bool id_rng_seeded;

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t id_rng_next(void)
{
	uint64_t *s = id_rng, result, t;

	if (!id_rng_seeded) {
		if (getrandom(s, sizeof(id_rng), 0) != (ssize_t)sizeof(id_rng)) {
			/* No getrandom(2) (old kernel or seccomp): libuuid has its
			 * own entropy sources. */
			uuid_generate_random((unsigned char *)s);
			uuid_generate_random((unsigned char *)s + 16);
		}
		/* xoshiro's state must not be all zero. */
		if ((s[0] | s[1] | s[2] | s[3]) == 0)
			s[0] = 0x9e3779b97f4a7c15ULL;
		id_rng_seeded = true;
	}
	result = rotl64(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* A random (version 4, RFC 9562) UUID in its 36-character lower-case form. */
static void random_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t w[2] = {id_rng_next(), id_rng_next()};
	unsigned char b[16];
	size_t o = 0;

	memcpy(b, w, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static void set_request_id(eda_http_req_t *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");

	if (h != NULL && request_id_ok(h))
		strcpy(r->id, h);
	else
		random_uuid(r->id);
}

/* Content-Length as a number; UINT64_MAX when absent, malformed values are
 * refused by MHD before we get here. */
static uint64_t content_length(eda_http_req_t *r)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	uintmax_t n;

	if (v == NULL)
		return UINT64_MAX;
	errno = 0;
	n = strtoumax(v, &end, 10);
	if (errno != 0 || end == v)
		return UINT64_MAX - 1;
	return (uint64_t)n;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += strlen(key) + (value != NULL ? strlen(value) : 0) + HEADER_OVERHEAD;
	return MHD_YES;
}

/* What the request's headers take of the pool, roughly (see HEADER_BUDGET). */
static size_t header_bytes(eda_http_req_t *r)
{
	size_t n = 0;

	/* Cookies are copied again into the pool when parsed, and every query
	 * argument takes a record of its own. */
	MHD_get_connection_values(
	        r->conn,
	        (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND),
	        count_header, &n);
	return n;
}

/* An answer given before the body was read must end the connection: the
 * unread body would otherwise be taken for the next request. */
static void reply_early(eda_http_req_t *r, bool has_body, int status, const char *detail)
{
	if (has_body)
		eda_http_reply_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	eda_http_reply_problem(r, status, NULL, detail, NULL);
}

/* Finds R's route and reads its query string. Returns 0, or the status to
 * refuse R with (DETAIL says why; a 405 has its Allow header set). */
static int match_route(eda_http_server_t *s, eda_http_req_t *r, char *detail, size_t detailsz)
{
	const char *why;
	int rc = eda_router_match(s->router, r->method, r->path, strlen(r->path), &r->match);

	r->route = r->match.pattern;
	switch (rc) {
	case 0:
		break;
	case EDA_HTTP_EBADPATH:
		snprintf(detail, detailsz, "malformed request path: %s", r->match.why);
		return 400;
	case EDA_HTTP_EMETHOD:
		eda_http_reply_header(r, MHD_HTTP_HEADER_ALLOW, r->match.allow);
		snprintf(detail, detailsz, "%s is not allowed here; allowed: %s", r->method,
		         r->match.allow);
		return 405;
	default:
		snprintf(detail, detailsz, "no route matches the request path");
		return 404;
	}
	if (r->query != NULL && eda_http_query_parse(r->query, &r->args, &why) != 0) {
		snprintf(detail, detailsz, "malformed query string: %s", why);
		return 400;
	}
	return 0;
}

static enum MHD_Result on_headers(eda_http_server_t *s, eda_http_req_t *r, const char *method,
                                  const char *version)
{
	uint64_t clen = content_length(r);
	bool has_body = (clen != UINT64_MAX && clen > 0) ||
	                MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
	char detail[320];
	int status;

	set_request_id(r);
	snprintf(r->method, sizeof(r->method), "%s", method);
	/* RFC 9112, 3.2: a server must answer 400 to an HTTP/1.1 request
	 * without Host (libmicrohttpd lets it through); MHD also passes 1.2-1.9,
	 * which count as 1.1. */
	if (strncmp(version, "HTTP/1.", 7) == 0 && version[7] != '0' &&
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST) == NULL) {
		reply_early(r, has_body, 400, "an HTTP/1.1 request needs a Host header");
		goto answered;
	}
	if (header_bytes(r) > HEADER_BUDGET) {
		snprintf(detail, sizeof(detail),
		         "the request headers exceed the limit of %d bytes (%d per header "
		         "counted on top of its name and value)",
		         HEADER_BUDGET, HEADER_OVERHEAD);
		reply_early(r, has_body, 431, detail);
		goto answered;
	}
	if (strlen(method) > EDA_HTTP_MAX_METHOD) {
		reply_early(r, has_body, 501, "unsupported request method");
		goto answered;
	}
	if ((status = match_route(s, r, detail, sizeof(detail))) != 0) {
		reply_early(r, has_body, status, detail);
		goto answered;
	}
	/* An announced oversized body. A client that asked for "100 Continue"
	 * has sent nothing yet: refuse it now. One that sends the body at once
	 * (most do) is still writing it: answering and closing now would make
	 * its kernel see unread data arrive at a closed socket and reset the
	 * connection, so the client reads "connection reset" instead of the
	 * 413 (a lingering close, in nginx's words). Such a body is read and
	 * dropped, and the 413 sent when it ends, if it is at most twice the
	 * limit; a larger one is cut at once, so the work stays bounded. */
	if (clen != UINT64_MAX && clen > s->max_body) {
		const char *expect = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		                                                 MHD_HTTP_HEADER_EXPECT);

		if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
		    clen - s->max_body > s->max_body) {
			snprintf(detail, sizeof(detail),
			         "the request body exceeds the limit of %zu bytes", s->max_body);
			reply_early(r, true, 413, detail);
			goto answered;
		}
		r->body_too_large = true;
		r->discard_max = (size_t)clen;
	}
	r->handler = (eda_http_handler_t)r->match.handler;
	r->handler_ctx = r->match.ctx;
	r->phase = REQ_BODY;
	return MHD_YES;
answered:
	r->phase = REQ_HANDLED;
	return eda_http__req_queue(r);
}

static enum MHD_Result on_body(eda_http_server_t *s, eda_http_req_t *r, const char *data, size_t n)
{
	size_t need;

	/* A chunked body has no length up front, so it can only go over the
	 * limit here, and MHD 0.9.75 cannot queue a response in the middle of
	 * an upload. The rest is read and dropped so that the client still gets
	 * its 413 when the body ends, but only up to another max_body bytes:
	 * past that the connection is cut, so the work stays bounded. */
	if (r->body_too_large) {
		r->discarded += n;
		return r->discarded > r->discard_max ? MHD_NO : MHD_YES;
	}
	if (n > s->max_body - r->body_len) {
		r->body_too_large = true;
		r->discarded = r->body_len + n - s->max_body;
		r->discard_max = s->max_body;
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_cap = 0;
		return r->discarded > r->discard_max ? MHD_NO : MHD_YES;
	}
	need = r->body_len + n + 1;
	if (need > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;

		while (cap < need)
			cap *= 2;
		if (cap > s->max_body + 1)
			cap = s->max_body + 1;
		r->body = eda_xrealloc(r->body, cap);
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return MHD_YES;
}

static enum MHD_Result after_handler(eda_http_server_t *s, eda_http_req_t *r)
{
	if (!r->suspend_requested) {
		if (!r->replied) {
			eda_log(EDA_LOG_ERROR, "handler returned without replying", "route",
			        r->route, "request_id", r->id, NULL);
			eda_http_reply_problem(r, 500, NULL, NULL, NULL);
		}
		return eda_http__req_queue(r);
	}
	pthread_mutex_lock(&s->park_lock);
	if (!r->replied && atomic_load(&s->stopping))
		eda_http__req_answer_stopping(r);
	if (!r->replied) {
		/* Under the lock, so that a reply racing with us sees parked and
		 * resumes the connection only after it has been suspended. */
		MHD_suspend_connection(r->conn);
		r->parked = true;
		pthread_mutex_unlock(&s->park_lock);
		return MHD_YES;
	}
	pthread_mutex_unlock(&s->park_lock);
	return eda_http__req_queue(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	eda_http_server_t *s = cls;
	eda_http_req_t *r = *con_cls;

	if (r == NULL) {
		/* Only if MHD skipped the URI callback; the URL then lacks the
		 * query, which is all we lose. */
		r = eda_http__req_new(s, conn, url);
		*con_cls = r;
	}
	r->conn = conn;
	switch (r->phase) {
	case REQ_HEADERS:
		return on_headers(s, r, method, version);
	case REQ_BODY:
		if (*upload_data_size != 0) {
			enum MHD_Result ret = on_body(s, r, upload_data, *upload_data_size);

			*upload_data_size = 0;
			return ret;
		}
		r->phase = REQ_HANDLED;
		if (r->body_too_large) {
			char detail[96];

			snprintf(detail, sizeof(detail),
			         "the request body exceeds the limit of %zu bytes", s->max_body);
			reply_early(r, true, 413, detail);
			return eda_http__req_queue(r);
		}
		r->handler(r, r->handler_ctx);
		return after_handler(s, r);
	case REQ_HANDLED:
	default:
		return eda_http__req_queue(r);
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	return eda_http__req_new(cls, conn, uri);
}

static const char *termination_reason(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "completed";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "client disconnected";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client aborted";
	default:
		return "error";
	}
}

/* One log line and the two metrics per request. The route label is the
 * pattern (or "unmatched"), never the raw path, so the number of series stays
 * bounded whatever clients send. */
static void record(eda_http_server_t *s, eda_http_req_t *r, enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_HTTP_STATUS);
	unsigned status = ci != NULL ? ci->http_status : 0;
	const char *route = r->route != NULL ? r->route : "unmatched";
	struct timespec now;
	double secs;
	char code[16], ms[32];

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - r->start.tv_sec) +
	       (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
	snprintf(ms, sizeof(ms), "%.3f", secs * 1000.0);
	if (status == 0) {
		eda_log(EDA_LOG_INFO, "request ended without a response", "method", r->method,
		        "route", route, "reason", termination_reason(toe), "duration_ms", ms,
		        "request_id", r->id[0] != '\0' ? r->id : NULL, NULL);
		return;
	}
	snprintf(code, sizeof(code), "%u", status);
	eda_counter_add(s->m_requests, EDA_LABELS(route, code), 1);
	eda_histogram_observe(s->m_duration, EDA_LABELS(route), secs);
	eda_log(EDA_LOG_INFO, "request", "method", r->method, "route", route, "status", code,
	        "duration_ms", ms, "request_id", r->id[0] != '\0' ? r->id : NULL, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	eda_http_server_t *s = cls;
	eda_http_req_t *r = *con_cls;

	(void)conn;
	if (r == NULL)
		return;
	*con_cls = NULL;
	record(s, r, toe);
	eda_http__req_release_mhd(r);
	atomic_fetch_sub(&s->inflight, 1);
}

/* ---- daemon ------------------------------------------------------------- */

/* MHD decodes the path before the access handler sees it, which would turn
 * "%2F" into a segment boundary; the router decodes segment by segment from
 * the raw target instead, so MHD's decoding is switched off. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	eda_log(EDA_LOG_WARN, "libmicrohttpd", "detail", buf, NULL);
}

int eda_http_server_start(eda_http_server_t *s, char *err, size_t errsz)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	char port[8], portstr[8];
	int rc, saved;

	if (s == NULL)
		return EDA_HTTP_EINVAL;
	if (s->started) {
		eda_errf(err, errsz, "HTTP server already started");
		return EDA_HTTP_ESTATE;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)s->port);
	rc = getaddrinfo(s->bind_addr, port, &hints, &ai);
	if (rc != 0) {
		eda_errf(err, errsz, "cannot resolve HTTP bind address '%s': %s", s->bind_addr,
		         gai_strerror(rc));
		return EDA_HTTP_EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	s->daemon = MHD_start_daemon(
	        flags, s->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	        s, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, s->threads,
	        MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        s->per_ip_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
	        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	        s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, s, MHD_OPTION_END);
	saved = errno;
	freeaddrinfo(ai);
	if (s->daemon == NULL) {
		eda_errf(err, errsz, "cannot listen on %s:%u: %s", s->bind_addr, (unsigned)s->port,
		         saved != 0 ? strerror(saved) : "libmicrohttpd refused to start");
		return EDA_HTTP_ESYS;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (info != NULL)
		s->port = info->port;
	s->started = true;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)s->port);
	eda_log(EDA_LOG_INFO, "http server listening", "address", s->bind_addr, "port", portstr,
	        NULL);
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

void eda_http_server_stop(eda_http_server_t *s)
{
	struct MHD_Connection **resume = NULL;
	size_t nresume = 0;
	unsigned waited = 0;

	if (s == NULL || s->daemon == NULL)
		return;
	/* No MHD_quiesce_daemon(): in libmicrohttpd 0.9.75 with an epoll thread
	 * pool it races with a worker removing the listening socket from its epoll
	 * set, and MHD aborts the process ("Failed to remove listen FD from epoll
	 * set", seen in 2 of 40 runs). The listening socket stays open during the
	 * drain; MHD_stop_daemon() closes it. */
	atomic_store(&s->stopping, true);
	/* MHD must not be stopped with suspended connections, so every parked
	 * request gets its 503 and is resumed first; handlers that suspend from
	 * now on are answered at once (after_handler). */
	pthread_mutex_lock(&s->park_lock);
	for (eda_http_req_t *r = s->held; r != NULL; r = r->next) {
		eda_http__req_answer_stopping(r);
		if (r->parked) {
			r->parked = false;
			resume = eda_xrealloc(resume, (nresume + 1) * sizeof(*resume));
			resume[nresume++] = r->conn;
		}
	}
	pthread_mutex_unlock(&s->park_lock);
	for (size_t i = 0; i < nresume; i++)
		MHD_resume_connection(resume[i]);
	free(resume);
	while (atomic_load(&s->inflight) > 0 && waited < s->drain_ms) {
		sleep_ms(5);
		waited += 5;
	}
	if (atomic_load(&s->inflight) > 0) {
		char n[32];

		snprintf(n, sizeof(n), "%ld", (long)atomic_load(&s->inflight));
		eda_log(EDA_LOG_WARN, "http server stopping with requests in flight", "requests", n,
		        NULL);
	}
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	eda_log(EDA_LOG_INFO, "http server stopped", NULL);
}

void eda_http_server_free(eda_http_server_t *s)
{
	if (s == NULL)
		return;
	eda_http_server_stop(s);
	/* Suspended requests the application never replied to: MHD is done
	 * with them, so theirs is the last reference. */
	while (s->held != NULL) {
		eda_http_req_t *r = s->held;

		s->held = r->next;
		eda_http__req_free(r);
	}
	for (size_t i = 0; i < s->nchecks; i++)
		free(s->checks[i].name);
	free(s->checks);
	eda_router_free(s->router);
	if (s->own_metrics)
		eda_metrics_free(s->metrics);
	pthread_mutex_destroy(&s->park_lock);
	free(s->bind_addr);
	free(s->service);
	free(s);
}
