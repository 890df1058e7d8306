/* Ledger queries; see ledger.h. */
#include "repositories/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "repositories/mongo.h"
#include "repositories/published.h"

static void entry_from_bson(const bson_t *doc, inv_ledger_entry_t *e)
{
	bson_iter_t it;

	memset(e, 0, sizeof(*e));
	inv_bson_str(e->sku, sizeof(e->sku), doc, "sku");
	inv_bson_str(e->kind, sizeof(e->kind), doc, "kind");
	inv_bson_str(e->op, sizeof(e->op), doc, "op");
	inv_bson_str(e->order_id, sizeof(e->order_id), doc, "order_id");
	e->version = inv_bson_int(doc, "version");
	e->balance = inv_bson_int(doc, "balance");
	e->delta = inv_bson_int(doc, "delta");
	e->ts_ms = inv_bson_int(doc, "ts");
	e->via_outbox = bson_iter_init_find(&it, doc, "via") && BSON_ITER_HOLDS_UTF8(&it) &&
	                strcmp(bson_iter_utf8(&it, NULL), "outbox") == 0;
}

/* Entries collected by a query: up to max into out (may be NULL, to count). */
struct collect {
	inv_ledger_entry_t *out;
	size_t max, n;
};

static void collect_entry(const bson_t *doc, void *ctx)
{
	struct collect *c = ctx;

	if (c->n >= c->max)
		return;
	if (c->out != NULL)
		entry_from_bson(doc, &c->out[c->n]);
	c->n++;
}

/* Runs FILTER with OPTS on the ledger and copies up to MAX entries into OUT
 * (OUT may be NULL to only count). Takes ownership of FILTER and OPTS. */
static int find(inv_db_t *db, bson_t *filter, bson_t *opts, inv_ledger_entry_t *out, size_t max,
                char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	struct collect got = {.out = out, .max = max};
	int rc = inv_find_each(coll, filter, opts, collect_entry, &got, "ledger find", err, errsz);

	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	bson_destroy(opts);
	return rc < 0 ? INV_REPO_ERR : (int)got.n;
}

/* The entries whose FIELD is one of the N VALUES, without their event, up to
 * MAX into OUT; like find(). */
static int find_in(inv_db_t *db, const char *field, const char *const *values, size_t n,
                   inv_ledger_entry_t *out, size_t max, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	bson_t *opts = BCON_NEW("projection", "{", "event", BCON_INT32(0), "}");
	struct collect got = {.out = out, .max = max};
	int rc = inv_find_in(db, coll, field, values, n, opts, collect_entry, &got, "ledger find",
	                     err, errsz);

	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc < 0 ? INV_REPO_ERR : (int)got.n;
}

/* Ids looked up per query: more than the products cache may lag behind the
 * head in a batch (services/stock.c, CACHE_EVERY). */
#define HEAD_WINDOW  24
#define HEAD_WINDOWS 4

/* Looks up the entries FROM .. FROM+HEAD_WINDOW-1 of SKU by _id. Returns how
 * many exist (they must be a prefix of the window), with the newest in *OUT,
 * or INV_REPO_ERR; -3 when the ones found are not a prefix. */
static int head_window(inv_db_t *db, const char *sku, int64_t from, inv_ledger_entry_t *out,
                       char *err, size_t errsz)
{
	inv_ledger_entry_t got[HEAD_WINDOW];
	char ids[HEAD_WINDOW][INV_SKU_MAX + 32];
	const char *list[HEAD_WINDOW];
	int n, newest = -1;

	for (int i = 0; i < HEAD_WINDOW; i++) {
		inv_ledger_id(ids[i], sizeof(ids[i]), sku, from + i);
		list[i] = ids[i];
	}
	if (inv_db_is_ferretdb(db)) {
		/* One equality lookup per version (repositories/mongo.h: a scan inside
		 * PostgreSQL, far cheaper than FerretDB reading the collection
		 * for $in), stopping at the first missing one: versions are
		 * contiguous, and the head is usually a few versions past FROM. */
		for (n = 0; n < HEAD_WINDOW; n++) {
			int k = find_in(db, "_id", &list[n], 1, &got[n], 1, err, errsz);

			if (k < 0)
				return k;
			if (k == 0)
				break;
		}
	} else {
		n = find_in(db, "_id", list, HEAD_WINDOW, got, HEAD_WINDOW, err, errsz);
	}
	for (int i = 0; i < n; i++) {
		if (got[i].version < from || got[i].version >= from + n)
			return -3;
		if (newest < 0 || got[i].version > got[newest].version)
			newest = i;
	}
	if (newest >= 0)
		*out = got[newest];
	return n;
}

/* Entry VERSION of SKU into *OUT (may be NULL). Returns 1, 0 or INV_REPO_ERR. */
static int entry_at(inv_db_t *db, const char *sku, int64_t version, inv_ledger_entry_t *out,
                    char *err, size_t errsz)
{
	char id[INV_SKU_MAX + 32];
	const char *list[1] = {id};
	inv_ledger_entry_t got;
	int n;

	inv_ledger_id(id, sizeof(id), sku, version);
	n = find_in(db, "_id", list, 1, &got, 1, err, errsz);
	if (n == 1 && out != NULL)
		*out = got;
	return n;
}

/* The newest entry of SKU between LO (exists, in *OUT; 0: none known) and
 * HI (known not to exist), by halving: versions are contiguous from 1, so
 * "version v exists" holds up to the head and fails after it. Returns 1, 0
 * (no version 1) or INV_REPO_ERR. */
static int head_between(inv_db_t *db, const char *sku, int64_t lo, int64_t hi,
                        inv_ledger_entry_t *out, char *err, size_t errsz)
{
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		int rc = entry_at(db, sku, mid, out, err, errsz);

		if (rc < 0)
			return INV_REPO_ERR;
		if (rc == 1)
			lo = mid;
		else
			hi = mid;
	}
	return lo > 0;
}

/* The head of SKU far past V (which exists, in *OUT), found by doubling the
 * step by _id until a version is missing, then halving: on MongoDB a few
 * index lookups where a query on sku (no index) reads the whole ledger. */
static int head_gallop(inv_db_t *db, const char *sku, int64_t v, inv_ledger_entry_t *out, char *err,
                       size_t errsz)
{
	int64_t step = HEAD_WINDOW;

	for (;;) {
		int rc = entry_at(db, sku, v + step, NULL, err, errsz);

		if (rc < 0)
			return INV_REPO_ERR;
		if (rc == 0 || step > INT64_MAX / 4)
			break;
		v += step;
		step *= 2;
	}
	if (entry_at(db, sku, v, out, err, errsz) != 1) {
		eda_errf(err, errsz, "ledger of %s: version %lld vanished", sku, (long long)v);
		return INV_REPO_ERR;
	}
	return head_between(db, sku, v, v + step, out, err, errsz);
}

int inv_ledger_head(inv_db_t *db, const char *sku, int64_t from, inv_ledger_entry_t *out, char *err,
                    size_t errsz)
{
	int64_t v = from > 0 ? from : 1;
	enum { FAR, BELOW, ODD } where = FAR;

	for (int w = 0; w < HEAD_WINDOWS && where == FAR; w++) {
		int n = head_window(db, sku, v, out, err, errsz);

		if (n == INV_REPO_ERR)
			return INV_REPO_ERR;
		if (n == -3) {
			where = ODD; /* not the chain we expect: ask the query on sku */
			break;
		}
		if (n == 0 && v > 1) {
			where = BELOW; /* FROM is past the head */
			break;
		}
		if (n == 0)
			return 0; /* no version 1: the SKU has no entries */
		if (n < HEAD_WINDOW)
			return 1;
		v = out->version; /* the window was full: go on from its newest */
	}
	/* Far from FROM. FerretDB 1.24 answers every filtered read, one by _id
	 * included, by scanning the collection (its PostgreSQL handler filters
	 * with `_jsonb->'_id' @> value`, which the _id index cannot serve), so
	 * there one query on sku costs least; MongoDB serves _id from its index
	 * and has none on sku. */
	if (!inv_db_is_ferretdb(db) && where == BELOW)
		return head_between(db, sku, 0, v, out, err, errsz);
	if (!inv_db_is_ferretdb(db) && where == FAR)
		return head_gallop(db, sku, v, out, err, errsz);
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

int inv_ledger_of_ops(inv_db_t *db, const char *const *ops, size_t n, inv_ledger_entry_t *out,
                      size_t max, char *err, size_t errsz)
{
	return find_in(db, "op", ops, n, out, max, err, errsz);
}

int inv_ledger_attach_event(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                            size_t errsz)
{
	const char *op = e->op;
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	char id[INV_SKU_MAX + 32];
	bson_t *filter, *update;
	bson_error_t be;
	int rc = INV_REPO_OK;

	if (inv_pending_add(db, INV_COLL_LEDGER, &op, 1, err, errsz) != INV_REPO_OK)
		return INV_REPO_ERR;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	inv_ledger_id(id, sizeof(id), e->sku, e->version);
	filter = BCON_NEW("_id", BCON_UTF8(id));
	update = BCON_NEW("$set", "{", "event", BCON_UTF8(event), "}", "$unset", "{", "via",
	                  BCON_UTF8(""), "}");
	if (!mongoc_collection_update_one(coll, filter, update, NULL, NULL, &be)) {
		eda_errf(err, errsz, "ledger attach event: %s", be.message);
		rc = INV_REPO_ERR;
	}
	bson_destroy(filter);
	bson_destroy(update);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_ledger_of_order(inv_db_t *db, const char *order_id, const char *kind,
                        inv_ledger_entry_t *out, size_t max, char *err, size_t errsz)
{
	return find(db, BCON_NEW("order_id", BCON_UTF8(order_id), "kind", BCON_UTF8(kind)),
	            BCON_NEW("sort", "{", "ts", BCON_INT32(1), "}", "projection", "{", "event",
	                     BCON_INT32(0), "}"),
	            out, max, err, errsz);
}

static bson_t *entry_doc(const inv_ledger_entry_t *e, const char *event)
{
	char id[INV_SKU_MAX + 32];
	bson_t *doc;

	/* _id = sku@version is the unique (sku, version) key (a SKU has no '@')
	 * and lets the head be found by _id (see inv_ledger_head). */
	inv_ledger_id(id, sizeof(id), e->sku, e->version);
	doc = BCON_NEW("_id", BCON_UTF8(id), "sku", BCON_UTF8(e->sku), "version",
	               BCON_INT64(e->version), "balance", BCON_INT64(e->balance), "delta",
	               BCON_INT64(e->delta), "kind", BCON_UTF8(e->kind), "op", BCON_UTF8(e->op),
	               "ts", BCON_INT64(e->ts_ms));
	if (event != NULL)
		BSON_APPEND_UTF8(doc, "event", event);
	else
		BSON_APPEND_UTF8(doc, "via", "outbox");
	if (e->order_id[0] != '\0')
		BSON_APPEND_UTF8(doc, "order_id", e->order_id);
	return doc;
}

int inv_ledger_append(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                      size_t errsz)
{
	int rc;

	if (inv_ledger_append_many(db, e, &event, 1, &rc, err, errsz) != INV_REPO_OK)
		return INV_REPO_ERR;
	return rc;
}

/* Reads back the entries of E whose RCS is still INV_REPO_ERR after a partly
 * refused insert: an entry found with our op is ours (OK), one with another
 * op lost a race (DUP), a missing one stays ERR. Returns 0, or -1 when the
 * read failed or some entry is still unknown. */
struct confirm {
	const inv_ledger_entry_t *e;
	size_t n;
	int *rcs;
};

static void confirm_entry(const bson_t *doc, void *ctx)
{
	struct confirm *k = ctx;
	inv_ledger_entry_t got;

	entry_from_bson(doc, &got);
	for (size_t i = 0; i < k->n; i++)
		if (k->rcs[i] == INV_REPO_ERR && got.version == k->e[i].version &&
		    strcmp(got.sku, k->e[i].sku) == 0)
			k->rcs[i] = strcmp(got.op, k->e[i].op) == 0 ? INV_REPO_OK : INV_REPO_DUP;
}

static int confirm(inv_db_t *db, mongoc_client_t *c, const inv_ledger_entry_t *e, size_t n,
                   int *rcs, char *err, size_t errsz)
{
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	bson_t *opts = BCON_NEW("projection", "{", "sku", BCON_INT32(1), "version", BCON_INT32(1),
	                        "op", BCON_INT32(1), "}");
	char(*ids)[INV_SKU_MAX + 32] = eda_xcalloc(n ? n : 1, sizeof(*ids));
	const char **list = eda_xcalloc(n ? n : 1, sizeof(*list));
	struct confirm k = {.e = e, .n = n, .rcs = rcs};
	size_t unknown = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != INV_REPO_ERR)
			continue;
		inv_ledger_id(ids[unknown], sizeof(ids[unknown]), e[i].sku, e[i].version);
		list[unknown] = ids[unknown];
		unknown++;
	}
	if (unknown > 0)
		rc = inv_find_in(db, coll, "_id", list, unknown, opts, confirm_entry, &k,
		                 "ledger insert", err, errsz);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (rcs[i] == INV_REPO_ERR) {
			eda_errf(err, errsz,
			         "ledger insert: entry %s@%lld neither stored nor refused",
			         e[i].sku, (long long)e[i].version);
			rc = -1;
		}
	}
	free(list);
	free(ids);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int inv_ledger_append_many(inv_db_t *db, const inv_ledger_entry_t *e, const char *const *events,
                           size_t n, int *rcs, char *err, size_t errsz)
{
	const char **ops = eda_xcalloc(n + 1, sizeof(*ops));
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t **docs;
	size_t nops = 0;
	bson_error_t be;
	int rc;

	/* The markers of the entries with events first (published.h); an
	 * entry refused for its version is tried again with the same op, so
	 * its marker stays right. */
	for (size_t i = 0; i < n; i++) {
		rcs[i] = INV_REPO_ERR;
		if (events != NULL && events[i] != NULL)
			ops[nops++] = e[i].op;
	}
	rc = inv_pending_add(db, INV_COLL_LEDGER, ops, nops, err, errsz);
	free(ops);
	if (rc != INV_REPO_OK)
		return INV_REPO_ERR;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	docs = eda_xcalloc(n + 1, sizeof(*docs));
	for (size_t i = 0; i < n; i++)
		docs[i] = entry_doc(&e[i], events != NULL ? events[i] : NULL);
	/* The fate of the entries the reply does not list is read back. */
	if (!inv_db_insert_unordered(coll, docs, n, rcs, &be) &&
	    confirm(db, c, e, n, rcs, err, errsz) != 0)
		rc = INV_REPO_ERR;
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_ledger_append_chain(inv_db_t *db, const inv_ledger_entry_t *e, size_t n, size_t *landed,
                            char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER);
	const bson_t **docs = eda_xcalloc(n, sizeof(*docs));
	/* Ordered: the server stops at the first refused entry, so no entry
	 * after it (perhaps the next version of the same SKU, computed from
	 * the refused one) is ever stored. */
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(true));
	bson_t reply;
	bson_error_t be;
	int rc = INV_REPO_OK;

	*landed = n;
	for (size_t i = 0; i < n; i++)
		docs[i] = entry_doc(&e[i], NULL);
	if (n > 0 && !mongoc_collection_insert_many(coll, docs, n, opts, &reply, &be)) {
		int *rcs = eda_xcalloc(n, sizeof(*rcs));
		/* The one write error names the refused entry: those before it
		 * are stored, it and those after are not. Without it the fate of
		 * every entry is unknown. */
		size_t first = inv_db_mark_duplicates(&reply, n, rcs, INV_REPO_DUP);
		bool dup = first < n && rcs[first] == INV_REPO_DUP;

		free(rcs);
		if (first < n && !bson_has_field(&reply, "writeConcernErrors")) {
			*landed = first;
			rc = dup ? INV_REPO_DUP : INV_REPO_ERR;
			if (!dup)
				eda_errf(err, errsz, "ledger insert: entry %s@%lld refused: %s",
				         e[first].sku, (long long)e[first].version, be.message);
		} else {
			*landed = 0;
			rc = INV_REPO_ERR;
			eda_errf(err, errsz, "ledger insert: %s", be.message);
		}
	}
	if (n > 0)
		bson_destroy(&reply);
	bson_destroy(opts);
	for (size_t i = 0; i < n; i++)
		bson_destroy((bson_t *)docs[i]);
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

void inv_ledger_id(char *out, size_t size, const char *sku, int64_t version)
{
	snprintf(out, size, "%s@%lld", sku, (long long)version);
}
