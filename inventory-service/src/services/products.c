/* Catalogue use cases; see products.h. */
#include "services/products.h"

#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "eda/clock.h"
#include "eda/errbuf.h"
#include "repositories/products.h"
#include "schemas/product.h"
#include "services/catalogue.h"
#include "utils/crash.h"

/* The ledger holds the stock; the product document its name and price. */
static int with_ledger_stock(const inv_ctx_t *ctx, inv_product_t *p, char *err, size_t errsz)
{
	inv_ledger_entry_t head;
	int rc = inv_ledger_head(ctx->db, p->sku, p->version, &head, err, errsz);

	if (rc < 0)
		return -1;
	/* A document from before currencies existed is in the store's. */
	if (p->currency[0] == '\0')
		snprintf(p->currency, sizeof(p->currency), "%s", ctx->store_currency);
	if (rc == 1) {
		p->stock = head.balance;
		p->version = head.version;
		if (head.ts_ms > p->updated_ms)
			p->updated_ms = head.ts_ms;
	}
	return 0;
}

int inv_product_get(const inv_ctx_t *ctx, const char *sku, inv_product_t *p, char *err,
                    size_t errsz)
{
	int rc = inv_products_get(ctx->db, sku, p, err, errsz);

	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	if (with_ledger_stock(ctx, p, err, errsz) < 0) {
		inv_product_clear(p);
		return -1;
	}
	return 1;
}

int inv_product_list(const inv_ctx_t *ctx, const char *after, size_t limit, inv_product_t *out,
                     char *err, size_t errsz)
{
	int n = inv_products_list(ctx->db, after, limit, out, err, errsz);

	for (int i = 0; i < n; i++) {
		if (with_ledger_stock(ctx, &out[i], err, errsz) < 0) {
			for (int j = 0; j < n; j++)
				inv_product_clear(&out[j]);
			return -1;
		}
	}
	return n;
}

static void fresh_op(char *out, size_t size, const char *prefix)
{
	uuid_t u;
	char s[37];

	uuid_generate_random(u);
	uuid_unparse_lower(u, s);
	snprintf(out, size, "%s/%s", prefix, s);
}

inv_stock_rc_t inv_product_put(const inv_ctx_t *ctx, inv_product_t *p, const char *request_id,
                               bool *created, char *err, size_t errsz)
{
	char op[64];
	inv_ledger_entry_t e;
	inv_stock_change_t ch = {.sku = p->sku,
	                         .amount = p->stock,
	                         .set = 1,
	                         .kind = "set",
	                         .op = op,
	                         .correlation_id = request_id};
	inv_product_t old;
	bool changed, unannounced;
	int found;
	inv_stock_rc_t rc;

	if (p->currency[0] == '\0')
		snprintf(p->currency, sizeof(p->currency), "%s", ctx->store_currency);
	found = inv_products_get(ctx->db, p->sku, &old, err, errsz);
	if (found < 0)
		return INV_STOCK_ERR;
	if (found && old.currency[0] == '\0')
		snprintf(old.currency, sizeof(old.currency), "%s", ctx->store_currency);
	/* A new revision for a change of what ProductChanged carries (and for a
	 * document from before revisions); a stock-only PUT keeps it. */
	changed = !found || old.revision == 0 || inv_product_catalogue_differs(&old, p);
	/* A change whose announcement a failure or crash cut short is
	 * announced by the next PUT (or by the sweep at the next start). */
	unannounced = found && old.published_revision < old.revision;
	p->revision = (found ? old.revision : 0) + (changed ? 1 : 0);
	inv_product_clear(&old);
	*created = found == 0;
	/* Ledger first: a crash before the document leaves stock that only a
	 * repeated PUT makes visible, never a product without a ledger. */
	fresh_op(op, sizeof(op), "set");
	rc = inv_stock_apply(ctx, &ch, &e, err, errsz);
	if (rc != INV_STOCK_OK)
		return rc;
	p->updated_ms = eda_clock_wall_ms();
	if (inv_products_upsert(ctx->db, p, err, errsz) != 0)
		return INV_STOCK_ERR;
	if (changed) {
		inv_crash_point("product-write");
		/* After the document: a reservation that sees the new token
		 * reads the new price (services/prices.h). */
		if (inv_catalogue_token_bump(ctx->db, err, errsz) != INV_REPO_OK)
			return INV_STOCK_ERR;
		inv_crash_point("catalogue-token");
	}
	if ((changed || unannounced) && inv_catalogue_announce(ctx, p, err, errsz) < 0)
		return INV_STOCK_ERR;
	p->stock = e.balance;
	p->version = e.version;
	return INV_STOCK_OK;
}

inv_stock_rc_t inv_product_restock(const inv_ctx_t *ctx, const char *sku, int64_t quantity,
                                   const char *op_key, const char *request_id, int64_t *stock,
                                   char *err, size_t errsz)
{
	char op[INV_OP_MAX];
	inv_ledger_entry_t e;
	inv_stock_change_t ch = {.sku = sku,
	                         .amount = quantity,
	                         .kind = "restock",
	                         .op = op,
	                         .check_op_first = op_key != NULL,
	                         .correlation_id = request_id};
	inv_stock_rc_t rc;

	if (op_key != NULL)
		snprintf(op, sizeof(op), "restock/%s/%.128s", sku, op_key);
	else
		fresh_op(op, sizeof(op), "restock");
	rc = inv_stock_apply(ctx, &ch, &e, err, errsz);
	if (rc == INV_STOCK_OK || rc == INV_STOCK_APPLIED) {
		int64_t bal;

		if (rc == INV_STOCK_APPLIED) {
			if (inv_stock_balance(ctx, sku, &bal, err, errsz) < 0)
				return INV_STOCK_ERR;
			*stock = bal;
		} else {
			*stock = e.balance;
		}
	}
	return rc;
}

int inv_catalogue_load(const inv_ctx_t *ctx, const char *path, char *err, size_t errsz)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *list, *it;
	size_t i;
	int n = -1;

	if (root == NULL) {
		eda_errf(err, errsz, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	list = json_is_array(root) ? root : json_object_get(root, "products");
	if (!json_is_array(list)) {
		eda_errf(err, errsz, "%s: expected {\"products\": [...]} or an array", path);
		goto out;
	}
	json_array_foreach(list, i, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		json_t *body = json_deep_copy(it), *errors = NULL;
		inv_product_t p;
		bool created;
		inv_stock_rc_t rc;

		json_object_del(body, "sku");
		if (!eda_sku_valid(sku)) {
			eda_errf(err, errsz, "%s: products[%zu].sku: not a valid SKU", path, i);
			json_decref(body);
			goto out;
		}
		if (inv_product_from_json(body, &p, &errors) < 0) {
			json_t *e0 = json_array_get(errors, 0);

			eda_errf(err, errsz, "%s: products[%zu].%s: %s", path, i,
			         json_string_value(json_object_get(e0, "field")),
			         json_string_value(json_object_get(e0, "message")));
			json_decref(errors);
			json_decref(body);
			goto out;
		}
		json_decref(body);
		snprintf(p.sku, sizeof(p.sku), "%s", sku);
		rc = inv_product_put(ctx, &p, NULL, &created, err, errsz);
		inv_product_clear(&p);
		if (rc != INV_STOCK_OK) {
			if (rc != INV_STOCK_ERR)
				eda_errf(err, errsz, "%s: %s", sku, inv_stock_strerror(rc));
			goto out;
		}
	}
	n = (int)json_array_size(list);
out:
	json_decref(root);
	return n;
}
