/*
 * libFuzzer driver for the HTTP router and request-target parsing
 * (common/src/http_router.c, common/src/http_url.c): everything a client
 * controls before a handler runs.
 *
 * Input: "METHOD\nTARGET", where TARGET is a path with an optional "?query";
 * without a newline the whole input is the target of a GET. Beyond "no crash,
 * no leak, no undefined behaviour", it checks that a match is deterministic,
 * that parameters are clean decoded segments, and that re-encoding the
 * decoded segments routes to the same handler.
 */
#include "eda/http_router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *method, *pattern;
} table[] = {
        {"GET", "/"},
        {"GET", "/orders"},
        {"POST", "/orders"},
        {"GET", "/orders/{id}"},
        {"POST", "/orders/{id}/cancel"},
        {"GET", "/products"},
        {"GET", "/products/{sku}"},
        {"PUT", "/products/{sku}"},
        {"POST", "/products/{sku}/restock"},
        {"GET", "/healthz"},
        {"GET", "/readyz"},
        {"GET", "/metrics"},
        {"GET", "/openapi.json"},
        {"GET", "/a/{x}/c"},
        {"GET", "/a/b/{y}"},
        {"DELETE", "/a/b/c"},
        {"GET", "/m/{p1}/{p2}/{p3}/{p4}"},
};

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Percent-encodes every byte of S outside [A-Za-z0-9-_~] into OUT. */
static size_t encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '~') {
			out[w++] = (char)c;
		} else {
			out[w++] = '%';
			out[w++] = hex[c >> 4];
			out[w++] = hex[c & 15];
		}
	}
	return w;
}

static void check_match(const eda_router_t *rt, const char *method, const char *path, size_t len)
{
	eda_route_match_t *m = malloc(sizeof(*m));
	eda_route_match_t *again = malloc(sizeof(*again));
	int rc = eda_router_match(rt, method, path, len, m);

	CHECK(rc == 0 || rc == EDA_HTTP_EBADPATH || rc == EDA_HTTP_ENOTFOUND ||
	      rc == EDA_HTTP_EMETHOD);
	CHECK(eda_router_match(rt, method, path, len, again) == rc);
	CHECK(again->handler == m->handler);
	switch (rc) {
	case 0: {
		/* Each segment becomes at most three bytes per byte, plus '/'. */
		char *re = malloc(3 * EDA_HTTP_MAX_PATH + EDA_HTTP_MAX_SEGMENTS + 1);
		size_t w = 0;

		CHECK(m->handler != NULL && m->pattern != NULL);
		CHECK(m->nparams <= m->path.nseg);
		for (size_t i = 0; i < m->nparams; i++) {
			const char *v = m->param_value[i];

			CHECK(v != NULL && *v != '\0' && strlen(v) <= len);
			CHECK(strchr(v, '/') == NULL);
			CHECK(strcmp(v, ".") != 0 && strcmp(v, "..") != 0);
			for (const char *p = v; *p != '\0'; p++)
				CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
			CHECK(eda_route_param(m, m->param_name[i]) != NULL);
		}
		for (size_t i = 0; i < m->path.nseg; i++) {
			re[w++] = '/';
			w += encode(m->path.seg[i], re + w);
		}
		if (m->path.nseg == 0)
			re[w++] = '/';
		if (w <= EDA_HTTP_MAX_PATH) {
			CHECK(eda_router_match(rt, method, re, w, again) == 0);
			CHECK(again->handler == m->handler);
		}
		free(re);
		break;
	}
	case EDA_HTTP_EMETHOD:
		CHECK(m->pattern != NULL && m->allow[0] != '\0');
		CHECK(m->handler == NULL);
		break;
	case EDA_HTTP_EBADPATH:
		CHECK(m->why != NULL);
		break;
	default:
		CHECK(m->handler == NULL);
	}
	free(m);
	free(again);
}

static void check_query(const char *q, size_t len)
{
	char *copy = malloc(len + 1);
	eda_http_query_t args;
	const char *why = NULL;

	memcpy(copy, q, len);
	copy[len] = '\0';
	if (eda_http_query_parse(copy, &args, &why) == 0) {
		CHECK(args.n <= EDA_HTTP_MAX_QUERY_PARAMS);
		for (size_t i = 0; i < args.n; i++) {
			CHECK(args.key[i][0] != '\0');
			CHECK(eda_http_query_get(&args, args.key[i]) != NULL);
			for (const char *p = args.value[i]; *p != '\0'; p++)
				CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
		}
	} else {
		CHECK(why != NULL);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	char method[64] = "GET";
	const char *target = in, *q;
	size_t tlen = size, plen;
	eda_router_t *rt = eda_router_new();

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		CHECK(eda_router_add(rt, table[i].method, table[i].pattern, (void *)(i + 1),
		                     NULL) == 0);
	if (nl != NULL) {
		size_t mlen = (size_t)(nl - in);

		if (mlen >= sizeof(method))
			mlen = sizeof(method) - 1;
		memcpy(method, in, mlen);
		method[mlen] = '\0';
		target = nl + 1;
		tlen = size - (size_t)(target - in);
	}
	q = memchr(target, '?', tlen);
	plen = q != NULL ? (size_t)(q - target) : tlen;
	check_match(rt, method, target, plen);
	if (q != NULL)
		check_query(q + 1, tlen - plen - 1);
	eda_router_free(rt);
	return 0;
}
