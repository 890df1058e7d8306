/*
 * The price check of a reservation: a line of an OrderPlaced whose
 * unit_price is not the product's price at that moment, or an order whose
 * currency is not the product's, fails the order with reason price_changed
 * (the order service priced it from a replica that may lag a change).
 *
 * Prices come from the product documents, read by _id (the unique index
 * answers; no scan of the collection). So that a batch does not read them
 * all every time, the process keeps the prices it read under the
 * catalogue's change token (repositories/products.h) and reads the token
 * once per check: a change writes its document and then a token never used
 * before, so once the PUT that changed a price has returned, every check
 * that starts later sees a new token, drops its cache and reads the new
 * price. A check that starts while a change is being written may still use
 * the old price: that is the price at the moment it looked.
 */
#ifndef INV_PRICES_H
#define INV_PRICES_H

#include <jansson.h>
#include <stddef.h>

#include "eda/event.h"
#include "services/context.h"

typedef struct inv_prices inv_prices_t;

/* A cache for up to CAPACITY products. */
inv_prices_t *inv_prices_new(size_t capacity);
void inv_prices_free(inv_prices_t *p);

/* Checks the N validated OrderPlaced EVS: STALE[i] gets NULL when every line
 * of EVS[i] matches the catalogue (a SKU without a product document is left
 * to the stock check, which finds it unknown), else a new array of
 * {sku, quoted, price} for each line that does not (the caller owns it).
 * Returns 0, or -1 with ERR (every STALE[i] is then NULL). */
int inv_prices_check(const inv_ctx_t *ctx, const eda_event_t *const *evs, size_t n, json_t **stale,
                     char *err, size_t errsz);

#endif
