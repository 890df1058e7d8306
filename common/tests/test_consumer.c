/*
 * Tests of the group-commit path of eda/consumer.h (EDA_HANDLER_PENDING and
 * the flush callback) against the real Kafka of the local stack: offsets of
 * pending messages are stored after a successful flush, not before, in
 * partition order with retries in between, on every partition; a failed flush hands the pending
 * messages back (and only them: DONE and DEAD ones behind them are not handled
 * twice) and stores nothing; a crash before the flush stores nothing; PENDING
 * without a flush callback is retried; commit_on_flush commits at once.
 * Liveness: a static member killed with SIGKILL and restarted takes its
 * partitions back without waiting for the dead member's session, and the
 * /readyz check says ready only once the group gave the member its
 * assignment (an empty one included). Each test has its own topics and
 * groups. DONE/RETRY/DEAD alone are covered by test_kafka.c.
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

/* What the handler and the flush callback saw, shared with the test's thread.
 * The first letter of a value says what the handler answers: 'p' PENDING,
 * 'd' DONE, 'x' DEAD, 'r' RETRY until attempt 3 then PENDING. */
struct batch {
	pthread_mutex_t lock;
	int n;
	char value[MAX_SEEN][16];
	int attempt[MAX_SEEN];
	int64_t offset[MAX_SEEN];
	int flushes, flush_ok, flushed_msgs, unflushed;
	bool fail_flush; /* flush answers nonzero */
	int kill_fd;     /* >= 0: flush writes "flush" here, then SIGKILLs us */
};

static void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->kill_fd = -1;
}

static eda_handler_result_t on_msg(eda_consumed_t *m, void *ctx)
{
	struct batch *b = ctx;
	char v[16];

	snprintf(v, sizeof(v), "%.*s", (int)m->len, (const char *)m->value);
	pthread_mutex_lock(&b->lock);
	if (b->n < MAX_SEEN) {
		snprintf(b->value[b->n], sizeof(b->value[0]), "%s", v);
		b->attempt[b->n] = m->attempt;
		b->offset[b->n] = m->offset;
		b->n++;
	}
	pthread_mutex_unlock(&b->lock);
	m->type = "TestEvent";
	switch (v[0]) {
	case 'd':
		return EDA_HANDLER_DONE;
	case 'x':
		snprintf(m->reason, sizeof(m->reason), "bad payload");
		return EDA_HANDLER_DEAD;
	case 'r':
		if (m->attempt < 3)
			return EDA_HANDLER_RETRY;
		break;
	default:
		break;
	}
	pthread_mutex_lock(&b->lock);
	b->unflushed++;
	pthread_mutex_unlock(&b->lock);
	return EDA_HANDLER_PENDING;
}

static int on_flush(void *ctx, char *reason, size_t reasonsz)
{
	struct batch *b = ctx;
	int rc = 0;

	if (b->kill_fd >= 0) {
		/* The batch is written but not durable; the process dies before
		 * any offset of it can be stored. */
		ck_assert_int_eq(write(b->kill_fd, "flush", 6), 6);
		raise(SIGKILL);
	}
	pthread_mutex_lock(&b->lock);
	b->flushes++;
	if (b->fail_flush) {
		snprintf(reason, reasonsz, "disk on fire");
		rc = -1;
	} else {
		b->flush_ok++;
		b->flushed_msgs += b->unflushed;
	}
	b->unflushed = 0; /* dropped or durable: the batch is over */
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* A plain handler for the member that checks what was committed. */
static eda_handler_result_t on_msg_done(eda_consumed_t *m, void *ctx)
{
	struct batch *b = ctx;

	pthread_mutex_lock(&b->lock);
	if (b->n < MAX_SEEN) {
		snprintf(b->value[b->n], sizeof(b->value[0]), "%.*s", (int)m->len,
		         (const char *)m->value);
		b->offset[b->n] = m->offset;
		b->attempt[b->n] = m->attempt;
		b->n++;
	}
	pthread_mutex_unlock(&b->lock);
	return EDA_HANDLER_DONE;
}

struct fixture {
	eda_producer_t *producer;
	eda_metrics_t *metrics;
	eda_consumer_t *consumer;
};

static void start(struct fixture *f, const char *group, const char *topic, struct batch *b,
                  bool batching, rd_kafka_conf_t *conf)
{
	const char *topics[] = {topic, NULL};
	char err[512];
	eda_consumer_config_t cfg = {
	        .group = group,
	        .topics = topics,
	        .handler = batching ? on_msg : on_msg_done,
	        .ctx = b,
	        .retry_initial_ms = 50,
	        .retry_max_ms = 200,
	        .stats_interval_ms = -1,
	        .flush = batching ? on_flush : NULL,
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
	f->consumer = eda_consumer_new(conf ? conf : ts_kafka_conf(), &cfg, err, sizeof(err));
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

static double metric(struct fixture *f, const char *family, const char *labels,
                     const char *const *values)
{
	char err[256];
	eda_metric_t *m = eda_metrics_counter(f->metrics, family, "", labels, err, sizeof(err));

	ck_assert_msg(m != NULL, "%s", err);
	return eda_metric_value(m, values);
}

static int seen(struct batch *b)
{
	int n;

	pthread_mutex_lock(&b->lock);
	n = b->n;
	pthread_mutex_unlock(&b->lock);
	return n;
}

static void wait_seen(struct batch *b, int n)
{
	time_t deadline = time(NULL) + WAIT_S;

	while (seen(b) < n && time(NULL) < deadline)
		usleep(20 * 1000);
	ck_assert_msg(seen(b) >= n, "saw %d of %d messages within %d s", seen(b), n, WAIT_S);
}

/* The committed position of GROUP: a new member's first message. */
static void assert_resumes_at(struct fixture *f, const char *group, const char *topic,
                              int64_t offset, const char *value)
{
	struct batch b;

	batch_init(&b);
	start(f, group, topic, &b, false, NULL);
	wait_seen(&b, 1);
	ck_assert_int_eq(b.offset[0], offset);
	ck_assert_str_eq(b.value[0], value);
	eda_consumer_free(f->consumer);
	f->consumer = NULL;
}

START_TEST(pending_is_stored_after_flush_in_order)
{
	static const char *const values[] = {"p0", "p1", "r2", "p3", "d4"};
	static const struct {
		const char *value;
		int attempt;
	} want[] = {{"p0", 1}, {"p1", 1}, {"r2", 1}, {"r2", 2}, {"r2", 3}, {"p3", 1}, {"d4", 1}};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96];
	time_t deadline;

	ts_unique(topic, sizeof(topic), "test.batch");
	ts_unique(group, sizeof(group), "g-batch");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-1", values, 5);

	batch_init(&b);
	start(&f, group, topic, &b, true, NULL);
	wait_seen(&b, 7);
	/* Four PENDING answers, each counted as done once a flush made it so. */
	deadline = time(NULL) + WAIT_S;
	while (metric(&f, "events_consumed_total", "topic,type,result",
	              EDA_LABELS(topic, "TestEvent", "done")) < 5 &&
	       time(NULL) < deadline)
		usleep(20 * 1000);
	ck_assert_double_eq(metric(&f, "events_consumed_total", "topic,type,result",
	                           EDA_LABELS(topic, "TestEvent", "done")),
	                    5);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_str_eq(b.value[i], want[i].value);
		ck_assert_int_eq(b.attempt[i], want[i].attempt);
	}
	pthread_mutex_lock(&b.lock);
	ck_assert_int_eq(b.flushed_msgs, 4);
	ck_assert_int_ge(b.flushes, 1);
	pthread_mutex_unlock(&b.lock);
	eda_consumer_free(f.consumer);
	f.consumer = NULL;

	/* Everything was stored and committed: the group goes on after d4. */
	static const char *const more[] = {"d5"};
	ts_produce(topic, 0, "order-1", more, 1);
	assert_resumes_at(&f, group, topic, 5, "d5");
	stop_all(&f);
}
END_TEST

START_TEST(flush_stores_every_partition)
{
	static const char *const values[] = {"p0", "p1", "p2"};
	static const char *const more[] = {"d3"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96];

	ts_unique(topic, sizeof(topic), "test.batchparts");
	ts_unique(group, sizeof(group), "g-batchparts");
	ts_create_topic(topic, 3);
	for (int p = 0; p < 3; p++)
		ts_produce(topic, p, "k", values, 3);
	batch_init(&b);
	start(&f, group, topic, &b, true, NULL);
	wait_seen(&b, 9);
	eda_consumer_free(f.consumer); /* flushes whatever is still pending */
	f.consumer = NULL;
	pthread_mutex_lock(&b.lock);
	ck_assert_int_eq(b.flushed_msgs, 9);
	pthread_mutex_unlock(&b.lock);

	/* Each partition goes on after its third message. */
	for (int p = 0; p < 3; p++)
		ts_produce(topic, p, "k", more, 1);
	batch_init(&b);
	start(&f, group, topic, &b, false, NULL);
	wait_seen(&b, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(b.value[i], "d3");
		ck_assert_int_eq(b.offset[i], 3);
	}
	stop_all(&f);
}
END_TEST

START_TEST(failed_flush_hands_back_and_stores_nothing)
{
	static const char *const values[] = {"p0", "d1", "p2", "x3"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96], dlq[128];
	time_t deadline;
	int p0 = 0, d1 = 0, x3 = 0;

	ts_unique(topic, sizeof(topic), "test.batchfail");
	ts_unique(group, sizeof(group), "g-batchfail");
	snprintf(dlq, sizeof(dlq), "dlq.%s", group);
	ts_create_topic(topic, 1);
	ts_create_topic(dlq, 1);
	ts_produce(topic, 0, "order-2", values, 4);

	batch_init(&b);
	b.fail_flush = true;
	start(&f, group, topic, &b, true, NULL);
	/* Wait until p0 was handed back twice. */
	deadline = time(NULL) + WAIT_S;
	while (time(NULL) < deadline) {
		pthread_mutex_lock(&b.lock);
		p0 = 0;
		for (int i = 0; i < b.n; i++)
			p0 += strcmp(b.value[i], "p0") == 0;
		pthread_mutex_unlock(&b.lock);
		if (p0 >= 3)
			break;
		usleep(20 * 1000);
	}
	ck_assert_int_ge(p0, 3);
	eda_consumer_stop(f.consumer); /* its last flush fails too */

	/* Partition order on every round: a handed-back batch starts again at
	 * p0, so p2 never comes twice without p0 between; every repeat is a
	 * retry (attempt > 1). The DONE and the DEAD message behind the pending
	 * ones were settled once and are not handled again. */
	int first[4] = {-1, -1, -1, -1};
	bool p2_since_p0 = false;

	for (int i = 0; i < b.n; i++) {
		int k = b.value[i][1] - '0';
		ck_assert(k >= 0 && k < 4);
		if (first[k] < 0)
			first[k] = i;
		else
			ck_assert_int_ge(b.attempt[i], 2);
		if (k == 2) {
			ck_assert(!p2_since_p0);
			p2_since_p0 = true;
		} else if (k == 0) {
			p2_since_p0 = false;
		}
		d1 += k == 1;
		x3 += k == 3;
	}
	ck_assert(first[0] == 0 && first[0] < first[1] && first[1] < first[2] &&
	          first[2] < first[3]);
	ck_assert_int_eq(d1, 1);
	ck_assert_int_eq(x3, 1);
	ck_assert_int_eq(b.flush_ok, 0);
	ck_assert_double_eq(metric(&f, "dlq_messages_total", "topic", EDA_LABELS(topic)), 1);
	ck_assert_double_ge(metric(&f, "events_consumed_total", "topic,type,result",
	                           EDA_LABELS(topic, "TestEvent", "retry")),
	                    4);
	ck_assert_double_eq(metric(&f, "events_consumed_total", "topic,type,result",
	                           EDA_LABELS(topic, "TestEvent", "done")),
	                    1);
	eda_consumer_free(f.consumer);
	f.consumer = NULL;

	/* Nothing was stored, not even d1's offset past p0. */
	assert_resumes_at(&f, group, topic, 0, "p0");
	stop_all(&f);
}
END_TEST

START_TEST(crash_before_flush_redelivers)
{
	static const char *const values[] = {"p0", "p1", "d2"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96], got[16] = "";
	int fds[2], status;
	pid_t child;

	ts_unique(topic, sizeof(topic), "test.batchkill");
	ts_unique(group, sizeof(group), "g-batchkill");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-3", values, 3);
	ck_assert_int_eq(pipe(fds), 0);

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(fds[0]);
		batch_init(&b);
		b.kill_fd = fds[1];
		start(&f, group, topic, &b, true, ts_kafka_conf_fast_session());
		pause();
		_exit(3); /* not reached: the flush kills the process */
	}
	close(fds[1]);
	ck_assert_int_gt(read(fds[0], got, sizeof(got) - 1), 0);
	ck_assert_str_eq(got, "flush");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);

	/* The handler had answered for p0 and p1 (perhaps d2): none was stored. */
	batch_init(&b);
	start(&f, group, topic, &b, false, ts_kafka_conf_fast_session());
	wait_seen(&b, 3);
	ck_assert_str_eq(b.value[0], "p0");
	ck_assert_int_eq(b.offset[0], 0);
	stop_all(&f);
}
END_TEST

static rd_kafka_conf_t *conf_with(const char *name, const char *value)
{
	rd_kafka_conf_t *conf = ts_kafka_conf();
	char err[256];

	ck_assert_int_eq(rd_kafka_conf_set(conf, name, value, err, sizeof(err)), RD_KAFKA_CONF_OK);
	return conf;
}

/* Starts a consumer of TOPIC in GROUP as static member INSTANCE (NULL:
 * dynamic), with CONF. */
static void start_member(struct fixture *f, const char *group, const char *topic,
                         const char *instance, struct batch *b, bool commit_on_flush,
                         rd_kafka_conf_t *conf)
{
	const char *topics[] = {topic, NULL};
	char err[512];
	eda_consumer_config_t cfg = {.group = group,
	                             .topics = topics,
	                             .handler = on_msg,
	                             .flush = on_flush,
	                             .ctx = b,
	                             .stats_interval_ms = -1,
	                             .instance_id = instance,
	                             .commit_on_flush = commit_on_flush};

	if (f->metrics == NULL)
		f->metrics = eda_metrics_new();
	if (f->producer == NULL) {
		f->producer =
		        eda_producer_new(ts_kafka_conf(), NULL, NULL, f->metrics, err, sizeof(err));
		ck_assert_msg(f->producer != NULL, "%s", err);
	}
	cfg.dlq_producer = f->producer;
	cfg.metrics = f->metrics;
	f->consumer = eda_consumer_new(conf, &cfg, err, sizeof(err));
	ck_assert_msg(f->consumer != NULL, "%s", err);
	ck_assert_int_eq(eda_consumer_ready_check(f->consumer, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "waiting for partitions") != NULL, "%s", err);
	ck_assert_int_eq(eda_consumer_start(f->consumer, err, sizeof(err)), 0);
}

/* Waits until C's /readyz check passes; returns the seconds it took. */
static double wait_ready(eda_consumer_t *c)
{
	struct timespec t0, t1;
	char err[256] = "";

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (eda_consumer_ready_check(c, err, sizeof(err)) == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_msg(t1.tv_sec - t0.tv_sec < WAIT_S, "not ready within %d s: %s", WAIT_S,
		              err);
		usleep(20 * 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* The dead member's session is 40 s. A dynamic member restarted after a kill
 * waits that long for the group to give up on the dead one (measured here:
 * the session to the tenth of a second); a static one with the same instance
 * id is handed the partitions back in its first join (0.02 s here), so it is
 * ready, and handles a new message, long before that session could have
 * expired. The bound is half the session: a causal bound, not a speed one. */
START_TEST(static_member_takes_partitions_back_after_kill)
{
	static const char *const values[] = {"p0"};
	static const char *const later[] = {"p1"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96], instance[64], got[16] = "";
	int fds[2], status;
	pid_t child;
	double took;

	ts_unique(topic, sizeof(topic), "test.static");
	ts_unique(group, sizeof(group), "g-static");
	snprintf(instance, sizeof(instance), "test-host-%d", (int)getpid());
	ts_create_topic(topic, 2);
	ts_produce(topic, 0, "order-1", values, 1);
	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(fds[0]);
		batch_init(&b);
		start_member(&f, group, topic, instance, &b, false,
		             conf_with("session.timeout.ms", "40000"));
		wait_ready(f.consumer);
		wait_seen(&b, 1);
		ck_assert_int_eq(write(fds[1], "ready", 6), 6);
		pause();
		_exit(3);
	}
	close(fds[1]);
	ck_assert_int_gt(read(fds[0], got, sizeof(got) - 1), 0);
	ck_assert_str_eq(got, "ready");
	close(fds[0]);
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);

	batch_init(&b);
	start_member(&f, group, topic, instance, &b, false,
	             conf_with("session.timeout.ms", "40000"));
	took = wait_ready(f.consumer);
	ts_produce(topic, 1, "order-2", later, 1);
	wait_seen(&b, 1);
	ck_assert_msg(
	        took < 20,
	        "the restarted static member waited %.1f s for the dead member's 40 s session",
	        took);
	stop_all(&f);
}
END_TEST

/* A member fenced by another live process with its instance id (a fatal
 * error for its librdkafka handle) is not ready, and once the other one is
 * gone it makes a new handle after a session timeout and consumes again. */
START_TEST(fenced_member_renews_its_handle)
{
	static const char *const first[] = {"d0"};
	static const char *const later[] = {"d1"};
	struct fixture f = {0}, g = {0};
	struct batch b, c;
	char topic[96], group[96], instance[64], err[256];
	time_t deadline;

	ts_unique(topic, sizeof(topic), "test.fenced");
	ts_unique(group, sizeof(group), "g-fenced");
	snprintf(instance, sizeof(instance), "test-fenced-%d", (int)getpid());
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "k", first, 1);
	batch_init(&b);
	batch_init(&c);
	start_member(&f, group, topic, instance, &b, false,
	             conf_with("session.timeout.ms", "6000"));
	wait_ready(f.consumer);
	wait_seen(&b, 1);
	/* The same id again, live: the first member is fenced. */
	start_member(&g, group, topic, instance, &c, false,
	             conf_with("session.timeout.ms", "6000"));
	wait_ready(g.consumer);
	deadline = time(NULL) + WAIT_S;
	while (eda_consumer_ready_check(f.consumer, err, sizeof(err)) == 0 && time(NULL) < deadline)
		usleep(20 * 1000);
	ck_assert_msg(strstr(err, "fatal error") != NULL, "first member: %s", err);
	stop_all(&g);
	/* Its new handle rejoins under the same id and takes the partition. */
	wait_ready(f.consumer);
	ts_produce(topic, 0, "k", later, 1);
	wait_seen(&b, 2);
	ck_assert_str_eq(b.value[seen(&b) - 1], "d1");
	stop_all(&f);
}
END_TEST

/* A second member of a group whose topic has one partition gets an empty
 * assignment: the group has told it there is nothing for it, which is ready. */
START_TEST(empty_assignment_is_ready)
{
	struct fixture f = {0}, g = {0};
	struct batch b, c;
	char topic[96], group[96];

	ts_unique(topic, sizeof(topic), "test.ready");
	ts_unique(group, sizeof(group), "g-ready");
	ts_create_topic(topic, 1);
	batch_init(&b);
	batch_init(&c);
	start_member(&f, group, topic, "member-a", &b, false, ts_kafka_conf());
	wait_ready(f.consumer);
	start_member(&g, group, topic, "member-b", &c, false, ts_kafka_conf());
	wait_ready(g.consumer);
	stop_all(&g);
	stop_all(&f);
}
END_TEST

/* The committed offset of GROUP on TOPIC's partition 0, read by a handle that
 * never joins the group. */
static int64_t committed(const char *group, const char *topic)
{
	rd_kafka_conf_t *conf = conf_with("group.id", group);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	char err[256];
	rd_kafka_t *probe = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	int64_t off;

	ck_assert_msg(probe != NULL, "%s", err);
	rd_kafka_topic_partition_list_add(parts, topic, 0);
	ck_assert_int_eq(rd_kafka_committed(probe, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	off = parts->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(probe);
	return off;
}

/* With commit_on_flush the flushed batch's offsets reach the broker right
 * after the flush, though the auto commit would only run in ten minutes. */
START_TEST(commit_on_flush_commits_each_batch)
{
	static const char *const values[] = {"p0", "p1", "p2"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96];
	time_t deadline;

	ts_unique(topic, sizeof(topic), "test.commitflush");
	ts_unique(group, sizeof(group), "g-commitflush");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-5", values, 3);
	batch_init(&b);
	start_member(&f, group, topic, NULL, &b, true,
	             conf_with("auto.commit.interval.ms", "600000"));
	wait_seen(&b, 3);
	deadline = time(NULL) + WAIT_S;
	while (committed(group, topic) != 3 && time(NULL) < deadline)
		usleep(100 * 1000);
	ck_assert_int_eq(committed(group, topic), 3);
	stop_all(&f);
}
END_TEST

/* A replica of a compacted topic reads every partition from the start at each
 * assignment, whatever the group committed, and is ready only once caught up. */
START_TEST(from_beginning_rereads_and_catches_up)
{
	static const char *const values[] = {"d0", "d1", "d2", "d3", "d4"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96], err[512];
	const char *topics[2] = {NULL, NULL};
	time_t deadline;

	ts_unique(topic, sizeof(topic), "test.replica");
	ts_unique(group, sizeof(group), "g-replica");
	ts_create_topic(topic, 3);
	ts_produce(topic, 0, "SKU-1", values, 5);
	topics[0] = topic;
	for (int round = 0; round < 2; round++) {
		eda_consumer_config_t cfg = {.group = group,
		                             .topics = topics,
		                             .handler = on_msg_done,
		                             .ctx = &b,
		                             .stats_interval_ms = -1,
		                             .commit_on_flush = true,
		                             .from_beginning = true};

		batch_init(&b);
		if (f.metrics == NULL)
			f.metrics = eda_metrics_new();
		if (f.producer == NULL)
			f.producer = eda_producer_new(ts_kafka_conf(), NULL, NULL, f.metrics, err,
			                              sizeof(err));
		ck_assert_msg(f.producer != NULL, "%s", err);
		cfg.dlq_producer = f.producer;
		cfg.metrics = f.metrics;
		f.consumer = eda_consumer_new(ts_kafka_conf(), &cfg, err, sizeof(err));
		ck_assert_msg(f.consumer != NULL, "%s", err);
		ck_assert_int_eq(eda_consumer_caught_up_check(f.consumer, err, sizeof(err)), 1);
		ck_assert_int_eq(eda_consumer_start(f.consumer, err, sizeof(err)), 0);
		deadline = time(NULL) + WAIT_S;
		while (eda_consumer_caught_up_check(f.consumer, err, sizeof(err)) != 0 &&
		       time(NULL) < deadline)
			usleep(20 * 1000);
		ck_assert_msg(eda_consumer_caught_up_check(f.consumer, err, sizeof(err)) == 0, "%s",
		              err);
		/* Caught up means every message was handed out, the second time too. */
		ck_assert_int_eq(seen(&b), 5);
		ck_assert_str_eq(b.value[0], "d0");
		eda_consumer_free(f.consumer);
		f.consumer = NULL;
	}
	stop_all(&f);
}
END_TEST

START_TEST(pending_without_flush_is_retried)
{
	static const char *const values[] = {"p0"};
	struct fixture f = {0};
	struct batch b;
	char topic[96], group[96], err[512];
	const char *topics[2] = {NULL, NULL};

	ts_unique(topic, sizeof(topic), "test.noflush");
	ts_unique(group, sizeof(group), "g-noflush");
	ts_create_topic(topic, 1);
	ts_produce(topic, 0, "order-4", values, 1);
	topics[0] = topic;
	batch_init(&b);
	f.metrics = eda_metrics_new();
	f.producer = eda_producer_new(ts_kafka_conf(), NULL, NULL, f.metrics, err, sizeof(err));
	ck_assert_msg(f.producer != NULL, "%s", err);
	eda_consumer_config_t cfg = {.group = group,
	                             .topics = topics,
	                             .handler = on_msg,
	                             .ctx = &b,
	                             .dlq_producer = f.producer,
	                             .metrics = f.metrics,
	                             .retry_initial_ms = 50,
	                             .retry_max_ms = 50,
	                             .stats_interval_ms = -1};
	f.consumer = eda_consumer_new(ts_kafka_conf(), &cfg, err, sizeof(err));
	ck_assert_msg(f.consumer != NULL, "%s", err);
	ck_assert_int_eq(eda_consumer_start(f.consumer, err, sizeof(err)), 0);
	wait_seen(&b, 2);
	ck_assert_str_eq(b.value[1], "p0");
	ck_assert_int_eq(b.attempt[1], 2);
	eda_consumer_free(f.consumer);
	f.consumer = NULL;
	assert_resumes_at(&f, group, topic, 0, "p0");
	stop_all(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("consumer");
	TCase *tc = tcase_create("group commit");

	eda_log_init("test-consumer", EDA_LOG_ERROR);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pending_is_stored_after_flush_in_order);
	tcase_add_test(tc, flush_stores_every_partition);
	tcase_add_test(tc, failed_flush_hands_back_and_stores_nothing);
	tcase_add_test(tc, crash_before_flush_redelivers);
	tcase_add_test(tc, pending_without_flush_is_retried);
	tcase_add_test(tc, commit_on_flush_commits_each_batch);
	suite_add_tcase(s, tc);
	tc = tcase_create("liveness");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, static_member_takes_partitions_back_after_kill);
	tcase_add_test(tc, empty_assignment_is_ready);
	tcase_add_test(tc, fenced_member_renews_its_handle);
	tcase_add_test(tc, from_beginning_rereads_and_catches_up);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
