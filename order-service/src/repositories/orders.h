/*
 * SQL for orders and their lines. All of the daemon's SQL about its data
 * lives in repositories/ (orders.c, outbox.c, consumed_events.c,
 * idempotency.c, catalogue.c, payments.c, tx.c for transactions, notify.c for
 * NOTIFY/LISTEN); config/ keeps only the connections' own (readiness probe,
 * migrations). The services decide what to do, these files only say how it
 * is stored.
 *
 * Functions take a connection the caller checked out (and, where a
 * transaction is needed, opened); they return 1 (found / changed), 0 (not
 * found / no change) or -1 with ERR filled and SQLSTATE (may be NULL) set.
 */
#ifndef OS_REPO_ORDERS_H
#define OS_REPO_ORDERS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "models/order.h"

/* What POST /orders writes besides the order: its OrderPlaced outbox row and,
 * with an Idempotency-Key, the key with the response to replay. */
typedef struct os_place_write {
	const char *topic, *event_id, *payload; /* the outbox row */
	const char *idem_key;                   /* NULL: no Idempotency-Key */
	const char *idem_canonical;             /* request text whose hash is kept */
	const char *idem_response;              /* the 201 body */
} os_place_write_t;

/* Inserts O (status PENDING, created_at = updated_at = O->created_at) with its
 * lines and the outbox row in ONE statement, hence one transaction. With a key
 * that already exists nothing is written and 0 is returned. */
int os_repo_order_insert(PGconn *c, const os_order_t *o, const os_place_write_t *w, char *err,
                         size_t errsz, char sqlstate[6]);

/* A PostgreSQL array literal of O's lines (caller frees it): WHICH 0 their
 * SKUs (validated, so quote-free), 1 their quantities, 2 their unit prices. */
char *os_repo_order_array(const os_order_t *o, int which);

/* Reads order ID (with its lines) into O; FOR_UPDATE locks the row until the
 * caller's transaction ends. */
int os_repo_order_get(PGconn *c, const char *id, int for_update, os_order_t *o, char *err,
                      size_t errsz);

/* Copies the correlation id order ID was placed with into OUT ("" when unknown,
 * e.g. an order placed before migration 004). Returns 0 or -1. */
int os_repo_order_correlation(PGconn *c, const char *id, char *out, size_t outsz, char *err,
                              size_t errsz);

/* Moves order ID from status FROM to TO (setting TO's timestamp, updated_at and,
 * when not NULL, the reason) and reads it back into O (without lines). Returns
 * 0 when the order does not exist or is not in FROM. */
int os_repo_order_set_status(PGconn *c, const char *id, os_status_t from, os_status_t to,
                             const char *reason, os_order_t *o, char *err, size_t errsz);

/* A page of orders, newest first. CUSTOMER NULL lists everyone's, STATUS NULL
 * every status, AFTER_SEQ 0 starts at the newest. Fills up to LIMIT orders
 * into OUT (caller os_order_clear()s each) and *NEXT_SEQ with the cursor of
 * the next page (0 when this is the last one). Returns the count or -1. */
int os_repo_order_list(PGconn *c, const char *customer, const os_status_t *status,
                       long long after_seq, int limit, os_order_t *out, long long *next_seq,
                       char *err, size_t errsz);

#endif
