/*
 * Stock changes on the ledger with optimistic concurrency: read the SKU's
 * newest entry, append the next version, and on a conflict read again. Each
 * change carries an op key; an op that was applied before is reported, not
 * applied again. Every change writes its InventoryUpdated into the entry and
 * hands it to the publisher, then refreshes the products cache.
 */
#ifndef INV_STOCK_H
#define INV_STOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eda/event.h"
#include "repositories/ledger.h"
#include "repositories/products.h"
#include "services/context.h"

typedef enum {
	INV_STOCK_OK = 0,
	INV_STOCK_ERR = -1,      /* database failure: try again later */
	INV_STOCK_UNKNOWN = -2,  /* no such SKU */
	INV_STOCK_SHORT = -3,    /* would go below zero */
	INV_STOCK_TOO_MUCH = -4, /* would go above the cap */
	INV_STOCK_APPLIED = -5,  /* this op was applied before (ENTRY holds it) */
} inv_stock_rc_t;

typedef struct inv_stock_change {
	const char *sku;
	int64_t amount;             /* the delta, or the new balance when SET */
	int set;                    /* 1: AMOUNT is the new balance (creates the SKU if needed) */
	const char *kind;           /* InventoryUpdated cause: set, restock, reservation, release */
	const char *op;             /* unique op key */
	const char *order_id;       /* or NULL */
	int check_op_first;         /* look the op up before refusing a change */
	const eda_event_t *cause;   /* event reacted to, or NULL */
	const char *correlation_id; /* without a cause: the HTTP request id */
} inv_stock_change_t;

/* Applies CH. ENTRY (may be NULL) gets the appended entry, or for
 * INV_STOCK_APPLIED the earlier one, or for SHORT/TOO_MUCH the head read. */
inv_stock_rc_t inv_stock_apply(const inv_ctx_t *ctx, const inv_stock_change_t *ch,
                               inv_ledger_entry_t *entry, char *err, size_t errsz);

/* Applies the N changes CH (deltas on distinct SKUs) as one batch on the
 * heads this process knows: one unordered insert of the ledger entries
 * instead of a read, an insert and a cache write per change. DONE[i] is set
 * when change i is durable: ENTRIES[i] then holds its entry, appended
 * via_outbox, and UPDATES[i] its serialized InventoryUpdated (the caller owns
 * it and must make it durable in the order's outbox row). A change not done
 * (the heads refused one of the changes, so none was tried; its head was
 * stale; it was applied before; its insert failed) must be applied with
 * inv_stock_apply, which judges it on the ledger. Returns 0, or -1 when the
 * heads could not be read (nothing done). */
int inv_stock_apply_batch(const inv_ctx_t *ctx, const inv_stock_change_t *ch, size_t n,
                          inv_ledger_entry_t *entries, bool *done, char **updates, char *err,
                          size_t errsz);

/* The heads of the N SKUs SKUS into C (C[i].sku = SKUS[i]): from the
 * process's hints, else read from the ledger (starting at the products
 * cache's version). A SKU without entries gets version 0. Returns 0 or -1. */
int inv_stock_heads(const inv_ctx_t *ctx, const char *const *skus, size_t n, inv_cached_stock_t *c,
                    char *err, size_t errsz);

/* The entry of delta CH appended on head C into *E (version C->version + 1,
 * unpublished fields clear). Returns false when CH cannot go onto C that
 * way (a set, an unknown SKU, a balance out of range): the change must then
 * be judged on the ledger by inv_stock_apply. */
bool inv_stock_entry(const inv_stock_change_t *ch, const inv_cached_stock_t *c,
                     inv_ledger_entry_t *e);

/* Notes the N durable entries E in the head hints. */
void inv_stock_landed(const inv_ctx_t *ctx, const inv_ledger_entry_t *e, size_t n);

/* Refreshes the products cache from the N durable entries E (those whose
 * DONE is true; DONE may be NULL) whose version is a multiple of
 * CACHE_EVERY. A failure is only logged: the ledger holds the truth. */
void inv_stock_cache(const inv_ctx_t *ctx, const inv_ledger_entry_t *e, const bool *done, size_t n);

/* The serialized InventoryUpdated of entry E made by change CH. */
char *inv_stock_updated_event(const inv_stock_change_t *ch, const inv_ledger_entry_t *e);

/* The current balance of SKU from the ledger. Returns 1, 0 (unknown) or -1. */
int inv_stock_balance(const inv_ctx_t *ctx, const char *sku, int64_t *balance, char *err,
                      size_t errsz);

const char *inv_stock_strerror(inv_stock_rc_t rc);

#endif
