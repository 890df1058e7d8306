/*
 * The redactor every logged string goes through (eda_log_redact in eda/log.h),
 * and the list of field names whose values log.c masks whole.
 *
 * One left-to-right pass over the input, without allocating. At each position
 * the rules are tried in a fixed order (JWT, "key=value" pair whose key names a
 * secret, Bearer credential, URL user info, e-mail address); the first that
 * matches writes its masked form and skips what it consumed, and otherwise the
 * byte is copied. Rules look only at the input, never at the room left in the
 * output, so a smaller buffer gets a prefix of what a larger one would.
 */
#include "eda/log.h"

#include "log_internal.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Output that silently drops what does not fit, so the scanners below need not
 * check; they stop early once the output is full. */
typedef struct {
	char *p;
	size_t len;
	size_t cap; /* usable bytes, excluding the terminating NUL */
} sink_t;

static void sink_put(sink_t *s, const char *p, size_t n)
{
	if (n > s->cap - s->len)
		n = s->cap - s->len;
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void sink_puts(sink_t *s, const char *p)
{
	sink_put(s, p, strlen(p));
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

/* Characters of an identifier, a URL scheme or an e-mail local part: one class,
 * so the rules that start at the beginning of such a word see it whole. */
static bool is_word(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Case-insensitive, and '-' matches '_', so that the header-style "X-Api-Key"
 * ends with "api_key". */
static bool ends_with_key(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	if (n < k)
		return false;
	s += n - k;
	for (size_t i = 0; i < k; i++) {
		char c = s[i] == '-' ? '_' : s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != suffix[i])
			return false;
	}
	return true;
}

static size_t b64_run(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && is_b64url((unsigned char)s[j]))
		j++;
	return j - i;
}

/* A JWS (header.payload.signature) or JWE (five segments); the signature of an
 * unsecured token is empty. Returns the length matched at S[I], or 0. */
static size_t match_jwt(const char *s, size_t i, size_t n)
{
	size_t j = i, k;

	if (n - i < 3 || strncmp(s + i, "eyJ", 3) != 0)
		return 0;
	j += b64_run(s, j, n);
	if (j >= n || s[j] != '.' || (k = b64_run(s, j + 1, n)) == 0)
		return 0;
	j += 1 + k;
	if (j >= n || s[j] != '.')
		return 0;
	j += 1 + b64_run(s, j + 1, n);
	while (j < n && s[j] == '.' && (k = b64_run(s, j + 1, n)) > 0)
		j += 1 + k;
	return j - i;
}

/* A domain of at least two labels whose last label is alphabetic, as in
 * "example.com" after the '@'. Returns its length, or 0. */
static size_t match_domain(const char *s, size_t i, size_t n)
{
	size_t j = i, end = 0, labels = 0;

	for (;;) {
		size_t start = j;
		bool alpha = true;

		while (j < n && (is_alnum((unsigned char)s[j]) || s[j] == '-')) {
			if (!((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
				alpha = false;
			j++;
		}
		if (j == start)
			break;
		labels++;
		if (labels >= 2 && alpha && j - start >= 2)
			end = j;
		if (j + 1 >= n || s[j] != '.')
			break;
		j++;
	}
	return end > i ? end - i : 0;
}

/* Keys whose "key=value" or "key: value" value is masked, matched as a suffix so
 * that "db_password" and "jwt_secret" count too. */
static const char *const secret_pair_keys[] = {
        "password", "passwd", "secret", "token", "api_key", "apikey", "authorization",
};

/* Keys of eda_log fields whose value is masked whole. */
static const char *const secret_field_keys[] = {
        "password", "passwd", "secret", "token", "authorization", "api_key", "apikey", "cookie",
};

static bool key_names_secret(const char *key, size_t n, const char *const *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (ends_with_key(key, n, keys[i]))
			return true;
	}
	return false;
}

/* End of an unquoted secret value: the delimiters of query strings, JSON and
 * "k=v, k=v" lists. */
static size_t value_end(const char *s, size_t i, size_t n)
{
	while (i < n && !is_space((unsigned char)s[i]) && strchr("&,;\"'})]", s[i]) == NULL)
		i++;
	return i;
}

/* Masks the value after "key" at S[J] ("=x", ": x", "\": \"x\"", ...). Returns
 * the input position after the value, or 0 when no separator follows. */
static size_t redact_pair_value(const char *s, size_t j, size_t n, sink_t *out)
{
	size_t i = j, v;

	if (i < n && s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\''))
		i++;
	if (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= n || (s[i] != '=' && s[i] != ':'))
		return 0;
	/* "token://" is a URL scheme, not a pair. */
	if (s[i] == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/')
		return 0;
	i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	sink_put(out, s + j, i - j);

	if (i < n && (s[i] == '"' || s[i] == '\'' ||
	              (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\'')))) {
		/* Quoted, possibly itself inside an escaped JSON string. */
		bool escaped = s[i] == '\\';
		char q = escaped ? s[i + 1] : s[i];
		size_t open = escaped ? 2 : 1;

		for (v = i + open; v < n; v++) {
			if (escaped && s[v] == '\\' && v + 1 < n && s[v + 1] == q)
				break;
			if (!escaped && s[v] == '\\' && v + 1 < n) {
				v++;
				continue;
			}
			if (!escaped && s[v] == q)
				break;
		}
		sink_put(out, s + i, open);
		sink_puts(out, "***");
		/* An unterminated quote hides everything to the end. */
		if (v < n) {
			sink_put(out, s + v, open);
			v += open;
		}
		return v;
	}
	/* "Authorization: Bearer x" masks the credential, not the scheme name. */
	v = value_end(s, i, n);
	if ((v - i == 6 && strncasecmp(s + i, "bearer", 6) == 0) ||
	    (v - i == 5 && strncasecmp(s + i, "basic", 5) == 0)) {
		size_t t = v;

		while (t < n && (s[t] == ' ' || s[t] == '\t'))
			t++;
		sink_put(out, s + i, t - i);
		i = t;
		v = value_end(s, i, n);
	}
	if (v > i)
		sink_puts(out, "***");
	return v;
}

/* Rules other than "key=value" that apply at the start of a word S[I..J).
 * Returns the input position after what was written, or 0 when none applies. */
static size_t redact_word(const char *s, size_t i, size_t j, size_t n, sink_t *out)
{
	size_t k, d;

	if (j - i == 6 && strncasecmp(s + i, "bearer", 6) == 0 && j < n &&
	    (s[j] == ' ' || s[j] == '\t')) {
		for (k = j; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
			;
		if (k < n && value_end(s, k, n) > k) {
			sink_put(out, s + i, k - i);
			sink_puts(out, "***");
			return value_end(s, k, n);
		}
	}

	if (n - j >= 3 && memcmp(s + j, "://", 3) == 0) {
		/* scheme://user:password@host: the authority ends at the path; the
		 * last '@' in it separates the user info, whose password may hold
		 * any character. */
		size_t a = j + 3, at = 0, colon = 0;

		for (k = a;
		     k < n && !is_space((unsigned char)s[k]) && strchr("/?#\"'<>", s[k]) == NULL;
		     k++) {
			if (s[k] == '@')
				at = k;
		}
		if (at == 0)
			return 0;
		for (k = a; k < at; k++) {
			if (s[k] == ':') {
				colon = k;
				break;
			}
		}
		if (colon == 0) {
			sink_put(out, s + i, at + 1 - i);
			return at + 1;
		}
		sink_put(out, s + i, colon + 1 - i);
		sink_puts(out, "***@");
		return at + 1;
	}

	if (j < n && s[j] == '@' && (d = match_domain(s, j + 1, n)) != 0) {
		sink_put(out, s + i, 1);
		sink_puts(out, "***@");
		sink_put(out, s + j + 1, d);
		return j + 1 + d;
	}
	return 0;
}

size_t eda_log_redact(const char *in, char *out, size_t outsz)
{
	sink_t o = {out, 0, outsz > 0 ? outsz - 1 : 0};
	size_t n, i = 0;

	if (outsz == 0)
		return 0;
	if (in == NULL)
		in = "";
	n = strlen(in);
	while (i < n && o.len < o.cap) {
		unsigned char prev = i > 0 ? (unsigned char)in[i - 1] : ' ';
		size_t k;

		if (!is_b64url(prev) && (k = match_jwt(in, i, n)) != 0) {
			sink_puts(&o, "[jwt]");
			i += k;
			continue;
		}
		if (is_word((unsigned char)in[i]) && !is_word(prev)) {
			size_t j = i, at;

			while (j < n && is_word((unsigned char)in[j]))
				j++;
			/* A pair's key is written here, before its masked value. */
			if (key_names_secret(in + i, j - i, secret_pair_keys,
			                     sizeof(secret_pair_keys) /
			                             sizeof(secret_pair_keys[0]))) {
				size_t save = o.len;

				sink_put(&o, in + i, j - i);
				if ((at = redact_pair_value(in, j, n, &o)) != 0) {
					i = at;
					continue;
				}
				o.len = save;
			}
			if ((at = redact_word(in, i, j, n, &o)) != 0) {
				i = at;
				continue;
			}
		}
		sink_put(&o, in + i, 1);
		i++;
	}
	out[o.len] = '\0';
	return o.len;
}

bool eda_log__field_key_is_secret(const char *key)
{
	return key_names_secret(key, strlen(key), secret_field_keys,
	                        sizeof(secret_field_keys) / sizeof(secret_field_keys[0]));
}
