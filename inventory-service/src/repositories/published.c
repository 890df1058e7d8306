/* Pending markers of rows to publish; see published.h. */
#include "repositories/published.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/event.h"
#include "models/product.h"
#include "repositories/mongo.h"
#include "utils/crash.h"

/* Markers named in one delete command. */
#define MARKERS_PER_DELETE 256

/* A marker this old without its row lost it to a crash between the two
 * writes: no writer is still between them. */
#define ORPHAN_AFTER_MS (10 * 60 * 1000)

static char *marker_id(const char *collection, const char *key)
{
	return eda_xasprintf("%s/%s", collection, key);
}

int inv_pending_add(inv_db_t *db, const char *collection, const char *const *keys, size_t n,
                    char *err, size_t errsz)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t **docs;
	int *rcs;
	bson_error_t be;
	bool added = false;
	int rc = INV_REPO_OK;

	if (n == 0)
		return INV_REPO_OK;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, INV_COLL_PENDING);
	docs = eda_xcalloc(n, sizeof(*docs));
	rcs = eda_xcalloc(n, sizeof(*rcs));
	for (size_t i = 0; i < n; i++) {
		char *id = marker_id(collection, keys[i]);

		docs[i] = BCON_NEW("_id", BCON_UTF8(id), "coll", BCON_UTF8(collection), "key",
		                   BCON_UTF8(keys[i]), "ts", BCON_INT64(eda_clock_wall_ms()));
		free(id);
	}
	inv_db_insert_unordered(coll, docs, n, rcs, &be);
	for (size_t i = 0; i < n; i++) {
		added = added || rcs[i] == INV_REPO_OK;
		if (rcs[i] == INV_REPO_ERR)
			rc = INV_REPO_ERR;
	}
	if (rc == INV_REPO_ERR)
		eda_errf(err, errsz, "pending insert: %s", be.message);
	free(rcs);
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	if (added)
		inv_crash_point("pending");
	return rc;
}

static void count_doc(const bson_t *doc, void *ctx)
{
	(void)doc;
	++*(int *)ctx;
}

int inv_pending_has(inv_db_t *db, const char *collection, const char *key, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_PENDING);
	char *id = marker_id(collection, key);
	int found = 0;
	int rc = inv_find_each(coll, BCON_NEW("_id", BCON_UTF8(id)), NULL, count_doc, &found,
	                       "pending find", err, errsz);

	free(id);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc < 0 ? INV_REPO_ERR : found > 0;
}

int inv_mark_published(inv_db_t *db, const char *collection, const char *const *keys, size_t n,
                       char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_PENDING);
	char **ids = eda_xcalloc(n + 1, sizeof(*ids));
	int rc = INV_REPO_OK;

	for (size_t i = 0; i < n; i++)
		ids[i] = marker_id(collection, keys[i]);
	/* One delete per MARKERS_PER_DELETE markers: FerretDB reads the
	 * (small) pending collection once and deletes by _id. */
	for (size_t i = 0; i < n && rc == INV_REPO_OK; i += MARKERS_PER_DELETE) {
		size_t k = n - i < MARKERS_PER_DELETE ? n - i : MARKERS_PER_DELETE;
		bson_t *filter = inv_in_filter("_id", (const char *const *)ids + i, k);
		bson_error_t be;

		if (!mongoc_collection_delete_many(coll, filter, NULL, NULL, &be)) {
			eda_errf(err, errsz, "%s mark: %s", collection, be.message);
			rc = INV_REPO_ERR;
		}
		bson_destroy(filter);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

/* One marker met by the scan. */
typedef struct marker {
	char *key;
	int64_t ts;
	bool found;
} marker_t;

static int marker_cmp(const void *a, const void *b)
{
	return strcmp(((const marker_t *)a)->key, ((const marker_t *)b)->key);
}

typedef struct scan {
	marker_t *m;
	size_t n, cap;
	const char *field; /* the row's key field */
	inv_unpublished_fn fn;
	void *ctx;
	int handed;
} scan_t;

static void got_marker(const bson_t *doc, void *ctx)
{
	scan_t *s = ctx;
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, "key") || !BSON_ITER_HOLDS_UTF8(&it))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->m = eda_xrealloc(s->m, s->cap * sizeof(*s->m));
	}
	s->m[s->n] = (marker_t){.key = eda_xstrdup(bson_iter_utf8(&it, NULL))};
	if (bson_iter_init_find(&it, doc, "ts") && BSON_ITER_HOLDS_NUMBER(&it))
		s->m[s->n].ts = bson_iter_as_int64(&it);
	s->n++;
}

static void got_row(const bson_t *doc, void *ctx)
{
	scan_t *s = ctx;
	const char *events[1 + EDA_EVENT_MAX_ITEMS];
	bson_iter_t it, a;
	marker_t probe = {0}, *m;
	size_t k = 0;

	if (!bson_iter_init_find(&it, doc, s->field) || !BSON_ITER_HOLDS_UTF8(&it))
		return;
	probe.key = (char *)bson_iter_utf8(&it, NULL);
	m = bsearch(&probe, s->m, s->n, sizeof(*s->m), marker_cmp);
	if (m == NULL || m->found)
		return;
	m->found = true;
	if (bson_iter_init_find(&it, doc, "event") && BSON_ITER_HOLDS_UTF8(&it))
		events[k++] = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, doc, "updates") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &a))
		while (k < sizeof(events) / sizeof(events[0]) && bson_iter_next(&a))
			if (BSON_ITER_HOLDS_UTF8(&a))
				events[k++] = bson_iter_utf8(&a, NULL);
	/* A row without events has nothing to wait for: its marker goes with
	 * the orphans. */
	m->found = k > 0;
	if (k > 0) {
		s->fn(s->ctx, m->key, events, k);
		s->handed++;
	}
}

int inv_unpublished(inv_db_t *db, const char *collection, size_t limit, inv_unpublished_fn fn,
                    void *ctx, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *pending = inv_db_collection(db, c, INV_COLL_PENDING);
	mongoc_collection_t *rows = inv_db_collection(db, c, collection);
	bson_t *opts = BCON_NEW("sort", "{", "ts", BCON_INT32(1), "}", "limit",
	                        BCON_INT64((int64_t)limit));
	scan_t s = {.field = strcmp(collection, INV_COLL_LEDGER) == 0 ? "op" : "_id",
	            .fn = fn,
	            .ctx = ctx};
	const char **keys = NULL;
	int64_t old = eda_clock_wall_ms() - ORPHAN_AFTER_MS;
	size_t norphans = 0;
	int rc = INV_REPO_ERR;

	if (inv_find_each(pending, BCON_NEW("coll", BCON_UTF8(collection)), opts, got_marker, &s,
	                  "pending scan", err, errsz) < 0)
		goto out;
	if (s.n == 0) {
		rc = 0;
		goto out;
	}
	qsort(s.m, s.n, sizeof(*s.m), marker_cmp);
	keys = eda_xcalloc(s.n + 1, sizeof(*keys));
	for (size_t i = 0; i < s.n; i++)
		keys[i] = s.m[i].key;
	if (inv_find_in(db, rows, s.field, keys, s.n, NULL, got_row, &s, "unpublished rows", err,
	                errsz) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		if (!s.m[i].found && s.m[i].ts < old)
			keys[norphans++] = s.m[i].key;
	rc = s.handed;
out:
	bson_destroy(opts);
	mongoc_collection_destroy(rows);
	mongoc_collection_destroy(pending);
	/* Given back before the orphans' delete takes a client of its own. */
	inv_db_release(db, c);
	if (norphans > 0 &&
	    inv_mark_published(db, collection, keys, norphans, err, errsz) != INV_REPO_OK)
		rc = INV_REPO_ERR;
	for (size_t i = 0; i < s.n; i++)
		free(s.m[i].key);
	free(s.m);
	free(keys);
	return rc;
}
