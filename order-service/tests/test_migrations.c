/*
 * Tests for src/config/migrations.c and src/config/database.c against the real
 * PostgreSQL: migrations apply once, in order, also when several replicas
 * start at the same moment; a bad migrations folder is a clear error; the
 * pool bounds its wait and replaces a connection the server killed; a
 * prepared statement (utils/pg.c) is prepared once per session, again after a
 * reset, and a statement that cannot be prepared is a clear error each time.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/database.h"
#include "config/migrations.h"
#include "eda/log.h"
#include "support/check_main.h"
#include "support/os_support.h"
#include "utils/pg.h"

#define DIR "order-service/migrations"

static void setup(void)
{
	eda_log_init("test", EDA_LOG_ERROR);
	ost_create_database("os_migr");
}

static void teardown(void)
{
	ost_drop_database();
}

/* The migrations shipped in DIR: NNN_*.sql, numbered 1..n without gaps. */
static int shipped_migrations(void)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^[0-9][0-9]*_.*\\.sql$'", DIR);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	ck_assert_int_gt(n, 0);
	return n;
}

START_TEST(test_applies_once)
{
	PGconn *c = ost_db();
	char err[512];
	int n = shipped_migrations();

	ck_assert_int_eq(os_migrate(c, DIR, err, sizeof(err)), n);
	ck_assert_int_eq(os_migrate(c, DIR, err, sizeof(err)), 0);
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM schema_migrations"), n);
	ck_assert_int_eq(ost_sql_num("SELECT max(version) FROM schema_migrations"), n);
	PQfinish(c);
}
END_TEST

static void *migrate_thread(void *arg)
{
	int *applied = arg;
	PGconn *c = PQconnectdb(ost_database_url());
	char err[512];

	*applied = os_migrate(c, DIR, err, sizeof(err));
	PQfinish(c);
	return NULL;
}

START_TEST(test_concurrent_replicas)
{
	enum { N = 4 };
	pthread_t t[N];
	int applied[N], total = 0;

	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, migrate_thread, &applied[i]);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_ge(applied[i], 0);
		total += applied[i];
	}
	ck_assert_int_eq(total, shipped_migrations());
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM schema_migrations"),
	                 shipped_migrations());
}
END_TEST

static const struct bad_dir {
	const char *name;
	const char *files[3][2]; /* file name, content */
	const char *expect;      /* in the error */
} bad_dirs[] = {
        {"bad name", {{"1_x.sql", "SELECT 1"}}, "NNN_<name>.sql"},
        {"shared number", {{"001_a.sql", "SELECT 1"}, {"001_b.sql", "SELECT 1"}}, "share a number"},
        {"failing SQL", {{"001_a.sql", "CREATE TABLE t (x int); SELEC 1"}}, "001_a.sql"},
};

START_TEST(test_bad_folders)
{
	const struct bad_dir *b = &bad_dirs[_i];
	char dir[] = "/tmp/os-migr-XXXXXX", path[300], err[512];
	PGconn *c = ost_db();

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int i = 0; i < 3 && b->files[i][0] != NULL; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, b->files[i][0]);
		f = fopen(path, "w");
		fputs(b->files[i][1], f);
		fclose(f);
	}
	ck_assert_int_eq(os_migrate(c, dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, b->expect) != NULL, "%s: %s", b->name, err);
	/* A failing file leaves nothing behind. */
	ck_assert_int_eq(ost_sql_num("SELECT count(*) FROM pg_tables WHERE tablename = 't'"), 0);
	ck_assert_int_eq(os_migrate(c, "/nonexistent", err, sizeof(err)), -1);
	PQfinish(c);
	for (int i = 0; i < 3 && b->files[i][0] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, b->files[i][0]);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

START_TEST(test_pool_bounded_wait)
{
	os_db_pool_t *p = os_db_pool_new(ost_database_url(), 1, 3000);
	char err[256];
	PGconn *a = os_db_checkout(p, 1000, err, sizeof(err)), *b;

	ck_assert_ptr_nonnull(a);
	b = os_db_checkout(p, 100, err, sizeof(err));
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(strstr(err, "no database connection free"));
	os_db_checkin(p, a);
	b = os_db_checkout(p, 100, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	os_db_checkin(p, b);
	os_db_pool_free(p);
}
END_TEST

START_TEST(test_pool_replaces_killed_connection)
{
	os_db_pool_t *p = os_db_pool_new(ost_database_url(), 1, 3000);
	char err[256], sql[128];
	PGconn *a = os_db_checkout(p, 1000, err, sizeof(err));
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(a));
	os_db_checkin(p, a);
	ost_sql(sql);
	/* The first statement on the dead session fails, and check-in drops it. */
	a = os_db_checkout(p, 1000, err, sizeof(err));
	r = PQexec(a, "SELECT 1");
	ck_assert_int_ne(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	os_db_checkin(p, a);
	a = os_db_checkout(p, 1000, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	r = PQexec(a, "SELECT 1");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	os_db_checkin(p, a);
	os_db_pool_free(p);
}
END_TEST

START_TEST(test_pool_unreachable_database)
{
	os_db_pool_t *p = os_db_pool_new("postgresql://eda@127.0.0.1:1/none", 2, 3000);
	char err[256];

	ck_assert_ptr_null(os_db_checkout(p, 1000, err, sizeof(err)));
	ck_assert_int_gt(strlen(err), 0);
	/* The slot was given back: the pool is not exhausted by failures. */
	ck_assert_ptr_null(os_db_checkout(p, 1000, err, sizeof(err)));
	ck_assert_ptr_null(strstr(err, "no database connection free"));
	os_db_pool_free(p);
}
END_TEST

static long long prepared_count(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT count(*) FROM pg_prepared_statements");
	long long n;

	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static const os_pg_stmt_t twice = {"test_twice", "SELECT $1::int * 2", 1};

static void assert_twice(PGconn *c, const char *in, const char *out)
{
	const char *p[1] = {in};
	char err[256];
	PGresult *r = os_pg_run(c, &twice, p, err, sizeof(err), NULL);

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), out);
	PQclear(r);
}

START_TEST(test_prepared_once_per_session)
{
	PGconn *a = ost_db(), *b = ost_db();

	assert_twice(a, "2", "4");
	assert_twice(a, "5", "10");
	ck_assert_int_eq(prepared_count(a), 1);
	/* Another session prepares it for itself. */
	ck_assert_int_eq(prepared_count(b), 0);
	assert_twice(b, "7", "14");
	ck_assert_int_eq(prepared_count(b), 1);
	/* A reset is a new session: prepared again, not "does not exist". */
	PQreset(a);
	ck_assert_int_eq(PQstatus(a), CONNECTION_OK);
	ck_assert_int_eq(prepared_count(a), 0);
	assert_twice(a, "21", "42");
	PQfinish(a);
	PQfinish(b);
}
END_TEST

START_TEST(test_prepare_failure_is_reported)
{
	static const os_pg_stmt_t bad = {"test_bad", "SELECT FROM no_such_table WHERE x = $1", 1};
	PGconn *c = ost_db();
	const char *p[1] = {"1"};
	char err[256], state[6];

	for (int i = 0; i < 2; i++) {
		err[0] = '\0';
		ck_assert_ptr_null(os_pg_run(c, &bad, p, err, sizeof(err), state));
		ck_assert_str_eq(state, "42P01");
		ck_assert_ptr_nonnull(strstr(err, "no_such_table"));
	}
	/* The failure left the session usable and nothing half-prepared. */
	ck_assert_int_eq(prepared_count(c), 0);
	assert_twice(c, "3", "6");
	PQfinish(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order-service migrations and pool");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_applies_once);
	tcase_add_test(tc, test_concurrent_replicas);
	tcase_add_loop_test(tc, test_bad_folders, 0, (int)(sizeof(bad_dirs) / sizeof(bad_dirs[0])));
	tcase_add_test(tc, test_pool_bounded_wait);
	tcase_add_test(tc, test_pool_replaces_killed_connection);
	tcase_add_test(tc, test_pool_unreachable_database);
	tcase_add_test(tc, test_prepared_once_per_session);
	tcase_add_test(tc, test_prepare_failure_is_reported);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
