/*
 * Reading topics from given offsets up to where they end now, outside any
 * consumer group's commits: for operator tools (eda-dlq, eda-demo) and tests
 * that look at what the system produced.
 *
 * The reader assigns partitions itself (no subscription, auto commit off), so
 * it never joins, rebalances or moves a group. "Now" is each partition's high
 * watermark when the topic is added; messages produced later are not waited for.
 *
 *   eda_topic_reader_t *r = eda_topic_reader_new(conf, err, sizeof(err));
 *   eda_topic_reader_add(r, "dlq.inventory-service", NULL, 0, err, sizeof(err));
 *   eda_topic_reader_run(r, print_one, NULL, 10000, err, sizeof(err));
 *   eda_topic_reader_free(r);
 */
#ifndef EDA_TOPIC_READER_H
#define EDA_TOPIC_READER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Partitions per topic a reader handles; more is refused with an error. */
#define EDA_TOPIC_READER_MAX_PARTITIONS 256

typedef struct eda_topic_reader eda_topic_reader_t;

/* Returns 0 to go on, non-zero to stop reading (eda_topic_reader_run returns 1). */
typedef int (*eda_topic_reader_fn)(const rd_kafka_message_t *m, void *ctx);

/* Takes ownership of CONF (also on failure); a group.id of its own is set
 * unless CONF has one (librdkafka needs one for assign). NULL with ERR. */
eda_topic_reader_t *eda_topic_reader_new(rd_kafka_conf_t *conf, char *err, size_t errsz);

/* The current end (high watermark) of each partition of TOPIC in ENDS[0..*NPART),
 * at most MAX. Returns 0, or -1 with ERR (topic missing, broker unreachable
 * within 10 s, more than MAX partitions). */
int eda_topic_reader_ends(eda_topic_reader_t *r, const char *topic, int64_t *ends, int max,
                          int *npart, char *err, size_t errsz);

/* Adds TOPIC to what eda_topic_reader_run reads: partition p < NFROM from
 * FROM[p] (marks from eda_topic_reader_ends), the others (FROM NULL, or
 * partitions added since the marks) from their first retained message, each up
 * to its end now. 0 or -1 with ERR. */
int eda_topic_reader_add(eda_topic_reader_t *r, const char *topic, const int64_t *from, int nfrom,
                         char *err, size_t errsz);

/* Calls FN on every message of the added ranges, in order within each partition,
 * until all are read. Returns 0; 1 if FN asked to stop; -1 with ERR when no
 * message came for TIMEOUT_MS while some were still due. */
int eda_topic_reader_run(eda_topic_reader_t *r, eda_topic_reader_fn fn, void *ctx, int timeout_ms,
                         char *err, size_t errsz);

void eda_topic_reader_free(eda_topic_reader_t *r);

#endif
