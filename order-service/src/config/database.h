/*
 * A small pool of libpq connections shared by the HTTP handlers, the consumers
 * and the long-poll waiters. A connection is checked out for one unit of work
 * (a statement or a transaction) and checked back in at once; a broken one is
 * closed on check-in and reopened by the next checkout. Waiting for a free
 * connection is bounded, so a saturated pool turns into 503s, not a pile-up.
 *
 * The relay and the notification listeners do NOT use the pool: they hold
 * dedicated sessions (advisory lock, LISTEN) opened with os_db_connect().
 */
#ifndef OS_DATABASE_H
#define OS_DATABASE_H

#include <libpq-fe.h>
#include <stddef.h>

typedef struct os_db_pool os_db_pool_t;

/* A pool of at most SIZE connections to URL (copied). Connections are opened
 * lazily. Never NULL. */
os_db_pool_t *os_db_pool_new(const char *url, int size);

/* Closes every idle connection and frees the pool; every connection must have
 * been checked in. NULL is fine. */
void os_db_pool_free(os_db_pool_t *p);

/* A healthy connection, waiting up to WAIT_MS for one to be free. Returns NULL
 * with ERR filled on timeout or when PostgreSQL cannot be reached. */
PGconn *os_db_checkout(os_db_pool_t *p, int wait_ms, char *err, size_t errsz);

/* Gives C back. A connection that is broken or left inside a transaction is
 * closed rather than reused. */
void os_db_checkin(os_db_pool_t *p, PGconn *c);

/* Opens a dedicated connection to URL with the daemon's session settings.
 * Returns NULL with ERR filled. */
PGconn *os_db_connect(const char *url, char *err, size_t errsz);

/* The URL the pool was made with. */
const char *os_db_pool_url(const os_db_pool_t *p);

#endif
