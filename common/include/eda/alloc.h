/*
 * Allocation wrappers for the daemons. Running out of memory in a daemon is not
 * something it can recover from meaningfully, so these abort with the file and
 * line of the caller (as Redis' zmalloc does) instead of returning NULL; every
 * other failure in the library is returned to the caller.
 */
#ifndef EDA_ALLOC_H
#define EDA_ALLOC_H

#include <stddef.h>

void *eda_xmalloc_at(size_t size, const char *file, int line);
void *eda_xcalloc_at(size_t n, size_t size, const char *file, int line);
void *eda_xrealloc_at(void *ptr, size_t size, const char *file, int line);
char *eda_xstrdup_at(const char *s, const char *file, int line);
char *eda_xstrndup_at(const char *s, size_t n, const char *file, int line);
/* printf into a new string; the caller frees it. */
char *eda_xasprintf_at(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define eda_xmalloc(size)       eda_xmalloc_at((size), __FILE__, __LINE__)
#define eda_xcalloc(n, size)    eda_xcalloc_at((n), (size), __FILE__, __LINE__)
#define eda_xrealloc(ptr, size) eda_xrealloc_at((ptr), (size), __FILE__, __LINE__)
#define eda_xstrdup(s)          eda_xstrdup_at((s), __FILE__, __LINE__)
#define eda_xstrndup(s, n)      eda_xstrndup_at((s), (n), __FILE__, __LINE__)
#define eda_xasprintf(...)      eda_xasprintf_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
