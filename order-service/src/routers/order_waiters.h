/*
 * Long-poll waiters of GET /orders/{id}?wait=N (routers/orders.c registers
 * them). A waiter is a suspended HTTP request plus an order id and a deadline:
 * no thread and no database connection is held while it waits. One thread owns
 * all waiters: it answers those whose order changed (woken in-process through
 * the service's status hook, wired in src/app.c, or by a NOTIFY on
 * OS_CHANNEL_STATUS from another replica) and those whose time ran out,
 * reading the order through the service (os_orders_read).
 */
#ifndef OS_ROUTERS_ORDER_WAITERS_H
#define OS_ROUTERS_ORDER_WAITERS_H

#include <stddef.h>

#include "eda/http.h"
#include "services/order_service.h"

typedef struct os_waiters os_waiters_t;

/* SVC is borrowed (its reads wait up to its db_wait_ms for a pooled
 * connection). LISTEN_URL (copied; NULL: no cross-replica wake-ups) is the
 * database to LISTEN on, with round trips bounded by DB_TIMEOUT_MS. Returns
 * NULL with ERR filled.
 *
 * A waiter is answered at its deadline plus at most one read of the order
 * (db_wait_ms + the pool's timeout) and one LISTEN connect attempt (1 s):
 * when the database fails for one waiter, the others due in the same round
 * get 503 at once instead of a wait each. */
os_waiters_t *os_waiters_start(os_service_t *svc, int db_timeout_ms, const char *listen_url,
                               char *err, size_t errsz);

/* Takes over R (already suspended by the caller) until order ORDER_ID changes
 * or WAIT_S seconds pass; then R is answered with the order. */
void os_waiters_add(os_waiters_t *w, eda_http_req_t *r, const char *order_id, int wait_s);

/* Order ORDER_ID changed: answer its waiters now. Any thread. */
void os_waiters_wake(os_waiters_t *w, const char *order_id);

/* Number of requests waiting. */
size_t os_waiters_count(os_waiters_t *w);

/* Answers every remaining waiter with 503, stops the thread, frees W. Call it
 * after eda_http_server_stop and before eda_http_server_free. NULL is fine. */
void os_waiters_stop(os_waiters_t *w);

#endif
