/*
 * The "char *err, size_t errsz" convention of the library (as in librdkafka's
 * errstr, sizeof(errstr)): a function that fails writes one line saying why.
 */
#ifndef EDA_ERRBUF_H
#define EDA_ERRBUF_H

#include <stddef.h>

/* printf into ERR (ERRSZ bytes, always NUL-terminated, truncated if needed).
 * ERR may be NULL or ERRSZ 0, in which case nothing is written. */
void eda_errf(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
