/* Scanning and marking rows to publish; see published.h. */
#include "repositories/published.h"

#include "eda/errbuf.h"

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
		bson_iter_t id, event;

		if (bson_iter_init_find(&id, doc, "_id") && BSON_ITER_HOLDS_UTF8(&id) &&
		    bson_iter_init_find(&event, doc, "event") && BSON_ITER_HOLDS_UTF8(&event))
			fn(ctx, bson_iter_utf8(&id, NULL), bson_iter_utf8(&event, NULL));
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
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, collection);
	bson_t *update = BCON_NEW("$set", "{", "published", BCON_BOOL(true), "}");
	bson_error_t be;
	int rc = INV_REPO_OK;

	/* One point update per row: mongo-java-server scans the collection for
	 * {_id: {$in: [...]}}, which grows with the ledger. Not atomic with
	 * anything on FerretDB, and it need not be: the flag only saves a
	 * re-publication (with the same event id) after a restart. */
	for (size_t i = 0; i < n && rc == INV_REPO_OK; i++) {
		bson_t *filter = BCON_NEW("_id", BCON_UTF8(ids[i]));

		if (!mongoc_collection_update_one(coll, filter, update, NULL, NULL, &be)) {
			eda_errf(err, errsz, "%s mark: %s", collection, be.message);
			rc = INV_REPO_ERR;
		}
		bson_destroy(filter);
	}
	bson_destroy(update);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}
