/*
 * The order service: placing, reading, listing and cancelling orders, and
 * applying the saga's events. It decides; repositories/ stores; routers/ and
 * events/ translate HTTP and Kafka into these calls. No HTTP or SQL here.
 *
 * After every commit that adds outbox rows it wakes the relay (in-process
 * hook, then a coalesced NOTIFY for a leader in another replica), and after
 * every status change the long-poll waiters (hook plus NOTIFY).
 */
#ifndef OS_ORDER_SERVICE_H
#define OS_ORDER_SERVICE_H

#include <jansson.h>
#include <stdbool.h>

#include "config/database.h"
#include "eda/event.h"
#include "eda/metrics.h"
#include "events/notifier.h"
#include "models/order.h"

#define OS_SOURCE "/order-service"

typedef enum {
	OS_OK = 0,
	OS_EINVALID = -1,     /* request breaks a rule: field errors */
	OS_ENOTFOUND = -2,    /* no such order (or not the caller's) */
	OS_ECONFLICT = -3,    /* the order's status does not allow it */
	OS_EIDEMPOTENCY = -4, /* Idempotency-Key reused with another request */
	OS_EUNAVAILABLE = -5, /* the database is unreachable or saturated */
	OS_EINTERNAL = -6,
	OS_EPRICE = -7, /* a quoted price is not the catalogue's: the prices */
} os_err_t;

const char *os_strerror(int code);

typedef struct os_service {
	os_db_pool_t *pool;
	int db_wait_ms;
	const char *topic_orders;
	os_notifier_t *notifier; /* may be NULL: single replica */
	void (*wake_relay)(void *ctx);
	/* Whether the relay of this process is the leader: then no other replica
	 * needs to hear of new outbox rows. May be NULL. */
	bool (*relay_leads)(void *ctx);
	void *relay_ctx;
	void (*status_changed)(const char *order_id, void *ctx);
	void *status_ctx;
	/* Counters (may be NULL): payments for an order that is CANCELLED or
	 * REJECTED (payments_needing_refund_total), payments whose amount or
	 * currency is not the order's (payments_mismatched_total). */
	eda_metric_t *refunds, *mismatches;
	/* Prices of the catalogue replica in memory (services/price_cache.h);
	 * NULL: every order reads the table. */
	struct os_price_cache *prices;
} os_service_t;

/* Who is asking (from the gateway's X-Customer-Id, X-Customer-Email, X-Roles). */
typedef struct os_caller {
	const char *customer_id;
	const char *email; /* may be NULL except for placing orders */
	bool admin;
} os_caller_t;

/* The outcome of a call that answers HTTP: STATUS and BODY (a new reference:
 * the order, a page, or NULL), for OS_EINVALID ERRORS and for OS_EPRICE
 * PRICES [{sku, quoted, price}] (new references). */
typedef struct os_result {
	int status;
	json_t *body;
	json_t *errors;
	json_t *prices;
	char detail[256];
} os_result_t;

/* POST /orders. IDEM_KEY may be NULL. The lines are priced from the
 * catalogue replica (os_price_order): OS_EINVALID for an unknown SKU or a
 * currency that is not the products', OS_EPRICE when a quoted price differs;
 * either way nothing is written. On success RES holds 201 and the order (or
 * the replayed first answer of the same key). */
int os_service_place(os_service_t *s, const os_caller_t *who, const json_t *request,
                     const char *idem_key, const char *request_id, os_result_t *res);

/* GET /orders/{id}: fills O (caller os_order_clear()s it). */
int os_service_get(os_service_t *s, const os_caller_t *who, const char *id, os_order_t *o,
                   char *detail, size_t detailsz);

/* GET /orders: a page {items, next_cursor} in RES->body. CURSOR may be NULL. */
int os_service_list(os_service_t *s, const os_caller_t *who, const os_status_t *status,
                    const char *cursor, int limit, os_result_t *res);

/* POST /orders/{id}/cancel: RES->body is the cancelled order. */
int os_service_cancel(os_service_t *s, const os_caller_t *who, const char *id,
                      const char *request_id, os_result_t *res);

/* Applies a consumed saga event EV to its order: FROM -> TO with REASON, once.
 * AMOUNT/CURRENCY (may be NULL) make it a payment (PaymentProcessed or, which
 * moves nothing, PaymentFailed, as EV's type says): recorded in `payments`
 * with what it did, and the transition applies only if they match the
 * order's total. A payment for a CANCELLED or REJECTED order is logged as
 * needing a refund and counted, a mismatched one logged and counted. OUTCOME gets what happened
 * ("applied", "duplicate", "ignored: ..."). Returns 0 (done, whatever the outcome) or
 * OS_EUNAVAILABLE (retry later). */
int os_service_apply(os_service_t *s, const eda_event_t *ev, os_status_t from, os_status_t to,
                     const char *reason, const int64_t *amount, const char *currency, char *outcome,
                     size_t outsz);

/* Group commit of saga events, for the consumer's thread: many events in one
 * transaction, so a busy saga pays one WAL flush and one BEGIN/COMMIT pair per
 * batch instead of per event. Nothing of a batch is visible before its commit;
 * the hooks of after-commit (relay, long-poll waiters, NOTIFY) run after it.
 * The batch holds its orders' row locks until then: keep batches short. */
typedef struct os_apply_batch os_apply_batch_t;

os_apply_batch_t *os_apply_batch_new(os_service_t *s);

/* os_service_apply inside the batch's transaction (begun on first use).
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

/* Deletes rows older than RETENTION_S (see os_repo_purge). Returns the count or -1. */
long long os_service_purge(os_service_t *s, long retention_s);

/* Rows of the outbox not yet published, or -1. */
long long os_service_outbox_pending(os_service_t *s);

#endif
