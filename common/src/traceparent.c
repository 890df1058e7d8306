/*
 * W3C Trace Context traceparent values for the event envelope and the HTTP
 * edge: checking one, starting a trace, and a child span of a trace.
 */
#include "eda/event.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define LOWER_HEX "0123456789abcdef"

/* True when the N first bytes of S are lower-case hex digits. */
static bool hex_run(const char *s, size_t n)
{
	return strspn(s, LOWER_HEX) >= n;
}

/* Ids come from a per-thread xoshiro256** generator seeded once from
 * getrandom(2): trace ids must not collide across processes, which a good
 * 256-bit-state generator with a random seed ensures, and a syscall per id
 * would cost the gateway more than the rest of its header handling. */
static _Thread_local uint64_t rng[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void seed(void)
{
	ssize_t r;

	do
		r = getrandom(rng, sizeof(rng), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(rng)) {
		/* No getrandom(2) (old kernel or seccomp): libuuid has its own
		 * sources, and a trace id needs no more than that. */
		uuid_t u[2];

		uuid_generate_random(u[0]);
		uuid_generate_random(u[1]);
		memcpy(rng, u, sizeof(rng));
	}
	seeded = true;
}

static uint64_t next64(void)
{
	uint64_t result, t;

	if (!seeded)
		seed();
	result = rotl(rng[1] * 5, 7) * 9;
	t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return result;
}

/* N (8 or 16) random bytes as 2N lower-case hex digits, never all zero (W3C
 * forbids it). */
static void random_hex(char *out, size_t n)
{
	bool zero = true;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = next64();

		zero = zero && v == 0;
		for (int k = 15; k >= 0; k--) {
			out[2 * i + (size_t)k] = LOWER_HEX[v & 15];
			v >>= 4;
		}
	}
	if (zero)
		out[0] = '1';
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
