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
 * lazily, each within TIMEOUT_MS, which is also the deadline of each of their
 * round trips and their statement_timeout (os_db_connect). Never NULL. */
os_db_pool_t *os_db_pool_new(const char *url, int size, int timeout_ms);

/* Closes every idle connection and frees the pool; every connection must have
 * been checked in. NULL is fine. */
void os_db_pool_free(os_db_pool_t *p);

/* A healthy connection, waiting up to WAIT_MS for one to be free (plus the
 * pool's timeout to open one). Returns NULL with ERR filled on timeout or
 * when PostgreSQL cannot be reached. */
PGconn *os_db_checkout(os_db_pool_t *p, int wait_ms, char *err, size_t errsz);

/* Readiness: a pooled connection answers "SELECT 1", all within BUDGET_MS
 * (waiting for a free connection, opening one, the round trip). Returns 0, or
 * -1 with ERR filled. */
int os_db_probe(os_db_pool_t *p, int budget_ms, char *err, size_t errsz);

/* Gives C back. A connection that is broken or left inside a transaction is
 * closed rather than reused. */
void os_db_checkin(os_db_pool_t *p, PGconn *c);

/* Opens a dedicated connection to URL with the daemon's session settings:
 * the handshake, every later round trip (client side) and every statement
 * (statement_timeout, server side) bounded by TIMEOUT_MS; TCP keepalives and
 * tcp_user_timeout to match. A URL that sets keepalives*, tcp_user_timeout or
 * options itself keeps its values. Returns NULL with ERR filled (redacted). */
PGconn *os_db_connect(const char *url, int timeout_ms, char *err, size_t errsz);

#endif
