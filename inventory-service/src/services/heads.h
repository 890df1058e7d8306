/*
 * The newest ledger entry of each SKU as this process last saw it (written
 * or read), kept in memory as a hint for the next append: in the steady state
 * of one process the hint is the true head, so a reservation needs no read
 * before its insert. A hint is never trusted for correctness: an append at a
 * stale hint's version + 1 is refused by the unique (sku, version) and the
 * change is then judged on the ledger (stock.c). It can only lag, since it is
 * set from durable entries. Thread-safe; bounded (when full it starts over).
 */
#ifndef INV_HEADS_H
#define INV_HEADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct inv_heads inv_heads_t;

/* A table for up to CAPACITY SKUs. */
inv_heads_t *inv_heads_new(size_t capacity);
void inv_heads_free(inv_heads_t *h);

/* The hint for SKU into *VERSION and *BALANCE. Returns false when there is
 * none. H may be NULL (no hints). */
bool inv_heads_get(inv_heads_t *h, const char *sku, int64_t *version, int64_t *balance);

/* Notes that SKU's entry VERSION holds BALANCE, unless a newer one is known.
 * H may be NULL. */
void inv_heads_put(inv_heads_t *h, const char *sku, int64_t version, int64_t balance);

#endif
