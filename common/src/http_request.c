/*
 * The request object handlers see: accessors, JSON bodies, the reply
 * functions and suspension. A request owns all of its memory (struct, target
 * text, body, extra reply headers, the built response) and
 * eda_http__req_free() is the one place that releases it.
 *
 * A reply only builds the libmicrohttpd response and stores it in the request;
 * the server queues it from its own thread (eda_http__req_queue), because MHD
 * allows MHD_queue_response() only from its callbacks. A reply to a suspended
 * request therefore stores the response and resumes the connection, and MHD
 * calls the access handler again, which queues it.
 */
#include "http_internal.h"

#include "eda/alloc.h"
#include "eda/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

eda_http_req_t *eda_http__req_new(eda_http_server_t *s, struct MHD_Connection *conn,
                                  const char *uri)
{
	size_t n = strlen(uri);
	const char *q = memchr(uri, '?', n);
	size_t plen = q != NULL ? (size_t)(q - uri) : n;
	/* The raw path and the query copy share one allocation with the struct,
	 * so the whole target costs no extra malloc. */
	eda_http_req_t *r = eda_xcalloc(1, sizeof(*r) + n + 2);

	r->server = s;
	r->conn = conn;
	r->refs = 1;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	memcpy(r->text, uri, plen);
	r->text[plen] = '\0';
	r->path = r->text;
	if (q != NULL) {
		r->query = r->text + plen + 1;
		memcpy(r->query, q + 1, n - plen);
	}
	atomic_fetch_add(&s->inflight, 1);
	return r;
}

void eda_http__req_free(eda_http_req_t *r)
{
	if (r == NULL)
		return;
	if (r->response != NULL)
		MHD_destroy_response(r->response);
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r->headers);
	free(r->body);
	free(r);
}

void eda_http__req_release_mhd(eda_http_req_t *r)
{
	eda_http_server_t *s = r->server;
	bool last = true;

	/* suspend_requested is only ever set on this (the MHD) thread, so it can
	 * be read without the lock. */
	if (r->suspend_requested) {
		pthread_mutex_lock(&s->park_lock);
		last = --r->refs == 0;
		pthread_mutex_unlock(&s->park_lock);
	}
	if (last)
		eda_http__req_free(r);
}

enum MHD_Result eda_http__req_queue(eda_http_req_t *r)
{
	enum MHD_Result ret;
	struct MHD_Response *resp;

	if (r->suspend_requested)
		pthread_mutex_lock(&r->server->park_lock);
	resp = r->queued ? NULL : r->response;
	r->response = NULL;
	if (resp != NULL)
		r->queued = true;
	if (r->suspend_requested)
		pthread_mutex_unlock(&r->server->park_lock);
	/* No reply yet: MHD called again for nothing; keep the connection. */
	if (resp == NULL)
		return MHD_YES;
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- accessors ---------------------------------------------------------- */

const char *eda_http_req_method(const eda_http_req_t *r)
{
	return r->method;
}

const char *eda_http_req_path(const eda_http_req_t *r)
{
	return r->path;
}

const char *eda_http_req_route(const eda_http_req_t *r)
{
	return r->route;
}

const char *eda_http_req_param(const eda_http_req_t *r, const char *name)
{
	return eda_route_param(&r->match, name);
}

const char *eda_http_req_query(const eda_http_req_t *r, const char *name)
{
	return eda_http_query_get(&r->args, name);
}

const char *eda_http_req_header(const eda_http_req_t *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *eda_http_req_id(const eda_http_req_t *r)
{
	return r->id;
}

const char *eda_http_req_body(const eda_http_req_t *r, size_t *len)
{
	if (len != NULL)
		*len = r->body_len;
	return r->body != NULL ? r->body : "";
}

/* application/json, or application/<anything>+json, ignoring parameters. */
static bool is_json_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Jansson's message, except where it names its own flags or misleads: a NUL
 * after the value reads "end of file expected near end of file". */
static const char *json_error_text(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_null_character:
		return "\\u0000 is not allowed in a string";
	case json_error_null_byte_in_key:
		return "\\u0000 is not allowed in a member name";
	case json_error_end_of_input_expected:
		return "data follows the JSON value";
	default:
		return e->text;
	}
}

int eda_http_req_json(eda_http_req_t *r, json_t **out)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (!is_json_type(eda_http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		eda_http_reply_problem(
		        r, 415, NULL,
		        "the request body must be JSON (Content-Type: application/json)", NULL);
		return -1;
	}
	if (r->body_len == 0) {
		eda_http_reply_problem(r, 400, NULL, "the request body is empty", NULL);
		return -1;
	}
	j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		char detail[256 + 64];

		snprintf(detail, sizeof(detail), "malformed JSON at line %d, column %d: %s",
		         jerr.line, jerr.column, json_error_text(&jerr));
		eda_http_reply_problem(r, 400, NULL, detail, NULL);
		return -1;
	}
	*out = j;
	return 0;
}

/* ---- replies ------------------------------------------------------------ */

static bool header_text_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

void eda_http_reply_header(eda_http_req_t *r, const char *name, const char *value)
{
	if (!header_text_ok(name) || *name == '\0' || strpbrk(name, " \t:") != NULL ||
	    !header_text_ok(value)) {
		eda_log(EDA_LOG_WARN, "invalid response header dropped", "request_id", r->id, NULL);
		return;
	}
	if (r->nheaders + 2 > r->headers_cap) {
		r->headers_cap = r->headers_cap ? r->headers_cap * 2 : 8;
		r->headers = eda_xrealloc(r->headers, r->headers_cap * sizeof(*r->headers));
	}
	r->headers[r->nheaders++] = eda_xstrdup(name);
	r->headers[r->nheaders++] = eda_xstrdup(value);
}

/* Builds the response; takes BODY (malloc'd) when FREE_BODY, else copies it.
 * WITH_EXTRA adds the handler's headers: only the replying thread may read
 * them, so the 503 that stop() sends for a parked request leaves them out. */
static struct MHD_Response *build(eda_http_req_t *r, const char *content_type, char *body,
                                  size_t len, bool free_body, bool with_extra)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	        len, body, free_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);

	if (resp == NULL) {
		fprintf(stderr, "out of memory building an HTTP response\n");
		abort();
	}
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	/* While draining, every answer ends its connection so that keep-alive
	 * clients move to another instance instead of feeding this one. */
	if (atomic_load(&r->server->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	for (size_t i = 0; with_extra && i + 1 < r->nheaders; i += 2) {
		if (MHD_add_response_header(resp, r->headers[i], r->headers[i + 1]) != MHD_YES)
			eda_log(EDA_LOG_WARN, "response header refused", "request_id", r->id,
			        "header", r->headers[i], NULL);
	}
	return resp;
}

/* Stores RESP as R's one reply. Called by handlers (their thread) or, for a
 * suspended request, by any thread; the latter also hands back the
 * application's reference, which may free R. */
static void deliver(eda_http_req_t *r, unsigned status, struct MHD_Response *resp)
{
	eda_http_server_t *s = r->server;
	struct MHD_Connection *resume = NULL;
	bool last = false;

	if (!r->suspend_requested) {
		if (r->replied) {
			eda_log(EDA_LOG_ERROR, "second reply to a request ignored", "request_id",
			        r->id, NULL);
			MHD_destroy_response(resp);
			return;
		}
		r->response = resp;
		r->status = status;
		r->replied = true;
		return;
	}
	pthread_mutex_lock(&s->park_lock);
	if (r->replied) {
		/* stop() answered it already; the application's reply is moot. */
		MHD_destroy_response(resp);
	} else {
		r->response = resp;
		r->status = status;
		r->replied = true;
		if (r->parked) {
			r->parked = false;
			resume = r->conn;
		}
	}
	if (r->app_ref) {
		r->app_ref = false;
		if (r->prev != NULL)
			r->prev->next = r->next;
		else
			s->held = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
		last = --r->refs == 0;
	}
	pthread_mutex_unlock(&s->park_lock);
	/* A parked connection cannot complete, so CONN stays valid until MHD
	 * has processed this resume even though the lock is released. */
	if (resume != NULL)
		MHD_resume_connection(resume);
	if (last)
		eda_http__req_free(r);
}

/* A status outside 100..599 is a bug in the caller; the client gets a
 * plain 500 problem rather than whatever the bug would have sent. */
static bool status_ok(eda_http_req_t *r, int status)
{
	char buf[16];

	if (status >= 100 && status <= 599)
		return true;
	snprintf(buf, sizeof(buf), "%d", status);
	eda_log(EDA_LOG_ERROR, "invalid HTTP status replaced by 500", "request_id", r->id, "status",
	        buf, NULL);
	eda_http_reply_problem(r, 500, NULL, NULL, NULL);
	return false;
}

void eda_http_reply(eda_http_req_t *r, int status, const char *content_type, const char *body,
                    size_t len)
{
	if (!status_ok(r, status))
		return;
	deliver(r, (unsigned)status,
	        build(r, content_type, (char *)(body != NULL ? body : ""), body != NULL ? len : 0,
	              false, true));
}

void eda_http_reply_take(eda_http_req_t *r, int status, const char *content_type, char *body,
                         size_t len)
{
	if (!status_ok(r, status)) {
		free(body);
		return;
	}
	/* MHD takes no buffer for an empty body, so that one is freed here. */
	if (body == NULL || len == 0) {
		free(body);
		deliver(r, (unsigned)status, build(r, content_type, "", 0, false, true));
		return;
	}
	deliver(r, (unsigned)status, build(r, content_type, body, len, true, true));
}

static void reply_dumped(eda_http_req_t *r, unsigned status, const char *content_type, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(doc);
	if (text == NULL) {
		eda_log(EDA_LOG_ERROR, "cannot serialise a JSON reply", "request_id", r->id, NULL);
		eda_http_reply_problem(r, 500, NULL, "the response could not be serialised", NULL);
		return;
	}
	deliver(r, status, build(r, content_type, text, strlen(text), true, true));
}

void eda_http_reply_json(eda_http_req_t *r, int status, json_t *body)
{
	if (!status_ok(r, status)) {
		json_decref(body);
		return;
	}
	reply_dumped(r, (unsigned)status, "application/json", body != NULL ? body : json_null());
}

void eda_http_reply_problem_json(eda_http_req_t *r, json_t *problem)
{
	json_t *st = json_object_get(problem, "status");
	json_int_t status = json_is_integer(st) ? json_integer_value(st) : 0;

	if (status < 100 || status > 599) {
		json_decref(problem);
		status_ok(r, (int)(status < 0 || status > 999 ? 0 : status));
		return;
	}
	reply_dumped(r, (unsigned)status, "application/problem+json", problem);
}

void eda_http_reply_problem(eda_http_req_t *r, int status, const char *title, const char *detail,
                            json_t *errors)
{
	char why[320];
	json_t *p;

	if (status < 100 || status > 599) {
		json_decref(errors);
		status_ok(r, status);
		return;
	}
	/* Every problem carries a detail (DESIGN.md); a caller with field
	 * errors may leave it to them. */
	if (detail == NULL && json_array_size(errors) > 0) {
		json_t *first = json_array_get(errors, 0);
		const char *field = json_string_value(json_object_get(first, "field"));
		const char *message = json_string_value(json_object_get(first, "message"));

		snprintf(why, sizeof(why), "%s: %s%s", field != NULL ? field : "body",
		         message != NULL ? message : "is invalid",
		         json_array_size(errors) > 1 ? " (and more errors)" : "");
		detail = why;
	} else if (detail == NULL) {
		detail = title != NULL ? title : eda_http_reason(status);
	}
	p = eda_problem_new(status, errors != NULL ? EDA_PROBLEM_VALIDATION : NULL, title, detail);
	if (errors != NULL)
		json_object_set_new(p, "errors", errors);
	eda_http_reply_problem_json(r, p);
}

/* ---- suspension --------------------------------------------------------- */

void eda_http_suspend(eda_http_req_t *r)
{
	eda_http_server_t *s = r->server;

	pthread_mutex_lock(&s->park_lock);
	if (!r->suspend_requested && !r->replied) {
		r->suspend_requested = true;
		r->app_ref = true;
		r->refs++;
		r->prev = NULL;
		r->next = s->held;
		if (s->held != NULL)
			s->held->prev = r;
		s->held = r;
	}
	pthread_mutex_unlock(&s->park_lock);
}

void eda_http__req_answer_stopping(eda_http_req_t *r)
{
	char *text;
	json_t *p;

	if (r->replied)
		return;
	p = eda_problem_new(503, NULL, NULL, "the service is shutting down");
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (text == NULL)
		abort();
	r->response = build(r, "application/problem+json", text, strlen(text), true, false);
	r->status = 503;
	r->replied = true;
}
