/*
 * Drops one database of the MongoDB-compatible store, for bench/system/run.sh
 * to remove the inventory data of its run (FerretDB keeps each database as a
 * schema of PostgreSQL tables: left behind, every run added about 60 MB, and
 * the next run paid for autovacuum analysing the last one's ledger).
 *
 *   dropdb MONGODB_URL DATABASE      exit 0 dropped or absent, 1 error, 2 usage
 */
#define _GNU_SOURCE
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	bson_error_t error;
	mongoc_client_t *client;
	mongoc_database_t *db;
	int rc = 0;

	if (argc != 3 || argv[2][0] == '\0') {
		fprintf(stderr, "usage: dropdb MONGODB_URL DATABASE\n");
		return 2;
	}
	mongoc_init();
	/* The driver's own warnings (FerretDB has no endSessions, which the
	 * driver sends at every close) would bury ours; errors are printed here. */
	mongoc_log_set_handler(NULL, NULL);
	client = mongoc_client_new(argv[1]);
	if (client == NULL) {
		fprintf(stderr, "dropdb: not a MongoDB URL: %s\n", argv[1]);
		mongoc_cleanup();
		return 2;
	}
	db = mongoc_client_get_database(client, argv[2]);
	if (!mongoc_database_drop(db, &error) && strstr(error.message, "not found") == NULL) {
		fprintf(stderr, "dropdb: %s: %s\n", argv[2], error.message);
		rc = 1;
	}
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return rc;
}
