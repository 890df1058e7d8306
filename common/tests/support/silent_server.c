/* A server that accepts and never answers; see silent_server.h. */
#include "silent_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ports.h"

#define MAX_HELD 256

struct ts_silent {
	int listen_fd;
	unsigned short port;
	pthread_t thread;
	atomic_bool stop;
	atomic_int accepted;
	int held[MAX_HELD];
};

static void *accept_loop(void *arg)
{
	ts_silent_t *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		int n = atomic_load(&s->accepted);

		if (n < MAX_HELD)
			s->held[n] = fd; /* held open, never read: the client waits */
		else
			close(fd);
		atomic_store(&s->accepted, n + 1);
	}
	return NULL;
}

ts_silent_t *ts_silent_start(void)
{
	ts_silent_t *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;

	ck_assert_ptr_nonnull(s);
	s->port = ts_free_port();
	a.sin_port = htons(s->port);
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->listen_fd, 0);
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->listen_fd, 64), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, accept_loop, s), 0);
	return s;
}

unsigned short ts_silent_port(const ts_silent_t *s)
{
	return s->port;
}

int ts_silent_accepted(const ts_silent_t *s)
{
	return atomic_load(&((ts_silent_t *)s)->accepted);
}

void ts_silent_stop(ts_silent_t *s)
{
	int n;

	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	n = atomic_load(&s->accepted);
	for (int i = 0; i < n && i < MAX_HELD; i++)
		close(s->held[i]);
	close(s->listen_fd);
	free(s);
}
