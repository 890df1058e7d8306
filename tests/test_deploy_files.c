/*
 * The deployment files cannot be run here (no Docker engine, no cluster), so
 * they are validated: both Compose files against the Compose specification's
 * JSON Schema by Debian's docker-compose (`config -q`, which needs no engine),
 * and infrastructure/validate/validate.mjs for the Kubernetes schemas and our
 * own consistency rules (see that file). Each validator is also shown a broken
 * file, so that a validator that accepts everything fails this suite.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/check_main.h"
#include "support/run_cmd.h"

static const char *const compose_files[] = {
        "docker-compose.yml",
        "infrastructure/kafka/docker-compose.yml",
};

START_TEST(compose_files_follow_the_spec)
{
	char cmd[512], out[8192];

	snprintf(cmd, sizeof(cmd), "docker-compose -f %s config -q", compose_files[_i]);
	ck_assert_msg(ts_run(cmd, out, sizeof(out)) == 0, "%s: %s", compose_files[_i], out);
}
END_TEST

START_TEST(compose_validator_rejects_a_broken_file)
{
	char path[] = "/tmp/eda-compose-XXXXXX", cmd[512], out[8192];
	int fd = mkstemp(path);
	const char *broken =
	        "services:\n  web:\n    image: x\n    ports: 8080\n    restart: sometimes\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, broken, strlen(broken)), (ssize_t)strlen(broken));
	close(fd);
	snprintf(cmd, sizeof(cmd), "docker-compose -f %s config -q", path);
	ck_assert_int_ne(ts_run(cmd, out, sizeof(out)), 0);
	unlink(path);
}
END_TEST

START_TEST(kubernetes_and_compose_consistency)
{
	char out[16384];
	int rc = ts_run("node infrastructure/validate/validate.mjs infrastructure/kubernetes "
	                "docker-compose.yml infrastructure/kafka/topics.conf",
	                out, sizeof(out));

	ck_assert_msg(rc == 0, "%s", out);
	ck_assert_msg(strstr(out, ", 0 problems") != NULL, "%s", out);
}
END_TEST

/* A copy of the manifests with three mistakes must fail with each named. */
START_TEST(kubernetes_validator_rejects_broken_manifests)
{
	char dir[] = "/tmp/eda-k8s-XXXXXX", cmd[1024], out[16384];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "cp infrastructure/kubernetes/*.yaml %s/ && "
	         "sed -i 's/key: DATABASE_URL/key: NO_SUCH_KEY/; s/replicas: 2/replicas: two/' "
	         "%s/order-service.yaml && sed -i 's/maxReplicas: 6/maxReplicas: 12/' "
	         "%s/inventory-service.yaml",
	         dir, dir, dir);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd),
	         "node infrastructure/validate/validate.mjs %s docker-compose.yml "
	         "infrastructure/kafka/topics.conf",
	         dir);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "NO_SUCH_KEY") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "replicas must be integer") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "maxReplicas 12 exceeds") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(ts_run(cmd, out, sizeof(out)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("deploy_files");
	TCase *tc = tcase_create("deploy");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, compose_files_follow_the_spec, 0,
	                    sizeof(compose_files) / sizeof(compose_files[0]));
	tcase_add_test(tc, compose_validator_rejects_a_broken_file);
	tcase_add_test(tc, kubernetes_and_compose_consistency);
	tcase_add_test(tc, kubernetes_validator_rejects_broken_manifests);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
