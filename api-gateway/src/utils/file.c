/*
 * Whole-file reads (see file.h).
 */
#include "utils/file.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *gw_read_file(const char *path, size_t max, size_t *len, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL) {
		eda_errf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = eda_xmalloc(max + 1);
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		eda_errf(err, errsz, "cannot read %s: %s", path,
		         ferror(f) ? strerror(errno) : "file too large");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}
