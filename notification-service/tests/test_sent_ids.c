/*
 * Tests of src/repositories/sent_ids.c on a real directory: ids survive a reopen
 * in their order, a torn last line is dropped and cut off, ids of any bytes
 * round-trip, rotation keeps the file bounded to KEEP ids across reopens, a
 * second process is locked out, and an unusable directory is refused.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repositories/sent_ids.h"
#include "support/check_main.h"
#include "support/sink.h" /* ts_tmpdir */

/* What notif_sent_ids_open() handed to EACH, in order. */
typedef struct seen {
	char *id[64];
	int n, total;
} seen_t;

static void collect(const char *id, void *ctx)
{
	seen_t *s = ctx;

	if (s->n < 64)
		s->id[s->n++] = strdup(id);
	s->total++;
}

static void seen_free(seen_t *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->id[i]);
	memset(s, 0, sizeof(*s));
}

static notif_sent_ids_t *open_ok(const char *path, size_t keep, seen_t *s)
{
	char err[256];
	notif_sent_ids_t *r = notif_sent_ids_open(path, keep, collect, s, err, sizeof(err));

	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

static void append_ok(notif_sent_ids_t *r, const char *id)
{
	char err[256];

	ck_assert_msg(notif_sent_ids_append(r, id, err, sizeof(err)) == 0, "%s", err);
}

static void record_path(char *out, size_t size)
{
	char dir[256];

	ts_tmpdir(dir, sizeof(dir), "notif-sent-ids");
	/* One level below a fresh directory: open creates it. */
	snprintf(out, size, "%s/state/sent-ids", dir);
}

START_TEST(ids_survive_a_reopen_in_order)
{
	char path[320], err[256];
	seen_t s = {0};
	notif_sent_ids_t *r = open_ok((record_path(path, sizeof(path)), path), 100, &s);

	ck_assert_int_eq(s.total, 0);
	append_ok(r, "a");
	append_ok(r, "b");
	ck_assert_int_eq(notif_sent_ids_sync(r, err, sizeof(err)), 0);
	/* Appended, not synced: a process that dies keeps it too. */
	append_ok(r, "c");
	notif_sent_ids_close(r);
	r = open_ok(path, 100, &s);
	ck_assert_int_eq(s.total, 3);
	ck_assert_str_eq(s.id[0], "a");
	ck_assert_str_eq(s.id[1], "b");
	ck_assert_str_eq(s.id[2], "c");
	ck_assert_uint_eq(notif_sent_ids_current(r), 3);
	notif_sent_ids_close(r);
	seen_free(&s);
}
END_TEST

/* Table: ids of unusual bytes come back as they went in. */
static const char *const odd_ids[] = {
        "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "with space",
        "line\nbreak",
        "100%",
        "%41",
        "tab\there",
        "caf\xc3\xa9",
        "\x7f\x01",
};

START_TEST(odd_ids_round_trip)
{
	char path[320];
	seen_t s = {0};
	notif_sent_ids_t *r;

	record_path(path, sizeof(path));
	r = open_ok(path, 100, &s);
	append_ok(r, odd_ids[_i]);
	append_ok(r, "after");
	notif_sent_ids_close(r);
	r = open_ok(path, 100, &s);
	ck_assert_int_eq(s.total, 2);
	ck_assert_str_eq(s.id[0], odd_ids[_i]);
	ck_assert_str_eq(s.id[1], "after");
	notif_sent_ids_close(r);
	seen_free(&s);
}
END_TEST

START_TEST(torn_last_line_is_dropped_and_cut)
{
	char path[320];
	seen_t s = {0};
	notif_sent_ids_t *r;
	int fd;

	record_path(path, sizeof(path));
	r = open_ok(path, 100, &s);
	append_ok(r, "whole");
	notif_sent_ids_close(r);
	/* What a crash in the middle of a write (or a full disk) leaves. */
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "tor", 3), 3);
	close(fd);
	r = open_ok(path, 100, &s);
	ck_assert_int_eq(s.total, 1);
	append_ok(r, "next");
	notif_sent_ids_close(r);
	seen_free(&s);
	/* The torn bytes were cut, so "next" did not become "tornext". */
	r = open_ok(path, 100, &s);
	ck_assert_int_eq(s.total, 2);
	ck_assert_str_eq(s.id[0], "whole");
	ck_assert_str_eq(s.id[1], "next");
	notif_sent_ids_close(r);
	seen_free(&s);
}
END_TEST

/* 1,000 ids with KEEP 10: what a restart loads stays between KEEP/2 and KEEP,
 * always the newest, and the files stay that small. */
START_TEST(rotation_bounds_the_record)
{
	char path[320], old[330], err[256], id[32];
	seen_t s = {0};
	notif_sent_ids_t *r;
	struct stat st;

	record_path(path, sizeof(path));
	r = open_ok(path, 10, &s);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "id-%04d", i);
		append_ok(r, id);
		if (i % 3 == 2)
			ck_assert_int_eq(notif_sent_ids_sync(r, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(notif_sent_ids_sync(r, err, sizeof(err)), 0);
	notif_sent_ids_close(r);
	r = open_ok(path, 10, &s);
	ck_assert_int_ge(s.total, 5);
	ck_assert_int_le(s.total, 10 + 2); /* a batch may pass KEEP/2 by its size - 1 */
	ck_assert_str_eq(s.id[s.n - 1], "id-0999");
	snprintf(old, sizeof(old), "%s.1", path);
	ck_assert_int_eq(stat(old, &st), 0);
	ck_assert_int_le(st.st_size, 8 * 7);
	notif_sent_ids_close(r);
	seen_free(&s);
}
END_TEST

START_TEST(second_process_is_locked_out)
{
	char path[320], err[256];
	seen_t s = {0};
	notif_sent_ids_t *r;
	pid_t pid;
	int st;

	record_path(path, sizeof(path));
	r = open_ok(path, 100, &s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* flock() locks belong to the open file: a new open in another
		 * process conflicts, as a second daemon's would. */
		notif_sent_ids_t *other =
		        notif_sent_ids_open(path, 100, collect, &s, err, sizeof(err));

		_exit(other == NULL && strstr(err, "in use by another process") ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	notif_sent_ids_close(r);
	/* Released on close: the next process gets it. */
	r = open_ok(path, 100, &s);
	notif_sent_ids_close(r);
	seen_free(&s);
}
END_TEST

START_TEST(unusable_directory_is_refused)
{
	char err[256];
	seen_t s = {0};

	ck_assert_ptr_null(notif_sent_ids_open("/proc/nope/deeper/sent-ids", 100, collect, &s, err,
	                                       sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/proc/nope/deeper"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sent_ids");
	TCase *tc = tcase_create("sent_ids");

	tcase_add_test(tc, ids_survive_a_reopen_in_order);
	tcase_add_loop_test(tc, odd_ids_round_trip, 0, sizeof(odd_ids) / sizeof(odd_ids[0]));
	tcase_add_test(tc, torn_last_line_is_dropped_and_cut);
	tcase_add_test(tc, rotation_bounds_the_record);
	tcase_add_test(tc, second_process_is_locked_out);
	tcase_add_test(tc, unusable_directory_is_refused);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
