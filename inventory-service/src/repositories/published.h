/*
 * Publication state of the rows that carry events to publish: ledger
 * entries (their InventoryUpdated) and outbox rows (an order's result event
 * and the InventoryUpdated it carries).
 *
 * A row is unpublished while a pending marker names it, in the small
 * collection `pending` ({_id: "<collection>/<key>", coll, key, ts}; the key
 * of an outbox row is its _id, that of a ledger entry its op). The marker is
 * inserted BEFORE the row and deleted once the row's events are
 * acknowledged, so a row can never exist unpublished without its marker; a
 * marker whose row never came (a crash between the two writes) is dropped by
 * the scan at the next start once it is old.
 *
 * Why a marker collection rather than a flag on the row: FerretDB 1.24 runs
 * every filtered query, update and delete as a scan of the whole collection
 * (its PostgreSQL handler filters with `@>`, which no index serves), so
 * setting a flag on a row of the growing outbox cost a scan per row. The
 * pending collection holds only what is in flight, inserts are checked by
 * the unique _id index, and one delete removes a whole batch of markers.
 */
#ifndef INV_PUBLISHED_H
#define INV_PUBLISHED_H

#include <stddef.h>

#include "repositories/mongo.h"

/* Called with the key and the N serialized events of one unpublished row (a
 * ledger entry has one; an outbox row its result event, then the
 * InventoryUpdated it carries). */
typedef void (*inv_unpublished_fn)(void *ctx, const char *key, const char *const *events, size_t n);

/* Marks the N rows with keys KEYS of COLLECTION (INV_COLL_LEDGER or
 * INV_COLL_OUTBOX) as pending, before they are written. A marker that exists
 * already counts as written. Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_pending_add(inv_db_t *db, const char *collection, const char *const *keys, size_t n,
                    char *err, size_t errsz);

/* Whether row KEY of COLLECTION still waits for its publication. Returns 1,
 * 0 or INV_REPO_ERR. */
int inv_pending_has(inv_db_t *db, const char *collection, const char *key, char *err, size_t errsz);

/* Calls FN for each unpublished row of COLLECTION, oldest marker first, at
 * most LIMIT; drops the markers older than a few minutes whose row does not
 * exist. Returns how many rows were handed to FN, or INV_REPO_ERR with ERR. */
int inv_unpublished(inv_db_t *db, const char *collection, size_t limit, inv_unpublished_fn fn,
                    void *ctx, char *err, size_t errsz);

/* Marks the N rows with keys KEYS of COLLECTION as published (deletes their
 * markers). Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_mark_published(inv_db_t *db, const char *collection, const char *const *keys, size_t n,
                       char *err, size_t errsz);

#endif
