/*
 * Prices of the catalogue replica kept in memory, so that placing an order
 * needs no read of the catalogue table when its products were priced a moment
 * ago: the read was one more database round trip on the order's hot path
 * (POST /orders at saturation 1,092 -> 891/s in make bench).
 *
 * Freshness. The replica's own consumer puts every change it stores (a newer
 * version replaces an older one, never the reverse), so with one replica, or
 * for the partitions of the products topic this replica consumes, the cache is
 * as fresh as the table. Changes stored by another replica's consumer reach
 * this cache when its entry expires (CATALOGUE_CACHE_MS): a price up to that
 * old can be used, and the inventory's check at reservation rejects such an
 * order (price_changed), as it does when the replica itself lags.
 * Thread-safe; one lock, held for a lookup or a store.
 */
#ifndef OS_SERVICES_PRICE_CACHE_H
#define OS_SERVICES_PRICE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "models/product.h"

typedef struct os_price_cache os_price_cache_t;

/* A cache whose entries live TTL_MS; NULL for TTL_MS <= 0 (no cache: every
 * order reads the table). */
os_price_cache_t *os_price_cache_new(int ttl_ms);
void os_price_cache_free(os_price_cache_t *c);

/* SKU's entry into OUT if it is there and younger than the TTL at NOW_MS. */
bool os_price_cache_get(os_price_cache_t *c, const char *sku, int64_t now_ms, os_product_t *out);

/* Stores P as read or written at NOW_MS, unless the entry holds a newer version. */
void os_price_cache_put(os_price_cache_t *c, const os_product_t *p, int64_t now_ms);

#endif
