/*
 * Reservations without transactions, on unique inserts only.
 *
 * Writes, in order, for an OrderPlaced of order O with lines (sku_i, q_i):
 *   R_i  ledger entry op "O/sku_i/reserve", delta -q_i   (one per line, in order)
 *   D    outbox row "O/placed" = the decision (reserved or failed) + its event
 *   C_i  on failure, ledger entry op "O/sku_i/release", delta +q_i for each R_i
 *   P    publish D's event, then mark D published (and each entry's
 *        InventoryUpdated likewise)
 * and for an OrderCancelled: X_i release entries for every R_i of O, then the
 * outbox row "O/cancelled" (with InventoryReleased, or without an event when
 * nothing was held), then its publication.
 *
 * Every write is an insert that a unique index accepts once (ledger op,
 * ledger (sku, version), outbox _id), so re-running a step is a no-op that
 * reports "applied before". The handler is re-run from the start when the
 * event is redelivered, and each crash point converges:
 *   - before D, after some R_i: no decision exists, so the rerun walks the
 *     lines again; taken lines report "applied before" and count as taken, so
 *     the order ends reserved if the rest fits, else failed with compensation.
 *     Nothing was published about the order yet, so either outcome is honest.
 *   - after D: the rerun finds D and never re-decides. If D says failed, it
 *     re-issues every C_i (those done report "applied before"), so a crash in
 *     the middle of the compensation is finished. Then P is redone unless D
 *     is marked published.
 *   - after P, before the mark: the event is sent again with the same event
 *     id (at-least-once on the wire, deduplicable by id).
 * The offset is stored only after the handler returns, i.e. after D (and all
 * C_i) are durable; the event itself is durable in the outbox, so Kafka being
 * down only delays P. A cancel processed before the OrderPlaced (a
 * redelivery) leaves its row "O/cancelled", and an OrderPlaced that finds it
 * reserves nothing. Compensations and cancel releases share the op key
 * "O/sku/release", so a cancel after a failed order releases nothing twice.
 */
#include "services/reservation.h"

#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "models/reservation.h"
#include "repositories/outbox.h"
#include "services/stock.h"
#include "utils/crash.h"

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

/* Gives back every reservation ORDER_ID holds. RELEASED (may be NULL) gets
 * the lines. Returns how many, or -1. */
static int release_all(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                       inv_line_t *released, char *err, size_t errsz)
{
	inv_ledger_entry_t held[EDA_EVENT_MAX_ITEMS];
	int n = inv_ledger_of_order(app->db, order_id, "reservation", held, EDA_EVENT_MAX_ITEMS,
	                            err, errsz);

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

/* Publishes the outbox row ID unless it is marked already. */
static int finish(const inv_app_t *app, const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(app->db, id, &row, err, errsz);

	if (rc < 0)
		return -1;
	if (rc == 1 && !row.published && row.event != NULL && app->publish != NULL)
		app->publish(app->pub, INV_COLL_OUTBOX, row.id, row.event);
	inv_outbox_row_clear(&row);
	return 0;
}

/* Redoes what a decided order still needs (compensation, publication). */
static int redo_decided(const inv_app_t *app, const eda_event_t *ev, const char *order_id,
                        const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_outbox_get(app->db, id, &row, err, errsz);

	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	if (strcmp(row.outcome, "failed") == 0 &&
	    release_all(app, ev, order_id, NULL, err, errsz) < 0) {
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

int inv_reserve_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz)
{
	inv_order_lines_t lines;
	char placed[INV_OUTBOX_ID_MAX], cancelled[INV_OUTBOX_ID_MAX];
	inv_outbox_row_t row;
	size_t i;
	int rc, failed = 0;
	char *event;
	const char *outcome;

	if (inv_order_lines_from_placed(ev->data, &lines, err, errsz) < 0)
		return -1;
	inv_outbox_id(placed, lines.order_id, "placed");
	inv_outbox_id(cancelled, lines.order_id, "cancelled");
	rc = inv_outbox_get(app->db, cancelled, &row, err, errsz);
	inv_outbox_row_clear(&row);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		eda_log(EDA_LOG_INFO, "order cancelled before placement: nothing reserved",
		        "order_id", lines.order_id, "event_id", ev->id, NULL);
		return 0;
	}
	rc = inv_outbox_get(app->db, placed, &row, err, errsz);
	inv_outbox_row_clear(&row);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return redo_decided(app, ev, lines.order_id, placed, err, errsz);

	for (i = 0; i < lines.n && !failed; i++) {
		inv_line_t *l = &lines.line[i];
		inv_ledger_entry_t e;

		switch (change(app, ev, lines.order_id, l->sku, -l->quantity, "reserve",
		               "reservation", &e, err, errsz)) {
		case INV_STOCK_OK:
		case INV_STOCK_APPLIED:
			l->state = INV_LINE_TAKEN;
			break;
		case INV_STOCK_SHORT:
		case INV_STOCK_TOO_MUCH:
			l->state = INV_LINE_SHORT;
			failed = 1;
			if (note_shortages(app, &lines, i, err, errsz) < 0)
				return -1;
			break;
		case INV_STOCK_UNKNOWN:
			l->state = INV_LINE_UNKNOWN;
			failed = 1;
			if (note_shortages(app, &lines, i, err, errsz) < 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (failed) {
		event = result_event(ev, EDA_EVENT_INVENTORY_RESERVATION_FAILED, lines.order_id,
		                     inv_failed_data(&lines));
		outcome = "failed";
	} else {
		event = result_event(ev, EDA_EVENT_INVENTORY_RESERVED, lines.order_id,
		                     inv_reserved_data(&lines));
		outcome = "reserved";
	}
	rc = inv_outbox_insert(app->db, placed, lines.order_id, outcome, event, err, errsz);
	free(event);
	if (rc == INV_REPO_ERR)
		return -1;
	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	/* A duplicate means another delivery decided first: follow its row. */
	eda_log(EDA_LOG_INFO, failed ? "reservation failed" : "reserved", "order_id",
	        lines.order_id, "event_id", ev->id, NULL);
	return redo_decided(app, ev, lines.order_id, placed, err, errsz);
}

int inv_release_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
	char placed[INV_OUTBOX_ID_MAX], cancelled[INV_OUTBOX_ID_MAX];
	inv_line_t released[EDA_EVENT_MAX_ITEMS];
	inv_outbox_row_t row;
	char *event = NULL;
	int rc, n = 0;

	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX) {
		snprintf(err, errsz, "OrderCancelled without order_id");
		return -1;
	}
	inv_outbox_id(placed, order_id, "placed");
	inv_outbox_id(cancelled, order_id, "cancelled");
	rc = inv_outbox_get(app->db, cancelled, &row, err, errsz);
	inv_outbox_row_clear(&row);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return finish(app, cancelled, err, errsz);
	rc = inv_outbox_get(app->db, placed, &row, err, errsz);
	if (rc < 0)
		return -1;
	/* A failed order was compensated already: it holds nothing. */
	if (rc == 0 || strcmp(row.outcome, "failed") != 0) {
		n = release_all(app, ev, order_id, released, err, errsz);
		if (n < 0) {
			inv_outbox_row_clear(&row);
			return -1;
		}
	}
	inv_outbox_row_clear(&row);
	if (n > 0)
		event = result_event(ev, EDA_EVENT_INVENTORY_RELEASED, order_id,
		                     inv_released_data(order_id, released, (size_t)n));
	rc = inv_outbox_insert(app->db, cancelled, order_id, n > 0 ? "released" : "nothing", event,
	                       err, errsz);
	free(event);
	if (rc == INV_REPO_ERR)
		return -1;
	if (rc == INV_REPO_OK)
		inv_crash_point("outbox-insert");
	eda_log(EDA_LOG_INFO, n > 0 ? "released" : "cancel: nothing held", "order_id", order_id,
	        "event_id", ev->id, NULL);
	return finish(app, cancelled, err, errsz);
}
