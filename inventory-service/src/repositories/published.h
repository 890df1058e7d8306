/*
 * Publication state shared by the two collections whose rows carry an event to
 * publish: the ledger (each entry's InventoryUpdated) and the outbox (each
 * order's result event). Both keep the serialized event in `event` and a
 * `published` flag; the publisher scans and marks them the same way.
 */
#ifndef INV_PUBLISHED_H
#define INV_PUBLISHED_H

#include <stddef.h>

#include "config/database.h"
#include "repositories/ledger.h" /* INV_REPO_* */

/* Called with the _id and the N serialized events of one unpublished row (a
 * ledger entry has one; an outbox row its result event, then the
 * InventoryUpdated it carries). */
typedef void (*inv_unpublished_fn)(void *ctx, const char *id, const char *const *events, size_t n);

/* Calls FN for each unpublished row of COLLECTION (INV_COLL_LEDGER or
 * INV_COLL_OUTBOX), oldest first, at most LIMIT. Returns how many rows were
 * read, or INV_REPO_ERR with ERR filled. */
int inv_unpublished(inv_db_t *db, const char *collection, size_t limit, inv_unpublished_fn fn,
                    void *ctx, char *err, size_t errsz);

/* Marks the N rows with _id in IDS of COLLECTION as published. Returns
 * INV_REPO_OK or INV_REPO_ERR. */
int inv_mark_published(inv_db_t *db, const char *collection, const char *const *ids, size_t n,
                       char *err, size_t errsz);

#endif
