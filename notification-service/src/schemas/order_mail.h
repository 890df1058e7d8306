/*
 * Order events -> template values. The event has passed common/'s contract
 * checks (eda_event_validate_data) before it gets here, so members have their
 * documented types; this file only reshapes them for the templates and adds
 * derived values (line totals, item count, a short order number).
 */
#ifndef NOTIF_SCHEMAS_ORDER_MAIL_H
#define NOTIF_SCHEMAS_ORDER_MAIL_H

#include <jansson.h>
#include <stdint.h>

#include "eda/event.h"

/* The e-mails the service sends; the index of the templates too. */
typedef enum {
	NOTIF_MAIL_ORDER_PLACED = 0,
	NOTIF_MAIL_ORDER_CONFIRMED,
	NOTIF_MAIL_ORDER_REJECTED,
	NOTIF_MAIL_ORDER_CANCELLED,
	NOTIF_MAIL_KIND_COUNT,
} notif_mail_kind_t;

/* The kind for an event TYPE, or -1 when the service sends nothing for it. */
int notif_mail_kind_of(const char *type);
/* The template base name of KIND ("order_placed"). */
const char *notif_mail_kind_name(notif_mail_kind_t kind);
/* The event type of KIND ("OrderPlaced"), static. */
const char *notif_mail_kind_type(notif_mail_kind_t kind);

/* The recipient (data.customer.email) of EV, borrowed from it, or NULL. */
const char *notif_order_mail_recipient(const eda_event_t *ev);

/*
 * The template values of EV, a new object the caller owns:
 *   event_id, event_type, order_id, order_number (first 8 characters),
 *   customer_id, total, currency, reason (may be absent), price_changed
 *   (true when reason is "price_changed": the rejection e-mail explains it),
 *   items [{sku, quantity, unit_price, line_total}] and item_count (OrderPlaced).
 * Returns NULL when a money amount cannot be read (not for valid events).
 */
json_t *notif_order_mail_values(const eda_event_t *ev);

/* Milliseconds since the epoch of an RFC 3339 time ("2026-11-23T10:30:00.123Z",
 * any offset), or -1 when S is not one. */
int64_t notif_order_mail_time_ms(const char *s);

#endif
