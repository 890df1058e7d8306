/*
 * The stock ledger: every stock change of a SKU is one appended entry
 * {sku, version, balance, delta, kind, op, order_id, event}. The
 * entry with the highest version holds the SKU's balance. Two unique keys
 * make an append atomic on MongoDB and FerretDB alike: _id "<sku>@<version>"
 * refuses a second writer of the same (sku, version), op refuses a second
 * application of the same reservation, release or restock. `event` is the
 * serialized InventoryUpdated of the change, so the entry is also its own
 * outbox row (unless it was appended via_outbox, below), known by its op to
 * the pending markers (published.h) that its append writes first.
 * All queries on the ledger live here.
 */
#ifndef INV_LEDGER_H
#define INV_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/reservation.h"
#include "repositories/mongo.h"

typedef struct inv_ledger_entry {
	char sku[INV_SKU_MAX + 1];
	int64_t version;
	int64_t balance;
	int64_t delta;
	char kind[16]; /* "set", "restock", "reservation", "release" */
	char op[INV_OP_MAX];
	char order_id[INV_ORDER_ID_MAX + 1]; /* "" for admin changes */
	int64_t ts_ms;
	bool via_outbox; /* its InventoryUpdated travels in its order's outbox row */
} inv_ledger_entry_t;

/* The newest entry of SKU into *OUT. FROM is a version known to exist (the
 * products cache's) or 0: the head is then found by looking up the _ids
 * FROM, FROM+1, ... in windows, which the _id index answers, instead of by a
 * query on sku, which mongo-java-server answers by scanning the whole ledger
 * (its non-unique indexes are not used for queries). This relies on the
 * versions of a SKU being contiguous (each append is head + 1, see stock.c).
 * Far from FROM (more than a few windows past it, or FROM past the head), on
 * MongoDB the search doubles and halves its step by _id (no index serves a
 * query on sku there); on FerretDB, where every filtered read is a scan, one
 * query on sku does; anything unexpected asks that query too. Returns 1, 0
 * when SKU has none, or INV_REPO_ERR with ERR. */
int inv_ledger_head(inv_db_t *db, const char *sku, int64_t from, inv_ledger_entry_t *out, char *err,
                    size_t errsz);

/* The entry with op key OP. Returns 1, 0 or INV_REPO_ERR. */
int inv_ledger_find_op(inv_db_t *db, const char *op, inv_ledger_entry_t *out, char *err,
                       size_t errsz);

/* Appends E with EVENT (serialized InventoryUpdated, pending). Returns
 * INV_REPO_OK, INV_REPO_DUP (version or op taken) or INV_REPO_ERR. */
int inv_ledger_append(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                      size_t errsz);

/* Appends the N entries E with their EVENTS in one unordered insert. A NULL
 * EVENTS appends them without events, marked via_outbox: their
 * InventoryUpdated is the business of their order's outbox row. RCS[i]
 * gets INV_REPO_OK when entry i is durable, INV_REPO_DUP when a unique index
 * refused it, or INV_REPO_ERR when its fate is unknown (the whole insert
 * failed, or the server reported neither success nor a duplicate for it).
 * Returns INV_REPO_OK when every entry is OK or DUP, else INV_REPO_ERR with
 * ERR (some entries may still be durable: RCS says which are known to be). */
int inv_ledger_append_many(inv_db_t *db, const inv_ledger_entry_t *e, const char *const *events,
                           size_t n, int *rcs, char *err, size_t errsz);

/* Appends the N entries E without events (via_outbox) in one ORDERED insert,
 * which stops at the first entry a unique index refuses: *LANDED gets how
 * many entries, from the first, are durable; none after them is. Returns
 * INV_REPO_OK (all landed), INV_REPO_DUP (entry *LANDED was refused as a
 * duplicate) or INV_REPO_ERR with ERR (entry *LANDED failed otherwise, or
 * the insert failed as a whole: then *LANDED is 0 and the fate of every
 * entry is unknown). */
int inv_ledger_append_chain(inv_db_t *db, const inv_ledger_entry_t *e, size_t n, size_t *landed,
                            char *err, size_t errsz);

/* Up to MAX entries whose op key is one of the N in OPS (one query, answered
 * by the unique op index). Returns how many, or INV_REPO_ERR. */
int inv_ledger_of_ops(inv_db_t *db, const char *const *ops, size_t n, inv_ledger_entry_t *out,
                      size_t max, char *err, size_t errsz);

/* Gives entry E (appended via_outbox) its own EVENT to publish, for when no
 * outbox row will carry it. Returns INV_REPO_OK or INV_REPO_ERR. */
int inv_ledger_attach_event(inv_db_t *db, const inv_ledger_entry_t *e, const char *event, char *err,
                            size_t errsz);

/* Up to MAX entries of ORDER_ID with KIND, oldest first. Returns how many, or
 * INV_REPO_ERR. */
int inv_ledger_of_order(inv_db_t *db, const char *order_id, const char *kind,
                        inv_ledger_entry_t *out, size_t max, char *err, size_t errsz);

/* The _id of the entry (SKU, VERSION): "<sku>@<version>". */
void inv_ledger_id(char *out, size_t size, const char *sku, int64_t version);

#endif
