/* Error-buffer formatting shared by every module; see eda/errbuf.h. */
#include "eda/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

void eda_errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}
