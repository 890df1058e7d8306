/*
 * Structured logging: one JSON object per line on stderr with "ts" (RFC 3339 UTC,
 * milliseconds), "level", "service", "msg" and any key/value fields the caller
 * adds (request_id, order_id, event_id, ...). A line is written with a single
 * write(2), so lines from several threads never interleave.
 *
 * Redaction: before anything reaches the log, the message and every field value
 * pass through eda_log_redact(): JWTs, e-mail addresses, passwords in URLs and
 * "password=..."-style pairs are masked. Fields whose key names a secret
 * (password, secret, token, authorization, api_key, ...) are masked whole.
 *
 * The logger is configured once by a daemon's main() (eda_log_init) before any
 * thread starts and is read-only afterwards.
 */
#ifndef EDA_LOG_H
#define EDA_LOG_H

#include <stddef.h>

typedef enum {
	EDA_LOG_DEBUG = 0,
	EDA_LOG_INFO,
	EDA_LOG_WARN,
	EDA_LOG_ERROR,
} eda_log_level_t;

/* Parses "debug", "info", "warn"/"warning", "error" (any case). Returns 0, or -1
 * for anything else (*out untouched). */
int eda_log_level_parse(const char *name, eda_log_level_t *out);

/* Sets the service name (copied, at most 63 bytes) and the minimum level. */
void eda_log_init(const char *service, eda_log_level_t level);

/* Sends lines to FD instead of stderr (2); for tests. */
void eda_log_set_fd(int fd);

/* Logs MSG with key/value fields: a NULL-terminated list of const char * pairs,
 * for example eda_log(EDA_LOG_INFO, "order placed", "order_id", id, NULL).
 * A NULL value omits the field. */
void eda_log(eda_log_level_t level, const char *msg, ...);

/* Logs a printf-formatted message without fields. */
void eda_logf(eda_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies IN to OUT (OUTSZ bytes, always NUL-terminated, truncated if needed) with
 * secrets masked: JWT-shaped tokens become "[jwt]", e-mail addresses keep their
 * first character and domain ("j***@example.com"), the password of a URL
 * ("scheme://user:pw@host") and the value of password=/secret=/token= pairs
 * become "***". Returns the length written. */
size_t eda_log_redact(const char *in, char *out, size_t outsz);

#endif
