/*
 * Releases (services/reservation.h): an OrderCancelled gives back exactly
 * what its order holds, once; a failed reservation's compensation and a
 * decided order's unfinished work (inv_redo_decided) share the same release
 * entries, op key "<order>/<sku>/release", so nothing is given back twice.
 * The crash-point argument is at the top of services/reservation.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "repositories/claims.h"
#include "repositories/outbox.h"
#include "services/reservation.h"
#include "services/reservation_internal.h"
#include "utils/crash.h"

static inv_stock_rc_t change(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
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
	return inv_stock_apply(ctx, &ch, entry, err, errsz);
}

/* Releases line L of ORDER_ID if it was reserved. Returns 1 released (now or
 * before), 0 not reserved, -1 error. */
static int release_line(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                        const inv_ledger_entry_t *reserve, char *err, size_t errsz)
{
	inv_stock_rc_t rc = change(ctx, ev, order_id, reserve->sku, -reserve->delta, "release",
	                           "release", NULL, err, errsz);

	return rc == INV_STOCK_OK || rc == INV_STOCK_APPLIED ? 1 : -1;
}

/* The reservation entries of ORDER_ID into HELD: by the op keys of LINES
 * (answered by the op index) when the order's lines are known, else by a
 * query on order_id, which mongo-java-server answers by scanning the ledger.
 * Returns how many, or -1. */
int inv_held_by(const inv_ctx_t *ctx, const char *order_id, const inv_order_lines_t *lines,
                inv_ledger_entry_t *held, char *err, size_t errsz)
{
	char ops[EDA_EVENT_MAX_ITEMS][INV_OP_MAX];
	const char *list[EDA_EVENT_MAX_ITEMS];

	if (lines == NULL)
		return inv_ledger_of_order(ctx->db, order_id, "reservation", held,
		                           EDA_EVENT_MAX_ITEMS, err, errsz);
	for (size_t i = 0; i < lines->n; i++) {
		inv_op_key(ops[i], order_id, lines->line[i].sku, "reserve");
		list[i] = ops[i];
	}
	return inv_ledger_of_ops(ctx->db, list, lines->n, held, EDA_EVENT_MAX_ITEMS, err, errsz);
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
int inv_release_all(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                    const inv_order_lines_t *lines, bool reserved, inv_line_t *released, char *err,
                    size_t errsz)
{
	inv_ledger_entry_t held[EDA_EVENT_MAX_ITEMS];
	int n = reserved ? held_by_decision(lines, held)
	                 : inv_held_by(ctx, order_id, lines, held, err, errsz);

	for (int i = 0; i < n; i++) {
		if (release_line(ctx, ev, order_id, &held[i], err, errsz) < 0)
			return -1;
		if (released != NULL) {
			memset(&released[i], 0, sizeof(released[i]));
			memcpy(released[i].sku, held[i].sku, sizeof(released[i].sku));
			released[i].quantity = -held[i].delta;
		}
	}
	return n;
}

/* Redoes what a decided order still needs (compensation, publication).
 * LINES: the order's lines, or NULL when unknown. */
int inv_redo_decided(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                     const inv_order_lines_t *lines, const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(ctx->db, id, &row, err, errsz);

	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	if (strcmp(row.outcome, "failed") == 0 &&
	    inv_release_all(ctx, ev, order_id, lines, false, NULL, err, errsz) < 0) {
		inv_outbox_row_clear(&row);
		return -1;
	}
	inv_outbox_row_clear(&row);
	return inv_decision_finish(ctx, id, err, errsz);
}

/* Claims ORDER_ID (repositories/claims.h) before a write for it. Returns 1
 * when this claimed it (nothing of the order exists), 0 when it was claimed
 * before, -1 on failure. */
static int claim(const inv_ctx_t *ctx, const char *order_id, char *err, size_t errsz)
{
	int rc;

	if (inv_claims_insert(ctx->db, &order_id, 1, &rc, err, errsz) != INV_REPO_OK)
		return -1;
	if (rc == INV_REPO_OK)
		inv_crash_point("claim");
	return rc == INV_REPO_OK;
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

/* Releases what ORDER_ID holds into RELEASED (EDA_EVENT_MAX_ITEMS). FRESH:
 * this cancel claimed the order. Returns how many lines, or -1 with ERR. */
static int release_held(const inv_ctx_t *ctx, const eda_event_t *ev, const char *order_id,
                        bool fresh, inv_line_t *released, char *err, size_t errsz)
{
	char placed[INV_OUTBOX_ID_MAX];
	inv_outbox_row_t row = {0};
	int rc, n = 0;

	inv_outbox_id(placed, order_id, "placed");
	/* A cancel handled before is handled again: its releases report
	 * "applied before" and its row is found as a duplicate by the caller. */
	rc = fresh ? 0 : inv_outbox_get(ctx->db, placed, &row, err, errsz);
	if (rc < 0)
		return -1;
	/* A failed order was compensated already: it holds nothing. A reserved
	 * one holds the lines its InventoryReserved lists; without a decision
	 * (a redelivery after a crash in the middle of the reservation, or a
	 * purged one) the ledger is asked by order. */
	if (rc == 0 || strcmp(row.outcome, "failed") != 0) {
		inv_order_lines_t lines;
		bool known = rc == 1 && reserved_lines(&row, order_id, &lines);

		n = inv_release_all(ctx, ev, order_id, known ? &lines : NULL, known, released, err,
		                    errsz);
	}
	inv_outbox_row_clear(&row);
	return n;
}

int inv_release_order(const inv_ctx_t *ctx, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char cancelled[INV_OUTBOX_ID_MAX];
	inv_line_t released[EDA_EVENT_MAX_ITEMS];
	char *event = NULL;
	int rc, fresh, n;

	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX) {
		snprintf(err, errsz, "OrderCancelled without order_id");
		return -1;
	}
	/* A later OrderPlaced of this order (a redelivery) must find this
	 * cancel: its claim sends it to look. A claim of ours means either
	 * that nothing of the order exists, or that the retention purge took
	 * its claim and decision (a CONFIRMED order cancelled after
	 * RETENTION_SECONDS): the ledger, kept forever, tells which. Rare (the
	 * OrderPlaced comes first on the same partition), so its lookup costs
	 * little. */
	fresh = claim(ctx, order_id, err, errsz);
	if (fresh < 0)
		return -1;
	n = release_held(ctx, ev, order_id, fresh, released, err, errsz);
	if (n < 0)
		return -1;
	inv_outbox_id(cancelled, order_id, "cancelled");
	if (n > 0)
		event = inv_result_event(ev, EDA_EVENT_INVENTORY_RELEASED, order_id,
		                         inv_released_data(order_id, released, (size_t)n));
	rc = inv_outbox_insert(ctx->db, cancelled, order_id, n > 0 ? "released" : "nothing", event,
	                       NULL, 0, err, errsz);
	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	if (rc != INV_REPO_ERR)
		eda_log(EDA_LOG_INFO, n > 0 ? "released" : "cancel: nothing held", "order_id",
		        order_id, "event_id", ev->id, NULL);
	/* Our row, our event: publish it without reading the row back. */
	if (rc == INV_REPO_OK)
		inv_decision_publish(ctx, cancelled, event, NULL, 0);
	free(event);
	if (rc == INV_REPO_ERR)
		return -1;
	return rc == INV_REPO_OK ? 0 : inv_decision_finish(ctx, cancelled, err, errsz);
}
