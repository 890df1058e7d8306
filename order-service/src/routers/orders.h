/*
 * HTTP routes of the order API (DESIGN.md, "HTTP API"): translate requests
 * into calls of services/orders.h and their results into status codes, JSON
 * and RFC 9457 problems.
 *
 *   POST /orders                 201 + Location; Idempotency-Key honoured
 *   GET  /orders                 ?status=&limit=1..100&cursor=
 *   GET  /orders/{id}            ?wait=0..MAX_WAIT_SECONDS long-poll
 *   POST /orders/{id}/cancel     409 when the status does not allow it
 *
 * Identity comes from the gateway: X-Customer-Id (required: 401 without it),
 * X-Customer-Email (required to place an order), X-Roles (comma-separated;
 * "admin" sees and cancels every order). Someone else's order is a 404.
 */
#ifndef OS_ROUTERS_ORDERS_H
#define OS_ROUTERS_ORDERS_H

#include "eda/http.h"
#include "routers/order_waiters.h"
#include "services/orders.h"

typedef struct os_orders_router {
	os_service_t *svc;
	os_waiters_t *waiters;
	int max_wait_s;
} os_orders_router_t;

/* Routes the four endpoints on S with CTX (borrowed; must outlive S). Returns
 * 0 or an EDA_HTTP_* error. */
int os_orders_routes(eda_http_server_t *s, os_orders_router_t *ctx);

#endif
