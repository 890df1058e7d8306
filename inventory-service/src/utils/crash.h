/*
 * Crash injection for the crash tests: INVENTORY_CRASH_AT=N makes the process
 * _exit(INV_CRASH_STATUS) right after its N-th durable write (ledger append,
 * cache update, outbox insert, publish mark, ...). Every write site calls
 * inv_crash_point() with a step name that is logged, so a test can walk N = 1,
 * 2, ... and cover "killed between any two of its writes".
 */
#ifndef INV_CRASH_H
#define INV_CRASH_H

#define INV_CRASH_STATUS 99

/* SPEC: "" (off) or a positive decimal N. Returns 0, or -1 for a bad SPEC. */
int inv_crash_init(const char *spec);

/* Counts one write named STEP; exits the process if it is the N-th. */
void inv_crash_point(const char *step);

#endif
