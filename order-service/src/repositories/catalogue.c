/*
 * The catalogue replica in PostgreSQL (see catalogue.h).
 */
#include "repositories/catalogue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/errbuf.h"
#include "repositories/orders.h"
#include "utils/pg.h"

int os_repo_catalogue_upsert(PGconn *c, const char *sku, const char *name, int64_t price,
                             const char *currency, long long version, char *err, size_t errsz)
{
	/* The WHERE of the update is what makes a replay harmless: an event
	 * that is not newer than the row changes nothing (0 rows). */
	static const os_pg_stmt_t upsert = {
	        "catalogue_upsert",
	        "INSERT INTO catalogue (sku, name, price_cents, currency, version, updated_at) "
	        "VALUES ($1, $2, $3::bigint, $4, $5::bigint, now()) ON CONFLICT (sku) DO UPDATE "
	        "SET name = excluded.name, price_cents = excluded.price_cents, "
	        "currency = excluded.currency, version = excluded.version, updated_at = now() "
	        "WHERE catalogue.version < excluded.version",
	        5};
	char cents[24], ver[24];
	const char *p[5] = {sku, name, cents, currency, ver};
	PGresult *r;
	int rc;

	snprintf(cents, sizeof(cents), "%" PRId64, price);
	snprintf(ver, sizeof(ver), "%lld", version);
	if ((r = os_pg_run(c, &upsert, p, err, errsz, NULL)) == NULL)
		return -1;
	rc = atoi(PQcmdTuples(r)) > 0 ? 1 : 0;
	PQclear(r);
	return rc;
}

int os_repo_catalogue_find(PGconn *c, const os_order_t *o, os_product_t *out, char *err,
                           size_t errsz)
{
	/* One index probe per SKU of the order, whatever the catalogue's size. */
	static const os_pg_stmt_t find = {
	        "catalogue_find",
	        "SELECT sku, price_cents, currency, version FROM catalogue "
	        "WHERE sku = ANY($1::text[])",
	        1};
	char *skus = os_repo_order_array(o, 0);
	const char *p[1] = {skus};
	PGresult *r = os_pg_run(c, &find, p, err, errsz, NULL);
	int n = -1;

	free(skus);
	if (r == NULL)
		return -1;
	if ((size_t)PQntuples(r) > o->nitems) { /* sku is the key: cannot happen */
		eda_errf(err, errsz, "catalogue: more rows than SKUs asked for");
		goto out;
	}
	for (n = 0; n < PQntuples(r); n++) {
		snprintf(out[n].sku, sizeof(out[n].sku), "%s", PQgetvalue(r, n, 0));
		out[n].price = strtoll(PQgetvalue(r, n, 1), NULL, 10);
		snprintf(out[n].currency, sizeof(out[n].currency), "%s", PQgetvalue(r, n, 2));
		out[n].version = strtoll(PQgetvalue(r, n, 3), NULL, 10);
	}
out:
	PQclear(r);
	return n;
}
