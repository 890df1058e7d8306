/*
 * A growing byte buffer for building messages and rendered templates. Memory
 * comes from eda_x* (abort on OOM), so appends cannot fail. The buffer is
 * always NUL-terminated once anything was appended (or notif_strbuf_cstr was called).
 */
#ifndef NOTIF_UTILS_STRBUF_H
#define NOTIF_UTILS_STRBUF_H

#include <stddef.h>

typedef struct notif_strbuf {
	char *data;
	size_t len, cap;
} notif_strbuf_t;

#define NOTIF_STRBUF_INIT                                                                          \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void notif_strbuf_append(notif_strbuf_t *b, const char *s, size_t n);
void notif_strbuf_puts(notif_strbuf_t *b, const char *s);
void notif_strbuf_putc(notif_strbuf_t *b, char c);
void notif_strbuf_printf(notif_strbuf_t *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The contents as a C string (never NULL). */
const char *notif_strbuf_cstr(notif_strbuf_t *b);
/* Hands the contents (never NULL) to the caller, who frees them; B is empty after. */
char *notif_strbuf_take(notif_strbuf_t *b, size_t *len);
void notif_strbuf_free(notif_strbuf_t *b);

#endif
