/*
 * The products collection: _id = SKU, name, price (cents), and a cache of the
 * ledger's latest balance (stock, version) for cheap reads. The cache may lag
 * the ledger for a moment; the ledger is the truth.
 */
#ifndef INV_PRODUCTS_REPO_H
#define INV_PRODUCTS_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "models/product.h"
#include "repositories/mongo.h"

/* Creates the product or replaces its name, price, currency and revision
 * (stock is the ledger's business). Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_products_upsert(inv_db_t *db, const inv_product_t *p, char *err, size_t errsz);

/* Notes that SKU's ProductChanged of REVISION is in the outbox (raises
 * published_revision, never lowers it). Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_products_mark_published(inv_db_t *db, const char *sku, int64_t revision, char *err,
                                size_t errsz);

/* A product's price as a reservation checks it. */
typedef struct inv_price {
	bool found; /* false: no product document */
	int64_t price_cents;
	char currency[INV_CURRENCY_LEN + 1]; /* "" when the document has none */
} inv_price_t;

/* The prices of the N SKUS into OUT (OUT[i] for SKUS[i]), read by _id.
 * Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_products_prices(inv_db_t *db, const char *const *skus, size_t n, inv_price_t *out,
                        char *err, size_t errsz);

/* The catalogue's change token: a value that every change of a product's
 * name, price or currency replaces with one never used before, after the
 * product's document is written. A reader that cached prices under token T
 * knows they are still current while the token is T (services/prices.h). */
#define INV_TOKEN_LEN 40

/* Reads the token into TOKEN ("" when none was ever written). Returns
 * INV_REPO_OK or INV_REPO_ERR. */
int inv_catalogue_token(inv_db_t *db, char token[static INV_TOKEN_LEN], char *err, size_t errsz);

/* Replaces the token with a fresh one. Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_catalogue_token_bump(inv_db_t *db, char *err, size_t errsz);

/* Caches STOCK at ledger VERSION for SKU. In a race an older balance may win;
 * that is fine: the cache only has to lag, never lead, the ledger. */
int inv_products_cache_stock(inv_db_t *db, const char *sku, int64_t stock, int64_t version,
                             char *err, size_t errsz);

/* One entry of inv_products_cache_many. */
typedef struct inv_cached_stock {
	const char *sku;
	int64_t stock;
	int64_t version;
} inv_cached_stock_t;

/* inv_products_cache_stock for N SKUs in one unordered bulk write. */
int inv_products_cache_many(inv_db_t *db, const inv_cached_stock_t *c, size_t n, char *err,
                            size_t errsz);

/* The cached stock and version of each of the N SKUs in one query by _id.
 * OUT[i] gets SKUS[i]'s cache, or version 0 when the product is missing or
 * has no cached balance yet. Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_products_cached(inv_db_t *db, const char *const *skus, size_t n, inv_cached_stock_t *out,
                        char *err, size_t errsz);

/* Reads SKU into *P (clear it with inv_product_clear). Returns 1, 0, or
 * INV_REPO_ERR. */
int inv_products_get(inv_db_t *db, const char *sku, inv_product_t *p, char *err, size_t errsz);

/* Up to LIMIT products with SKU > AFTER (NULL: from the start), by SKU. OUT
 * must hold LIMIT entries. Returns how many, or INV_REPO_ERR. */
int inv_products_list(inv_db_t *db, const char *after, size_t limit, inv_product_t *out, char *err,
                      size_t errsz);

#endif
