/* Crash injection at write steps; see crash.h. */
#include "utils/crash.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "eda/log.h"

static long crash_at;
static atomic_long writes;

int inv_crash_init(const char *spec)
{
	char *end;
	long n;

	crash_at = 0;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	n = strtol(spec, &end, 10);
	if (*end != '\0' || n <= 0)
		return -1;
	crash_at = n;
	return 0;
}

void inv_crash_point(const char *step)
{
	long n;

	if (crash_at == 0)
		return;
	n = atomic_fetch_add(&writes, 1) + 1;
	if (n == crash_at) {
		eda_log(EDA_LOG_WARN, "crash injected", "step", step, NULL);
		/* _exit, not exit: no atexit handlers, no flush, no offset commit. */
		_exit(INV_CRASH_STATUS);
	}
}
