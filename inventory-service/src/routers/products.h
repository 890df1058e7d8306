/*
 * HTTP routes of the products API (DESIGN.md, "HTTP API"): GET /products,
 * GET /products/{sku} for any authenticated user (X-Customer-Id set by the
 * gateway), PUT /products/{sku} and POST /products/{sku}/restock for the
 * admin role (X-Roles).
 */
#ifndef INV_PRODUCTS_ROUTER_H
#define INV_PRODUCTS_ROUTER_H

#include "eda/http.h"
#include "services/context.h"

/* Routes the API on S with the services' context CTX (CTX must outlive S). Returns 0 or
 * an EDA_HTTP_* code. */
int inv_products_routes(eda_http_server_t *s, inv_ctx_t *ctx);

#endif
