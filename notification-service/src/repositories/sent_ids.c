/*
 * The durable sent-id record; see sent_ids.h. Why a file of its own and not
 * the offsets: the relay's 250 and the offset commit are two writes to two
 * systems, and a crash between them resends the e-mail. Recording the id
 * right after the 250 (one write(2), which survives the death of the process)
 * shrinks that window to the one e-mail in hand; the batch's fdatasync makes
 * the record survive a crash of the machine too, before the offsets of the
 * batch are stored.
 */
#include "repositories/sent_ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"

/* An envelope's id is at most 256 characters, up to 1,024 bytes of UTF-8;
 * encoded, each byte may take three. */
#define LINE_MAX_BYTES (3 * 1024 + 2)

struct notif_sent_ids {
	char *path, *old_path; /* PATH and PATH.1 */
	int fd;                /* PATH for appending; -1 after a failed rotation */
	int dirfd, lockfd;
	size_t keep, current; /* current: ids in PATH */
};

static const char hex[] = "0123456789ABCDEF";

/* ID as one line in OUT (OUTSZ bytes). Returns its length with the newline, or
 * 0 when it does not fit. */
static size_t encode(const char *id, char *out, size_t outsz)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if (n + 4 > outsz)
			return 0;
		if (*p > ' ' && *p <= '~' && *p != '%') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n++] = '\n';
	return n;
}

static int hexval(char c)
{
	const char *p = c ? strchr(hex, c) : NULL;

	return p ? (int)(p - hex) : -1;
}

/* Decodes LINE in place. Returns 0, or -1 for a line this file never holds
 * (a stray byte, a bad escape, an encoded NUL, nothing at all). */
static int decode(char *line)
{
	char *w = line;

	for (const char *p = line; *p; p++) {
		if (*p != '%') {
			if ((unsigned char)*p <= ' ' || (unsigned char)*p > '~')
				return -1;
			*w++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*w = '\0';
	return w == line ? -1 : 0;
}

/* Reads PATH (a missing file is empty): EACH for every valid complete line,
 * *COUNT of them, *END the offset after the last complete line. */
static int load(const char *path, notif_sent_ids_each_fn each, void *ctx, size_t *count, off_t *end,
                char *err, size_t errsz)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	*count = 0;
	*end = 0;
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		eda_errf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		/* A line without its newline is the last write of a process that
		 * died in it (or of a full disk): not an id. */
		if (line[n - 1] != '\n')
			break;
		*end += n;
		line[n - 1] = '\0';
		if (decode(line) == 0) {
			each(line, ctx);
			(*count)++;
		}
	}
	if (ferror(f)) {
		eda_errf(err, errsz, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

static int open_current(notif_sent_ids_t *r, int flags, char *err, size_t errsz)
{
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0640);
	if (r->fd < 0) {
		eda_errf(err, errsz, "%s: %s", r->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes the names of PATH and PATH.1 durable: a file created or renamed is
 * not found after a crash of the machine until its directory is synced. */
static int sync_dir(notif_sent_ids_t *r, char *err, size_t errsz)
{
	if (fsync(r->dirfd) != 0) {
		eda_errf(err, errsz, "%s: directory fsync: %s", r->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_dir(notif_sent_ids_t *r, char *err, size_t errsz)
{
	const char *slash = strrchr(r->path, '/');
	/* The folder of the file: ".", "/", or the path up to its last slash. */
	char *dir = slash == NULL ? eda_xstrdup(".")
	                          : eda_xstrndup(r->path,
	                                         slash == r->path ? 1 : (size_t)(slash - r->path));
	int rc = 0;

	if ((mkdir(dir, 0750) != 0 && errno != EEXIST) ||
	    (r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		eda_errf(err, errsz, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
	free(dir);
	return rc;
}

static int take_lock(notif_sent_ids_t *r, char *err, size_t errsz)
{
	char *lock = eda_xasprintf("%s.lock", r->path);
	int rc = 0;

	r->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (r->lockfd < 0) {
		eda_errf(err, errsz, "%s: %s", lock, strerror(errno));
		rc = -1;
	} else if (flock(r->lockfd, LOCK_EX | LOCK_NB) != 0) {
		/* Two processes appending and rotating one file would lose ids. */
		eda_errf(err, errsz, "%s: %s", lock,
		         errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
		rc = -1;
	}
	free(lock);
	return rc;
}

notif_sent_ids_t *notif_sent_ids_open(const char *path, size_t keep, notif_sent_ids_each_fn each,
                                      void *ctx, char *err, size_t errsz)
{
	notif_sent_ids_t *r = eda_xcalloc(1, sizeof(*r));
	size_t old_count;
	off_t end, ignored;

	r->fd = r->dirfd = r->lockfd = -1;
	r->path = eda_xstrdup(path);
	r->old_path = eda_xasprintf("%s.1", path);
	r->keep = keep < 2 ? 2 : keep;
	if (open_dir(r, err, errsz) != 0 || take_lock(r, err, errsz) != 0)
		goto fail;
	/* Oldest first, so that a bounded window fed by EACH evicts the oldest. */
	if (load(r->old_path, each, ctx, &old_count, &ignored, err, errsz) != 0 ||
	    load(r->path, each, ctx, &r->current, &end, err, errsz) != 0)
		goto fail;
	if (open_current(r, 0, err, errsz) != 0)
		goto fail;
	/* Appending after a torn line would glue the next id to it. */
	if (ftruncate(r->fd, end) != 0) {
		eda_errf(err, errsz, "%s: truncate: %s", path, strerror(errno));
		goto fail;
	}
	if (sync_dir(r, err, errsz) != 0)
		goto fail;
	return r;
fail:
	notif_sent_ids_close(r);
	return NULL;
}

void notif_sent_ids_close(notif_sent_ids_t *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	if (r->lockfd >= 0)
		close(r->lockfd); /* releases the lock */
	free(r->path);
	free(r->old_path);
	free(r);
}

int notif_sent_ids_append(notif_sent_ids_t *r, const char *id, char *err, size_t errsz)
{
	char line[LINE_MAX_BYTES];
	size_t n = encode(id, line, sizeof(line));

	if (n <= 1) {
		eda_errf(err, errsz, "event id empty or too long to record");
		return -1;
	}
	if (r->fd < 0 && open_current(r, 0, err, errsz) != 0)
		return -1;
	/* One write of a whole line: the kernel has it once write() returns, so
	 * the death of the process cannot lose it. A short write (disk full)
	 * leaves a partial line that the next one extends into one wrong id and
	 * one missing id: that e-mail may be sent again, nothing worse. */
	errno = 0;
	if (write(r->fd, line, n) != (ssize_t)n) {
		eda_errf(err, errsz, "%s: write: %s", r->path,
		         errno ? strerror(errno) : "short write");
		return -1;
	}
	r->current++;
	return 0;
}

/* PATH (synced) becomes PATH.1, dropping the older half, and a new empty PATH
 * is started. A crash in between leaves PATH.1 with every id and PATH missing
 * or empty, which notif_sent_ids_open() reads as it should. */
static int rotate(notif_sent_ids_t *r, char *err, size_t errsz)
{
	if (rename(r->path, r->old_path) != 0) {
		eda_errf(err, errsz, "%s: rename: %s", r->path, strerror(errno));
		return -1; /* nothing changed: the next sync tries again */
	}
	close(r->fd);
	r->current = 0;
	if (open_current(r, O_TRUNC, err, errsz) != 0)
		return -1; /* the next append opens it again */
	return sync_dir(r, err, errsz);
}

int notif_sent_ids_sync(notif_sent_ids_t *r, char *err, size_t errsz)
{
	if (r->fd < 0 && open_current(r, 0, err, errsz) != 0)
		return -1;
	if (fdatasync(r->fd) != 0) {
		eda_errf(err, errsz, "%s: fdatasync: %s", r->path, strerror(errno));
		return -1;
	}
	return r->current >= r->keep / 2 ? rotate(r, err, errsz) : 0;
}

size_t notif_sent_ids_current(const notif_sent_ids_t *r)
{
	return r->current;
}
