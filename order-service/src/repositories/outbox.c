/*
 * The outbox in PostgreSQL (see outbox.h): rows, the relay's session and
 * leader lock, and the retention purge of the three tables that would
 * otherwise grow for ever.
 */
#include "repositories/outbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/database.h"
#include "eda/alloc.h"
#include "repositories/notify.h"
#include "utils/pg.h"

/* An arbitrary constant naming "the order-service outbox relay" among
 * advisory locks: its holder is the one relay that publishes. */
#define RELAY_LOCK "7401923002"

int os_repo_outbox_insert(PGconn *c, const char *aggregate_id, const char *topic, const char *type,
                          const char *event_id, const char *payload, char *err, size_t errsz)
{
	static const os_pg_stmt_t insert = {"outbox_insert",
	                                    "INSERT INTO outbox (aggregate_id, topic, event_type, "
	                                    "event_id, payload) VALUES ($1::uuid, $2, $3, $4, $5)",
	                                    5};
	const char *p[5] = {aggregate_id, topic, type, event_id, payload};
	PGresult *r = os_pg_run(c, &insert, p, err, errsz, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 1;
}

int os_repo_outbox_fetch(PGconn *c, int limit, long long after, const long long *gaps, size_t ngaps,
                         os_outbox_row_t **rows, char *err, size_t errsz)
{
	char lim[16], from[24];
	size_t cap = 3 + ngaps * 21, len = 0;
	char *list = eda_xmalloc(cap);
	const char *p[3] = {lim, from, list};
	PGresult *r;
	int n;
	/* Two probes of outbox_unpublished, each starting where it should (an
	 * OR of the two let the planner walk the index from its start). */
	static const os_pg_stmt_t fetch = {
	        "outbox_fetch",
	        "SELECT id, aggregate_id::text, topic, event_type, payload, "
	        "extract(epoch FROM created_at)::float8 FROM ("
	        "(SELECT * FROM outbox WHERE published_at IS NULL AND id > $2::bigint "
	        "ORDER BY id LIMIT $1::int) UNION "
	        "(SELECT * FROM outbox WHERE published_at IS NULL "
	        "AND id = ANY($3::bigint[]))) o ORDER BY id LIMIT $1::int",
	        3};

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(from, sizeof(from), "%lld", after);
	list[len++] = '{';
	for (size_t i = 0; i < ngaps; i++)
		len += (size_t)snprintf(list + len, cap - len, "%s%lld", i ? "," : "", gaps[i]);
	snprintf(list + len, cap - len, "}");
	r = os_pg_run(c, &fetch, p, err, errsz, NULL);
	free(list);
	*rows = NULL;
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	*rows = eda_xcalloc((size_t)(n > 0 ? n : 1), sizeof(**rows));
	for (int i = 0; i < n; i++) {
		os_outbox_row_t *row = &(*rows)[i];

		row->id = atoll(PQgetvalue(r, i, 0));
		row->aggregate_id = eda_xstrdup(PQgetvalue(r, i, 1));
		row->topic = eda_xstrdup(PQgetvalue(r, i, 2));
		row->type = eda_xstrdup(PQgetvalue(r, i, 3));
		row->payload = eda_xstrdup(PQgetvalue(r, i, 4));
		row->created_at = strtod(PQgetvalue(r, i, 5), NULL);
	}
	PQclear(r);
	return n;
}

void os_repo_outbox_free(os_outbox_row_t *rows, int n)
{
	if (rows == NULL)
		return;
	for (int i = 0; i < n; i++) {
		free(rows[i].aggregate_id);
		free(rows[i].topic);
		free(rows[i].type);
		free(rows[i].payload);
	}
	free(rows);
}

/* Appends "{a,b,c}" array literals of the delivered rows' ids and times. */
int os_repo_outbox_mark(PGconn *c, const os_outbox_row_t *rows, int n, char *err, size_t errsz)
{
	/* The ids are the index condition, so no plan can read more rows than
	 * it marks. The connection keeps a generic plan made while the table
	 * was small; as a join with unnest($1, $2) that plan was a hash join
	 * reading every unpublished row per mark, so a backlog made marks slow
	 * and the backlog longer. array_position over a batch of 500 costs
	 * about what the join's lookups did. */
	static const os_pg_stmt_t mark = {
	        "outbox_mark",
	        "UPDATE outbox SET published_at = "
	        "to_timestamp(($2::float8[])[array_position($1::bigint[], id)]) "
	        "WHERE id = ANY($1::bigint[]) AND published_at IS NULL",
	        2};
	size_t cap = 16 + (size_t)n * 32, il = 0, tl = 0;
	char *ids = eda_xmalloc(cap), *times = eda_xmalloc(cap);
	const char *p[2] = {ids, times};
	PGresult *r;
	int marked = 0, rc;

	ids[il++] = '{';
	times[tl++] = '{';
	for (int i = 0; i < n; i++) {
		if (rows[i].status != 1)
			continue;
		il += (size_t)snprintf(ids + il, cap - il, "%s%lld", marked ? "," : "", rows[i].id);
		tl += (size_t)snprintf(times + tl, cap - tl, "%s%.6f", marked ? "," : "",
		                       rows[i].delivered_at);
		marked++;
	}
	snprintf(ids + il, cap - il, "}");
	snprintf(times + tl, cap - tl, "}");
	if (marked == 0) {
		rc = 0;
		goto out;
	}
	r = os_pg_run(c, &mark, p, err, errsz, NULL);
	if (r == NULL) {
		rc = -1;
		goto out;
	}
	rc = atoi(PQcmdTuples(r));
	PQclear(r);
out:
	free(ids);
	free(times);
	return rc;
}

long long os_repo_outbox_pending(PGconn *c, char *err, size_t errsz)
{
	PGresult *r = os_pg_exec(c, "SELECT count(*) FROM outbox WHERE published_at IS NULL", 0,
	                         NULL, err, errsz, NULL);
	long long n;

	if (r == NULL)
		return -1;
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* Rows per purge statement: each one a short transaction well inside the
 * session's statement_timeout, however much piled up (the first purge after
 * a long pause, a backlog just published). */
#define PURGE_BATCH 5000

long long os_repo_purge(PGconn *c, long retention_s, char *err, size_t errsz)
{
	/* Each picks at most $2 rows through its time index (published_at,
	 * consumed_at, created_at) and deletes them by their row address, a TID
	 * scan: a join of the table with the picked keys was planned as a hash
	 * join reading the whole table. */
	static const char *const stmts[] = {
	        "DELETE FROM outbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM outbox WHERE "
	        "published_at < now() - $1::bigint * interval '1 second' LIMIT $2::int))",
	        "DELETE FROM consumed_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
	        "consumed_events WHERE consumed_at < now() - $1::bigint * interval '1 second' "
	        "LIMIT $2::int))",
	        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
	        "idempotency_keys WHERE created_at < now() - $1::bigint * interval '1 second' "
	        "LIMIT $2::int))",
	};
	char ret[24], lim[16];
	const char *p[2] = {ret, lim};
	long long total = 0;

	snprintf(ret, sizeof(ret), "%ld", retention_s);
	snprintf(lim, sizeof(lim), "%d", PURGE_BATCH);
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		long long n;

		do {
			PGresult *r = os_pg_exec(c, stmts[i], 2, p, err, errsz, NULL);

			if (r == NULL)
				return -1;
			n = atoll(PQcmdTuples(r));
			total += n;
			PQclear(r);
		} while (n == PURGE_BATCH);
	}
	return total;
}

PGconn *os_repo_outbox_session(const char *url, int timeout_ms, char *err, size_t errsz)
{
	PGconn *c = os_db_connect(url, timeout_ms, err, errsz);

	if (c != NULL && os_pg_cmd(c, "SET synchronous_commit = off", err, errsz) != 0) {
		PQfinish(c);
		c = NULL;
	}
	return c;
}

int os_repo_outbox_lead(PGconn *c, char *err, size_t errsz)
{
	PGresult *r = os_pg_exec(c, "SELECT pg_try_advisory_lock(" RELAY_LOCK ")", 0, NULL, err,
	                         errsz, NULL);
	bool got;

	if (r == NULL)
		return -1;
	got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!got)
		return 0;
	return os_pg_cmd(c, "LISTEN " OS_CHANNEL_OUTBOX, err, errsz) != 0 ? -1 : 1;
}
