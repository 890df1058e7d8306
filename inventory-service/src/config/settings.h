/*
 * The inventory service's settings, read once from the environment at start-up
 * (12-factor). Every variable and its default is listed in .env.example.
 */
#ifndef INV_SETTINGS_H
#define INV_SETTINGS_H

#include <stdbool.h>

#include "eda/log.h"
#include "eda/settings.h"

/* Upper bound of CONSUMER_THREADS: more members than the topic has partitions
 * only idle. */
#define INV_MAX_CONSUMERS 16

typedef struct inv_settings {
	/* BIND_ADDR, PORT, HTTP_THREADS, LOG_LEVEL (eda_daemon_settings_load) */
	EDA_DAEMON_SETTINGS;
	const char *mongodb_url;
	const char *mongodb_database; /* "" = the database named in the URL, else "inventory" */
	long mongodb_pool_size;
	long mongodb_timeout_ms; /* deadline of every MongoDB call (config/database.h) */
	const char *topic_orders;
	const char *topic_inventory;
	const char *topic_products; /* ProductChanged, key = SKU (compacted) */
	const char *store_currency; /* a product's currency when none is given */
	const char *consumer_group;
	char instance_id[256]; /* group.instance.id of member 0; "" for dynamic members */
	long consumer_threads; /* group members in this process, each on its own thread */
	const char *crash_at;  /* test switch: see utils/crash.h; "" = off */
	long shutdown_timeout_s;
	long retention_s; /* how long decided outbox rows and claims stay (services/retention.h) */
	long purge_interval_s; /* between two purges */
} inv_settings_t;

/* Reads every variable into *S. Errors are recorded in ENV (first one wins); the
 * caller decides whether to exit (eda_env_exit_on_error). */
void inv_settings_load(inv_settings_t *s, eda_env_t *env);

#endif
