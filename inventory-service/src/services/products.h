/*
 * The catalogue's use cases behind the admin API and the seed: read products
 * (stock from the ledger, the truth), create or replace one, restock one.
 */
#ifndef INV_PRODUCTS_SERVICE_H
#define INV_PRODUCTS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/product.h"
#include "services/context.h"
#include "services/stock.h"

/* Reads SKU into *P. Returns 1, 0 (no such product) or -1 with ERR. */
int inv_product_get(const inv_ctx_t *ctx, const char *sku, inv_product_t *p, char *err,
                    size_t errsz);

/* A page of up to LIMIT products after SKU AFTER (or NULL). Returns how many. */
int inv_product_list(const inv_ctx_t *ctx, const char *after, size_t limit, inv_product_t *out,
                     char *err, size_t errsz);

/* Creates or replaces P (sku, name, price, currency, stock; an empty
 * currency is the store's). *CREATED tells which. A change of name, price or
 * currency (or a creation) gets the next revision and its ProductChanged
 * (services/catalogue.h); a stock-only change publishes none. REQUEST_ID
 * correlates the InventoryUpdated. Returns an inv_stock_rc_t. */
inv_stock_rc_t inv_product_put(const inv_ctx_t *ctx, inv_product_t *p, const char *request_id,
                               bool *created, char *err, size_t errsz);

/* Adds QUANTITY to SKU. OP_KEY (e.g. from an Idempotency-Key; NULL for a fresh
 * one) makes a retried request apply once. *STOCK gets the new balance. */
inv_stock_rc_t inv_product_restock(const inv_ctx_t *ctx, const char *sku, int64_t quantity,
                                   const char *op_key, const char *request_id, int64_t *stock,
                                   char *err, size_t errsz);

/* Loads a catalogue file: {"products": [{sku, name, price, currency?,
 * stock}, ...]} or the bare array. Returns the number of products, or -1
 * with ERR. */
int inv_catalogue_load(const inv_ctx_t *ctx, const char *path, char *err, size_t errsz);

#endif
