/*
 * The order service's shared core (see order_service.h): errors, the clock,
 * and what its commands do around a unit of work. Each command is one short
 * unit of work on a pooled connection: checked out, used, checked in, so no
 * connection is held across anything slow.
 */
#include "services/order_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/log.h"
#include "schemas/order.h"

const char *os_strerror(int code)
{
	switch (code) {
	case OS_OK:
		return "ok";
	case OS_EINVALID:
		return "invalid request";
	case OS_ENOTFOUND:
		return "order not found";
	case OS_ECONFLICT:
		return "status does not allow it";
	case OS_EIDEMPOTENCY:
		return "idempotency key reused with another request";
	case OS_EUNAVAILABLE:
		return "database unavailable";
	case OS_EPRICE:
		return "a quoted price is not the catalogue's";
	default:
		return "internal error";
	}
}

void os_service_status_changed(os_service_t *s, const char *order_id)
{
	if (s->hooks.status_changed != NULL)
		s->hooks.status_changed(order_id, s->hooks.ctx);
}

void os_service_after_commit(os_service_t *s, const char *status_order_id)
{
	if (s->hooks.outbox_added != NULL)
		s->hooks.outbox_added(s->hooks.ctx);
	if (status_order_id != NULL)
		os_service_status_changed(s, status_order_id);
}

PGconn *os_service_checkout(os_service_t *s, char *detail, size_t detailsz)
{
	char err[256];
	PGconn *c = os_db_checkout(s->pool, s->db_wait_ms, err, sizeof(err));

	if (c == NULL) {
		eda_log(EDA_LOG_ERROR, "database unavailable", "error", err, NULL);
		snprintf(detail, detailsz, "the order database is unavailable; retry later");
	}
	return c;
}

char *os_service_event(const os_order_t *o, const char *type, const char *reason,
                       const eda_event_t *cause, const char *correlation_id, char event_id[128])
{
	eda_event_t *ev =
	        eda_event_new(OS_SOURCE, type, o->id, os_order_event_data(o, type, reason), cause,
	                      correlation_id);
	char err[256];
	char *payload = NULL;

	if (ev == NULL)
		return NULL;
	if (eda_event_validate_data(ev, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "event breaks its contract", "order_id", o->id, "type", type,
		        "error", err, NULL);
	} else {
		payload = eda_event_serialize(ev, NULL);
		snprintf(event_id, 128, "%s", ev->id);
	}
	eda_event_free(ev);
	return payload;
}
