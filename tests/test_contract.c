/*
 * The OpenAPI description (api-gateway/openapi.json) is what the system does:
 * Schemathesis, a property-based API tester no one here wrote, reads the file
 * the gateway serves at /openapi.json and sends generated requests (examples,
 * coverage, fuzzing and the stateful phase that chains operations through the
 * file's links) to the real gateway in front of the real order and inventory
 * services, on topics and databases of this test's own (tests/support/system.c).
 * Every check is on: a status code, a header, a content type or a body the file
 * does not describe, a request the file allows and the server refuses (or the
 * reverse), a 5xx, all fail the test.
 *
 * It runs twice, once with a customer's token and once with an admin's: the
 * admin operations (PUT /products/{sku}, restock) answer a customer 403, so only
 * the admin run reaches their bodies.
 *
 * Schemathesis comes from `make deps` (.venv-tools, a pinned version);
 * EDA_SCHEMATHESIS names another binary. The seed and the number of examples
 * are fixed so a run is repeatable and stays under three minutes; set
 * EDA_CONTRACT_EXAMPLES to try harder by hand.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eda/log.h"
#include "support/check_main.h"
#include "support/run_cmd.h"
#include "support/system.h"

/* Repeatable: the same requests on every run (a failure found once is found
 * again by the next run, and by the developer who reruns it). */
#define CONTRACT_SEED     "20261207"
#define CONTRACT_EXAMPLES "60"

static sys_t sys;

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

static void start_system(void)
{
	sys_start(&sys);
	/* Products the generated orders and the stateful phase can find; the
	 * catalogue's examples name SKU-1. */
	sys_put_product(&sys, "SKU-1", "49.99", 1000000);
	sys_put_product(&sys, "SKU-2", "5.00", 1000000);
}

static void stop_system(void)
{
	sys_stop(&sys);
}

/* Runs Schemathesis against the gateway with TOKEN and fails with its report
 * unless it ends with no failure. */
static void run_schemathesis(const char *who, const char *token)
{
	static char out[1 << 20];
	const char *bin = env_or("EDA_SCHEMATHESIS", ".venv-tools/bin/schemathesis");
	char cmd[4096];
	int status;

	ck_assert_msg(access(bin, X_OK) == 0, "%s missing: run make deps", bin);
	/* --workers 1: the machine running make test is small and shared; one
	 * worker keeps the run's time predictable. --request-timeout above the
	 * gateway's upstream deadline, so a slow answer is the gateway's 504 (in the
	 * file) rather than a client-side timeout. */
	snprintf(cmd, sizeof(cmd),
	         "%s --config-file tests/contract/schemathesis.toml "
	         "run http://127.0.0.1:%u/openapi.json --checks all "
	         "--phases examples,coverage,fuzzing,stateful "
	         "--max-examples %s --seed %s --workers 1 --request-timeout 30 "
	         "--generation-database none --no-color "
	         "-H 'Authorization: Bearer %s' 2>&1",
	         bin, sys.port[SYS_GATEWAY], env_or("EDA_CONTRACT_EXAMPLES", CONTRACT_EXAMPLES),
	         CONTRACT_SEED, token);
	status = ts_run(cmd, out, sizeof(out));
	if (status != 0)
		fprintf(stderr, "schemathesis as %s (exit %d):\n%s\n", who, status, out);
	ck_assert_msg(status == 0, "Schemathesis found failures as %s (report above)", who);
}

START_TEST(contract_as_customer)
{
	run_schemathesis("customer", sys.customer_token);
}
END_TEST

START_TEST(contract_as_admin)
{
	run_schemathesis("admin", sys.admin_token);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("contract");
	TCase *tc = tcase_create("schemathesis");

	eda_log_init("test-contract", EDA_LOG_WARN);
	tcase_add_unchecked_fixture(tc, start_system, stop_system);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, contract_as_customer);
	tcase_add_test(tc, contract_as_admin);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
