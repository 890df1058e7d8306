/*
 * Tests of src/services/transport_spool.c: one <message-id>.eml per e-mail,
 * no temporary files left, a resend replaces the same file, unusable
 * directories are refused at creation, and names that would escape the
 * directory are refused. With fsync (group commit): nothing is visible before
 * flush(), also in a batch larger than the files it keeps open, a failed
 * flush leaves nothing and reports every e-mail of the batch, an unflushed
 * batch is removed on free; temporary files a crash left
 * behind are removed at the next start once stale, fresh ones (a live
 * replica's batch) are not.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "services/transport.h"
#include "support/check_main.h"
#include "support/sink.h"

static const char *msg = "Subject: x\r\n\r\nbody\r\n";

/* Entries of DIR, dot files (temporary files) included. */
static int count_all(const char *dir)
{
	char cmd[400];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static int send_one(notif_transport_t *t, const char *msgid)
{
	char err[256];

	return t->send(t, "a@b.example", "c@d.example", msgid, msg, strlen(msg), err, sizeof(err));
}

START_TEST(writes_one_file_per_message)
{
	char dir[256], err[256], path[512];
	notif_transport_t *t;
	struct stat st;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	for (int fsync_on = 0; fsync_on <= 1; fsync_on++) {
		/* With fsync the e-mails are PENDING until flush(). */
		int want = fsync_on ? NOTIF_TRANSPORT_PENDING : NOTIF_TRANSPORT_OK;

		t = notif_transport_spool_new(dir, fsync_on, err, sizeof(err));
		ck_assert_msg(t != NULL, "%s", err);
		ck_assert_str_eq(t->name, "spool");
		ck_assert_int_eq(t->check(t, err, sizeof(err)), 0);
		ck_assert_int_eq(send_one(t, "id-1@x.example"), want);
		ck_assert_int_eq(send_one(t, "id-2@x.example"), want);
		/* The same Message-ID again (a redelivery) replaces the file. */
		ck_assert_int_eq(send_one(t, "id-1@x.example"), want);
		ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
		notif_transport_free(t);
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

START_TEST(batch_is_visible_only_after_flush)
{
	char dir[256], err[256];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = notif_transport_spool_new(dir, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(send_one(t, "b-1@x.example"), NOTIF_TRANSPORT_PENDING);
	ck_assert_int_eq(send_one(t, "b-2@x.example"), NOTIF_TRANSPORT_PENDING);
	ck_assert_int_eq(send_one(t, "b-1@x.example"), NOTIF_TRANSPORT_PENDING);
	/* Written (three temporary files), but no .eml before the flush. */
	ck_assert_int_eq(ts_count_eml(dir), 0);
	ck_assert_int_eq(count_all(dir), 3);
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
	ck_assert_int_eq(ts_count_eml(dir), 2);
	ck_assert_int_eq(count_all(dir), 2);
	/* An empty batch flushes trivially. */
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
	notif_transport_free(t);
}
END_TEST

/* A batch keeps up to 256 files open for flush() and syncs the rest as they
 * are written: a larger one is as invisible before the flush and as complete
 * after it, and leaves no descriptor open. */
START_TEST(large_batch_is_visible_only_after_flush)
{
	enum { N = 600 };
	char dir[256], err[256], id[64];
	notif_transport_t *t;
	int fd_before, fd_after;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = notif_transport_spool_new(dir, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	fd_before = dup(0);
	close(fd_before);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "l-%d@x.example", i);
		ck_assert_int_eq(send_one(t, id), NOTIF_TRANSPORT_PENDING);
	}
	ck_assert_int_eq(ts_count_eml(dir), 0);
	ck_assert_int_eq(count_all(dir), N);
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
	ck_assert_int_eq(ts_count_eml(dir), N);
	ck_assert_int_eq(count_all(dir), N);
	/* The lowest free descriptor is the same again: none left open. */
	fd_after = dup(0);
	close(fd_after);
	ck_assert_int_eq(fd_after, fd_before);
	notif_transport_free(t);
}
END_TEST

START_TEST(failed_flush_leaves_nothing)
{
	char dir[256], err[256], cmd[400];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = notif_transport_spool_new(dir, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(send_one(t, "f-1@x.example"), NOTIF_TRANSPORT_PENDING);
	ck_assert_int_eq(send_one(t, "f-2@x.example"), NOTIF_TRANSPORT_PENDING);
	/* Someone removes the temporary files: they are synced through the
	 * descriptors that wrote them, but cannot be renamed. */
	snprintf(cmd, sizeof(cmd), "rm -f %s/.tmp-*", dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_TRANSIENT);
	ck_assert_msg(strstr(err, "rename") != NULL, "%s", err);
	ck_assert_int_eq(count_all(dir), 0);
	/* The batch is gone; the next one (the same e-mails again) works. */
	ck_assert_int_eq(send_one(t, "f-1@x.example"), NOTIF_TRANSPORT_PENDING);
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
	ck_assert_int_eq(count_all(dir), 1);
	notif_transport_free(t);
}
END_TEST

START_TEST(unflushed_batch_is_removed_on_free)
{
	char dir[256], err[256];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = notif_transport_spool_new(dir, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(send_one(t, "u-1@x.example"), NOTIF_TRANSPORT_PENDING);
	notif_transport_free(t);
	ck_assert_int_eq(count_all(dir), 0);
}
END_TEST

/* Creates DIR/NAME with a modification time AGE_S seconds ago. */
static void leave_file(const char *dir, const char *name, long age_s)
{
	char path[512];
	struct timeval tv[2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("Subject: half", f);
	fclose(f);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age_s;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}

START_TEST(stale_temporary_files_are_removed_at_start)
{
	char dir[256], err[256], path[512];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	leave_file(dir, ".tmp-4242-0", 3600);
	leave_file(dir, ".tmp-4243-7", 1);
	leave_file(dir, "kept@x.example.eml", 3600);
	t = notif_transport_spool_new(dir, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	snprintf(path, sizeof(path), "%s/.tmp-4242-0", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/.tmp-4243-7", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/kept@x.example.eml", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	notif_transport_free(t);
}
END_TEST

START_TEST(refuses_bad_names_and_dirs)
{
	char dir[256], err[256], path[300];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	t = notif_transport_spool_new(dir, false, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", "../escape@x.example", msg,
	                         strlen(msg), err, sizeof(err)),
	                 NOTIF_TRANSPORT_PERMANENT);
	ck_assert_int_eq(t->send(t, "a@b.example", "c@d.example", ".hidden@x.example", msg,
	                         strlen(msg), err, sizeof(err)),
	                 NOTIF_TRANSPORT_PERMANENT);
	notif_transport_free(t);

	ck_assert_ptr_null(notif_transport_spool_new("/proc/no/such/dir", false, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	/* A file where the directory should be. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fclose(fopen(path, "w"));
	ck_assert_ptr_null(notif_transport_spool_new(path, false, err, sizeof(err)));
}
END_TEST

START_TEST(creates_missing_directory)
{
	char dir[256], sub[300], err[256];
	notif_transport_t *t;

	ts_tmpdir(dir, sizeof(dir), "notif-spool");
	snprintf(sub, sizeof(sub), "%s/new", dir);
	t = notif_transport_spool_new(sub, true, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(send_one(t, "m@x.example"), NOTIF_TRANSPORT_PENDING);
	ck_assert_int_eq(t->flush(t, err, sizeof(err)), NOTIF_TRANSPORT_OK);
	ck_assert_int_eq(ts_count_eml(sub), 1);
	notif_transport_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transport_spool");
	TCase *tc = tcase_create("spool");

	tcase_add_test(tc, writes_one_file_per_message);
	tcase_add_test(tc, refuses_bad_names_and_dirs);
	tcase_add_test(tc, creates_missing_directory);
	tcase_add_test(tc, batch_is_visible_only_after_flush);
	tcase_add_test(tc, large_batch_is_visible_only_after_flush);
	tcase_add_test(tc, failed_flush_leaves_nothing);
	tcase_add_test(tc, unflushed_batch_is_removed_on_free);
	tcase_add_test(tc, stale_temporary_files_are_removed_at_start);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
