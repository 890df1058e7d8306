/* Scanning and marking rows to publish; see published.h. */
#include "repositories/published.h"

#include "eda/errbuf.h"
#include "eda/event.h"

int inv_unpublished(inv_db_t *db, const char *collection, size_t limit, inv_unpublished_fn fn,
                    void *ctx, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, collection);
	bson_t *filter = BCON_NEW("published", BCON_BOOL(false));
	bson_t *opts = BCON_NEW("sort", "{", "ts", BCON_INT32(1), "}", "limit",
	                        BCON_INT64((int64_t)limit));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int n = 0;

	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t id, it, a;
		const char *events[1 + EDA_EVENT_MAX_ITEMS];
		size_t k = 0;

		if (bson_iter_init_find(&it, doc, "event") && BSON_ITER_HOLDS_UTF8(&it))
			events[k++] = bson_iter_utf8(&it, NULL);
		if (bson_iter_init_find(&it, doc, "updates") && BSON_ITER_HOLDS_ARRAY(&it) &&
		    bson_iter_recurse(&it, &a))
			while (k < sizeof(events) / sizeof(events[0]) && bson_iter_next(&a))
				if (BSON_ITER_HOLDS_UTF8(&a))
					events[k++] = bson_iter_utf8(&a, NULL);
		if (bson_iter_init_find(&id, doc, "_id") && BSON_ITER_HOLDS_UTF8(&id) && k > 0)
			fn(ctx, bson_iter_utf8(&id, NULL), events, k);
		n++;
	}
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "%s scan: %s", collection, be.message);
		n = INV_REPO_ERR;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return n;
}

int inv_mark_published(inv_db_t *db, const char *collection, const char *const *ids, size_t n,
                       char *err, size_t errsz)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	mongoc_bulk_operation_t *bulk;
	bson_t *update, *opts;
	bson_error_t be;
	int rc = INV_REPO_OK;

	if (n == 0)
		return INV_REPO_OK;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, collection);
	update = BCON_NEW("$set", "{", "published", BCON_BOOL(true), "}");
	opts = BCON_NEW("ordered", BCON_BOOL(false));
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
	/* One point update per row, all in one round trip (a bulk write):
	 * mongo-java-server would scan the collection for one update_many on
	 * {_id: {$in: [...]}}. Not atomic with anything on FerretDB, and it need
	 * not be: the flag only saves a re-publication (with the same event id)
	 * after a restart. */
	for (size_t i = 0; i < n && rc == INV_REPO_OK; i++) {
		bson_t *filter = BCON_NEW("_id", BCON_UTF8(ids[i]));

		if (!mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, NULL, &be)) {
			eda_errf(err, errsz, "%s mark: %s", collection, be.message);
			rc = INV_REPO_ERR;
		}
		bson_destroy(filter);
	}
	if (rc == INV_REPO_OK && mongoc_bulk_operation_execute(bulk, NULL, &be) == 0) {
		eda_errf(err, errsz, "%s mark: %s", collection, be.message);
		rc = INV_REPO_ERR;
	}
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(opts);
	bson_destroy(update);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}
