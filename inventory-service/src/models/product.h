/*
 * A product of the catalogue and the rules on its fields, free of storage and
 * HTTP: what a SKU may look like, the bounds of stock and price, and how a
 * stock change is judged (never below zero, never above the cap).
 */
#ifndef INV_PRODUCT_H
#define INV_PRODUCT_H

#include <stdbool.h>
#include <stdint.h>

#include "eda/event.h"
#include "eda/validate.h"

#define INV_SKU_MAX      EDA_SKU_MAX /* the event contract's */
#define INV_NAME_MAX     200         /* characters (UTF-8 code points) */
#define INV_STOCK_MAX    EDA_EVENT_MAX_STOCK
#define INV_CURRENCY_LEN 3 /* ISO 4217 code: three upper-case letters */

typedef struct inv_product {
	char sku[INV_SKU_MAX + 1];
	char *name; /* owned; freed by inv_product_clear */
	int64_t price_cents;
	char currency[INV_CURRENCY_LEN + 1]; /* "" when the document has none: the store's */
	int64_t stock;
	int64_t version;    /* ledger version the stock comes from */
	int64_t updated_ms; /* Unix time in milliseconds */
	/* The catalogue revision (ProductChanged's version): grows with every
	 * change of name, price or currency. 0 for a document written before
	 * revisions existed. */
	int64_t revision;
	/* The newest revision whose ProductChanged is in the outbox. */
	int64_t published_revision;
} inv_product_t;

/* 1 if S is a currency code: exactly three upper-case ASCII letters. */
bool inv_currency_valid(const char *s);

/* 1 if A and B differ in what a ProductChanged carries (name, price,
 * currency). */
bool inv_product_catalogue_differs(const inv_product_t *a, const inv_product_t *b);

/* 1 if S is a product name: 1..INV_NAME_MAX characters of UTF-8 text without
 * control characters, not only spaces. */
bool inv_name_valid(const char *s);

/* The balance after adding DELTA to BALANCE, in *OUT. Returns 0, -1 when it
 * would go below zero, -2 when above INV_STOCK_MAX. */
int inv_stock_add(int64_t balance, int64_t delta, int64_t *out);

void inv_product_clear(inv_product_t *p);

#endif
