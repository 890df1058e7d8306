/*
 * JSON <-> order: validation of POST /orders bodies (every problem reported as
 * a {field, message} entry, as RFC 9457 validation problems list them), the
 * order's representation in responses, the data of the Order* events, and the
 * canonical form of a request that Idempotency-Key compares.
 */
#ifndef OS_SCHEMAS_ORDER_H
#define OS_SCHEMAS_ORDER_H

#include <jansson.h>
#include <stdbool.h>

#include "models/order.h"

/* Reads BODY ({items: [{sku, quantity, unit_price?}], currency?}) into O's
 * items (quoted says whether a unit_price was given), currency ("" when
 * omitted) and total of the quoted prices (os_price_order sets the real one). Returns 0, or -1 with
 * *ERRORS set to a new array of field errors (caller owns it). O's items are allocated either way;
 * the caller frees them with os_order_clear(). */
int os_order_request_parse(const json_t *body, os_order_t *o, json_t **errors);

/* The request's meaning as compact text with a fixed member order and money
 * normalised ("5" and 5.00 give the same text); an omitted unit_price or
 * currency is null. Call it before pricing. Caller frees it. */
char *os_order_request_canonical(const os_order_t *o);

/* The order as a response body (new reference). */
json_t *os_order_to_json(const os_order_t *o);

/* The data of an Order* event of TYPE for O (new reference): OrderPlaced
 * carries the items, the others REASON when it is not NULL or empty. */
json_t *os_order_event_data(const os_order_t *o, const char *type, const char *reason);

/* Appends {field, message} to ERRORS (created when NULL) and returns it: the
 * shape of the "errors" member of a validation problem. */
json_t *os_field_error(json_t *errors, const char *field, const char *message);

#endif
