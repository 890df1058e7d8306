/*
 * Running a command line from a test: what tests of our executables (tools,
 * daemons' command forms, the stack script, validators) all need.
 */
#ifndef EDA_TEST_RUN_CMD_H
#define EDA_TEST_RUN_CMD_H

#include <stddef.h>

/* Runs CMD through /bin/sh with stderr joined to stdout; OUT (OUTSZ bytes, at
 * least 1) gets the output, cut to fit. Returns the exit status, or -1 if the
 * command did not exit normally (killed by a signal). Fails the test if the
 * shell cannot be started. */
int ts_run(const char *cmd, char *out, size_t outsz);

#endif
