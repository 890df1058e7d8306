/* The repositories' shared MongoDB helpers; see mongo.h. */
#include "repositories/mongo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"

bson_t *inv_in_filter(const char *field, const char *const *values, size_t n)
{
	bson_t *filter = bson_new();
	bson_t in, list;

	bson_append_document_begin(filter, field, -1, &in);
	bson_append_array_begin(&in, "$in", -1, &list);
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *key;

		/* BSON arrays are documents keyed "0", "1", ... */
		bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
		bson_append_utf8(&list, key, -1, values[i], -1);
	}
	bson_append_array_end(&in, &list);
	bson_append_document_end(filter, &in);
	return filter;
}

int inv_find_each(mongoc_collection_t *coll, bson_t *filter, const bson_t *opts, inv_found_fn fn,
                  void *ctx, const char *what, char *err, size_t errsz)
{
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t be;
	int rc = 0;

	while (mongoc_cursor_next(cur, &doc))
		fn(doc, ctx);
	if (mongoc_cursor_error(cur, &be)) {
		eda_errf(err, errsz, "%s: %s", what, be.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	return rc;
}

int inv_find_in(inv_db_t *db, mongoc_collection_t *coll, const char *field,
                const char *const *values, size_t n, const bson_t *opts, inv_found_fn fn, void *ctx,
                const char *what, char *err, size_t errsz)
{
	if (n == 0)
		return 0;
	if (!inv_db_is_ferretdb(db))
		return inv_find_each(coll, inv_in_filter(field, values, n), opts, fn, ctx, what,
		                     err, errsz);
	for (size_t i = 0; i < n; i++) {
		if (inv_find_each(coll, BCON_NEW(field, BCON_UTF8(values[i])), opts, fn, ctx, what,
		                  err, errsz) < 0)
			return -1;
	}
	return 0;
}

/* Transient marks of inv_db_insert_unordered, never returned. */
enum {
	INV_DB_UNLISTED = -100, /* not named by the reply's writeErrors */
	INV_DB_REFUSED = -101,  /* named, for another reason than a duplicate */
};

bool inv_db_is_duplicate(const bson_error_t *err)
{
	return err->code == 11000 || err->code == 11001 || strstr(err->message, "E11000") != NULL ||
	       strstr(err->message, "duplicate key") != NULL;
}

/* One element of writeErrors: the refused document's index (UINT32_MAX if
 * absent) and whether it was refused as a duplicate key. */
static void write_error(const bson_iter_t *it, uint32_t *index, bool *dup)
{
	bson_iter_t sub;
	bson_error_t be = {0};

	*index = UINT32_MAX;
	*dup = false;
	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
		return;
	while (bson_iter_next(&sub)) {
		const char *k = bson_iter_key(&sub);

		if (strcmp(k, "index") == 0 && BSON_ITER_HOLDS_NUMBER(&sub))
			*index = (uint32_t)bson_iter_as_int64(&sub);
		else if (strcmp(k, "code") == 0 && BSON_ITER_HOLDS_NUMBER(&sub))
			be.code = (uint32_t)bson_iter_as_int64(&sub);
		else if (strcmp(k, "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
			snprintf(be.message, sizeof(be.message), "%s", bson_iter_utf8(&sub, NULL));
	}
	*dup = inv_db_is_duplicate(&be);
}

/* Reads the writeErrors of REPLY (see inv_db_mark_duplicates); *LISTED
 * gets how many distinct documents they name. */
static size_t mark_write_errors(const bson_t *reply, size_t n, int *rcs, int dup_rc, size_t *listed)
{
	bson_iter_t it, errs;
	size_t first = n;

	*listed = 0;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !bson_iter_recurse(&it, &errs))
		return n;
	while (bson_iter_next(&errs)) {
		uint32_t idx;
		bool dup;

		write_error(&errs, &idx, &dup);
		if (idx >= n)
			continue;
		/* A second error for one document counts it once. */
		if (rcs[idx] != dup_rc && rcs[idx] != INV_DB_REFUSED)
			(*listed)++;
		rcs[idx] = dup ? dup_rc : INV_DB_REFUSED;
		if (idx < first)
			first = idx;
	}
	return first;
}

size_t inv_db_mark_duplicates(const bson_t *reply, size_t n, int *rcs, int dup_rc)
{
	int *marks = eda_xcalloc(n + 1, sizeof(*marks));
	size_t listed, first = mark_write_errors(reply, n, marks, dup_rc, &listed);

	for (size_t i = 0; i < n; i++)
		if (marks[i] == dup_rc)
			rcs[i] = dup_rc;
	free(marks);
	return first;
}

/* The insertedCount of an insert's REPLY, or -1 when it has none. */
static int64_t inserted_count(const bson_t *reply)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, reply, "insertedCount") || !BSON_ITER_HOLDS_NUMBER(&it))
		return -1;
	return bson_iter_as_int64(&it);
}

bool inv_db_insert_unordered(mongoc_collection_t *coll, bson_t **docs, size_t n, int *rcs,
                             bson_error_t *be)
{
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	bson_t reply;
	bool ok = mongoc_collection_insert_many(coll, (const bson_t **)docs, n, opts, &reply, be);

	for (size_t i = 0; i < n; i++)
		rcs[i] = ok ? INV_REPO_OK : INV_DB_UNLISTED;
	if (!ok) {
		size_t listed;

		mark_write_errors(&reply, n, rcs, INV_REPO_DUP, &listed);
		/* An unordered insert tries every document and lists each refused
		 * one (MongoDB, FerretDB 1.24), so when the documents it counts as
		 * inserted and those it lists add up to all of them, the unlisted
		 * ones are stored: a batch in which some documents existed before
		 * (a redelivery after a crash) goes through in one pass. Without
		 * that agreement (a lost connection, a write concern error, a server
		 * that counts everything as inserted) their fate stays unknown. */
		bool settled = !bson_has_field(&reply, "writeConcernErrors") &&
		               inserted_count(&reply) >= 0 &&
		               (size_t)inserted_count(&reply) + listed == n;

		for (size_t i = 0; i < n; i++) {
			if (rcs[i] == INV_DB_UNLISTED)
				rcs[i] = settled ? INV_REPO_OK : INV_REPO_ERR;
			else if (rcs[i] == INV_DB_REFUSED)
				rcs[i] = INV_REPO_ERR;
		}
	}
	bson_destroy(&reply);
	bson_destroy(opts);
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
	return ok;
}

int inv_db_update_each(inv_db_t *db, const char *coll, size_t n, inv_db_update_builder_t build,
                       void *ctx, const char *what, char *err, size_t errsz)
{
	mongoc_client_t *c;
	mongoc_collection_t *cl;
	bson_t *opts;
	int rc = 0;

	if (n == 0)
		return 0;
	c = inv_db_acquire(db);
	cl = inv_db_collection(db, c, coll);
	opts = BCON_NEW("ordered", BCON_BOOL(false));
	for (size_t from = 0; from < n && rc == 0; from += INV_DB_MAX_UPDATES_PER_COMMAND) {
		size_t to = from + INV_DB_MAX_UPDATES_PER_COMMAND < n
		                    ? from + INV_DB_MAX_UPDATES_PER_COMMAND
		                    : n;
		mongoc_bulk_operation_t *bulk =
		        mongoc_collection_create_bulk_operation_with_opts(cl, opts);
		bson_error_t be;

		for (size_t i = from; i < to && rc == 0; i++) {
			bson_t *filter, *update;

			build(i, &filter, &update, ctx);
			if (!mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, NULL,
			                                                &be)) {
				eda_errf(err, errsz, "%s: %s", what, be.message);
				rc = -1;
			}
			bson_destroy(filter);
			bson_destroy(update);
		}
		if (rc == 0 && mongoc_bulk_operation_execute(bulk, NULL, &be) == 0) {
			eda_errf(err, errsz, "%s: %s", what, be.message);
			rc = -1;
		}
		mongoc_bulk_operation_destroy(bulk);
	}
	bson_destroy(opts);
	mongoc_collection_destroy(cl);
	inv_db_release(db, c);
	return rc;
}

int64_t inv_bson_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

void inv_bson_str(char *dst, size_t size, const bson_t *doc, const char *key)
{
	bson_iter_t it;

	dst[0] = '\0';
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(dst, size, "%s", bson_iter_utf8(&it, NULL));
}
