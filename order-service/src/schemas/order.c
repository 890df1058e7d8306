/*
 * JSON <-> order (see schemas/order.h). Validation keeps going after the first
 * problem so that a client sees every bad field in one answer.
 */
#include "schemas/order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/event.h"
#include "eda/money.h"
#include "eda/validate.h"

json_t *os_field_error(json_t *errors, const char *field, const char *message)
{
	if (errors == NULL)
		errors = json_array();
	json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
	return errors;
}

static json_t *field(json_t *errors, const char *name, const char *msg)
{
	return os_field_error(errors, name, msg);
}

static void parse_item(const json_t *it, size_t i, os_item_t *out, json_t **errors)
{
	char name[64];
	const char *key;
	json_t *v;

	if (!json_is_object(it)) {
		snprintf(name, sizeof(name), "items[%zu]", i);
		*errors = field(*errors, name, "must be an object");
		return;
	}
	json_object_foreach((json_t *)it, key, v)
	{
		if (strcmp(key, "sku") != 0 && strcmp(key, "quantity") != 0 &&
		    strcmp(key, "unit_price") != 0) {
			snprintf(name, sizeof(name), "items[%zu].%.32s", i, key);
			*errors = field(*errors, name, "unknown field");
		}
	}
	snprintf(name, sizeof(name), "items[%zu].sku", i);
	v = json_object_get(it, "sku");
	if (v == NULL)
		*errors = field(*errors, name, "is required");
	else if (!json_is_string(v) || !eda_sku_valid(json_string_value(v)))
		*errors = field(*errors, name,
		                "must be 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a "
		                "letter or digit");
	else
		snprintf(out->sku, sizeof(out->sku), "%s", json_string_value(v));

	snprintf(name, sizeof(name), "items[%zu].quantity", i);
	v = json_object_get(it, "quantity");
	if (v == NULL)
		*errors = field(*errors, name, "is required");
	else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	         json_integer_value(v) > OS_MAX_QUANTITY)
		*errors = field(*errors, name, "must be an integer from 1 to 1000000");
	else
		out->quantity = (int)json_integer_value(v);

	snprintf(name, sizeof(name), "items[%zu].unit_price", i);
	v = json_object_get(it, "unit_price");
	/* Optional: the catalogue prices the line. Given, it is the price the
	 * client saw, which the catalogue's must match (os_price_order). */
	if (v != NULL) {
		int rc = eda_money_parse_json(v, &out->unit_price);

		out->quoted = rc == 0;

		if (rc != 0) {
			char msg[128];

			snprintf(msg, sizeof(msg),
			         "must be a non-negative decimal with at most two places (%s)",
			         eda_money_strerror(rc));
			*errors = field(*errors, name, msg);
		}
	}
}

int os_order_request_parse(const json_t *body, os_order_t *o, json_t **errors)
{
	const json_t *items, *cur;
	const char *key;
	json_t *v;

	*errors = NULL;
	o->nitems = 0;
	o->items = NULL;
	if (!json_is_object(body)) {
		*errors = field(NULL, "body", "must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)body, key, v)
	{
		if (strcmp(key, "items") != 0 && strcmp(key, "currency") != 0) {
			char name[64];

			snprintf(name, sizeof(name), "%.60s", key);
			*errors = field(*errors, name, "unknown field");
		}
	}
	/* Optional: an order takes its products' currency (os_price_order). */
	cur = json_object_get(body, "currency");
	if (cur == NULL)
		o->currency[0] = '\0';
	else if (!json_is_string(cur) || !os_currency_known(json_string_value(cur)))
		*errors =
		        field(*errors, "currency", "must be a supported ISO 4217 code such as EUR");
	else
		snprintf(o->currency, sizeof(o->currency), "%s", json_string_value(cur));

	items = json_object_get(body, "items");
	if (items == NULL) {
		*errors = field(*errors, "items", "is required");
	} else if (!json_is_array(items) || json_array_size(items) < 1 ||
	           json_array_size(items) > OS_MAX_ITEMS) {
		*errors = field(*errors, "items", "must be an array of 1 to 100 lines");
	} else {
		o->nitems = json_array_size(items);
		o->items = eda_xcalloc(o->nitems, sizeof(*o->items));
		for (size_t i = 0; i < o->nitems; i++)
			parse_item(json_array_get(items, i), i, &o->items[i], errors);
		for (size_t i = 0; i < o->nitems; i++) {
			for (size_t j = 0; j < i; j++) {
				if (o->items[i].sku[0] != '\0' &&
				    strcmp(o->items[i].sku, o->items[j].sku) == 0) {
					char name[64];

					snprintf(name, sizeof(name), "items[%zu].sku", i);
					*errors =
					        field(*errors, name, "duplicates an earlier line");
					break;
				}
			}
		}
	}
	if (*errors == NULL && os_order_total(o->items, o->nitems, &o->total) != 0)
		*errors = field(NULL, "items", "the total exceeds 99999999999.99");
	return *errors == NULL ? 0 : -1;
}

char *os_order_request_canonical(const os_order_t *o)
{
	json_t *items = json_array(), *root;
	char *s;

	for (size_t i = 0; i < o->nitems; i++) {
		json_t *line = json_array();

		json_array_append_new(line, json_string(o->items[i].sku));
		json_array_append_new(line, json_integer(o->items[i].quantity));
		json_array_append_new(line, o->items[i].quoted
		                                    ? eda_money_to_json(o->items[i].unit_price)
		                                    : json_null());
		json_array_append_new(items, line);
	}
	root = json_pack("{s:o, s:o}", "currency",
	                 o->currency[0] != '\0' ? json_string(o->currency) : json_null(), "items",
	                 items);
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (s == NULL)
		abort(); /* only out of memory */
	return s;
}

static json_t *time_or_null(const char *t)
{
	return t[0] != '\0' ? json_string(t) : json_null();
}

static json_t *customer(const os_order_t *o)
{
	return json_pack("{s:s, s:s}", "id", o->customer_id, "email", o->customer_email);
}

json_t *os_order_to_json(const os_order_t *o)
{
	json_t *items = json_array(), *j;

	for (size_t i = 0; i < o->nitems; i++)
		json_array_append_new(items,
		                      json_pack("{s:s, s:i, s:o}", "sku", o->items[i].sku,
		                                "quantity", o->items[i].quantity, "unit_price",
		                                eda_money_to_json(o->items[i].unit_price)));
	j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "id", o->id, "status",
	              os_status_name(o->status), "customer", customer(o), "items", items, "total",
	              eda_money_to_json(o->total), "currency", o->currency, "created_at",
	              o->created_at, "updated_at", o->updated_at);
	json_object_set_new(j, "confirmed_at", time_or_null(o->status_at[OS_CONFIRMED]));
	json_object_set_new(j, "rejected_at", time_or_null(o->status_at[OS_REJECTED]));
	json_object_set_new(j, "paid_at", time_or_null(o->status_at[OS_PAID]));
	json_object_set_new(j, "cancelled_at", time_or_null(o->status_at[OS_CANCELLED]));
	if (o->reason[0] != '\0')
		json_object_set_new(j, "reason", json_string(o->reason));
	return j;
}

json_t *os_order_event_data(const os_order_t *o, const char *type, const char *reason)
{
	json_t *d = json_pack("{s:s, s:o, s:o, s:s}", "order_id", o->id, "customer", customer(o),
	                      "total", eda_money_to_json(o->total), "currency", o->currency);

	if (strcmp(type, EDA_EVENT_ORDER_PLACED) == 0) {
		json_t *items = json_array();

		for (size_t i = 0; i < o->nitems; i++)
			json_array_append_new(
			        items, json_pack("{s:s, s:i, s:o}", "sku", o->items[i].sku,
			                         "quantity", o->items[i].quantity, "unit_price",
			                         eda_money_to_json(o->items[i].unit_price)));
		json_object_set_new(d, "items", items);
	} else if (reason != NULL && reason[0] != '\0') {
		json_object_set_new(d, "reason", json_string(reason));
	}
	return d;
}
