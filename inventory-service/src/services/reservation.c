/*
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
 *   5. the per-order way (reserve_order), in the run's order: the common
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
#include "services/reservation.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/log.h"
#include "models/reservation.h"
#include "repositories/claims.h"
#include "repositories/outbox.h"
#include "repositories/published.h"
#include "services/stock.h"
#include "utils/crash.h"

/* The InventoryUpdated of the order's lines, by line; owned. */
typedef struct updates {
	char *event[EDA_EVENT_MAX_ITEMS];
} updates_t;

static void updates_clear(updates_t *u)
{
	for (size_t i = 0; i < EDA_EVENT_MAX_ITEMS; i++) {
		free(u->event[i]);
		u->event[i] = NULL;
	}
}

/* The non-NULL events of U into OUT (borrowed). Returns how many. */
static size_t updates_list(const updates_t *u, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < EDA_EVENT_MAX_ITEMS; i++)
		if (u->event[i] != NULL)
			out[n++] = u->event[i];
	return n;
}

static inv_stock_change_t reserve_change(const eda_event_t *ev, const char *order_id,
                                         const inv_line_t *l, char op[static INV_OP_MAX])
{
	inv_op_key(op, order_id, l->sku, "reserve");
	return (inv_stock_change_t){.sku = l->sku,
	                            .amount = -l->quantity,
	                            .kind = "reservation",
	                            .op = op,
	                            .order_id = order_id,
	                            .check_op_first = 1,
	                            .cause = ev};
}

static inv_stock_rc_t change(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                             const char *sku, int64_t delta, const char *what, const char *cause,
                             inv_ledger_entry_t *entry, char *err, size_t errsz)
{
	char op[INV_OP_MAX];
	inv_stock_change_t ch = {.sku = sku,
	                         .amount = delta,
	                         .kind = cause,
	                         .op = op,
	                         .order_id = order_id,
	                         .check_op_first = 1,
	                         .cause = ev};

	inv_op_key(op, order_id, sku, what);
	return inv_stock_apply(app, &ch, entry, err, errsz);
}

/* Releases line L of ORDER_ID if it was reserved. Returns 1 released (now or
 * before), 0 not reserved, -1 error. */
static int release_line(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                        const inv_ledger_entry_t *reserve, char *err, size_t errsz)
{
	inv_stock_rc_t rc = change(app, ev, order_id, reserve->sku, -reserve->delta, "release",
	                           "release", NULL, err, errsz);

	return rc == INV_STOCK_OK || rc == INV_STOCK_APPLIED ? 1 : -1;
}

/* The reservation entries of ORDER_ID into HELD: by the op keys of LINES
 * (answered by the op index) when the order's lines are known, else by a
 * query on order_id, which mongo-java-server answers by scanning the ledger.
 * Returns how many, or -1. */
static int held_by(const inv_app_t *app, const char *order_id, const inv_order_lines_t *lines,
                   inv_ledger_entry_t *held, char *err, size_t errsz)
{
	char ops[EDA_EVENT_MAX_ITEMS][INV_OP_MAX];
	const char *list[EDA_EVENT_MAX_ITEMS];

	if (lines == NULL)
		return inv_ledger_of_order(app->db, order_id, "reservation", held,
		                           EDA_EVENT_MAX_ITEMS, err, errsz);
	for (size_t i = 0; i < lines->n; i++) {
		inv_op_key(ops[i], order_id, lines->line[i].sku, "reserve");
		list[i] = ops[i];
	}
	return inv_ledger_of_ops(app->db, list, lines->n, held, EDA_EVENT_MAX_ITEMS, err, errsz);
}

/* The reservations of an order decided reserved, one per line of LINES
 * (with their quantities): every one of them landed before the decision. */
static int held_by_decision(const inv_order_lines_t *lines, inv_ledger_entry_t *held)
{
	for (size_t i = 0; i < lines->n; i++) {
		memset(&held[i], 0, sizeof(held[i]));
		memcpy(held[i].sku, lines->line[i].sku, sizeof(held[i].sku));
		held[i].delta = -lines->line[i].quantity;
	}
	return (int)lines->n;
}

/* Gives back every reservation ORDER_ID holds (LINES: its lines, or NULL when
 * unknown; RESERVED: LINES come from its reserved decision, quantities and
 * all, so the ledger need not be asked). RELEASED (may be NULL) gets the
 * lines. Returns how many, or -1. */
static int release_all(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                       const inv_order_lines_t *lines, bool reserved, inv_line_t *released,
                       char *err, size_t errsz)
{
	inv_ledger_entry_t held[EDA_EVENT_MAX_ITEMS];
	int n = reserved ? held_by_decision(lines, held)
	                 : held_by(app, order_id, lines, held, err, errsz);

	for (int i = 0; i < n; i++) {
		if (release_line(app, ev, order_id, &held[i], err, errsz) < 0)
			return -1;
		if (released != NULL) {
			memset(&released[i], 0, sizeof(released[i]));
			memcpy(released[i].sku, held[i].sku, sizeof(released[i].sku));
			released[i].quantity = -held[i].delta;
		}
	}
	return n;
}

static char *result_event(const eda_event_t *cause, const char *type, const char *order_id,
                          json_t *data)
{
	eda_event_t *ev = eda_event_new(INV_SOURCE, type, order_id, data, cause, NULL);
	char *s = eda_event_serialize(ev, NULL);

	eda_event_free(ev);
	return s;
}

/* Hands ROW's events (its result, then the InventoryUpdated it carries) to
 * the publisher. */
static void publish_row(const inv_app_t *app, const inv_outbox_row_t *row)
{
	const char *events[1 + EDA_EVENT_MAX_ITEMS];
	size_t n = 0;

	if (row->event == NULL || app->publish == NULL)
		return;
	events[n++] = row->event;
	for (size_t i = 0; i < row->nupdates && n < 1 + EDA_EVENT_MAX_ITEMS; i++)
		events[n++] = row->updates[i];
	app->publish(app->pub, INV_COLL_OUTBOX, row->id, events, n);
}

/* Publishes the outbox row ID unless its publication was acknowledged. */
static int finish(const inv_app_t *app, const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_pending_has(app->db, INV_COLL_OUTBOX, id, err, errsz);

	if (rc <= 0)
		return rc;
	rc = inv_outbox_get(app->db, id, &row, err, errsz);
	if (rc < 0)
		return -1;
	if (rc == 1)
		publish_row(app, &row);
	inv_outbox_row_clear(&row);
	return 0;
}

/* Redoes what a decided order still needs (compensation, publication).
 * LINES: the order's lines, or NULL when unknown. */
static int redo_decided(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                        const inv_order_lines_t *lines, const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(app->db, id, &row, err, errsz);

	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	if (strcmp(row.outcome, "failed") == 0 &&
	    release_all(app, ev, order_id, lines, false, NULL, err, errsz) < 0) {
		inv_outbox_row_clear(&row);
		return -1;
	}
	inv_outbox_row_clear(&row);
	return finish(app, id, err, errsz);
}

/* Fills available for the failing line and every line after it. */
static int note_shortages(const inv_app_t *app, inv_order_lines_t *lines, size_t from, char *err,
                          size_t errsz)
{
	for (size_t i = from; i < lines->n; i++) {
		inv_line_t *l = &lines->line[i];
		int64_t bal = 0;
		int rc = inv_stock_balance(app, l->sku, &bal, err, errsz);

		if (rc < 0)
			return -1;
		l->available = bal;
		if (rc == 0)
			l->state = INV_LINE_UNKNOWN;
		else if (bal < l->quantity && l->state != INV_LINE_TAKEN)
			l->state = INV_LINE_SHORT;
	}
	return 0;
}

/* Whether the outbox holds the decision of the order (PLACED) or its cancel
 * (CANCELLED), in one round trip. Returns 0 or -1. */
static int order_rows(const inv_app_t *app, const char *placed, const char *cancelled,
                      int *has_placed, int *has_cancelled, char *err, size_t errsz)
{
	const char *ids[2] = {placed, cancelled};
	inv_outbox_row_t rows[2];
	int found[2];

	if (inv_outbox_get_many(app->db, ids, 2, rows, found, err, errsz) != INV_REPO_OK)
		return -1;
	inv_outbox_row_clear(&rows[0]);
	inv_outbox_row_clear(&rows[1]);
	*has_placed = found[0];
	*has_cancelled = found[1];
	return 0;
}

/* Claims ORDER_ID (repositories/claims.h) before a write for it. Returns 1
 * when this claimed it (nothing of the order exists), 0 when it was claimed
 * before, -1 on failure. */
static int claim(const inv_app_t *app, const char *order_id, char *err, size_t errsz)
{
	int rc;

	if (inv_claims_insert(app->db, &order_id, 1, &rc, err, errsz) != INV_REPO_OK)
		return -1;
	if (rc == INV_REPO_OK)
		inv_crash_point("claim");
	return rc == INV_REPO_OK;
}

/* The InventoryUpdated of every reservation of the order appended via outbox
 * (some perhaps by an earlier delivery that died before D), into U. */
static int via_outbox_updates(const inv_app_t *app, const eda_event_t *ev,
                              const inv_order_lines_t *lines, updates_t *u, char *err, size_t errsz)
{
	inv_ledger_entry_t held[EDA_EVENT_MAX_ITEMS];
	int n = held_by(app, lines->order_id, lines, held, err, errsz);

	if (n < 0)
		return -1;
	updates_clear(u);
	for (int i = 0; i < n; i++) {
		char op[INV_OP_MAX];
		inv_line_t l = {.quantity = -held[i].delta};
		inv_stock_change_t ch;

		if (!held[i].via_outbox)
			continue;
		memcpy(l.sku, held[i].sku, sizeof(l.sku));
		ch = reserve_change(ev, lines->order_id, &l, op);
		/* Kept by line, as the batch keeps them. */
		for (size_t j = 0; j < lines->n; j++) {
			if (strcmp(lines->line[j].sku, held[i].sku) == 0 && u->event[j] == NULL) {
				u->event[j] = inv_stock_updated_event(&ch, &held[i]);
				break;
			}
		}
	}
	return 0;
}

/* Another delivery decided the order first (row ID). Every line this one
 * took in its batch (TOOK) whose InventoryUpdated the winner's row lacks
 * gets it into its own ledger entry and is published from there. */
static int orphans(const inv_app_t *app, const char *id, const inv_order_lines_t *lines,
                   const bool *took, const inv_ledger_entry_t *entries, updates_t *u, char *err,
                   size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(app->db, id, &row, err, errsz);

	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < lines->n; i++) {
		bool carried = false;

		if (!took[i] || u->event[i] == NULL)
			continue;
		/* One reservation per (order, SKU): an update of this SKU in
		 * the winner's row is the one of this entry. */
		for (size_t k = 0; k < row.nupdates && !carried; k++) {
			json_t *j = json_loads(row.updates[k], 0, NULL);
			const char *subject = json_string_value(json_object_get(j, "subject"));

			carried = subject != NULL && strcmp(subject, lines->line[i].sku) == 0;
			json_decref(j);
		}
		if (carried)
			continue;
		if (inv_ledger_attach_event(app->db, &entries[i], u->event[i], err, errsz) != 0) {
			inv_outbox_row_clear(&row);
			return -1;
		}
		if (app->publish != NULL)
			app->publish(app->pub, INV_COLL_LEDGER, entries[i].op,
			             (const char *const *)&u->event[i], 1);
	}
	inv_outbox_row_clear(&row);
	return 0;
}

/* Takes the lines not taken yet one by one, in order, until one is refused.
 * Lines found taken before that were appended via outbox get their
 * InventoryUpdated into U. Returns 1 when one was refused, 0, or -1. */
static int reserve_lines(const inv_app_t *app, const eda_event_t *ev, inv_order_lines_t *lines,
                         updates_t *u, char *err, size_t errsz)
{
	for (size_t i = 0; i < lines->n; i++) {
		inv_line_t *l = &lines->line[i];
		char op[INV_OP_MAX];
		inv_stock_change_t ch;
		inv_ledger_entry_t e;
		inv_stock_rc_t rc;

		if (l->state == INV_LINE_TAKEN)
			continue;
		ch = reserve_change(ev, lines->order_id, l, op);
		rc = inv_stock_apply(app, &ch, &e, err, errsz);
		switch (rc) {
		case INV_STOCK_APPLIED:
			if (e.via_outbox && u->event[i] == NULL)
				u->event[i] = inv_stock_updated_event(&ch, &e);
			/* fall through */
		case INV_STOCK_OK:
			l->state = INV_LINE_TAKEN;
			break;
		case INV_STOCK_SHORT:
		case INV_STOCK_TOO_MUCH:
		case INV_STOCK_UNKNOWN:
			l->state = rc == INV_STOCK_UNKNOWN ? INV_LINE_UNKNOWN : INV_LINE_SHORT;
			return note_shortages(app, lines, i, err, errsz) < 0 ? -1 : 1;
		default:
			return -1;
		}
	}
	return 0;
}

/* Reserves the order of EV. FRESH: this delivery claimed the order, so no
 * row of it existed when it did and there is nothing to look up; a row
 * written since by a concurrent delivery shows up as a duplicate D. */
static int reserve_order(const inv_app_t *app, const eda_event_t *ev, bool fresh, char *err,
                         size_t errsz)
{
	inv_order_lines_t lines;
	char placed[INV_OUTBOX_ID_MAX], cancelled[INV_OUTBOX_ID_MAX];
	const char *list[EDA_EVENT_MAX_ITEMS];
	inv_ledger_entry_t batch_entries[EDA_EVENT_MAX_ITEMS];
	bool took[EDA_EVENT_MAX_ITEMS] = {0};
	updates_t u = {0};
	int rc, failed, has_placed = 0, has_cancelled = 0;
	char *event = NULL;
	size_t nupd;

	if (inv_order_lines_from_placed(ev->data, &lines, err, errsz) < 0)
		return -1;
	inv_outbox_id(placed, lines.order_id, "placed");
	inv_outbox_id(cancelled, lines.order_id, "cancelled");
	if (!fresh &&
	    order_rows(app, placed, cancelled, &has_placed, &has_cancelled, err, errsz) < 0)
		return -1;
	if (has_cancelled) {
		eda_log(EDA_LOG_INFO, "order cancelled before placement: nothing reserved",
		        "order_id", lines.order_id, "event_id", ev->id, NULL);
		return 0;
	}
	if (has_placed)
		return redo_decided(app, ev, lines.order_id, &lines, placed, err, errsz);

	/* The common case in one insert; whatever the batch leaves (a shortage,
	 * a stale head, a redelivery) is judged line by line. */
	{
		inv_stock_change_t ch[EDA_EVENT_MAX_ITEMS];
		char ops[EDA_EVENT_MAX_ITEMS][INV_OP_MAX];

		for (size_t i = 0; i < lines.n; i++)
			ch[i] = reserve_change(ev, lines.order_id, &lines.line[i], ops[i]);
		if (inv_stock_apply_batch(app, ch, lines.n, batch_entries, took, u.event, err,
		                          errsz) < 0)
			goto fail;
		for (size_t i = 0; i < lines.n; i++)
			if (took[i])
				lines.line[i].state = INV_LINE_TAKEN;
	}
	failed = reserve_lines(app, ev, &lines, &u, err, errsz);
	if (failed < 0)
		goto fail;
	if (failed) {
		/* Lines past the refused one may hold entries of an earlier
		 * delivery: D must carry all of the order's via-outbox events. */
		if (via_outbox_updates(app, ev, &lines, &u, err, errsz) < 0)
			goto fail;
		event = result_event(ev, EDA_EVENT_INVENTORY_RESERVATION_FAILED, lines.order_id,
		                     inv_failed_data(&lines));
	} else {
		event = result_event(ev, EDA_EVENT_INVENTORY_RESERVED, lines.order_id,
		                     inv_reserved_data(&lines));
	}
	nupd = updates_list(&u, list);
	rc = inv_outbox_insert(app->db, placed, lines.order_id, failed ? "failed" : "reserved",
	                       event, list, nupd, err, errsz);
	if (rc == INV_REPO_ERR)
		goto fail;
	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	eda_log(EDA_LOG_INFO, failed ? "reservation failed" : "reserved", "order_id",
	        lines.order_id, "event_id", ev->id, NULL);
	if (rc == INV_REPO_OK && !failed) {
		/* Our row is the decision and we hold its events: publish them
		 * without reading the row back. */
		if (app->publish != NULL) {
			const char *events[1 + EDA_EVENT_MAX_ITEMS];

			events[0] = event;
			memcpy(events + 1, list, nupd * sizeof(*list));
			app->publish(app->pub, INV_COLL_OUTBOX, placed, events, 1 + nupd);
		}
		free(event);
		updates_clear(&u);
		return 0;
	}
	free(event);
	event = NULL;
	/* A duplicate means another delivery decided first: follow its row. */
	if (rc == INV_REPO_DUP &&
	    orphans(app, placed, &lines, took, batch_entries, &u, err, errsz) < 0)
		goto fail;
	updates_clear(&u);
	/* A failure still needs its compensation before its event goes out. */
	return redo_decided(app, ev, lines.order_id, &lines, placed, err, errsz);
fail:
	free(event);
	updates_clear(&u);
	return -1;
}

int inv_reserve_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	int fresh;

	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX) {
		snprintf(err, errsz, "OrderPlaced without order_id");
		return -1;
	}
	fresh = claim(app, order_id, err, errsz);
	return fresh < 0 ? -1 : reserve_order(app, ev, fresh == 1, err, errsz);
}

/* The lines of ORDER_ID, with their quantities, as its decision row ROW
 * (outcome reserved) lists them in its InventoryReserved. Returns false when
 * they cannot be read. */
static bool reserved_lines(const inv_outbox_row_t *row, const char *order_id,
                           inv_order_lines_t *lines)
{
	json_t *j = row->event != NULL ? json_loads(row->event, 0, NULL) : NULL;
	json_t *items = json_object_get(json_object_get(j, "data"), "items"), *it;
	size_t i;
	bool ok = json_is_array(items) && json_array_size(items) <= EDA_EVENT_MAX_ITEMS;

	memset(lines, 0, sizeof(*lines));
	snprintf(lines->order_id, sizeof(lines->order_id), "%s", order_id);
	json_array_foreach(items, i, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		json_t *q = json_object_get(it, "quantity");

		if (!ok || sku == NULL || strlen(sku) > INV_SKU_MAX || !json_is_integer(q) ||
		    json_integer_value(q) <= 0) {
			ok = false;
			break;
		}
		snprintf(lines->line[lines->n].sku, sizeof(lines->line[0].sku), "%s", sku);
		lines->line[lines->n++].quantity = json_integer_value(q);
	}
	json_decref(j);
	return ok && lines->n > 0;
}

int inv_release_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char placed[INV_OUTBOX_ID_MAX], cancelled[INV_OUTBOX_ID_MAX];
	inv_line_t released[EDA_EVENT_MAX_ITEMS];
	inv_outbox_row_t row;
	char *event = NULL;
	int rc, fresh, n = 0;

	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX) {
		snprintf(err, errsz, "OrderCancelled without order_id");
		return -1;
	}
	/* A later OrderPlaced of this order (a redelivery) must find this
	 * cancel: its claim sends it to look. A claim of ours proves nothing
	 * of the order exists: nothing to release, nothing to look up. */
	fresh = claim(app, order_id, err, errsz);
	if (fresh < 0)
		return -1;
	inv_outbox_id(placed, order_id, "placed");
	inv_outbox_id(cancelled, order_id, "cancelled");
	/* A cancel handled before is handled again: its releases report
	 * "applied before" and its row is found as a duplicate below. */
	rc = fresh ? 0 : inv_outbox_get(app->db, placed, &row, err, errsz);
	if (rc < 0)
		return -1;
	/* A failed order was compensated already: it holds nothing. A reserved
	 * one holds the lines its InventoryReserved lists; without a decision
	 * (a redelivery after a crash in the middle of the reservation) the
	 * ledger is asked by order. */
	if (!fresh && (rc == 0 || strcmp(row.outcome, "failed") != 0)) {
		inv_order_lines_t lines;
		bool known = rc == 1 && reserved_lines(&row, order_id, &lines);

		n = release_all(app, ev, order_id, known ? &lines : NULL, known, released, err,
		                errsz);
		if (n < 0) {
			inv_outbox_row_clear(&row);
			return -1;
		}
	}
	if (!fresh)
		inv_outbox_row_clear(&row);
	if (n > 0)
		event = result_event(ev, EDA_EVENT_INVENTORY_RELEASED, order_id,
		                     inv_released_data(order_id, released, (size_t)n));
	rc = inv_outbox_insert(app->db, cancelled, order_id, n > 0 ? "released" : "nothing", event,
	                       NULL, 0, err, errsz);
	if (rc == INV_REPO_ERR) {
		free(event);
		return -1;
	}
	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	eda_log(EDA_LOG_INFO, n > 0 ? "released" : "cancel: nothing held", "order_id", order_id,
	        "event_id", ev->id, NULL);
	if (rc == INV_REPO_OK) {
		/* Our row, our event: publish it without reading the row back. */
		if (event != NULL && app->publish != NULL)
			app->publish(app->pub, INV_COLL_OUTBOX, cancelled,
			             (const char *const *)&event, 1);
		free(event);
		return 0;
	}
	free(event);
	return finish(app, cancelled, err, errsz);
}

/* One OrderPlaced of a batch. */
typedef struct staged {
	const eda_event_t *ev;
	inv_order_lines_t lines;
	char placed[INV_OUTBOX_ID_MAX];
	bool slow;    /* left to reserve_order */
	bool fresh;   /* claimed by this batch */
	size_t first; /* its entries in the batch's chain: [first, first + lines.n) */
	updates_t u;  /* their InventoryUpdated, by line */
	char *event;  /* its InventoryReserved */
} staged_t;

/* Claims the orders of S in one insert (repositories/claims.h): one claimed
 * before (decided, cancelled, or begun by a delivery that died) goes the
 * slow way, which follows what it holds. */
static int claim_all(const inv_app_t *app, staged_t *s, size_t n, char *err, size_t errsz)
{
	const char **ids = eda_xcalloc(n + 1, sizeof(*ids));
	int *rcs = eda_xcalloc(n + 1, sizeof(*rcs));
	size_t *who = eda_xcalloc(n + 1, sizeof(*who)), nids = 0;
	bool claimed = false;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		if (s[i].slow)
			continue;
		who[nids] = i;
		ids[nids++] = s[i].lines.order_id;
	}
	if (inv_claims_insert(app->db, ids, nids, rcs, err, errsz) != INV_REPO_OK)
		goto out;
	for (size_t j = 0; j < nids; j++) {
		s[who[j]].fresh = rcs[j] == INV_REPO_OK;
		s[who[j]].slow = !s[who[j]].fresh;
		claimed = claimed || s[who[j]].fresh;
	}
	if (claimed)
		inv_crash_point("claim");
	rc = 0;
out:
	free(who);
	free(rcs);
	free(ids);
	return rc;
}

/* The batch's view of the heads of every SKU its fast orders touch, from the
 * hints or the ledger (inv_stock_heads), into the table VIEW. */
static int view_heads(const inv_app_t *app, const staged_t *s, size_t n, size_t nlines,
                      inv_heads_t *view, char *err, size_t errsz)
{
	const char **skus = eda_xcalloc(nlines + 1, sizeof(*skus));
	inv_cached_stock_t *c = eda_xcalloc(nlines + 1, sizeof(*c));
	size_t nskus = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s[i].lines.n && !s[i].slow; k++) {
			const char *sku = s[i].lines.line[k].sku;
			int64_t v, b;

			if (inv_heads_get(view, sku, &v, &b))
				continue;
			inv_heads_put(view, sku, 0, 0); /* seen; version 0: no head yet */
			skus[nskus++] = sku;
		}
	}
	if (inv_stock_heads(app, skus, nskus, c, err, errsz) < 0)
		goto out;
	for (size_t j = 0; j < nskus; j++)
		inv_heads_put(view, skus[j], c[j].version, c[j].stock);
	rc = 0;
out:
	free(c);
	free(skus);
	return rc;
}

/* The entries of order S on the batch's VIEW of the heads, appended to
 * CHAIN (*NCHAIN grows), and VIEW moved past them. Returns false (nothing
 * changed) when the view refuses one of its lines. */
static bool chain_order(staged_t *s, inv_heads_t *view, inv_ledger_entry_t *chain, size_t *nchain)
{
	for (size_t k = 0; k < s->lines.n; k++) {
		char op[INV_OP_MAX];
		inv_stock_change_t ch =
		        reserve_change(s->ev, s->lines.order_id, &s->lines.line[k], op);
		inv_cached_stock_t head = {.sku = ch.sku};

		if (!inv_heads_get(view, ch.sku, &head.version, &head.stock) ||
		    !inv_stock_entry(&ch, &head, &chain[*nchain + k]))
			return false;
	}
	/* Lines are merged per SKU, so no two entries of one order share a
	 * SKU; the next order of the batch starts from these. */
	for (size_t k = 0; k < s->lines.n; k++) {
		const inv_ledger_entry_t *e = &chain[*nchain + k];

		inv_heads_put(view, e->sku, e->version, e->balance);
	}
	s->first = *nchain;
	*nchain += s->lines.n;
	return true;
}

/* Order S's entries landed: its InventoryUpdated events and its decision. */
static void decide_landed(staged_t *s, inv_ledger_entry_t *chain)
{
	for (size_t k = 0; k < s->lines.n; k++) {
		char op[INV_OP_MAX];
		inv_stock_change_t ch =
		        reserve_change(s->ev, s->lines.order_id, &s->lines.line[k], op);

		chain[s->first + k].via_outbox = true;
		s->lines.line[k].state = INV_LINE_TAKEN;
		s->u.event[k] = inv_stock_updated_event(&ch, &chain[s->first + k]);
	}
	s->event = result_event(s->ev, EDA_EVENT_INVENTORY_RESERVED, s->lines.order_id,
	                        inv_reserved_data(&s->lines));
}

/* Writes the decisions of the landed orders of S in one insert and hands
 * them to the publisher; an order another delivery decided first follows
 * that row, as inv_reserve_order does. Returns 0 or -1. */
static int write_decisions(const inv_app_t *app, staged_t *s, size_t n, inv_ledger_entry_t *chain,
                           char *err, size_t errsz)
{
	inv_outbox_new_t *rows = eda_xcalloc(n + 1, sizeof(*rows));
	const char *(*lists)[EDA_EVENT_MAX_ITEMS] = eda_xcalloc(n + 1, sizeof(*lists));
	size_t *who = eda_xcalloc(n + 1, sizeof(*who)), nrows = 0;
	int *rcs = eda_xcalloc(n + 1, sizeof(*rcs));
	bool stored = false;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		if (s[i].event == NULL)
			continue;
		who[nrows] = i;
		rows[nrows] = (inv_outbox_new_t){.id = s[i].placed,
		                                 .order_id = s[i].lines.order_id,
		                                 .outcome = "reserved",
		                                 .event = s[i].event,
		                                 .updates = lists[nrows],
		                                 .nupdates = updates_list(&s[i].u, lists[nrows])};
		nrows++;
	}
	if (nrows == 0)
		goto ok;
	/* A row of unknown fate fails the whole flush: every order is handled
	 * again, and the rerun finds what landed. */
	if (inv_outbox_insert_many(app->db, rows, nrows, rcs, err, errsz) != INV_REPO_OK)
		goto out;
	for (size_t j = 0; j < nrows && !stored; j++)
		stored = rcs[j] == INV_REPO_OK;
	if (stored)
		inv_crash_point("outbox-insert");
	for (size_t j = 0; j < nrows; j++) {
		staged_t *o = &s[who[j]];
		bool took[EDA_EVENT_MAX_ITEMS];

		if (rcs[j] == INV_REPO_OK) {
			eda_log(EDA_LOG_INFO, "reserved", "order_id", o->lines.order_id, "event_id",
			        o->ev->id, NULL);
			if (app->publish != NULL) {
				const char *events[1 + EDA_EVENT_MAX_ITEMS];

				events[0] = o->event;
				memcpy(events + 1, rows[j].updates,
				       rows[j].nupdates * sizeof(*rows[j].updates));
				app->publish(app->pub, INV_COLL_OUTBOX, o->placed, events,
				             1 + rows[j].nupdates);
			}
			continue;
		}
		/* Decided by another delivery in the meantime. */
		for (size_t k = 0; k < o->lines.n; k++)
			took[k] = true;
		if (orphans(app, o->placed, &o->lines, took, &chain[o->first], &o->u, err, errsz) <
		            0 ||
		    redo_decided(app, o->ev, o->lines.order_id, &o->lines, o->placed, err, errsz) <
		            0)
			goto out;
	}
ok:
	rc = 0;
out:
	free(rcs);
	free(who);
	free(lists);
	free(rows);
	return rc;
}

int inv_reserve_orders(const inv_app_t *app, const eda_event_t *const *evs, size_t n, char *err,
                       size_t errsz)
{
	staged_t *s = eda_xcalloc(n + 1, sizeof(*s));
	inv_ledger_entry_t *chain = NULL;
	inv_heads_t *view = NULL;
	size_t nlines = 0, nchain = 0, landed = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		s[i].ev = evs[i];
		if (inv_order_lines_from_placed(evs[i]->data, &s[i].lines, err, errsz) < 0)
			goto out;
		inv_outbox_id(s[i].placed, s[i].lines.order_id, "placed");
		nlines += s[i].lines.n;
		/* A second delivery of an order in the batch follows the first
		 * one's decision, after it. */
		for (size_t j = 0; j < i && !s[i].slow; j++)
			s[i].slow = strcmp(s[j].lines.order_id, s[i].lines.order_id) == 0;
	}
	if (claim_all(app, s, n, err, errsz) < 0)
		goto out;
	view = inv_heads_new(nlines + 1);
	if (view_heads(app, s, n, nlines, view, err, errsz) < 0)
		goto out;
	chain = eda_xcalloc(nlines + 1, sizeof(*chain));
	for (size_t i = 0; i < n; i++)
		if (!s[i].slow && !chain_order(&s[i], view, chain, &nchain))
			s[i].slow = true;
	/* One ordered insert for the whole chain: it stops at the first refused
	 * entry, so an entry computed from a refused predecessor never lands. */
	switch (inv_ledger_append_chain(app->db, chain, nchain, &landed, err, errsz)) {
	case INV_REPO_OK:
	case INV_REPO_DUP:
		break;
	default:
		goto out;
	}
	if (landed > 0) {
		inv_crash_point("ledger-append");
		inv_stock_landed(app, chain, landed);
	}
	/* An order with an entry at or past the refused one is judged again on
	 * the ledger (its landed entries, if any, count as taken there). */
	for (size_t i = 0; i < n; i++) {
		if (s[i].slow)
			continue;
		if (s[i].first + s[i].lines.n > landed)
			s[i].slow = true;
		else
			decide_landed(&s[i], chain);
	}
	if (write_decisions(app, s, n, chain, err, errsz) < 0)
		goto out;
	/* After the decisions are out: the cache is not on their way. */
	inv_stock_cache(app, chain, NULL, landed);
	for (size_t i = 0; i < n; i++)
		if (s[i].slow && reserve_order(app, s[i].ev, s[i].fresh, err, errsz) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		updates_clear(&s[i].u);
		free(s[i].event);
	}
	inv_heads_free(view);
	free(chain);
	free(s);
	return rc;
}
