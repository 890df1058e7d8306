/* Products queries; see products.h. */
#include "repositories/products.h"

#include <string.h>
#include <uuid/uuid.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "repositories/ledger.h"
#include "repositories/mongo.h"

static void product_from_bson(const bson_t *doc, inv_product_t *p)
{
	bson_iter_t it;

	memset(p, 0, sizeof(*p));
	inv_bson_str(p->sku, sizeof(p->sku), doc, "_id");
	if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it))
		p->name = eda_xstrdup(bson_iter_utf8(&it, NULL));
	else
		p->name = eda_xstrdup("");
	p->price_cents = inv_bson_int(doc, "price_cents");
	inv_bson_str(p->currency, sizeof(p->currency), doc, "currency");
	p->revision = inv_bson_int(doc, "revision");
	p->published_revision = inv_bson_int(doc, "published_revision");
	p->stock = inv_bson_int(doc, "stock");
	p->version = inv_bson_int(doc, "version");
	p->updated_ms = inv_bson_int(doc, "updated_ms");
}

static int update_in(inv_db_t *db, const char *collection, bson_t *filter, bson_t *upd, bool upsert,
                     const char *what, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, collection);
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(upsert));
	bson_error_t be;
	int rc = INV_REPO_OK;

	if (!mongoc_collection_update_one(coll, filter, upd, opts, NULL, &be)) {
		/* Two upserts of a new SKU may race on _id; the loser's
		 * name and price are simply the earlier writer's. */
		if (!inv_db_is_duplicate(&be)) {
			eda_errf(err, errsz, "%s: %s", what, be.message);
			rc = INV_REPO_ERR;
		}
	}
	bson_destroy(opts);
	bson_destroy(filter);
	bson_destroy(upd);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

static int update(inv_db_t *db, bson_t *filter, bson_t *upd, bool upsert, const char *what,
                  char *err, size_t errsz)
{
	return update_in(db, INV_COLL_PRODUCTS, filter, upd, upsert, what, err, errsz);
}

int inv_products_upsert(inv_db_t *db, const inv_product_t *p, char *err, size_t errsz)
{
	return update(db, BCON_NEW("_id", BCON_UTF8(p->sku)),
	              BCON_NEW("$set", "{", "name", BCON_UTF8(p->name), "price_cents",
	                       BCON_INT64(p->price_cents), "currency", BCON_UTF8(p->currency),
	                       "revision", BCON_INT64(p->revision), "updated_ms",
	                       BCON_INT64(p->updated_ms), "}"),
	              true, "products upsert", err, errsz);
}

int inv_products_mark_published(inv_db_t *db, const char *sku, int64_t revision, char *err,
                                size_t errsz)
{
	/* $max: a late mark of an older revision never hides a newer one. */
	return update(db, BCON_NEW("_id", BCON_UTF8(sku)),
	              BCON_NEW("$max", "{", "published_revision", BCON_INT64(revision), "}"), false,
	              "products mark published", err, errsz);
}

struct priced {
	const char *const *skus;
	size_t n;
	inv_price_t *out;
};

static void priced_row(const bson_t *doc, void *ctx)
{
	const struct priced *k = ctx;
	bson_iter_t it;
	const char *id;

	if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
		return;
	id = bson_iter_utf8(&it, NULL);
	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->skus[i], id) == 0) {
			k->out[i].found = true;
			k->out[i].price_cents = inv_bson_int(doc, "price_cents");
			inv_bson_str(k->out[i].currency, sizeof(k->out[i].currency), doc,
			             "currency");
		}
	}
}

int inv_products_prices(inv_db_t *db, const char *const *skus, size_t n, inv_price_t *out,
                        char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_PRODUCTS);
	bson_t *opts = BCON_NEW("projection", "{", "price_cents", BCON_INT32(1), "currency",
	                        BCON_INT32(1), "}");
	struct priced k = {.skus = skus, .n = n, .out = out};
	int rc;

	memset(out, 0, n * sizeof(*out));
	rc = inv_find_in(db, coll, "_id", skus, n, opts, priced_row, &k, "products prices", err,
	                 errsz) == 0
	             ? INV_REPO_OK
	             : INV_REPO_ERR;
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

#define TOKEN_ID "token"

int inv_catalogue_token(inv_db_t *db, char token[static INV_TOKEN_LEN], char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_CATALOGUE);
	bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(TOKEN_ID));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int rc = INV_REPO_OK;

	token[0] = '\0';
	if (mongoc_cursor_next(cur, &doc))
		inv_bson_str(token, INV_TOKEN_LEN, doc, "token");
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "catalogue token: %s", be.message);
		rc = INV_REPO_ERR;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_catalogue_token_bump(inv_db_t *db, char *err, size_t errsz)
{
	uuid_t u;
	char token[INV_TOKEN_LEN];

	/* A value never written before, not a counter: FerretDB runs $inc as a
	 * read and a separate write, so two bumps could leave one value, and a
	 * reader that cached under it would miss the second change. */
	uuid_generate_random(u);
	uuid_unparse_lower(u, token);
	return update_in(db, INV_COLL_CATALOGUE, BCON_NEW("_id", BCON_UTF8(TOKEN_ID)),
	                 BCON_NEW("$set", "{", "token", BCON_UTF8(token), "}"), true,
	                 "catalogue token", err, errsz);
}

static bson_t *cache_filter(const char *sku, int64_t version)
{
	return BCON_NEW("_id", BCON_UTF8(sku), "$or", "[", "{", "version", "{", "$lt",
	                BCON_INT64(version), "}", "}", "{", "version", "{", "$exists",
	                BCON_BOOL(false), "}", "}", "]");
}

static bson_t *cache_update(int64_t stock, int64_t version, int64_t now_ms)
{
	return BCON_NEW("$set", "{", "stock", BCON_INT64(stock), "version", BCON_INT64(version),
	                "updated_ms", BCON_INT64(now_ms), "}");
}

int inv_products_cache_stock(inv_db_t *db, const char *sku, int64_t stock, int64_t version,
                             char *err, size_t errsz)
{
	return update(db, cache_filter(sku, version),
	              cache_update(stock, version, eda_clock_wall_ms()), false, "products cache",
	              err, errsz);
}

struct cache_batch {
	const inv_cached_stock_t *c;
	int64_t now;
};

static void cache_statement(size_t i, bson_t **filter, bson_t **update, void *ctx)
{
	const struct cache_batch *b = ctx;

	*filter = cache_filter(b->c[i].sku, b->c[i].version);
	*update = cache_update(b->c[i].stock, b->c[i].version, b->now);
}

int inv_products_cache_many(inv_db_t *db, const inv_cached_stock_t *c, size_t n, char *err,
                            size_t errsz)
{
	struct cache_batch b = {.c = c, .now = eda_clock_wall_ms()};

	if (n == 1)
		return inv_products_cache_stock(db, c[0].sku, c[0].stock, c[0].version, err, errsz);
	return inv_db_update_each(db, INV_COLL_PRODUCTS, n, cache_statement, &b, "products cache",
	                          err, errsz) == 0
	               ? INV_REPO_OK
	               : INV_REPO_ERR;
}

struct cached {
	const char *const *skus;
	size_t n;
	inv_cached_stock_t *out;
};

static void cached_row(const bson_t *doc, void *ctx)
{
	const struct cached *k = ctx;
	bson_iter_t it;
	const char *id;

	if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
		return;
	id = bson_iter_utf8(&it, NULL);
	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->skus[i], id) == 0) {
			k->out[i].stock = inv_bson_int(doc, "stock");
			k->out[i].version = inv_bson_int(doc, "version");
		}
	}
}

int inv_products_cached(inv_db_t *db, const char *const *skus, size_t n, inv_cached_stock_t *out,
                        char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_PRODUCTS);
	bson_t *opts =
	        BCON_NEW("projection", "{", "stock", BCON_INT32(1), "version", BCON_INT32(1), "}");
	struct cached k = {.skus = skus, .n = n, .out = out};
	int rc;

	for (size_t i = 0; i < n; i++)
		out[i] = (inv_cached_stock_t){.sku = skus[i]};
	rc = inv_find_in(db, coll, "_id", skus, n, opts, cached_row, &k, "products find", err,
	                 errsz) == 0
	             ? INV_REPO_OK
	             : INV_REPO_ERR;
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

static int find(inv_db_t *db, bson_t *filter, bson_t *opts, inv_product_t *out, size_t max,
                char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_PRODUCTS);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int n = 0;

	while ((size_t)n < max && mongoc_cursor_next(cur, &doc))
		product_from_bson(doc, &out[n++]);
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "products find: %s", be.message);
		while (n > 0)
			inv_product_clear(&out[--n]);
		n = INV_REPO_ERR;
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	bson_destroy(filter);
	bson_destroy(opts);
	return n;
}

int inv_products_get(inv_db_t *db, const char *sku, inv_product_t *p, char *err, size_t errsz)
{
	memset(p, 0, sizeof(*p));
	return find(db, BCON_NEW("_id", BCON_UTF8(sku)), BCON_NEW("limit", BCON_INT64(1)), p, 1,
	            err, errsz);
}

int inv_products_list(inv_db_t *db, const char *after, size_t limit, inv_product_t *out, char *err,
                      size_t errsz)
{
	bson_t *filter =
	        after != NULL ? BCON_NEW("_id", "{", "$gt", BCON_UTF8(after), "}") : bson_new();

	return find(db, filter,
	            BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit",
	                     BCON_INT64((int64_t)limit)),
	            out, limit, err, errsz);
}
