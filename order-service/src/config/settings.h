/*
 * The order-service's settings, read once from the environment at start-up
 * (DESIGN.md, "Configuration"). Every variable and its default is listed in
 * order-service/.env.example; a bad value ends the process with status 2.
 */
#ifndef OS_SETTINGS_H
#define OS_SETTINGS_H

#include <stdbool.h>

#include "eda/log.h"
#include "eda/settings.h"

typedef struct os_settings {
	/* BIND_ADDR, PORT, HTTP_THREADS, LOG_LEVEL (eda_daemon_settings_load) */
	EDA_DAEMON_SETTINGS;
	const char *database_url;
	int db_pool_size;
	int db_wait_ms;           /* longest wait for a pooled connection */
	int db_timeout_ms;        /* connect, round trip and statement deadline */
	int db_ready_timeout_ms;  /* the whole /readyz database probe */
	int migration_timeout_ms; /* each migration statement, the migration lock */
	const char *migrations_dir;
	const char *topic_orders, *topic_inventory, *topic_payments;
	const char *topic_products; /* ProductChanged: the catalogue replica's source */
	const char *consumer_group;
	char catalogue_group[256]; /* the catalogue consumer's group */
	int catalogue_cache_ms;    /* lifetime of a price in memory; 0: none */
	char instance_id[256];     /* group.instance.id; "" for a dynamic member */
	bool consumers_enabled;    /* CONSUMERS_ENABLED: run the saga consumers */
	bool relay_enabled;        /* RELAY_ENABLED: take part in the relay election */
	int relay_batch;           /* rows per relay round */
	int relay_sweep_ms;        /* safety-net sweep when no wake-up comes */
	int relay_standby_ms;      /* how often a standby retries the leader lock */
	bool notify;               /* NOTIFY_ENABLED: pg_notify other replicas */
	long retention_s;          /* how long published / consumed / idempotency rows stay */
	long purge_interval_s;
	int max_wait_s; /* cap of GET /orders/{id}?wait= */
	int shutdown_timeout_s;
} os_settings_t;

/* Fills S from the environment, recording the first error in ENV (the caller
 * then calls eda_env_exit_on_error). KAFKA_BOOTSTRAP_SERVERS is checked here
 * too although librdkafka reads it through eda_kafka_conf_from_env. */
void os_settings_load(os_settings_t *s, eda_env_t *env);

#endif
