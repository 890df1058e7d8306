/*
 * SQL for the record of consumed events, which makes each event's effect
 * happen once however often Kafka delivers it (see repositories/orders.h for
 * the conventions).
 */
#ifndef OS_REPO_CONSUMED_H
#define OS_REPO_CONSUMED_H

#include <libpq-fe.h>
#include <stddef.h>

/* Records event (SOURCE, ID) inside the caller's transaction. Returns 1 when
 * it is new, 0 when it was already recorded (a redelivery), -1 on error. */
int os_repo_consumed_insert(PGconn *c, const char *source, const char *id, const char *type,
                            const char *order_id, const char *outcome, char *err, size_t errsz);

/* Rewrites the outcome of a recorded event ("applied", "ignored: ..."). */
int os_repo_consumed_set_outcome(PGconn *c, const char *source, const char *id, const char *outcome,
                                 char *err, size_t errsz);

#endif
