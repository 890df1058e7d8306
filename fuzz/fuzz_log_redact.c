/*
 * libFuzzer driver for eda_log_redact (common/src/log_redact.c), which sees every
 * string a daemon logs, request data included.
 *
 * The input, cut at its first NUL, is redacted into heap buffers of several
 * exact sizes (so ASan catches a write one past the end), from a single byte up
 * to more than any expansion can need. Beyond "no crash", it checks what
 * eda/log.h promises: the result is NUL-terminated, its length is what was
 * returned and fits the buffer, and a smaller buffer holds a prefix of what a
 * larger one gets. The output is then redacted again, since log lines are
 * sometimes built from strings that were already redacted.
 */
#include "eda/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Any fill but NUL, so that a missing terminator shows. */
#define POISON 'Z'

/* Redacts IN into a fresh OUTSZ-byte buffer and checks the result; returns the
 * buffer (the caller frees it) and its length in *LEN. */
static char *redact(const char *in, size_t outsz, size_t *len)
{
	char *out = malloc(outsz);

	CHECK(out != NULL);
	memset(out, POISON, outsz);
	*len = eda_log_redact(in, out, outsz);
	CHECK(*len < outsz);
	CHECK(out[*len] == '\0');
	CHECK(strlen(out) == *len);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	char *full, *again;
	size_t n, full_len, len, sizes[6];
	char zero = POISON;

	CHECK(in != NULL);
	memcpy(in, data, size);
	in[size] = '\0';
	n = strlen(in);

	/* No masked form is more than half again as long as what it replaces
	 * ("a@b.cc" and "x://:@" gain three bytes on six), so 2n + 16 bytes always
	 * hold the whole result. */
	full = redact(in, 2 * n + 16, &full_len);
	CHECK(full_len < 2 * n + 15);

	sizes[0] = 1;
	sizes[1] = 2;
	sizes[2] = 7;
	sizes[3] = n / 2 + 1;
	sizes[4] = n + 1;
	sizes[5] = full_len + 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = redact(in, sizes[i], &len);

		CHECK(len == (full_len < sizes[i] - 1 ? full_len : sizes[i] - 1));
		CHECK(memcmp(out, full, len) == 0);
		free(out);
	}

	CHECK(eda_log_redact(in, &zero, 0) == 0);
	CHECK(zero == POISON);

	again = redact(full, full_len + 16, &len);
	free(again);
	again = redact(full, 7, &len);
	free(again);

	free(full);
	free(in);
	return 0;
}
