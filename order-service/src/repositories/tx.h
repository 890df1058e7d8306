/*
 * Transactions on a connection checked out of the pool (config/database.h):
 * the one place where services/ gets BEGIN, COMMIT and ROLLBACK, so that no
 * SQL text lives above repositories/. The repository calls made in between
 * (orders.c, outbox.c, consumed_events.c, payments.c) all belong to the
 * transaction.
 */
#ifndef OS_REPO_TX_H
#define OS_REPO_TX_H

#include <libpq-fe.h>
#include <stddef.h>

/* Opens a transaction on C. Returns 0 or -1 with ERR filled. */
int os_repo_begin(PGconn *c, char *err, size_t errsz);

/* Commits C's transaction: 0 when it is durable, or -1 with ERR filled (then
 * nothing of it is; roll back before checking C in). */
int os_repo_commit(PGconn *c, char *err, size_t errsz);

/* Rolls back whatever transaction C has open, ignoring errors (a broken
 * connection is closed by the pool at check-in anyway). */
void os_repo_rollback(PGconn *c);

#endif
