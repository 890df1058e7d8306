/*
 * Reading small files whole: the JWT keys and the OpenAPI document, each
 * read once at start-up.
 */
#ifndef GW_UTILS_FILE_H
#define GW_UTILS_FILE_H

#include <stddef.h>

/* Reads a whole (small) file of at most MAX bytes into a new NUL-terminated
 * string (the caller frees it); *LEN (may be NULL) gets its length. Returns
 * NULL with ERR filled when the file cannot be read or is larger. */
char *gw_read_file(const char *path, size_t max, size_t *len, char *err, size_t errsz);

#endif
