/*
 * The spool transport: each e-mail becomes <message-id>.eml in the spool
 * directory, written to a temporary file first and renamed into place, so a
 * reader (a pickup agent, a test) never sees half a message.
 *
 * With fsync on, durability is batched (group commit): send() writes the
 * temporary file, starts its write-back, keeps it open and answers PENDING;
 * flush() makes each file of the batch durable with fdatasync(2) on the
 * descriptor that wrote it, renames them into place and fsyncs the directory
 * once. The consumer stores the events' offsets only after flush() returned
 * OK. A file is renamed only once its data is on disk, so a visible .eml is
 * always complete, also after a power cut. Syncing through the writing
 * descriptor is what makes a write-back error certain to be seen: Linux
 * reports one to a descriptor opened later only if the inode stayed cached.
 * Past OPEN_FILES_MAX files in a batch, send() syncs and closes at once.
 *
 * Not syncfs(2), one per batch, which is about as cheap for the spool alone:
 * it also writes out every dirty page of the file system and waits for them,
 * and on a volume shared with PostgreSQL and Kafka (the local stack, any
 * single-disk host) that made the spool's own tail 10 times longer and
 * slowed their commits (figures in README.md, "Benchmark").
 *
 * The file name is the Message-ID, so an event delivered twice (after a crash
 * between the rename and the offset commit, or a failed flush) rewrites the
 * same file: the spool holds each e-mail once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "services/transport.h"

struct staged {
	char tmp[64];
	char name[300];
	int fd; /* open until flush() syncs it; -1 once synced */
};

/* Files of a batch kept open for flush(): the default MAIL_SPOOL_BATCH_MAX,
 * well under the usual limit of 1,024 descriptors. */
#define OPEN_FILES_MAX 256

struct spool {
	notif_transport_t base;
	char *dir;
	int dirfd;
	bool fsync;
	int pid;              /* getpid() is a system call each time */
	unsigned long seq;    /* temporary names; send() runs on one thread */
	struct staged *batch; /* written, neither durable nor visible yet */
	size_t n, cap;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Removes the batch's temporary files from FROM on (the ones not renamed),
 * closing those still open. */
static void drop_batch(struct spool *s, size_t from)
{
	for (size_t i = from; i < s->n; i++) {
		if (s->batch[i].fd >= 0)
			close(s->batch[i].fd);
		unlinkat(s->dirfd, s->batch[i].tmp, 0);
	}
	s->n = 0;
}

/* fdatasync() and close() of FD; -1 with errno if either failed (FD is
 * closed either way). */
static int sync_close(int fd)
{
	int rc = fdatasync(fd);
	int e = errno;

	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	errno = e;
	return rc;
}

/* Writes DATA to a new temporary file, named in TMP. With KEEP, the file
 * stays open and *KEEP is its descriptor; without, it is closed. Returns 0, or
 * -1 with ERR (nothing left behind). */
static int write_temp(struct spool *s, const char *data, size_t len, char tmp[static 64], int *keep,
                      char *err, size_t errsz)
{
	int fd, e;

	/* mkstemp() wants a path; names unique to this process and O_EXCL give
	 * the same guarantee relative to the directory descriptor. Temporary
	 * names start with '.', which pickup agents skip. */
	for (int attempt = 0;; attempt++) {
		snprintf(tmp, 64, ".tmp-%d-%lu", s->pid, s->seq++);
		fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0 || errno != EEXIST || attempt > 100)
			break;
	}
	if (fd < 0) {
		eda_errf(err, errsz, "spool: create in %s: %s", s->dir, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) != 0) {
		e = errno;
		close(fd);
		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: write: %s", strerror(e));
		return -1;
	}
	/* Start writing the data now, while the next e-mails are built, so that
	 * the flush finds most of it written (it halved the flush in the
	 * benchmark). Advisory: a failure only loses the head start, and the
	 * flush reports write errors. */
	if (s->fsync)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (keep != NULL) {
		*keep = fd;
		return 0;
	}
	if (close(fd) != 0) {
		e = errno;
		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: close: %s", strerror(e));
		return -1;
	}
	return 0;
}

static int spool_send(notif_transport_t *t, const char *from, const char *to, const char *msgid,
                      const char *data, size_t len, char *err, size_t errsz)
{
	struct spool *s = (struct spool *)t;
	char tmp[64], name[300];

	(void)from;
	(void)to;
	/* The Message-ID is letters, digits, '-', '_', '.' and one '@' (mailer):
	 * no '/' and no leading dot, so it is a plain file name. */
	if (strchr(msgid, '/') != NULL || msgid[0] == '.' ||
	    (size_t)snprintf(name, sizeof(name), "%s.eml", msgid) >= sizeof(name)) {
		eda_errf(err, errsz, "message id not usable as a file name");
		return NOTIF_TRANSPORT_PERMANENT;
	}
	if (s->fsync) {
		int fd;

		if (write_temp(s, data, len, tmp, &fd, err, errsz) != 0)
			return NOTIF_TRANSPORT_TRANSIENT;
		if (s->n >= OPEN_FILES_MAX) {
			if (sync_close(fd) != 0) {
				eda_errf(err, errsz, "spool: fdatasync: %s", strerror(errno));
				unlinkat(s->dirfd, tmp, 0);
				return NOTIF_TRANSPORT_TRANSIENT;
			}
			fd = -1;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->batch = eda_xrealloc(s->batch, s->cap * sizeof(*s->batch));
		}
		memcpy(s->batch[s->n].tmp, tmp, sizeof(tmp));
		memcpy(s->batch[s->n].name, name, sizeof(name));
		s->batch[s->n].fd = fd;
		s->n++;
		return NOTIF_TRANSPORT_PENDING;
	}
	if (write_temp(s, data, len, tmp, NULL, err, errsz) != 0)
		return NOTIF_TRANSPORT_TRANSIENT;
	if (renameat(s->dirfd, tmp, s->dirfd, name) != 0) {
		int e = errno;

		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: rename: %s", strerror(e));
		return NOTIF_TRANSPORT_TRANSIENT;
	}
	return NOTIF_TRANSPORT_OK;
}

static int spool_flush(notif_transport_t *t, char *err, size_t errsz)
{
	struct spool *s = (struct spool *)t;

	if (s->n == 0)
		return NOTIF_TRANSPORT_OK;
	for (size_t i = 0; i < s->n; i++) {
		int fd = s->batch[i].fd;

		if (fd < 0)
			continue;
		s->batch[i].fd = -1;
		if (sync_close(fd) != 0) {
			eda_errf(err, errsz, "spool: fdatasync: %s", strerror(errno));
			drop_batch(s, 0);
			return NOTIF_TRANSPORT_TRANSIENT;
		}
	}
	/* In send order: a Message-ID twice in one batch ends as its last copy. */
	for (size_t i = 0; i < s->n; i++) {
		if (renameat(s->dirfd, s->batch[i].tmp, s->dirfd, s->batch[i].name) != 0) {
			eda_errf(err, errsz, "spool: rename: %s", strerror(errno));
			drop_batch(s, i);
			return NOTIF_TRANSPORT_TRANSIENT;
		}
	}
	s->n = 0;
	/* The renames are durable only once the directory itself is synced. */
	if (fsync(s->dirfd) != 0) {
		eda_errf(err, errsz, "spool: fsync directory: %s", strerror(errno));
		return NOTIF_TRANSPORT_TRANSIENT;
	}
	return NOTIF_TRANSPORT_OK;
}

static int spool_check(notif_transport_t *t, char *err, size_t errsz)
{
	struct spool *s = (struct spool *)t;

	if (faccessat(s->dirfd, ".", W_OK, AT_EACCESS) != 0) {
		eda_errf(err, errsz, "spool directory not writable: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void spool_free(notif_transport_t *t)
{
	struct spool *s = (struct spool *)t;

	/* An unflushed batch was never reported durable: its events come back. */
	drop_batch(s, 0);
	free(s->batch);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

/* A crash between writing a batch and its flush leaves its temporary files
 * behind (their events come again and are written anew). They are removed at
 * start once older than STALE_TMP_S: a live replica sharing the directory
 * flushes within its batch_max_ms, far sooner. */
#define STALE_TMP_S 60

static void remove_stale_temps(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	time_t now = time(NULL);

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (strncmp(e->d_name, ".tmp-", 5) == 0 &&
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TMP_S)
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}

notif_transport_t *notif_transport_spool_new(const char *dir, bool fsync, char *err, size_t errsz)
{
	struct spool *s;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		eda_errf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	s = eda_xcalloc(1, sizeof(*s));
	s->base = (notif_transport_t){.name = "spool",
	                              .send = spool_send,
	                              .flush = spool_flush,
	                              .check = spool_check,
	                              .free = spool_free};
	s->dir = eda_xstrdup(dir);
	s->fsync = fsync;
	s->pid = (int)getpid();
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		eda_errf(err, errsz, "cannot open %s: %s", dir, strerror(errno));
		spool_free(&s->base);
		return NULL;
	}
	if (spool_check(&s->base, err, errsz) != 0) {
		spool_free(&s->base);
		return NULL;
	}
	remove_stale_temps(s->dirfd);
	return &s->base;
}
