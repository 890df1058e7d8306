/*
 * The long-poll waiters (see order_waiters.h). Waiters sit in one list under
 * one lock; the thread sleeps in poll() on an eventfd (in-process wake-ups)
 * and on the LISTEN connection's socket, with a timeout of the nearest
 * deadline. The list is short in practice (one entry per open long-poll), so
 * a linear scan beats a heap in simplicity at no measurable cost.
 */
#include "routers/order_waiters.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/log.h"
#include "models/order.h"
#include "repositories/notify.h"
#include "schemas/order.h"
#include "services/orders.h"

struct waiter {
	struct waiter *next;
	eda_http_req_t *req;
	char order_id[OS_UUID_LEN + 1];
	int64_t deadline_ms;
	bool woken;
};

/* The LISTEN session is opened on the waiters' own thread, which also
 * answers deadlines: its connect gets at most this, and a server that does
 * not answer is tried again less and less often, so that a hung database
 * delays the answers by at most this much, once in a while. */
#define LISTEN_CONNECT_MS   1000
#define LISTEN_RETRY_MAX_MS 30000

struct os_waiters {
	os_service_t *svc;
	int db_timeout_ms;
	char *listen_url;
	PGconn *listen;
	int64_t next_listen_try;
	int listen_retry_ms;
	int efd;
	pthread_t thread;
	pthread_mutex_t lock;
	struct waiter *head;
	size_t count;
	bool stopping;
};

static void kick(os_waiters_t *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		eda_logf(EDA_LOG_WARN, "waiters: cannot signal: %s", strerror(errno));
}

/* Answers X with its order as it is now. With TRY false (the database
 * already failed in this round) it answers 503 without asking again: one
 * thread answers every waiter, and each read of a hung database costs up to
 * its timeout, which would add up over a queue of waiters. Returns whether
 * the database answered. */
static bool answer(os_waiters_t *w, struct waiter *x, bool try)
{
	char detail[256];
	os_order_t o;
	int rc = OS_EUNAVAILABLE;

	if (try)
		rc = os_orders_read(w->svc, x->order_id, &o, detail, sizeof(detail));
	if (rc == OS_OK) {
		eda_http_reply_json(x->req, 200, os_order_to_json(&o));
		os_order_clear(&o);
	} else if (rc == OS_ENOTFOUND) {
		eda_http_reply_problem(x->req, 404, NULL, "order not found", NULL);
	} else {
		if (!try)
			eda_log(EDA_LOG_ERROR, "long-poll: cannot read order", "order_id",
			        x->order_id, "error",
			        "not tried: the database failed for an earlier waiter", NULL);
		eda_http_reply_header(x->req, "Retry-After", "1");
		eda_http_reply_problem(x->req, 503, NULL, "the order database is unavailable",
		                       NULL);
	}
	free(x);
	return rc != OS_EUNAVAILABLE;
}

/* Opens the LISTEN session if it is missing, at most once a second. */
static void ensure_listen(os_waiters_t *w)
{
	char err[256];

	if (w->listen_url == NULL || w->listen != NULL || eda_clock_mono_ms() < w->next_listen_try)
		return;
	w->listen = os_notify_listen(w->listen_url, OS_CHANNEL_STATUS,
	                             w->db_timeout_ms < LISTEN_CONNECT_MS ? w->db_timeout_ms
	                                                                  : LISTEN_CONNECT_MS,
	                             err, sizeof(err));
	if (w->listen != NULL) {
		w->listen_retry_ms = 1000;
		return;
	}
	eda_log(EDA_LOG_WARN, "long-poll: cannot LISTEN", "error", err, NULL);
	w->next_listen_try = eda_clock_mono_ms() + w->listen_retry_ms;
	if (w->listen_retry_ms < LISTEN_RETRY_MAX_MS)
		w->listen_retry_ms *= 2;
}

static void wake_notified(const char *order_id, void *ctx)
{
	os_waiters_wake(ctx, order_id);
}

static void drain_notifies(os_waiters_t *w)
{
	if (os_notify_drain(w->listen, wake_notified, w) != 0) {
		PQfinish(w->listen);
		w->listen = NULL;
	}
}

static void *run(void *arg)
{
	os_waiters_t *w = arg;

	for (;;) {
		struct waiter *due = NULL, **pp;
		int64_t now = eda_clock_mono_ms(), next = now + 1000;
		struct pollfd pfd[2];
		int nfd = 1;

		pthread_mutex_lock(&w->lock);
		if (w->stopping) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		for (pp = &w->head; *pp != NULL;) {
			struct waiter *x = *pp;

			if (x->woken || x->deadline_ms <= now) {
				*pp = x->next;
				x->next = due;
				due = x;
				w->count--;
			} else {
				if (x->deadline_ms < next)
					next = x->deadline_ms;
				pp = &x->next;
			}
		}
		pthread_mutex_unlock(&w->lock);
		for (bool db_ok = true; due != NULL;) {
			struct waiter *x = due;

			due = x->next;
			db_ok = answer(w, x, db_ok);
		}
		ensure_listen(w);
		pfd[0] = (struct pollfd){.fd = w->efd, .events = POLLIN};
		if (w->listen != NULL) {
			pfd[1] = (struct pollfd){.fd = PQsocket(w->listen), .events = POLLIN};
			nfd = 2;
		}
		if (poll(pfd, (nfds_t)nfd, (int)(next > now ? next - now : 0)) > 0) {
			uint64_t v;

			if (pfd[0].revents & POLLIN)
				(void)!read(w->efd, &v, sizeof(v));
			if (nfd == 2 && pfd[1].revents != 0)
				drain_notifies(w);
		}
	}
	return NULL;
}

os_waiters_t *os_waiters_start(os_service_t *svc, int db_timeout_ms, const char *listen_url,
                               char *err, size_t errsz)
{
	os_waiters_t *w = eda_xcalloc(1, sizeof(*w));

	w->svc = svc;
	w->db_timeout_ms = db_timeout_ms;
	w->listen_retry_ms = 1000;
	w->listen_url = listen_url != NULL ? eda_xstrdup(listen_url) : NULL;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&w->lock, NULL);
	if (w->efd < 0 || pthread_create(&w->thread, NULL, run, w) != 0) {
		snprintf(err, errsz, "cannot start the long-poll thread");
		if (w->efd >= 0)
			close(w->efd);
		pthread_mutex_destroy(&w->lock);
		free(w->listen_url);
		free(w);
		return NULL;
	}
	return w;
}

void os_waiters_add(os_waiters_t *w, eda_http_req_t *r, const char *order_id, int wait_s)
{
	struct waiter *x = eda_xcalloc(1, sizeof(*x));

	x->req = r;
	snprintf(x->order_id, sizeof(x->order_id), "%s", order_id);
	x->deadline_ms = eda_clock_mono_ms() + (int64_t)wait_s * 1000;
	pthread_mutex_lock(&w->lock);
	x->next = w->head;
	w->head = x;
	w->count++;
	pthread_mutex_unlock(&w->lock);
	kick(w); /* the thread may be sleeping past this deadline */
}

void os_waiters_wake(os_waiters_t *w, const char *order_id)
{
	bool any = false;

	pthread_mutex_lock(&w->lock);
	for (struct waiter *x = w->head; x != NULL; x = x->next) {
		if (strcmp(x->order_id, order_id) == 0) {
			x->woken = true;
			any = true;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (any)
		kick(w);
}

size_t os_waiters_count(os_waiters_t *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->count;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void os_waiters_stop(os_waiters_t *w)
{
	struct waiter *x;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_mutex_unlock(&w->lock);
	kick(w);
	pthread_join(w->thread, NULL);
	while ((x = w->head) != NULL) {
		w->head = x->next;
		eda_http_reply_problem(x->req, 503, NULL, "the service is shutting down", NULL);
		free(x);
	}
	if (w->listen != NULL)
		PQfinish(w->listen);
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	free(w->listen_url);
	free(w);
}
