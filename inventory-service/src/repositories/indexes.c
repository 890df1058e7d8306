/*
 * The indexes the design needs, created at every start (idempotent):
 *   ledger  _id = <sku>@<version>  (unique by nature; SKUs have no '@', so
 *                                   one entry per (sku, version)): optimistic
 *                                   concurrency per SKU
 *           unique op             each reservation/release/restock once
 *           order_id              finds what an order holds
 *   outbox  _id = <order id>/<kind> (unique by nature)
 *   claims  _id = <order id>, pending _id = <collection>/<key>
 * A separate unique index on (sku, version) would only repeat what _id
 * enforces, and made every append about twice as expensive on the
 * server measured (mongo-java-server); databases created before keep theirs,
 * which is harmless.
 */
#include "repositories/indexes.h"

#include <stdbool.h>

#include "eda/errbuf.h"
#include "repositories/mongo.h"

/* One createIndexes command per index: FerretDB 1.24 panics (and drops the
 * connection) when one command re-creates two or more indexes that already
 * exist, which is what every start after the first does; its handler deletes
 * the skipped ones from a shrinking list by their original position
 * (internal/handler/msg_createindexes.go). One index per command never
 * shrinks that list past its end, and is correct on MongoDB too. */
static int create_index(mongoc_database_t *d, const char *coll, const char *field, bool unique,
                        char *err, size_t errsz)
{
	bson_error_t be;
	bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8(coll), "indexes", "[", "{", "key", "{",
	                       BCON_UTF8(field), BCON_INT32(1), "}", "name", BCON_UTF8(field),
	                       "unique", BCON_BOOL(unique), "}", "]");
	bool ok = mongoc_database_write_command_with_opts(d, cmd, NULL, NULL, &be);

	bson_destroy(cmd);
	if (!ok) {
		eda_errf(err, errsz, "createIndexes %s.%s: %s", coll, field, be.message);
		return -1;
	}
	return 0;
}

int inv_indexes_ensure(inv_db_t *db, char *err, size_t errsz)
{
	static const struct {
		const char *coll, *field;
		bool unique;
	} indexes[] = {
	        {INV_COLL_LEDGER, "op", true},
	        {INV_COLL_LEDGER, "order_id", false},
	};
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_database_t *d = mongoc_client_get_database(c, inv_db_name(db));
	bson_t *cmd = BCON_NEW("buildInfo", BCON_INT32(1));
	bson_t reply;
	bson_error_t be;
	int rc = 0;

	if (mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &be)) {
		inv_db_set_ferretdb(db, bson_has_field(&reply, "ferretdbVersion"));
	} else {
		eda_errf(err, errsz, "buildInfo: %s", be.message);
		rc = -1;
	}
	bson_destroy(&reply);
	bson_destroy(cmd);
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]) && rc == 0; i++)
		rc = create_index(d, indexes[i].coll, indexes[i].field, indexes[i].unique, err,
		                  errsz);
	mongoc_database_destroy(d);
	inv_db_release(db, c);
	return rc;
}
