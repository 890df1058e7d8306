/*
 * Reading topics up to their current end by assignment; see topic_reader.h.
 */
#include "eda/topic_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eda/errbuf.h"
#include "eda/kafka.h"

#define METADATA_WAIT_MS 10000

struct range {
	char *topic;
	int32_t partition;
	int64_t next, end;
};

struct eda_topic_reader {
	rd_kafka_t *rk;
	struct range *ranges;
	size_t n, cap;
};

eda_topic_reader_t *eda_topic_reader_new(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
	eda_topic_reader_t *r;
	char group[64];
	size_t len = sizeof(group);

	if (rd_kafka_conf_get(conf, "group.id", group, &len) != RD_KAFKA_CONF_OK || len <= 1) {
		/* Never used to commit (auto commit is off), only required by assign. */
		snprintf(group, sizeof(group), "eda-topic-reader-%d", (int)getpid());
		if (eda_kafka_conf_set(conf, "group.id", group, err, errsz) != 0) {
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	if (eda_kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		eda_errf(err, errsz, "out of memory");
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errsz);
	if (r->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(r);
		return NULL;
	}
	return r;
}

/* The first retained offset (LO) and the end (HI) of each partition of TOPIC. */
static int watermarks(eda_topic_reader_t *r, const char *topic, int64_t *lo, int64_t *hi, int max,
                      int *npart, char *err, size_t errsz)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, topic, NULL);
	rd_kafka_resp_err_t e;
	int n;

	if (rkt == NULL) {
		eda_errf(err, errsz, "topic %s: %s", topic,
		         rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	e = rd_kafka_metadata(r->rk, 0, rkt, &md, METADATA_WAIT_MS);
	rd_kafka_topic_destroy(rkt);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		eda_errf(err, errsz, "topic %s: no metadata from the broker: %s", topic,
		         rd_kafka_err2str(e));
		return -1;
	}
	if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		eda_errf(err, errsz, "topic %s not found (%s)", topic,
		         rd_kafka_err2str(md->topic_cnt == 1
		                                  ? md->topics[0].err
		                                  : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
		rd_kafka_metadata_destroy(md);
		return -1;
	}
	n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	if (n > max) {
		eda_errf(err, errsz, "topic %s has %d partitions, more than %d", topic, n, max);
		return -1;
	}
	for (int p = 0; p < n; p++) {
		/* A topic created a moment ago may have no leader elected yet. */
		for (int waited = 0;; waited += 100) {
			e = rd_kafka_query_watermark_offsets(r->rk, topic, p, &lo[p], &hi[p],
			                                     METADATA_WAIT_MS);
			if (waited >= METADATA_WAIT_MS ||
			    (e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
			     e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
			     e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART))
				break;
			usleep(100 * 1000);
		}
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			eda_errf(err, errsz, "topic %s partition %d: %s", topic, p,
			         rd_kafka_err2str(e));
			return -1;
		}
	}
	*npart = n;
	return 0;
}

int eda_topic_reader_ends(eda_topic_reader_t *r, const char *topic, int64_t *ends, int max,
                          int *npart, char *err, size_t errsz)
{
	int64_t lo[EDA_TOPIC_READER_MAX_PARTITIONS];

	if (max > EDA_TOPIC_READER_MAX_PARTITIONS)
		max = EDA_TOPIC_READER_MAX_PARTITIONS;
	return watermarks(r, topic, lo, ends, max, npart, err, errsz);
}

static int push(eda_topic_reader_t *r, const char *topic, int32_t partition, int64_t next,
                int64_t end)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct range *p = realloc(r->ranges, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		r->ranges = p;
		r->cap = cap;
	}
	r->ranges[r->n].topic = strdup(topic);
	if (r->ranges[r->n].topic == NULL)
		return -1;
	r->ranges[r->n].partition = partition;
	r->ranges[r->n].next = next;
	r->ranges[r->n].end = end;
	r->n++;
	return 0;
}

int eda_topic_reader_add(eda_topic_reader_t *r, const char *topic, const int64_t *from, int nfrom,
                         char *err, size_t errsz)
{
	int64_t lo[EDA_TOPIC_READER_MAX_PARTITIONS], hi[EDA_TOPIC_READER_MAX_PARTITIONS];
	int n;

	if (watermarks(r, topic, lo, hi, EDA_TOPIC_READER_MAX_PARTITIONS, &n, err, errsz) != 0)
		return -1;
	for (int p = 0; p < n; p++) {
		/* Retention may have deleted what FROM points at: start at what is left. */
		int64_t start = from != NULL && p < nfrom && from[p] > lo[p] ? from[p] : lo[p];

		if (start < hi[p] && push(r, topic, p, start, hi[p]) != 0) {
			eda_errf(err, errsz, "out of memory");
			return -1;
		}
	}
	return 0;
}

static struct range *find(eda_topic_reader_t *r, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);

	for (size_t i = 0; i < r->n; i++) {
		if (r->ranges[i].partition == m->partition &&
		    strcmp(r->ranges[i].topic, topic) == 0)
			return &r->ranges[i];
	}
	return NULL;
}

static size_t left(const eda_topic_reader_t *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->ranges[i].next < r->ranges[i].end;
	return n;
}

int eda_topic_reader_run(eda_topic_reader_t *r, eda_topic_reader_fn fn, void *ctx, int timeout_ms,
                         char *err, size_t errsz)
{
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t e;
	int status = 0;

	if (left(r) == 0)
		return 0;
	parts = rd_kafka_topic_partition_list_new((int)r->n);
	for (size_t i = 0; i < r->n; i++) {
		if (r->ranges[i].next < r->ranges[i].end)
			rd_kafka_topic_partition_list_add(parts, r->ranges[i].topic,
			                                  r->ranges[i].partition)
			        ->offset = r->ranges[i].next;
	}
	e = rd_kafka_assign(r->rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		eda_errf(err, errsz, "assign: %s", rd_kafka_err2str(e));
		return -1;
	}
	while (status == 0 && left(r) > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
		struct range *rg;

		if (m == NULL) {
			eda_errf(err, errsz,
			         "no message within %d ms while %zu partition(s) were not read to "
			         "their end",
			         timeout_ms, left(r));
			status = -1;
			break;
		}
		/* Partition-EOF and transient errors carry no message to hand out. */
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && (rg = find(r, m)) != NULL &&
		    m->offset < rg->end) {
			rg->next = m->offset + 1;
			if (fn(m, ctx) != 0)
				status = 1;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(r->rk, NULL);
	return status;
}

void eda_topic_reader_free(eda_topic_reader_t *r)
{
	if (r == NULL)
		return;
	rd_kafka_consumer_close(r->rk);
	rd_kafka_destroy(r->rk);
	for (size_t i = 0; i < r->n; i++)
		free(r->ranges[i].topic);
	free(r->ranges);
	free(r);
}
