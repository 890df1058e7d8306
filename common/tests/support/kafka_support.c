/* Kafka helpers for tests; see kafka_support.h. */
#include "kafka_support.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *ts_bootstrap(void)
{
	const char *v = getenv("KAFKA_BOOTSTRAP_SERVERS");

	return v != NULL && *v != '\0' ? v : "127.0.0.1:59092";
}

void ts_unique(char *buf, size_t size, const char *prefix)
{
	struct timespec ts;

	const char *run = getenv("EDA_TEST_RUN");

	clock_gettime(CLOCK_REALTIME, &ts);
	/* run-tests.sh deletes the topics of its own run by this tag, and only
	 * those: a second run on the same stack keeps its topics. */
	if (run != NULL && *run != '\0')
		snprintf(buf, size, "%s-%s-%d-%ld%09ld", prefix, run, (int)getpid(),
		         (long)ts.tv_sec, ts.tv_nsec);
	else
		snprintf(buf, size, "%s-%d-%ld%09ld", prefix, (int)getpid(), (long)ts.tv_sec,
		         ts.tv_nsec);
}

rd_kafka_conf_t *ts_kafka_conf(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];

	ck_assert_int_eq(
	        rd_kafka_conf_set(conf, "bootstrap.servers", ts_bootstrap(), err, sizeof(err)),
	        RD_KAFKA_CONF_OK);
	return conf;
}

rd_kafka_conf_t *ts_kafka_conf_fast_session(void)
{
	rd_kafka_conf_t *conf = ts_kafka_conf();
	char err[256];

	ck_assert_int_eq(rd_kafka_conf_set(conf, "session.timeout.ms", "6000", err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "heartbeat.interval.ms", "1000", err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	return conf;
}

/* KRaft answers CreateTopics once the controller has the topic; the broker's
 * metadata (what a client asks next) follows a moment later, longer on a busy
 * machine. Tests start using a topic only when every partition has a leader. */
static void wait_for_leaders(rd_kafka_t *rk, const char *topic, int partitions)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	struct timespec now;
	double deadline;
	bool ready = false;
	int seen = -1;

	ck_assert_ptr_nonnull(rkt);
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + 30;
	for (;;) {
		const struct rd_kafka_metadata *md = NULL;
		double left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline - ((double)now.tv_sec + now.tv_nsec / 1e9);
		if (left <= 0)
			break;
		if (rd_kafka_metadata(rk, 0, rkt, &md, left < 5 ? (int)(left * 1000) + 1 : 5000) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			ready = md->topic_cnt == 1 &&
			        md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
			seen = ready ? md->topics[0].partition_cnt : -1;
			ready = ready && seen == partitions;
			for (int p = 0; ready && p < md->topics[0].partition_cnt; p++)
				ready = md->topics[0].partitions[p].leader >= 0;
			rd_kafka_metadata_destroy(md);
		}
		if (ready)
			break;
		usleep(100 * 1000);
	}
	rd_kafka_topic_destroy(rkt);
	ck_assert_msg(ready,
	              "topic %s: not every one of %d partitions has a leader after 30 s (%d seen)",
	              topic, partitions, seen);
}

void ts_create_topic(const char *topic, int partitions)
{
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, ts_kafka_conf(), err, sizeof(err));
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t n;

	ck_assert_msg(rk != NULL, "%s", err);
	nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof(err));
	ck_assert_msg(nt != NULL, "%s", err);
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	ck_assert_msg(ev != NULL, "CreateTopics: no answer");
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
	                      rd_kafka_topic_result_error(res[0]) ==
	                              RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
	              "CreateTopics %s: %s", topic,
	              rd_kafka_err2str(rd_kafka_topic_result_error(res[0])));
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	wait_for_leaders(rk, topic, partitions);
	rd_kafka_destroy(rk);
}

void ts_produce(const char *topic, int partition, const char *key, const char *const *values,
                size_t n)
{
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, ts_kafka_conf(), err, sizeof(err));

	ck_assert_msg(rk != NULL, "%s", err);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(
		        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		                          RD_KAFKA_V_PARTITION(partition >= 0
		                                                       ? partition
		                                                       : RD_KAFKA_PARTITION_UA),
		                          RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
		                          RD_KAFKA_V_VALUE((void *)values[i], strlen(values[i])),
		                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
		        RD_KAFKA_RESP_ERR_NO_ERROR);
	}
	ck_assert_int_eq(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(rk);
}

rd_kafka_message_t *ts_read_first(const char *topic, int partition, rd_kafka_t **reader)
{
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_message_t *m = NULL;
	char err[512], group[300];
	rd_kafka_t *rk;
	time_t deadline;

	/* Read by assignment; librdkafka still wants a group id. */
	snprintf(group, sizeof(group), "%s-reader", topic);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, partition)->offset =
	        RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	for (deadline = time(NULL) + 60; time(NULL) < deadline;) {
		m = rd_kafka_consumer_poll(rk, 500);
		if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		if (m != NULL)
			rd_kafka_message_destroy(m);
		m = NULL;
	}
	ck_assert_msg(m != NULL, "nothing in %s [%d] within 60 s", topic, partition);
	*reader = rk;
	return m;
}

void ts_reader_close(rd_kafka_t *reader)
{
	rd_kafka_consumer_close(reader);
	rd_kafka_destroy(reader);
}
