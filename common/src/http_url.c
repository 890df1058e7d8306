/*
 * Request-target parsing for the HTTP server: splitting the path into
 * percent-decoded segments and decoding the query string. Both are strict
 * because their output flows into handlers, SQL parameters, JSON and logs: a
 * byte sequence that could change meaning after decoding (an encoded '/', a
 * NUL, a dot segment, a control byte, broken UTF-8) is rejected, never
 * repaired. See eda/http_router.h.
 */
#include "eda/http_router.h"

#include <stdbool.h>
#include <string.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Handlers put parameters into JSON, which Jansson refuses unless
 * they are valid UTF-8, so it is cheaper to refuse them here with a 400. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Decodes N bytes of SRC into DST (which may be SRC itself: the output never
 * outruns the input) and NUL-terminates the result. In a path segment an
 * encoded '/' is refused, because accepting it would let "a%2Fb" reach a
 * handler as one parameter that later code might split again; in a query '+'
 * means a space (HTML form encoding).
 */
static int decode(const char *src, size_t n, char *dst, size_t *outlen, bool query,
                  const char **why)
{
	size_t w = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			int hi = n - i >= 3 ? hexval((unsigned char)src[i + 1]) : -1;
			int lo = n - i >= 3 ? hexval((unsigned char)src[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				*why = "invalid percent-escape";
				return EDA_HTTP_EBADPATH;
			}
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0') {
				*why = "encoded NUL byte";
				return EDA_HTTP_EBADPATH;
			}
			if (c == '/' && !query) {
				*why = "encoded '/' in a path segment";
				return EDA_HTTP_EBADPATH;
			}
			i += 3;
		} else {
			if (query && c == '+')
				c = ' ';
			i++;
		}
		if (is_control(c)) {
			*why = c == '\0' ? "NUL byte" : "control character";
			return EDA_HTTP_EBADPATH;
		}
		dst[w++] = (char)c;
	}
	dst[w] = '\0';
	if (!utf8_valid((const unsigned char *)dst, w)) {
		*why = "not UTF-8";
		return EDA_HTTP_EBADPATH;
	}
	*outlen = w;
	return 0;
}

int eda_http_path_split(const char *path, size_t len, eda_http_path_t *out, const char **why)
{
	const char *dummy;
	size_t i = 1, w = 0;

	if (why == NULL)
		why = &dummy;
	out->nseg = 0;
	out->buf[0] = '\0';
	if (path == NULL || len == 0 || path[0] != '/') {
		*why = "path must start with '/'";
		return EDA_HTTP_EBADPATH;
	}
	if (len > EDA_HTTP_MAX_PATH) {
		*why = "path too long";
		return EDA_HTTP_EBADPATH;
	}
	if (len == 1)
		return 0;
	/* Each segment is decoded into buf after the previous one. The output
	 * fits: a segment decodes to at most its own length, and its NUL takes
	 * the place of the '/' before it. */
	for (;;) {
		const char *end = memchr(path + i, '/', len - i);
		size_t seglen = (end != NULL ? (size_t)(end - path) : len) - i;
		size_t outlen;
		char *seg = out->buf + w;
		int rc;

		if (out->nseg == EDA_HTTP_MAX_SEGMENTS) {
			*why = "too many path segments";
			return EDA_HTTP_EBADPATH;
		}
		if (seglen == 0) {
			*why = "empty path segment";
			return EDA_HTTP_EBADPATH;
		}
		rc = decode(path + i, seglen, seg, &outlen, false, why);
		if (rc != 0)
			return rc;
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
			*why = "dot segment in path";
			return EDA_HTTP_EBADPATH;
		}
		out->seg[out->nseg++] = seg;
		w += outlen + 1;
		i += seglen;
		if (i == len)
			return 0;
		i++; /* the '/' */
	}
}

int eda_http_query_parse(char *qs, eda_http_query_t *out, const char **why)
{
	const char *dummy;
	char *p = qs;

	if (why == NULL)
		why = &dummy;
	out->n = 0;
	while (p != NULL && *p != '\0') {
		char *amp = strchr(p, '&');
		size_t piece = amp != NULL ? (size_t)(amp - p) : strlen(p);
		char *eq = memchr(p, '=', piece);
		size_t klen = eq != NULL ? (size_t)(eq - p) : piece;
		char *next = amp != NULL ? amp + 1 : NULL;
		size_t outlen;
		int rc;

		if (piece == 0 || klen == 0) {
			p = next;
			continue;
		}
		if (out->n == EDA_HTTP_MAX_QUERY_PARAMS) {
			*why = "too many query parameters";
			return EDA_HTTP_EBADPATH;
		}
		/* The key's terminator lands on the '=' (or the '&'), the
		 * value's on the '&' (or the final NUL): in-place decoding never
		 * writes past the piece. */
		rc = decode(p, klen, p, &outlen, true, why);
		if (rc != 0)
			return rc;
		out->key[out->n] = p;
		if (eq != NULL) {
			rc = decode(eq + 1, piece - klen - 1, eq + 1, &outlen, true, why);
			if (rc != 0)
				return rc;
			out->value[out->n] = eq + 1;
		} else {
			out->value[out->n] = "";
		}
		out->n++;
		p = next;
	}
	return 0;
}

const char *eda_http_query_get(const eda_http_query_t *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->key[i], key) == 0)
			return q->value[i];
	}
	return NULL;
}
