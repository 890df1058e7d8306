/*
 * Cross-replica wake-ups through PostgreSQL NOTIFY and LISTEN: the sending
 * side (a thread of its own) and the helpers of the listening sessions (the
 * relay's and the long-poll waiters'). Notifications are sent AFTER the
 * commit of the change they announce and coalesced on the sending thread.
 *
 * Why not NOTIFY inside the order transaction: PostgreSQL takes a global lock
 * at the commit of any transaction that notified, which serialises all
 * committing writers (FACTS.md). Here a POST /orders only sets a flag; one
 * notifier thread sends one pg_notify per round for however many commits
 * happened meanwhile, on a session with synchronous_commit = off (a lost
 * wake-up is covered by the relay's periodic sweep and the waiters' timeout,
 * so it need not wait for a WAL flush).
 *
 * Channels: OS_CHANNEL_OUTBOX (new outbox rows; the relay leader LISTENs) and
 * OS_CHANNEL_STATUS (payload: an order id whose status changed; long-poll
 * waiters LISTEN).
 */
#ifndef OS_REPO_NOTIFY_H
#define OS_REPO_NOTIFY_H

#include <libpq-fe.h>
#include <stddef.h>

#define OS_CHANNEL_OUTBOX "order_service_outbox"
#define OS_CHANNEL_STATUS "order_service_status"

typedef struct os_notify os_notify_t;

/* Starts the thread; URL is copied; its session's connect and round trips
 * are bounded by TIMEOUT_MS. Returns NULL with ERR filled. */
os_notify_t *os_notify_start(const char *url, int timeout_ms, char *err, size_t errsz);

/* Stops the thread (sending what is pending first) and frees N. NULL is fine. */
void os_notify_stop(os_notify_t *n);

/* Asks for a NOTIFY on the outbox channel. N may be NULL (no-op). */
void os_notify_outbox(os_notify_t *n);

/* Asks for a NOTIFY on the status channel with ORDER_ID. N may be NULL. */
void os_notify_status(os_notify_t *n, const char *order_id);

/* Opens a dedicated session to URL (os_db_connect, TIMEOUT_MS) that LISTENs
 * on CHANNEL. Returns NULL with ERR filled. The caller polls PQsocket() of the
 * session and calls os_notify_drain() when it is readable. */
PGconn *os_notify_listen(const char *url, const char *channel, int timeout_ms, char *err,
                         size_t errsz);

/* Reads what arrived on LISTEN session C and calls ON_NOTIFY with each
 * notification's payload. Returns 0, or -1 when the session is lost (the
 * caller PQfinish()es it and listens again later). */
int os_notify_drain(PGconn *c, void (*on_notify)(const char *payload, void *ctx), void *ctx);

#endif
