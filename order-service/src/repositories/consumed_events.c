/*
 * consumed_events in PostgreSQL (see consumed_events.h).
 */
#include "repositories/consumed_events.h"

#include <stdlib.h>

#include "models/order.h"
#include "utils/pg.h"

int os_repo_consumed_insert(PGconn *c, const char *source, const char *id, const char *type,
                            const char *order_id, const char *outcome, char *err, size_t errsz)
{
	/* A malformed order id is recorded without one rather than failing the
	 * whole transaction on the uuid cast. */
	static const os_pg_stmt_t insert = {"consumed_insert",
	                                    "INSERT INTO consumed_events (source, event_id, "
	                                    "event_type, order_id, outcome) VALUES ($1, $2, $3, "
	                                    "$4::uuid, $5) ON CONFLICT DO NOTHING",
	                                    5};
	const char *p[5] = {source, id, type,
	                    order_id != NULL && eda_uuid_valid(order_id) ? order_id : NULL,
	                    outcome};
	PGresult *r = os_pg_run(c, &insert, p, err, errsz, NULL);
	int rc;

	if (r == NULL)
		return -1;
	rc = atoi(PQcmdTuples(r)) > 0 ? 1 : 0;
	PQclear(r);
	return rc;
}

int os_repo_consumed_set_outcome(PGconn *c, const char *source, const char *id, const char *outcome,
                                 char *err, size_t errsz)
{
	const char *p[3] = {source, id, outcome};
	PGresult *r = os_pg_exec(c,
	                         "UPDATE consumed_events SET outcome = $3 "
	                         "WHERE source = $1 AND event_id = $2",
	                         3, p, err, errsz, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 1;
}
