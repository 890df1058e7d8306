/*
 * The process's mongoc client pool, its readiness probe and its command
 * observer; see database.h. The indexes are made by repositories/indexes.c.
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
	/* Written once by inv_indexes_ensure, before any query thread runs. */
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

bool inv_db_is_ferretdb(const inv_db_t *db)
{
	return db->ferretdb;
}

void inv_db_set_ferretdb(inv_db_t *db, bool ferretdb)
{
	db->ferretdb = ferretdb;
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
