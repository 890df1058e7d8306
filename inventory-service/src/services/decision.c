/*
 * An order's decision as the outbox keeps it (repositories/outbox.h): its
 * result event, the InventoryUpdated of the entries appended via outbox that
 * the row carries, and its publication. Shared by the three parts of the
 * reservation service; see reservation_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "repositories/outbox.h"
#include "repositories/published.h"
#include "services/reservation_internal.h"

void inv_updates_clear(inv_updates_t *u)
{
	for (size_t i = 0; i < EDA_EVENT_MAX_ITEMS; i++) {
		free(u->event[i]);
		u->event[i] = NULL;
	}
}

size_t inv_updates_list(const inv_updates_t *u, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < EDA_EVENT_MAX_ITEMS; i++)
		if (u->event[i] != NULL)
			out[n++] = u->event[i];
	return n;
}

char *inv_result_event(const eda_event_t *cause, const char *type, const char *order_id,
                       json_t *data)
{
	eda_event_t *ev = eda_event_new(INV_SOURCE, type, order_id, data, cause, NULL);
	char *s = eda_event_serialize(ev, NULL);

	eda_event_free(ev);
	return s;
}

void inv_decision_publish(const inv_ctx_t *ctx, const char *id, const char *event,
                          const char *const *updates, size_t n)
{
	const char *events[1 + EDA_EVENT_MAX_ITEMS];

	if (event == NULL || ctx->publish == NULL)
		return;
	if (n > EDA_EVENT_MAX_ITEMS)
		n = EDA_EVENT_MAX_ITEMS;
	events[0] = event;
	if (n > 0) /* UPDATES may be NULL then, and memcpy's arguments must not be */
		memcpy(events + 1, updates, n * sizeof(*updates));
	ctx->publish(ctx->pub, INV_COLL_OUTBOX, id, events, 1 + n);
}

int inv_decision_finish(const inv_ctx_t *ctx, const char *id, char *err, size_t errsz)
{
	inv_outbox_row_t row;
	int rc = inv_pending_has(ctx->db, INV_COLL_OUTBOX, id, err, errsz);

	if (rc <= 0)
		return rc;
	rc = inv_outbox_get(ctx->db, id, &row, err, errsz);
	if (rc < 0)
		return -1;
	if (rc == 1)
		inv_decision_publish(ctx, row.id, row.event, (const char *const *)row.updates,
		                     row.nupdates);
	inv_outbox_row_clear(&row);
	return 0;
}
