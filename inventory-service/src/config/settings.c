/*
 * Environment -> inv_settings_t. Topic and group names are configurable so
 * that tests (and several deployments on one cluster) stay apart; KAFKA_* is
 * left to eda_kafka_conf_from_env, which passes it through to librdkafka.
 */
#include "config/settings.h"

#include "config/database.h"
#include "models/product.h"

#include <string.h>

/* Kafka topic names: legal characters and length as the broker checks them. */
static void check_topic(eda_env_t *env, const char *name, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 200 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		eda_env_fail(env, name, "must be a Kafka topic name of 1..200 characters");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			eda_env_fail(env, name, "must hold only [A-Za-z0-9._-]");
			return;
		}
	}
}

void inv_settings_load(inv_settings_t *s, eda_env_t *env)
{
	static const char *const mongo_schemes[] = {"mongodb", "mongodb+srv", NULL};

	memset(s, 0, sizeof(*s));
	eda_daemon_settings_load(
	        &s->daemon, env,
	        &(eda_daemon_defaults_t){.port = 8002, .http_threads = 4, .http_threads_max = 64});
	s->mongodb_url = eda_env_url(env, "MONGODB_URL", "mongodb://127.0.0.1:27017/inventory",
	                             mongo_schemes);
	s->mongodb_database = eda_env_string(env, "MONGODB_DATABASE", "");
	s->mongodb_pool_size = eda_env_long(env, "MONGODB_POOL_SIZE", 16, 2, 1000);
	s->mongodb_timeout_ms =
	        eda_env_long(env, "MONGODB_TIMEOUT_MS", INV_DB_DEFAULT_TIMEOUT_MS, 100, 600000);
	s->topic_orders = eda_env_string(env, "TOPIC_ORDERS", "orders");
	s->topic_inventory = eda_env_string(env, "TOPIC_INVENTORY", "inventory");
	s->topic_products = eda_env_string(env, "TOPIC_PRODUCTS", "products");
	s->store_currency = eda_env_string(env, "STORE_CURRENCY", "EUR");
	s->consumer_group = eda_env_string(env, "CONSUMER_GROUP", "inventory-service");
	eda_env_instance_id(env, s->port, s->instance_id, sizeof(s->instance_id));
	s->consumer_threads = eda_env_long(env, "CONSUMER_THREADS", 1, 1, INV_MAX_CONSUMERS);
	s->crash_at = eda_env_string(env, "INVENTORY_CRASH_AT", "");
	s->retention_s =
	        eda_env_long(env, "RETENTION_SECONDS", 7L * 24 * 3600, 60, 10L * 365 * 86400);
	s->purge_interval_s = eda_env_long(env, "PURGE_INTERVAL_SECONDS", 3600, 1, 86400);
	s->shutdown_timeout_s = eda_env_long(env, "SHUTDOWN_TIMEOUT_S", 20, 1, 3600);
	check_topic(env, "TOPIC_ORDERS", s->topic_orders);
	check_topic(env, "TOPIC_INVENTORY", s->topic_inventory);
	check_topic(env, "TOPIC_PRODUCTS", s->topic_products);
	if (!inv_currency_valid(s->store_currency))
		eda_env_fail(env, "STORE_CURRENCY", "must be three upper-case letters (ISO 4217)");
	check_topic(env, "CONSUMER_GROUP", s->consumer_group);
	if (s->mongodb_database[0] != '\0' &&
	    strcspn(s->mongodb_database, "/\\. \"$") != strlen(s->mongodb_database))
		eda_env_fail(env, "MONGODB_DATABASE", "must not contain / \\ . space \" or $");
}
