/* Order events -> reservation service, in batches; see consumers.h. */
#include "events/consumers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/event_bus.h"
#include "eda/log.h"
#include "services/reservation.h"

/* A staged message: its raw value, parsed again at the flush (the event the
 * dispatcher hands over lives only until the handler returns). */
typedef struct staged_msg {
	char *value;
	size_t len;
} staged_msg_t;

struct inv_order_batch {
	const inv_ctx_t *ctx;
	staged_msg_t *msg;
	size_t n, cap;
};

inv_order_batch_t *inv_order_batch_new(const inv_ctx_t *ctx)
{
	inv_order_batch_t *b = eda_xcalloc(1, sizeof(*b));

	b->ctx = ctx;
	return b;
}

static void batch_drop(inv_order_batch_t *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->msg[i].value);
	b->n = 0;
}

void inv_order_batch_free(inv_order_batch_t *b)
{
	if (b == NULL)
		return;
	batch_drop(b);
	free(b->msg);
	free(b);
}

/* Keeps M's value for the flush. */
static eda_handler_result_t stage(inv_order_batch_t *b, const eda_consumed_t *m)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->msg = eda_xrealloc(b->msg, b->cap * sizeof(*b->msg));
	}
	b->msg[b->n].value = eda_xmalloc(m->len + 1);
	memcpy(b->msg[b->n].value, m->value, m->len);
	b->msg[b->n].value[m->len] = '\0';
	b->msg[b->n].len = m->len;
	b->n++;
	return EDA_HANDLER_PENDING;
}

static eda_handler_result_t on_placed(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	(void)ev;
	return stage(ctx, m);
}

/* A cancel is staged too, so that it is applied after the orders staged
 * before it (its own order's placement among them) and never before. */
static eda_handler_result_t on_cancelled(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	(void)ev;
	return stage(ctx, m);
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_ORDER_PLACED, on_placed},
        {EDA_EVENT_ORDER_CANCELLED, on_cancelled},
};

eda_handler_result_t inv_on_order_message(eda_consumed_t *m, void *ctx)
{
	eda_handler_result_t r =
	        eda_event_dispatch(m, routes, sizeof(routes) / sizeof(routes[0]), ctx);

	if (r == EDA_HANDLER_DEAD)
		eda_log(EDA_LOG_WARN, "message sent to the DLQ", "why", m->reason, NULL);
	return r;
}

/* Handles the staged events of B, parsed into EVS: runs of
 * OrderPlaced together, each OrderCancelled on its own, in staging order. */
static int run(inv_order_batch_t *b, eda_event_t **evs, char *err, size_t errsz)
{
	size_t i = 0;

	while (i < b->n) {
		size_t j = i;

		if (strcmp(evs[i]->type, EDA_EVENT_ORDER_CANCELLED) == 0) {
			if (inv_release_order(b->ctx, evs[i], err, errsz) < 0)
				return -1;
			i++;
			continue;
		}
		while (j < b->n && strcmp(evs[j]->type, EDA_EVENT_ORDER_CANCELLED) != 0)
			j++;
		if (inv_reserve_orders(b->ctx, (const eda_event_t *const *)&evs[i], j - i, err,
		                       errsz) < 0)
			return -1;
		i = j;
	}
	return 0;
}

int inv_order_batch_flush(void *ctx, char *reason, size_t reasonsz)
{
	inv_order_batch_t *b = ctx;
	eda_event_t **evs = eda_xcalloc(b->n + 1, sizeof(*evs));
	char err[256] = "";
	int rc = -1;

	for (size_t i = 0; i < b->n; i++) {
		/* The dispatcher validated these already: a failure here is a
		 * bug, reported as a failed flush rather than lost. */
		if (eda_event_parse(b->msg[i].value, b->msg[i].len, &evs[i], err, sizeof(err)) != 0)
			goto out;
	}
	/* One flush at a time in the process (ctx->flush_lock): the batches of
	 * the process's consumers start from the same head hints, so two flushing
	 * at once would chain on the same versions of the SKUs they share and
	 * refuse each other's entries (safely, but every order past a refusal then
	 * goes the slow way). The store is the bottleneck, so running them one
	 * after the other costs little; the other consumers go on polling and
	 * staging meanwhile. */
	if (b->ctx->flush_lock != NULL)
		pthread_mutex_lock(b->ctx->flush_lock);
	rc = run(b, evs, err, sizeof(err));
	if (b->ctx->flush_lock != NULL)
		pthread_mutex_unlock(b->ctx->flush_lock);
out:
	if (rc != 0) {
		snprintf(reason, reasonsz, "%s", err);
		eda_log(EDA_LOG_WARN, "batch not durable, will retry", "why", err, NULL);
	}
	for (size_t i = 0; i < b->n; i++)
		eda_event_free(evs[i]);
	free(evs);
	/* Durable or not, the batch is dropped: on a failure the consumer hands
	 * every message back, and handling one again is harmless. */
	batch_drop(b);
	return rc;
}
