/*
 * The outbox of order results: one row per (order, kind) with _id
 * "<order id>/<kind>" (kind "placed" or "cancelled"), so inserting it is the
 * atomic decision of the order's outcome. A row carries the serialized result
 * event (or none, for a cancel that released nothing); the event is sent to
 * Kafka only after the row is durable, and a pending marker
 * (repositories/published.h), written before the row, says it still has to be.
 */
#ifndef INV_OUTBOX_H
#define INV_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "repositories/ledger.h"
#include "repositories/mongo.h"

#define INV_OUTBOX_ID_MAX (INV_ORDER_ID_MAX + 16)

typedef struct inv_outbox_row {
	char id[INV_OUTBOX_ID_MAX];
	char outcome[24]; /* "reserved", "failed", "released", "nothing" */
	char *event;      /* owned, NULL when there is none */
	char **updates;   /* owned: the InventoryUpdated of the order's ledger entries
	                     appended via_outbox (see ledger.h), published with EVENT */
	size_t nupdates;
} inv_outbox_row_t;

void inv_outbox_id(char out[static INV_OUTBOX_ID_MAX], const char *order_id, const char *kind);

/* Inserts a row, after its pending marker (published.h) when it has an
 * EVENT; EVENT may be NULL (then there is nothing to publish), and so may
 * UPDATES when NUPDATES is 0. Returns INV_REPO_OK, INV_REPO_DUP (the outcome
 * was decided before) or INV_REPO_ERR. */
int inv_outbox_insert(inv_db_t *db, const char *id, const char *order_id, const char *outcome,
                      const char *event, const char *const *updates, size_t nupdates, char *err,
                      size_t errsz);

/* One row for inv_outbox_insert_many (all borrowed). */
typedef struct inv_outbox_new {
	const char *id, *order_id, *outcome, *event;
	const char *const *updates;
	size_t nupdates;
} inv_outbox_new_t;

/* Inserts the N ROWS in one unordered insert. RCS[i] gets INV_REPO_OK
 * (stored), INV_REPO_DUP (a row with its _id exists: the outcome is decided,
 * perhaps by this very insert when the server's answer was unclear) or
 * INV_REPO_ERR (not stored). Returns INV_REPO_OK, or INV_REPO_ERR with ERR
 * when some row is ERR. */
int inv_outbox_insert_many(inv_db_t *db, const inv_outbox_new_t *rows, size_t n, int *rcs,
                           char *err, size_t errsz);

/* Reads row ID into *ROW (free with inv_outbox_row_clear). Returns 1, 0 or
 * INV_REPO_ERR. */
int inv_outbox_get(inv_db_t *db, const char *id, inv_outbox_row_t *row, char *err, size_t errsz);

/* Reads the rows with the N ids IDS in one query by _id: ROWS[i] gets row
 * IDS[i] (clear each with inv_outbox_row_clear) and FOUND[i] 1 or 0. Returns
 * INV_REPO_OK or INV_REPO_ERR (then every row is clear). */
int inv_outbox_get_many(inv_db_t *db, const char *const *ids, size_t n, inv_outbox_row_t *rows,
                        int *found, char *err, size_t errsz);

void inv_outbox_row_clear(inv_outbox_row_t *row);

#endif
