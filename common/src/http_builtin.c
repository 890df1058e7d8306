/*
 * The endpoints every daemon serves (DESIGN.md, "Default ports"): /healthz
 * says the process is alive, /readyz runs the registered readiness checks,
 * /metrics renders the server's registry in Prometheus text format 0.0.4.
 * They are ordinary routes, so they get 405, request ids, logs and metrics
 * like any other.
 */
#include "http_internal.h"

#include "eda/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void healthz(eda_http_req_t *r, void *ctx)
{
	eda_http_server_t *s = ctx;
	json_t *body = json_object();

	json_object_set_new(body, "status", json_string("ok"));
	if (s->service != NULL)
		json_object_set_new(body, "service", json_string(s->service));
	eda_http_reply_json(r, 200, body);
}

static json_t *check_result(int rc, const char *error)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_string(rc == 0 ? "ok" : "fail"));
	if (rc != 0) {
		json_t *e = json_string(error);

		json_object_set_new(o, "error", e != NULL ? e : json_string("(not UTF-8)"));
	}
	return o;
}

/* Every check runs even after one fails, so that the answer names all the
 * dependencies that are down, not only the first. */
static void readyz(eda_http_req_t *r, void *ctx)
{
	eda_http_server_t *s = ctx;
	json_t *checks = json_object();
	char detail[512] = "";
	size_t failed = 0;

	for (size_t i = 0; i < s->nchecks; i++) {
		char error[256] = "";
		int rc = s->checks[i].fn(s->checks[i].ctx, error, sizeof(error));

		if (rc != 0) {
			size_t n = strlen(detail);

			if (error[0] == '\0')
				snprintf(error, sizeof(error), "check failed");
			snprintf(detail + n, sizeof(detail) - n, "%s%s: %s", failed ? "; " : "",
			         s->checks[i].name, error);
			failed++;
			eda_log(EDA_LOG_WARN, "readiness check failed", "check", s->checks[i].name,
			        "error", error, "request_id", eda_http_req_id(r), NULL);
		}
		json_object_set_new(checks, s->checks[i].name, check_result(rc, error));
	}
	if (failed == 0) {
		json_t *body = json_object();

		json_object_set_new(body, "status", json_string("ok"));
		json_object_set_new(body, "checks", checks);
		eda_http_reply_json(r, 200, body);
	} else {
		json_t *p = eda_problem_new(503, NULL, "Not Ready", detail);

		json_object_set_new(p, "checks", checks);
		eda_http_reply_problem_json(r, p);
	}
}

static void metrics(eda_http_req_t *r, void *ctx)
{
	eda_http_server_t *s = ctx;
	size_t len = 0;
	char *text = eda_metrics_render(s->metrics, &len);

	eda_http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

int eda_http__add_builtins(eda_http_server_t *s)
{
	int rc;

	rc = eda_http_route(s, "GET", "/healthz", healthz, s);
	if (rc == 0)
		rc = eda_http_route(s, "GET", "/readyz", readyz, s);
	if (rc == 0)
		rc = eda_http_route(s, "GET", "/metrics", metrics, s);
	return rc;
}
