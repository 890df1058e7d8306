/*
 * eda-topics: creates the topics listed in a topics file, idempotently; lists
 * and deletes topics.
 *
 *   eda-topics BOOTSTRAP_SERVERS TOPICS_FILE
 *   eda-topics BOOTSTRAP_SERVERS --list
 *   eda-topics BOOTSTRAP_SERVERS --delete NAME...     (NAME "-": names on stdin)
 *
 * The file has one topic a line, "name partitions replication [key=value...]"
 * (topic configs such as cleanup.policy=compact), '#' starts a comment. A topic that already exists
 * is fine; any other broker error, a bad line or a broker that does not answer within 30 s fails
 * with exit status 1 (2 for bad usage). Used by `make infra-up` (infrastructure/scripts/stack.sh),
 * written in C with librdkafka so that no JVM start-up is paid per topic.
 *
 * --list prints every topic but Kafka's internal ones, one a line. --delete
 * deletes the named topics (one that does not exist is fine); the test runner
 * and the benchmark remove the topics they created with it, since every suite
 * and run makes topics of its own and a local broker that keeps them all
 * (thousands after a few days) gets slower at everything.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"

#define MAX_TOPICS 64

/* Topics named in one DeleteTopics request. */
#define DELETE_BATCH 200

#define MAX_CONFIGS 4

struct topic_line {
	char name[250];
	int partitions;
	int replication;
	char config[MAX_CONFIGS][2][128]; /* key, value */
	int nconfig;
};

/* "key=value key=value" (at most MAX_CONFIGS) into T. 0, or -1 when malformed. */
static int parse_configs(const char *s, struct topic_line *t)
{
	char word[260];
	int used;

	t->nconfig = 0;
	while (sscanf(s, "%259s%n", word, &used) == 1) {
		char *eq = strchr(word, '=');

		if (t->nconfig == MAX_CONFIGS || eq == NULL || eq == word || eq[1] == '\0' ||
		    (size_t)(eq - word) >= sizeof(t->config[0][0]) ||
		    strlen(eq + 1) >= sizeof(t->config[0][1]))
			return -1;
		*eq = '\0';
		snprintf(t->config[t->nconfig][0], sizeof(t->config[0][0]), "%.127s", word);
		snprintf(t->config[t->nconfig][1], sizeof(t->config[0][1]), "%.127s", eq + 1);
		t->nconfig++;
		s += used;
	}
	return 0;
}

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
		int got, used = 0;

		lineno++;
		if (hash != NULL)
			*hash = '\0';
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (*n == max) {
			fprintf(stderr, "eda-topics: %s: more than %zu topics\n", path, max);
			goto fail;
		}
		got = sscanf(line, "%249s %d %d %n", out[*n].name, &out[*n].partitions,
		             &out[*n].replication, &used);
		if (got != 3 || out[*n].partitions < 1 || out[*n].replication < 1 ||
		    parse_configs(line + used, &out[*n]) != 0) {
			fprintf(stderr,
			        "eda-topics: %s:%d: expected 'name partitions replication "
			        "[key=value...]'\n",
			        path, lineno);
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

static rd_kafka_t *connect_to(const char *bootstrap)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "eda-topics: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "eda-topics: %s\n", err);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* The admin result event of the request started on QUEUE, or NULL (said why). */
static rd_kafka_event_t *await_result(rd_kafka_queue_t *queue, const char *bootstrap)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, 35000);

	if (ev == NULL) {
		fprintf(stderr, "eda-topics: no answer from %s within 35 s\n", bootstrap);
		return NULL;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "eda-topics: %s\n", rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static int create_topics(const char *bootstrap, const char *path)
{
	struct topic_line topics[MAX_TOPICS];
	rd_kafka_NewTopic_t *newt[MAX_TOPICS];
	size_t n = 0, created = 0, i;
	char err[512];
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue = NULL;
	rd_kafka_event_t *ev = NULL;
	int status = 1;

	if (read_topics(path, topics, MAX_TOPICS, &n) != 0)
		return 1;
	if ((rk = connect_to(bootstrap)) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		newt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions,
		                                topics[i].replication, err, sizeof(err));
		if (newt[i] == NULL) {
			fprintf(stderr, "eda-topics: %s: %s\n", topics[i].name, err);
			goto done;
		}
		created = i + 1;
		for (int k = 0; k < topics[i].nconfig; k++) {
			if (rd_kafka_NewTopic_set_config(newt[i], topics[i].config[k][0],
			                                 topics[i].config[k][1]) !=
			    RD_KAFKA_RESP_ERR_NO_ERROR) {
				fprintf(stderr, "eda-topics: %s: config %s refused\n",
				        topics[i].name, topics[i].config[k][0]);
				goto done;
			}
		}
	}

	queue = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *opts =
	        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opts, 30000, err, sizeof(err));
	rd_kafka_CreateTopics(rk, newt, n, opts, queue);
	rd_kafka_AdminOptions_destroy(opts);

	if ((ev = await_result(queue, bootstrap)) == NULL)
		goto done;
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

static int list_topics(const char *bootstrap)
{
	rd_kafka_t *rk = connect_to(bootstrap);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;

	if (rk == NULL)
		return 1;
	e = rd_kafka_metadata(rk, 1, NULL, &md, 30000);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "eda-topics: %s: %s\n", bootstrap, rd_kafka_err2str(e));
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 0; i < md->topic_cnt; i++)
		if (strncmp(md->topics[i].topic, "__", 2) != 0)
			printf("%s\n", md->topics[i].topic);
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
	return 0;
}

/* Deletes the N topics NAMES in one request, adding those that existed to
 * *DELETED; 0, or 1 (said why). */
static int delete_batch(rd_kafka_t *rk, const char *bootstrap, char **names, size_t n,
                        size_t *deleted)
{
	rd_kafka_DeleteTopic_t *del[DELETE_BATCH];
	rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *opts =
	        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
	rd_kafka_event_t *ev;
	char err[512];
	int status = 1;

	for (size_t i = 0; i < n; i++)
		del[i] = rd_kafka_DeleteTopic_new(names[i]);
	rd_kafka_AdminOptions_set_request_timeout(opts, 30000, err, sizeof(err));
	rd_kafka_DeleteTopics(rk, del, n, opts, queue);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_DeleteTopic_destroy_array(del, n);
	if ((ev = await_result(queue, bootstrap)) != NULL) {
		const rd_kafka_DeleteTopics_result_t *res = rd_kafka_event_DeleteTopics_result(ev);
		size_t nres;
		const rd_kafka_topic_result_t **tres =
		        rd_kafka_DeleteTopics_result_topics(res, &nres);

		status = 0;
		for (size_t i = 0; i < nres; i++) {
			rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tres[i]);
			const char *name = rd_kafka_topic_result_name(tres[i]);

			if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
				++*deleted;
			if (e == RD_KAFKA_RESP_ERR_NO_ERROR ||
			    e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
				continue;
			fprintf(stderr, "eda-topics: %s: %s\n", name,
			        rd_kafka_topic_result_error_string(tres[i])
			                ? rd_kafka_topic_result_error_string(tres[i])
			                : rd_kafka_err2str(e));
			status = 1;
		}
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(queue);
	return status;
}

/* Deletes the topics named in ARGV[0..ARGC), "-" reading names from stdin. */
static int delete_topics(const char *bootstrap, int argc, char **argv)
{
	char *batch[DELETE_BATCH];
	size_t n = 0, deleted = 0;
	char line[512];
	int status = 0;
	rd_kafka_t *rk = connect_to(bootstrap);

	if (rk == NULL)
		return 1;
	for (int a = 0; a < argc; a++) {
		bool from_stdin = strcmp(argv[a], "-") == 0;

		while (from_stdin ? fgets(line, sizeof(line), stdin) != NULL : true) {
			const char *name = argv[a];

			if (from_stdin) {
				line[strcspn(line, "\r\n")] = '\0';
				name = line;
			}
			if (*name != '\0')
				batch[n++] = eda_xstrdup(name);
			if (n == DELETE_BATCH) {
				status |= delete_batch(rk, bootstrap, batch, n, &deleted);
				while (n > 0)
					free(batch[--n]);
			}
			if (!from_stdin)
				break;
		}
	}
	if (n > 0) {
		status |= delete_batch(rk, bootstrap, batch, n, &deleted);
		while (n > 0)
			free(batch[--n]);
	}
	if (status == 0)
		printf("eda-topics: deleted %zu topics\n", deleted);
	rd_kafka_destroy(rk);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[2], "--list") == 0)
		return list_topics(argv[1]);
	if (argc >= 4 && strcmp(argv[2], "--delete") == 0)
		return delete_topics(argv[1], argc - 3, argv + 3);
	if (argc != 3 || argv[2][0] == '-') {
		fprintf(stderr, "usage: eda-topics BOOTSTRAP_SERVERS TOPICS_FILE | --list | "
		                "--delete NAME... (- reads names from stdin)\n");
		return 2;
	}
	return create_topics(argv[1], argv[2]);
}
