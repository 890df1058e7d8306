/*
 * A bounded window of the event ids whose e-mail was accepted in this process
 * life: an event id seen again (a redelivery after a rebalance, a duplicate
 * produced upstream) is skipped instead of mailed twice. Once CAPACITY ids are
 * held, the oldest is forgotten first. Memory is O(CAPACITY); lookups are a
 * hash probe. Not thread-safe: the consumer thread is its only user.
 */
#ifndef NOTIF_SERVICES_DEDUPE_H
#define NOTIF_SERVICES_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dedupe dedupe_t;

/* CAPACITY >= 1. */
dedupe_t *dedupe_new(size_t capacity);
void dedupe_free(dedupe_t *d);

bool dedupe_contains(const dedupe_t *d, const char *id);
/* Remembers ID (copied); forgets the oldest id when full. No-op if present. */
void dedupe_add(dedupe_t *d, const char *id);
size_t dedupe_size(const dedupe_t *d);
/* Forgets every id. */
void dedupe_clear(dedupe_t *d);

#endif
