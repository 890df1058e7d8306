/* Allocation wrappers that abort on out-of-memory; see eda/alloc.h. */
#include "eda/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size, const char *file, int line)
{
	/* No allocation and no logger here: write the line with the least machinery. */
	fprintf(stderr,
	        "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes at %s:%d\"}\n",
	        size, file, line);
	abort();
}

void *eda_xmalloc_at(size_t size, const char *file, int line)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size, file, line);
	return p;
}

void *eda_xcalloc_at(size_t n, size_t size, const char *file, int line)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size, file, line);
	return p;
}

void *eda_xrealloc_at(void *ptr, size_t size, const char *file, int line)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		out_of_memory(size, file, line);
	return p;
}

char *eda_xstrdup_at(const char *s, const char *file, int line)
{
	size_t n = strlen(s) + 1;
	char *p = eda_xmalloc_at(n, file, line);

	memcpy(p, s, n);
	return p;
}

char *eda_xstrndup_at(const char *s, size_t n, const char *file, int line)
{
	size_t len = strnlen(s, n);
	char *p = eda_xmalloc_at(len + 1, file, line);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *eda_xasprintf_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(0, file, line);
	return p;
}
