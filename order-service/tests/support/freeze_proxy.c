/*
 * The freezable TCP proxy (see freeze_proxy.h): one thread polls the
 * listener, every connection pair and a control pipe; frozen, it polls the
 * pipe alone.
 */
#include "support/freeze_proxy.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64

struct pair {
	int client, upstream;
};

struct ost_proxy {
	int listener, ctl[2];
	unsigned short port;
	struct sockaddr_in upstream;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool frozen, stopping;
	unsigned long generation, seen; /* control requests made / taken notice of */
	struct pair pairs[MAX_PAIRS];
	int npairs;
};

static void close_pair(ost_proxy_t *p, int i)
{
	close(p->pairs[i].client);
	close(p->pairs[i].upstream);
	p->pairs[i] = p->pairs[--p->npairs];
}

static void accept_one(ost_proxy_t *p)
{
	int c = accept(p->listener, NULL, NULL), u;

	if (c < 0)
		return;
	u = socket(AF_INET, SOCK_STREAM, 0);
	if (p->npairs == MAX_PAIRS || u < 0 ||
	    connect(u, (struct sockaddr *)&p->upstream, sizeof(p->upstream)) != 0) {
		close(c);
		if (u >= 0)
			close(u);
		return;
	}
	p->pairs[p->npairs++] = (struct pair){c, u};
}

/* Copies what FROM has to TO; false when the pair is finished. */
static bool forward(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

static void *run(void *arg)
{
	ost_proxy_t *p = arg;
	struct pollfd pfd[2 + 2 * MAX_PAIRS];

	for (;;) {
		bool frozen;
		int n = 1;

		pthread_mutex_lock(&p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		frozen = p->frozen;
		p->seen = p->generation;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pfd[0] = (struct pollfd){.fd = p->ctl[0], .events = POLLIN};
		if (!frozen) {
			pfd[n++] = (struct pollfd){.fd = p->listener, .events = POLLIN};
			for (int i = 0; i < p->npairs; i++) {
				pfd[n++] =
				        (struct pollfd){.fd = p->pairs[i].client, .events = POLLIN};
				pfd[n++] = (struct pollfd){.fd = p->pairs[i].upstream,
				                           .events = POLLIN};
			}
		}
		if (poll(pfd, (nfds_t)n, -1) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			char b[64];

			(void)!read(p->ctl[0], b, sizeof(b));
			continue; /* the state may have changed: look again */
		}
		/* Pairs first, from the end, so that closing one (which moves the
		 * last into its place) leaves the indexes still to visit intact. */
		for (int i = p->npairs - 1; i >= 0; i--) {
			short cr = pfd[2 + 2 * i].revents, ur = pfd[3 + 2 * i].revents;

			if ((cr && !forward(p->pairs[i].client, p->pairs[i].upstream)) ||
			    (ur && !forward(p->pairs[i].upstream, p->pairs[i].client)))
				close_pair(p, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_one(p);
	}
	while (p->npairs > 0)
		close_pair(p, 0);
	return NULL;
}

ost_proxy_t *ost_proxy_start(const char *host, unsigned short port)
{
	ost_proxy_t *p = calloc(1, sizeof(*p));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	ck_assert_ptr_nonnull(p);
	p->upstream = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
	ck_assert_int_eq(inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
	                           &p->upstream.sin_addr),
	                 1);
	p->listener = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(p->listener, 0);
	ck_assert_int_eq(bind(p->listener, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(p->listener, 64), 0);
	ck_assert_int_eq(getsockname(p->listener, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	ck_assert_int_eq(pipe(p->ctl), 0);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, run, p), 0);
	return p;
}

unsigned short ost_proxy_port(const ost_proxy_t *p)
{
	return p->port;
}

/* Sets the state under the lock and waits until the thread has seen it. */
static void control(ost_proxy_t *p, bool frozen, bool stopping)
{
	unsigned long want;

	pthread_mutex_lock(&p->lock);
	p->frozen = frozen;
	p->stopping = stopping;
	want = ++p->generation;
	pthread_mutex_unlock(&p->lock);
	ck_assert_int_eq(write(p->ctl[1], "x", 1), 1);
	if (stopping)
		return;
	pthread_mutex_lock(&p->lock);
	while (p->seen < want)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void ost_proxy_freeze(ost_proxy_t *p, bool frozen)
{
	control(p, frozen, false);
}

void ost_proxy_stop(ost_proxy_t *p)
{
	control(p, false, true);
	pthread_join(p->thread, NULL);
	close(p->listener);
	close(p->ctl[0]);
	close(p->ctl[1]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* Where the "[user@]host:port" part of URL starts and ends. */
static void authority(const char *url, const char **host, const char **end)
{
	const char *s = strstr(url, "://"), *at;

	ck_assert_msg(s != NULL, "not a URL: %s", url);
	s += 3;
	*end = s + strcspn(s, "/?");
	at = memchr(s, '@', (size_t)(*end - s));
	*host = at != NULL ? at + 1 : s;
}

void ost_url_host_port(const char *url, char *host, size_t hostsz, unsigned short *port)
{
	const char *h, *end, *colon;

	authority(url, &h, &end);
	colon = memchr(h, ':', (size_t)(end - h));
	snprintf(host, hostsz, "%.*s", (int)((colon != NULL ? colon : end) - h), h);
	*port = colon != NULL ? (unsigned short)atoi(colon + 1) : 5432;
}

void ost_proxy_url(const ost_proxy_t *p, const char *url, char *out, size_t outsz)
{
	const char *h, *end;

	authority(url, &h, &end);
	snprintf(out, outsz, "%.*s127.0.0.1:%u%s", (int)(h - url), url, (unsigned)p->port, end);
}
