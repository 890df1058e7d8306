/*
 * The daemons' clocks, read one way: the wall clock as the RFC 3339 text the
 * event contract and the logs carry ("2026-11-23T10:30:00.123Z", UTC,
 * milliseconds), the wall clock in milliseconds for stored timestamps, the
 * monotonic clock for durations and timeouts (it never jumps when the wall
 * clock is set), and absolute deadlines for pthread_cond_timedwait().
 */
#ifndef EDA_CLOCK_H
#define EDA_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL. */
#define EDA_RFC3339_LEN 25

/* Writes the wall-clock time WALL_MS (milliseconds since the epoch, UTC) to
 * OUT as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void eda_clock_rfc3339_at(int64_t wall_ms, char out[static EDA_RFC3339_LEN]);

/* Writes the current wall-clock time to OUT, as eda_clock_rfc3339_at. */
void eda_clock_rfc3339(char out[static EDA_RFC3339_LEN]);

/* Milliseconds since the epoch by the wall clock (CLOCK_REALTIME): for
 * timestamps that are stored or compared across processes. */
int64_t eda_clock_wall_ms(void);

/* Milliseconds by the monotonic clock, from an unspecified origin: for
 * durations, timeouts and "not before" times within one process. */
int64_t eda_clock_mono_ms(void);

/* The absolute time TIMEOUT_MS (>= 0) from now by CLOCK (CLOCK_REALTIME or
 * CLOCK_MONOTONIC, as the condition variable waited on was set up), normalised
 * (tv_nsec below one second): the deadline pthread_cond_timedwait() takes. */
struct timespec eda_clock_deadline(clockid_t clock, int64_t timeout_ms);

/* True when S is an RFC 3339 date-time as the event contract takes it
 * (its schema's pattern plus the date-time format check): upper-case T and Z,
 * 1 to 9 fraction digits, a real calendar date, no leap second. */
bool eda_rfc3339_valid(const char *s);

#endif
