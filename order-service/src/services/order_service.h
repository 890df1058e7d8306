/*
 * The order service's shared core: its handle (os_service_t), its error codes,
 * who is asking (os_caller_t), and what every command needs around its unit of
 * work (a pooled connection, an event for the outbox, the after-commit hooks).
 * The commands themselves are in orders.h (HTTP's), saga.h (Kafka's) and
 * maintenance.h (the maintenance thread's). services/ decides; repositories/
 * stores; routers/ and events/ translate HTTP and Kafka into these calls. No
 * HTTP or SQL here, and nothing of events/: what must happen after a commit
 * (waking the relay, the long-polls, other replicas) goes through the hooks
 * that src/app.c wires.
 */
#ifndef OS_ORDER_SERVICE_H
#define OS_ORDER_SERVICE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/database.h"
#include "eda/event.h"
#include "eda/metrics.h"
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

/* What the service announces after a commit; each may be NULL. Called on the
 * committing thread, after the connection went back to the pool. */
typedef struct os_service_hooks {
	/* New outbox rows are durable: the relay (of this replica or another)
	 * should publish them now rather than at its next sweep. */
	void (*outbox_added)(void *ctx);
	/* ORDER_ID's status changed: its long-polls (here and elsewhere) answer. */
	void (*status_changed)(const char *order_id, void *ctx);
	void *ctx;
} os_service_hooks_t;

typedef struct os_service {
	os_db_pool_t *pool;
	int db_wait_ms;
	const char *topic_orders;
	os_service_hooks_t hooks;
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

/* For services/ only. ---------------------------------------------------- */

/* A pooled connection within S's wait, or NULL with DETAIL (for the client)
 * filled and the failure logged. The caller os_db_checkin()s it. */
PGconn *os_service_checkout(os_service_t *s, char *detail, size_t detailsz);

/* Runs S's hooks after a commit that added outbox rows: the relay's, then,
 * when STATUS_ORDER_ID is not NULL, the status hook for that order. */
void os_service_after_commit(os_service_t *s, const char *status_order_id);

/* The status hook alone, for ORDER_ID. */
void os_service_status_changed(os_service_t *s, const char *order_id);

/* Builds and checks an event of TYPE about O (REASON, CAUSE and
 * CORRELATION_ID may be NULL) and copies its id to EVENT_ID. Returns the
 * serialised event (caller frees it), or NULL only on a contract breach,
 * which is a bug (inputs were validated against the same rules), logged. */
char *os_service_event(const os_order_t *o, const char *type, const char *reason,
                       const eda_event_t *cause, const char *correlation_id, char event_id[128]);

#endif
