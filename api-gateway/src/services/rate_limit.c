/*
 * Token buckets kept in a sharded chained hash table (see rate_limit.h).
 * A bucket stores the tokens it had at its last update; refilling is computed
 * lazily from the elapsed time, so idle customers cost nothing.
 */
#include "services/rate_limit.h"

#include "eda/alloc.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS         16
#define SLOTS_PER_SHARD 1024
#define MAX_PER_SHARD   8192

struct bucket {
	struct bucket *next;
	double tokens;
	double last;
	char key[];
};

struct shard {
	pthread_mutex_t lock;
	unsigned long count;
	struct bucket *slot[SLOTS_PER_SHARD];
};

struct gw_rate_limit {
	double rate;
	double burst;
	struct shard shards[NSHARDS];
};

/* FNV-1a: keys are customer ids from verified tokens, not attacker-chosen
 * beyond what a signed token allows, so a simple hash is enough. */
static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

gw_rate_limit_t *gw_rate_limit_new(double rate, double burst)
{
	gw_rate_limit_t *rl = eda_xcalloc(1, sizeof(*rl));

	rl->rate = rate > 0 ? rate : 1;
	rl->burst = burst >= 1 ? burst : 1;
	for (size_t i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&rl->shards[i].lock, NULL);
	return rl;
}

void gw_rate_limit_free(gw_rate_limit_t *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < NSHARDS; i++) {
		struct shard *sh = &rl->shards[i];

		for (size_t j = 0; j < SLOTS_PER_SHARD; j++) {
			struct bucket *b = sh->slot[j];

			while (b != NULL) {
				struct bucket *next = b->next;

				free(b);
				b = next;
			}
		}
		pthread_mutex_destroy(&sh->lock);
	}
	free(rl);
}

static double refill(const gw_rate_limit_t *rl, const struct bucket *b, double now)
{
	double t = b->tokens + (now - b->last) * rl->rate;

	return t > rl->burst ? rl->burst : t;
}

/* Drops the buckets that are full again: a fresh bucket would be identical. */
static void sweep(const gw_rate_limit_t *rl, struct shard *sh, double now)
{
	for (size_t j = 0; j < SLOTS_PER_SHARD; j++) {
		struct bucket **pp = &sh->slot[j];

		while (*pp != NULL) {
			struct bucket *b = *pp;

			if (refill(rl, b, now) >= rl->burst) {
				*pp = b->next;
				free(b);
				sh->count--;
			} else {
				pp = &b->next;
			}
		}
	}
}

unsigned gw_rate_limit_take(gw_rate_limit_t *rl, const char *key, double now)
{
	uint64_t h = hash(key);
	struct shard *sh = &rl->shards[h % NSHARDS];
	size_t slot = (size_t)((h / NSHARDS) % SLOTS_PER_SHARD);
	struct bucket *b;
	unsigned wait = 0;

	pthread_mutex_lock(&sh->lock);
	for (b = sh->slot[slot]; b != NULL; b = b->next) {
		if (strcmp(b->key, key) == 0)
			break;
	}
	if (b == NULL) {
		size_t n = strlen(key);

		if (sh->count >= MAX_PER_SHARD)
			sweep(rl, sh, now);
		b = eda_xmalloc(sizeof(*b) + n + 1);
		memcpy(b->key, key, n + 1);
		b->tokens = rl->burst;
		b->last = now;
		b->next = sh->slot[slot];
		sh->slot[slot] = b;
		sh->count++;
	}
	b->tokens = refill(rl, b, now);
	b->last = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
	} else {
		double secs = ceil((1.0 - b->tokens) / rl->rate);

		wait = secs < 1 ? 1 : (unsigned)secs;
	}
	pthread_mutex_unlock(&sh->lock);
	return wait;
}

unsigned long gw_rate_limit_size(gw_rate_limit_t *rl)
{
	unsigned long n = 0;

	for (size_t i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&rl->shards[i].lock);
		n += rl->shards[i].count;
		pthread_mutex_unlock(&rl->shards[i].lock);
	}
	return n;
}
