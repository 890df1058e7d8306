/*
 * Orders in PostgreSQL (see orders.h). Money crosses the boundary as text
 * ("49.99" <-> NUMERIC(13,2)) and timestamps as RFC 3339 UTC with
 * milliseconds, the form responses use.
 */
#include "repositories/orders.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/money.h"
#include "utils/pg.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The columns os_order_t is read from, in the order read_row expects. */
#define ORDER_COLS                                                                                 \
	"id::text, customer_id, customer_email, status, currency, total::text, "                   \
	"coalesce(reason, ''), " TS("created_at") ", " TS("updated_at") ", " TS(                   \
	        "confirmed_at") ", " TS("rejected_at") ", " TS("paid_at") ", " TS("cancelled_at") ", seq"
#define ITEMS_COL                                                                                  \
	"(SELECT json_agg(json_build_array(sku, quantity, unit_price::text) ORDER BY line) "       \
	"FROM order_items WHERE order_id = orders.id)"

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

static int read_row(PGresult *r, int row, os_order_t *o, int with_items, char *err, size_t errsz)
{
	static const os_status_t at_cols[] = {OS_CONFIRMED, OS_REJECTED, OS_PAID, OS_CANCELLED};

	memset(o, 0, sizeof(*o));
	copy(o->id, sizeof(o->id), PQgetvalue(r, row, 0));
	copy(o->customer_id, sizeof(o->customer_id), PQgetvalue(r, row, 1));
	copy(o->customer_email, sizeof(o->customer_email), PQgetvalue(r, row, 2));
	if (os_status_parse(PQgetvalue(r, row, 3), &o->status) != 0 ||
	    eda_money_parse_str(PQgetvalue(r, row, 5), &o->total) != 0) {
		eda_errf(err, errsz, "order %s: unreadable row", o->id);
		return -1;
	}
	copy(o->currency, sizeof(o->currency), PQgetvalue(r, row, 4));
	copy(o->reason, sizeof(o->reason), PQgetvalue(r, row, 6));
	copy(o->created_at, sizeof(o->created_at), PQgetvalue(r, row, 7));
	copy(o->updated_at, sizeof(o->updated_at), PQgetvalue(r, row, 8));
	copy(o->status_at[OS_PENDING], OS_TIME_LEN, o->created_at);
	for (int i = 0; i < 4; i++)
		copy(o->status_at[at_cols[i]], OS_TIME_LEN, PQgetvalue(r, row, 9 + i));
	if (with_items && !PQgetisnull(r, row, 14)) {
		json_t *a = json_loads(PQgetvalue(r, row, 14), 0, NULL);
		size_t i;
		json_t *line;

		if (!json_is_array(a)) {
			json_decref(a);
			eda_errf(err, errsz, "order %s: unreadable lines", o->id);
			return -1;
		}
		o->nitems = json_array_size(a);
		o->items = eda_xcalloc(o->nitems ? o->nitems : 1, sizeof(*o->items));
		json_array_foreach(a, i, line)
		{
			copy(o->items[i].sku, sizeof(o->items[i].sku),
			     json_string_value(json_array_get(line, 0)) ?: "");
			o->items[i].quantity = (int)json_integer_value(json_array_get(line, 1));
			eda_money_parse_str(json_string_value(json_array_get(line, 2)) ?: "0",
			                    &o->items[i].unit_price);
		}
		json_decref(a);
	}
	return 0;
}

char *os_repo_order_array(const os_order_t *o, int which)
{
	size_t cap = 16 + o->nitems * (OS_SKU_MAX + 24), len = 0;
	char *s = eda_xmalloc(cap);

	s[len++] = '{';
	for (size_t i = 0; i < o->nitems; i++) {
		char money[EDA_MONEY_STRLEN];

		if (i > 0)
			s[len++] = ',';
		if (which == 0) {
			len += (size_t)snprintf(s + len, cap - len, "\"%s\"", o->items[i].sku);
		} else if (which == 1) {
			len += (size_t)snprintf(s + len, cap - len, "%d", o->items[i].quantity);
		} else {
			eda_money_format(o->items[i].unit_price, money);
			len += (size_t)snprintf(s + len, cap - len, "%s", money);
		}
	}
	snprintf(s + len, cap - len, "}");
	return s;
}

/* The order, its lines and its OrderPlaced in one statement; with an
 * Idempotency-Key the order is inserted only if the key was new. */
#define INSERT_ORDER(key_cte, only_if_key)                                                         \
	"WITH " key_cte "o AS (INSERT INTO orders (id, customer_id, customer_email, status, "      \
	"currency, total, created_at, updated_at, correlation_id) SELECT $1::uuid, $2, $3, "       \
	"'PENDING', $4, $5::numeric, $6::timestamptz, $6::timestamptz, "                           \
	"($12::json->>'correlationid') " only_if_key " RETURNING id), "                            \
	"i AS (INSERT INTO order_items (order_id, line, sku, quantity, unit_price) "               \
	"SELECT o.id, t.line, t.sku, t.q, t.p FROM o, unnest($7::text[], $8::int[], "              \
	"$9::numeric[]) WITH ORDINALITY AS t(sku, q, p, line)), "                                  \
	"x AS (INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload) "           \
	"SELECT o.id, $10, 'OrderPlaced', $11, $12 FROM o) "                                       \
	"SELECT count(*) FROM o"

static const os_pg_stmt_t insert_order = {"order_insert", INSERT_ORDER("", ""), 12};
static const os_pg_stmt_t insert_order_keyed = {
        "order_insert_keyed",
        INSERT_ORDER("k AS (INSERT INTO idempotency_keys (customer_id, key, request_hash, "
                     "status_code, response_body, order_id) VALUES ($2, $13, "
                     "sha256(convert_to($14, 'UTF8')), 201, $15, $1::uuid) "
                     "ON CONFLICT DO NOTHING RETURNING 1), ",
                     "WHERE EXISTS (SELECT 1 FROM k)"),
        15};

int os_repo_order_insert(PGconn *c, const os_order_t *o, const os_place_write_t *w, char *err,
                         size_t errsz, char sqlstate[6])
{
	char total[EDA_MONEY_STRLEN];
	char *skus = os_repo_order_array(o, 0), *qty = os_repo_order_array(o, 1),
	     *prices = os_repo_order_array(o, 2);
	const char *p[15] = {o->id,
	                     o->customer_id,
	                     o->customer_email,
	                     o->currency,
	                     total,
	                     o->created_at,
	                     skus,
	                     qty,
	                     prices,
	                     w->topic,
	                     w->event_id,
	                     w->payload,
	                     w->idem_key,
	                     w->idem_canonical,
	                     w->idem_response};
	PGresult *r;
	int rc = -1;

	eda_money_format(o->total, total);
	r = os_pg_run(c, w->idem_key != NULL ? &insert_order_keyed : &insert_order, p, err, errsz,
	              sqlstate);
	if (r != NULL) {
		rc = atoi(PQgetvalue(r, 0, 0)) > 0 ? 1 : 0;
		PQclear(r);
	}
	free(skus);
	free(qty);
	free(prices);
	return rc;
}

int os_repo_order_get(PGconn *c, const char *id, int for_update, os_order_t *o, char *err,
                      size_t errsz)
{
	const char *p[1] = {id};
	PGresult *r;
	int rc;

	r = os_pg_exec(c,
	               for_update ? "SELECT " ORDER_COLS ", " ITEMS_COL
	                            " FROM orders WHERE id = $1::uuid FOR UPDATE"
	                          : "SELECT " ORDER_COLS ", " ITEMS_COL
	                            " FROM orders WHERE id = $1::uuid",
	               1, p, err, errsz, NULL);
	if (r == NULL)
		return -1;
	rc = PQntuples(r) == 0 ? 0 : read_row(r, 0, o, 1, err, errsz) == 0 ? 1 : -1;
	PQclear(r);
	return rc;
}

int os_repo_order_correlation(PGconn *c, const char *id, char *out, size_t outsz, char *err,
                              size_t errsz)
{
	const char *p[1] = {id};
	PGresult *r =
	        os_pg_exec(c, "SELECT coalesce(correlation_id, '') FROM orders WHERE id = $1::uuid",
	                   1, p, err, errsz, NULL);

	if (r == NULL)
		return -1;
	snprintf(out, outsz, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

int os_repo_order_set_status(PGconn *c, const char *id, os_status_t from, os_status_t to,
                             const char *reason, os_order_t *o, char *err, size_t errsz)
{
	/* clock_timestamp(), not now(): in a group-committed batch now() is when
	 * the batch began, and each order's time is its own (taken once, so
	 * updated_at equals the new status's time). */
	static const os_pg_stmt_t set_status = {
	        "order_set_status",
	        "UPDATE orders SET status = $2, updated_at = n.t, reason = coalesce($4, reason), "
	        "confirmed_at = CASE WHEN $2 = 'CONFIRMED' THEN n.t ELSE confirmed_at END, "
	        "rejected_at = CASE WHEN $2 = 'REJECTED' THEN n.t ELSE rejected_at END, "
	        "paid_at = CASE WHEN $2 = 'PAID' THEN n.t ELSE paid_at END, "
	        "cancelled_at = CASE WHEN $2 = 'CANCELLED' THEN n.t ELSE cancelled_at END "
	        "FROM (SELECT clock_timestamp() AS t) n "
	        "WHERE id = $1::uuid AND status = $3 RETURNING " ORDER_COLS,
	        4};
	const char *p[4] = {id, os_status_name(to), os_status_name(from),
	                    reason != NULL && reason[0] != '\0' ? reason : NULL};
	PGresult *r;
	int rc;

	r = os_pg_run(c, &set_status, p, err, errsz, NULL);
	if (r == NULL)
		return -1;
	rc = PQntuples(r) == 0 ? 0 : read_row(r, 0, o, 0, err, errsz) == 0 ? 1 : -1;
	PQclear(r);
	return rc;
}

int os_repo_order_list(PGconn *c, const char *customer, const os_status_t *status,
                       long long after_seq, int limit, os_order_t *out, long long *next_seq,
                       char *err, size_t errsz)
{
	char after[24], lim[16];
	const char *p[4] = {customer, status != NULL ? os_status_name(*status) : NULL,
	                    after_seq > 0 ? after : NULL, lim};
	PGresult *r;
	int n, got = 0;

	snprintf(after, sizeof(after), "%lld", after_seq);
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	r = os_pg_exec(c,
	               "SELECT " ORDER_COLS ", " ITEMS_COL " FROM orders "
	               "WHERE ($1::text IS NULL OR customer_id = $1) "
	               "AND ($2::text IS NULL OR status = $2) "
	               "AND ($3::bigint IS NULL OR seq < $3::bigint) "
	               "ORDER BY seq DESC LIMIT $4::int",
	               4, p, err, errsz, NULL);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	*next_seq = 0;
	for (int i = 0; i < n && i < limit; i++) {
		if (read_row(r, i, &out[i], 1, err, errsz) != 0) {
			for (int j = 0; j < got; j++)
				os_order_clear(&out[j]);
			PQclear(r);
			return -1;
		}
		got++;
	}
	if (n > limit)
		*next_seq = atoll(PQgetvalue(r, limit - 1, 13));
	PQclear(r);
	return got;
}
