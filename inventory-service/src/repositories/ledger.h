/*
 * The stock ledger: every stock change of a SKU is one appended entry
 * {sku, version, balance, delta, kind, op, order_id, event, published}. The
 * entry with the highest version holds the SKU's balance. Two unique indexes
 * make an append atomic on MongoDB and FerretDB alike: (sku, version) refuses a
 * second writer of the same version, op refuses a second application of the
 * same reservation, release or restock. `event` is the serialized
 * InventoryUpdated of the change, so the entry is also its own outbox row.
 * All queries on the ledger live here.
 */
#ifndef INV_LEDGER_H
#define INV_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/database.h"
#include "models/reservation.h"

enum {
	INV_REPO_OK = 0,
	INV_REPO_ERR = -1, /* the database failed (transient: retry later) */
	INV_REPO_DUP = -2, /* a unique index refused the insert */
};

typedef struct inv_ledger_entry {
	char sku[INV_SKU_MAX + 1];
	int64_t version;
	int64_t balance;
	int64_t delta;
	char kind[16]; /* "set", "restock", "reservation", "release" */
	char op[INV_OP_MAX];
	char order_id[INV_ORDER_ID_MAX + 1]; /* "" for admin changes */
	int64_t ts_ms;
} inv_ledger_entry_t;

/* The newest entry of SKU into *OUT. Returns 1, 0 when SKU has none, or
 * INV_REPO_ERR with ERR. */
int inv_ledger_head(inv_db_t *db, const char *sku, inv_ledger_entry_t *out, char *err,
                    size_t errsz);

/* The entry with op key OP. Returns 1, 0 or INV_REPO_ERR. */
int inv_ledger_find_op(inv_db_t *db, const char *op, inv_ledger_entry_t *out, char *err,
                       size_t errsz);

/* Appends E with EVENT (serialized InventoryUpdated, unpublished). Returns
 * INV_REPO_OK, INV_REPO_DUP (version or op taken) or INV_REPO_ERR. */
int inv_ledger_append(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                      size_t errsz);

/* Up to MAX entries of ORDER_ID with KIND, oldest first. Returns how many, or
 * INV_REPO_ERR. */
int inv_ledger_of_order(inv_db_t *db, const char *order_id, const char *kind,
                        inv_ledger_entry_t *out, size_t max, char *err, size_t errsz);

/* The _id of the entry (SKU, VERSION): "<sku>@<version>". */
void inv_ledger_id(char *out, size_t size, const char *sku, int64_t version);

#endif
