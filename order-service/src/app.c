/*
 * Wiring of the order-service (see app.h). Start-up order: database and
 * migrations first (nothing can work without the schema), then the producer
 * and relay, the long-poll waiters, HTTP, and the consumers last, so that an
 * event never arrives before the code that handles it is ready.
 */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/migrations.h"
#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/shutdown.h"
#include "events/consumers.h"
#include "services/maintenance.h"
#include "services/price_cache.h"

static int db_ready(void *ctx, char *err, size_t errsz)
{
	os_app_t *a = ctx;

	return os_db_probe(a->pool, a->cfg.db_ready_timeout_ms, err, errsz);
}

/* The service's after-commit hook for new outbox rows: the relay of this
 * process at once (in-process), and, unless that relay is the leader, the
 * leader in another replica through a coalesced NOTIFY. */
static void on_outbox_added(void *ctx)
{
	os_app_t *a = ctx;

	os_relay_wake(a->relay);
	if (a->relay == NULL || !os_relay_is_leader(a->relay))
		os_notify_outbox(a->notify);
}

/* The service's after-commit hook for a status change: the long-polls of
 * this process, and through NOTIFY those of other replicas. */
static void on_status_changed(const char *order_id, void *ctx)
{
	os_app_t *a = ctx;

	if (a->waiters != NULL)
		os_waiters_wake(a->waiters, order_id);
	os_notify_status(a->notify, order_id);
}

/* Keeps outbox_pending fresh on every replica (the leader's relay updates it
 * too) and purges old rows. */
static void *maintenance(void *arg)
{
	os_app_t *a = arg;
	eda_metric_t *pending = eda_metrics_gauge(a->metrics, "outbox_pending",
	                                          "Outbox rows not yet published.", NULL, NULL, 0);
	time_t next_purge = time(NULL) + 10;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct timespec ts;
		long long n;

		pthread_mutex_unlock(&a->lock);
		n = os_service_outbox_pending(&a->svc);
		if (n >= 0 && pending != NULL)
			eda_gauge_set(pending, NULL, (double)n);
		if (time(NULL) >= next_purge) {
			n = os_service_purge(&a->svc, a->cfg.retention_s);
			if (n > 0)
				eda_logf(EDA_LOG_INFO, "purged %lld old rows", n);
			next_purge = time(NULL) + a->cfg.purge_interval_s;
		}
		ts = eda_clock_deadline(CLOCK_REALTIME, 5000);
		pthread_mutex_lock(&a->lock);
		if (!a->stopping)
			pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static int migrate(os_app_t *a, char *err, size_t errsz)
{
	int n = os_migrate_pooled(a->pool, a->cfg.db_wait_ms, a->cfg.migrations_dir,
	                          a->cfg.migration_timeout_ms, a->cfg.db_timeout_ms, err, errsz);

	if (n > 0)
		eda_logf(EDA_LOG_INFO, "applied %d migrations", n);
	return n < 0 ? -1 : 0;
}

static int start_kafka(os_app_t *a, char *err, size_t errsz)
{
	os_relay_config_t rc = {.database_url = a->cfg.database_url,
	                        .batch = a->cfg.relay_batch,
	                        .sweep_ms = a->cfg.relay_sweep_ms,
	                        .standby_ms = a->cfg.relay_standby_ms,
	                        .db_timeout_ms = a->cfg.db_timeout_ms,
	                        .metrics = a->metrics};
	rd_kafka_conf_t *conf;

	if ((a->relay = os_relay_new(&rc, err, errsz)) == NULL)
		return -1;
	if ((conf = eda_kafka_conf_from_env(NULL, err, errsz)) == NULL)
		return -1;
	if (os_relay_tune_conf(conf, err, errsz) != 0) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	a->producer =
	        eda_producer_new(conf, os_relay_on_delivery, a->relay, a->metrics, err, errsz);
	return a->producer != NULL ? 0 : -1;
}

/* Makes the saga's consumer; it joins its group only when started, last. */
static int make_consumer(os_app_t *a, char *err, size_t errsz)
{
	const char *topics[] = {a->cfg.topic_inventory, a->cfg.topic_payments, NULL};
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, errsz);

	if (conf == NULL)
		return -1;
	a->saga = (os_consumers_ctx_t){.svc = &a->svc, .batch = os_apply_batch_new(&a->svc)};
	a->consumer = os_consumers_new(conf, &a->saga, a->cfg.consumer_group, a->cfg.instance_id,
	                               topics, a->producer, a->metrics, err, errsz);
	if (a->consumer == NULL)
		return -1;
	/* The catalogue replica has a consumer (and group) of its own: it reads
	 * its topic from the start at every assignment, the saga never does. */
	if ((conf = eda_kafka_conf_from_env(NULL, err, errsz)) == NULL)
		return -1;
	a->catalogue = os_catalogue_consumer_new(conf, &a->svc, a->cfg.catalogue_group,
	                                         a->cfg.instance_id, a->cfg.topic_products,
	                                         a->producer, a->metrics, err, errsz);
	return a->catalogue != NULL ? 0 : -1;
}

/* The payment counters of the service (README, "Payments"). */
static int payment_metrics(os_app_t *a, char *err, size_t errsz)
{
	a->svc.refunds = eda_metrics_counter(
	        a->metrics, "payments_needing_refund_total",
	        "Payments received for an order that was cancelled or rejected.", NULL, err, errsz);
	if (a->svc.refunds == NULL)
		return -1;
	a->svc.mismatches = eda_metrics_counter(
	        a->metrics, "payments_mismatched_total",
	        "Payments whose amount or currency is not the order's total.", NULL, err, errsz);
	return a->svc.mismatches != NULL ? 0 : -1;
}

int os_app_start(os_app_t *a, const os_settings_t *cfg, char *err, size_t errsz)
{
	eda_http_config_t hc = {.bind_addr = cfg->bind_addr,
	                        .port = cfg->port,
	                        .threads = cfg->http_threads,
	                        .service = "order-service"};

	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->metrics = eda_metrics_new();
	a->pool = os_db_pool_new(cfg->database_url, cfg->db_pool_size, cfg->db_timeout_ms);
	if (migrate(a, err, errsz) != 0)
		goto fail;
	if (cfg->notify && (a->notify = os_notify_start(cfg->database_url, cfg->db_timeout_ms, err,
	                                                errsz)) == NULL)
		goto fail;
	if (start_kafka(a, err, errsz) != 0)
		goto fail;
	a->svc = (os_service_t){.pool = a->pool,
	                        .db_wait_ms = cfg->db_wait_ms,
	                        .topic_orders = a->cfg.topic_orders,
	                        .hooks = {.outbox_added = on_outbox_added,
	                                  .status_changed = on_status_changed,
	                                  .ctx = a},
	                        .prices = os_price_cache_new(cfg->catalogue_cache_ms)};
	a->waiters = os_waiters_start(&a->svc, cfg->db_timeout_ms,
	                              cfg->notify ? cfg->database_url : NULL, err, errsz);
	if (a->waiters == NULL)
		goto fail;
	if (payment_metrics(a, err, errsz) != 0)
		goto fail;
	a->router = (os_orders_router_t){
	        .svc = &a->svc, .waiters = a->waiters, .max_wait_s = cfg->max_wait_s};
	hc.metrics = a->metrics;
	if ((a->http = eda_http_server_new(&hc, err, errsz)) == NULL)
		goto fail;
	if (cfg->consumers_enabled && make_consumer(a, err, errsz) != 0)
		goto fail;
	if (os_orders_routes(a->http, &a->router) != 0 ||
	    eda_http_add_ready_check(a->http, "postgresql", db_ready, a) != 0 ||
	    (a->consumer != NULL &&
	     eda_http_add_ready_check(a->http, "kafka-consumer", eda_consumer_ready_check,
	                              a->consumer) != 0) ||
	    /* Pricing needs the whole catalogue: not ready before it is read. */
	    (a->catalogue != NULL &&
	     eda_http_add_ready_check(a->http, "catalogue", eda_consumer_caught_up_check,
	                              a->catalogue) != 0)) {
		snprintf(err, errsz, "cannot register routes");
		goto fail;
	}
	if (eda_http_server_start(a->http, err, errsz) != 0)
		goto fail;
	if (cfg->relay_enabled && os_relay_start(a->relay, a->producer, err, errsz) != 0)
		goto fail;
	if (a->consumer != NULL && eda_consumer_start(a->consumer, err, errsz) != 0)
		goto fail;
	if (a->catalogue != NULL && eda_consumer_start(a->catalogue, err, errsz) != 0)
		goto fail;
	if (pthread_create(&a->maintenance, NULL, maintenance, a) != 0) {
		snprintf(err, errsz, "cannot start the maintenance thread");
		goto fail;
	}
	a->maintenance_started = true;
	eda_logf(EDA_LOG_INFO, "order-service listening on %s:%u", cfg->bind_addr,
	         eda_http_server_port(a->http));
	return 0;
fail:
	os_app_stop(a);
	return -1;
}

unsigned short os_app_port(const os_app_t *a)
{
	return eda_http_server_port(a->http);
}

void os_app_stop(os_app_t *a)
{
	if (a->metrics == NULL)
		return; /* never started, or already stopped */
	if (a->http != NULL)
		eda_http_server_stop(a->http);
	if (a->consumer != NULL) {
		eda_consumer_stop(a->consumer);
		eda_consumer_free(a->consumer);
		a->consumer = NULL;
	}
	if (a->catalogue != NULL) {
		eda_consumer_stop(a->catalogue);
		eda_consumer_free(a->catalogue);
		a->catalogue = NULL;
	}
	if (a->saga.batch != NULL) {
		os_apply_batch_free(a->saga.batch);
		a->saga.batch = NULL;
	}
	/* After the consumer: its last commit calls the waiters' hook. */
	os_waiters_stop(a->waiters);
	a->waiters = NULL;
	os_relay_stop(a->relay);
	if (a->producer != NULL) {
		eda_producer_free(a->producer, 5000);
		a->producer = NULL;
	}
	os_relay_free(a->relay);
	a->relay = NULL;
	if (a->maintenance_started) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->maintenance, NULL);
		a->maintenance_started = false;
	}
	os_notify_stop(a->notify);
	a->notify = NULL;
	eda_http_server_free(a->http);
	a->http = NULL;
	os_price_cache_free(a->svc.prices);
	a->svc.prices = NULL;
	os_db_pool_free(a->pool);
	a->pool = NULL;
	eda_metrics_free(a->metrics);
	a->metrics = NULL;
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
}

os_app_t *os_app_new(const os_settings_t *cfg, char *err, size_t errsz)
{
	os_app_t *a = eda_xcalloc(1, sizeof(*a));

	if (os_app_start(a, cfg, err, errsz) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

int os_app_run(os_app_t *a)
{
	eda_shutdown_await((unsigned)a->cfg.shutdown_timeout_s);
	return 0;
}

void os_app_free(os_app_t *a)
{
	if (a == NULL)
		return;
	os_app_stop(a);
	free(a);
}
