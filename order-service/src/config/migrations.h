/*
 * Schema migrations: DIR holds NNN_name.sql files, applied in numeric order,
 * each once, each in its own transaction together with its row in
 * schema_migrations. The whole run holds a session advisory lock, so two
 * replicas starting at the same moment apply each file exactly once: the
 * second waits, then finds nothing left to do.
 *
 * R_name.sql files are repeatable: run after the numbered ones, in name order,
 * at every start, each in its own transaction, not recorded. They must be
 * idempotent (CREATE ... IF NOT EXISTS). They hold derived state that the
 * daemon can rebuild, such as the catalogue replica: a table of it that was
 * dropped comes back at the next start.
 */
#ifndef OS_MIGRATIONS_H
#define OS_MIGRATIONS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "config/database.h"

/* Applies what is missing and the repeatables. Returns the number of
 * numbered files applied (>= 0), or -1
 * with ERR filled (a bad file name, an unreadable file, a failing statement:
 * nothing of that file is applied). */
int os_migrate(PGconn *c, const char *dir, char *err, size_t errsz);

/* os_migrate on a connection of POOL (waiting up to WAIT_MS for one) with
 * TIMEOUT_MS as the deadline of each statement and round trip instead of the
 * pool's DB_TIMEOUT_MS, which the connection gets back before its check-in.
 * Same return values. */
int os_migrate_pooled(os_db_pool_t *pool, int wait_ms, const char *dir, int timeout_ms,
                      int db_timeout_ms, char *err, size_t errsz);

#endif
