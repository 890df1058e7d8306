/*
 * Tests of the eda-dlq tool (infrastructure/tools/eda-dlq.c) against the real
 * Kafka of the local stack: list, show and replay of a dead letter, the replay
 * headers that make a loop visible, and bad usage (exit status 2).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/run_cmd.h"

static const char *bin_dir(void)
{
	const char *d = getenv("EDA_BIN_DIR");

	return d != NULL && *d != '\0' ? d : "build/bin";
}

/* Runs eda-dlq ARGS, returns its exit status, output in OUT. */
static int run_dlq(const char *args, char *out, size_t outsz)
{
	char cmd[1024];
	int status;

	snprintf(cmd, sizeof(cmd), "KAFKA_BOOTSTRAP_SERVERS=%s %s/eda-dlq %s", ts_bootstrap(),
	         bin_dir(), args);
	status = ts_run(cmd, out, outsz);
	ck_assert_int_ge(status, 0);
	return status;
}

/* Puts one dead letter in DLQ as the consumer wrapper would have: headers naming
 * the error and where the message came from, plus the message's own header. */
static void put_dead_letter(const char *dlq, const char *origin)
{
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, ts_kafka_conf(), err, sizeof(err));
	rd_kafka_headers_t *h = rd_kafka_headers_new(6);
	const char *value = "{\"not\":\"an event\"}";

	ck_assert_msg(rk != NULL, "%s", err);
	rd_kafka_header_add(h, "content-type", -1, "application/cloudevents+json", -1);
	rd_kafka_header_add(h, "dlq.error", -1, "invalid envelope: specversion", -1);
	rd_kafka_header_add(h, "dlq.topic", -1, origin, -1);
	rd_kafka_header_add(h, "dlq.partition", -1, "0", -1);
	rd_kafka_header_add(h, "dlq.offset", -1, "7", -1);
	rd_kafka_header_add(h, "dlq.group", -1, "some-group", -1);
	ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(dlq), RD_KAFKA_V_PARTITION(0),
	                                   RD_KAFKA_V_KEY("order-9", 7),
	                                   RD_KAFKA_V_VALUE((void *)value, strlen(value)),
	                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                                   RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
	                 RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(rk);
}

static int has_header(const rd_kafka_message_t *m, const char *name, const char *want)
{
	rd_kafka_headers_t *h;
	const void *v;
	size_t n;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	return want == NULL || (n == strlen(want) && memcmp(v, want, n) == 0);
}

START_TEST(list_show_replay)
{
	char origin[96], dlq[128], out[8192], args[512], want[256];
	rd_kafka_t *reader;
	rd_kafka_message_t *m;

	ts_unique(origin, sizeof(origin), "test.origin");
	snprintf(dlq, sizeof(dlq), "dlq.%s", origin);
	ts_create_topic(origin, 1);
	ts_create_topic(dlq, 1);
	put_dead_letter(dlq, origin);

	snprintf(args, sizeof(args), "list %s", dlq);
	ck_assert_int_eq(run_dlq(args, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "0:0\t%s/0/7\tinvalid envelope: specversion\treplays=0",
	         origin);
	ck_assert_msg(strstr(out, want) != NULL, "list: %s", out);

	snprintf(args, sizeof(args), "show %s 0:0", dlq);
	ck_assert_int_eq(run_dlq(args, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "key: order-9") != NULL, "show: %s", out);
	ck_assert_msg(strstr(out, "{\"not\":\"an event\"}") != NULL, "show: %s", out);

	snprintf(args, sizeof(args), "replay %s 0:0", dlq);
	ck_assert_int_eq(run_dlq(args, out, sizeof(out)), 0);
	m = ts_read_first(origin, 0, &reader);
	ck_assert_uint_eq(m->key_len, 7);
	ck_assert(memcmp(m->key, "order-9", 7) == 0);
	ck_assert(has_header(m, "content-type", "application/cloudevents+json"));
	snprintf(want, sizeof(want), "%s/0/0", dlq);
	ck_assert(has_header(m, "dlq.replayed-from", want));
	ck_assert(has_header(m, "dlq.replay-count", "1"));
	ck_assert(!has_header(m, "dlq.error", NULL));
	rd_kafka_message_destroy(m);
	ts_reader_close(reader);

	/* A position that is not there is an error, not silence. */
	snprintf(args, sizeof(args), "replay %s 0:99", dlq);
	ck_assert_int_eq(run_dlq(args, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "not in") != NULL, "%s", out);
}
END_TEST

static const char *const bad_usage[] = {
        "",
        "list",
        "frobnicate dlq.x",
        "show dlq.x",
        "show dlq.x zero",
        "replay dlq.x 1:-1",
        "show dlq.x --all",
        "replay dlq.x 0:1x",
};

START_TEST(bad_usage_exits_2)
{
	char out[2048];

	ck_assert_int_eq(run_dlq(bad_usage[_i], out, sizeof(out)), 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("eda_dlq");
	TCase *tc = tcase_create("dlq");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, list_show_replay);
	tcase_add_loop_test(tc, bad_usage_exits_2, 0, sizeof(bad_usage) / sizeof(bad_usage[0]));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
