/*
 * Tests of src/services/transport_spool.c: one <message-id>.eml per e-mail,
 * no temporary files left, a resend replaces the same file, unusable
 * directories are refused at creation, and names that would escape the
 * directory are refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/transport.h"
#include "support/check_main.h"
#include "support/sink.h"

static const char *msg = "Subject: x\r\n\r\nbody\r\n";

START_TEST(writes_one_file_per_message)
{
	char dir[256], err[256], path[512];
	transport_t *t;
	struct stat st;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	for (int fsync_on = 0; fsync_on <= 1; fsync_on++) {
		t = transport_spool_new(dir, fsync_on, err, sizeof(err));
		ck_assert_msg(t != NULL, "%s", err);
		ck_assert_str_eq(t->name, "spool");
		ck_assert_int_eq(t->check(t, err, sizeof(err)), 0);
		ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "id-1@x.example", msg,
		                         strlen(msg), err, sizeof(err)),
		                 TRANSPORT_OK);
		ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "id-2@x.example", msg,
		                         strlen(msg), err, sizeof(err)),
		                 TRANSPORT_OK);
		/* The same Message-ID again (a redelivery) replaces the file. */
		ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "id-1@x.example", msg,
		                         strlen(msg), err, sizeof(err)),
		                 TRANSPORT_OK);
		transport_free(t);
	}
	ck_assert_int_eq(ts_count_eml(dir), 2);
	snprintf(path, sizeof(path), "%s/id-1@x.example.eml", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(msg));
	/* Nothing else (no temporary files) in the directory. */
	char *all = ts_read_all_eml(dir);
	ck_assert_ptr_nonnull(strstr(all, "body"));
	free(all);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 2", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(refuses_bad_names_and_dirs)
{
	char dir[256], err[256], path[300];
	transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = transport_spool_new(dir, false, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "../escape@x.example", msg,
	                         strlen(msg), err, sizeof(err)),
	                 TRANSPORT_PERMANENT);
	ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", ".hidden@x.example", msg,
	                         strlen(msg), err, sizeof(err)),
	                 TRANSPORT_PERMANENT);
	transport_free(t);

	ck_assert_ptr_null(transport_spool_new("/proc/no/such/dir", false, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	/* A file where the directory should be. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fclose(fopen(path, "w"));
	ck_assert_ptr_null(transport_spool_new(path, false, err, sizeof(err)));
}
END_TEST

START_TEST(creates_missing_directory)
{
	char dir[256], sub[300], err[256];
	transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	snprintf(sub, sizeof(sub), "%s/new", dir);
	t = transport_spool_new(sub, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "m@x.example", msg, strlen(msg),
	                         err, sizeof(err)),
	                 TRANSPORT_OK);
	ck_assert_int_eq(ts_count_eml(sub), 1);
	transport_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transport_spool");
	TCase *tc = tcase_create("spool");

	tcase_add_test(tc, writes_one_file_per_message);
	tcase_add_test(tc, refuses_bad_names_and_dirs);
	tcase_add_test(tc, creates_missing_directory);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
