/*
 * The per-order way of an OrderPlaced (services/reservation.h): what a
 * batch (reserve_batch.c) cannot settle in its one insert, i.e. an order
 * claimed before, a shortage, a stale head or a price that changed. Lines
 * are taken at the heads in one unordered insert, then one by one on the
 * ledger until one is refused; the decision row then records the outcome
 * and a failure is compensated (release.c). The crash-point argument is at
 * the top of services/reservation.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "repositories/outbox.h"
#include "services/reservation_internal.h"
#include "utils/crash.h"

inv_stock_change_t inv_reserve_change(const eda_event_t *ev, const char *order_id,
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

/* Fills available for the failing line and every line after it. */
static int note_shortages(const inv_ctx_t *ctx, inv_order_lines_t *lines, size_t from, char *err,
                          size_t errsz)
{
	for (size_t i = from; i < lines->n; i++) {
		inv_line_t *l = &lines->line[i];
		int64_t bal = 0;
		int rc = inv_stock_balance(ctx, l->sku, &bal, err, errsz);

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
static int order_rows(const inv_ctx_t *ctx, const char *placed, const char *cancelled,
                      int *has_placed, int *has_cancelled, char *err, size_t errsz)
{
	const char *ids[2] = {placed, cancelled};
	inv_outbox_row_t rows[2];
	int found[2];

	if (inv_outbox_get_many(ctx->db, ids, 2, rows, found, err, errsz) != INV_REPO_OK)
		return -1;
	inv_outbox_row_clear(&rows[0]);
	inv_outbox_row_clear(&rows[1]);
	*has_placed = found[0];
	*has_cancelled = found[1];
	return 0;
}

/* The InventoryUpdated of every reservation of the order appended via outbox
 * (some perhaps by an earlier delivery that died before D), into U. */
static int via_outbox_updates(const inv_ctx_t *ctx, const eda_event_t *ev,
                              const inv_order_lines_t *lines, inv_updates_t *u, char *err,
                              size_t errsz)
{
	inv_ledger_entry_t held[EDA_EVENT_MAX_ITEMS];
	int n = inv_held_by(ctx, lines->order_id, lines, held, err, errsz);

	if (n < 0)
		return -1;
	inv_updates_clear(u);
	for (int i = 0; i < n; i++) {
		char op[INV_OP_MAX];
		inv_line_t l = {.quantity = -held[i].delta};
		inv_stock_change_t ch;

		if (!held[i].via_outbox)
			continue;
		memcpy(l.sku, held[i].sku, sizeof(l.sku));
		ch = inv_reserve_change(ev, lines->order_id, &l, op);
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
int inv_reserve_orphans(const inv_ctx_t *ctx, const char *id, const inv_order_lines_t *lines,
                        const bool *took, const inv_ledger_entry_t *entries, inv_updates_t *u,
                        char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(ctx->db, id, &row, err, errsz);

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
		if (inv_ledger_attach_event(ctx->db, &entries[i], u->event[i], err, errsz) != 0) {
			inv_outbox_row_clear(&row);
			return -1;
		}
		if (ctx->publish != NULL)
			ctx->publish(ctx->pub, INV_COLL_LEDGER, entries[i].op,
			             (const char *const *)&u->event[i], 1);
	}
	inv_outbox_row_clear(&row);
	return 0;
}

/* Takes the lines not taken yet one by one, in order, until one is refused.
 * Lines found taken before that were appended via outbox get their
 * InventoryUpdated into U. Returns 1 when one was refused, 0, or -1. */
static int reserve_lines(const inv_ctx_t *ctx, const eda_event_t *ev, inv_order_lines_t *lines,
                         inv_updates_t *u, char *err, size_t errsz)
{
	for (size_t i = 0; i < lines->n; i++) {
		inv_line_t *l = &lines->line[i];
		char op[INV_OP_MAX];
		inv_stock_change_t ch;
		inv_ledger_entry_t e;
		inv_stock_rc_t rc;

		if (l->state == INV_LINE_TAKEN)
			continue;
		ch = inv_reserve_change(ev, lines->order_id, l, op);
		rc = inv_stock_apply(ctx, &ch, &e, err, errsz);
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
			return note_shortages(ctx, lines, i, err, errsz) < 0 ? -1 : 1;
		default:
			return -1;
		}
	}
	return 0;
}

/* What one delivery of an order took: the entries its one insert landed (by
 * line), which lines those are, and the InventoryUpdated its decision row
 * carries (by line). */
typedef struct taken {
	inv_ledger_entry_t entries[EDA_EVENT_MAX_ITEMS];
	bool took[EDA_EVENT_MAX_ITEMS];
	inv_updates_t u;
} taken_t;

/* Takes the lines of LINES: the common case in one insert; whatever that
 * leaves (a shortage, a stale head, a redelivery) is judged line by line.
 * *EVENT gets the result event (owned). Returns 1 when the order failed, 0
 * when it is reserved, -1 with ERR. */
static int take_lines(const inv_ctx_t *ctx, const eda_event_t *ev, inv_order_lines_t *lines,
                      taken_t *t, char **event, char *err, size_t errsz)
{
	inv_stock_change_t ch[EDA_EVENT_MAX_ITEMS];
	char ops[EDA_EVENT_MAX_ITEMS][INV_OP_MAX];
	int failed;

	for (size_t i = 0; i < lines->n; i++)
		ch[i] = inv_reserve_change(ev, lines->order_id, &lines->line[i], ops[i]);
	if (inv_stock_apply_batch(ctx, ch, lines->n, t->entries, t->took, t->u.event, err, errsz) <
	    0)
		return -1;
	for (size_t i = 0; i < lines->n; i++)
		if (t->took[i])
			lines->line[i].state = INV_LINE_TAKEN;
	failed = reserve_lines(ctx, ev, lines, &t->u, err, errsz);
	if (failed < 0)
		return -1;
	if (failed) {
		/* Lines past the refused one may hold entries of an earlier
		 * delivery: D must carry all of the order's via-outbox events. */
		if (via_outbox_updates(ctx, ev, lines, &t->u, err, errsz) < 0)
			return -1;
		*event = inv_result_event(ev, EDA_EVENT_INVENTORY_RESERVATION_FAILED,
		                          lines->order_id, inv_failed_data(lines));
	} else {
		*event = inv_result_event(ev, EDA_EVENT_INVENTORY_RESERVED, lines->order_id,
		                          inv_reserved_data(lines));
	}
	return failed;
}

/* Writes the decision of LINES (FAILED or reserved; EVENT, taken, is its
 * result) as the outbox row PLACED and publishes it; when another delivery
 * decided first, follows that row instead. Returns 0 once the outcome is
 * durable, -1 with ERR. */
static int store_decision(const inv_ctx_t *ctx, const eda_event_t *ev,
                          const inv_order_lines_t *lines, const char *placed, bool failed,
                          char *event, taken_t *t, char *err, size_t errsz)
{
	const char *list[EDA_EVENT_MAX_ITEMS];
	size_t nupd = inv_updates_list(&t->u, list);
	int rc = inv_outbox_insert(ctx->db, placed, lines->order_id, failed ? "failed" : "reserved",
	                           event, list, nupd, err, errsz);

	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	if (rc != INV_REPO_ERR)
		eda_log(EDA_LOG_INFO, failed ? "reservation failed" : "reserved", "order_id",
		        lines->order_id, "event_id", ev->id, NULL);
	/* Our row is the decision and we hold its events: publish them without
	 * reading the row back. */
	if (rc == INV_REPO_OK && !failed)
		inv_decision_publish(ctx, placed, event, list, nupd);
	free(event);
	if (rc == INV_REPO_ERR)
		return -1;
	if (rc == INV_REPO_OK && !failed)
		return 0;
	/* A duplicate means another delivery decided first: follow its row. */
	if (rc == INV_REPO_DUP &&
	    inv_reserve_orphans(ctx, placed, lines, t->took, t->entries, &t->u, err, errsz) < 0)
		return -1;
	/* A failure still needs its compensation before its event goes out. */
	return inv_redo_decided(ctx, ev, lines->order_id, lines, placed, err, errsz);
}

int inv_reserve_one(const inv_ctx_t *ctx, const eda_event_t *ev, bool fresh, json_t *stale,
                    char *err, size_t errsz)
{
	inv_order_lines_t lines;
	char placed[INV_OUTBOX_ID_MAX], cancelled[INV_OUTBOX_ID_MAX];
	taken_t t = {0};
	int rc, failed, has_placed = 0, has_cancelled = 0;
	char *event = NULL;

	if (inv_order_lines_from_placed(ev->data, &lines, err, errsz) < 0)
		return -1;
	inv_outbox_id(placed, lines.order_id, "placed");
	inv_outbox_id(cancelled, lines.order_id, "cancelled");
	if (!fresh &&
	    order_rows(ctx, placed, cancelled, &has_placed, &has_cancelled, err, errsz) < 0)
		return -1;
	if (has_cancelled) {
		eda_log(EDA_LOG_INFO, "order cancelled before placement: nothing reserved",
		        "order_id", lines.order_id, "event_id", ev->id, NULL);
		return 0;
	}
	if (has_placed)
		return inv_redo_decided(ctx, ev, lines.order_id, &lines, placed, err, errsz);
	if (stale != NULL) {
		/* Entries an earlier delivery took are given back by the
		 * failure's compensation (inv_redo_decided, from store_decision);
		 * D carries their updates, as for any failure. */
		failed = 1;
		if (!fresh && via_outbox_updates(ctx, ev, &lines, &t.u, err, errsz) < 0)
			failed = -1;
		else
			event = inv_result_event(ev, EDA_EVENT_INVENTORY_RESERVATION_FAILED,
			                         lines.order_id,
			                         inv_price_changed_data(lines.order_id, stale));
	} else {
		failed = take_lines(ctx, ev, &lines, &t, &event, err, errsz);
	}
	/* store_decision takes EVENT; when nothing was decided there is none. */
	rc = failed < 0
	             ? -1
	             : store_decision(ctx, ev, &lines, placed, failed == 1, event, &t, err, errsz);
	inv_updates_clear(&t.u);
	return rc;
}
