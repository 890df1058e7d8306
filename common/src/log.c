/*
 * Structured JSON-lines logger; see eda/log.h. Every string it writes first goes
 * through the redactor in log_redact.c.
 *
 * A line is assembled in a fixed buffer on the caller's stack and handed to the
 * kernel with one write(2), so concurrent threads never interleave and logging
 * never allocates on the common path. Strings are escaped byte by byte: control
 * characters become \n, \t or \u00XX and invalid UTF-8 becomes \ufffd, so every
 * line is valid JSON whatever the caller passes. A line longer than LINE_CAP is
 * cut at a character boundary and marked with "truncated":true.
 *
 * The configuration (service name, level, fd) is written once by main() before
 * threads start and only read afterwards, the one piece of global state the
 * library allows itself.
 */
#include "eda/log.h"

#include "eda/alloc.h"
#include "eda/clock.h"

#include "log_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP       16384
#define TRUNCATED_TAIL ",\"truncated\":true}\n"

static char service_name[64] = "eda";
static eda_log_level_t min_level = EDA_LOG_INFO;
static int log_fd = 2;

/* ---- configuration ----------------------------------------------------- */

int eda_log_level_parse(const char *name, eda_log_level_t *out)
{
	static const struct {
		const char *name;
		eda_log_level_t level;
	} names[] = {
	        {"debug", EDA_LOG_DEBUG},  {"info", EDA_LOG_INFO},   {"warn", EDA_LOG_WARN},
	        {"warning", EDA_LOG_WARN}, {"error", EDA_LOG_ERROR},
	};

	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

void eda_log_init(const char *service, eda_log_level_t level)
{
	snprintf(service_name, sizeof(service_name), "%s",
	         service != NULL && *service != '\0' ? service : "eda");
	min_level = level;
}

void eda_log_set_fd(int fd)
{
	log_fd = fd;
}

static const char *level_name(eda_log_level_t level)
{
	switch (level) {
	case EDA_LOG_DEBUG:
		return "debug";
	case EDA_LOG_INFO:
		return "info";
	case EDA_LOG_WARN:
		return "warn";
	default:
		return "error";
	}
}

/* ---- line assembly --------------------------------------------------------- */

typedef struct {
	char buf[LINE_CAP];
	size_t len;
	size_t cap; /* room left for TRUNCATED_TAIL */
	bool truncated;
} line_t;

static bool line_put(line_t *l, const char *p, size_t n)
{
	if (n > l->cap - l->len) {
		l->truncated = true;
		return false;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return true;
}

/* Length of the valid UTF-8 sequence at S[I], or 0 for an invalid byte
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t i, size_t n)
{
	unsigned char c = s[i], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++) {
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	}
	return len;
}

/* Appends S as a JSON string, cutting it at a character boundary when the line
 * is full. Returns false when it had to cut (or could not even open it). */
static bool line_put_string(line_t *l, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool whole = true;
	size_t i = 0;

	if (l->cap - l->len < 2) {
		l->truncated = true;
		return false;
	}
	l->buf[l->len++] = '"';
	l->cap--; /* keeps room for the closing quote */
	while (i < n) {
		char esc[8];
		const char *unit = esc;
		size_t len, step;

		switch (s[i]) {
		case '"':
			unit = "\\\"";
			len = 2;
			step = 1;
			break;
		case '\\':
			unit = "\\\\";
			len = 2;
			step = 1;
			break;
		case '\n':
			unit = "\\n";
			len = 2;
			step = 1;
			break;
		case '\r':
			unit = "\\r";
			len = 2;
			step = 1;
			break;
		case '\t':
			unit = "\\t";
			len = 2;
			step = 1;
			break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7F) {
				len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
				step = 1;
			} else if ((step = utf8_len(s, i, n)) != 0) {
				unit = str + i;
				len = step;
			} else {
				unit = "\\ufffd";
				len = 6;
				step = 1;
			}
		}
		if (!line_put(l, unit, len)) {
			whole = false;
			break;
		}
		i += step;
	}
	l->cap++;
	l->buf[l->len++] = '"';
	return whole;
}

static void line_put_literal(line_t *l, const char *s)
{
	line_put(l, s, strlen(s));
}

/* Adds "key":"value"; a field whose key does not fit is left out whole. */
static bool line_put_field(line_t *l, const char *key, const char *value, size_t vlen)
{
	size_t save = l->len;

	if (!line_put(l, ",", 1) || !line_put_string(l, key, strlen(key)) || l->cap - l->len < 3) {
		l->len = save;
		l->truncated = true;
		return false;
	}
	l->buf[l->len++] = ':';
	return line_put_string(l, value, vlen);
}

/* Core keys cannot be overridden by a field: a duplicate "level" would let a
 * caller change how the line is filtered downstream. */
static bool is_core_key(const char *key)
{
	return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "service") == 0 ||
	       strcmp(key, "msg") == 0 || strcmp(key, "truncated") == 0;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(log_fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void log_line(eda_log_level_t level, const char *msg, va_list *fields)
{
	line_t l;
	char scratch[LINE_CAP];
	char stamp[EDA_RFC3339_LEN];
	size_t n;

	l.len = 0;
	l.cap = sizeof(l.buf) - (sizeof(TRUNCATED_TAIL) - 1);
	l.truncated = false;

	eda_clock_rfc3339(stamp);

	line_put_literal(&l, "{\"ts\":\"");
	line_put_literal(&l, stamp);
	line_put_literal(&l, "\",\"level\":\"");
	line_put_literal(&l, level_name(level));
	line_put_literal(&l, "\",\"service\":");
	line_put_string(&l, service_name, strlen(service_name));
	line_put_literal(&l, ",\"msg\":");
	n = eda_log_redact(msg, scratch, sizeof(scratch));
	if (line_put_string(&l, scratch, n) && fields != NULL) {
		const char *key;

		while ((key = va_arg(*fields, const char *)) != NULL) {
			const char *value = va_arg(*fields, const char *);
			char renamed[80];

			if (value == NULL)
				continue;
			if (is_core_key(key)) {
				snprintf(renamed, sizeof(renamed), "field_%s", key);
				key = renamed;
			}
			if (eda_log__field_key_is_secret(key)) {
				strcpy(scratch, "***");
				n = 3;
			} else {
				n = eda_log_redact(value, scratch, sizeof(scratch));
			}
			if (!line_put_field(&l, key, scratch, n))
				break;
		}
	}
	/* The tail was reserved up front, so these always fit. */
	l.cap = sizeof(l.buf);
	if (l.truncated)
		line_put_literal(&l, TRUNCATED_TAIL);
	else
		line_put_literal(&l, "}\n");
	write_all(l.buf, l.len);
}

void eda_log(eda_log_level_t level, const char *msg, ...)
{
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, msg);
	log_line(level, msg != NULL ? msg : "", &ap);
	va_end(ap);
}

void eda_logf(eda_log_level_t level, const char *fmt, ...)
{
	char small[1024];
	char *msg = small;
	va_list ap;
	int n;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	/* A long message is formatted whole, not cut, so that the redactor sees
	 * every secret in full before anything is truncated. */
	if (n >= (int)sizeof(small)) {
		msg = eda_xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else if (n < 0) {
		small[0] = '\0';
	}
	log_line(level, msg, NULL);
	if (msg != small)
		free(msg);
}
