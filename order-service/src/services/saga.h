/*
 * The saga's steps (DESIGN.md, "Order saga"): a consumed inventory or payment
 * event moves its order once, with the order's own event in the outbox, in
 * one transaction; and the group commit of many such steps. events/consumers.c
 * calls these; payments.c judges the payment events.
 */
#ifndef OS_SERVICES_SAGA_H
#define OS_SERVICES_SAGA_H

#include <stddef.h>
#include <stdint.h>

#include "eda/event.h"
#include "models/order.h"
#include "services/order_service.h"

/* Applies a consumed saga event EV to its order: FROM -> TO with REASON, once.
 * AMOUNT/CURRENCY (may be NULL) make it a payment (PaymentProcessed or, which
 * moves nothing, PaymentFailed, as EV's type says): recorded in `payments`
 * with what it did, and the transition applies only if they match the
 * order's total. A payment for a CANCELLED or REJECTED order is logged as
 * needing a refund and counted, a mismatched one logged and counted. OUTCOME gets what happened
 * ("applied", "duplicate", "ignored: ..."). Returns 0 (done, whatever the outcome) or
 * OS_EUNAVAILABLE (retry later). */
int os_saga_apply(os_service_t *s, const eda_event_t *ev, os_status_t from, os_status_t to,
                  const char *reason, const int64_t *amount, const char *currency, char *outcome,
                  size_t outsz);

/* Group commit of saga events, for the consumer's thread: many events in one
 * transaction, so a busy saga pays one WAL flush and one BEGIN/COMMIT pair per
 * batch instead of per event. Nothing of a batch is visible before its commit;
 * the hooks of after-commit (relay, long-poll waiters, NOTIFY) run after it.
 * The batch holds its orders' row locks until then: keep batches short. */
typedef struct os_apply_batch os_apply_batch_t;

os_apply_batch_t *os_apply_batch_new(os_service_t *s);

/* os_saga_apply inside the batch's transaction (begun on first use).
 * Returns OS_OK with OUTCOME (not yet durable), or OS_EUNAVAILABLE when the
 * batch is broken: its transaction is rolled back, further adds do nothing
 * and the next flush reports the failure, so every event of the batch is
 * handed over again. */
int os_apply_batch_add(os_apply_batch_t *b, const eda_event_t *ev, os_status_t from, os_status_t to,
                       const char *reason, const int64_t *amount, const char *currency,
                       char *outcome, size_t outsz);

/* Commits what was added so far (before work on another connection that may
 * need the batch's row locks). A failed commit breaks the batch. */
void os_apply_batch_commit(os_apply_batch_t *b);

/* Commits, then says whether everything added since the last flush is
 * durable: 0, or -1 with WHY (none of it is; add again). Starts afresh. */
int os_apply_batch_flush(os_apply_batch_t *b, char *why, size_t whysz);

/* Rolls back what was not flushed and frees B. */
void os_apply_batch_free(os_apply_batch_t *b);

#endif
