/* Ledger queries; see ledger.h. */
#include "repositories/ledger.h"

#include <string.h>

#include "eda/errbuf.h"

static void copy_str(char *dst, size_t size, const bson_t *doc, const char *key)
{
	bson_iter_t it;

	dst[0] = '\0';
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(dst, size, "%s", bson_iter_utf8(&it, NULL));
}

static int64_t get_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

static void entry_from_bson(const bson_t *doc, inv_ledger_entry_t *e)
{
	memset(e, 0, sizeof(*e));
	copy_str(e->sku, sizeof(e->sku), doc, "sku");
	copy_str(e->kind, sizeof(e->kind), doc, "kind");
	copy_str(e->op, sizeof(e->op), doc, "op");
	copy_str(e->order_id, sizeof(e->order_id), doc, "order_id");
	e->version = get_int(doc, "version");
	e->balance = get_int(doc, "balance");
	e->delta = get_int(doc, "delta");
	e->ts_ms = get_int(doc, "ts");
}

/* Runs FILTER with OPTS on the ledger and copies up to MAX entries into OUT
 * (OUT may be NULL to only count). Takes ownership of FILTER and OPTS. */
static int find(inv_db_t *db, bson_t *filter, bson_t *opts, inv_ledger_entry_t *out, size_t max,
                char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int n = 0;

	while ((size_t)n < max && mongoc_cursor_next(cur, &doc)) {
		if (out != NULL)
			entry_from_bson(doc, &out[n]);
		n++;
	}
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "ledger find: %s", be.message);
		n = INV_REPO_ERR;
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	bson_destroy(filter);
	bson_destroy(opts);
	return n;
}

int inv_ledger_head(inv_db_t *db, const char *sku, inv_ledger_entry_t *out, char *err, size_t errsz)
{
	return find(db, BCON_NEW("sku", BCON_UTF8(sku)),
	            BCON_NEW("sort", "{", "version", BCON_INT32(-1), "}", "limit", BCON_INT64(1),
	                     "projection", "{", "event", BCON_INT32(0), "}"),
	            out, 1, err, errsz);
}

int inv_ledger_find_op(inv_db_t *db, const char *op, inv_ledger_entry_t *out, char *err,
                       size_t errsz)
{
	return find(
	        db, BCON_NEW("op", BCON_UTF8(op)),
	        BCON_NEW("limit", BCON_INT64(1), "projection", "{", "event", BCON_INT32(0), "}"),
	        out, 1, err, errsz);
}

int inv_ledger_of_order(inv_db_t *db, const char *order_id, const char *kind,
                        inv_ledger_entry_t *out, size_t max, char *err, size_t errsz)
{
	return find(db, BCON_NEW("order_id", BCON_UTF8(order_id), "kind", BCON_UTF8(kind)),
	            BCON_NEW("sort", "{", "ts", BCON_INT32(1), "}", "projection", "{", "event",
	                     BCON_INT32(0), "}"),
	            out, max, err, errsz);
}

int inv_ledger_append(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                      size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	char id[INV_SKU_MAX + 32];
	bson_t *doc;
	bson_error_t be;
	int rc = INV_REPO_OK;

	/* _id = sku@version doubles the (sku, version) index and lets marks
	 * address many entries with one $in. */
	inv_ledger_id(id, sizeof(id), e->sku, e->version);
	doc = BCON_NEW("_id", BCON_UTF8(id), "sku", BCON_UTF8(e->sku), "version",
	               BCON_INT64(e->version), "balance", BCON_INT64(e->balance), "delta",
	               BCON_INT64(e->delta), "kind", BCON_UTF8(e->kind), "op", BCON_UTF8(e->op),
	               "ts", BCON_INT64(e->ts_ms), "event", BCON_UTF8(event), "published",
	               BCON_BOOL(false));

	if (e->order_id[0] != '\0')
		BSON_APPEND_UTF8(doc, "order_id", e->order_id);
	if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &be)) {
		if (inv_db_is_duplicate(&be)) {
			rc = INV_REPO_DUP;
		} else {
			eda_errf(err, errsz, "ledger insert: %s", be.message);
			rc = INV_REPO_ERR;
		}
	}
	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

void inv_ledger_id(char *out, size_t size, const char *sku, int64_t version)
{
	snprintf(out, size, "%s@%lld", sku, (long long)version);
}
