/*
 * Tests of the daemon as a real process ($EDA_BIN_DIR/notification-service,
 * default build/bin): every bad setting ends it with status 2 and one line
 * naming the variable; a good configuration serves /healthz, /readyz and
 * /metrics, mails an event, and SIGTERM ends it cleanly with status 0. Crash
 * recovery through SMTP: with the sent-id record a SIGKILL before the offset
 * commit sends nothing again, and a SIGKILL in the middle of a burst resends
 * at most a batch; without the record (SENT_IDS_RECORD=false) the e-mail is sent
 * again with the same Message-ID. A relay that accepts and never answers costs
 * retries and a fast 503 at /readyz, never a stuck daemon.
 */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eda/event.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/silent_server.h"
#include "support/sink.h"

static const char *bin(void)
{
	static char path[512];
	const char *dir = getenv("EDA_BIN_DIR");

	snprintf(path, sizeof(path), "%s/notification-service", dir && *dir ? dir : "build/bin");
	return path;
}

/* Starts the daemon with ENVP (NULL-terminated "NAME=value" list) plus
 * KAFKA_BOOTSTRAP_SERVERS unless NO_KAFKA; its stderr goes to *ERR_FD. */
static pid_t spawn(const char *const *envp, int no_kafka, int *err_fd)
{
	int fds[2];
	pid_t pid;
	char kafka[256];
	const char *env[40];
	int n = 0;

	/* getenv() returns the first match: the caller's entries come first so
	 * that they override the defaults after them. */
	for (int i = 0; envp[i] && n < 36; i++)
		env[n++] = envp[i];
	snprintf(kafka, sizeof(kafka), "KAFKA_BOOTSTRAP_SERVERS=%s", ts_bootstrap());
	if (!no_kafka)
		env[n++] = kafka;
	env[n++] = "TEMPLATE_DIR=notification-service/templates";
	env[n] = NULL;
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execle(bin(), bin(), (char *)NULL, (char *const *)env);
		fprintf(stderr, "exec %s failed\n", bin());
		_exit(127);
	}
	close(fds[1]);
	*err_fd = fds[0];
	return pid;
}

static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t r;

	while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static const struct {
	const char *env[3];
	int no_kafka;
	const char *want; /* the start of the one line, after "configuration error: " */
} bad[] = {
        {{"PORT=abc"}, 0, "PORT:"},
        {{"PORT=70000"}, 0, "PORT:"},
        {{"LOG_LEVEL=loud"}, 0, "LOG_LEVEL:"},
        {{"MAIL_FROM=Shop <orders@shop.example>"}, 0, "MAIL_FROM:"},
        {{"MAIL_FROM_NAME=Shop\r\nBcc: x@evil.example"}, 0, "MAIL_FROM_NAME:"},
        {{"SMTP_URL=http://127.0.0.1:25"}, 0, "SMTP_URL:"},
        {{"SMTP_URL=smtps://mail.example:465", "SMTP_STARTTLS=true"}, 0, "SMTP_STARTTLS:"},
        {{"SMTP_PASSWORD=secret"}, 0, "SMTP_USERNAME:"},
        {{"SMTP_TIMEOUT_MS=5"}, 0, "SMTP_TIMEOUT_MS:"},
        {{"MAIL_SPOOL_FSYNC=maybe"}, 0, "MAIL_SPOOL_FSYNC:"},
        {{"MAIL_SPOOL_DIR=/proc/nope/spool"}, 0, "MAIL_SPOOL_DIR:"},
        {{"MAIL_SPOOL_BATCH_MAX=0"}, 0, "MAIL_SPOOL_BATCH_MAX:"},
        {{"MAIL_SPOOL_BATCH_MS=many"}, 0, "MAIL_SPOOL_BATCH_MS:"},
        {{"MAIL_BATCH_MAX=0"}, 0, "MAIL_BATCH_MAX:"},
        {{"SENT_IDS_KEEP=1"}, 0, "SENT_IDS_KEEP:"},
        {{"SENT_IDS_RECORD=maybe"}, 0, "SENT_IDS_RECORD:"},
        {{"DEDUPE_WINDOW=10", "SENT_IDS_KEEP=20"}, 0, "SENT_IDS_KEEP:"},
        {{"SMTP_URL=smtp://127.0.0.1:25", "SENT_IDS_FILE=/proc/nope/state/sent-ids"},
         0,
         "SENT_IDS_FILE: /proc/nope/state"},
        {{"TEMPLATE_DIR=/nonexistent"}, 0, "templates: /nonexistent/order_placed.subject.txt"},
        {{"RETRY_INITIAL_MS=500", "RETRY_MAX_MS=100"}, 0, "RETRY_MAX_MS:"},
        {{"DEDUPE_WINDOW=0"}, 0, "DEDUPE_WINDOW:"},
        {{"MESSAGE_ID_DOMAIN=not a domain"}, 0, "MESSAGE_ID_DOMAIN:"},
        {{"HTTP_THREADS=0"}, 0, "HTTP_THREADS:"},
        {{NULL}, 1, "kafka:"},
};

START_TEST(bad_configuration_exits_2)
{
	char spool[256], spool_env[300];
	const char *env[5];
	int n = 0, fd, st;
	pid_t pid;
	char *out, want[256];

	ts_tmpdir(spool, sizeof(spool), "notif-main");
	snprintf(spool_env, sizeof(spool_env), "MAIL_SPOOL_DIR=%s", spool);
	for (int i = 0; i < 3 && bad[_i].env[i]; i++)
		env[n++] = bad[_i].env[i];
	env[n++] = spool_env; /* a case's own MAIL_SPOOL_DIR comes first and wins */
	env[n] = NULL;
	pid = spawn(env, bad[_i].no_kafka, &fd);
	/* A daemon that wrongly starts would never close its stderr. */
	alarm(20);
	out = read_all(fd);
	alarm(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d, stderr: %s", st, out);
	snprintf(want, sizeof(want), "notification-service: configuration error: %s", bad[_i].want);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got '%s'", out);
	ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "not one line: '%s'", out);
	/* No secrets in the message. */
	ck_assert_ptr_null(strstr(out, "secret"));
	free(out);
}
END_TEST

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	strncat(ud, p, 16383 - strlen(ud) < size * n ? 16383 - strlen(ud) : size * n);
	return size * n;
}

/* GET with the client giving up after TIMEOUT_MS: 0 then, like no answer. */
static long http_get_within(unsigned short port, const char *path, char *body, long timeout_ms)
{
	CURL *c = curl_easy_init();
	char url[128];
	long code = 0;

	body[0] = '\0';
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

static long http_get(unsigned short port, const char *path, char *body)
{
	return http_get_within(port, path, body, 5000L);
}

/* "SENT_IDS_FILE=<a new directory>/sent-ids" in ENV, the path in PATH: every
 * test its own record (the default is shared by the working directory). */
static void record_env(char env[320], char path[300])
{
	char dir[256];

	ts_tmpdir(dir, sizeof(dir), "notif-main-state");
	snprintf(path, 300, "%s/sent-ids", dir);
	snprintf(env, 320, "SENT_IDS_FILE=%s", path);
}

/* Waits up to TIMEOUT_S until the file PATH contains NEEDLE. */
static bool file_has(const char *path, const char *needle, int timeout_s)
{
	char buf[65536];

	for (int i = 0; i < timeout_s * 20; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f != NULL)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Waits up to TIMEOUT_S until /metrics contains NEEDLE. */
static bool metrics_have(unsigned short port, const char *needle, int timeout_s)
{
	char body[16384];

	for (int i = 0; i < timeout_s * 10; i++) {
		if (http_get(port, "/metrics", body) == 200 && strstr(body, needle) != NULL)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* Waits for /healthz; fails the test if the daemon never answers. */
static void wait_up(unsigned short port)
{
	char body[16384];
	long code = 0;

	for (int i = 0; i < 100 && (code = http_get(port, "/healthz", body)) != 200; i++)
		usleep(100 * 1000);
	ck_assert_int_eq(code, 200);
}

START_TEST(serves_mails_and_stops_on_sigterm)
{
	ts_sink_t sink = {0};
	char topic[128], group[128], dlq[160], e_topic[200], e_group[200], e_port[32], e_smtp[96];
	char order[37], *value, body[16384], e_record[320], record[300];
	unsigned short port = ts_free_port();
	int fd, st = 0;
	pid_t pid;

	ts_sink_start(&sink);
	ts_unique(topic, sizeof(topic), "test.notif.main");
	ts_unique(group, sizeof(group), "test-notif-main");
	snprintf(dlq, sizeof(dlq), "dlq.%s", group);
	ts_create_topic(topic, 1);
	ts_create_topic(dlq, 1);
	snprintf(e_topic, sizeof(e_topic), "TOPIC_ORDERS=%s", topic);
	snprintf(e_group, sizeof(e_group), "CONSUMER_GROUP=%s", group);
	snprintf(e_port, sizeof(e_port), "PORT=%u", port);
	snprintf(e_smtp, sizeof(e_smtp), "SMTP_URL=%s", sink.url);
	record_env(e_record, record);
	const char *env[] = {e_topic, e_group, e_port, e_smtp, e_record, "BIND_ADDR=127.0.0.1",
	                     NULL};

	pid = spawn(env, 0, &fd);
	wait_up(port);
	ck_assert_int_eq(http_get(port, "/readyz", body), 200);

	ts_uuid(order);
	value = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "erin@example.com", NULL, NULL);
	const char *v[] = {value};
	ts_produce(topic, -1, order, v, 1);
	free(value);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, 60), 1);
	/* Counted at the flush, once its id is recorded: after the sink has it. */
	ck_assert(metrics_have(
	        port, "notifications_sent_total{type=\"OrderConfirmed\",transport=\"smtp\"} 1",
	        30));

	/* Relay down: not ready. */
	ts_sink_stop(&sink);
	ck_assert_int_eq(http_get(port, "/readyz", body), 503);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	char *log = read_all(fd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, log);
	ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
	/* The recipient never appears in the log in clear. */
	ck_assert_ptr_null(strstr(log, "erin@example.com"));
	free(log);
}
END_TEST

/* Topic, DLQ and group of a crash test, and their settings for spawn() in
 * ENV: auto commit slowed down so that a kill always lands before it, and a
 * short session timeout so that the dead member leaves the group soon. */
typedef struct crash_env {
	char topic[128], group[128], dlq[160];
	char e_topic[200], e_group[200], e_port[32], e_smtp[96], e_record[320], record[300];
	unsigned short port;
	const char *env[16];
	int nenv;
} crash_env_t;

/* Adds KV ("NAME=value", borrowed) to C->env. */
static void crash_env_add(crash_env_t *c, const char *kv)
{
	ck_assert_int_lt(c->nenv, 15);
	c->env[c->nenv++] = kv;
	c->env[c->nenv] = NULL;
}

static void crash_env_init(crash_env_t *c, const char *smtp_url, int partitions)
{
	ts_unique(c->topic, sizeof(c->topic), "test.notif.crash");
	ts_unique(c->group, sizeof(c->group), "test-notif-crash");
	snprintf(c->dlq, sizeof(c->dlq), "dlq.%s", c->group);
	ts_create_topic(c->topic, partitions);
	ts_create_topic(c->dlq, 1);
	c->port = ts_free_port();
	snprintf(c->e_topic, sizeof(c->e_topic), "TOPIC_ORDERS=%s", c->topic);
	snprintf(c->e_group, sizeof(c->e_group), "CONSUMER_GROUP=%s", c->group);
	snprintf(c->e_port, sizeof(c->e_port), "PORT=%u", c->port);
	snprintf(c->e_smtp, sizeof(c->e_smtp), "SMTP_URL=%s", smtp_url);
	record_env(c->e_record, c->record);
	c->nenv = 0;
	crash_env_add(c, c->e_topic);
	crash_env_add(c, c->e_group);
	crash_env_add(c, c->e_port);
	crash_env_add(c, c->e_smtp);
	crash_env_add(c, c->e_record);
	crash_env_add(c, "BIND_ADDR=127.0.0.1");
	/* A kill between an e-mail and its offset's commit, made certain: no
	 * commit after each batch (COMMIT_EACH_BATCH, on by default, shrinks that
	 * window to a round trip) and none by the timer either. */
	crash_env_add(c, "COMMIT_EACH_BATCH=false");
	crash_env_add(c, "KAFKA_AUTO_COMMIT_INTERVAL_MS=600000");
	crash_env_add(c, "KAFKA_SESSION_TIMEOUT_MS=6000");
}

static void kill9(pid_t pid, int fd)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	free(read_all(fd));
}

static void sigterm_exits_0(pid_t pid, int fd)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	char *log = read_all(fd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, log);
	free(log);
}

/* Produces one OrderConfirmed to PARTITION; ID gets its event id. */
static void produce_one(const char *topic, int partition, char id[37])
{
	char order[37], *value;

	ts_uuid(order);
	value = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "frank@example.com", NULL, id);
	const char *v[] = {value};
	ts_produce(topic, partition, order, v, 1);
	free(value);
}

/* Killed after the relay accepted an e-mail but before the offset commit:
 * without a sent-id record the e-mail is sent again after the restart, with
 * the same Message-ID. */
START_TEST(crash_before_commit_without_record_resends_with_same_message_id)
{
	ts_sink_t sink = {0};
	crash_env_t c;
	char id[37], mid[128];
	int fd;
	pid_t pid;

	ts_sink_start(&sink);
	crash_env_init(&c, sink.url, 1);
	crash_env_add(&c, "SENT_IDS_RECORD=false");

	produce_one(c.topic, 0, id);
	pid = spawn(c.env, 0, &fd);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, 60), 1);
	kill9(pid, fd);

	pid = spawn(c.env, 0, &fd);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, 90), 2);
	sigterm_exits_0(pid, fd);

	char *all = ts_read_all_eml(sink.dir);
	snprintf(mid, sizeof(mid), "Message-ID: <%s@notification-service.eda>", id);
	ck_assert_ptr_nonnull(strstr(all, mid));
	ck_assert_ptr_nonnull(strstr(strstr(all, mid) + 1, mid));
	free(all);
	ts_sink_stop(&sink);
}
END_TEST

/* The same kill with the record: once the id is in the record, the
 * redelivered event is a duplicate and nothing is sent again. A second event
 * after it shows that the restarted daemon got past the first. */
START_TEST(crash_before_commit_with_record_sends_nothing_again)
{
	ts_sink_t sink = {0};
	crash_env_t c;
	char id[37], id2[37];
	int fd;
	pid_t pid;

	ts_sink_start(&sink);
	crash_env_init(&c, sink.url, 1);

	produce_one(c.topic, 0, id);
	pid = spawn(c.env, 0, &fd);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, 60), 1);
	/* The e-mail is in the sink before its id is in the record: kill after. */
	ck_assert(file_has(c.record, id, 30));
	kill9(pid, fd);

	pid = spawn(c.env, 0, &fd);
	produce_one(c.topic, 0, id2);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, 90), 2);
	wait_up(c.port);
	ck_assert(metrics_have(c.port, "\nnotifications_duplicate_total 1\n", 30));
	sigterm_exits_0(pid, fd);
	ck_assert_int_eq(ts_count_eml(sink.dir), 2);
	char *first = ts_find_eml(sink.dir, id), *second = ts_find_eml(sink.dir, id2);
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	free(first);
	free(second);
	ts_sink_stop(&sink);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The event ids of the Message-IDs in the *.eml files of DIR, sorted; *N gets
 * their number. Free each and the array. */
static char **sent_event_ids(const char *dir, size_t *n)
{
	char *all = ts_read_all_eml(dir), **ids = NULL;
	const char *tag = "Message-ID: <";
	size_t cap = 0;

	*n = 0;
	for (char *p = strstr(all, tag); p != NULL; p = strstr(p, tag)) {
		char *at;

		p += strlen(tag);
		at = strchr(p, '@');
		ck_assert_ptr_nonnull(at);
		if (*n == cap)
			ids = realloc(ids, (cap = cap ? cap * 2 : 1024) * sizeof(*ids));
		ids[(*n)++] = strndup(p, (size_t)(at - p));
	}
	free(all);
	if (*n > 0)
		qsort(ids, *n, sizeof(*ids), cmp_str);
	return ids;
}

static size_t count_of(char **ids, size_t n, const char *id)
{
	size_t c = 0;
	char **hit = bsearch(&id, ids, n, sizeof(*ids), cmp_str);

	if (hit == NULL)
		return 0;
	while (hit > ids && strcmp(hit[-1], id) == 0)
		hit--;
	for (; hit < ids + n && strcmp(*hit, id) == 0; hit++)
		c++;
	return c;
}

/* Whether each of the N event ids IDS has an e-mail in DIR. */
static bool all_sent(const char *dir, char (*ids)[37], int n)
{
	size_t have;
	char **got = sent_event_ids(dir, &have);
	bool all = true;

	for (int i = 0; i < n; i++)
		all = all && count_of(got, have, ids[i]) > 0;
	for (size_t i = 0; i < have; i++)
		free(got[i]);
	free(got);
	return all;
}

#define BURST_PARTITIONS 4
#define BURST_PER_PART   500
#define BURST_BATCH      8

/* Issue 18, item 4: SIGKILL in the middle of a burst through SMTP, restart,
 * and count e-mails per event id at the sink. Every event gets one, and what
 * is sent again is at most one batch (MAIL_BATCH_MAX): the ids of the e-mails
 * the relay accepted are in the record before their offsets are stored.
 * Offsets are not committed before the kill (auto commit slowed down), so
 * without the record every e-mail before the kill would come twice. */
START_TEST(kill_mid_burst_resends_at_most_a_batch)
{
	ts_sink_t sink = {0};
	crash_env_t c;
	static char ids[BURST_PARTITIONS * BURST_PER_PART][37];
	char sentinel[BURST_PARTITIONS][37], batch[32];
	int fd, at_kill;
	pid_t pid;

	ts_sink_start(&sink);
	crash_env_init(&c, sink.url, BURST_PARTITIONS);
	snprintf(batch, sizeof(batch), "MAIL_BATCH_MAX=%d", BURST_BATCH);
	crash_env_add(&c, batch);
	/* A line per duplicate would fill the stderr pipe, read only at the end,
	 * and block the daemon. */
	crash_env_add(&c, "LOG_LEVEL=warn");

	for (int p = 0; p < BURST_PARTITIONS; p++) {
		char *values[BURST_PER_PART], order[37];

		for (int i = 0; i < BURST_PER_PART; i++) {
			ts_uuid(order);
			values[i] = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order,
			                           "grace@example.com", NULL,
			                           ids[p * BURST_PER_PART + i]);
		}
		ts_produce(c.topic, p, "burst", (const char *const *)values, BURST_PER_PART);
		for (int i = 0; i < BURST_PER_PART; i++)
			free(values[i]);
	}
	pid = spawn(c.env, 0, &fd);
	ts_wait_eml(sink.dir, BURST_PARTITIONS * BURST_PER_PART / 4, 60);
	kill9(pid, fd);
	at_kill = ts_count_eml(sink.dir);
	ck_assert_msg(at_kill < BURST_PARTITIONS * BURST_PER_PART,
	              "the burst ended before the kill");

	pid = spawn(c.env, 0, &fd);
	/* One more event at the end of each partition: once all of them are
	 * mailed, every redelivered event before them has been handled. */
	for (int p = 0; p < BURST_PARTITIONS; p++)
		produce_one(c.topic, p, sentinel[p]);
	ts_wait_eml(sink.dir, BURST_PARTITIONS * (BURST_PER_PART + 1), 90);
	for (int i = 0; i < 60 && !all_sent(sink.dir, sentinel, BURST_PARTITIONS); i++)
		sleep(1); /* a full scan of the sink is slow: not every 50 ms */
	ck_assert_msg(all_sent(sink.dir, sentinel, BURST_PARTITIONS),
	              "a sentinel was never mailed");
	sigterm_exits_0(pid, fd);

	size_t n, resent = 0;
	char **got = sent_event_ids(sink.dir, &n);

	for (int i = 0; i < BURST_PARTITIONS * BURST_PER_PART; i++) {
		size_t k = count_of(got, n, ids[i]);

		ck_assert_msg(k >= 1, "event %s got no e-mail", ids[i]);
		resent += k - 1;
	}
	fprintf(stderr, "kill_mid_burst: %d of %d e-mails before the kill, %zu sent again\n",
	        at_kill, BURST_PARTITIONS * BURST_PER_PART, resent);
	ck_assert_uint_le(resent, BURST_BATCH);
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	free(got);
	ts_sink_stop(&sink);
}
END_TEST

/* Issue 18, item 5: a relay that accepts connections and never answers. Each
 * e-mail gives up after SMTP_TIMEOUT_MS and is retried with backoff; /readyz
 * answers 503 within 2 s, first through its own probe deadline (1.5 s, below
 * SMTP_TIMEOUT_MS here), then at once because the last e-mail failed; SIGTERM
 * still ends the daemon with status 0. */
START_TEST(silent_relay_is_retried_and_not_ready)
{
	ts_silent_t *relay = ts_silent_start();
	crash_env_t c;
	char url[64], id[37], body[16384];
	int fd;
	pid_t pid;

	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", ts_silent_port(relay));
	crash_env_init(&c, url, 1);
	crash_env_add(&c, "SMTP_TIMEOUT_MS=3000");
	crash_env_add(&c, "RETRY_INITIAL_MS=100");
	crash_env_add(&c, "RETRY_MAX_MS=400");

	pid = spawn(c.env, 0, &fd);
	wait_up(c.port);
	ck_assert_int_eq(http_get_within(c.port, "/readyz", body, 2000), 503);
	produce_one(c.topic, 0, id);
	/* Two failed attempts: the consumer came back from the first. */
	const char *want = "notification_failures_total{reason=\"transient\"} ";
	double failures = 0;
	for (int i = 0; i < 600 && failures < 2; i++) {
		char *at;

		if (http_get(c.port, "/metrics", body) == 200 && (at = strstr(body, want)) != NULL)
			failures = strtod(at + strlen(want), NULL);
		if (failures < 2)
			usleep(100 * 1000);
	}
	ck_assert_msg(failures >= 2, "%s", body);
	ck_assert_int_eq(http_get_within(c.port, "/readyz", body, 2000), 503);
	ck_assert_msg(strstr(body, "last e-mail failed") != NULL, "%s", body);
	sigterm_exits_0(pid, fd);
	ts_silent_stop(relay);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("main");
	TCase *tc = tcase_create("main");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, bad_configuration_exits_2, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, serves_mails_and_stops_on_sigterm);
	tcase_add_test(tc, crash_before_commit_without_record_resends_with_same_message_id);
	tcase_add_test(tc, crash_before_commit_with_record_sends_nothing_again);
	tcase_add_test(tc, kill_mid_burst_resends_at_most_a_batch);
	tcase_add_test(tc, silent_relay_is_retried_and_not_ready);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
