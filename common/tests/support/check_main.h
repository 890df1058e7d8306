/*
 * The end of every test program's main(): run SUITE in check's fork mode and
 * turn the result into an exit status.
 */
#ifndef EDA_TEST_CHECK_MAIN_H
#define EDA_TEST_CHECK_MAIN_H

#include <check.h>

/* Runs S (taking ownership), prints check's summary, returns EXIT_SUCCESS or
 * EXIT_FAILURE. */
int ts_run_suite(Suite *s);

#endif
