/*
 * An order's reservation as the domain sees it, free of MongoDB and Kafka: the
 * lines of an OrderPlaced merged per SKU, the natural keys that make each
 * ledger entry of an order unique, and the data of the result events.
 */
#ifndef INV_RESERVATION_H
#define INV_RESERVATION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "models/product.h"

#define INV_ORDER_ID_MAX 64
#define INV_OP_MAX       (INV_ORDER_ID_MAX + INV_SKU_MAX + 48)

typedef struct inv_line {
	char sku[INV_SKU_MAX + 1];
	int64_t quantity;  /* requested, summed over the order's lines for this SKU */
	int64_t available; /* filled in when the reservation fails */
	int state;         /* INV_LINE_* */
} inv_line_t;

enum { INV_LINE_PENDING = 0, INV_LINE_TAKEN, INV_LINE_SHORT, INV_LINE_UNKNOWN };

typedef struct inv_order_lines {
	char order_id[INV_ORDER_ID_MAX + 1];
	size_t n;
	inv_line_t line[EDA_EVENT_MAX_ITEMS];
} inv_order_lines_t;

/* Reads DATA of a validated OrderPlaced: order_id and the items merged per SKU
 * in order of first appearance. Returns 0, or -1 with ERR (should not happen
 * after eda_event_validate_data). */
int inv_order_lines_from_placed(const json_t *data, inv_order_lines_t *out, char *err,
                                size_t errsz);

/* The ledger op key of ORDER_ID's KIND ("reserve", "release") for SKU. */
void inv_op_key(char out[static INV_OP_MAX], const char *order_id, const char *sku,
                const char *kind);

/* The data of InventoryReserved for LINES (every line taken). New reference. */
json_t *inv_reserved_data(const inv_order_lines_t *lines);

/* The data of InventoryReservationFailed: reason unknown_sku if any line is
 * UNKNOWN, else insufficient_stock; details list the SHORT and UNKNOWN lines. */
json_t *inv_failed_data(const inv_order_lines_t *lines);

/* The data of InventoryReservationFailed with reason price_changed: DETAILS
 * [{sku, quoted, price}] (borrowed; a new reference is taken). */
json_t *inv_price_changed_data(const char *order_id, json_t *details);

/* The data of InventoryReleased: ORDER_ID and the N (sku, quantity) pairs. */
json_t *inv_released_data(const char *order_id, const inv_line_t *released, size_t n);

/* The data of InventoryUpdated. */
json_t *inv_updated_data(const char *sku, int64_t stock, int64_t delta, const char *cause);

#endif
