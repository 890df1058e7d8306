/*
 * Ledger appends with optimistic concurrency; see stock.h.
 *
 * Why an append is safe on FerretDB: the entry for version v+1 of a SKU is
 * inserted only after reading version v as the newest, and (sku, version) is
 * unique, so of two writers that read the same v only one insert succeeds;
 * the other sees a duplicate key, reads again and recomputes its balance from
 * the winner's. Versions therefore form one chain per SKU and every balance is
 * computed from its predecessor: no update is lost, none goes below zero.
 */
#include "services/stock.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"
#include "models/product.h"
#include "models/reservation.h"
#include "repositories/products.h"
#include "services/heads.h"
#include "utils/crash.h"

/* Conflicts only happen between concurrent writers of one SKU; this bound
 * only guards against a livelock bug turning into a hang. */
#define MAX_ATTEMPTS 1000

/* A batch refreshes the products cache of a SKU every CACHE_EVERY versions
 * (inv_ledger_head's window must reach further than this). */
#define CACHE_EVERY 16

const char *inv_stock_strerror(inv_stock_rc_t rc)
{
	switch (rc) {
	case INV_STOCK_OK:
		return "ok";
	case INV_STOCK_ERR:
		return "database error";
	case INV_STOCK_UNKNOWN:
		return "unknown sku";
	case INV_STOCK_SHORT:
		return "insufficient stock";
	case INV_STOCK_TOO_MUCH:
		return "stock would exceed 1000000000";
	case INV_STOCK_APPLIED:
		return "already applied";
	}
	return "?";
}

/* The newest version the products cache knows for SKU (a version that
 * exists, so a starting point for inv_ledger_head), or 0. */
static int cached_version(const inv_ctx_t *ctx, const char *sku, int64_t *version, char *err,
                          size_t errsz)
{
	inv_cached_stock_t c;

	if (inv_products_cached(ctx->db, &sku, 1, &c, err, errsz) != INV_REPO_OK)
		return -1;
	*version = c.version;
	return 0;
}

int inv_stock_balance(const inv_ctx_t *ctx, const char *sku, int64_t *balance, char *err,
                      size_t errsz)
{
	inv_ledger_entry_t head;
	int64_t from;
	int rc;

	int64_t ignored;

	if (!inv_heads_get(ctx->heads, sku, &from, &ignored) &&
	    cached_version(ctx, sku, &from, err, errsz) < 0)
		return -1;
	rc = inv_ledger_head(ctx->db, sku, from, &head, err, errsz);
	if (rc == 1) {
		*balance = head.balance;
		inv_heads_put(ctx->heads, sku, head.version, head.balance);
	}
	return rc < 0 ? -1 : rc;
}

char *inv_stock_updated_event(const inv_stock_change_t *ch, const inv_ledger_entry_t *e)
{
	eda_event_t *ev = eda_event_new(INV_SOURCE, EDA_EVENT_INVENTORY_UPDATED, e->sku,
	                                inv_updated_data(e->sku, e->balance, e->delta, ch->kind),
	                                ch->cause, ch->correlation_id);
	char *s = eda_event_serialize(ev, NULL);

	eda_event_free(ev);
	return s;
}

static inv_stock_rc_t applied_before(const inv_ctx_t *ctx, const inv_stock_change_t *ch,
                                     inv_ledger_entry_t *e, char *err, size_t errsz)
{
	int rc = inv_ledger_find_op(ctx->db, ch->op, e, err, errsz);

	if (rc < 0)
		return INV_STOCK_ERR;
	return rc == 1 ? INV_STOCK_APPLIED : INV_STOCK_OK;
}

/* The newest entry as this process's hints or else the products cache know
 * it (one point read): exact unless another writer got in since, which the
 * unique (sku, version) of the append then reveals. Returns 1, 0 (not
 * cached) or -1. */
static int cached_head(const inv_ctx_t *ctx, const char *sku, inv_ledger_entry_t *head, char *err,
                       size_t errsz)
{
	inv_product_t p;
	int rc;

	memset(head, 0, sizeof(*head));
	if (inv_heads_get(ctx->heads, sku, &head->version, &head->balance)) {
		snprintf(head->sku, sizeof(head->sku), "%s", sku);
		return 1;
	}
	rc = inv_products_get(ctx->db, sku, &p, err, errsz);

	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	rc = p.version > 0;
	if (rc) {
		memset(head, 0, sizeof(*head));
		snprintf(head->sku, sizeof(head->sku), "%s", sku);
		head->version = p.version;
		head->balance = p.stock;
	}
	inv_product_clear(&p);
	return rc;
}

/* A refusal (short, too much, unknown) is final only once judged on the
 * ledger's true head and once we know the op was not applied before (a
 * redelivered reservation must not be reported short after it took the
 * stock). Returns RC, INV_STOCK_APPLIED or INV_STOCK_ERR. */
static inv_stock_rc_t refuse(const inv_ctx_t *ctx, const inv_stock_change_t *ch, inv_stock_rc_t rc,
                             inv_ledger_entry_t *entry, const inv_ledger_entry_t *head, char *err,
                             size_t errsz)
{
	inv_stock_rc_t before;

	if (ch->check_op_first) {
		before = applied_before(ctx, ch, entry, err, errsz);
		if (before != INV_STOCK_OK)
			return before;
	}
	if (head != NULL)
		*entry = *head;
	return rc;
}

/* The entry that applies CH on HEAD (NULL: the SKU has no entry yet) into
 * *E: the next version, and the delta (for a set, what takes the balance
 * there). Its balance is left for the caller to check. */
static void next_entry(const inv_stock_change_t *ch, const inv_ledger_entry_t *head,
                       inv_ledger_entry_t *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->sku, sizeof(e->sku), "%s", ch->sku);
	snprintf(e->kind, sizeof(e->kind), "%s", ch->kind);
	snprintf(e->op, sizeof(e->op), "%s", ch->op);
	if (ch->order_id != NULL)
		snprintf(e->order_id, sizeof(e->order_id), "%s", ch->order_id);
	e->version = head != NULL ? head->version + 1 : 1;
	e->delta = ch->set ? ch->amount - (head != NULL ? head->balance : 0) : ch->amount;
}

/* Entry E, carrying EVENT (taken), landed: the hints learn it, its event
 * goes to the publisher, the products cache follows. */
static void appended(const inv_ctx_t *ctx, const inv_ledger_entry_t *e, char *event)
{
	char cerr[256];

	inv_crash_point("ledger-append");
	inv_heads_put(ctx->heads, e->sku, e->version, e->balance);
	if (ctx->publish != NULL)
		ctx->publish(ctx->pub, INV_COLL_LEDGER, e->op, (const char *const *)&event, 1);
	free(event);
	/* The cache is only for reads; a failure here is logged, the ledger
	 * already holds the truth. */
	if (inv_products_cache_stock(ctx->db, e->sku, e->balance, e->version, cerr, sizeof(cerr)) !=
	    0)
		eda_log(EDA_LOG_WARN, "stock cache not updated", "sku", e->sku, "why", cerr, NULL);
	inv_crash_point("cache-update");
}

inv_stock_rc_t inv_stock_apply(const inv_ctx_t *ctx, const inv_stock_change_t *ch,
                               inv_ledger_entry_t *entry, char *err, size_t errsz)
{
	inv_ledger_entry_t head, e, tmp;
	inv_stock_rc_t rc;
	int exact = 0;    /* head read from the ledger itself, not the cache */
	int64_t from = 0; /* a version known to exist, where the head search starts */

	if (entry == NULL)
		entry = &tmp;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		int found = exact ? inv_ledger_head(ctx->db, ch->sku, from, &head, err, errsz)
		                  : cached_head(ctx, ch->sku, &head, err, errsz);
		char *event;
		int arc, add;

		if (found < 0)
			return INV_STOCK_ERR;
		if (found == 0 && !exact) {
			exact = 1;
			continue;
		}
		if (found == 1)
			from = head.version;
		if (found == 1 && exact)
			inv_heads_put(ctx->heads, ch->sku, head.version, head.balance);
		if (found == 0 && !ch->set)
			return refuse(ctx, ch, INV_STOCK_UNKNOWN, entry, NULL, err, errsz);
		next_entry(ch, found ? &head : NULL, &e);
		if (found && ch->set && e.delta == 0 && exact) {
			*entry = head;
			return INV_STOCK_OK; /* nothing changes, nothing to publish */
		}
		add = inv_stock_add(found ? head.balance : 0, e.delta, &e.balance);
		if (add != 0 || (found && ch->set && e.delta == 0)) {
			if (!exact) {
				/* The cache may lag: judge again on the ledger. */
				exact = 1;
				continue;
			}
			return refuse(ctx, ch, add == -1 ? INV_STOCK_SHORT : INV_STOCK_TOO_MUCH,
			              entry, &head, err, errsz);
		}
		e.ts_ms = eda_clock_wall_ms();
		event = inv_stock_updated_event(ch, &e);
		arc = inv_ledger_append(ctx->db, &e, event, err, errsz);
		if (arc == INV_REPO_OK) {
			appended(ctx, &e, event);
			*entry = e;
			return INV_STOCK_OK;
		}
		free(event);
		if (arc == INV_REPO_ERR)
			return INV_STOCK_ERR;
		/* A duplicate: either the op was applied before (a redelivery, or
		 * another process handling the same event) or the version was
		 * taken by a concurrent writer: read the true head and retry. */
		rc = applied_before(ctx, ch, entry, err, errsz);
		if (rc != INV_STOCK_OK)
			return rc;
		exact = 1;
		eda_log(EDA_LOG_INFO, "ledger version conflict, retrying", "sku", ch->sku, "op",
		        ch->op, NULL);
	}
	snprintf(err, errsz, "too many version conflicts on %s", ch->sku);
	return INV_STOCK_ERR;
}

bool inv_stock_entry(const inv_stock_change_t *ch, const inv_cached_stock_t *c,
                     inv_ledger_entry_t *e)
{
	if (ch->set || c->version <= 0)
		return false;
	memset(e, 0, sizeof(*e));
	if (inv_stock_add(c->stock, ch->amount, &e->balance) != 0)
		return false;
	snprintf(e->sku, sizeof(e->sku), "%s", ch->sku);
	snprintf(e->kind, sizeof(e->kind), "%s", ch->kind);
	snprintf(e->op, sizeof(e->op), "%s", ch->op);
	if (ch->order_id != NULL)
		snprintf(e->order_id, sizeof(e->order_id), "%s", ch->order_id);
	e->version = c->version + 1;
	e->delta = ch->amount;
	e->ts_ms = eda_clock_wall_ms();
	return true;
}

int inv_stock_heads(const inv_ctx_t *ctx, const char *const *skus, size_t n, inv_cached_stock_t *c,
                    char *err, size_t errsz)
{
	const char **missing = eda_xcalloc(n + 1, sizeof(*missing));
	inv_cached_stock_t *hint = eda_xcalloc(n + 1, sizeof(*hint));
	size_t *where = eda_xcalloc(n + 1, sizeof(*where)), nm = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		c[i] = (inv_cached_stock_t){.sku = skus[i]};
		if (!inv_heads_get(ctx->heads, skus[i], &c[i].version, &c[i].stock)) {
			where[nm] = i;
			missing[nm++] = skus[i];
		}
	}
	if (nm == 0)
		goto ok;
	/* First sight of these SKUs in this process: read their heads. */
	if (inv_products_cached(ctx->db, missing, nm, hint, err, errsz) != INV_REPO_OK)
		goto out;
	for (size_t j = 0; j < nm; j++) {
		inv_ledger_entry_t head;
		int hrc = inv_ledger_head(ctx->db, missing[j], hint[j].version, &head, err, errsz);

		if (hrc < 0)
			goto out;
		if (hrc == 1) {
			c[where[j]].version = head.version;
			c[where[j]].stock = head.balance;
			inv_heads_put(ctx->heads, missing[j], head.version, head.balance);
		}
	}
ok:
	rc = 0;
out:
	free(where);
	free(hint);
	free(missing);
	return rc;
}

void inv_stock_landed(const inv_ctx_t *ctx, const inv_ledger_entry_t *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		inv_heads_put(ctx->heads, e[i].sku, e[i].version, e[i].balance);
}

void inv_stock_cache(const inv_ctx_t *ctx, const inv_ledger_entry_t *e, const bool *done, size_t n)
{
	inv_cached_stock_t *cache = eda_xcalloc(n + 1, sizeof(*cache));
	size_t ncached = 0;
	char cerr[256];

	/* The products cache is read only as a starting point for finding the
	 * head (inv_ledger_head looks CACHE_EVERY + a few versions past it), so
	 * it need not follow every change: that saves a write per line. */
	for (size_t i = 0; i < n; i++)
		if ((done == NULL || done[i]) && e[i].version % CACHE_EVERY == 0)
			cache[ncached++] = (inv_cached_stock_t){
			        .sku = e[i].sku, .stock = e[i].balance, .version = e[i].version};
	if (ncached > 0 && ctx->cache != NULL) {
		inv_cache_writer_put(ctx->cache, cache, ncached);
	} else if (ncached > 0) {
		if (inv_products_cache_many(ctx->db, cache, ncached, cerr, sizeof(cerr)) != 0)
			eda_log(EDA_LOG_WARN, "stock cache not updated", "why", cerr, NULL);
		inv_crash_point("cache-update");
	}
	free(cache);
}

int inv_stock_apply_batch(const inv_ctx_t *ctx, const inv_stock_change_t *ch, size_t n,
                          inv_ledger_entry_t *entries, bool *done, char **updates, char *err,
                          size_t errsz)
{
	const char **skus = eda_xcalloc(n, sizeof(*skus));
	inv_cached_stock_t *cache = eda_xcalloc(n, sizeof(*cache));
	int *rcs = eda_xcalloc(n, sizeof(*rcs));
	char cerr[256];
	bool appended = false;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		skus[i] = ch[i].sku;
		done[i] = false;
		updates[i] = NULL;
	}
	if (n == 0 || n > EDA_EVENT_MAX_ITEMS)
		goto ok;
	if (inv_stock_heads(ctx, skus, n, cache, err, errsz) < 0)
		goto out;
	/* All or nothing on the heads' word: if they refuse any change, the
	 * caller judges them one by one on the ledger, as without a batch. */
	for (size_t i = 0; i < n; i++)
		if (!inv_stock_entry(&ch[i], &cache[i], &entries[i]))
			goto ok;
	/* The entries go in without their events (via_outbox): the caller puts
	 * those into the order's outbox row, which is published once, instead
	 * of once per entry. A refused entry (a stale head, or the op
	 * is a redelivery) or one of unknown fate is left to inv_stock_apply,
	 * whose op key makes a second try harmless. A database failure shows
	 * up there again. */
	(void)inv_ledger_append_many(ctx->db, entries, NULL, n, rcs, cerr, sizeof(cerr));
	for (size_t i = 0; i < n; i++) {
		done[i] = rcs[i] == INV_REPO_OK;
		if (!done[i])
			continue;
		entries[i].via_outbox = true;
		if (!appended)
			inv_crash_point("ledger-append");
		appended = true;
		inv_heads_put(ctx->heads, entries[i].sku, entries[i].version, entries[i].balance);
		updates[i] = inv_stock_updated_event(&ch[i], &entries[i]);
	}
	inv_stock_cache(ctx, entries, done, n);
ok:
	rc = 0;
out:
	free(rcs);
	free(cache);
	free(skus);
	return rc;
}
