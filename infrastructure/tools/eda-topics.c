/*
 * eda-topics: creates the topics listed in a topics file, idempotently.
 *
 *   eda-topics BOOTSTRAP_SERVERS TOPICS_FILE
 *
 * The file has one topic a line, "name partitions replication", '#' starts a
 * comment. A topic that already exists is fine; any other broker error, a bad
 * line or a broker that does not answer within 30 s fails with exit status 1
 * (2 for bad usage). Used by `make infra-up` (infrastructure/scripts/stack.sh),
 * written in C with librdkafka so that no JVM start-up is paid per topic.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 64

struct topic_line {
	char name[250];
	int partitions;
	int replication;
};

static int read_topics(const char *path, struct topic_line *out, size_t max, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "eda-topics: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *hash = strchr(line, '#');
		char extra[2];
		int got;

		lineno++;
		if (hash != NULL)
			*hash = '\0';
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (*n == max) {
			fprintf(stderr, "eda-topics: %s: more than %zu topics\n", path, max);
			goto fail;
		}
		got = sscanf(line, "%249s %d %d %1s", out[*n].name, &out[*n].partitions,
		             &out[*n].replication, extra);
		if (got != 3 || out[*n].partitions < 1 || out[*n].replication < 1) {
			fprintf(stderr,
			        "eda-topics: %s:%d: expected 'name partitions replication'\n", path,
			        lineno);
			goto fail;
		}
		(*n)++;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

int main(int argc, char **argv)
{
	struct topic_line topics[MAX_TOPICS];
	rd_kafka_NewTopic_t *newt[MAX_TOPICS];
	size_t n = 0, created = 0, i;
	char err[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk = NULL;
	rd_kafka_queue_t *queue = NULL;
	rd_kafka_event_t *ev = NULL;
	int status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: eda-topics BOOTSTRAP_SERVERS TOPICS_FILE\n");
		return 2;
	}
	if (read_topics(argv[2], topics, MAX_TOPICS, &n) != 0)
		return 1;

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "eda-topics: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "eda-topics: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	for (i = 0; i < n; i++) {
		newt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions,
		                                topics[i].replication, err, sizeof(err));
		if (newt[i] == NULL) {
			fprintf(stderr, "eda-topics: %s: %s\n", topics[i].name, err);
			goto done;
		}
		created = i + 1;
	}

	queue = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *opts =
	        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opts, 30000, err, sizeof(err));
	rd_kafka_CreateTopics(rk, newt, n, opts, queue);
	rd_kafka_AdminOptions_destroy(opts);

	ev = rd_kafka_queue_poll(queue, 35000);
	if (ev == NULL) {
		fprintf(stderr, "eda-topics: no answer from %s within 35 s\n", argv[1]);
		goto done;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "eda-topics: %s\n", rd_kafka_event_error_string(ev));
		goto done;
	}
	const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
	size_t nres;
	const rd_kafka_topic_result_t **tres = rd_kafka_CreateTopics_result_topics(res, &nres);

	status = 0;
	for (i = 0; i < nres; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tres[i]);
		const char *name = rd_kafka_topic_result_name(tres[i]);

		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			printf("eda-topics: created %s\n", name);
		} else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			printf("eda-topics: %s exists\n", name);
		} else {
			const char *msg = rd_kafka_topic_result_error_string(tres[i]);

			fprintf(stderr, "eda-topics: %s: %s\n", name,
			        msg ? msg : rd_kafka_err2str(e));
			status = 1;
		}
	}
done:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (queue != NULL)
		rd_kafka_queue_destroy(queue);
	rd_kafka_NewTopic_destroy_array(newt, created);
	rd_kafka_destroy(rk);
	return status;
}
