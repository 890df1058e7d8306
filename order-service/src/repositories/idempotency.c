/*
 * idempotency_keys in PostgreSQL (see idempotency.h). The hash is computed by
 * PostgreSQL (sha256) on both sides of the comparison so that C needs no
 * crypto library for it.
 */
#include "repositories/idempotency.h"

#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "utils/pg.h"

int os_repo_idempotency_get(PGconn *c, const char *customer, const char *key, const char *canonical,
                            bool *same_request, int *status, char **body, char *err, size_t errsz)
{
	const char *p[3] = {customer, key, canonical};
	PGresult *r = os_pg_exec(c,
	                         "SELECT request_hash = sha256(convert_to($3, 'UTF8')), "
	                         "status_code, response_body FROM idempotency_keys "
	                         "WHERE customer_id = $1 AND key = $2",
	                         3, p, err, errsz, NULL);
	int rc;

	if (r == NULL)
		return -1;
	rc = PQntuples(r) > 0;
	if (rc) {
		*same_request = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		*status = atoi(PQgetvalue(r, 0, 1));
		*body = eda_xstrdup(PQgetvalue(r, 0, 2));
	}
	PQclear(r);
	return rc;
}
