/*
 * Graceful shutdown on SIGTERM and SIGINT.
 *
 * eda_shutdown_init() blocks both signals in the calling thread, and so in every
 * thread started after it (threads inherit the mask): call it first in main().
 * main() then starts its servers and consumers and calls eda_shutdown_wait(),
 * which returns when a signal arrives (or eda_shutdown_trigger() is called, for
 * a fatal error elsewhere). main() stops components in order: stop accepting
 * HTTP, stop consumers (which store and commit offsets), flush the producer,
 * close connections. eda_shutdown_deadline() arms a watchdog so that a component
 * that hangs cannot keep the process alive past a bounded time.
 */
#ifndef EDA_SHUTDOWN_H
#define EDA_SHUTDOWN_H

#include <stdbool.h>

/* Blocks SIGTERM, SIGINT (and ignores SIGPIPE, which a peer closing a socket
 * must not turn into a crash). Returns 0, or -1 if the mask cannot be set. */
int eda_shutdown_init(void);

/* Waits for SIGTERM/SIGINT or a trigger, up to TIMEOUT_MS (-1: forever).
 * Returns the signal number (a trigger is SIGTERM), or -1 on timeout. */
int eda_shutdown_wait(int timeout_ms);

/* Wakes eda_shutdown_wait() from any thread (sends SIGTERM to the process). */
void eda_shutdown_trigger(void);

/* true once a shutdown signal was seen by eda_shutdown_wait. */
bool eda_shutdown_requested(void);

/* Starts a watchdog: if the process is still running SECONDS from now, it
 * logs and exits with status 1. */
void eda_shutdown_deadline(unsigned seconds);

/* What every daemon's <prefix>_app_run() ends with: waits for SIGTERM/SIGINT
 * (logged), then arms the watchdog for SECONDS, so that stopping the app
 * cannot hang the process. Returns the signal. */
int eda_shutdown_await(unsigned seconds);

#endif
