/* Outbox queries; see outbox.h. */
#include "repositories/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "models/product.h"

void inv_outbox_id(char out[static INV_OUTBOX_ID_MAX], const char *order_id, const char *kind)
{
	snprintf(out, INV_OUTBOX_ID_MAX, "%s/%s", order_id, kind);
}

int inv_outbox_insert(inv_db_t *db, const char *id, const char *order_id, const char *outcome,
                      const char *event, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_OUTBOX);
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "order_id", BCON_UTF8(order_id), "outcome",
	                       BCON_UTF8(outcome), "published", BCON_BOOL(event == NULL), "ts",
	                       BCON_INT64(inv_now_ms()));
	bson_error_t be;
	int rc = INV_REPO_OK;

	if (event != NULL)
		BSON_APPEND_UTF8(doc, "event", event);
	if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &be)) {
		if (inv_db_is_duplicate(&be)) {
			rc = INV_REPO_DUP;
		} else {
			eda_errf(err, errsz, "outbox insert: %s", be.message);
			rc = INV_REPO_ERR;
		}
	}
	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

static void row_from_bson(const bson_t *doc, inv_outbox_row_t *row)
{
	bson_iter_t it;

	memset(row, 0, sizeof(*row));
	if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(row->id, sizeof(row->id), "%s", bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, doc, "outcome") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(row->outcome, sizeof(row->outcome), "%s", bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, doc, "event") && BSON_ITER_HOLDS_UTF8(&it))
		row->event = eda_xstrdup(bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, doc, "published") && BSON_ITER_HOLDS_BOOL(&it))
		row->published = bson_iter_bool(&it);
}

int inv_outbox_get(inv_db_t *db, const char *id, inv_outbox_row_t *row, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_OUTBOX);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int rc = 0;

	memset(row, 0, sizeof(*row));
	if (mongoc_cursor_next(cur, &doc)) {
		row_from_bson(doc, row);
		rc = 1;
	}
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "outbox find: %s", be.message);
		inv_outbox_row_clear(row);
		rc = INV_REPO_ERR;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

void inv_outbox_row_clear(inv_outbox_row_t *row)
{
	free(row->event);
	row->event = NULL;
}
