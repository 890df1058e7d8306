/*
 * Retention of what only grows: the outbox's decision rows and the claims.
 * Both serve the idempotent path of a redelivery (a claim sends it to look,
 * the row is the decision it republishes with the same event id), so they
 * are kept for a retention at least as long as Kafka keeps the events that
 * could be delivered again, then deleted. The ledger is kept forever: its
 * unique op key is what refuses a reservation or release applied twice, so a
 * redelivery older than the retention still changes no stock (it is decided
 * again from the ledger and may publish its result a second time, with a new
 * event id, which the order service ignores for an order no longer pending).
 * The pending markers hold only rows in flight (repositories/published.h).
 */
#ifndef INV_RETENTION_H
#define INV_RETENTION_H

#include <stdint.h>

#include "repositories/mongo.h"

/* Deletes the rows of COLLECTION (INV_COLL_OUTBOX or INV_COLL_CLAIMS) whose
 * ts is before CUTOFF_MS (ms since the epoch), except outbox rows still
 * waiting for their publication. Works in chunks, so a long backlog is
 * deleted a piece at a time. Returns how many rows went, or INV_REPO_ERR with
 * ERR (the chunks before the failure stay deleted). */
long inv_purge_older(inv_db_t *db, const char *collection, int64_t cutoff_ms, char *err,
                     size_t errsz);

#endif
