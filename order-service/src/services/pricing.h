/*
 * Pricing an order from the catalogue (DESIGN.md, "HTTP API": prices belong
 * to the catalogue). The order service never takes a client's price: each
 * line gets its product's price from the catalogue replica, a quoted price
 * that differs is refused, and the order takes its products' currency.
 */
#ifndef OS_PRICING_H
#define OS_PRICING_H

#include <jansson.h>
#include <stddef.h>

#include "models/order.h"
#include "models/product.h"

/* Prices O's lines from PRODUCTS (N entries, any order, only O's SKUs).
 * Returns:
 *   OS_OK        every line's unit_price, O->currency (when it was "") and
 *                O->total are the catalogue's;
 *   OS_EINVALID  *ERRORS (new array of field errors): a SKU the catalogue does
 *                not know ("items[i].sku"), products of more than one
 *                currency, a currency that is not the products', a total
 *                beyond the largest amount;
 *   OS_EPRICE    *PRICES (new array [{sku, quoted, price}]): the lines whose
 *                quoted unit_price is not the catalogue's.
 * A field error wins over a price difference: prices in another currency
 * cannot be compared. */
int os_price_order(os_order_t *o, const os_product_t *products, size_t n, json_t **errors,
                   json_t **prices);

#endif
