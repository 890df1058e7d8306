/*
 * Template values for the order e-mails; see order_mail.h.
 */
#include "schemas/order_mail.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/money.h"

static const struct {
	const char *type, *name;
} kinds[NOTIF_MAIL_KIND_COUNT] = {
        [NOTIF_MAIL_ORDER_PLACED] = {EDA_EVENT_ORDER_PLACED, "order_placed"},
        [NOTIF_MAIL_ORDER_CONFIRMED] = {EDA_EVENT_ORDER_CONFIRMED, "order_confirmed"},
        [NOTIF_MAIL_ORDER_REJECTED] = {EDA_EVENT_ORDER_REJECTED, "order_rejected"},
        [NOTIF_MAIL_ORDER_CANCELLED] = {EDA_EVENT_ORDER_CANCELLED, "order_cancelled"},
};

int notif_mail_kind_of(const char *type)
{
	for (int i = 0; i < NOTIF_MAIL_KIND_COUNT; i++)
		if (type != NULL && strcmp(kinds[i].type, type) == 0)
			return i;
	return -1;
}

const char *notif_mail_kind_name(notif_mail_kind_t kind)
{
	return kinds[kind].name;
}

const char *notif_mail_kind_type(notif_mail_kind_t kind)
{
	return kinds[kind].type;
}

const char *notif_order_mail_recipient(const eda_event_t *ev)
{
	json_t *c = json_object_get(ev->data, "customer");

	return json_string_value(json_object_get(c, "email"));
}

static json_t *priced_items(const json_t *items, json_int_t *count)
{
	json_t *out = json_array();
	size_t i;
	const json_t *it;

	*count = 0;
	json_array_foreach(items, i, it)
	{
		const char *price = json_string_value(json_object_get(it, "unit_price"));
		json_int_t qty = json_integer_value(json_object_get(it, "quantity"));
		int64_t cents;
		char line[EDA_MONEY_STRLEN];

		if (price == NULL || eda_money_parse_canonical(price, &cents) != 0) {
			json_decref(out);
			return NULL;
		}
		/* Both factors are bounded by the event contract (quantity <= 1e6,
		 * price < 1e13 cents), but their product may not be: refuse it. */
		if (qty <= 0 || cents > INT64_MAX / qty) {
			json_decref(out);
			return NULL;
		}
		eda_money_format(cents * qty, line);
		json_array_append_new(out, json_pack("{s:O?, s:I, s:s, s:s}", "sku",
		                                     json_object_get(it, "sku"), "quantity", qty,
		                                     "unit_price", price, "line_total", line));
		*count += qty;
	}
	return out;
}

json_t *notif_order_mail_values(const eda_event_t *ev)
{
	const json_t *d = ev->data;
	const char *order_id = json_string_value(json_object_get(d, "order_id"));
	json_t *v = json_object();
	json_t *items = json_object_get(d, "items");
	char number[9];

	if (order_id == NULL)
		order_id = "";
	snprintf(number, sizeof(number), "%.8s", order_id);
	json_object_set_new(v, "event_id", json_string(ev->id));
	json_object_set_new(v, "event_type", json_string(ev->type));
	json_object_set_new(v, "order_id", json_string(order_id));
	json_object_set_new(v, "order_number", json_string(number));
	json_object_set(v, "customer_id", json_object_get(json_object_get(d, "customer"), "id"));
	json_object_set(v, "total", json_object_get(d, "total"));
	json_object_set(v, "currency", json_object_get(d, "currency"));
	if (json_object_get(d, "reason") != NULL)
		json_object_set(v, "reason", json_object_get(d, "reason"));
	/* Inventory refused the order because a price moved after the order
	 * was priced: the e-mail explains that instead of showing the code. */
	json_object_set_new(v, "price_changed",
	                    json_boolean(json_is_string(json_object_get(d, "reason")) &&
	                                 strcmp(json_string_value(json_object_get(d, "reason")),
	                                        "price_changed") == 0));
	if (json_is_array(items)) {
		json_int_t count;
		json_t *lines = priced_items(items, &count);

		if (lines == NULL) {
			json_decref(v);
			return NULL;
		}
		json_object_set_new(v, "items", lines);
		json_object_set_new(v, "item_count", json_integer(count));
	}
	return v;
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int64_t notif_order_mail_time_ms(const char *s)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms = 0, sign = 0, oh = 0, om = 0;

	if (s == NULL)
		return -1;
	y = digits(&p, 4);
	if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 1 || d > 31 || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 ||
	    mi > 59 || *p++ != ':' || (sec = digits(&p, 2)) < 0 || sec > 60)
		return -1;
	if (*p == '.') {
		int scale = 100;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if ((oh = digits(&p, 2)) < 0 || *p++ != ':' || (om = digits(&p, 2)) < 0)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;

	t -= sign * (oh * 3600 + om * 60);
	return t * 1000 + ms;
}
