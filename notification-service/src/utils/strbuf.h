/*
 * A growing byte buffer for building messages and rendered templates. Memory
 * comes from eda_x* (abort on OOM), so appends cannot fail. The buffer is
 * always NUL-terminated once anything was appended (or strbuf_cstr was called).
 */
#ifndef NOTIF_UTILS_STRBUF_H
#define NOTIF_UTILS_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
	char *data;
	size_t len, cap;
} strbuf_t;

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strbuf_append(strbuf_t *b, const char *s, size_t n);
void strbuf_puts(strbuf_t *b, const char *s);
void strbuf_putc(strbuf_t *b, char c);
void strbuf_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents as a C string (never NULL). */
const char *strbuf_cstr(strbuf_t *b);
/* Hands the contents (never NULL) to the caller, who frees them; B is empty after. */
char *strbuf_take(strbuf_t *b, size_t *len);
void strbuf_free(strbuf_t *b);

#endif
