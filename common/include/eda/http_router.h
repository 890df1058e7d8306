/*
 * Request routing and URL parsing for the HTTP server (eda/http.h), kept free of
 * libmicrohttpd so that it can be unit-tested and fuzzed on its own.
 *
 * A router maps (method, path pattern) to an opaque handler. Patterns are
 * absolute paths whose segments are either literal ("orders") or a parameter
 * covering one whole segment ("{id}"):
 *
 *     /orders/{id}/cancel
 *
 * Matching works on the percent-decoded segments of the request path, one
 * segment at a time, so "%2F" can never create a segment boundary. For one
 * method, the most specific pattern wins: at the first segment where two
 * matching patterns differ, a literal beats a parameter. A path that matches
 * some pattern only under other methods is "method not allowed" (405) and the
 * match carries the Allow list; HEAD is served by a GET route unless a HEAD
 * route exists.
 *
 * Ownership: the router owns copies of methods and patterns. A match result is
 * a plain struct filled in by the caller-provided storage; its strings point
 * into the match itself (decoded segments) or into the router, so they live as
 * long as both do. Nothing here allocates while matching.
 *
 * Thread safety: add routes before sharing the router; matching is read-only
 * and may run on many threads at once.
 */
#ifndef EDA_HTTP_ROUTER_H
#define EDA_HTTP_ROUTER_H

#include <stddef.h>

/* Bounds on what a request may send; anything longer is a 400 (path) or, for
 * the query, a 400 too. They keep a match free of allocation. */
#define EDA_HTTP_MAX_PATH         2048
#define EDA_HTTP_MAX_SEGMENTS     32
#define EDA_HTTP_MAX_QUERY_PARAMS 32
#define EDA_HTTP_MAX_METHOD       31

/* Error codes of the HTTP module (router, URL parsing and server). */
typedef enum {
	EDA_HTTP_OK = 0,
	EDA_HTTP_EINVAL = -1,    /* invalid argument, pattern or configuration */
	EDA_HTTP_EEXIST = -2,    /* a route with this method and shape exists */
	EDA_HTTP_EBADPATH = -3,  /* malformed request path or query (400) */
	EDA_HTTP_ENOTFOUND = -4, /* no route has this path (404) */
	EDA_HTTP_EMETHOD = -5,   /* the path exists under other methods (405) */
	EDA_HTTP_ESTATE = -6,    /* wrong server state (already started, ...) */
	EDA_HTTP_ESYS = -7,      /* the OS or libmicrohttpd refused */
} eda_http_err_t;

/* A static description of ERR ("malformed request path", ...). */
const char *eda_http_strerror(int err);

/* A request path split into percent-decoded segments. */
typedef struct {
	size_t nseg;
	const char *seg[EDA_HTTP_MAX_SEGMENTS]; /* each NUL-terminated, points into buf */
	char buf[EDA_HTTP_MAX_PATH + 1];
} eda_http_path_t;

/*
 * Splits PATH (LEN bytes, starting with '/', without the query) into segments,
 * decoding %XX escapes in each. "/" has no segments. Returns 0, or
 * EDA_HTTP_EBADPATH with *WHY (if not NULL) set to a static reason for: a
 * missing leading '/', more than EDA_HTTP_MAX_PATH bytes or
 * EDA_HTTP_MAX_SEGMENTS segments, an empty segment ("//", trailing '/'), a "."
 * or ".." segment (also when encoded), an invalid escape, an encoded '/', a NUL
 * or other control byte (raw or encoded), or bytes that are not UTF-8.
 */
int eda_http_path_split(const char *path, size_t len, eda_http_path_t *out, const char **why);

/* A parsed query string. Keys and values are decoded ('+' is a space). */
typedef struct {
	size_t n;
	const char *key[EDA_HTTP_MAX_QUERY_PARAMS];
	const char *value[EDA_HTTP_MAX_QUERY_PARAMS]; /* "" for "?flag" */
} eda_http_query_t;

/*
 * Parses the query string QS (without the '?'), decoding it in place: the
 * result points into QS, which the caller owns and keeps alive. Empty pieces
 * ("a=1&&b=2") and pieces with an empty key are skipped. Returns 0, or
 * EDA_HTTP_EBADPATH (with *WHY) for an invalid escape, a control byte, bytes
 * that are not UTF-8 or more than EDA_HTTP_MAX_QUERY_PARAMS parameters.
 */
int eda_http_query_parse(char *qs, eda_http_query_t *out, const char **why);

/* The value of the first parameter named KEY, or NULL. */
const char *eda_http_query_get(const eda_http_query_t *q, const char *key);

typedef struct eda_router eda_router_t;

/* The outcome of eda_router_match. */
typedef struct {
	const char *pattern; /* the route's pattern; on 405 the most specific one */
	void *handler;       /* as given to eda_router_add; NULL unless matched */
	void *ctx;
	size_t nparams;
	const char *param_name[EDA_HTTP_MAX_SEGMENTS];
	const char *param_value[EDA_HTTP_MAX_SEGMENTS];
	char allow[128]; /* on 405: "GET, HEAD, POST" (sorted, deduplicated) */
	const char *why; /* on EDA_HTTP_EBADPATH: a static reason */
	eda_http_path_t path;
} eda_route_match_t;

eda_router_t *eda_router_new(void);
void eda_router_free(eda_router_t *rt);

/*
 * Adds a route. METHOD is an HTTP method token ("GET"; at most
 * EDA_HTTP_MAX_METHOD characters, case-sensitive). PATTERN is described above;
 * parameter names are [A-Za-z_][A-Za-z0-9_]* and unique within the pattern.
 * Returns 0, EDA_HTTP_EINVAL for a bad method or pattern, or EDA_HTTP_EEXIST
 * when a route with the same method already matches exactly the same paths
 * ("/a/{x}" and "/a/{y}" are the same shape).
 */
int eda_router_add(eda_router_t *rt, const char *method, const char *pattern, void *handler,
                   void *ctx);

/*
 * Matches METHOD and PATH (LEN bytes, no query; it may contain any byte) and
 * fills *M. Returns 0 (M->handler, M->ctx and the parameters are set),
 * EDA_HTTP_EBADPATH (M->why), EDA_HTTP_ENOTFOUND, or EDA_HTTP_EMETHOD
 * (M->allow, M->pattern).
 */
int eda_router_match(const eda_router_t *rt, const char *method, const char *path, size_t len,
                     eda_route_match_t *m);

/* The value of the parameter NAME in a successful match, or NULL. */
const char *eda_route_param(const eda_route_match_t *m, const char *name);

#endif
