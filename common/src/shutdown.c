/*
 * SIGTERM/SIGINT handling with sigtimedwait() instead of a signal handler: the
 * signal is taken synchronously by main(), so the shutdown sequence runs as
 * ordinary code, not in a handler's async-signal-safe straitjacket.
 *
 * The only state is one flag that turns true once, when main() has seen the
 * signal; it is written only by the thread calling eda_shutdown_wait.
 */
#include "eda/shutdown.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "eda/log.h"

static atomic_bool requested;

static void shutdown_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int eda_shutdown_init(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	shutdown_signals(&set);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int eda_shutdown_wait(int timeout_ms)
{
	sigset_t set;
	int sig;

	shutdown_signals(&set);
	for (;;) {
		if (timeout_ms < 0) {
			sig = sigwaitinfo(&set, NULL);
		} else {
			struct timespec ts = {timeout_ms / 1000,
			                      (long)(timeout_ms % 1000) * 1000000L};

			sig = sigtimedwait(&set, NULL, &ts);
		}
		if (sig > 0)
			break;
		if (errno == EAGAIN)
			return -1;
		/* EINTR: another signal (e.g. SIGCHLD) interrupted the wait. */
	}
	atomic_store(&requested, true);
	eda_logf(EDA_LOG_INFO, "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return sig;
}

void eda_shutdown_trigger(void)
{
	kill(getpid(), SIGTERM);
}

int eda_shutdown_await(unsigned seconds)
{
	int sig = eda_shutdown_wait(-1);

	eda_shutdown_deadline(seconds);
	return sig;
}

bool eda_shutdown_requested(void)
{
	return atomic_load(&requested);
}

static void *watchdog(void *arg)
{
	unsigned seconds = (unsigned)(uintptr_t)arg;

	sleep(seconds);
	eda_logf(EDA_LOG_ERROR, "shutdown did not finish within %u s; exiting", seconds);
	_exit(1);
	return NULL;
}

void eda_shutdown_deadline(unsigned seconds)
{
	pthread_t t;

	if (pthread_create(&t, NULL, watchdog, (void *)(uintptr_t)seconds) == 0)
		pthread_detach(t);
}
