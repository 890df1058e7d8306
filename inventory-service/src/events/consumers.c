/* Order events -> reservation service; see consumers.h. */
#include "events/consumers.h"

#include <stdio.h>

#include "eda/event_bus.h"
#include "eda/log.h"
#include "services/reservation.h"

static eda_handler_result_t outcome(int rc, eda_consumed_t *m, const eda_event_t *ev,
                                    const char *err)
{
	if (rc == 0)
		return EDA_HANDLER_DONE;
	snprintf(m->reason, sizeof(m->reason), "%s", err);
	eda_log(EDA_LOG_WARN, "will retry", "event_id", ev->id, "subject", ev->subject, "why", err,
	        NULL);
	return EDA_HANDLER_RETRY;
}

static eda_handler_result_t on_placed(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	char err[256] = "";

	return outcome(inv_reserve_order(ctx, ev, err, sizeof(err)), m, ev, err);
}

static eda_handler_result_t on_cancelled(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	char err[256] = "";

	return outcome(inv_release_order(ctx, ev, err, sizeof(err)), m, ev, err);
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
