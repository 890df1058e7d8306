/*
 * Where the ledger's entries of an op are, kept so that every lookup by op
 * or by order is a lookup by _id (collection ledger_ops).
 *
 * The ledger's _id is "<sku>@<version>" (the optimistic concurrency rests on
 * it), so a lookup by op or by order_id would be a query on another field,
 * which FerretDB 1.24 answers by scanning the whole ledger (a `jsonb @>`
 * filter no index serves), a ledger that only grows. Before entries are
 * inserted, each group of them (the entries of one order and kind, or of one
 * admin op) gets an attempt record {_id: "<group>#<n>", e: [{s: sku, v:
 * version}, ...]} naming the versions they are about to take, n = 0, 1, ...
 * Records are only ever inserted, each checked by the unique _id, and record
 * n only once record n-1 exists, so the records of a group are #0 .. #k with
 * no gap. Every entry therefore has a record pointing at it, written before
 * it: a lookup reads #0, #1, ... until one is missing and then the entries
 * the records name, by _id; a record whose entry is missing or holds another
 * op is an attempt that lost its version or died before its insert. No
 * record means the op was never applied. A crash between the two writes
 * leaves only such a dead attempt, which costs one read.
 */
#ifndef INV_LEDGER_INDEX_H
#define INV_LEDGER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/database.h"
#include "models/reservation.h"
#include "repositories/ledger.h"

/* A group key: "<order_id>/<kind>" for an order's entries, else the op. */
#define INV_LEDGER_GROUP_MAX (INV_OP_MAX + 32)

/* One place an attempt recorded: entry VERSION of SKU. */
typedef struct inv_ledger_slot {
	char sku[INV_SKU_MAX + 1];
	int64_t version;
} inv_ledger_slot_t;

/* The group key of an entry with OP, ORDER_ID ("" or NULL for admin ops)
 * and KIND into OUT. */
void inv_ledger_group(char out[static INV_LEDGER_GROUP_MAX], const char *op, const char *order_id,
                      const char *kind);

/* Records the attempt to insert the N entries E (each entry's sku, version,
 * op, order_id and kind are used), one record per group. PROBE: a group
 * whose record #0 exists takes the next free number; without PROBE such a
 * group is refused (its order was attempted by another delivery). NOTED[i]
 * is set when entry i's record is durable: only those may be inserted.
 * Returns INV_REPO_OK, or INV_REPO_ERR with ERR when a record's fate is
 * unknown (then none of the entries may be inserted). */
int inv_ledger_index_note(inv_db_t *db, const inv_ledger_entry_t *e, size_t n, bool probe,
                          bool *noted, char *err, size_t errsz);

/* The places the attempts of GROUP recorded for SKUS (N of them; NULL: any
 * SKU), each once, into *OUT (a new array the caller frees; NULL when
 * none). Returns how many, or INV_REPO_ERR (*OUT NULL). */
int inv_ledger_index_slots(inv_db_t *db, const char *group, const char *const *skus, size_t n,
                           inv_ledger_slot_t **out, char *err, size_t errsz);

#endif
