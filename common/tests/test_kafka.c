/*
 * Integration tests of eda/producer.h and eda/consumer.h against the real Kafka
 * of the local stack: delivery reports, consumption through the wrapper,
 * retry order, the DLQ, redelivery after a SIGKILL between the handler and the
 * offset store, commit on close, and consumer lag. Every test uses topics and
 * groups of its own, so tests never see each other's messages.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eda/consumer.h"
#include "eda/log.h"
#include "eda/metrics.h"
#include "eda/producer.h"
#include "support/check_main.h"
#include "support/kafka_support.h"

#define MAX_SEEN 64
#define WAIT_S   60

/* What a test handler saw, shared with the test's thread. */
struct seen {
	pthread_mutex_t lock;
	int n;
	char value[MAX_SEEN][64];
	int attempt[MAX_SEEN];
	int64_t offset[MAX_SEEN];
	char header[64];
	/* behaviour */
	const char *retry_value; /* RETRY this value until its attempt reaches retry_until */
	int retry_until;
	const char *dead_value;    /* DEAD for this value */
	int64_t retry_from_offset; /* RETRY every offset >= this (-1: never) */
	int kill_fd;               /* >= 0: write the value here, then SIGKILL ourselves */
};

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->retry_from_offset = -1;
	s->kill_fd = -1;
}

static int seen_count(struct seen *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static eda_handler_result_t record(eda_consumed_t *m, void *ctx)
{
	struct seen *s = ctx;
	char value[64];
	size_t hl;
	const void *h;

	snprintf(value, sizeof(value), "%.*s", (int)m->len, (const char *)m->value);
	if (s->kill_fd >= 0) {
		/* The effect happened (the pipe write); the process dies before the
		 * offset can be stored. */
		ck_assert_int_eq(write(s->kill_fd, value, strlen(value) + 1),
		                 (ssize_t)strlen(value) + 1);
		raise(SIGKILL);
	}
	pthread_mutex_lock(&s->lock);
	if (s->n < MAX_SEEN) {
		snprintf(s->value[s->n], sizeof(s->value[0]), "%s", value);
		s->attempt[s->n] = m->attempt;
		s->offset[s->n] = m->offset;
		s->n++;
	}
	h = eda_consumed_header(m, "x-test", &hl);
	if (h != NULL)
		snprintf(s->header, sizeof(s->header), "%.*s", (int)hl, (const char *)h);
	pthread_mutex_unlock(&s->lock);
	m->type = "TestEvent";
	if (s->retry_value != NULL && strcmp(value, s->retry_value) == 0 &&
	    m->attempt < s->retry_until) {
		snprintf(m->reason, sizeof(m->reason), "not yet (attempt %d)", m->attempt);
		return EDA_HANDLER_RETRY;
	}
	if (s->retry_from_offset >= 0 && m->offset >= s->retry_from_offset)
		return EDA_HANDLER_RETRY;
	if (s->dead_value != NULL && strcmp(value, s->dead_value) == 0) {
		snprintf(m->reason, sizeof(m->reason), "bad payload");
		return EDA_HANDLER_DEAD;
	}
	return EDA_HANDLER_DONE;
}

struct fixture {
	eda_producer_t *producer;
	eda_consumer_t *consumer;
	eda_metrics_t *metrics;
};

static void start_consumer(struct fixture *f, const char *group, const char *topic, struct seen *s,
                           rd_kafka_conf_t *conf)
{
	const char *topics[] = {topic, NULL};
	char err[512];
	eda_consumer_config_t cfg = {
	        .group = group,
	        .topics = topics,
	        .handler = record,
	        .ctx = s,
	        .retry_initial_ms = 50,
	        .retry_max_ms = 200,
	        .stats_interval_ms = 500,
	};

	if (f->metrics == NULL)
		f->metrics = eda_metrics_new();
	if (f->producer == NULL) {
		f->producer =
		        eda_producer_new(ts_kafka_conf(), NULL, NULL, f->metrics, err, sizeof(err));
		ck_assert_msg(f->producer != NULL, "%s", err);
	}
	cfg.dlq_producer = f->producer;
	cfg.metrics = f->metrics;
	f->consumer =
	        eda_consumer_new(conf != NULL ? conf : ts_kafka_conf(), &cfg, err, sizeof(err));
	ck_assert_msg(f->consumer != NULL, "%s", err);
	ck_assert_int_eq(eda_consumer_start(f->consumer, err, sizeof(err)), 0);
}

static void stop_all(struct fixture *f)
{
	eda_consumer_free(f->consumer);
	f->consumer = NULL;
	eda_producer_free(f->producer, 5000);
	f->producer = NULL;
	eda_metrics_free(f->metrics);
	f->metrics = NULL;
}

static void wait_for_count(struct seen *s, int n)
{
	time_t deadline = time(NULL) + WAIT_S;

	while (seen_count(s) < n && time(NULL) < deadline)
		usleep(20 * 1000);
	ck_assert_msg(seen_count(s) >= n, "saw %d of %d messages within %d s", seen_count(s), n,
	              WAIT_S);
}

/* ---- producer ------------------------------------------------------------ */

struct reports {
	pthread_mutex_t lock;
	int ok, failed;
	int opaque_sum;
};

static void on_delivery(void *opaque, int err, const char *why, void *ctx)
{
	struct reports *r = ctx;

	(void)why;
	pthread_mutex_lock(&r->lock);
	if (err == EDA_PRODUCER_OK)
		r->ok++;
	else
		r->failed++;
	r->opaque_sum += (int)(intptr_t)opaque;
	pthread_mutex_unlock(&r->lock);
}

START_TEST(producer_reports_and_consumer_receives)
{
	struct reports r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct fixture f = {0};
	struct seen s;
	char topic[96], group[96], err[512], value[32];
	eda_producer_t *p;
	eda_kafka_header_t hdr = {"x-test", "hello", 5};

	ts_unique(topic, sizeof(topic), "test.produce");
	ts_unique(group, sizeof(group), "g-produce");
	ts_create_topic(topic, 3);
	p = eda_producer_new(ts_kafka_conf(), on_delivery, &r, NULL, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	for (int i = 1; i <= 10; i++) {
		snprintf(value, sizeof(value), "v%d", i);
		ck_assert_int_eq(eda_producer_send(p, topic, value, strlen(value), value,
		                                   strlen(value), NULL, 0, (void *)(intptr_t)i, err,
		                                   sizeof(err)),
		                 EDA_PRODUCER_OK);
	}
	ck_assert_int_eq(eda_producer_flush(p, 30000), EDA_PRODUCER_OK);
	ck_assert_int_eq(r.ok, 10);
	ck_assert_int_eq(r.failed, 0);
	ck_assert_int_eq(r.opaque_sum, 55);
	ck_assert_int_eq(eda_producer_send_sync(p, topic, "k", 1, "sync", 4, &hdr, 1, 30000, err,
	                                        sizeof(err)),
	                 EDA_PRODUCER_OK);
	ck_assert(!eda_producer_fatal(p, NULL, 0));
	/* An unknown topic is refused by the broker (auto-creation is off). */
	ck_assert_int_ne(eda_producer_send_sync(p, "no.such.topic.anywhere", NULL, 0, "x", 1, NULL,
	                                        0, 5000, err, sizeof(err)),
	                 EDA_PRODUCER_OK);
	eda_producer_free(p, 5000);

	seen_init(&s);
	start_consumer(&f, group, topic, &s, NULL);
	wait_for_count(&s, 11);
	ck_assert_str_eq(s.header, "hello");
	stop_all(&f);
}
END_TEST

/* ---- retry --------------------------------------------------------------- */

START_TEST(retry_keeps_order_and_close_commits)
{
	static const char *const values[] = {"m0", "m1", "m2", "m3", "m4"};
	static const char *const want[][2] = {{"m0", "1"}, {"m1", "1"}, {"m2", "1"}, {"m2", "2"},
	                                      {"m2", "3"}, {"m3", "1"}, {"m4", "1"}};
	struct fixture f = {0};
	struct seen s;
	char topic[96], group[96];

	ts_unique(topic, sizeof(topic), "test.retry");
	ts_unique(group, sizeof(group), "g-retry");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-1", values, 5);

	seen_init(&s);
	s.retry_value = "m2";
	s.retry_until = 3;
	start_consumer(&f, group, topic, &s, NULL);
	wait_for_count(&s, 7);
	eda_consumer_free(f.consumer);
	f.consumer = NULL;
	for (int i = 0; i < 7; i++) {
		ck_assert_str_eq(s.value[i], want[i][0]);
		ck_assert_int_eq(s.attempt[i], atoi(want[i][1]));
	}

	/* The group's offsets were committed on close: a new member starts after m4. */
	static const char *const more[] = {"m5"};
	ts_produce(topic, 0, "order-1", more, 1);
	seen_init(&s);
	start_consumer(&f, group, topic, &s, NULL);
	wait_for_count(&s, 1);
	ck_assert_str_eq(s.value[0], "m5");
	ck_assert_int_eq(s.offset[0], 5);
	stop_all(&f);
}
END_TEST

/* ---- dead letters -------------------------------------------------------- */

START_TEST(dead_goes_to_dlq_with_headers)
{
	static const char *const values[] = {"a0", "a1", "a2"};
	struct fixture f = {0};
	struct seen s;
	char topic[96], group[96], dlq[128], err[512];
	rd_kafka_t *rk;
	rd_kafka_message_t *m;
	rd_kafka_headers_t *hdrs;

	ts_unique(topic, sizeof(topic), "test.dead");
	ts_unique(group, sizeof(group), "g-dead");
	snprintf(dlq, sizeof(dlq), "dlq.%s", group);
	ts_create_topic(topic, 1);
	ts_create_topic(dlq, 1);
	ts_produce(topic, 0, "order-2", values, 3);

	seen_init(&s);
	s.dead_value = "a1";
	start_consumer(&f, group, topic, &s, NULL);
	wait_for_count(&s, 3);
	ck_assert_str_eq(s.value[2], "a2"); /* it went on after the dead one */
	ck_assert_double_eq(eda_metric_value(eda_metrics_counter(f.metrics, "dlq_messages_total",
	                                                         "", "topic", err, sizeof(err)),
	                                     EDA_LABELS(topic)),
	                    1);
	stop_all(&f);

	m = ts_read_first(dlq, 0, &rk);
	ck_assert_uint_eq(m->len, 2);
	ck_assert(memcmp(m->payload, "a1", 2) == 0);
	ck_assert_int_eq(rd_kafka_message_headers(m, &hdrs), RD_KAFKA_RESP_ERR_NO_ERROR);
	static const char *const want[][2] = {{"dlq.error", "bad payload"},
	                                      {"dlq.topic", NULL},
	                                      {"dlq.partition", "0"},
	                                      {"dlq.offset", "1"},
	                                      {"dlq.group", NULL}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const void *v;
		size_t n;
		const char *expect = want[i][1] ? want[i][1] : (i == 1 ? topic : group);

		ck_assert_msg(rd_kafka_header_get_last(hdrs, want[i][0], &v, &n) ==
		                      RD_KAFKA_RESP_ERR_NO_ERROR,
		              "header %s missing", want[i][0]);
		ck_assert_msg(n == strlen(expect) && memcmp(v, expect, n) == 0, "%s = %.*s",
		              want[i][0], (int)n, (const char *)v);
	}
	rd_kafka_message_destroy(m);
	ts_reader_close(rk);
}
END_TEST

/* ---- crash between effect and offset store --------------------------------- */

START_TEST(sigkill_before_offset_store_redelivers)
{
	static const char *const values[] = {"k0"};
	struct fixture f = {0};
	struct seen s;
	char topic[96], group[96], got[64] = "";
	int fds[2], status;
	pid_t child;

	ts_unique(topic, sizeof(topic), "test.kill");
	ts_unique(group, sizeof(group), "g-kill");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-3", values, 1);
	ck_assert_int_eq(pipe(fds), 0);

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(fds[0]);
		seen_init(&s);
		s.kill_fd = fds[1];
		start_consumer(&f, group, topic, &s, ts_kafka_conf_fast_session());
		pause();
		_exit(3); /* not reached: the handler kills the process */
	}
	close(fds[1]);
	ck_assert_int_gt(read(fds[0], got, sizeof(got) - 1), 0);
	ck_assert_str_eq(got, "k0");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);

	/* The next member of the group gets the message again. */
	seen_init(&s);
	start_consumer(&f, group, topic, &s, ts_kafka_conf_fast_session());
	wait_for_count(&s, 1);
	ck_assert_str_eq(s.value[0], "k0");
	ck_assert_int_eq(s.offset[0], 0);
	stop_all(&f);
}
END_TEST

/* ---- lag ------------------------------------------------------------------ */

START_TEST(lag_is_reported)
{
	static const char *const values[] = {"l0", "l1", "l2", "l3", "l4",
	                                     "l5", "l6", "l7", "l8", "l9"};
	struct fixture f = {0};
	struct seen s;
	char topic[96], group[96], err[256];
	rd_kafka_conf_t *conf = ts_kafka_conf();
	eda_metric_t *lag;
	time_t deadline;
	double v = -1;

	ts_unique(topic, sizeof(topic), "test.lag");
	ts_unique(group, sizeof(group), "g-lag");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-4", values, 10);
	ck_assert_int_eq(
	        rd_kafka_conf_set(conf, "auto.commit.interval.ms", "200", err, sizeof(err)),
	        RD_KAFKA_CONF_OK);

	/* Offsets 0-4 are handled, 5 is retried for ever: 5 messages behind. */
	seen_init(&s);
	s.retry_from_offset = 5;
	start_consumer(&f, group, topic, &s, conf);
	lag = eda_metrics_gauge(f.metrics, "consumer_lag", "", "topic,partition", err, sizeof(err));
	ck_assert_ptr_nonnull(lag);
	deadline = time(NULL) + WAIT_S;
	while (time(NULL) < deadline) {
		v = eda_metric_value(lag, EDA_LABELS(topic, "0"));
		if (v == 5)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(v == 5, "consumer_lag{%s,0} = %g, want 5", topic, v);
	char *text = eda_metrics_render(f.metrics, NULL);
	ck_assert_ptr_nonnull(strstr(text, "consumer_lag{"));
	free(text);
	stop_all(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("kafka");

	eda_log_init("test-kafka", EDA_LOG_WARN);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, producer_reports_and_consumer_receives);
	tcase_add_test(tc, retry_keeps_order_and_close_commits);
	tcase_add_test(tc, dead_goes_to_dlq_with_headers);
	tcase_add_test(tc, sigkill_before_offset_store_redelivers);
	tcase_add_test(tc, lag_is_reported);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
