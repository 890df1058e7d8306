/*
 * The growing buffer of strbuf.h. Capacity doubles, so building a message of
 * N bytes costs O(N) copies in all.
 */
#include "utils/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"

static void reserve(notif_strbuf_t *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = eda_xrealloc(b->data, cap);
	b->cap = cap;
}

void notif_strbuf_append(notif_strbuf_t *b, const char *s, size_t n)
{
	reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void notif_strbuf_puts(notif_strbuf_t *b, const char *s)
{
	notif_strbuf_append(b, s, strlen(s));
}

void notif_strbuf_putc(notif_strbuf_t *b, char c)
{
	notif_strbuf_append(b, &c, 1);
}

void notif_strbuf_printf(notif_strbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *notif_strbuf_cstr(notif_strbuf_t *b)
{
	reserve(b, 0);
	return b->data;
}

char *notif_strbuf_take(notif_strbuf_t *b, size_t *len)
{
	char *s;

	reserve(b, 0);
	s = b->data;
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void notif_strbuf_free(notif_strbuf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
