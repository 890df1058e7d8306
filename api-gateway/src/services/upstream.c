/*
 * The forwarding engine (see upstream.h). Handlers push jobs onto a queue under
 * a mutex and wake the engine's thread with curl_multi_wakeup(); that thread
 * alone touches the multi handle and the easy handles, so libcurl needs no
 * locking. Easy handles are recycled through a free list; connections live
 * in the multi handle's cache, which is what makes keep-alive work across
 * requests that use different easy handles.
 */
#include "services/upstream.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct job {
	struct job *next;
	eda_http_req_t *req;
	CURL *easy;
	const char *upstream;
	char *url;
	struct curl_slist *headers;
	struct curl_slist *reply_headers;
	struct curl_slist *resp_headers; /* of the final response only */
	char *connection;                /* its Connection header's options */
	char *body;
	size_t len, cap, max;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
};

struct gw_upstream {
	gw_upstream_config_t cfg;
	CURLM *multi;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock; /* guards queue and stopping */
	struct job *queue;
	bool stopping;
	atomic_bool draining;

	atomic_long inflight;
	atomic_long connections;

	/* Touched by the engine thread only. */
	struct job *running; /* list of jobs added to the multi handle */
	CURL **free_easy;
	size_t nfree;

	eda_metric_t *m_errors;
	eda_metric_t *m_conns;
};

/* ---- jobs --------------------------------------------------------------- */

static void job_free(struct job *j)
{
	curl_slist_free_all(j->headers);
	curl_slist_free_all(j->reply_headers);
	curl_slist_free_all(j->resp_headers);
	free(j->connection);
	free(j->url);
	free(j->body);
	free(j);
}

static void add_reply_headers(eda_http_req_t *r, struct curl_slist *l)
{
	for (; l != NULL; l = l->next) {
		char *colon = strchr(l->data, ':');
		char *name;

		if (colon == NULL)
			continue;
		name = eda_xstrndup(l->data, (size_t)(colon - l->data));
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		eda_http_reply_header(r, name, colon);
		free(name);
	}
}

static void fail_job(gw_upstream_t *p, struct job *j, int status, const char *kind,
                     const char *detail)
{
	if (kind != NULL)
		eda_counter_add(p->m_errors, EDA_LABELS(j->upstream, kind), 1);
	add_reply_headers(j->req, j->reply_headers);
	eda_http_reply_problem(j->req, status, NULL, detail, NULL);
}

/* ---- upstream response -------------------------------------------------- */

/* A body past max_response aborts the transfer (CURLE_WRITE_ERROR). */
static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;

	if (len > j->max - j->len) {
		j->too_large = true;
		return 0;
	}
	if (j->len + len + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;

		while (cap < j->len + len + 1)
			cap *= 2;
		j->body = eda_xrealloc(j->body, cap);
		j->cap = cap;
	}
	memcpy(j->body + j->len, data, len);
	j->len += len;
	return len;
}

static bool hop_by_hop(const char *name, size_t n)
{
	static const char *const drop[] = {
	        "connection",
	        "keep-alive",
	        "proxy-authenticate",
	        "proxy-authorization",
	        "te",
	        "trailer",
	        "transfer-encoding",
	        "upgrade",
	        "proxy-connection", /* the server sets these itself: */
	        "content-length",
	        "date",
	        "content-type",
	        "x-request-id",
	        "access-control-allow-origin",
	};

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		if (strlen(drop[i]) == n && strncasecmp(drop[i], name, n) == 0)
			return true;
	}
	return false;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n, end = len;
	char *colon;

	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	if (end >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new status line (after a 100 Continue, say): only the final
		 * response's headers count. */
		curl_slist_free_all(j->resp_headers);
		j->resp_headers = NULL;
		free(j->connection);
		j->connection = NULL;
		return len;
	}
	colon = memchr(data, ':', end);
	if (end == 0 || colon == NULL || data[0] == ' ' || data[0] == '\t')
		return len;
	if ((size_t)(colon - data) == 10 && strncasecmp(data, "connection", 10) == 0) {
		const char *v = colon + 1;
		char *prev = j->connection;

		j->connection =
		        eda_xasprintf("%s%s%.*s", prev != NULL ? prev : "", prev != NULL ? "," : "",
		                      (int)(end - (size_t)(v - data)), v);
		free(prev);
		return len;
	}
	if (!hop_by_hop(data, (size_t)(colon - data))) {
		char *line = eda_xstrndup(data, end);

		j->resp_headers = curl_slist_append(j->resp_headers, line);
		free(line);
	}
	return len;
}

/* True if NAME is listed in the upstream's Connection header: those are
 * hop-by-hop too (RFC 9110 7.6.1). */
static bool connection_option(const char *connection, const char *name, size_t n)
{
	const char *p = connection;

	while (p != NULL && *p != '\0') {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static void drop_connection_options(struct job *j)
{
	struct curl_slist *kept = NULL;

	if (j->connection == NULL)
		return;
	for (struct curl_slist *l = j->resp_headers; l != NULL; l = l->next) {
		size_t n = strcspn(l->data, ":");

		if (!connection_option(j->connection, l->data, n))
			kept = curl_slist_append(kept, l->data);
	}
	curl_slist_free_all(j->resp_headers);
	j->resp_headers = kept;
}

static void reply_upstream(gw_upstream_t *p, struct job *j)
{
	long status = 0;
	char *ctype = NULL;

	(void)p;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ctype);
	drop_connection_options(j);
	add_reply_headers(j->req, j->resp_headers);
	add_reply_headers(j->req, j->reply_headers);
	/* The body goes to the client's response as it is, without a copy. */
	eda_http_reply_take(j->req, (int)status, ctype, j->body, j->len);
	j->body = NULL;
	j->len = j->cap = 0;
}

static void finish(gw_upstream_t *p, struct job *j, CURLcode rc)
{
	long conns = 0;
	char detail[CURL_ERROR_SIZE + 128];

	if (curl_easy_getinfo(j->easy, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK && conns > 0) {
		atomic_fetch_add(&p->connections, conns);
		eda_counter_add(p->m_conns, EDA_LABELS(j->upstream), (double)conns);
	}
	switch (rc) {
	case CURLE_OK:
		reply_upstream(p, j);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(detail, sizeof(detail), "the %s did not answer within %ld ms", j->upstream,
		         p->cfg.timeout_ms);
		fail_job(p, j, 504, "timeout", detail);
		break;
	case CURLE_WRITE_ERROR:
		if (!j->too_large)
			goto other;
		snprintf(detail, sizeof(detail), "the %s sent a response larger than %zu bytes",
		         j->upstream, p->cfg.max_response);
		fail_job(p, j, 502, "too_large", detail);
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(detail, sizeof(detail), "the %s is unreachable", j->upstream);
		fail_job(p, j, 502, "refused", detail);
		break;
	default:
	other:
		snprintf(detail, sizeof(detail), "the %s failed: %s", j->upstream,
		         j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(rc));
		fail_job(p, j, 502, "error", detail);
		break;
	}
	if (rc != CURLE_OK)
		eda_log(EDA_LOG_WARN, "upstream request failed", "upstream", j->upstream, "error",
		        j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(rc), NULL);
}

/* ---- the engine thread -------------------------------------------------- */

static CURL *take_easy(gw_upstream_t *p)
{
	if (p->nfree > 0)
		return p->free_easy[--p->nfree];
	return curl_easy_init();
}

static void give_easy(gw_upstream_t *p, CURL *e)
{
	curl_easy_reset(e);
	p->free_easy = eda_xrealloc(p->free_easy, (p->nfree + 1) * sizeof(*p->free_easy));
	p->free_easy[p->nfree++] = e;
}

static void set_method(CURL *e, eda_http_req_t *r)
{
	const char *method = eda_http_req_method(r);
	size_t len = 0;
	const char *body = eda_http_req_body(r, &len);

	if (strcmp(method, "GET") == 0 && len == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		return;
	}
	/* POSTFIELDS sends the body (borrowed: the suspended request keeps it
	 * alive) and CUSTOMREQUEST replaces the method word, which is how
	 * PUT, PATCH and DELETE with a body go out in one request. */
	if (len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	}
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
}

static int start_job(gw_upstream_t *p, struct job *j)
{
	CURL *e = take_easy(p);

	if (e == NULL)
		return -1;
	j->easy = e;
	j->max = p->cfg.max_response;
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	set_method(e, j->req);
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
		give_easy(p, e);
		j->easy = NULL;
		return -1;
	}
	j->next = p->running;
	p->running = j;
	return 0;
}

static void unlink_running(gw_upstream_t *p, struct job *j)
{
	for (struct job **pp = &p->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static void done(gw_upstream_t *p, struct job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(p->multi, j->easy);
		give_easy(p, j->easy);
	}
	job_free(j);
	atomic_fetch_sub(&p->inflight, 1);
}

static void *engine(void *arg)
{
	gw_upstream_t *p = arg;
	struct job *j;

	for (;;) {
		struct job *batch;
		CURLMsg *msg;
		int running = 0, left = 0;
		bool stopping;

		pthread_mutex_lock(&p->lock);
		batch = p->queue;
		p->queue = NULL;
		stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);

		while ((j = batch) != NULL) {
			batch = j->next;
			if (stopping || start_job(p, j) != 0) {
				fail_job(p, j, 503, stopping ? NULL : "error",
				         stopping
				                 ? "the gateway is shutting down"
				                 : "the gateway cannot start the upstream request");
				done(p, j);
			}
		}
		if (stopping)
			break;
		curl_multi_perform(p->multi, &running);
		while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			unlink_running(p, j);
			finish(p, j, msg->data.result);
			done(p, j);
		}
		curl_multi_poll(p->multi, NULL, 0, 1000, NULL);
	}
	while ((j = p->running) != NULL) {
		p->running = j->next;
		fail_job(p, j, 503, NULL, "the gateway is shutting down");
		done(p, j);
	}
	return NULL;
}

/* ---- public ------------------------------------------------------------- */

gw_upstream_t *gw_upstream_new(const gw_upstream_config_t *cfg, char *err, size_t errsz)
{
	gw_upstream_t *p = eda_xcalloc(1, sizeof(*p));

	p->cfg = *cfg;
	if (p->cfg.max_inflight <= 0)
		p->cfg.max_inflight = 4096;
	if (p->cfg.max_response == 0)
		p->cfg.max_response = 16 * 1024 * 1024;
	if (p->cfg.timeout_ms <= 0)
		p->cfg.timeout_ms = 30000;
	if (p->cfg.connect_timeout_ms <= 0)
		p->cfg.connect_timeout_ms = 2000;
	pthread_mutex_init(&p->lock, NULL);
	atomic_init(&p->inflight, 0);
	atomic_init(&p->connections, 0);
	atomic_init(&p->draining, false);
	p->m_errors = eda_metrics_counter(cfg->metrics, "upstream_errors_total",
	                                  "Upstream requests that failed, by upstream and kind "
	                                  "(refused, timeout, too_large, error).",
	                                  "upstream,kind", err, errsz);
	p->m_conns = eda_metrics_counter(cfg->metrics, "upstream_connections_opened_total",
	                                 "TCP connections opened to upstreams (low when "
	                                 "keep-alive works).",
	                                 "upstream", err, errsz);
	p->multi = curl_multi_init();
	if (p->m_errors == NULL || p->m_conns == NULL || p->multi == NULL) {
		if (p->multi == NULL)
			eda_errf(err, errsz, "cannot create the libcurl multi handle");
		goto fail;
	}
	/* The cache must hold one idle connection per concurrent client
	 * connection, or keep-alive turns into reconnects under load. */
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, 1024L);
	if (pthread_create(&p->thread, NULL, engine, p) != 0) {
		eda_errf(err, errsz, "cannot start the proxy thread");
		goto fail;
	}
	p->thread_started = true;
	return p;
fail:
	gw_upstream_free(p);
	return NULL;
}

void gw_upstream_forward(gw_upstream_t *p, eda_http_req_t *r, gw_forward_t *fwd)
{
	struct job *j = eda_xcalloc(1, sizeof(*j));
	bool accepted = false, wake = false;

	j->req = r;
	j->upstream = fwd->upstream;
	j->url = fwd->url;
	j->headers = fwd->headers;
	j->reply_headers = fwd->reply_headers;
	memset(fwd, 0, sizeof(*fwd));
	if (atomic_load(&p->draining)) {
		add_reply_headers(r, j->reply_headers);
		eda_http_reply_header(r, "Connection", "close");
		eda_http_reply_problem(r, 503, NULL, "the gateway is shutting down", NULL);
		job_free(j);
		return;
	}
	if (atomic_fetch_add(&p->inflight, 1) >= p->cfg.max_inflight) {
		atomic_fetch_sub(&p->inflight, 1);
		eda_counter_add(p->m_errors, EDA_LABELS(j->upstream, "overload"), 1);
		add_reply_headers(r, j->reply_headers);
		eda_http_reply_header(r, "Retry-After", "1");
		eda_http_reply_problem(r, 503, NULL, "too many requests in flight", NULL);
		job_free(j);
		return;
	}
	/* Suspend before queueing: once queued, the engine may reply at once. */
	eda_http_suspend(r);
	pthread_mutex_lock(&p->lock);
	if (!p->stopping) {
		/* The engine takes the whole queue at once, so only the job
		 * that finds it empty needs to wake it: under load that saves
		 * a write and a context switch per request. */
		wake = p->queue == NULL;
		j->next = p->queue;
		p->queue = j;
		accepted = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (!accepted) {
		add_reply_headers(r, j->reply_headers);
		eda_http_reply_problem(r, 503, NULL, "the gateway is shutting down", NULL);
		job_free(j);
		atomic_fetch_sub(&p->inflight, 1);
		return;
	}
	if (wake)
		curl_multi_wakeup(p->multi);
}

int gw_upstream_drain(gw_upstream_t *p, unsigned timeout_ms)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
	unsigned waited = 0;

	atomic_store(&p->draining, true);
	while (atomic_load(&p->inflight) > 0 && waited < timeout_ms) {
		nanosleep(&tick, NULL);
		waited += 5;
	}
	return atomic_load(&p->inflight) > 0 ? -1 : 0;
}

void gw_upstream_stop(gw_upstream_t *p)
{
	if (p == NULL || !p->thread_started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_mutex_unlock(&p->lock);
	curl_multi_wakeup(p->multi);
	pthread_join(p->thread, NULL);
	p->thread_started = false;
}

void gw_upstream_free(gw_upstream_t *p)
{
	if (p == NULL)
		return;
	gw_upstream_stop(p);
	for (size_t i = 0; i < p->nfree; i++)
		curl_easy_cleanup(p->free_easy[i]);
	free(p->free_easy);
	if (p->multi != NULL)
		curl_multi_cleanup(p->multi);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

long gw_upstream_connections_opened(gw_upstream_t *p)
{
	return atomic_load(&p->connections);
}

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
	(void)data;
	(void)ud;
	return size * n;
}

int gw_upstream_healthy(const char *base_url, long timeout_ms, char *err, size_t errsz)
{
	CURL *e = curl_easy_init();
	size_t n = strlen(base_url);
	char *url;
	long status = 0;
	CURLcode rc;

	if (e == NULL) {
		eda_errf(err, errsz, "cannot create a libcurl handle");
		return -1;
	}
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	url = eda_xasprintf("%.*s/healthz", (int)n, base_url);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	free(url);
	if (rc != CURLE_OK) {
		eda_errf(err, errsz, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		eda_errf(err, errsz, "/healthz answered %ld", status);
		return -1;
	}
	return 0;
}
