/*
 * Cross-replica wake-ups through PostgreSQL NOTIFY, sent AFTER the commit of
 * the change they announce and coalesced on a thread of their own.
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
#ifndef OS_NOTIFIER_H
#define OS_NOTIFIER_H

#include <stddef.h>

#define OS_CHANNEL_OUTBOX "order_service_outbox"
#define OS_CHANNEL_STATUS "order_service_status"

typedef struct os_notifier os_notifier_t;

/* Starts the thread; URL is copied; its session's connect and round trips
 * are bounded by TIMEOUT_MS. Returns NULL with ERR filled. */
os_notifier_t *os_notifier_start(const char *url, int timeout_ms, char *err, size_t errsz);

/* Stops the thread (sending what is pending first) and frees N. NULL is fine. */
void os_notifier_stop(os_notifier_t *n);

/* Asks for a NOTIFY on the outbox channel. N may be NULL (no-op). */
void os_notifier_outbox(os_notifier_t *n);

/* Asks for a NOTIFY on the status channel with ORDER_ID. N may be NULL. */
void os_notifier_status(os_notifier_t *n, const char *order_id);

/* Number of NOTIFY round trips sent so far (for the benchmark's report). */
unsigned long os_notifier_sent(os_notifier_t *n);

#endif
