/*
 * The catalogue replica: what the order service knows of each product's
 * price, kept from inventory-service's ProductChanged events (event-carried
 * state transfer: no synchronous call on the order path). No SQL here.
 */
#ifndef OS_CATALOGUE_H
#define OS_CATALOGUE_H

#include <stdint.h>

#include "services/order_service.h"

/* Stores SKU's NAME, PRICE (cents) and CURRENCY as of VERSION unless the
 * replica holds that version or a newer one (a redelivery or an event out of
 * order changes nothing). Returns 1 stored, 0 older (ignored), or
 * OS_EUNAVAILABLE (retry later). */
int os_catalogue_put(os_service_t *s, const char *sku, const char *name, int64_t price,
                     const char *currency, long long version);

#endif
