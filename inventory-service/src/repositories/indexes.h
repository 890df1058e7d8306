/*
 * What the database needs before the daemon queries it: the indexes the
 * guarantees rest on (created idempotently at every start) and which server
 * answers (MongoDB or FerretDB, whose costs differ; config/database.h).
 * The collections themselves are made by their first insert.
 */
#ifndef INV_REPO_INDEXES_H
#define INV_REPO_INDEXES_H

#include <stddef.h>

#include "config/database.h"

/* Learns which server DB is (inv_db_is_ferretdb) and creates the indexes
 * (idempotent). Returns 0, or -1 with ERR. */
int inv_indexes_ensure(inv_db_t *db, char *err, size_t errsz);

#endif
