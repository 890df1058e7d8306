/*
 * Group commit of OrderPlaced (inv_reserve_orders; services/reservation.h
 * has the steps and the crash-point argument): one insert of the batch's
 * claims, its orders decided in turn on a view of the heads, one ordered
 * insert of their ledger entries, one insert of their decisions. Whatever
 * the batch cannot settle goes the per-order way (reserve.c) afterwards.
 * inv_reserve_order is a batch of one, for its price check.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/log.h"
#include "repositories/claims.h"
#include "repositories/outbox.h"
#include "services/prices.h"
#include "services/reservation.h"
#include "services/reservation_internal.h"
#include "utils/crash.h"

int inv_reserve_order(const inv_ctx_t *ctx, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));

	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX) {
		snprintf(err, errsz, "OrderPlaced without order_id");
		return -1;
	}
	/* The batch's way, for its price check. */
	return inv_reserve_orders(ctx, &ev, 1, err, errsz);
}

/* One OrderPlaced of a batch. */
typedef struct staged {
	const eda_event_t *ev;
	inv_order_lines_t lines;
	char placed[INV_OUTBOX_ID_MAX];
	bool slow;       /* left to the per-order way (inv_reserve_one) */
	bool fresh;      /* claimed by this batch */
	size_t first;    /* its entries in the batch's chain: [first, first + lines.n) */
	inv_updates_t u; /* their InventoryUpdated, by line */
	char *event;     /* its InventoryReserved */
} staged_t;

/* Claims the orders of S in one insert (repositories/claims.h): one claimed
 * before (decided, cancelled, or begun by a delivery that died) goes the
 * slow way, which follows what it holds. */
static int claim_all(const inv_ctx_t *ctx, staged_t *s, size_t n, char *err, size_t errsz)
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
	if (inv_claims_insert(ctx->db, ids, nids, rcs, err, errsz) != INV_REPO_OK)
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
static int view_heads(const inv_ctx_t *ctx, const staged_t *s, size_t n, size_t nlines,
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
	if (inv_stock_heads(ctx, skus, nskus, c, err, errsz) < 0)
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
		        inv_reserve_change(s->ev, s->lines.order_id, &s->lines.line[k], op);
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
		        inv_reserve_change(s->ev, s->lines.order_id, &s->lines.line[k], op);

		chain[s->first + k].via_outbox = true;
		s->lines.line[k].state = INV_LINE_TAKEN;
		s->u.event[k] = inv_stock_updated_event(&ch, &chain[s->first + k]);
	}
	s->event = inv_result_event(s->ev, EDA_EVENT_INVENTORY_RESERVED, s->lines.order_id,
	                            inv_reserved_data(&s->lines));
}

/* Writes the decisions of the landed orders of S in one insert and hands
 * them to the publisher; an order another delivery decided first follows
 * that row, as the per-order way does. Returns 0 or -1. */
static int write_decisions(const inv_ctx_t *ctx, staged_t *s, size_t n, inv_ledger_entry_t *chain,
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
		rows[nrows] =
		        (inv_outbox_new_t){.id = s[i].placed,
		                           .order_id = s[i].lines.order_id,
		                           .outcome = "reserved",
		                           .event = s[i].event,
		                           .updates = lists[nrows],
		                           .nupdates = inv_updates_list(&s[i].u, lists[nrows])};
		nrows++;
	}
	if (nrows == 0)
		goto ok;
	/* A row of unknown fate fails the whole flush: every order is handled
	 * again, and the rerun finds what landed. */
	if (inv_outbox_insert_many(ctx->db, rows, nrows, rcs, err, errsz) != INV_REPO_OK)
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
			inv_decision_publish(ctx, o->placed, o->event, rows[j].updates,
			                     rows[j].nupdates);
			continue;
		}
		/* Decided by another delivery in the meantime. */
		for (size_t k = 0; k < o->lines.n; k++)
			took[k] = true;
		if (inv_reserve_orphans(ctx, o->placed, &o->lines, took, &chain[o->first], &o->u,
		                        err, errsz) < 0 ||
		    inv_redo_decided(ctx, o->ev, o->lines.order_id, &o->lines, o->placed, err,
		                     errsz) < 0)
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

/* Stages the N events EVS into S; *NLINES gets their lines in all. A second
 * delivery of an order in the batch follows the first one's decision, after
 * it. Returns 0, or -1 with ERR. */
static int stage(staged_t *s, const eda_event_t *const *evs, size_t n, size_t *nlines, char *err,
                 size_t errsz)
{
	for (size_t i = 0; i < n; i++) {
		s[i].ev = evs[i];
		if (inv_order_lines_from_placed(evs[i]->data, &s[i].lines, err, errsz) < 0)
			return -1;
		inv_outbox_id(s[i].placed, s[i].lines.order_id, "placed");
		*nlines += s[i].lines.n;
		for (size_t j = 0; j < i && !s[i].slow; j++)
			s[i].slow = strcmp(s[j].lines.order_id, s[i].lines.order_id) == 0;
	}
	return 0;
}

/* Chains the entries of the orders of S not left to the per-order way on
 * the batch's view of the heads into CHAIN (NLINES + 1 entries) and appends
 * them in one ordered insert; *LANDED gets how many landed. The orders all
 * of whose entries landed are decided reserved (decide_landed), the others
 * are left to the per-order way. Returns 0, or -1 with ERR. */
static int append_chain(const inv_ctx_t *ctx, staged_t *s, size_t n, size_t nlines,
                        inv_ledger_entry_t *chain, size_t *landed, char *err, size_t errsz)
{
	inv_heads_t *view = inv_heads_new(nlines + 1);
	size_t nchain = 0;
	int rc = -1;

	if (view_heads(ctx, s, n, nlines, view, err, errsz) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!s[i].slow && !chain_order(&s[i], view, chain, &nchain))
			s[i].slow = true;
	/* One ordered insert for the whole chain: it stops at the first refused
	 * entry, so an entry computed from a refused predecessor never lands. */
	switch (inv_ledger_append_chain(ctx->db, chain, nchain, landed, err, errsz)) {
	case INV_REPO_OK:
	case INV_REPO_DUP:
		break;
	default:
		goto out;
	}
	if (*landed > 0) {
		inv_crash_point("ledger-append");
		inv_stock_landed(ctx, chain, *landed);
	}
	/* An order with an entry at or past the refused one is judged again on
	 * the ledger (its landed entries, if any, count as taken there). */
	for (size_t i = 0; i < n; i++) {
		if (s[i].slow)
			continue;
		if (s[i].first + s[i].lines.n > *landed)
			s[i].slow = true;
		else
			decide_landed(&s[i], chain);
	}
	rc = 0;
out:
	inv_heads_free(view);
	return rc;
}

int inv_reserve_orders(const inv_ctx_t *ctx, const eda_event_t *const *evs, size_t n, char *err,
                       size_t errsz)
{
	staged_t *s = eda_xcalloc(n + 1, sizeof(*s));
	inv_ledger_entry_t *chain = NULL;
	json_t **stale = eda_xcalloc(n + 1, sizeof(*stale));
	size_t nlines = 0, landed = 0;
	int rc = -1;

	if (stage(s, evs, n, &nlines, err, errsz) < 0 || claim_all(ctx, s, n, err, errsz) < 0)
		goto out;
	/* After the claims: an order failed on its price is claimed like any. */
	if (inv_prices_check(ctx, evs, n, stale, err, errsz) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		s[i].slow = s[i].slow || stale[i] != NULL;
	chain = eda_xcalloc(nlines + 1, sizeof(*chain));
	if (append_chain(ctx, s, n, nlines, chain, &landed, err, errsz) < 0 ||
	    write_decisions(ctx, s, n, chain, err, errsz) < 0)
		goto out;
	/* After the decisions are out: the cache is not on their way. */
	inv_stock_cache(ctx, chain, NULL, landed);
	for (size_t i = 0; i < n; i++)
		if (s[i].slow &&
		    inv_reserve_one(ctx, s[i].ev, s[i].fresh, stale[i], err, errsz) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		inv_updates_clear(&s[i].u);
		free(s[i].event);
		json_decref(stale[i]);
	}
	free(stale);
	free(chain);
	free(s);
	return rc;
}
