/* Attempt records of the ledger's entries; see ledger_index.h. */
#include "repositories/ledger_index.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "utils/bson_fields.h"
#include "utils/crash.h"
#include "utils/find_in.h"

/* Records one group may have: each is an insert that lost its version to
 * another writer or died, so thousands mean a bug, not a busy SKU. */
#define MAX_ATTEMPTS 1024

void inv_ledger_group(char out[static INV_LEDGER_GROUP_MAX], const char *op, const char *order_id,
                      const char *kind)
{
	/* One record per order and kind covers all the order's lines, and a
	 * cancel, which knows only the order, finds them. An order id has no
	 * '/', so "<order>/<kind>" is never an admin op ("restock/...",
	 * "set/..."). */
	if (order_id != NULL && order_id[0] != '\0')
		snprintf(out, INV_LEDGER_GROUP_MAX, "%s/%s", order_id, kind);
	else
		snprintf(out, INV_LEDGER_GROUP_MAX, "%s", op);
}

static void record_id(char *out, size_t size, const char *group, int n)
{
	snprintf(out, size, "%s#%d", group, n);
}

/* A group of the entries being noted: its key, its next record number, and
 * whether its record is durable. */
struct group {
	char key[INV_LEDGER_GROUP_MAX];
	int n;
	int state; /* 0 to insert, 1 noted, -1 refused */
};

/* The record of group G over the N entries E of that group (GROUPOF[i]). */
static bson_t *record_doc(const struct group *g, size_t gi, const inv_ledger_entry_t *e, size_t n,
                          const size_t *groupof)
{
	char id[INV_LEDGER_GROUP_MAX + 16];
	bson_t *doc = bson_new();
	bson_t list, item;
	size_t k = 0;

	record_id(id, sizeof(id), g->key, g->n);
	BSON_APPEND_UTF8(doc, "_id", id);
	bson_append_array_begin(doc, "e", -1, &list);
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *key;

		if (groupof[i] != gi)
			continue;
		bson_uint32_to_string((uint32_t)k++, &key, buf, sizeof(buf));
		bson_append_document_begin(&list, key, -1, &item);
		BSON_APPEND_UTF8(&item, "s", e[i].sku);
		BSON_APPEND_INT64(&item, "v", e[i].version);
		bson_append_document_end(&list, &item);
	}
	bson_append_array_end(doc, &list);
	return doc;
}

/* Inserts the records of the groups still to insert, once. Returns 0 or -1
 * (ERR: a record's fate is unknown). */
static int insert_round(inv_db_t *db, struct group *g, size_t ng, const inv_ledger_entry_t *e,
                        size_t n, const size_t *groupof, bool probe, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER_OPS);
	bson_t **docs = eda_xcalloc(ng + 1, sizeof(*docs));
	size_t *who = eda_xcalloc(ng + 1, sizeof(*who)), nd = 0;
	int *rcs = eda_xcalloc(ng + 1, sizeof(*rcs));
	bool landed = false;
	bson_error_t be;
	int rc = 0;

	for (size_t j = 0; j < ng; j++) {
		if (g[j].state != 0)
			continue;
		who[nd] = j;
		docs[nd++] = record_doc(&g[j], j, e, n, groupof);
	}
	if (!inv_db_insert_unordered(coll, docs, nd, rcs, &be))
		for (size_t k = 0; k < nd && rc == 0; k++)
			if (rcs[k] == INV_REPO_ERR) {
				eda_errf(err, errsz, "ledger_ops insert: %s", be.message);
				rc = -1;
			}
	for (size_t k = 0; k < nd && rc == 0; k++) {
		struct group *gr = &g[who[k]];

		if (rcs[k] == INV_REPO_OK) {
			gr->state = 1;
			landed = true;
		} else if (!probe) {
			gr->state = -1;
		} else if (++gr->n >= MAX_ATTEMPTS) {
			eda_errf(err, errsz, "ledger_ops: %s has %d attempts", gr->key, gr->n);
			rc = -1;
		}
	}
	if (landed)
		inv_crash_point("ledger-attempt");
	free(rcs);
	free(who);
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}

int inv_ledger_index_note(inv_db_t *db, const inv_ledger_entry_t *e, size_t n, bool probe,
                          bool *noted, char *err, size_t errsz)
{
	struct group *g = eda_xcalloc(n + 1, sizeof(*g));
	size_t *groupof = eda_xcalloc(n + 1, sizeof(*groupof)), ng = 0;
	bool todo = n > 0;
	int rc = INV_REPO_OK;

	for (size_t i = 0; i < n; i++) {
		char key[INV_LEDGER_GROUP_MAX];
		size_t j = ng;

		noted[i] = false;
		inv_ledger_group(key, e[i].op, e[i].order_id, e[i].kind);
		/* The entries of a group are next to each other (a batch lists
		 * an order's lines together), so the last group usually is it. */
		while (j > 0 && strcmp(g[j - 1].key, key) != 0)
			j--;
		if (j == 0) {
			memcpy(g[ng].key, key, sizeof(key));
			j = ++ng;
		}
		groupof[i] = j - 1;
	}
	/* A dead attempt (a redelivery, a version lost to another writer)
	 * already holds #0: probing moves on to the first free number. */
	while (todo && rc == INV_REPO_OK) {
		if (insert_round(db, g, ng, e, n, groupof, probe, err, errsz) < 0)
			rc = INV_REPO_ERR;
		todo = false;
		for (size_t j = 0; j < ng; j++)
			todo = todo || g[j].state == 0;
	}
	for (size_t i = 0; i < n && rc == INV_REPO_OK; i++)
		noted[i] = g[groupof[i]].state == 1;
	free(groupof);
	free(g);
	return rc;
}

/* The places named by one record, added to the collection below. */
struct slots {
	const char *const *skus;
	size_t nskus;
	inv_ledger_slot_t *out; /* grows: a slot missed would be an entry missed */
	size_t cap, n;
	bool found; /* the record exists */
};

static bool wanted(const struct slots *s, const char *sku)
{
	if (s->skus == NULL)
		return true;
	for (size_t i = 0; i < s->nskus; i++)
		if (strcmp(s->skus[i], sku) == 0)
			return true;
	return false;
}

static void collect_record(const bson_t *doc, void *ctx)
{
	struct slots *s = ctx;
	bson_iter_t it, list;

	s->found = true;
	if (!bson_iter_init_find(&it, doc, "e") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &list))
		return;
	while (bson_iter_next(&list)) {
		inv_ledger_slot_t slot;
		const uint8_t *data;
		uint32_t len;
		bson_t item;
		bool seen = false;

		if (!BSON_ITER_HOLDS_DOCUMENT(&list))
			continue;
		bson_iter_document(&list, &len, &data);
		if (!bson_init_static(&item, data, len))
			continue;
		inv_bson_str(slot.sku, sizeof(slot.sku), &item, "s");
		slot.version = inv_bson_int(&item, "v");
		if (!wanted(s, slot.sku))
			continue;
		for (size_t k = 0; k < s->n && !seen; k++)
			seen = s->out[k].version == slot.version &&
			       strcmp(s->out[k].sku, slot.sku) == 0;
		if (seen)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap * 2 + 8;
			s->out = eda_xrealloc(s->out, s->cap * sizeof(*s->out));
		}
		s->out[s->n++] = slot;
	}
}

int inv_ledger_index_slots(inv_db_t *db, const char *group, const char *const *skus, size_t n,
                           inv_ledger_slot_t **out, char *err, size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, INV_COLL_LEDGER_OPS);
	struct slots s = {.skus = skus, .nskus = n};
	int rc = 0;

	/* Records have no gap: the first missing one ends the list. */
	for (int k = 0; k < MAX_ATTEMPTS && rc == 0; k++) {
		char id[INV_LEDGER_GROUP_MAX + 16];

		record_id(id, sizeof(id), group, k);
		s.found = false;
		rc = inv_find_each(coll, BCON_NEW("_id", BCON_UTF8(id)), NULL, collect_record, &s,
		                   "ledger_ops find", err, errsz);
		if (!s.found)
			break;
	}
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	if (rc < 0) {
		free(s.out);
		s.out = NULL;
	}
	*out = s.out;
	return rc < 0 ? INV_REPO_ERR : (int)s.n;
}
