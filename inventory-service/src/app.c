/*
 * Wiring of the inventory-service (see app.h). Start-up order: MongoDB and
 * its indexes first (nothing works without them), then the publisher and
 * what the outbox and the catalogue left unpublished, before any change or
 * reservation; then the retention purge, the consumers (made, not started),
 * the HTTP server, and the consumers last, so that they join the group only
 * once the port is ours.
 */
#include "app.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/database.h"
#include "eda/alloc.h"
#include "eda/consumer.h"
#include "eda/http.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/metrics.h"
#include "eda/shutdown.h"
#include "events/consumers.h"
#include "events/kafka_ready.h"
#include "events/producers.h"
#include "repositories/indexes.h"
#include "routers/products.h"
#include "services/catalogue.h"
#include "services/context.h"
#include "services/prices.h"
#include "services/products.h"
#include "services/retention.h"

/* Head hints and cached prices for 8,192 SKUs (about 1.4 MB at most);
 * beyond that a table starts over and hints come back as SKUs are
 * written. */
#define INV_HINT_SKUS 8192

struct inv_app {
	const inv_settings_t *cfg;
	eda_metrics_t *metrics;
	inv_db_t *db;
	inv_publisher_t *pub;
	inv_ctx_t ctx; /* what the services see */
	pthread_mutex_t flush_lock;
	inv_retention_t *retention;
	inv_kafka_ready_t *kready;
	eda_consumer_t *consumers[INV_MAX_CONSUMERS];
	inv_order_batch_t *batches[INV_MAX_CONSUMERS];
	long nconsumers;
	eda_http_server_t *http;
};

static int mongo_ready(void *ctx, char *err, size_t errsz)
{
	return inv_db_ping(ctx, err, errsz);
}

/* Waits for MongoDB at start-up (it may come up after us), bounded. */
static int open_database(inv_app_t *a, char *err, size_t errsz)
{
	const inv_settings_t *cfg = a->cfg;

	a->db = inv_db_open(cfg->mongodb_url, cfg->mongodb_database, cfg->mongodb_pool_size,
	                    cfg->mongodb_timeout_ms, err, errsz);
	if (a->db == NULL)
		return INV_APP_CONFIG;
	for (int attempt = 0; attempt < 30; attempt++) {
		if (inv_indexes_ensure(a->db, err, errsz) == 0)
			return 0;
		eda_log(EDA_LOG_WARN, "mongodb not ready, retrying", "why", err, NULL);
		if (eda_shutdown_wait(1000) >= 0)
			break;
	}
	eda_log(EDA_LOG_ERROR, "mongodb unavailable", "why", err, NULL);
	return INV_APP_ERR;
}

/* The producer's configuration: result events should leave at once, since
 * an order waits on each (eda_kafka_conf_low_latency). NULL with ERR on a bad
 * setting. */
static rd_kafka_conf_t *producer_conf(char *err, size_t errsz)
{
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, errsz);
	char why[256];

	if (conf != NULL && eda_kafka_conf_low_latency(conf, why, sizeof(why)) != 0) {
		snprintf(err, errsz, "linger.ms: %s", why);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

/* The configuration of consumer I of this process. A static member id
 * (KAFKA_GROUP_INSTANCE_ID) must differ between the members, or they would
 * fence each other: member I > 0 gets "-I" appended. NULL with ERR on a bad
 * setting. */
static rd_kafka_conf_t *consumer_conf(long i, char *err, size_t errsz)
{
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, errsz);
	char id[256], member[300], why[256];
	size_t len = sizeof(id);

	if (conf != NULL && i > 0 &&
	    rd_kafka_conf_get(conf, "group.instance.id", id, &len) == RD_KAFKA_CONF_OK &&
	    id[0] != '\0') {
		snprintf(member, sizeof(member), "%s-%ld", id, i);
		if (eda_kafka_conf_set(conf, "group.instance.id", member, why, sizeof(why)) != 0) {
			snprintf(err, errsz, "group.instance.id: %s", why);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	return conf;
}

/* The services' context: database, publisher, head hints, the products
 * cache writer, the flush lock of the consumers and the price cache. */
static int wire_services(inv_app_t *a, char *err, size_t errsz)
{
	a->ctx = (inv_ctx_t){.db = a->db,
	                     .publish = inv_publish_cb,
	                     .pub = a->pub,
	                     .heads = inv_heads_new(INV_HINT_SKUS),
	                     .cache = inv_cache_writer_start(a->db, err, errsz),
	                     .flush_lock = &a->flush_lock,
	                     .store_currency = a->cfg->store_currency,
	                     .prices = inv_prices_new(INV_HINT_SKUS)};
	if (a->ctx.cache == NULL) {
		eda_log(EDA_LOG_ERROR, "cache writer", "why", err, NULL);
		return INV_APP_ERR;
	}
	return 0;
}

int inv_app_new(const inv_settings_t *s, inv_app_t **out, char *err, size_t errsz)
{
	inv_app_t *a = eda_xcalloc(1, sizeof(*a));
	rd_kafka_conf_t *conf;
	int rc;

	*out = NULL;
	a->cfg = s;
	pthread_mutex_init(&a->flush_lock, NULL);
	a->metrics = eda_metrics_new();
	rc = open_database(a, err, errsz);
	if (rc < 0)
		goto fail;
	conf = producer_conf(err, errsz);
	if (conf == NULL) {
		rc = INV_APP_CONFIG;
		goto fail;
	}
	rc = INV_APP_ERR;
	a->pub = inv_publisher_new(conf, a->db, s->topic_inventory, s->topic_products, a->metrics,
	                           err, errsz);
	if (a->pub == NULL) {
		eda_log(EDA_LOG_ERROR, "cannot create the producer", "why", err, NULL);
		goto fail;
	}
	if (wire_services(a, err, errsz) < 0)
		goto fail;
	if (inv_publisher_replay(a->pub, err, errsz) < 0) {
		eda_log(EDA_LOG_ERROR, "cannot replay the outbox", "why", err, NULL);
		goto fail;
	}
	/* Before any change or reservation: the catalogue's announcements a
	 * crash cut short, and a fresh change token (services/catalogue.h). */
	if (inv_catalogue_recover(&a->ctx, err, errsz) < 0) {
		eda_log(EDA_LOG_ERROR, "cannot recover the catalogue's announcements", "why", err,
		        NULL);
		goto fail;
	}
	*out = a;
	return 0;
fail:
	inv_app_free(a);
	return rc;
}

int inv_app_seed(inv_app_t *a, const char *path, bool then_exit, char *err, size_t errsz)
{
	int n = inv_catalogue_load(&a->ctx, path, err, errsz);

	if (n < 0) {
		eda_log(EDA_LOG_ERROR, "seed failed", "why", err, NULL);
		return -1;
	}
	eda_logf(EDA_LOG_INFO, "seeded %d products from %s", n, path);
	if (then_exit && inv_publisher_drain(a->pub, 30000) < 0)
		eda_log(EDA_LOG_WARN, "some events stay unpublished until the next start", NULL);
	return n;
}

/* Several members of the group in one process: each handles its own
 * partitions in order on its own thread, so orders of different partitions
 * overlap their round trips to MongoDB (the repositories take a pooled
 * client per call). They are made here and join the group only when
 * started, after the port is ours. */
static int make_consumers(inv_app_t *a)
{
	const inv_settings_t *cfg = a->cfg;
	char err[512];

	for (; a->nconsumers < cfg->consumer_threads; a->nconsumers++) {
		long i = a->nconsumers;
		rd_kafka_conf_t *conf = consumer_conf(i, err, sizeof(err));
		char member[300];

		if (conf == NULL) {
			eda_log(EDA_LOG_ERROR, "configuration error", "why", err, NULL);
			return INV_APP_CONFIG;
		}
		a->batches[i] = inv_order_batch_new(&a->ctx);
		/* Static members of one process need ids of their own. */
		snprintf(member, sizeof(member), i > 0 ? "%s-%ld" : "%s", cfg->instance_id, i);
		a->consumers[i] = eda_consumer_new(
		        conf,
		        &(eda_consumer_config_t){
		                .group = cfg->consumer_group,
		                .instance_id = cfg->instance_id[0] != '\0' ? member : NULL,
		                .topics = (const char *const[]){cfg->topic_orders, NULL},
		                .handler = inv_on_order_message,
		                .flush = inv_order_batch_flush,
		                .batch_max = INV_BATCH_MAX,
		                .ctx = a->batches[i],
		                .dlq_producer = inv_publisher_producer(a->pub),
		                .metrics = a->metrics},
		        err, sizeof(err));
		if (a->consumers[i] == NULL) {
			eda_log(EDA_LOG_ERROR, "consumer", "why", err, NULL);
			return INV_APP_ERR;
		}
	}
	return 0;
}

/* The HTTP server with the products routes and the readiness checks:
 * MongoDB, Kafka, and each consumer holding its assignment. */
static int make_http(inv_app_t *a)
{
	const inv_settings_t *cfg = a->cfg;
	char err[512];

	a->http = eda_http_server_new(&(eda_http_config_t){.bind_addr = cfg->bind_addr,
	                                                   .port = cfg->port,
	                                                   .threads = cfg->http_threads,
	                                                   .service = INV_SERVICE_NAME,
	                                                   .metrics = a->metrics},
	                              err, sizeof(err));
	if (a->http == NULL || inv_products_routes(a->http, &a->ctx) != 0 ||
	    eda_http_add_ready_check(a->http, "mongodb", mongo_ready, a->db) != 0 ||
	    eda_http_add_ready_check(a->http, "kafka", inv_kafka_ready_check, a->kready) != 0) {
		eda_log(EDA_LOG_ERROR, "http server", "why", err, NULL);
		return INV_APP_ERR;
	}
	for (long i = 0; i < a->nconsumers; i++) {
		char name[32];

		snprintf(name, sizeof(name), "kafka-consumer-%ld", i);
		if (eda_http_add_ready_check(a->http, name, eda_consumer_ready_check,
		                             a->consumers[i]) != 0) {
			eda_log(EDA_LOG_ERROR, "http server", "why", "cannot add a ready check",
			        NULL);
			return INV_APP_ERR;
		}
	}
	return 0;
}

int inv_app_run(inv_app_t *a)
{
	const inv_settings_t *cfg = a->cfg;
	rd_kafka_conf_t *conf;
	char err[512];
	int rc;

	a->retention = inv_retention_start(a->db, cfg->retention_s, cfg->purge_interval_s, err,
	                                   sizeof(err));
	if (a->retention == NULL) {
		eda_log(EDA_LOG_ERROR, "retention", "why", err, NULL);
		return INV_APP_ERR;
	}
	conf = eda_kafka_conf_from_env(NULL, err, sizeof(err));
	if (conf == NULL) {
		eda_log(EDA_LOG_ERROR, "configuration error", "why", err, NULL);
		return INV_APP_CONFIG;
	}
	a->kready = inv_kafka_ready_new(conf, err, sizeof(err));
	if (a->kready == NULL) {
		eda_log(EDA_LOG_ERROR, "kafka client", "why", err, NULL);
		return INV_APP_ERR;
	}
	if ((rc = make_consumers(a)) < 0 || (rc = make_http(a)) < 0)
		return rc;
	if (eda_http_server_start(a->http, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "http server", "why", err, NULL);
		return INV_APP_ERR;
	}
	for (long i = 0; i < a->nconsumers; i++) {
		if (eda_consumer_start(a->consumers[i], err, sizeof(err)) != 0) {
			eda_log(EDA_LOG_ERROR, "consumer", "why", err, NULL);
			return INV_APP_ERR;
		}
	}
	eda_logf(EDA_LOG_INFO, "listening on %s:%u, consuming %s as %s (%ld members), database %s",
	         cfg->bind_addr, eda_http_server_port(a->http), cfg->topic_orders,
	         cfg->consumer_group, a->nconsumers, inv_db_name(a->db));
	eda_shutdown_await((unsigned)cfg->shutdown_timeout_s);
	return 0;
}

void inv_app_free(inv_app_t *a)
{
	if (a == NULL)
		return;
	/* Stop intake first, then the consumer (which commits what is done),
	 * then flush what was decided, then the connections. */
	if (a->http != NULL)
		eda_http_server_stop(a->http);
	for (long i = 0; i < a->nconsumers; i++)
		eda_consumer_stop(a->consumers[i]);
	for (long i = 0; i < a->nconsumers; i++)
		eda_consumer_free(a->consumers[i]);
	for (long i = 0; i < INV_MAX_CONSUMERS; i++)
		inv_order_batch_free(a->batches[i]);
	inv_retention_stop(a->retention);
	inv_cache_writer_stop(a->ctx.cache);
	eda_http_server_free(a->http);
	inv_publisher_free(a->pub, 10000);
	inv_kafka_ready_free(a->kready);
	inv_heads_free(a->ctx.heads);
	inv_prices_free(a->ctx.prices);
	inv_db_close(a->db);
	eda_metrics_free(a->metrics);
	pthread_mutex_destroy(&a->flush_lock);
	free(a);
}
