/*
 * payments in PostgreSQL (see payments.h).
 */
#include "repositories/payments.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "utils/pg.h"

int os_repo_payment_insert(PGconn *c, const char *order_id, const char *payment_id,
                           const char *kind, int64_t amount, const char *currency,
                           const char *outcome, char *err, size_t errsz)
{
	static const os_pg_stmt_t insert = {
	        "payment_insert",
	        "INSERT INTO payments (order_id, payment_id, kind, amount_cents, currency, "
	        "outcome) VALUES ($1::uuid, $2, $3, $4::bigint, $5, $6) ON CONFLICT DO NOTHING",
	        6};
	char cents[24];
	const char *p[6] = {order_id, payment_id, kind, cents, currency, outcome};
	PGresult *r;
	int rc;

	snprintf(cents, sizeof(cents), "%" PRId64, amount);
	if ((r = os_pg_run(c, &insert, p, err, errsz, NULL)) == NULL)
		return -1;
	rc = atoi(PQcmdTuples(r)) > 0 ? 1 : 0;
	PQclear(r);
	return rc;
}
