/*
 * Tests of eda/topic_reader.h against the real Kafka of the local stack: a
 * topic read whole across partitions, a read from marks taken earlier (only
 * what came after), two topics in one read, stopping early, a missing topic,
 * and that reading commits nothing for any group.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "eda/topic_reader.h"
#include "support/check_main.h"
#include "support/kafka_support.h"

struct tally {
	int n;
	int stop_after; /* 0: never */
	char last[64];
};

static int count(const rd_kafka_message_t *m, void *ctx)
{
	struct tally *t = ctx;

	snprintf(t->last, sizeof(t->last), "%.*s", (int)m->len, (const char *)m->payload);
	t->n++;
	return t->stop_after != 0 && t->n >= t->stop_after;
}

static eda_topic_reader_t *reader(void)
{
	char err[256];
	eda_topic_reader_t *r = eda_topic_reader_new(ts_kafka_conf(), err, sizeof(err));

	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

static const char *const VALUES[] = {"a", "b", "c", "d", "e"};

START_TEST(test_reads_every_partition_to_its_end)
{
	char topic[96], err[256];
	struct tally t = {0};
	eda_topic_reader_t *r;

	ts_unique(topic, sizeof(topic), "reader");
	ts_create_topic(topic, 3);
	ts_produce(topic, 0, "k0", VALUES, 5);
	ts_produce(topic, 2, "k2", VALUES, 3);
	r = reader();
	ck_assert_int_eq(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)), 0);
	ck_assert_msg(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(t.n, 8);
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_reads_from_marks_only_what_came_after)
{
	char topic[96], err[256];
	int64_t marks[EDA_TOPIC_READER_MAX_PARTITIONS];
	int n = 0;
	struct tally t = {0};
	eda_topic_reader_t *r;
	const char *later[] = {"later"};

	ts_unique(topic, sizeof(topic), "reader");
	ts_create_topic(topic, 2);
	ts_produce(topic, 0, "k", VALUES, 4);
	r = reader();
	ck_assert_int_eq(eda_topic_reader_ends(r, topic, marks, EDA_TOPIC_READER_MAX_PARTITIONS, &n,
	                                       err, sizeof(err)),
	                 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(marks[0], 4);
	ck_assert_int_eq(marks[1], 0);
	ts_produce(topic, 1, "k", later, 1);
	ck_assert_int_eq(eda_topic_reader_add(r, topic, marks, n, err, sizeof(err)), 0);
	ck_assert_msg(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.last, "later");
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_two_topics_in_one_read)
{
	char a[96], b[96], err[256];
	struct tally t = {0};
	eda_topic_reader_t *r;

	ts_unique(a, sizeof(a), "reader-a");
	ts_unique(b, sizeof(b), "reader-b");
	ts_create_topic(a, 1);
	ts_create_topic(b, 1);
	ts_produce(a, 0, "k", VALUES, 2);
	ts_produce(b, 0, "k", VALUES, 3);
	r = reader();
	ck_assert_int_eq(eda_topic_reader_add(r, a, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(eda_topic_reader_add(r, b, NULL, 0, err, sizeof(err)), 0);
	ck_assert_msg(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(t.n, 5);
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_the_callback_stops_the_read)
{
	char topic[96], err[256];
	struct tally t = {.stop_after = 2};
	eda_topic_reader_t *r;

	ts_unique(topic, sizeof(topic), "reader");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "k", VALUES, 5);
	r = reader();
	ck_assert_int_eq(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)), 1);
	ck_assert_int_eq(t.n, 2);
	ck_assert_str_eq(t.last, "b");
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_an_empty_topic_reads_nothing_at_once)
{
	char topic[96], err[256];
	struct tally t = {0};
	eda_topic_reader_t *r;

	ts_unique(topic, sizeof(topic), "reader");
	ts_create_topic(topic, 2);
	r = reader();
	ck_assert_msg(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)), 0);
	ck_assert_int_eq(t.n, 0);
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_a_missing_topic_is_an_error)
{
	char topic[96], err[256] = "";
	int64_t ends[4];
	int n = 0;
	eda_topic_reader_t *r;

	ts_unique(topic, sizeof(topic), "reader-missing");
	r = reader();
	ck_assert_int_eq(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not found") != NULL, "%s", err);
	ck_assert_int_eq(eda_topic_reader_ends(r, topic, ends, 4, &n, err, sizeof(err)), -1);
	eda_topic_reader_free(r);
}
END_TEST

START_TEST(test_more_partitions_than_room_is_an_error)
{
	char topic[96], err[256] = "";
	int64_t ends[2];
	int n = 0;
	eda_topic_reader_t *r;

	ts_unique(topic, sizeof(topic), "reader");
	ts_create_topic(topic, 3);
	r = reader();
	ck_assert_int_eq(eda_topic_reader_ends(r, topic, ends, 2, &n, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "3 partitions") != NULL, "%s", err);
	eda_topic_reader_free(r);
}
END_TEST

/* The reader's group must not end up with committed offsets: reading is
 * looking, not consuming. */
START_TEST(test_reading_commits_nothing)
{
	char topic[96], group[96], err[256];
	struct tally t = {0};
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_topic_partition_list_t *parts;
	eda_topic_reader_t *r;
	rd_kafka_t *probe;

	ts_unique(topic, sizeof(topic), "reader");
	ts_unique(group, sizeof(group), "reader-group");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "k", VALUES, 3);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	r = eda_topic_reader_new(conf, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(eda_topic_reader_run(r, count, &t, 10000, err, sizeof(err)), 0);
	ck_assert_int_eq(t.n, 3);
	eda_topic_reader_free(r);

	conf = ts_kafka_conf();
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	probe = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(probe != NULL, "%s", err);
	parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, 0);
	ck_assert_int_eq(rd_kafka_committed(probe, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(parts->elems[0].offset, RD_KAFKA_OFFSET_INVALID);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(probe);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("topic_reader");
	TCase *tc = tcase_create("kafka");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_reads_every_partition_to_its_end);
	tcase_add_test(tc, test_reads_from_marks_only_what_came_after);
	tcase_add_test(tc, test_two_topics_in_one_read);
	tcase_add_test(tc, test_the_callback_stops_the_read);
	tcase_add_test(tc, test_an_empty_topic_reads_nothing_at_once);
	tcase_add_test(tc, test_a_missing_topic_is_an_error);
	tcase_add_test(tc, test_more_partitions_than_room_is_an_error);
	tcase_add_test(tc, test_reading_commits_nothing);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
