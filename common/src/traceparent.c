/*
 * W3C Trace Context traceparent values for the event envelope and the HTTP
 * edge: checking one, starting a trace, and a child span of a trace.
 */
#include "eda/event.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define LOWER_HEX "0123456789abcdef"

/* True when the N first bytes of S are lower-case hex digits. */
static bool hex_run(const char *s, size_t n)
{
	return strspn(s, LOWER_HEX) >= n;
}

static void random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r > 0) {
			got += (size_t)r;
		} else if (r < 0 && errno != EINTR) {
			/* No getrandom(2) (old kernel or seccomp): libuuid has its own
			 * sources, and a trace id needs no more than that. */
			uuid_t u;

			uuid_generate_random(u);
			for (size_t i = 0; i < sizeof(u) && got < n; i++)
				buf[got++] = u[i];
		}
	}
}

/* N random bytes as 2N lower-case hex digits, never all zero (W3C forbids it). */
static void random_hex(char *out, size_t n)
{
	unsigned char b[16];
	bool zero;

	do {
		random_bytes(b, n);
		zero = true;
		for (size_t i = 0; i < n; i++)
			zero = zero && b[i] == 0;
	} while (zero);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = LOWER_HEX[b[i] >> 4];
		out[2 * i + 1] = LOWER_HEX[b[i] & 15];
	}
}

int eda_traceparent_valid(const char *s)
{
	return s != NULL && strlen(s) == EDA_TRACEPARENT_LEN && strncmp(s, "00-", 3) == 0 &&
	       hex_run(s + 3, 32) && s[35] == '-' && hex_run(s + 36, 16) && s[52] == '-' &&
	       hex_run(s + 53, 2) && strspn(s + 3, "0") < 32 && strspn(s + 36, "0") < 16;
}

void eda_traceparent_new(char out[static EDA_TRACEPARENT_LEN + 1])
{
	/* Filled left to right; "-01" brings the terminator at the end. */
	memcpy(out, "00-", 3); // NOLINT(bugprone-not-null-terminated-result)
	random_hex(out + 3, 16);
	out[35] = '-';
	random_hex(out + 36, 8);
	memcpy(out + 52, "-01", 4);
}

int eda_traceparent_child(const char *parent, char out[static EDA_TRACEPARENT_LEN + 1])
{
	if (!eda_traceparent_valid(parent)) {
		eda_traceparent_new(out);
		return EDA_EVENT_BAD_ATTRIBUTE;
	}
	memcpy(out, parent, EDA_TRACEPARENT_LEN + 1);
	random_hex(out + 36, 8);
	return 0;
}
