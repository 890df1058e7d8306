/*
 * The dedupe window: a ring of ids in arrival order (eviction order) plus a
 * chained hash table over ring slots. Chains link slot indexes, so evicting
 * the oldest id unlinks one slot from its chain without any allocation.
 */
#include "services/dedupe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"

#define NIL SIZE_MAX

struct notif_dedupe {
	size_t capacity, count, head; /* head: next slot to fill (the oldest when full) */
	size_t nbuckets;              /* a power of two */
	char **id;                    /* [capacity] */
	size_t *next;                 /* [capacity] chain links */
	size_t *bucket;               /* [nbuckets] first slot of each chain */
};

static uint64_t hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

notif_dedupe_t *notif_dedupe_new(size_t capacity)
{
	notif_dedupe_t *d = eda_xcalloc(1, sizeof(*d));

	d->capacity = capacity ? capacity : 1;
	d->nbuckets = 1;
	while (d->nbuckets < d->capacity)
		d->nbuckets *= 2;
	d->id = eda_xcalloc(d->capacity, sizeof(*d->id));
	d->next = eda_xmalloc(d->capacity * sizeof(*d->next));
	d->bucket = eda_xmalloc(d->nbuckets * sizeof(*d->bucket));
	for (size_t i = 0; i < d->nbuckets; i++)
		d->bucket[i] = NIL;
	return d;
}

void notif_dedupe_free(notif_dedupe_t *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->capacity; i++)
		free(d->id[i]);
	free(d->id);
	free(d->next);
	free(d->bucket);
	free(d);
}

bool notif_dedupe_contains(const notif_dedupe_t *d, const char *id)
{
	for (size_t i = d->bucket[hash(id) & (d->nbuckets - 1)]; i != NIL; i = d->next[i])
		if (strcmp(d->id[i], id) == 0)
			return true;
	return false;
}

static void unlink_slot(notif_dedupe_t *d, size_t slot)
{
	size_t *link = &d->bucket[hash(d->id[slot]) & (d->nbuckets - 1)];

	while (*link != slot)
		link = &d->next[*link];
	*link = d->next[slot];
	free(d->id[slot]);
	d->id[slot] = NULL;
}

void notif_dedupe_add(notif_dedupe_t *d, const char *id)
{
	size_t slot = d->head, b;

	if (notif_dedupe_contains(d, id))
		return;
	if (d->id[slot] != NULL)
		unlink_slot(d, slot);
	else
		d->count++;
	d->id[slot] = eda_xstrdup(id);
	b = hash(id) & (d->nbuckets - 1);
	d->next[slot] = d->bucket[b];
	d->bucket[b] = slot;
	d->head = (slot + 1) % d->capacity;
}

size_t notif_dedupe_size(const notif_dedupe_t *d)
{
	return d->count;
}

void notif_dedupe_clear(notif_dedupe_t *d)
{
	for (size_t i = 0; i < d->capacity; i++) {
		free(d->id[i]);
		d->id[i] = NULL;
	}
	for (size_t i = 0; i < d->nbuckets; i++)
		d->bucket[i] = NIL;
	d->count = d->head = 0;
}
