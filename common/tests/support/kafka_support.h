/*
 * Helpers for tests that talk to the real Kafka of the local stack: unique
 * names, topic creation, plain producing and configuration for the stack's
 * bootstrap address (KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:59092).
 */
#ifndef EDA_TEST_KAFKA_SUPPORT_H
#define EDA_TEST_KAFKA_SUPPORT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

const char *ts_bootstrap(void);

/* PREFIX-<pid>-<nanoseconds>, unique per call; PREFIX-<EDA_TEST_RUN>-<pid>-<ns>
 * when run-tests.sh set that tag (it deletes the topics named with it). */
void ts_unique(char *buf, size_t size, const char *prefix);

/* A configuration with bootstrap.servers set; caller owns it. */
rd_kafka_conf_t *ts_kafka_conf(void);

/* ts_kafka_conf() with the broker's minimum session timeout (6 s) and a 1 s
 * heartbeat: a SIGKILLed group member is noticed in seconds, not 45. */
rd_kafka_conf_t *ts_kafka_conf_fast_session(void);

/* Creates TOPIC with PARTITIONS (1 replica); fails the test on error. */
void ts_create_topic(const char *topic, int partitions);

/* Produces N messages with plain librdkafka and waits for them: values
 * VALUES[i], all with KEY (same partition), to PARTITION if >= 0. */
void ts_produce(const char *topic, int partition, const char *key, const char *const *values,
                size_t n);

/* Reads the first message of TOPIC/PARTITION from the beginning (waiting up to
 * 60 s; fails the test if none comes). *READER receives the consumer, which the
 * caller closes with ts_reader_close() after destroying the message. */
rd_kafka_message_t *ts_read_first(const char *topic, int partition, rd_kafka_t **reader);
void ts_reader_close(rd_kafka_t *reader);

#endif
