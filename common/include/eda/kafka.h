/*
 * Kafka configuration shared by the producer and the consumer: librdkafka
 * properties from the environment, so TLS and SASL need no code.
 */
#ifndef EDA_KAFKA_H
#define EDA_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Builds a new librdkafka configuration (caller owns it) from ENVP (NULL means
 * the process environment): every KAFKA_<NAME>=value becomes the property
 * <name> in lower case with '_' read as '.' and "__" as a literal '_', e.g.
 * KAFKA_BOOTSTRAP_SERVERS -> bootstrap.servers, KAFKA_SECURITY_PROTOCOL ->
 * security.protocol, KAFKA_SASL_PASSWORD -> sasl.password. KAFKA_BOOTSTRAP_SERVERS
 * is required. Returns NULL with ERR naming the variable for an unknown property
 * or a value librdkafka refuses. */
rd_kafka_conf_t *eda_kafka_conf_from_env(char *const *envp, char *err, size_t errsz);

/* Sends librdkafka's log lines through eda_log (eda_kafka_conf_from_env does
 * this already). */
void eda_kafka_conf_set_logger(rd_kafka_conf_t *conf);

/* Sets NAME=VALUE on CONF. Returns 0, or -1 with ERR filled. */
int eda_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t errsz);

/* The producer defaults of a daemon whose events someone is waiting on (an
 * order's next step waits on each): linger.ms 1 instead of librdkafka's 5, so
 * a message leaves at once, unless KAFKA_LINGER_MS (the process environment)
 * set it. Call after eda_kafka_conf_from_env. Returns 0, or -1 with ERR
 * filled. */
int eda_kafka_conf_low_latency(rd_kafka_conf_t *conf, char *err, size_t errsz);

/* One Kafka message header, for the producer. */
typedef struct eda_kafka_header {
	const char *name;
	const void *value;
	size_t len;
} eda_kafka_header_t;

#endif
