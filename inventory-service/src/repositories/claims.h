/*
 * Claims: one document {_id: order id} per order that some delivery has
 * started to work on (to reserve it, or to cancel it). A claim is inserted
 * before any other write for its order, so an insert of the claim that
 * succeeds proves that nothing of the order exists yet: no ledger entry, no
 * outbox row. That lets a batch decide a new order without first looking for
 * its outbox rows, which FerretDB 1.24 answers by scanning the whole outbox
 * (its PostgreSQL handler filters with `@>`, which no index serves), where
 * the claim costs an insert that the unique _id index checks.
 */
#ifndef INV_CLAIMS_H
#define INV_CLAIMS_H

#include <stddef.h>

#include "repositories/ledger.h"
#include "repositories/mongo.h"

/* Claims the N orders ORDER_IDS in one unordered insert. RCS[i] gets
 * INV_REPO_OK (claimed now: nothing of the order existed) or INV_REPO_DUP
 * (claimed before, perhaps by this very insert when the server's answer was
 * lost). Returns INV_REPO_OK, or INV_REPO_ERR with ERR when any claim's fate
 * is unknown. */
int inv_claims_insert(inv_db_t *db, const char *const *order_ids, size_t n, int *rcs, char *err,
                      size_t errsz);

#endif
