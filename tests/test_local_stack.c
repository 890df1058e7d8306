/*
 * Proves the local stack is real: Kafka through librdkafka (produce, consume in a
 * group with headers, a second group reading independently), PostgreSQL through
 * libpq and the MongoDB-protocol server through mongo-c-driver (unique index).
 * Also checks that `stack.sh up` refuses a taken port with one clear line, and
 * eda-topics' create, list and delete forms against the real broker.
 *
 * Addresses come from KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL and MONGODB_URL, as
 * written to .stack/env by `make infra-up` and exported by run-tests.sh.
 */
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/run_cmd.h"
#include <arpa/inet.h>
#include <check.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

static void unique_name(char *buf, size_t size, const char *prefix)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "%s-%d-%ld%09ld", prefix, (int)getpid(), (long)ts.tv_sec, ts.tv_nsec);
}

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *group)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers",
	                                   env_or("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092"),
	                                   err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	if (type == RD_KAFKA_PRODUCER) {
		ck_assert_int_eq(
		        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)),
		        RD_KAFKA_CONF_OK);
	} else {
		ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)),
		                 RD_KAFKA_CONF_OK);
		ck_assert_int_eq(
		        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)),
		        RD_KAFKA_CONF_OK);
	}
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
	if (type == RD_KAFKA_CONSUMER)
		rd_kafka_poll_set_consumer(rk);
	return rk;
}

/* Consumes from TOPIC in GROUP until the message with KEY shows up and checks
 * its value and headers. */
static void consume_expect(const char *topic, const char *group, const char *key, const char *value)
{
	rd_kafka_t *rk = kafka_client(RD_KAFKA_CONSUMER, group);
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	int found = 0;
	time_t deadline = time(NULL) + 60;

	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	ck_assert_int_eq(rd_kafka_subscribe(rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(topics);

	while (!found && time(NULL) < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
		rd_kafka_headers_t *hdrs = NULL;
		const void *hv;
		size_t hs;

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key_len == strlen(key) &&
		    memcmp(m->key, key, m->key_len) == 0) {
			found = 1;
			ck_assert_uint_eq(m->len, strlen(value));
			ck_assert(memcmp(m->payload, value, m->len) == 0);
			ck_assert_int_eq(rd_kafka_message_headers(m, &hdrs),
			                 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert_int_eq(rd_kafka_header_get_last(hdrs, "content-type", &hv, &hs),
			                 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert_uint_eq(hs, strlen("application/cloudevents+json"));
			ck_assert(memcmp(hv, "application/cloudevents+json", hs) == 0);
			ck_assert_int_eq(rd_kafka_header_get_last(hdrs, "x-test", &hv, &hs),
			                 RD_KAFKA_RESP_ERR_NO_ERROR);
			ck_assert(hs == 2 && memcmp(hv, "42", 2) == 0);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	ck_assert_msg(found, "message %s not consumed by group %s within 60 s", key, group);
}

START_TEST(kafka_produce_consume_two_groups)
{
	rd_kafka_t *p = kafka_client(RD_KAFKA_PRODUCER, NULL);
	char topic[128], key[96], g1[96], g2[96];
	const char *value = "{\"specversion\":\"1.0\",\"type\":\"StackCheck\"}";
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);

	/* A topic of this test's own: the stack's "orders" belongs to the running
	 * system (a `make up` beside the tests would dead-letter this message). */
	ts_unique(topic, sizeof(topic), "stack-check");
	ts_create_topic(topic, 6);
	unique_name(key, sizeof(key), "key");
	unique_name(g1, sizeof(g1), "stack-test-a");
	unique_name(g2, sizeof(g2), "stack-test-b");
	rd_kafka_header_add(hdrs, "content-type", -1, "application/cloudevents+json", -1);
	rd_kafka_header_add(hdrs, "x-test", -1, "42", -1);
	ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
	                                   RD_KAFKA_V_KEY(key, strlen(key)),
	                                   RD_KAFKA_V_VALUE((void *)value, strlen(value)),
	                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                                   RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
	                 RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(p);

	consume_expect(topic, g1, key, value);
	/* A second group has its own offsets: it sees the same message. */
	consume_expect(topic, g2, key, value);
}
END_TEST

START_TEST(postgres_create_insert_select)
{
	PGconn *c = PQconnectdb(env_or("DATABASE_URL", "postgresql://eda@127.0.0.1:55432/eda"));
	PGresult *r;
	const char *params[1] = {"widget"};

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	r = PQexec(c, "CREATE TEMP TABLE stack_check (id serial PRIMARY KEY, name text NOT NULL)");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	r = PQexecParams(c, "INSERT INTO stack_check (name) VALUES ($1) RETURNING id", 1, NULL,
	                 params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	r = PQexec(c, "SELECT name, current_setting('synchronous_commit') FROM stack_check");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "widget");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "on");
	PQclear(r);
	PQfinish(c);
}
END_TEST

START_TEST(mongo_insert_unique_find)
{
	bson_error_t err;
	char coll_name[96];
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	bson_t *cmd, *doc, reply;
	const bson_t *found;
	mongoc_cursor_t *cur;
	int n = 0;

	mongoc_init();
	client = mongoc_client_new(env_or("MONGODB_URL", "mongodb://127.0.0.1:57017/inventory"));
	ck_assert_ptr_nonnull(client);
	unique_name(coll_name, sizeof(coll_name), "stack_check");
	coll = mongoc_client_get_collection(client, "stack_test", coll_name);

	cmd = BCON_NEW("createIndexes", BCON_UTF8(coll_name), "indexes", "[", "{", "key", "{",
	               "sku", BCON_INT32(1), "version", BCON_INT32(1), "}", "name", "sku_version",
	               "unique", BCON_BOOL(true), "}", "]");
	ck_assert_msg(mongoc_collection_write_command_with_opts(coll, cmd, NULL, &reply, &err),
	              "createIndexes: %s", err.message);
	bson_destroy(&reply);
	bson_destroy(cmd);

	doc = BCON_NEW("sku", "SKU-1", "version", BCON_INT32(1), "stock", BCON_INT32(10));
	ck_assert_msg(mongoc_collection_insert_one(coll, doc, NULL, NULL, &err), "insert: %s",
	              err.message);
	/* The same (sku, version) again must be refused by the unique index. */
	ck_assert(!mongoc_collection_insert_one(coll, doc, NULL, NULL, &err));
	ck_assert_msg(strstr(err.message, "duplicate key") != NULL, "unexpected error: %s",
	              err.message);
	bson_destroy(doc);

	doc = BCON_NEW("sku", "SKU-1");
	cur = mongoc_collection_find_with_opts(coll, doc, NULL, NULL);
	while (mongoc_cursor_next(cur, &found)) {
		bson_iter_t it;

		ck_assert(bson_iter_init_find(&it, found, "stock"));
		ck_assert_int_eq(bson_iter_int32(&it), 10);
		n++;
	}
	ck_assert(!mongoc_cursor_error(cur, &err));
	ck_assert_int_eq(n, 1);
	mongoc_cursor_destroy(cur);
	bson_destroy(doc);

	ck_assert(mongoc_collection_drop(coll, &err));
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(client);
	mongoc_cleanup();
}
END_TEST

/* Holds a loopback port, points a second stack's PostgreSQL at it and expects
 * `stack.sh up` to fail at once with a line naming the port and the variable. */
START_TEST(stack_refuses_taken_port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	char dir[] = "/tmp/eda-stack-test-XXXXXX", cmd[512], out[4096] = "";
	int status;

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));

	snprintf(cmd, sizeof(cmd),
	         "EDA_STACK_DIR=%s EDA_PG_PORT=%d EDA_START_TIMEOUT=10 "
	         "infrastructure/scripts/stack.sh up",
	         dir, ntohs(a.sin_port));
	status = ts_run(cmd, out, sizeof(out));
	close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);

	ck_assert_msg(status == 1, "status %d, output: %s", status, out);
	snprintf(cmd, sizeof(cmd), "postgres: port %d on 127.0.0.1 is already in use",
	         ntohs(a.sin_port));
	ck_assert_msg(strstr(out, cmd) != NULL, "output: %s", out);
	ck_assert_msg(strstr(out, "EDA_PG_PORT") != NULL, "output: %s", out);
}
END_TEST

/* True if the --list output OUT has NAME as a whole line. */
static int listed(const char *out, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(out, name); p != NULL; p = strstr(p + 1, name))
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

START_TEST(eda_topics_create_list_delete)
{
	const char *boot = env_or("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092");
	char tool[512], name[128], file[] = "/tmp/eda-topics-test-XXXXXX", cmd[1024];
	static char out[1 << 20];
	int fd, gone = 0;

	snprintf(tool, sizeof(tool), "%s/eda-topics", env_or("EDA_BIN_DIR", "build/bin"));
	unique_name(name, sizeof(name), "test.topics");
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(dprintf(fd, "# a comment\n%s 2 1\n", name), 0);
	close(fd);

	snprintf(cmd, sizeof(cmd), "%s %s %s", tool, boot, file);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "created") != NULL, "output: %s", out);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "exists") != NULL, "output: %s", out);
	unlink(file);

	snprintf(cmd, sizeof(cmd), "%s %s --list", tool, boot);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	ck_assert_msg(listed(out, name), "%s not in the list", name);
	ck_assert_msg(!listed(out, "__consumer_offsets"), "internal topics listed");

	/* One by name, one unknown; then through stdin, where it is gone already. */
	snprintf(cmd, sizeof(cmd), "%s %s --delete %s %s-never-made", tool, boot, name, name);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "deleted 1 topics") != NULL, "output: %s", out);
	for (int i = 0; i < 100 && !gone; i++) {
		snprintf(cmd, sizeof(cmd), "%s %s --list", tool, boot);
		ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
		gone = !listed(out, name);
		if (!gone)
			usleep(100000);
	}
	ck_assert_msg(gone, "%s still listed after its deletion", name);
	snprintf(cmd, sizeof(cmd), "echo %s | %s %s --delete -", name, tool, boot);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "deleted 0 topics") != NULL, "output: %s", out);

	snprintf(cmd, sizeof(cmd), "%s %s --bogus", tool, boot);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "usage: eda-topics") != NULL, "output: %s", out);
	snprintf(cmd, sizeof(cmd), "%s %s /nonexistent/topics.conf", tool, boot);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "cannot open /nonexistent/topics.conf") != NULL, "output: %s",
	              out);
}
END_TEST

/* Runs topic-guard.sh VERB FILE over TOPIC alone, as if STACK were the stack
 * folder (its run/ holds the `make up` pid files); returns the exit status. */
static int guard(const char *verb, const char *file, const char *topic, const char *stack,
                 char *out, size_t outsz)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	         "EDA_GUARDED_TOPICS=%s EDA_STACK_DIR=%s infrastructure/scripts/topic-guard.sh "
	         "%s %s",
	         topic, stack, verb, file);
	return ts_run(cmd, out, outsz);
}

/* run-tests.sh's guard of the running system's topics (topic-guard.sh), on a
 * topic of this test's own standing in for "orders": without `make up` any
 * new message fails it; with a `make up` daemon alive only a message that is
 * not an event of this project does (the daemon's own events do not). */
START_TEST(topic_guard_catches_suite_writes)
{
	const char *junk = "{\"specversion\":\"1.0\",\"type\":\"StackCheck\"}";
	const char *event = "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":"
	                    "\"/order-service\",\"type\":\"OrderPlaced\",\"data\":{}}";
	char topic[128], stack[] = "/tmp/eda-guard-test-XXXXXX", file[256], pidfile[320];
	char out[8192], cmd[512];
	FILE *f;

	ts_unique(topic, sizeof(topic), "guarded-orders");
	ts_create_topic(topic, 2);
	ck_assert_ptr_nonnull(mkdtemp(stack));
	snprintf(file, sizeof(file), "%s/offsets", stack);

	ck_assert_int_eq(guard("record", file, topic, stack, out, sizeof(out)), 0);
	ck_assert_msg(guard("check", file, topic, stack, out, sizeof(out)) == 0, "output: %s", out);
	ts_produce(topic, 1, "k", &junk, 1);
	ck_assert_int_eq(guard("check", file, topic, stack, out, sizeof(out)), 1);
	snprintf(cmd, sizeof(cmd), "a suite wrote 1 messages to the running system's topic %s",
	         topic);
	ck_assert_msg(strstr(out, cmd) != NULL, "output: %s", out);

	/* A `make up` daemon alive (this process stands in for it). */
	snprintf(pidfile, sizeof(pidfile), "%s/run", stack);
	ck_assert_int_eq(mkdir(pidfile, 0755), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/run/order-service.pid", stack);
	f = fopen(pidfile, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	ck_assert_int_eq(guard("check", file, topic, stack, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "not an event of this project") != NULL, "output: %s", out);
	ck_assert_int_eq(guard("record", file, topic, stack, out, sizeof(out)), 0);
	ts_produce(topic, 1, "k", &event, 1);
	ck_assert_msg(guard("check", file, topic, stack, out, sizeof(out)) == 0, "output: %s", out);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", stack);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("local_stack");
	TCase *tc = tcase_create("stack");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kafka_produce_consume_two_groups);
	tcase_add_test(tc, postgres_create_insert_select);
	tcase_add_test(tc, mongo_insert_unique_find);
	tcase_add_test(tc, stack_refuses_taken_port);
	tcase_add_test(tc, eda_topics_create_list_delete);
	tcase_add_test(tc, topic_guard_catches_suite_writes);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
