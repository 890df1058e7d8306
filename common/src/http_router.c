/*
 * The route table behind the HTTP server: patterns with literal and {param}
 * segments, matched against percent-decoded request paths. A service has a
 * dozen routes, so a linear scan that compares segment counts first beats a
 * trie in both speed and clarity; matching allocates nothing. See
 * eda/http_router.h for the rules (precedence, 405, HEAD).
 */
#include "eda/http_router.h"

#include "eda/alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
	char method[EDA_HTTP_MAX_METHOD + 1];
	char *pattern; /* as given, for logs and metrics */
	char *text;    /* the pattern split in place; lit/name point into it */
	size_t nseg;
	const char *lit[EDA_HTTP_MAX_SEGMENTS];  /* NULL where the segment is a parameter */
	const char *name[EDA_HTTP_MAX_SEGMENTS]; /* parameter names, NULL for literals */
	void *handler;
	void *ctx;
};

struct eda_router {
	struct route **routes;
	size_t n, cap;
};

const char *eda_http_strerror(int err)
{
	switch (err) {
	case EDA_HTTP_OK:
		return "success";
	case EDA_HTTP_EINVAL:
		return "invalid argument";
	case EDA_HTTP_EEXIST:
		return "route already registered";
	case EDA_HTTP_EBADPATH:
		return "malformed request target";
	case EDA_HTTP_ENOTFOUND:
		return "no such route";
	case EDA_HTTP_EMETHOD:
		return "method not allowed";
	case EDA_HTTP_ESTATE:
		return "invalid server state";
	case EDA_HTTP_ESYS:
		return "system error";
	default:
		return "unknown error";
	}
}

eda_router_t *eda_router_new(void)
{
	return eda_xcalloc(1, sizeof(eda_router_t));
}

static void route_free(struct route *r)
{
	if (r == NULL)
		return;
	free(r->pattern);
	free(r->text);
	free(r);
}

void eda_router_free(eda_router_t *rt)
{
	if (rt == NULL)
		return;
	for (size_t i = 0; i < rt->n; i++)
		route_free(rt->routes[i]);
	free(rt->routes);
	free(rt);
}

/* RFC 9110 token characters; methods are tokens. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool valid_method(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > EDA_HTTP_MAX_METHOD)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_tchar((unsigned char)m[i]))
			return false;
	}
	return true;
}

static bool valid_param_name(const char *s, size_t n)
{
	if (n == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Literals are compared with decoded segments, so they are written decoded;
 * '%' is refused to keep "%41" from silently meaning something else than "A". */
static bool valid_literal(const char *s, size_t n)
{
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("{}%?#", c) != NULL)
			return false;
	}
	return true;
}

/* Splits PATTERN into R's segments; 0 or EDA_HTTP_EINVAL. */
static int parse_pattern(struct route *r, const char *pattern)
{
	size_t len = strlen(pattern);
	char *p;

	if (len == 0 || pattern[0] != '/' || len > EDA_HTTP_MAX_PATH)
		return EDA_HTTP_EINVAL;
	r->text = eda_xstrdup(pattern);
	if (len == 1)
		return 0;
	p = r->text + 1;
	for (;;) {
		char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (r->nseg == EDA_HTTP_MAX_SEGMENTS || n == 0)
			return EDA_HTTP_EINVAL;
		if (slash != NULL)
			*slash = '\0';
		if (p[0] == '{') {
			if (n < 3 || p[n - 1] != '}' || !valid_param_name(p + 1, n - 2))
				return EDA_HTTP_EINVAL;
			p[n - 1] = '\0';
			for (size_t k = 0; k < r->nseg; k++) {
				if (r->name[k] != NULL && strcmp(r->name[k], p + 1) == 0)
					return EDA_HTTP_EINVAL;
			}
			r->name[r->nseg] = p + 1;
		} else {
			if (!valid_literal(p, n))
				return EDA_HTTP_EINVAL;
			r->lit[r->nseg] = p;
		}
		r->nseg++;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

static bool same_shape(const struct route *a, const struct route *b)
{
	if (a->nseg != b->nseg)
		return false;
	for (size_t i = 0; i < a->nseg; i++) {
		if ((a->lit[i] == NULL) != (b->lit[i] == NULL))
			return false;
		if (a->lit[i] != NULL && strcmp(a->lit[i], b->lit[i]) != 0)
			return false;
	}
	return true;
}

int eda_router_add(eda_router_t *rt, const char *method, const char *pattern, void *handler,
                   void *ctx)
{
	struct route *r;
	int rc = EDA_HTTP_EINVAL;

	if (rt == NULL || method == NULL || pattern == NULL || !valid_method(method))
		return EDA_HTTP_EINVAL;
	r = eda_xcalloc(1, sizeof(*r));
	if (parse_pattern(r, pattern) != 0)
		goto fail;
	strcpy(r->method, method);
	for (size_t i = 0; i < rt->n; i++) {
		if (strcmp(rt->routes[i]->method, method) == 0 && same_shape(rt->routes[i], r)) {
			rc = EDA_HTTP_EEXIST;
			goto fail;
		}
	}
	r->pattern = eda_xstrdup(pattern);
	r->handler = handler;
	r->ctx = ctx;
	if (rt->n == rt->cap) {
		rt->cap = rt->cap ? rt->cap * 2 : 16;
		rt->routes = eda_xrealloc(rt->routes, rt->cap * sizeof(*rt->routes));
	}
	rt->routes[rt->n++] = r;
	return 0;
fail:
	route_free(r);
	return rc;
}

static bool literals_match(const struct route *r, const eda_http_path_t *p)
{
	for (size_t i = 0; i < r->nseg; i++) {
		if (r->lit[i] != NULL && strcmp(r->lit[i], p->seg[i]) != 0)
			return false;
	}
	return true;
}

/* Of two routes matching the same path, the one with a literal at the first
 * segment where they differ; A when they tie (B is never better then). */
static const struct route *more_specific(const struct route *a, const struct route *b)
{
	if (a == NULL)
		return b;
	for (size_t i = 0; i < a->nseg; i++) {
		bool al = a->lit[i] != NULL, bl = b->lit[i] != NULL;

		if (al != bl)
			return al ? a : b;
	}
	return a;
}

#define MAX_ALLOW 16

static void allow_add(const char **set, size_t *n, const char *method)
{
	size_t i = 0;

	while (i < *n && strcmp(set[i], method) < 0)
		i++;
	if ((i < *n && strcmp(set[i], method) == 0) || *n == MAX_ALLOW)
		return;
	memmove(set + i + 1, set + i, (*n - i) * sizeof(*set));
	set[i] = method;
	(*n)++;
}

static void allow_render(const char **set, size_t n, char *out, size_t outsz)
{
	size_t w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(out + w, outsz - w, "%s%s", i ? ", " : "", set[i]);

		/* A list that does not fit is cut at the last whole method. */
		if (k < 0 || (size_t)k >= outsz - w) {
			out[w] = '\0';
			return;
		}
		w += (size_t)k;
	}
}

int eda_router_match(const eda_router_t *rt, const char *method, const char *path, size_t len,
                     eda_route_match_t *m)
{
	const struct route *best = NULL, *best_get = NULL, *best_any = NULL;
	const char *allow[MAX_ALLOW];
	size_t nallow = 0;
	bool head = strcmp(method, "HEAD") == 0;
	int rc;

	m->pattern = NULL;
	m->handler = NULL;
	m->ctx = NULL;
	m->nparams = 0;
	m->allow[0] = '\0';
	m->why = NULL;
	rc = eda_http_path_split(path, len, &m->path, &m->why);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < rt->n; i++) {
		const struct route *r = rt->routes[i];

		if (r->nseg != m->path.nseg || !literals_match(r, &m->path))
			continue;
		best_any = more_specific(best_any, r);
		allow_add(allow, &nallow, r->method);
		if (strcmp(r->method, "GET") == 0)
			allow_add(allow, &nallow, "HEAD");
		if (strcmp(r->method, method) == 0)
			best = more_specific(best, r);
		else if (head && strcmp(r->method, "GET") == 0)
			best_get = more_specific(best_get, r);
	}
	if (best == NULL)
		best = best_get;
	if (best == NULL) {
		if (best_any == NULL)
			return EDA_HTTP_ENOTFOUND;
		m->pattern = best_any->pattern;
		allow_render(allow, nallow, m->allow, sizeof(m->allow));
		return EDA_HTTP_EMETHOD;
	}
	m->pattern = best->pattern;
	m->handler = best->handler;
	m->ctx = best->ctx;
	for (size_t i = 0; i < best->nseg; i++) {
		if (best->name[i] == NULL)
			continue;
		m->param_name[m->nparams] = best->name[i];
		m->param_value[m->nparams] = m->path.seg[i];
		m->nparams++;
	}
	return 0;
}

const char *eda_route_param(const eda_route_match_t *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++) {
		if (strcmp(m->param_name[i], name) == 0)
			return m->param_value[i];
	}
	return NULL;
}
