/* Products API: HTTP <-> services/products; see products.h. */
#include "routers/products.h"

#include <stdlib.h>
#include <string.h>

#include "eda/identity.h"
#include "eda/log.h"
#include "schemas/product.h"
#include "services/products.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX     100

/* Replies 401/403 and returns -1 unless the caller is authenticated (and an
 * admin when ADMIN). */
static int authorize(eda_http_req_t *r, int admin)
{
	eda_identity_t who;
	int rc = eda_identity_read(r, &who);

	if (rc == EDA_IDENTITY_MISSING) {
		eda_http_reply_problem(r, 401, NULL, "missing X-Customer-Id (set by the gateway)",
		                       NULL);
		return -1;
	}
	if (rc != EDA_IDENTITY_OK) {
		eda_http_reply_problem(r, 400, NULL, "X-Customer-Id is not a valid customer id",
		                       eda_problem_field_error(NULL, "X-Customer-Id",
		                                               "must be 1 to 256 characters"));
		return -1;
	}
	if (admin && (who.roles & EDA_ROLE_ADMIN) == 0) {
		eda_http_reply_problem(r, 403, NULL, "this operation needs the admin role", NULL);
		return -1;
	}
	return 0;
}

/* Replies 400 and returns NULL unless the {sku} parameter is a valid SKU. */
static const char *sku_param(eda_http_req_t *r)
{
	const char *sku = eda_http_req_param(r, "sku");

	if (!eda_sku_valid(sku)) {
		eda_http_reply_problem(r, 400, NULL, "invalid SKU",
		                       eda_problem_field_error(NULL, "sku",
		                                               "must match "
		                                               "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"));
		return NULL;
	}
	return sku;
}

/* Seconds a client is told to wait before retrying after a 503: the
 * database failed or missed its deadline (MONGODB_TIMEOUT_MS), which is
 * usually a matter of seconds (a restart, a failover). */
#define RETRY_AFTER_S "2"

static void unavailable(eda_http_req_t *r, const char *why)
{
	eda_log(EDA_LOG_ERROR, "request failed", "request_id", eda_http_req_id(r), "why", why,
	        NULL);
	eda_http_reply_header(r, "Retry-After", RETRY_AFTER_S);
	eda_http_reply_problem(r, 503, NULL, "the database is unavailable; try again", NULL);
}

static void get_product(eda_http_req_t *r, void *ctx)
{
	const char *sku;
	inv_product_t p;
	char err[256];
	int rc;

	if (authorize(r, 0) < 0 || (sku = sku_param(r)) == NULL)
		return;
	rc = inv_product_get(ctx, sku, &p, err, sizeof(err));
	if (rc < 0)
		return unavailable(r, err);
	if (rc == 0)
		return eda_http_reply_problem(r, 404, NULL, "no such product", NULL);
	eda_http_reply_json(r, 200, inv_product_to_json(&p));
	inv_product_clear(&p);
}

static void list_products(eda_http_req_t *r, void *ctx)
{
	const char *lim = eda_http_req_query(r, "limit"), *cursor = eda_http_req_query(r, "cursor");
	inv_product_t page[PAGE_MAX + 1];
	long limit = PAGE_DEFAULT;
	json_t *items, *errors = NULL;
	char err[256], *end;
	int n;

	if (authorize(r, 0) < 0)
		return;
	if (lim != NULL) {
		limit = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || limit < 1 || limit > PAGE_MAX)
			errors = eda_problem_field_error(errors, "limit",
			                                 "must be an integer from 1 to 100");
	}
	if (cursor != NULL && !eda_sku_valid(cursor))
		errors = eda_problem_field_error(errors, "cursor", "not a cursor of this API");
	if (errors != NULL)
		return eda_http_reply_problem(r, 400, NULL, "invalid query", errors);
	/* One more than asked tells whether there is a next page. */
	n = inv_product_list(ctx, cursor, (size_t)limit + 1, page, err, sizeof(err));
	if (n < 0)
		return unavailable(r, err);
	items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, inv_product_to_json(&page[i]));
	eda_http_reply_json(r, 200,
	                    json_pack("{s:o, s:o}", "items", items, "next_cursor",
	                              n > limit ? json_string(page[limit - 1].sku) : json_null()));
	for (int i = 0; i < n; i++)
		inv_product_clear(&page[i]);
}

static void stock_problem(eda_http_req_t *r, inv_stock_rc_t rc, const char *err)
{
	switch (rc) {
	case INV_STOCK_UNKNOWN:
		return eda_http_reply_problem(r, 404, NULL, "no such product", NULL);
	case INV_STOCK_TOO_MUCH:
		return eda_http_reply_problem(r, 409, NULL, inv_stock_strerror(rc), NULL);
	default:
		return unavailable(r, err);
	}
}

static void put_product(eda_http_req_t *r, void *ctx)
{
	const char *sku;
	json_t *body, *errors = NULL;
	inv_product_t p;
	char err[256] = "";
	bool created;
	inv_stock_rc_t rc;

	if (authorize(r, 1) < 0 || (sku = sku_param(r)) == NULL)
		return;
	if (eda_http_req_json(r, &body) < 0)
		return;
	if (inv_product_from_json(body, &p, &errors) < 0) {
		json_decref(body);
		return eda_http_reply_problem(r, 422, "Invalid product", NULL, errors);
	}
	json_decref(body);
	snprintf(p.sku, sizeof(p.sku), "%s", sku);
	rc = inv_product_put(ctx, &p, eda_http_req_id(r), &created, err, sizeof(err));
	if (rc != INV_STOCK_OK) {
		inv_product_clear(&p);
		return stock_problem(r, rc, err);
	}
	eda_log(EDA_LOG_INFO, created ? "product created" : "product replaced", "request_id",
	        eda_http_req_id(r), "sku", sku, NULL);
	eda_http_reply_json(r, created ? 201 : 200, inv_product_to_json(&p));
	inv_product_clear(&p);
}

static void restock(eda_http_req_t *r, void *ctx)
{
	const char *sku, *key;
	json_t *body, *errors = NULL;
	int64_t quantity, stock = 0;
	char err[256] = "";
	inv_product_t p;
	int found;
	inv_stock_rc_t rc;

	if (authorize(r, 1) < 0 || (sku = sku_param(r)) == NULL)
		return;
	if (eda_http_req_json(r, &body) < 0)
		return;
	if (inv_restock_from_json(body, &quantity, &errors) < 0) {
		json_decref(body);
		return eda_http_reply_problem(r, 422, "Invalid restock", NULL, errors);
	}
	json_decref(body);
	key = eda_http_req_header(r, "Idempotency-Key");
	if (key != NULL && (key[0] == '\0' || strlen(key) > 128))
		return eda_http_reply_problem(
		        r, 400, NULL, NULL,
		        eda_problem_field_error(NULL, "Idempotency-Key", "1 to 128 characters"));
	rc = inv_product_restock(ctx, sku, quantity, key, eda_http_req_id(r), &stock, err,
	                         sizeof(err));
	if (rc != INV_STOCK_OK && rc != INV_STOCK_APPLIED)
		return stock_problem(r, rc, err);
	found = inv_product_get(ctx, sku, &p, err, sizeof(err));
	if (found < 0)
		return unavailable(r, err);
	if (found == 0) {
		/* Stock exists in the ledger but the document is not there (a
		 * PUT that died halfway): report the balance alone. */
		return eda_http_reply_json(
		        r, 200, json_pack("{s:s, s:I}", "sku", sku, "stock", (json_int_t)stock));
	}
	eda_http_reply_json(r, 200, inv_product_to_json(&p));
	inv_product_clear(&p);
}

int inv_products_routes(eda_http_server_t *s, inv_ctx_t *ctx)
{
	int rc;

	if ((rc = eda_http_route(s, "GET", "/products", list_products, ctx)) != 0 ||
	    (rc = eda_http_route(s, "GET", "/products/{sku}", get_product, ctx)) != 0 ||
	    (rc = eda_http_route(s, "PUT", "/products/{sku}", put_product, ctx)) != 0 ||
	    (rc = eda_http_route(s, "POST", "/products/{sku}/restock", restock, ctx)) != 0)
		return rc;
	return 0;
}
