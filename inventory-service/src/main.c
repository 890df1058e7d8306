/*
 * inventory-service: stock in MongoDB, exactly-once reservations from the
 * orders topic, the admin products API. main() only wires the parts together
 * and stops them in order on SIGTERM/SIGINT.
 *
 *   inventory-service                 run the daemon
 *   inventory-service --seed FILE     load a catalogue, then run
 *   inventory-service seed FILE       load a catalogue and exit
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/database.h"
#include "config/settings.h"
#include "eda/consumer.h"
#include "eda/http.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/metrics.h"
#include "eda/shutdown.h"
#include "events/consumers.h"
#include "events/producers.h"
#include "routers/products.h"
#include "services/catalogue.h"
#include "services/prices.h"
#include "services/products.h"
#include "services/retention.h"
#include "utils/crash.h"
#include "utils/kafka_ready.h"

#define SERVICE "inventory-service"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [--seed FILE] | seed FILE\n"
	        "Configuration comes from the environment; see .env.example.\n",
	        SERVICE);
}

static int mongo_ready(void *ctx, char *err, size_t errsz)
{
	return inv_db_ping(ctx, err, errsz);
}

/* Waits for MongoDB at start-up (it may come up after us), bounded. */
static int open_database(const inv_settings_t *cfg, inv_db_t **out)
{
	char err[512];
	inv_db_t *db = inv_db_open(cfg->mongodb_url, cfg->mongodb_database, cfg->mongodb_pool_size,
	                           cfg->mongodb_timeout_ms, err, sizeof(err));

	if (db == NULL) {
		fprintf(stderr, "%s: configuration error: %s\n", SERVICE, err);
		exit(2);
	}
	for (int attempt = 0; attempt < 30; attempt++) {
		if (inv_db_ensure_indexes(db, err, sizeof(err)) == 0) {
			*out = db;
			return 0;
		}
		eda_log(EDA_LOG_WARN, "mongodb not ready, retrying", "why", err, NULL);
		if (eda_shutdown_wait(1000) >= 0)
			break;
	}
	eda_log(EDA_LOG_ERROR, "mongodb unavailable", "why", err, NULL);
	inv_db_close(db);
	return -1;
}

static rd_kafka_conf_t *kafka_conf(void)
{
	char err[512];
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, sizeof(err));

	if (conf == NULL) {
		fprintf(stderr, "%s: configuration error: %s\n", SERVICE, err);
		exit(2);
	}
	return conf;
}

/* The producer's configuration: result events should leave at once, since
 * an order waits on each (eda_kafka_conf_low_latency). */
static rd_kafka_conf_t *producer_conf(void)
{
	rd_kafka_conf_t *conf = kafka_conf();
	char err[256];

	if (eda_kafka_conf_low_latency(conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: configuration error: linger.ms: %s\n", SERVICE, err);
		exit(2);
	}
	return conf;
}

/* The configuration of consumer I of this process. A static member id
 * (KAFKA_GROUP_INSTANCE_ID) must differ between the members, or they would
 * fence each other: member I > 0 gets "-I" appended. */
static rd_kafka_conf_t *consumer_conf(long i)
{
	rd_kafka_conf_t *conf = kafka_conf();
	char id[256], member[300], err[256];
	size_t len = sizeof(id);

	if (i > 0 && rd_kafka_conf_get(conf, "group.instance.id", id, &len) == RD_KAFKA_CONF_OK &&
	    id[0] != '\0') {
		snprintf(member, sizeof(member), "%s-%ld", id, i);
		if (eda_kafka_conf_set(conf, "group.instance.id", member, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: configuration error: group.instance.id: %s\n", SERVICE,
			        err);
			exit(2);
		}
	}
	return conf;
}

int main(int argc, char **argv)
{
	const char *seed = NULL;
	int seed_only = 0, status = 1;
	inv_settings_t cfg;
	eda_env_t env;
	inv_db_t *db = NULL;
	inv_publisher_t *pub = NULL;
	inv_kafka_ready_t *kready = NULL;
	inv_retention_t *retention = NULL;
	eda_metrics_t *metrics = NULL;
	eda_http_server_t *http = NULL;
	eda_consumer_t *consumers[INV_MAX_CONSUMERS] = {0};
	inv_order_batch_t *batches[INV_MAX_CONSUMERS] = {0};
	long nconsumers = 0;
	inv_app_t app = {0};
	pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
	char err[512];

	if (argc == 3 && strcmp(argv[1], "--seed") == 0) {
		seed = argv[2];
	} else if (argc == 3 && strcmp(argv[1], "seed") == 0) {
		seed = argv[2];
		seed_only = 1;
	} else if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	} else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (eda_shutdown_init() != 0) {
		fprintf(stderr, "%s: cannot block signals\n", SERVICE);
		return 1;
	}
	eda_env_init(&env);
	inv_settings_load(&cfg, &env);
	if (inv_crash_init(cfg.crash_at) != 0)
		eda_env_fail(&env, "INVENTORY_CRASH_AT", "must be empty or a positive integer");
	eda_env_exit_on_error(&env, SERVICE);
	eda_log_init(SERVICE, cfg.log_level);

	metrics = eda_metrics_new();
	if (open_database(&cfg, &db) < 0)
		goto out;
	pub = inv_publisher_new(producer_conf(), db, cfg.topic_inventory, cfg.topic_products,
	                        metrics, err, sizeof(err));
	if (pub == NULL) {
		eda_log(EDA_LOG_ERROR, "cannot create the producer", "why", err, NULL);
		goto out;
	}
	/* Head hints for 8,192 SKUs (about 1.4 MB at most); beyond that the
	 * table starts over and hints come back as SKUs are written. */
	app = (inv_app_t){.db = db,
	                  .publish = inv_publish_cb,
	                  .pub = pub,
	                  .heads = inv_heads_new(8192),
	                  .cache = inv_cache_writer_start(db, err, sizeof(err)),
	                  .flush_lock = &flush_lock,
	                  .store_currency = cfg.store_currency,
	                  .prices = inv_prices_new(8192)};
	if (app.cache == NULL) {
		eda_log(EDA_LOG_ERROR, "cache writer", "why", err, NULL);
		goto out;
	}
	if (inv_publisher_replay(pub, err, sizeof(err)) < 0) {
		eda_log(EDA_LOG_ERROR, "cannot replay the outbox", "why", err, NULL);
		goto out;
	}
	/* Before any change or reservation: the catalogue's announcements a
	 * crash cut short, and a fresh change token (services/catalogue.h). */
	if (inv_catalogue_recover(&app, err, sizeof(err)) < 0) {
		eda_log(EDA_LOG_ERROR, "cannot recover the catalogue's announcements", "why", err,
		        NULL);
		goto out;
	}
	if (seed != NULL) {
		int n = inv_catalogue_load(&app, seed, err, sizeof(err));

		if (n < 0) {
			eda_log(EDA_LOG_ERROR, "seed failed", "why", err, NULL);
			fprintf(stderr, "%s: seed: %s\n", SERVICE, err);
			status = 2;
			goto out;
		}
		eda_logf(EDA_LOG_INFO, "seeded %d products from %s", n, seed);
		if (seed_only) {
			if (inv_publisher_drain(pub, 30000) < 0)
				eda_log(EDA_LOG_WARN,
				        "some events stay unpublished until the next start", NULL);
			status = 0;
			goto out;
		}
	}

	retention =
	        inv_retention_start(db, cfg.retention_s, cfg.purge_interval_s, err, sizeof(err));
	if (retention == NULL) {
		eda_log(EDA_LOG_ERROR, "retention", "why", err, NULL);
		goto out;
	}
	kready = inv_kafka_ready_new(kafka_conf(), err, sizeof(err));
	if (kready == NULL) {
		eda_log(EDA_LOG_ERROR, "kafka client", "why", err, NULL);
		goto out;
	}
	/* Several members of the group in one process: each handles its own
	 * partitions in order on its own thread, so orders of different
	 * partitions overlap their round trips to MongoDB (the repositories take
	 * a pooled client per call). They are made here and join the group only
	 * when started, after the port is ours. */
	for (; nconsumers < cfg.consumer_threads; nconsumers++) {
		inv_order_batch_t *batch = batches[nconsumers] = inv_order_batch_new(&app);
		char member[300];

		/* Static members of one process need ids of their own. */
		snprintf(member, sizeof(member), nconsumers > 0 ? "%s-%ld" : "%s", cfg.instance_id,
		         nconsumers);
		consumers[nconsumers] = eda_consumer_new(
		        consumer_conf(nconsumers),
		        &(eda_consumer_config_t){
		                .group = cfg.consumer_group,
		                .instance_id = cfg.instance_id[0] != '\0' ? member : NULL,
		                .topics = (const char *const[]){cfg.topic_orders, NULL},
		                .handler = inv_on_order_message,
		                .flush = inv_order_batch_flush,
		                .batch_max = INV_BATCH_MAX,
		                .ctx = batch,
		                .dlq_producer = inv_publisher_producer(pub),
		                .metrics = metrics},
		        err, sizeof(err));
		if (consumers[nconsumers] == NULL) {
			eda_log(EDA_LOG_ERROR, "consumer", "why", err, NULL);
			goto out;
		}
	}
	http = eda_http_server_new(&(eda_http_config_t){.bind_addr = cfg.bind_addr,
	                                                .port = cfg.port,
	                                                .threads = cfg.http_threads,
	                                                .service = SERVICE,
	                                                .metrics = metrics},
	                           err, sizeof(err));
	if (http == NULL || inv_products_routes(http, &app) != 0 ||
	    eda_http_add_ready_check(http, "mongodb", mongo_ready, db) != 0 ||
	    eda_http_add_ready_check(http, "kafka", inv_kafka_ready_check, kready) != 0) {
		eda_log(EDA_LOG_ERROR, "http server", "why", err, NULL);
		goto out;
	}
	for (long i = 0; i < nconsumers; i++) {
		char name[32];

		snprintf(name, sizeof(name), "kafka-consumer-%ld", i);
		if (eda_http_add_ready_check(http, name, eda_consumer_ready_check, consumers[i]) !=
		    0) {
			eda_log(EDA_LOG_ERROR, "http server", "why", "cannot add a ready check",
			        NULL);
			goto out;
		}
	}
	if (eda_http_server_start(http, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "http server", "why", err, NULL);
		goto out;
	}
	for (long i = 0; i < nconsumers; i++) {
		if (eda_consumer_start(consumers[i], err, sizeof(err)) != 0) {
			eda_log(EDA_LOG_ERROR, "consumer", "why", err, NULL);
			goto out;
		}
	}
	eda_logf(EDA_LOG_INFO, "listening on %s:%u, consuming %s as %s (%ld members), database %s",
	         cfg.bind_addr, eda_http_server_port(http), cfg.topic_orders, cfg.consumer_group,
	         nconsumers, inv_db_name(db));
	eda_shutdown_wait(-1);
	eda_log(EDA_LOG_INFO, "shutting down", NULL);
	eda_shutdown_deadline((unsigned)cfg.shutdown_timeout_s);
	status = 0;
out:
	/* Stop intake first, then the consumer (which commits what is done),
	 * then flush what was decided, then the connections. */
	if (http != NULL)
		eda_http_server_stop(http);
	for (long i = 0; i < nconsumers; i++)
		eda_consumer_stop(consumers[i]);
	for (long i = 0; i < nconsumers; i++)
		eda_consumer_free(consumers[i]);
	for (long i = 0; i < INV_MAX_CONSUMERS; i++)
		inv_order_batch_free(batches[i]);
	inv_retention_stop(retention);
	inv_cache_writer_stop(app.cache);
	eda_http_server_free(http);
	inv_publisher_free(pub, 10000);
	inv_kafka_ready_free(kready);
	inv_heads_free(app.heads);
	inv_prices_free(app.prices);
	inv_db_close(db);
	eda_metrics_free(metrics);
	return status;
}
