/*
 * eda-dlq: look into dead-letter topics and replay what they hold.
 *
 *   eda-dlq list   DLQ_TOPIC            one line per message: where it is, why it died,
 *                                        where it came from, its event type and id
 *   eda-dlq show   DLQ_TOPIC PART:OFF   headers and value of one message
 *   eda-dlq replay DLQ_TOPIC PART:OFF... | --all
 *                                        sends each message back to its original topic
 *                                        (header dlq.topic) with its key and headers,
 *                                        without the dlq.* ones, plus
 *                                        dlq.replayed-from = DLQ_TOPIC/PART/OFF and
 *                                        dlq.replay-count = previous + 1, so a message
 *                                        that dies again and again shows as a loop.
 *
 * DLQ_TOPIC may also be a consumer group name ("inventory-service" reads
 * dlq.inventory-service). The broker comes from KAFKA_BOOTSTRAP_SERVERS (and any
 * KAFKA_* setting, as for the daemons). The tool reads by assignment and commits
 * nothing, so it never disturbs a consumer group. Exit status: 0, 1 when Kafka
 * fails, 2 for bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eda/event.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/producer.h"
#include "eda/topic_reader.h"

#define MAX_PARTITIONS 256
#define WAIT_MS        10000

struct position {
	int32_t partition;
	int64_t offset;
};

static void usage(void)
{
	fprintf(stderr, "usage: eda-dlq list DLQ_TOPIC\n"
	                "       eda-dlq show DLQ_TOPIC PARTITION:OFFSET\n"
	                "       eda-dlq replay DLQ_TOPIC (PARTITION:OFFSET... | --all)\n");
}

static int parse_position(const char *s, struct position *out)
{
	char *end;
	long p;
	long long o;

	errno = 0;
	p = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != ':' || p < 0 || p >= MAX_PARTITIONS)
		return -1;
	s = end + 1;
	o = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || o < 0)
		return -1;
	out->partition = (int32_t)p;
	out->offset = (int64_t)o;
	return 0;
}

static const char *header(const rd_kafka_message_t *m, const char *name, char *buf, size_t bufsz)
{
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t n;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL)
		return NULL;
	snprintf(buf, bufsz, "%.*s", (int)n, (const char *)v);
	return buf;
}

/* Calls FN on every message of TOPIC now in it; 0, or 1 when Kafka fails or
 * FN reported a failure. */
static int read_all(const char *topic, eda_topic_reader_fn fn, void *ctx)
{
	char err[512];
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, sizeof(err));
	eda_topic_reader_t *r = conf ? eda_topic_reader_new(conf, err, sizeof(err)) : NULL;
	int status = r == NULL || eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)) != 0 ||
	             eda_topic_reader_run(r, fn, ctx, WAIT_MS, err, sizeof(err)) != 0;

	if (status && err[0] != '\0')
		fprintf(stderr, "eda-dlq: %s (is the stack up?)\n", err);
	eda_topic_reader_free(r);
	return status;
}

static int print_line(const rd_kafka_message_t *m, void *ctx)
{
	char err[256], src[256], sp[16], so[32], count[16];
	eda_event_t *ev = NULL;
	char why[64];

	(void)ctx;
	eda_event_parse(m->payload, m->len, &ev, why, sizeof(why));
	printf("%" PRId32 ":%" PRId64 "\t%s/%s/%s\t%s\treplays=%s\t%s %s\n", m->partition,
	       m->offset, header(m, "dlq.topic", src, sizeof(src)) ?: "?",
	       header(m, "dlq.partition", sp, sizeof(sp)) ?: "?",
	       header(m, "dlq.offset", so, sizeof(so)) ?: "?",
	       header(m, "dlq.error", err, sizeof(err)) ?: "(no reason)",
	       header(m, "dlq.replay-count", count, sizeof(count)) ?: "0",
	       ev ? ev->type : "(not an event)", ev ? ev->id : "");
	eda_event_free(ev);
	return 0;
}

struct selection {
	struct position *want;
	int nwant;
	int all;
	int found;
	int failed;               /* replays that failed; the others still go */
	eda_producer_t *producer; /* replay only */
	const char *dlq;
};

static int selected(struct selection *s, const rd_kafka_message_t *m)
{
	if (s->all)
		return 1;
	for (int i = 0; i < s->nwant; i++) {
		if (s->want[i].partition == m->partition && s->want[i].offset == m->offset)
			return 1;
	}
	return 0;
}

static int print_one(const rd_kafka_message_t *m, void *ctx)
{
	struct selection *s = ctx;
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *v;
	size_t n;

	if (!selected(s, m))
		return 0;
	s->found++;
	printf("partition %" PRId32 " offset %" PRId64 "\nkey: %.*s\n", m->partition, m->offset,
	       (int)m->key_len, m->key ? (const char *)m->key : "");
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (size_t i = 0;
		     rd_kafka_header_get_all(hdrs, i, &name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR;
		     i++)
			printf("header %s: %.*s\n", name, (int)n, v ? (const char *)v : "");
	}
	printf("value:\n%.*s\n", (int)m->len, m->payload ? (const char *)m->payload : "");
	return 0;
}

static int replay_one(const rd_kafka_message_t *m, void *ctx)
{
	struct selection *s = ctx;
	eda_kafka_header_t out[64];
	size_t nout = 0;
	rd_kafka_headers_t *hdrs;
	char topic[256], from[320], count[16], err[512];
	const char *name;
	const void *v;
	size_t n;
	int rc;

	if (!selected(s, m))
		return 0;
	s->found++;
	if (header(m, "dlq.topic", topic, sizeof(topic)) == NULL) {
		fprintf(stderr,
		        "eda-dlq: %" PRId32 ":%" PRId64 " has no dlq.topic header; skipped\n",
		        m->partition, m->offset);
		s->failed++;
		return 0;
	}
	snprintf(count, sizeof(count), "%d",
	         atoi(header(m, "dlq.replay-count", count, sizeof(count)) ?: "0") + 1);
	snprintf(from, sizeof(from), "%s/%" PRId32 "/%" PRId64, s->dlq, m->partition, m->offset);
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (size_t i = 0; nout < 60 && rd_kafka_header_get_all(hdrs, i, &name, &v, &n) ==
		                                        RD_KAFKA_RESP_ERR_NO_ERROR;
		     i++) {
			if (strncmp(name, "dlq.", 4) != 0)
				out[nout++] = (eda_kafka_header_t){name, v, n};
		}
	}
	out[nout++] = (eda_kafka_header_t){"dlq.replayed-from", from, strlen(from)};
	out[nout++] = (eda_kafka_header_t){"dlq.replay-count", count, strlen(count)};
	rc = eda_producer_send_sync(s->producer, topic, m->key, m->key_len, m->payload, m->len, out,
	                            nout, 30000, err, sizeof(err));
	if (rc != EDA_PRODUCER_OK) {
		fprintf(stderr, "eda-dlq: replay of %s to %s failed: %s\n", from, topic, err);
		s->failed++;
		return 0;
	}
	printf("replayed %s -> %s (replay %s)\n", from, topic, count);
	return 0;
}

int main(int argc, char **argv)
{
	char dlq[300], err[512];
	struct position want[128];
	struct selection sel = {.want = want, .dlq = dlq};
	int status;

	eda_log_init("eda-dlq", EDA_LOG_WARN);
	if (argc < 3) {
		usage();
		return 2;
	}
	if (strncmp(argv[2], "dlq.", 4) == 0)
		snprintf(dlq, sizeof(dlq), "%s", argv[2]);
	else
		snprintf(dlq, sizeof(dlq), "dlq.%s", argv[2]);

	if (strcmp(argv[1], "list") == 0 && argc == 3)
		return read_all(dlq, print_line, NULL);
	if ((strcmp(argv[1], "show") != 0 && strcmp(argv[1], "replay") != 0) || argc < 4) {
		usage();
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 && strcmp(argv[1], "replay") == 0) {
			sel.all = 1;
		} else if (sel.nwant < 128 && parse_position(argv[i], &want[sel.nwant]) == 0) {
			sel.nwant++;
		} else {
			fprintf(stderr, "eda-dlq: '%s' is not PARTITION:OFFSET\n", argv[i]);
			return 2;
		}
	}
	if (strcmp(argv[1], "show") == 0) {
		status = read_all(dlq, print_one, &sel);
	} else {
		rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, sizeof(err));

		if (conf == NULL) {
			fprintf(stderr, "eda-dlq: %s\n", err);
			return 2;
		}
		sel.producer = eda_producer_new(conf, NULL, NULL, NULL, err, sizeof(err));
		if (sel.producer == NULL) {
			fprintf(stderr, "eda-dlq: %s\n", err);
			return 1;
		}
		status = read_all(dlq, replay_one, &sel) || sel.failed > 0;
		eda_producer_free(sel.producer, 10000);
	}
	if (status == 0 && !sel.all && sel.found < sel.nwant) {
		fprintf(stderr, "eda-dlq: %d of the given positions are not in %s\n",
		        sel.nwant - sel.found, dlq);
		status = 1;
	}
	return status;
}
