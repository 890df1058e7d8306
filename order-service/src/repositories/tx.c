/*
 * Transactions of the pooled connections (see tx.h).
 */
#include "repositories/tx.h"

#include "utils/pg.h"

int os_repo_begin(PGconn *c, char *err, size_t errsz)
{
	return os_pg_cmd(c, "BEGIN", err, errsz);
}

int os_repo_commit(PGconn *c, char *err, size_t errsz)
{
	return os_pg_cmd(c, "COMMIT", err, errsz);
}

void os_repo_rollback(PGconn *c)
{
	os_pg_rollback(c);
}
