/* Order claims; see claims.h. */
#include "repositories/claims.h"

#include <stdlib.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "models/product.h"

int inv_claims_insert(inv_db_t *db, const char *const *order_ids, size_t n, int *rcs, char *err,
                      size_t errsz)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t **docs;
	bson_error_t be;
	int rc = INV_REPO_OK;

	if (n == 0)
		return INV_REPO_OK;
	c = inv_db_acquire(db);
	coll = inv_db_collection(db, c, INV_COLL_CLAIMS);
	docs = eda_xcalloc(n, sizeof(*docs));
	for (size_t i = 0; i < n; i++)
		docs[i] = BCON_NEW("_id", BCON_UTF8(order_ids[i]), "ts",
		                   BCON_INT64(eda_clock_wall_ms()));
	/* Only a refusal as a duplicate is an answer; anything else leaves
	 * the claim's fate unknown. */
	if (!inv_db_insert_unordered(coll, docs, n, rcs, &be)) {
		for (size_t i = 0; i < n && rc == INV_REPO_OK; i++)
			if (rcs[i] == INV_REPO_ERR)
				rc = INV_REPO_ERR;
		if (rc == INV_REPO_ERR)
			eda_errf(err, errsz, "claims insert: %s", be.message);
	}
	free(docs);
	mongoc_collection_destroy(coll);
	inv_db_release(db, c);
	return rc;
}
