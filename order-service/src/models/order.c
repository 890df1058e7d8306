/*
 * The order's rules: status names, saga transitions, totals without overflow,
 * accepted currencies and ids.
 */
#include "models/order.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uuid/uuid.h>

#include "eda/money.h"

static const char *const names[OS_STATUS_COUNT] = {"PENDING", "CONFIRMED", "REJECTED", "PAID",
                                                   "CANCELLED"};

/* ISO 4217 codes in use that have two minor units (money.h keeps cents), so a
 * total means the same thing in every currency we accept. */
static const char *const currencies[] = {
        "AED", "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF",
        "ILS", "INR", "MXN", "NOK", "NZD", "PLN", "RON", "SEK", "SGD", "THB", "TRY", "USD", "ZAR",
};

const char *os_status_name(os_status_t s)
{
	return s >= 0 && s < OS_STATUS_COUNT ? names[s] : "UNKNOWN";
}

int os_status_parse(const char *name, os_status_t *out)
{
	for (int i = 0; i < OS_STATUS_COUNT; i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*out = (os_status_t)i;
			return 0;
		}
	}
	return -1;
}

bool os_status_can_transition(os_status_t from, os_status_t to)
{
	switch (to) {
	case OS_CONFIRMED:
	case OS_REJECTED:
		return from == OS_PENDING;
	case OS_PAID:
		return from == OS_CONFIRMED;
	case OS_CANCELLED:
		return os_status_cancellable(from);
	default:
		return false;
	}
}

bool os_status_cancellable(os_status_t s)
{
	return s == OS_PENDING || s == OS_CONFIRMED;
}

void os_order_clear(os_order_t *o)
{
	free(o->items);
	o->items = NULL;
	o->nitems = 0;
}

int os_order_total(const os_item_t *items, size_t n, int64_t *total)
{
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t line;

		if (__builtin_mul_overflow(items[i].unit_price, (int64_t)items[i].quantity,
		                           &line) ||
		    __builtin_add_overflow(sum, line, &sum) || sum > EDA_MONEY_MAX_CENTS)
			return -1;
	}
	*total = sum;
	return 0;
}

bool os_currency_known(const char *s)
{
	for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++)
		if (strcmp(s, currencies[i]) == 0)
			return true;
	return false;
}

void os_order_new_id(char out[OS_UUID_LEN + 1])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

bool os_uuid_lower(const char *s, char out[OS_UUID_LEN + 1])
{
	if (strlen(s) != OS_UUID_LEN)
		return false;
	for (int i = 0; i < OS_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[OS_UUID_LEN] = '\0';
	return eda_uuid_valid(out);
}
