/*
 * The retention purge's thread: every PURGE_INTERVAL_SECONDS (first about
 * 10 s after start) it deletes the outbox rows and claims older than
 * RETENTION_SECONDS (repositories/retention.h for what goes, what stays
 * and why). A failure is logged and tried again at the next interval.
 */
#ifndef INV_SERVICES_RETENTION_H
#define INV_SERVICES_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "config/database.h"

typedef struct inv_retention inv_retention_t;

/* Starts the thread on DB. NULL with ERR if it cannot start. */
inv_retention_t *inv_retention_start(inv_db_t *db, long retention_s, long interval_s, char *err,
                                     size_t errsz);

/* One purge now of what is older than NOW_MS - RETENTION_S. Returns the rows
 * deleted, or -1 with ERR. */
long inv_retention_purge(inv_db_t *db, long retention_s, int64_t now_ms, char *err, size_t errsz);

/* Stops the thread (an ongoing purge finishes its chunk) and frees R. R may
 * be NULL. */
void inv_retention_stop(inv_retention_t *r);

#endif
