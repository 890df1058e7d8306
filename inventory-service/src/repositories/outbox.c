/* Outbox queries; see outbox.h. */
#include "repositories/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "models/product.h"
#include "repositories/mongo.h"
#include "repositories/published.h"

void inv_outbox_id(char out[static INV_OUTBOX_ID_MAX], const char *order_id, const char *kind)
{
	snprintf(out, INV_OUTBOX_ID_MAX, "%s/%s", order_id, kind);
}

static bson_t *row_doc(const char *id, const char *order_id, const char *outcome, const char *event,
                       const char *const *updates, size_t nupdates)
{
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "order_id", BCON_UTF8(order_id), "outcome",
	                       BCON_UTF8(outcome), "ts", BCON_INT64(eda_clock_wall_ms()));

	if (event != NULL)
		BSON_APPEND_UTF8(doc, "event", event);
	if (nupdates > 0) {
		bson_t arr;
		const char *key;
		char buf[16];

		bson_append_array_begin(doc, "updates", -1, &arr);
		for (size_t i = 0; i < nupdates; i++) {
			bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
			bson_append_utf8(&arr, key, -1, updates[i], -1);
		}
		bson_append_array_end(doc, &arr);
	}
	return doc;
}

int inv_outbox_insert_many(inv_db_t *db, const inv_outbox_new_t *rows, size_t n, int *rcs,
                           char *err, size_t errsz)
{
	const char **keys = eda_xcalloc(n + 1, sizeof(*keys));
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t **docs;
	size_t nkeys = 0;
	bson_error_t be;
	int rc;

	/* The markers first: a row never exists unpublished without one. */
	for (size_t i = 0; i < n; i++) {
		rcs[i] = INV_REPO_ERR;
		if (rows[i].event != NULL)
			keys[nkeys++] = rows[i].id;
	}
	rc = inv_pending_add(db, INV_COLL_OUTBOX, keys, nkeys, err, errsz);
	free(keys);
	if (rc != INV_REPO_OK)
		return INV_REPO_ERR;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, INV_COLL_OUTBOX);
	docs = eda_xcalloc(n + 1, sizeof(*docs));
	for (size_t i = 0; i < n; i++)
		docs[i] = row_doc(rows[i].id, rows[i].order_id, rows[i].outcome, rows[i].event,
		                  rows[i].updates, rows[i].nupdates);
	if (n > 0 && !inv_db_insert_unordered(coll, docs, n, rcs, &be)) {
		const char **ids = eda_xcalloc(n, sizeof(*ids));
		inv_outbox_row_t *got = eda_xcalloc(n, sizeof(*got));
		int *found = eda_xcalloc(n, sizeof(*found));
		size_t nids = 0;

		/* Every row not refused as a duplicate is looked up: present
		 * means decided (by us or by another delivery, the caller
		 * follows the row either way), absent means not stored. */
		for (size_t i = 0; i < n; i++)
			if (rcs[i] == INV_REPO_ERR)
				ids[nids++] = rows[i].id;
		if (nids > 0 &&
		    inv_outbox_get_many(db, ids, nids, got, found, err, errsz) == INV_REPO_OK) {
			for (size_t i = 0, j = 0; i < n; i++) {
				if (rcs[i] != INV_REPO_ERR)
					continue;
				if (found[j])
					rcs[i] = INV_REPO_DUP;
				else
					eda_errf(err, errsz, "outbox insert: %s", be.message);
				inv_outbox_row_clear(&got[j++]);
			}
		}
		for (size_t i = 0; i < n; i++)
			if (rcs[i] == INV_REPO_ERR)
				rc = INV_REPO_ERR;
		free(found);
		free(got);
		free(ids);
	}
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_outbox_insert(inv_db_t *db, const char *id, const char *order_id, const char *outcome,
                      const char *event, const char *const *updates, size_t nupdates, char *err,
                      size_t errsz)
{
	inv_outbox_new_t row = {.id = id,
	                        .order_id = order_id,
	                        .outcome = outcome,
	                        .event = event,
	                        .updates = updates,
	                        .nupdates = nupdates};
	int rc;

	if (inv_outbox_insert_many(db, &row, 1, &rc, err, errsz) != INV_REPO_OK)
		return INV_REPO_ERR;
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
	if (bson_iter_init_find(&it, doc, "updates") && BSON_ITER_HOLDS_ARRAY(&it)) {
		bson_iter_t a;

		if (bson_iter_recurse(&it, &a)) {
			while (bson_iter_next(&a)) {
				if (!BSON_ITER_HOLDS_UTF8(&a))
					continue;
				row->updates = eda_xrealloc(
				        row->updates, (row->nupdates + 1) * sizeof(*row->updates));
				row->updates[row->nupdates++] =
				        eda_xstrdup(bson_iter_utf8(&a, NULL));
			}
		}
	}
}

struct got_rows {
	const char *const *ids;
	size_t n;
	inv_outbox_row_t *rows;
	int *found;
};

static void got_row(const bson_t *doc, void *ctx)
{
	const struct got_rows *k = ctx;
	inv_outbox_row_t row;

	row_from_bson(doc, &row);
	for (size_t i = 0; i < k->n; i++) {
		if (!k->found[i] && strcmp(k->ids[i], row.id) == 0) {
			k->rows[i] = row; /* moved */
			k->found[i] = 1;
			memset(&row, 0, sizeof(row));
		}
	}
	inv_outbox_row_clear(&row);
}

int inv_outbox_get_many(inv_db_t *db, const char *const *ids, size_t n, inv_outbox_row_t *rows,
                        int *found, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_OUTBOX);
	struct got_rows k = {.ids = ids, .n = n, .rows = rows, .found = found};
	int rc = INV_REPO_OK;

	for (size_t i = 0; i < n; i++) {
		memset(&rows[i], 0, sizeof(rows[i]));
		found[i] = 0;
	}
	if (inv_find_in(db, coll, "_id", ids, n, NULL, got_row, &k, "outbox find", err, errsz) <
	    0) {
		for (size_t i = 0; i < n; i++) {
			inv_outbox_row_clear(&rows[i]);
			found[i] = 0;
		}
		rc = INV_REPO_ERR;
	}
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_outbox_get(inv_db_t *db, const char *id, inv_outbox_row_t *row, char *err, size_t errsz)
{
	int found;

	if (inv_outbox_get_many(db, &id, 1, row, &found, err, errsz) != INV_REPO_OK)
		return INV_REPO_ERR;
	return found;
}

void inv_outbox_row_clear(inv_outbox_row_t *row)
{
	free(row->event);
	row->event = NULL;
	for (size_t i = 0; i < row->nupdates; i++)
		free(row->updates[i]);
	free(row->updates);
	row->updates = NULL;
	row->nupdates = 0;
}
