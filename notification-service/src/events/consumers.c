/*
 * Order events -> notifier; see consumers.h. The mapping of the notifier's
 * verdicts to the consumer's is where the delivery guarantee is decided:
 * SENT and DUPLICATE store the offset, PENDING stores it once the consumer's
 * flush (notif_notifier_flush, one fsync pass for a batch of spool files) returned
 * 0, RETRY keeps it (the common consumer backs off and hands the same event
 * back, later events of the partition waiting behind it), DEAD forwards to
 * dlq.<group> and goes on.
 */
#include "events/consumers.h"

#include <stdbool.h>
#include <stdlib.h>

#include "eda/alloc.h"
#include "eda/event_bus.h"

struct notif_consumer {
	eda_consumer_t *consumer;
	notif_notifier_t *notifier;
	bool reached; /* the current message got to the notifier */
	bool started;
};

static eda_handler_result_t on_order_event(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	notif_consumer_t *c = ctx;

	c->reached = true;
	switch (notif_notifier_handle(c->notifier, ev, m->reason, sizeof(m->reason))) {
	case NOTIF_NOTIFY_SENT:
	case NOTIF_NOTIFY_DUPLICATE:
		return EDA_HANDLER_DONE;
	case NOTIF_NOTIFY_PENDING:
		return EDA_HANDLER_PENDING;
	case NOTIF_NOTIFY_RETRY:
		return EDA_HANDLER_RETRY;
	default:
		return EDA_HANDLER_DEAD;
	}
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_ORDER_PLACED, on_order_event},
        {EDA_EVENT_ORDER_CONFIRMED, on_order_event},
        {EDA_EVENT_ORDER_REJECTED, on_order_event},
        {EDA_EVENT_ORDER_CANCELLED, on_order_event},
};

static eda_handler_result_t handle(eda_consumed_t *m, void *ctx)
{
	notif_consumer_t *c = ctx;
	eda_handler_result_t r;

	c->reached = false;
	r = eda_event_dispatch(m, routes, sizeof(routes) / sizeof(routes[0]), c);
	/* The dispatcher refused it: not an envelope, or data against the contract
	 * (an event without customer.email lands here). */
	if (r == EDA_HANDLER_DEAD && !c->reached)
		notif_notifier_count_invalid(c->notifier);
	return r;
}

static int flush(void *ctx, char *reason, size_t reasonsz)
{
	notif_consumer_t *c = ctx;

	return notif_notifier_flush(c->notifier, reason, reasonsz);
}

notif_consumer_t *notif_consumer_new(rd_kafka_conf_t *conf, const notif_consumer_config_t *cfg,
                                     notif_notifier_t *notifier, char *err, size_t errsz)
{
	notif_consumer_t *c = eda_xcalloc(1, sizeof(*c));
	const char *topics[] = {cfg->topic, NULL};
	eda_consumer_config_t cc = {
	        .group = cfg->group,
	        .instance_id = cfg->instance_id,
	        .topics = topics,
	        .handler = handle,
	        .ctx = c,
	        .dlq_producer = cfg->dlq_producer,
	        .metrics = cfg->metrics,
	        .retry_initial_ms = cfg->retry_initial_ms,
	        .retry_max_ms = cfg->retry_max_ms,
	        .flush = flush,
	        .batch_max = cfg->batch_max,
	        .batch_max_ms = cfg->batch_max_ms,
	        /* An e-mail sent again is one the customer sees twice: commit
	         * each durable batch at once, not on the 5 s auto commit, so a
	         * kill redelivers only the batch in flight (and the sent-id
	         * record keeps even those from being mailed again). */
	        .commit_on_flush = cfg->commit_on_flush,
	};

	c->notifier = notifier;
	c->consumer = eda_consumer_new(conf, &cc, err, errsz);
	if (c->consumer == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

eda_consumer_t *notif_consumer_kafka(notif_consumer_t *c)
{
	return c->consumer;
}

int notif_consumer_start(notif_consumer_t *c, char *err, size_t errsz)
{
	if (eda_consumer_start(c->consumer, err, errsz) != 0)
		return -1;
	c->started = true;
	return 0;
}

void notif_consumer_free(notif_consumer_t *c)
{
	if (c == NULL)
		return;
	if (c->started)
		eda_consumer_stop(c->consumer);
	eda_consumer_free(c->consumer);
	free(c);
}
