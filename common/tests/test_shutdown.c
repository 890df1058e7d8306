/*
 * Tests for eda/shutdown.h: SIGTERM and SIGINT end eda_shutdown_wait, a
 * trigger from another thread does too, a timeout returns -1, and the deadline
 * watchdog ends a process whose shutdown hangs. Each case runs in a child
 * process, since signal masks are per process.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eda/log.h"
#include "eda/shutdown.h"
#include "support/check_main.h"

/* Forks a child that blocks the signals, tells the parent it is ready and waits;
 * returns the child's exit status (the signal number eda_shutdown_wait saw). */
static int child_waits_for(int sig)
{
	int ready[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int got;

		ck_assert_int_eq(eda_shutdown_init(), 0);
		ck_assert_int_eq(write(ready[1], "r", 1), 1);
		got = eda_shutdown_wait(30000);
		_exit(got > 0 && eda_shutdown_requested() ? got : 100);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, sig), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(ready[1]);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(sigterm_ends_wait)
{
	ck_assert_int_eq(child_waits_for(SIGTERM), SIGTERM);
}
END_TEST

START_TEST(sigint_ends_wait)
{
	ck_assert_int_eq(child_waits_for(SIGINT), SIGINT);
}
END_TEST

static void *trigger_later(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	eda_shutdown_trigger();
	return NULL;
}

START_TEST(trigger_from_thread_ends_wait)
{
	pthread_t t;

	ck_assert_int_eq(eda_shutdown_init(), 0);
	ck_assert(!eda_shutdown_requested());
	ck_assert_int_eq(pthread_create(&t, NULL, trigger_later, NULL), 0);
	ck_assert_int_eq(eda_shutdown_wait(30000), SIGTERM);
	ck_assert(eda_shutdown_requested());
	pthread_join(t, NULL);
}
END_TEST

START_TEST(wait_times_out)
{
	ck_assert_int_eq(eda_shutdown_init(), 0);
	ck_assert_int_eq(eda_shutdown_wait(50), -1);
	ck_assert(!eda_shutdown_requested());
}
END_TEST

/* A shutdown that hangs is ended by the watchdog with status 1. */
START_TEST(deadline_ends_hung_shutdown)
{
	eda_log_init("test-shutdown", EDA_LOG_ERROR);
	eda_shutdown_deadline(1);
	for (;;)
		pause();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("shutdown");

	tcase_add_test(tc, sigterm_ends_wait);
	tcase_add_test(tc, sigint_ends_wait);
	tcase_add_test(tc, trigger_from_thread_ends_wait);
	tcase_add_test(tc, wait_times_out);
	tcase_add_exit_test(tc, deadline_ends_hung_shutdown, 1);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
