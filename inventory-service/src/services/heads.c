/* Head hints per SKU; see heads.h. Open addressing with linear probing over
 * a power-of-two table kept at most half full, under one mutex (a lookup is
 * far cheaper than the round trip it saves). */
#include "services/heads.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "models/product.h"

typedef struct slot {
	char sku[INV_SKU_MAX + 1]; /* "" = free */
	int64_t version;
	int64_t balance;
} slot_t;

struct inv_heads {
	pthread_mutex_t mu;
	slot_t *slots;
	size_t size; /* power of two */
	size_t used, max_used;
};

inv_heads_t *inv_heads_new(size_t capacity)
{
	inv_heads_t *h = eda_xcalloc(1, sizeof(*h));

	h->size = 16;
	while (h->size < 2 * capacity)
		h->size *= 2;
	h->max_used = capacity;
	h->slots = eda_xcalloc(h->size, sizeof(*h->slots));
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void inv_heads_free(inv_heads_t *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->mu);
	free(h->slots);
	free(h);
}

/* FNV-1a. */
static size_t hash(const char *s)
{
	uint64_t x = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		x = (x ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)x;
}

/* The slot of SKU, or the free slot where it would go. Lock held. */
static slot_t *find(inv_heads_t *h, const char *sku)
{
	size_t i = hash(sku) & (h->size - 1);

	while (h->slots[i].sku[0] != '\0' && strcmp(h->slots[i].sku, sku) != 0)
		i = (i + 1) & (h->size - 1);
	return &h->slots[i];
}

bool inv_heads_get(inv_heads_t *h, const char *sku, int64_t *version, int64_t *balance)
{
	slot_t *s;
	bool found;

	if (h == NULL || strlen(sku) > INV_SKU_MAX)
		return false;
	pthread_mutex_lock(&h->mu);
	s = find(h, sku);
	found = s->sku[0] != '\0';
	if (found) {
		*version = s->version;
		*balance = s->balance;
	}
	pthread_mutex_unlock(&h->mu);
	return found;
}

void inv_heads_put(inv_heads_t *h, const char *sku, int64_t version, int64_t balance)
{
	slot_t *s;

	if (h == NULL || sku[0] == '\0' || strlen(sku) > INV_SKU_MAX)
		return;
	pthread_mutex_lock(&h->mu);
	s = find(h, sku);
	if (s->sku[0] == '\0') {
		if (h->used == h->max_used) {
			/* Full: forget everything rather than track recency; the
			 * hints come back with the next append of each SKU. */
			memset(h->slots, 0, h->size * sizeof(*h->slots));
			h->used = 0;
			s = find(h, sku);
		}
		memcpy(s->sku, sku, strlen(sku) + 1);
		h->used++;
		s->version = 0;
	}
	if (version > s->version) {
		s->version = version;
		s->balance = balance;
	}
	pthread_mutex_unlock(&h->mu);
}
