/*
 * Per-customer token buckets: each customer (the token's sub) may make RATE
 * requests a second on average with bursts of up to BURST. Safe from any
 * thread; the table is split into shards, each with its own lock, so server
 * threads rarely wait on each other.
 *
 * Memory is bounded: a shard that grows past its limit drops the buckets
 * that have refilled completely, which is exactly the state a new bucket
 * starts in, so forgetting them changes no answer.
 */
#ifndef GW_RATE_LIMIT_H
#define GW_RATE_LIMIT_H

typedef struct gw_rate_limit gw_rate_limit_t;

/* RATE requests/s (> 0) with a burst of BURST (>= 1). */
gw_rate_limit_t *gw_rate_limit_new(double rate, double burst);
void gw_rate_limit_free(gw_rate_limit_t *rl);

/* Takes one token from KEY's bucket at time NOW (seconds, monotonic).
 * Returns 0 when allowed, otherwise the whole number of seconds (>= 1) after
 * which a token will be available (the Retry-After value). */
unsigned gw_rate_limit_take(gw_rate_limit_t *rl, const char *key, double now);

/* The number of buckets held (for tests of the memory bound). */
unsigned long gw_rate_limit_size(gw_rate_limit_t *rl);

#endif
