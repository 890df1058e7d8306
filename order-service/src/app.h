/*
 * The running daemon as one object: every component wired together in the
 * order main() needs, so that tests can start and stop the same daemon
 * in-process. main.c only reads settings and calls os_app_new/run/free.
 */
#ifndef OS_APP_H
#define OS_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/database.h"
#include "config/settings.h"
#include "eda/consumer.h"
#include "eda/http.h"
#include "eda/metrics.h"
#include "eda/producer.h"
#include "events/catalogue.h"
#include "events/consumers.h"
#include "events/relay.h"
#include "repositories/notify.h"
#include "routers/order_waiters.h"
#include "routers/orders.h"
#include "services/order_service.h"
#include "services/saga.h"

typedef struct os_app {
	os_settings_t cfg;
	eda_metrics_t *metrics;
	os_db_pool_t *pool;
	os_notify_t *notify; /* NULL: single replica (NOTIFY off) */
	os_relay_t *relay;
	eda_producer_t *producer;
	os_waiters_t *waiters;
	os_service_t svc;
	os_orders_router_t router;
	eda_http_server_t *http;
	eda_consumer_t *consumer;
	os_consumers_ctx_t saga;   /* the consumer's handler context */
	eda_consumer_t *catalogue; /* ProductChanged -> catalogue replica */
	pthread_t maintenance;
	bool maintenance_started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
} os_app_t;

/* Applies migrations and starts everything CFG asks for (copied). Returns 0,
 * or -1 with ERR filled and everything already started stopped again. */
int os_app_start(os_app_t *a, const os_settings_t *cfg, char *err, size_t errsz);

/* Stops in order: HTTP, consumers (committing their last batch and offsets;
 * the batch's commit still wakes long-polls), long-polls, relay, producer
 * (flushing), NOTIFY sender. Frees everything. Idempotent. */
void os_app_stop(os_app_t *a);

/* The HTTP port (useful when started with PORT=0 in tests). */
unsigned short os_app_port(const os_app_t *a);

/* What main() uses, the shape every daemon has: os_app_new() allocates and
 * starts the app (NULL with ERR if it could not; nothing is left running),
 * os_app_run() serves until SIGTERM or SIGINT and then arms the shutdown
 * watchdog (SHUTDOWN_TIMEOUT_SECONDS) so that os_app_free(), which stops and
 * frees it, cannot hang the process. The tests embed an os_app_t and use
 * os_app_start()/os_app_stop() on it. */
os_app_t *os_app_new(const os_settings_t *cfg, char *err, size_t errsz);
int os_app_run(os_app_t *a);
void os_app_free(os_app_t *a);

#endif
