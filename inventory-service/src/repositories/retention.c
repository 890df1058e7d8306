/* Retention purge of the outbox and the claims; see retention.h. */
#include "repositories/retention.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "repositories/mongo.h"
#include "repositories/published.h"

/* Rows looked up and deleted per round. The selection by ts is not an
 * equality, which FerretDB answers by reading the collection; a large chunk
 * keeps those reads few, and the purge runs off every request's path. */
#define PURGE_CHUNK 1000

typedef struct ids {
	char **id;
	size_t n;
} ids_t;

static void got_id(const bson_t *doc, void *ctx)
{
	ids_t *k = ctx;
	bson_iter_t it;

	if (k->n < PURGE_CHUNK && bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
		k->id[k->n++] = eda_xstrdup(bson_iter_utf8(&it, NULL));
}

/* Drops from K the outbox rows whose events still wait for Kafka: each is a
 * lookup by _id in the small pending collection. Returns 0 or -1. */
static int keep_unpublished(inv_db_t *db, ids_t *k, char *err, size_t errsz)
{
	size_t kept = 0;

	for (size_t i = 0; i < k->n; i++) {
		int rc = inv_pending_has(db, INV_COLL_OUTBOX, k->id[i], err, errsz);

		if (rc < 0) {
			/* K keeps each id it still owns once, for the caller to
			 * free: the kept ones, then those not looked at yet. */
			memmove(&k->id[kept], &k->id[i], (k->n - i) * sizeof(k->id[0]));
			k->n = kept + (k->n - i);
			return -1;
		}
		if (rc == 1) {
			free(k->id[i]);
			continue;
		}
		k->id[kept++] = k->id[i];
	}
	k->n = kept;
	return 0;
}

/* One round: up to PURGE_CHUNK old rows of COLL. Returns how many were
 * deleted (*SEEN: how many were old), or -1. */
static long purge_chunk(inv_db_t *db, mongoc_collection_t *coll, const char *collection,
                        int64_t cutoff_ms, size_t *seen, char *err, size_t errsz)
{
	ids_t k = {.id = eda_xcalloc(PURGE_CHUNK, sizeof(char *))};
	bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}", "limit",
	                        BCON_INT64(PURGE_CHUNK));
	bson_t reply;
	bson_error_t be;
	long rc = -1;

	if (inv_find_each(coll, BCON_NEW("ts", "{", "$lt", BCON_INT64(cutoff_ms), "}"), opts,
	                  got_id, &k, "purge find", err, errsz) < 0)
		goto out;
	*seen = k.n;
	if (strcmp(collection, INV_COLL_OUTBOX) == 0 && keep_unpublished(db, &k, err, errsz) < 0)
		goto out;
	rc = 0;
	if (k.n > 0) {
		/* By _id, and old: a row written since the find (an id reused by
		 * a redelivery just now) stays. */
		bson_t *filter = inv_in_filter("_id", (const char *const *)k.id, k.n);

		BCON_APPEND(filter, "ts", "{", "$lt", BCON_INT64(cutoff_ms), "}");
		if (mongoc_collection_delete_many(coll, filter, NULL, &reply, &be)) {
			bson_iter_t it;

			rc = bson_iter_init_find(&it, &reply, "deletedCount") &&
			                     BSON_ITER_HOLDS_NUMBER(&it)
			             ? (long)bson_iter_as_int64(&it)
			             : (long)k.n;
		} else {
			eda_errf(err, errsz, "purge %s: %s", collection, be.message);
			rc = -1;
		}
		bson_destroy(&reply);
		bson_destroy(filter);
	}
out:
	for (size_t i = 0; i < k.n; i++)
		free(k.id[i]);
	free(k.id);
	bson_destroy(opts);
	return rc;
}

long inv_purge_older(inv_db_t *db, const char *collection, int64_t cutoff_ms, char *err,
                     size_t errsz)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_collection_t *coll = inv_db_collection(db, c, collection);
	long total = 0;

	for (;;) {
		size_t seen = 0;
		long n = purge_chunk(db, coll, collection, cutoff_ms, &seen, err, errsz);

		if (n < 0) {
			total = INV_REPO_ERR;
			break;
		}
		total += n;
		/* The last chunk, or one of rows all still unpublished (the
		 * next round would find the same ones). */
		if (seen < PURGE_CHUNK || n == 0)
			break;
	}
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return total;
}
