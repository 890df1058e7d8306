/*
 * traceparent parsing and generation (see trace.h).
 */
#include "utils/trace.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static bool lower_hex(const char *s, size_t n, bool *all_zero)
{
	*all_zero = true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		if (c != '0')
			*all_zero = false;
	}
	return true;
}

bool gw_traceparent_valid(const char *h)
{
	bool zero;

	if (h == NULL || strlen(h) != GW_TRACEPARENT_LEN - 1)
		return false;
	if (strncmp(h, "00-", 3) != 0 || h[35] != '-' || h[52] != '-')
		return false;
	if (!lower_hex(h + 3, 32, &zero) || zero)
		return false;
	if (!lower_hex(h + 36, 16, &zero) || zero)
		return false;
	return lower_hex(h + 53, 2, &zero);
}

/* Ids come from a per-thread xoshiro256** generator seeded once from
 * getrandom(2): trace ids must not collide across gateways, which a good
 * 256-bit-state generator with a random seed ensures, and a syscall per id
 * would cost more than the rest of the header handling. */
static _Thread_local uint64_t rng[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next64(void)
{
	uint64_t result, t;

	if (!seeded) {
		if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng)) {
			struct timespec ts;

			/* No entropy source: clock and thread address still
			 * separate threads and processes. */
			clock_gettime(CLOCK_REALTIME, &ts);
			rng[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
			rng[1] = (uint64_t)(uintptr_t)&seeded;
			rng[2] = 0x9e3779b97f4a7c15ULL;
			rng[3] = (uint64_t)getpid();
		}
		seeded = true;
	}
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

/* NBYTES (8 or 16) random bytes as lower-case hex, never all zeros. */
static void random_hex(char *out, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";
	bool zero = true;

	for (size_t i = 0; i < nbytes; i += 8) {
		uint64_t v = next64();

		zero = zero && v == 0;
		for (int k = 15; k >= 0; k--) {
			out[2 * i + (size_t)k] = digits[v & 15];
			v >>= 4;
		}
	}
	if (zero)
		out[0] = '1';
}

bool gw_traceparent_next(const char *incoming, char out[GW_TRACEPARENT_LEN])
{
	char trace[33] = {0}, span[17] = {0}, flags[3] = "01";
	bool cont = gw_traceparent_valid(incoming);

	if (cont) {
		memcpy(trace, incoming + 3, 32);
		memcpy(flags, incoming + 53, 2);
	} else {
		random_hex(trace, 16);
	}
	random_hex(span, 8);
	snprintf(out, GW_TRACEPARENT_LEN, "00-%s-%s-%s", trace, span, flags);
	return cont;
}
