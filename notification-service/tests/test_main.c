/*
 * Tests of the daemon as a real process ($EDA_BIN_DIR/notification-service,
 * default build/bin): every bad setting ends it with status 2 and one line
 * naming the variable; a good configuration serves /healthz, /readyz and
 * /metrics, mails an event, and SIGTERM ends it cleanly with status 0; a
 * SIGKILL before the offset commit leads to a resend with the same Message-ID.
 */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eda/event.h"
#include "support/check_main.h"
#include "support/kafka_support.h"
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

static long http_get(unsigned short port, const char *path, char *body)
{
	CURL *c = curl_easy_init();
	char url[128];
	long code = 0;

	body[0] = '\0';
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

START_TEST(serves_mails_and_stops_on_sigterm)
{
	ts_sink_t sink = {0};
	char topic[128], group[128], dlq[160], e_topic[200], e_group[200], e_port[32], e_smtp[96];
	char order[37], *value, body[16384];
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
	const char *env[] = {e_topic, e_group, e_port, e_smtp, "BIND_ADDR=127.0.0.1", NULL};

	pid = spawn(env, 0, &fd);
	long code = 0;
	for (int i = 0; i < 100 && (code = http_get(port, "/healthz", body)) != 200; i++)
		usleep(100 * 1000);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(http_get(port, "/readyz", body), 200);

	ts_uuid(order);
	value = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "erin@example.com", NULL, NULL);
	const char *v[] = {value};
	ts_produce(topic, -1, order, v, 1);
	free(value);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, 60), 1);
	ck_assert_int_eq(http_get(port, "/metrics", body), 200);
	ck_assert_msg(strstr(body, "notifications_sent_total{type=\"OrderConfirmed\","
	                           "transport=\"smtp\"} 1") != NULL,
	              "%s", body);

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

/* The documented at-least-once case: killed after the relay accepted an e-mail
 * but before the offset was committed, the daemon sends it again after the
 * restart, with the same Message-ID. Auto commit is slowed down so that the
 * kill always lands before it, and the session timeout shortened so that the
 * dead member leaves the group soon. */
START_TEST(crash_before_commit_resends_with_same_message_id)
{
	ts_sink_t sink = {0};
	char topic[128], group[128], dlq[160], e_topic[200], e_group[200], e_port[32], e_smtp[96];
	char order[37], id[37], *value, mid[128];
	int fd, st;
	pid_t pid;

	ts_sink_start(&sink);
	ts_unique(topic, sizeof(topic), "test.notif.crash");
	ts_unique(group, sizeof(group), "test-notif-crash");
	snprintf(dlq, sizeof(dlq), "dlq.%s", group);
	ts_create_topic(topic, 1);
	ts_create_topic(dlq, 1);
	snprintf(e_topic, sizeof(e_topic), "TOPIC_ORDERS=%s", topic);
	snprintf(e_group, sizeof(e_group), "CONSUMER_GROUP=%s", group);
	snprintf(e_port, sizeof(e_port), "PORT=%u", ts_free_port());
	snprintf(e_smtp, sizeof(e_smtp), "SMTP_URL=%s", sink.url);
	const char *env[] = {e_topic,
	                     e_group,
	                     e_port,
	                     e_smtp,
	                     "BIND_ADDR=127.0.0.1",
	                     "KAFKA_AUTO_COMMIT_INTERVAL_MS=600000",
	                     "KAFKA_SESSION_TIMEOUT_MS=6000",
	                     NULL};

	ts_uuid(order);
	value = ts_order_event(EDA_EVENT_ORDER_CONFIRMED, order, "frank@example.com", NULL, id);
	const char *v[] = {value};
	ts_produce(topic, -1, order, v, 1);
	free(value);

	pid = spawn(env, 0, &fd);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 1, 60), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	free(read_all(fd));

	pid = spawn(env, 0, &fd);
	ck_assert_int_eq(ts_wait_eml(sink.dir, 2, 90), 2);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	free(read_all(fd));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	char *all = ts_read_all_eml(sink.dir);
	snprintf(mid, sizeof(mid), "Message-ID: <%s@notification-service.eda>", id);
	ck_assert_ptr_nonnull(strstr(all, mid));
	ck_assert_ptr_nonnull(strstr(strstr(all, mid) + 1, mid));
	free(all);
	ts_sink_stop(&sink);
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
	tcase_add_test(tc, crash_before_commit_resends_with_same_message_id);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
