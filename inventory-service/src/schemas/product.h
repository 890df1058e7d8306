/*
 * JSON <-> product: the bodies of PUT /products/{sku} and POST
 * /products/{sku}/restock with field errors, a product's representation
 * {sku, name, price, currency, stock, updated_at}, and the seed catalogue's entries.
 */
#ifndef INV_PRODUCT_SCHEMA_H
#define INV_PRODUCT_SCHEMA_H

#include <jansson.h>
#include <stdint.h>

#include "models/product.h"

/* Reads {name, price, currency (optional: P->currency stays ""), stock} (no
 * other members) into *P (name malloc'd; clear
 * with inv_product_clear). Returns 0, or -1 with *ERRORS a new array of
 * {field, message} (for eda_http_reply_problem). */
int inv_product_from_json(const json_t *body, inv_product_t *p, json_t **errors);

/* Reads {quantity} with 1 <= quantity <= INV_STOCK_MAX. Same contract. */
int inv_restock_from_json(const json_t *body, int64_t *quantity, json_t **errors);

/* The representation of P. New reference. */
json_t *inv_product_to_json(const inv_product_t *p);

#endif
