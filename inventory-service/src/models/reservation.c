/* Reservation rules and result event data; see reservation.h. */
#include "models/reservation.h"

#include <stdio.h>
#include <string.h>

#include "eda/errbuf.h"

int inv_order_lines_from_placed(const json_t *data, inv_order_lines_t *out, char *err, size_t errsz)
{
	const char *order_id = json_string_value(json_object_get(data, "order_id"));
	json_t *items = json_object_get(data, "items");
	size_t i;
	json_t *it;

	memset(out, 0, sizeof(*out));
	if (order_id == NULL || strlen(order_id) > INV_ORDER_ID_MAX || !json_is_array(items)) {
		eda_errf(err, errsz, "OrderPlaced without order_id or items");
		return -1;
	}
	snprintf(out->order_id, sizeof(out->order_id), "%s", order_id);
	json_array_foreach(items, i, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		json_int_t q = (json_int_t)json_number_value(json_object_get(it, "quantity"));
		size_t j;

		if (!eda_sku_valid(sku) || q <= 0) {
			eda_errf(err, errsz, "data.items[%zu]: bad sku or quantity", i);
			return -1;
		}
		for (j = 0; j < out->n; j++)
			if (strcmp(out->line[j].sku, sku) == 0)
				break;
		if (j == out->n) {
			if (out->n == EDA_EVENT_MAX_ITEMS) {
				eda_errf(err, errsz, "too many items");
				return -1;
			}
			snprintf(out->line[j].sku, sizeof(out->line[j].sku), "%s", sku);
			out->n++;
		}
		/* At most 100 lines of at most 1e6 each: no overflow. */
		out->line[j].quantity += q;
	}
	if (out->n == 0) {
		eda_errf(err, errsz, "OrderPlaced without items");
		return -1;
	}
	return 0;
}

void inv_op_key(char out[static INV_OP_MAX], const char *order_id, const char *sku,
                const char *kind)
{
	/* '/' can appear in neither an order id (UUID) nor a SKU, so the key
	 * cannot be ambiguous. */
	snprintf(out, INV_OP_MAX, "%s/%s/%s", order_id, sku, kind);
}

json_t *inv_reserved_data(const inv_order_lines_t *lines)
{
	json_t *items = json_array();

	for (size_t i = 0; i < lines->n; i++)
		json_array_append_new(items,
		                      json_pack("{s:s, s:I}", "sku", lines->line[i].sku, "quantity",
		                                (json_int_t)lines->line[i].quantity));
	return json_pack("{s:s, s:o}", "order_id", lines->order_id, "items", items);
}

json_t *inv_failed_data(const inv_order_lines_t *lines)
{
	json_t *details = json_array();
	const char *reason = "insufficient_stock";

	for (size_t i = 0; i < lines->n; i++) {
		const inv_line_t *l = &lines->line[i];

		if (l->state == INV_LINE_UNKNOWN)
			reason = "unknown_sku";
		if (l->state != INV_LINE_SHORT && l->state != INV_LINE_UNKNOWN)
			continue;
		json_array_append_new(details, json_pack("{s:s, s:I, s:I}", "sku", l->sku,
		                                         "requested", (json_int_t)l->quantity,
		                                         "available", (json_int_t)l->available));
	}
	return json_pack("{s:s, s:s, s:o}", "order_id", lines->order_id, "reason", reason,
	                 "details", details);
}

json_t *inv_price_changed_data(const char *order_id, json_t *details)
{
	return json_pack("{s:s, s:s, s:O}", "order_id", order_id, "reason", "price_changed",
	                 "details", details);
}

json_t *inv_released_data(const char *order_id, const inv_line_t *released, size_t n)
{
	json_t *items = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(items,
		                      json_pack("{s:s, s:I}", "sku", released[i].sku, "quantity",
		                                (json_int_t)released[i].quantity));
	return json_pack("{s:s, s:o}", "order_id", order_id, "items", items);
}

json_t *inv_updated_data(const char *sku, int64_t stock, int64_t delta, const char *cause)
{
	return json_pack("{s:s, s:I, s:I, s:s}", "sku", sku, "stock", (json_int_t)stock, "delta",
	                 (json_int_t)delta, "cause", cause);
}
