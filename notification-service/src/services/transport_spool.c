/*
 * The spool transport: each e-mail becomes <message-id>.eml in the spool
 * directory, written to a temporary file first and renamed into place, so a
 * reader (a pickup agent, a test) never sees half a message. With fsync on,
 * the file's data and the directory entry are on disk before send() returns,
 * which is when the consumer stores the event's offset.
 *
 * The file name is the Message-ID, so an event delivered twice (after a crash
 * between the rename and the offset commit) rewrites the same file: the spool
 * holds each e-mail once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "services/transport.h"

struct spool {
	transport_t base;
	char *dir;
	int dirfd;
	bool fsync;
	unsigned long seq; /* temporary names; send() runs on one thread */
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

static int spool_send(transport_t *t, const char *from, const char *to, const char *msgid,
                      const char *data, size_t len, char *err, size_t errsz)
{
	struct spool *s = (struct spool *)t;
	char tmp[64], name[300];
	int fd, e;

	(void)from;
	(void)to;
	/* The Message-ID is letters, digits, '-', '_', '.' and one '@' (mailer):
	 * no '/' and no leading dot, so it is a plain file name. */
	if (strchr(msgid, '/') != NULL || msgid[0] == '.' ||
	    (size_t)snprintf(name, sizeof(name), "%s.eml", msgid) >= sizeof(name)) {
		eda_errf(err, errsz, "message id not usable as a file name");
		return TRANSPORT_PERMANENT;
	}
	/* mkstemp() wants a path; names unique to this process and O_EXCL give
	 * the same guarantee relative to the directory descriptor. Temporary
	 * names start with '.', which pickup agents skip. */
	for (int attempt = 0;; attempt++) {
		snprintf(tmp, sizeof(tmp), ".tmp-%d-%lu", (int)getpid(), s->seq++);
		fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0 || errno != EEXIST || attempt > 100)
			break;
	}
	if (fd < 0) {
		eda_errf(err, errsz, "spool: create in %s: %s", s->dir, strerror(errno));
		return TRANSPORT_TRANSIENT;
	}
	if (write_all(fd, data, len) != 0 || (s->fsync && fsync(fd) != 0)) {
		e = errno;
		close(fd);
		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: write: %s", strerror(e));
		return TRANSPORT_TRANSIENT;
	}
	if (close(fd) != 0) {
		e = errno;
		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: close: %s", strerror(e));
		return TRANSPORT_TRANSIENT;
	}
	if (renameat(s->dirfd, tmp, s->dirfd, name) != 0) {
		e = errno;
		unlinkat(s->dirfd, tmp, 0);
		eda_errf(err, errsz, "spool: rename: %s", strerror(e));
		return TRANSPORT_TRANSIENT;
	}
	/* The rename is durable only once the directory itself is synced. */
	if (s->fsync && fsync(s->dirfd) != 0) {
		eda_errf(err, errsz, "spool: fsync directory: %s", strerror(errno));
		return TRANSPORT_TRANSIENT;
	}
	return TRANSPORT_OK;
}

static int spool_check(transport_t *t, char *err, size_t errsz)
{
	struct spool *s = (struct spool *)t;

	if (faccessat(s->dirfd, ".", W_OK, AT_EACCESS) != 0) {
		eda_errf(err, errsz, "spool directory not writable: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void spool_free(transport_t *t)
{
	struct spool *s = (struct spool *)t;

	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

transport_t *transport_spool_new(const char *dir, bool fsync, char *err, size_t errsz)
{
	struct spool *s;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		eda_errf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	s = eda_xcalloc(1, sizeof(*s));
	s->base = (transport_t){
	        .name = "spool", .send = spool_send, .check = spool_check, .free = spool_free};
	s->dir = eda_xstrdup(dir);
	s->fsync = fsync;
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
	return &s->base;
}
