/*
 * What the three parts of the reservation service share, and nothing else
 * includes (the public face is services/reservation.h). Calls go one way:
 *   reserve_batch.c  group commit of OrderPlaced (inv_reserve_orders) and
 *                    inv_reserve_order; hands what the batch cannot settle to
 *   reserve.c        the per-order way of one OrderPlaced (inv_reserve_one);
 *                    a failed or already decided order goes on to
 *   release.c        releases: an OrderCancelled, a failure's compensation
 *                    and finishing a decided order (inv_redo_decided);
 *   decision.c       used by all three: an order's result event, the
 *                    InventoryUpdated its decision row carries, publishing it.
 */
#ifndef INV_RESERVATION_INTERNAL_H
#define INV_RESERVATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "eda/event.h"
#include "models/reservation.h"
#include "repositories/ledger.h"
#include "services/context.h"
#include "services/stock.h"

/* decision.c ------------------------------------------------------------ */

/* The InventoryUpdated of the order's lines, by line; owned. */
typedef struct inv_updates {
	char *event[EDA_EVENT_MAX_ITEMS];
} inv_updates_t;

/* Frees the events of U and empties it. */
void inv_updates_clear(inv_updates_t *u);

/* The non-NULL events of U into OUT (borrowed). Returns how many. */
size_t inv_updates_list(const inv_updates_t *u, const char **out);

/* The serialized event TYPE about ORDER_ID caused by CAUSE, with DATA
 * (taken). Owned by the caller. */
char *inv_result_event(const eda_event_t *cause, const char *type, const char *order_id,
                       json_t *data);

/* Hands the decision row ID that this process just wrote to the publisher:
 * its EVENT, then the N InventoryUpdated UPDATES it carries (all borrowed),
 * without reading the row back. Nothing when EVENT is NULL. */
void inv_decision_publish(const inv_ctx_t *ctx, const char *id, const char *event,
                          const char *const *updates, size_t n);

/* Publishes the outbox row ID unless its publication was acknowledged.
 * Returns 0 or -1 with ERR. */
int inv_decision_finish(const inv_ctx_t *ctx, const char *id, char *err, size_t errsz);

/* release.c ------------------------------------------------------------- */

/* The reservation entries of ORDER_ID into HELD (EDA_EVENT_MAX_ITEMS): by
 * the op keys of LINES when the order's lines are known, else by a query on
 * order_id. Returns how many, or -1 with ERR. */
int inv_held_by(const inv_ctx_t *ctx, const char *order_id, const inv_order_lines_t *lines,
                inv_ledger_entry_t *held, char *err, size_t errsz);

/* Gives back every reservation ORDER_ID holds (LINES: its lines, or NULL when
 * unknown; RESERVED: LINES come from its reserved decision, quantities and
 * all, so the ledger need not be asked). RELEASED (may be NULL) gets the
 * lines. Returns how many, or -1 with ERR. */
int inv_release_all(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                    const inv_order_lines_t *lines, bool reserved, inv_line_t *released, char *err,
                    size_t errsz);

/* Redoes what the order decided in outbox row ID still needs: a failure's
 * compensation, then the row's publication. LINES: the order's lines, or
 * NULL when unknown. Returns 0 or -1 with ERR. */
int inv_redo_decided(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                     const inv_order_lines_t *lines, const char *id, char *err, size_t errsz);

/* reserve.c ------------------------------------------------------------- */

/* The stock change that reserves line L of ORDER_ID for EV; OP is its key. */
inv_stock_change_t inv_reserve_change(const eda_event_t *ev, const char *order_id,
                                      const inv_line_t *l, char op[static INV_OP_MAX]);

/* Another delivery decided the order first (row ID). Every line this one
 * took in its batch (TOOK) whose InventoryUpdated the winner's row lacks
 * gets it into its own ledger entry (ENTRIES, by line) and is published
 * from there. Returns 0 or -1 with ERR. */
int inv_reserve_orphans(const inv_ctx_t *ctx, const char *id, const inv_order_lines_t *lines,
                        const bool *took, const inv_ledger_entry_t *entries, inv_updates_t *u,
                        char *err, size_t errsz);

/* The per-order way: reserves the order of EV, deciding it unless decided
 * before. FRESH: this delivery claimed the order, so no row of it existed
 * when it did and there is nothing to look up. STALE: NULL, or the lines
 * whose price is not the catalogue's (services/prices.h): an undecided
 * order then fails with price_changed and takes nothing. Returns 0 once the
 * outcome is durable, -1 with ERR. */
int inv_reserve_one(const inv_ctx_t *ctx, const eda_event_t *ev, bool fresh, json_t *stale,
                    char *err, size_t errsz);

#endif
