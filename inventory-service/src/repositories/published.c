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

static void mark_statement(size_t i, bson_t **filter, bson_t **update, void *ctx)
{
	const char *const *ids = ctx;

	*filter = BCON_NEW("_id", BCON_UTF8(ids[i]));
	*update = BCON_NEW("$set", "{", "published", BCON_BOOL(true), "}");
}

int inv_mark_published(inv_db_t *db, const char *collection, const char *const *ids, size_t n,
                       char *err, size_t errsz)
{
	char what[64];

	/* Point updates by _id, several to a round trip: an update_many on
	 * {_id: {$in: [...]}} made the server measured first (mongo-java-server)
	 * scan the collection. Not atomic with anything, and it need not be: the
	 * flag only saves a re-publication (with the same event id) after a
	 * restart. */
	snprintf(what, sizeof(what), "%s mark", collection);
	return inv_db_update_each(db, collection, n, mark_statement, (void *)ids, what, err,
	                          errsz) == 0
	               ? INV_REPO_OK
	               : INV_REPO_ERR;
}
