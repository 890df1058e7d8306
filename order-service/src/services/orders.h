/*
 * The order commands behind the HTTP API (DESIGN.md, "HTTP API"): place, read,
 * list and cancel orders. They return domain results (os_err_t plus
 * os_result_t); routers/orders.c turns them into status codes and problem
 * documents. Who may see what is decided here: someone else's order is "not
 * found", an admin sees every order.
 */
#ifndef OS_SERVICES_ORDERS_H
#define OS_SERVICES_ORDERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "models/order.h"
#include "services/order_service.h"

/* The outcome of a command: BODY (a new reference: the order, a page, or
 * NULL); for OS_EINVALID ERRORS, for OS_EPRICE PRICES [{sku, quoted, price}]
 * (new references); DETAIL a sentence for the client where there is one. */
typedef struct os_result {
	bool replayed; /* os_orders_place: BODY is the first answer to the key */
	json_t *body;
	json_t *errors;
	json_t *prices;
	char detail[256];
} os_result_t;

/* Places an order for WHO from REQUEST (the JSON body). IDEM_KEY may be NULL.
 * The lines are priced from the catalogue replica (os_price_order):
 * OS_EINVALID for an unknown SKU or a currency that is not the products',
 * OS_EPRICE when a quoted price differs; either way nothing is written. On
 * OS_OK RES->body holds the new order, or, with RES->replayed, the first
 * answer to the same key and request (also when prices changed since).
 * OS_EIDEMPOTENCY: the key was used with another request. */
int os_orders_place(os_service_t *s, const os_caller_t *who, const json_t *request,
                    const char *idem_key, const char *request_id, os_result_t *res);

/* Order ID as WHO may see it into O (caller os_order_clear()s it): OS_OK,
 * OS_ENOTFOUND (no such order, not WHO's, or ID is no UUID) or
 * OS_EUNAVAILABLE with DETAIL. */
int os_orders_get(os_service_t *s, const os_caller_t *who, const char *id, os_order_t *o,
                  char *detail, size_t detailsz);

/* Order ID (a UUID) into O, whoever asks (the caller checked that already):
 * OS_OK, OS_ENOTFOUND or OS_EUNAVAILABLE with DETAIL. For long-polls. */
int os_orders_read(os_service_t *s, const char *id, os_order_t *o, char *detail, size_t detailsz);

/* A page {items, next_cursor} of WHO's orders (an admin's: everyone's) in
 * RES->body. STATUS and CURSOR may be NULL; a malformed CURSOR is OS_EINVALID. */
int os_orders_list(os_service_t *s, const os_caller_t *who, const os_status_t *status,
                   const char *cursor, int limit, os_result_t *res);

/* Cancels order ID for WHO, with its OrderCancelled in the outbox: RES->body
 * is the cancelled order. OS_ECONFLICT (RES->detail) when its status does not
 * allow it. */
int os_orders_cancel(os_service_t *s, const os_caller_t *who, const char *id,
                     const char *request_id, os_result_t *res);

#endif
