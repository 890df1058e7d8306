/*
 * Reactions to an order's events: reserve all of an OrderPlaced's items or
 * none, and release what an OrderCancelled's order holds. Both are idempotent
 * per order, however often and wherever the event is redelivered.
 */
#ifndef INV_RESERVATION_SERVICE_H
#define INV_RESERVATION_SERVICE_H

#include <stddef.h>

#include "eda/event.h"
#include "services/context.h"

/* Handles a validated OrderPlaced. Returns 0 once the outcome is durable (its
 * result event is then in the outbox), -1 with ERR on a transient failure. */
int inv_reserve_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz);

/* Handles the N validated OrderPlaced EVS together (a consumer's group
 * commit): one insert of their claims, one ordered insert of the ledger
 * entries of every order the heads let through, one insert of their
 * decisions; every other order (decided before, a shortage, a conflict)
 * goes through inv_reserve_order afterwards. Returns 0 once the outcome of
 * every order is durable, -1 with ERR otherwise (some may be: handling them
 * again is harmless). */
int inv_reserve_orders(const inv_app_t *app, const eda_event_t *const *evs, size_t n, char *err,
                       size_t errsz);

/* Handles a validated OrderCancelled, likewise. */
int inv_release_order(const inv_app_t *app, const eda_event_t *ev, char *err, size_t errsz);

#endif
