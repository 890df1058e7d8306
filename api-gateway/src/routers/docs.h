/*
 * Developer documentation routes: GET /openapi.json serves the OpenAPI 3
 * description kept in api-gateway/openapi.json (read once at start-up), and
 * GET /docs a self-contained page that fetches it and lists the operations.
 * Neither needs a token.
 */
#ifndef GW_ROUTERS_DOCS_H
#define GW_ROUTERS_DOCS_H

#include "eda/http.h"

#include <stddef.h>

typedef struct gw_docs gw_docs_t;

/* Reads and checks (valid JSON with "openapi" and "paths") the file at PATH.
 * Returns NULL with ERR filled. */
gw_docs_t *gw_docs_load(const char *path, char *err, size_t errsz);

void gw_docs_free(gw_docs_t *d);

/* Routes /openapi.json and /docs to D, which must outlive the server. */
int gw_docs_routes_add(eda_http_server_t *s, gw_docs_t *d);

#endif
