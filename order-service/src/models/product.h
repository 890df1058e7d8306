/*
 * A product as the order service knows it: its entry in the catalogue replica
 * (inventory-service owns products and announces every change of name, price
 * or currency with ProductChanged). Nothing here knows about SQL or Kafka.
 */
#ifndef OS_PRODUCT_H
#define OS_PRODUCT_H

#include <stdint.h>

#include "models/order.h"

typedef struct os_product {
	char sku[OS_SKU_MAX + 1];
	int64_t price; /* cents */
	char currency[4];
	long long version; /* of the product's last change (ProductChanged) */
} os_product_t;

#endif
