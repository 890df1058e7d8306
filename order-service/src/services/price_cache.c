/* The in-memory prices of the catalogue replica; see price_cache.h. */
#include "services/price_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/alloc.h"

/* Open addressing over a power of two; a full table starts over (the table
 * is the truth, this only saves reads). */
#define SLOTS 16384
#define LIMIT (SLOTS / 2)

struct slot {
	bool used;
	os_product_t p;
	int64_t stored_ms;
};

struct os_price_cache {
	pthread_mutex_t lock;
	int ttl_ms;
	size_t n;
	struct slot slot[SLOTS];
};

static size_t hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return (size_t)(h & (SLOTS - 1));
}

/* The slot of SKU, or the free one where it would go. */
static struct slot *find(os_price_cache_t *c, const char *sku)
{
	size_t i = hash(sku);

	while (c->slot[i].used && strcmp(c->slot[i].p.sku, sku) != 0)
		i = (i + 1) & (SLOTS - 1);
	return &c->slot[i];
}

os_price_cache_t *os_price_cache_new(int ttl_ms)
{
	os_price_cache_t *c;

	if (ttl_ms <= 0)
		return NULL;
	c = eda_xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->ttl_ms = ttl_ms;
	return c;
}

void os_price_cache_free(os_price_cache_t *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool os_price_cache_get(os_price_cache_t *c, const char *sku, int64_t now_ms, os_product_t *out)
{
	struct slot *s;
	bool hit;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	s = find(c, sku);
	hit = s->used && now_ms - s->stored_ms < c->ttl_ms;
	if (hit)
		*out = s->p;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void os_price_cache_put(os_price_cache_t *c, const os_product_t *p, int64_t now_ms)
{
	struct slot *s;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	s = find(c, p->sku);
	if (!s->used && c->n >= LIMIT) {
		memset(c->slot, 0, sizeof(c->slot));
		c->n = 0;
		s = find(c, p->sku);
	}
	/* A read that began before the consumer stored a newer version must not
	 * put the older one back. */
	if (!s->used || p->version >= s->p.version) {
		if (!s->used)
			c->n++;
		s->used = true;
		s->p = *p;
		s->stored_ms = now_ms;
	}
	pthread_mutex_unlock(&c->lock);
}
