/*
 * Environment -> os_settings_t. Only this file knows the variable names; the
 * rest of the daemon reads the typed struct.
 */
#include "config/settings.h"

#include <stdio.h>
#include <string.h>

static const char *topic(eda_env_t *env, const char *name, const char *def)
{
	const char *v = eda_env_string(env, name, def);

	/* Kafka's own rule for topic names; a bad one would only fail at the first
	 * publish, long after start-up. */
	if (strlen(v) > 249 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "0123456789._-") != strlen(v))
		eda_env_fail(env, name, "not a valid Kafka topic name");
	return v;
}

void os_settings_load(os_settings_t *s, eda_env_t *env)
{
	static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};
	char def[256];

	memset(s, 0, sizeof(*s));
	/* PORT=0 asks for an ephemeral port (tests). */
	eda_daemon_settings_load(&s->daemon, env,
	                         &(eda_daemon_defaults_t){.port = 8001,
	                                                  .port_may_be_zero = true,
	                                                  .http_threads = 4,
	                                                  .http_threads_max = 256});
	s->database_url = eda_env_url(env, "DATABASE_URL", NULL, pg_schemes);
	s->db_pool_size = (int)eda_env_long(env, "DB_POOL_SIZE", 8, 1, 256);
	s->db_wait_ms = (int)eda_env_long(env, "DB_POOL_WAIT_MS", 5000, 1, 600000);
	s->db_timeout_ms = (int)eda_env_long(env, "DATABASE_TIMEOUT_MS", 3000, 100, 600000);
	s->db_ready_timeout_ms =
	        (int)eda_env_long(env, "DATABASE_READY_TIMEOUT_MS", 800, 50, 60000);
	s->migration_timeout_ms =
	        (int)eda_env_long(env, "MIGRATION_TIMEOUT_MS", 60000, 100, 3600000);
	s->migrations_dir = eda_env_string(env, "MIGRATIONS_DIR", "order-service/migrations");
	(void)eda_env_string(env, "KAFKA_BOOTSTRAP_SERVERS", NULL);
	s->topic_orders = topic(env, "TOPIC_ORDERS", "orders");
	s->topic_inventory = topic(env, "TOPIC_INVENTORY", "inventory");
	s->topic_payments = topic(env, "TOPIC_PAYMENTS", "payments");
	s->topic_products = topic(env, "TOPIC_PRODUCTS", "products");
	s->consumer_group = topic(env, "CONSUMER_GROUP", "order-service");
	/* A group of its own, since it reads its topic from the start at every
	 * assignment; it names its DLQ dlq.<group> (Kafka's topic rules). */
	snprintf(def, sizeof(def), "%s-catalogue", s->consumer_group);
	snprintf(s->catalogue_group, sizeof(s->catalogue_group), "%s",
	         topic(env, "CATALOGUE_GROUP", def));
	s->catalogue_cache_ms = (int)eda_env_long(env, "CATALOGUE_CACHE_MS", 2000, 0, 60000);
	eda_env_instance_id(env, s->port, s->instance_id, sizeof(s->instance_id));
	s->consumers_enabled = eda_env_bool(env, "CONSUMERS_ENABLED", true);
	s->relay_enabled = eda_env_bool(env, "RELAY_ENABLED", true);
	s->relay_batch = (int)eda_env_long(env, "RELAY_BATCH", 500, 1, 10000);
	s->relay_sweep_ms = (int)eda_env_long(env, "RELAY_SWEEP_MS", 1000, 10, 600000);
	s->relay_standby_ms = (int)eda_env_long(env, "RELAY_STANDBY_MS", 3000, 10, 600000);
	s->notify = eda_env_bool(env, "NOTIFY_ENABLED", true);
	s->retention_s =
	        eda_env_long(env, "RETENTION_SECONDS", 7L * 24 * 3600, 1, 10L * 365 * 86400);
	s->purge_interval_s = eda_env_long(env, "PURGE_INTERVAL_SECONDS", 3600, 1, 86400);
	s->max_wait_s = (int)eda_env_long(env, "MAX_WAIT_SECONDS", 30, 0, 30);
	s->shutdown_timeout_s = (int)eda_env_long(env, "SHUTDOWN_TIMEOUT_SECONDS", 20, 1, 600);
}
