/*
 * Reactions to an order's events: reserve all of an OrderPlaced's items or
 * none, and release what an OrderCancelled's order holds. Both are idempotent
 * per order, however often and wherever the event is redelivered. Built in
 * four files (services/reservation_internal.h says which calls which):
 * reserve_batch.c (the group commit below), reserve.c (the per-order way),
 * release.c (cancels, compensations) and decision.c (the decision rows).
 *
 * Reservations without transactions, on unique inserts only.
 *
 * Writes, in order, for an OrderPlaced of order O with lines (sku_i, q_i):
 *   K    the claim of O (repositories/claims.h); inserted once, so an insert
 *        that succeeds proves no other write of O exists
 *   R_i  ledger entry op "O/sku_i/reserve", delta -q_i
 *   M    the pending marker of D (repositories/published.h), written just
 *        before it: no row with events exists without its marker
 *   D    outbox row "O/placed" = the decision (reserved or failed) + its event
 *        + the InventoryUpdated of every R_i appended "via outbox" (below)
 *   C_i  on failure, ledger entry op "O/sku_i/release", delta +q_i for each R_i
 *   P    publish D's events, then mark D published by deleting M (an entry
 *        that carries its own InventoryUpdated has its own marker, keyed by
 *        its op and written before it, and is published likewise)
 * and for an OrderCancelled: K (or finding it claimed), X_i release entries
 * for every R_i of O, then the outbox row "O/cancelled" (with its marker and
 * InventoryReleased, or without either when nothing was held), then its
 * publication.
 *
 * Group commit (inv_reserve_orders). The consumer stages its OrderPlaced
 * and OrderCancelled (events/consumers.c) and at its flush hands the runs of
 * OrderPlaced between two cancels here, each cancel alone in between, so a
 * cancel is applied after the placements staged before it. For a run:
 *   1. one insert of the claims K of all its orders; an order claimed
 *      before, or that appears twice in the run, goes the per-order way
 *      (step 5), which looks up its "placed" and "cancelled" rows. A claim
 *      insert costs what a lookup by _id would on MongoDB, and FerretDB
 *      answers such a lookup by scanning the whole outbox;
 *   2. the others are decided in turn on a view of the heads (this process's
 *      hints, read from the ledger when missing) that each order moves past
 *      its own entries, so a later order of the run sees the earlier ones:
 *      an order that fits gets R_i at view + 1; one that does not (short,
 *      unknown SKU) goes the per-order way and leaves the view as it was;
 *   3. all those R_i go in ONE ORDERED insert (via outbox, no event). Entries
 *      of one SKU form a chain inside the run (v+1 of one order, v+2 of the
 *      next, computed from v+1), so nothing may land past a refused entry:
 *      if another process took v+1, an insert that went on would store our
 *      v+2, a balance computed from a state that never existed. The ordered
 *      insert stops at the first refusal (tests/test_batch.c checks that the
 *      server does): the orders whose entries all landed are decided
 *      reserved, the one holding the refused entry and every later one go
 *      the per-order way; their landed R_i, if any, count as taken there;
 *   4. one insert of the D rows of the orders decided reserved, then their
 *      publication; a D refused as a duplicate (another delivery decided
 *      first) is followed as below;
 *   5. the per-order way (inv_reserve_one), in the run's order: the common
 *      case takes every R_i in one unordered insert at the heads this process
 *      knows (inv_stock_apply_batch), which is safe because the entries of
 *      one order are on distinct SKUs (no chain); whatever that does not
 *      settle (a shortage, a stale head, a redelivery) is judged line by
 *      line on the ledger (inv_stock_apply), in order, stopping at the first
 *      refusal; those entries carry their own event.
 * The flush returns 0 only when step 5 finished for every order, i.e. every
 * D (and every C_i) of the batch is durable; only then does the consumer
 * store the batch's offsets. Any failure drops the batch and the consumer
 * hands every message of it back: everything below makes that harmless.
 *
 * Every write is an insert that a unique index accepts once (ledger op,
 * ledger (sku, version), outbox _id), so re-running a step is a no-op that
 * reports "applied before". Each order is re-run from the start when its
 * event is redelivered (a crash, a failed flush), and each crash point
 * converges:
 *   - after K, before any R_i: the rerun finds O claimed, looks for its rows,
 *     finds none and decides it as new;
 *   - before D, after some R_i: no decision exists, so the rerun (in a batch,
 *     step 3 refuses the R_i already there by their op key, and the order
 *     goes the per-order way) walks the lines again; taken lines report
 *     "applied before" and count as taken, so the order ends reserved if the
 *     rest fits, else failed with compensation. Nothing was published about
 *     the order yet, so either outcome is honest. An R_i appended via outbox
 *     has had no event published and none stored; the rerun rebuilds it from
 *     the entry into its D (for a failure, D takes those of every R_i of O,
 *     found by their op keys).
 *   - after D: the rerun finds O claimed, then D, and never re-decides. If D says
 *     failed, it re-issues every C_i (those done report "applied before"),
 *     so a crash in the middle of the compensation is finished. Then P is
 *     redone while M exists.
 *   - after M, before D: the rerun decides O as above and finds M there
 *     already; a marker whose row never comes is dropped by the scan at a
 *     later start once it is old.
 *   - after P, before the mark: the events are sent again with the same ids
 *     (at-least-once on the wire, deduplicable by id), by the rerun or, if
 *     none comes, by the scan of the markers at the next start.
 * An order all of whose R_i landed is only ever decided reserved, and a D is
 * written only for such an order (steps 3-4) or by the per-order way, which
 * holds every R_i it reports: no decision is written for an order whose
 * entries did not all land. The events are durable in the outbox, so Kafka
 * being down only delays P. A cancel processed before the OrderPlaced
 * (a redelivery) leaves its row "O/cancelled", and an OrderPlaced that finds
 * it reserves nothing. Compensations and cancel releases share the op key
 * "O/sku/release", so a cancel after a failed order releases nothing twice.
 * Only when two deliveries of O run at once (a partition moved while its old
 * owner was still busy) can D be decided by the other one after this one
 * appended R_i via outbox; such an R_i whose event the winner's D lacks gets
 * the event into its own entry and is published from there.
 */
#ifndef INV_RESERVATION_SERVICE_H
#define INV_RESERVATION_SERVICE_H

#include <stddef.h>

#include "eda/event.h"
#include "services/context.h"

/* Handles a validated OrderPlaced. Returns 0 once the outcome is durable (its
 * result event is then in the outbox), -1 with ERR on a transient failure. */
int inv_reserve_order(const inv_ctx_t *ctx, const eda_event_t *ev, char *err, size_t errsz);

/* Handles the N validated OrderPlaced EVS together (a consumer's group
 * commit): one insert of their claims, one ordered insert of the ledger
 * entries of every order the heads let through, one insert of their
 * decisions; every other order (decided before, a shortage, a conflict)
 * goes the per-order way afterwards (reserve.c). Returns 0 once the outcome of
 * every order is durable, -1 with ERR otherwise (some may be: handling them
 * again is harmless). */
int inv_reserve_orders(const inv_ctx_t *ctx, const eda_event_t *const *evs, size_t n, char *err,
                       size_t errsz);

/* Handles a validated OrderCancelled, likewise. */
int inv_release_order(const inv_ctx_t *ctx, const eda_event_t *ev, char *err, size_t errsz);

#endif
