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

typedef struct notif_dedupe notif_dedupe_t;

/* CAPACITY >= 1. */
notif_dedupe_t *notif_dedupe_new(size_t capacity);
void notif_dedupe_free(notif_dedupe_t *d);

bool notif_dedupe_contains(const notif_dedupe_t *d, const char *id);
/* Remembers ID (copied); forgets the oldest id when full. No-op if present. */
void notif_dedupe_add(notif_dedupe_t *d, const char *id);
size_t notif_dedupe_size(const notif_dedupe_t *d);
/* Forgets every id. */
void notif_dedupe_clear(notif_dedupe_t *d);

#endif
