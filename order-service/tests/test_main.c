/*
 * Tests for src/main.c and src/config/settings.c with the daemon as a real
 * process ($EDA_BIN_DIR/order-service, default build/bin): a bad setting ends
 * it with status 2 and one line naming the variable; a database that never
 * answers ends it with status 1 and one line; SIGTERM stops it cleanly
 * (status 0) while it serves requests.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/check_main.h"
#include "support/kafka_support.h"
#include "support/os_support.h"
#include "support/ports.h"
#include "support/silent_server.h"

static char bin[512];

static void setup(void)
{
	const char *dir = getenv("EDA_BIN_DIR");

	snprintf(bin, sizeof(bin), "%s/order-service", dir != NULL ? dir : "build/bin");
	ck_assert_msg(access(bin, X_OK) == 0, "%s not built", bin);
}

static const struct bad_env {
	const char *name, *value, *expect;
} bad_envs[] = {
        {"PORT", "http", "PORT"},
        {"PORT", "70000", "PORT"},
        {"DATABASE_URL", "mysql://x/y", "DATABASE_URL"},
        {"DATABASE_URL", "", "DATABASE_URL"},
        {"LOG_LEVEL", "loud", "LOG_LEVEL"},
        {"DB_POOL_SIZE", "0", "DB_POOL_SIZE"},
        {"MAX_WAIT_SECONDS", "31", "MAX_WAIT_SECONDS"},
        {"TOPIC_ORDERS", "bad topic!", "TOPIC_ORDERS"},
        {"TOPIC_PRODUCTS", "bad topic!", "TOPIC_PRODUCTS"},
        {"CATALOGUE_GROUP", "bad group!", "CATALOGUE_GROUP"},
        {"RELAY_ENABLED", "perhaps", "RELAY_ENABLED"},
        {"KAFKA_BOOTSTRAP_SERVERS", "", "KAFKA_BOOTSTRAP_SERVERS"},
        {"DATABASE_TIMEOUT_MS", "99", "DATABASE_TIMEOUT_MS"},
        {"DATABASE_READY_TIMEOUT_MS", "soon", "DATABASE_READY_TIMEOUT_MS"},
        {"MIGRATION_TIMEOUT_MS", "0", "MIGRATION_TIMEOUT_MS"},
};

/* Runs the daemon with ENV (shell words) and returns its exit status; its
 * stderr goes to OUT, and the number of lines it wrote to *LINES. */
static int run_daemon(const char *env, char *out, size_t outsz, int *lines)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "env %s %s 2>&1 >/dev/null", env, bin);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out[0] = '\0';
	*lines = 0;
	while (fgets(out + strlen(out), (int)(outsz - strlen(out)), p) != NULL)
		(*lines)++;
	return pclose(p);
}

START_TEST(test_bad_config_exits_2)
{
	const struct bad_env *b = &bad_envs[_i];
	char env[512], out[1024];
	int status, lines;

	snprintf(env, sizeof(env),
	         "DATABASE_URL=postgresql://eda@127.0.0.1:1/x "
	         "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 %s='%s'",
	         b->name, b->value);
	status = run_daemon(env, out, sizeof(out), &lines);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s=%s: status %d", b->name,
	              b->value, status);
	ck_assert_int_eq(lines, 1);
	ck_assert_msg(strstr(out, b->expect) != NULL, "%s", out);
}
END_TEST

/* A database that accepts connections and never answers is not a bad
 * setting (it may answer after a restart): the daemon gives up after
 * DATABASE_TIMEOUT_MS with status 1 and one line saying why, for its
 * supervisor to start it again, instead of hanging in start-up. */
START_TEST(test_silent_database_at_start_exits_1)
{
	ts_silent_t *silent = ts_silent_start();
	char env[512], out[2048];
	int status, lines;

	snprintf(env, sizeof(env),
	         "DATABASE_URL=postgresql://eda@127.0.0.1:%u/x DATABASE_TIMEOUT_MS=300 "
	         "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1",
	         (unsigned)ts_silent_port(silent));
	status = run_daemon(env, out, sizeof(out), &lines);
	ts_silent_stop(silent);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, out);
	ck_assert_msg(lines == 1, "%d lines: %s", lines, out);
	ck_assert_msg(strstr(out, "no answer from PostgreSQL within 300 ms") != NULL, "%s", out);
}
END_TEST

/* The whole of FD's file, from its start, as a string the caller frees. */
static char *read_log(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	buf[len] = '\0';
	return buf;
}

/* A port from ts_free_port(): a port in the kernel's ephemeral range could be
 * taken by any outgoing connection before the daemon binds it. The daemon's
 * log goes to a file, so a failure says why it never became ready. */
START_TEST(test_sigterm_stops_cleanly)
{
	char port[16], cmd[128], logpath[] = "/tmp/os-main-log.XXXXXX";
	int status = 0, ready = 0, exited = 0, logfd;
	char *log;
	pid_t pid;

	ost_create_database("os_main");
	ost_create_topics("osm");
	snprintf(port, sizeof(port), "%u", (unsigned)ts_free_port());
	logfd = mkstemp(logpath);
	ck_assert_int_ge(logfd, 0);
	unlink(logpath);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(logfd, 2);
		setenv("PORT", port, 1);
		setenv("BIND_ADDR", "127.0.0.1", 1);
		if (getenv("KAFKA_BOOTSTRAP_SERVERS") == NULL)
			setenv("KAFKA_BOOTSTRAP_SERVERS", ts_bootstrap(), 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "curl -sf -o /dev/null http://127.0.0.1:%s/readyz", port);
	for (int i = 0; i < 600 && !ready && !exited; i++) {
		ready = system(cmd) == 0;
		exited = waitpid(pid, &status, WNOHANG) == pid;
		if (!ready && !exited)
			usleep(100000);
	}
	if (!exited) {
		kill(pid, SIGTERM);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	}
	log = read_log(logfd);
	close(logfd);
	ost_drop_database();
	ck_assert_msg(!exited, "daemon exited while starting (status %d): %s", status, log);
	ck_assert_msg(ready, "daemon never became ready: %s", log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, log);
	ck_assert_msg(strstr(log, "\"msg\":\"stopped\"") != NULL, "%s", log);
	free(log);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order-service process");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, test_bad_config_exits_2, 0,
	                    (int)(sizeof(bad_envs) / sizeof(bad_envs[0])));
	tcase_add_test(tc, test_silent_database_at_start_exits_1);
	tcase_add_test(tc, test_sigterm_stops_cleanly);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
