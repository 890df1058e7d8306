/*
 * The process's mongoc client pool and the indexes the design needs:
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
#include "config/database.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"

struct inv_db {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	/* /readyz's own client, with deadlines of at most INV_DB_PROBE_TIMEOUT_MS:
	 * a pooled client would wait for the pool and for the full request
	 * deadline. A single-threaded client, so one probe at a time. */
	mongoc_client_t *probe;
	pthread_mutex_t probe_mu;
	char name[128];
	inv_db_command_fn observer;
	void *observer_ctx;
	/* Written once by inv_db_ensure_indexes, before any query thread runs. */
	bool ferretdb;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The driver's own messages join the daemon's JSON log instead of its
 * plain stderr lines. Its farewell "endSessions", which FerretDB 1.24 does
 * not implement, fails at every pool shutdown and means nothing: the server
 * never kept the session. */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                       void *unused)
{
	eda_log_level_t to;

	(void)unused;
	if (level <= MONGOC_LOG_LEVEL_ERROR)
		to = EDA_LOG_ERROR;
	else if (level == MONGOC_LOG_LEVEL_WARNING)
		to = EDA_LOG_WARN;
	else if (level <= MONGOC_LOG_LEVEL_INFO)
		to = EDA_LOG_INFO;
	else
		return; /* debug and trace: the driver's internals, too many */
	if (strstr(message, "endSessions") != NULL)
		to = EDA_LOG_DEBUG;
	eda_log(to, "mongoc", "domain", domain, "why", message, NULL);
}

static void init_driver(void)
{
	mongoc_init();
	mongoc_log_set_handler(driver_log, NULL);
}

/* Sets the deadline option NAME of URI to MS unless the URL set it. */
static void default_deadline(mongoc_uri_t *uri, const char *name, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, name))
		mongoc_uri_set_option_as_int32(uri, name, ms);
}

/* The probe's client: every deadline of the URI capped at INV_DB_PROBE_TIMEOUT_MS,
 * whatever the URL says, so that /readyz answers within about a second. */
static mongoc_client_t *probe_client(const mongoc_uri_t *uri)
{
	static const char *const deadlines[] = {MONGOC_URI_SOCKETTIMEOUTMS,
	                                        MONGOC_URI_CONNECTTIMEOUTMS,
	                                        MONGOC_URI_SERVERSELECTIONTIMEOUTMS};
	mongoc_uri_t *copy = mongoc_uri_copy(uri);
	mongoc_client_t *c;

	for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
		int32_t ms =
		        mongoc_uri_get_option_as_int32(copy, deadlines[i], INV_DB_PROBE_TIMEOUT_MS);

		mongoc_uri_set_option_as_int32(
		        copy, deadlines[i],
		        ms > 0 && ms < INV_DB_PROBE_TIMEOUT_MS ? ms : INV_DB_PROBE_TIMEOUT_MS);
	}
	c = mongoc_client_new_from_uri(copy);
	if (c != NULL)
		mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
	mongoc_uri_destroy(copy);
	return c;
}

inv_db_t *inv_db_open(const char *url, const char *dbname, long pool_size, long timeout_ms,
                      char *err, size_t errsz)
{
	bson_error_t be;
	inv_db_t *db;
	const char *from_url;
	int32_t deadline = (int32_t)(timeout_ms > 0 ? timeout_ms : INV_DB_DEFAULT_TIMEOUT_MS);

	pthread_once(&init_once, init_driver);
	db = eda_xcalloc(1, sizeof(*db));
	pthread_mutex_init(&db->probe_mu, NULL);
	db->uri = mongoc_uri_new_with_error(url, &be);
	if (db->uri == NULL) {
		eda_errf(err, errsz, "MONGODB_URL: %s", be.message);
		goto fail;
	}
	/* Every call must fail within a bounded time when the server is away
	 * or hung, so that a request gets a fast 503 and the consumer retries
	 * with backoff instead of hanging: the driver's own socket deadline is
	 * 5 minutes. Options the URL sets win. */
	default_deadline(db->uri, MONGOC_URI_SOCKETTIMEOUTMS, deadline);
	default_deadline(db->uri, MONGOC_URI_CONNECTTIMEOUTMS, deadline);
	default_deadline(db->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, deadline);
	if (!mongoc_uri_has_option(db->uri, MONGOC_URI_APPNAME))
		mongoc_uri_set_appname(db->uri, "inventory-service");
	from_url = mongoc_uri_get_database(db->uri);
	if (dbname != NULL && dbname[0] != '\0')
		snprintf(db->name, sizeof(db->name), "%s", dbname);
	else
		snprintf(db->name, sizeof(db->name), "%s",
		         from_url != NULL && from_url[0] != '\0' ? from_url : "inventory");
	db->pool = mongoc_client_pool_new_with_error(db->uri, &be);
	if (db->pool == NULL) {
		eda_errf(err, errsz, "MONGODB_URL: %s", be.message);
		goto fail;
	}
	mongoc_client_pool_set_error_api(db->pool, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_pool_max_size(db->pool, (uint32_t)pool_size);
	db->probe = probe_client(db->uri);
	if (db->probe == NULL) {
		eda_errf(err, errsz, "MONGODB_URL: cannot make the readiness client");
		goto fail;
	}
	return db;
fail:
	inv_db_close(db);
	return NULL;
}

const char *inv_db_name(const inv_db_t *db)
{
	return db->name;
}

mongoc_client_t *inv_db_acquire(inv_db_t *db)
{
	return mongoc_client_pool_pop(db->pool);
}

void inv_db_release(inv_db_t *db, mongoc_client_t *client)
{
	if (client != NULL)
		mongoc_client_pool_push(db->pool, client);
}

mongoc_collection_t *inv_db_collection(inv_db_t *db, mongoc_client_t *client, const char *name)
{
	return mongoc_client_get_collection(client, db->name, name);
}

/* Transient marks of inv_db_insert_unordered, never returned. */
enum {
	INV_DB_UNLISTED = -100, /* not named by the reply's writeErrors */
	INV_DB_REFUSED = -101,  /* named, for another reason than a duplicate */
};

bool inv_db_is_duplicate(const bson_error_t *err)
{
	return err->code == 11000 || err->code == 11001 || strstr(err->message, "E11000") != NULL ||
	       strstr(err->message, "duplicate key") != NULL;
}

/* One element of writeErrors: the refused document's index (UINT32_MAX if
 * absent) and whether it was refused as a duplicate key. */
static void write_error(const bson_iter_t *it, uint32_t *index, bool *dup)
{
	bson_iter_t sub;
	bson_error_t be = {0};

	*index = UINT32_MAX;
	*dup = false;
	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub))
		return;
	while (bson_iter_next(&sub)) {
		const char *k = bson_iter_key(&sub);

		if (strcmp(k, "index") == 0 && BSON_ITER_HOLDS_NUMBER(&sub))
			*index = (uint32_t)bson_iter_as_int64(&sub);
		else if (strcmp(k, "code") == 0 && BSON_ITER_HOLDS_NUMBER(&sub))
			be.code = (uint32_t)bson_iter_as_int64(&sub);
		else if (strcmp(k, "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&sub))
			snprintf(be.message, sizeof(be.message), "%s", bson_iter_utf8(&sub, NULL));
	}
	*dup = inv_db_is_duplicate(&be);
}

/* Reads the writeErrors of REPLY (see inv_db_mark_duplicates); *LISTED
 * gets how many distinct documents they name. */
static size_t mark_write_errors(const bson_t *reply, size_t n, int *rcs, int dup_rc, size_t *listed)
{
	bson_iter_t it, errs;
	size_t first = n;

	*listed = 0;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !bson_iter_recurse(&it, &errs))
		return n;
	while (bson_iter_next(&errs)) {
		uint32_t idx;
		bool dup;

		write_error(&errs, &idx, &dup);
		if (idx >= n)
			continue;
		/* A second error for one document counts it once. */
		if (rcs[idx] != dup_rc && rcs[idx] != INV_DB_REFUSED)
			(*listed)++;
		rcs[idx] = dup ? dup_rc : INV_DB_REFUSED;
		if (idx < first)
			first = idx;
	}
	return first;
}

size_t inv_db_mark_duplicates(const bson_t *reply, size_t n, int *rcs, int dup_rc)
{
	int *marks = eda_xcalloc(n + 1, sizeof(*marks));
	size_t listed, first = mark_write_errors(reply, n, marks, dup_rc, &listed);

	for (size_t i = 0; i < n; i++)
		if (marks[i] == dup_rc)
			rcs[i] = dup_rc;
	free(marks);
	return first;
}

/* The insertedCount of an insert's REPLY, or -1 when it has none. */
static int64_t inserted_count(const bson_t *reply)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, reply, "insertedCount") || !BSON_ITER_HOLDS_NUMBER(&it))
		return -1;
	return bson_iter_as_int64(&it);
}

bool inv_db_insert_unordered(mongoc_collection_t *coll, bson_t **docs, size_t n, int *rcs,
                             bson_error_t *be)
{
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	bson_t reply;
	bool ok = mongoc_collection_insert_many(coll, (const bson_t **)docs, n, opts, &reply, be);

	for (size_t i = 0; i < n; i++)
		rcs[i] = ok ? INV_REPO_OK : INV_DB_UNLISTED;
	if (!ok) {
		size_t listed;

		mark_write_errors(&reply, n, rcs, INV_REPO_DUP, &listed);
		/* An unordered insert tries every document and lists each refused
		 * one (MongoDB, FerretDB 1.24), so when the documents it counts as
		 * inserted and those it lists add up to all of them, the unlisted
		 * ones are stored: a batch in which some documents existed before
		 * (a redelivery after a crash) goes through in one pass. Without
		 * that agreement (a lost connection, a write concern error, a server
		 * that counts everything as inserted) their fate stays unknown. */
		bool settled = !bson_has_field(&reply, "writeConcernErrors") &&
		               inserted_count(&reply) >= 0 &&
		               (size_t)inserted_count(&reply) + listed == n;

		for (size_t i = 0; i < n; i++) {
			if (rcs[i] == INV_DB_UNLISTED)
				rcs[i] = settled ? INV_REPO_OK : INV_REPO_ERR;
			else if (rcs[i] == INV_DB_REFUSED)
				rcs[i] = INV_REPO_ERR;
		}
	}
	bson_destroy(&reply);
	bson_destroy(opts);
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
	return ok;
}

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

int inv_db_ensure_indexes(inv_db_t *db, char *err, size_t errsz)
{
	static const struct {
		const char *coll, *field;
		bool unique;
	} indexes[] = {
	        {INV_COLL_LEDGER, "op", true},
	        {INV_COLL_LEDGER, "order_id", false},
	};
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_database_t *d = mongoc_client_get_database(c, db->name);
	bson_t *cmd = BCON_NEW("buildInfo", BCON_INT32(1));
	bson_t reply;
	bson_error_t be;
	int rc = 0;

	if (mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &be)) {
		db->ferretdb = bson_has_field(&reply, "ferretdbVersion");
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

bool inv_db_is_ferretdb(const inv_db_t *db)
{
	return db->ferretdb;
}

void inv_db_set_ferretdb(inv_db_t *db, bool ferretdb)
{
	db->ferretdb = ferretdb;
}

int inv_db_update_each(inv_db_t *db, const char *coll, size_t n, inv_db_update_builder_t build,
                       void *ctx, const char *what, char *err, size_t errsz)
{
	mongoc_client_t *c;
	mongoc_collection_t *cl;
	bson_t *opts;
	int rc = 0;

	if (n == 0)
		return 0;
	c = inv_db_acquire(db);
	cl = inv_db_collection(db, c, coll);
	opts = BCON_NEW("ordered", BCON_BOOL(false));
	for (size_t from = 0; from < n && rc == 0; from += INV_DB_MAX_UPDATES_PER_COMMAND) {
		size_t to = from + INV_DB_MAX_UPDATES_PER_COMMAND < n
		                    ? from + INV_DB_MAX_UPDATES_PER_COMMAND
		                    : n;
		mongoc_bulk_operation_t *bulk =
		        mongoc_collection_create_bulk_operation_with_opts(cl, opts);
		bson_error_t be;

		for (size_t i = from; i < to && rc == 0; i++) {
			bson_t *filter, *update;

			build(i, &filter, &update, ctx);
			if (!mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, NULL,
			                                                &be)) {
				eda_errf(err, errsz, "%s: %s", what, be.message);
				rc = -1;
			}
			bson_destroy(filter);
			bson_destroy(update);
		}
		if (rc == 0 && mongoc_bulk_operation_execute(bulk, NULL, &be) == 0) {
			eda_errf(err, errsz, "%s: %s", what, be.message);
			rc = -1;
		}
		mongoc_bulk_operation_destroy(bulk);
	}
	bson_destroy(opts);
	mongoc_collection_destroy(cl);
	inv_db_release(db, c);
	return rc;
}

int inv_db_ping(inv_db_t *db, char *err, size_t errsz)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bson_error_t be;
	bool ok;

	pthread_mutex_lock(&db->probe_mu);
	ok = mongoc_client_command_simple(db->probe, "admin", cmd, NULL, NULL, &be);
	pthread_mutex_unlock(&db->probe_mu);
	bson_destroy(cmd);
	if (!ok) {
		eda_errf(err, errsz, "mongodb: %s", be.message);
		return -1;
	}
	return 0;
}

static void command_started(const mongoc_apm_command_started_t *event)
{
	inv_db_t *db = mongoc_apm_command_started_get_context(event);

	db->observer(mongoc_apm_command_started_get_command_name(event),
	             mongoc_apm_command_started_get_command(event), db->observer_ctx);
}

void inv_db_observe(inv_db_t *db, inv_db_command_fn fn, void *ctx)
{
	mongoc_apm_callbacks_t *cbs = mongoc_apm_callbacks_new();

	db->observer = fn;
	db->observer_ctx = ctx;
	mongoc_apm_set_command_started_cb(cbs, command_started);
	mongoc_client_pool_set_apm_callbacks(db->pool, cbs, db);
	mongoc_apm_callbacks_destroy(cbs);
}

void inv_db_close(inv_db_t *db)
{
	if (db == NULL)
		return;
	if (db->probe != NULL)
		mongoc_client_destroy(db->probe);
	if (db->pool != NULL)
		mongoc_client_pool_destroy(db->pool);
	pthread_mutex_destroy(&db->probe_mu);
	if (db->uri != NULL)
		mongoc_uri_destroy(db->uri);
	free(db);
}
