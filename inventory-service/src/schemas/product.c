/* Product bodies and representation; see product.h. */
#include "schemas/product.h"

#include <math.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/http.h"
#include "eda/money.h"

static json_t *field_error(json_t *errors, const char *field, const char *message)
{
	return eda_problem_field_error(errors, field, message);
}

/* An integer in [MIN, MAX]: a JSON integer, or a real with no fraction
 * (JSON Schema's view of 2.0). */
static int read_int(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < min || i > max)
			return -1;
		*out = i;
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (d != floor(d) || d < (double)min || d > (double)max)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static json_t *unknown_members(const json_t *body, const char *const *allowed, json_t *errors)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v)
	{
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			errors = field_error(errors, key, "unknown member");
	}
	return errors;
}

int inv_product_from_json(const json_t *body, inv_product_t *p, json_t **errors)
{
	static const char *const allowed[] = {"name", "price", "currency", "stock", NULL};
	json_t *errs = NULL, *v;
	int money;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(body)) {
		*errors = field_error(NULL, "body", "must be a JSON object");
		return -1;
	}
	errs = unknown_members(body, allowed, errs);
	v = json_object_get(body, "name");
	if (v == NULL)
		errs = field_error(errs, "name", "is required");
	else if (!json_is_string(v) || !inv_name_valid(json_string_value(v)))
		errs = field_error(errs, "name",
		                   "must be a string of 1 to 200 characters without control "
		                   "characters");
	else
		p->name = eda_xstrdup(json_string_value(v));
	v = json_object_get(body, "price");
	if (v == NULL)
		errs = field_error(errs, "price", "is required");
	else if ((money = eda_money_parse_json(v, &p->price_cents)) != 0)
		errs = field_error(errs, "price", eda_money_strerror(money));
	/* Optional: without it the product is in the store's currency, which
	 * the service fills in (it knows STORE_CURRENCY, this file does not). */
	v = json_object_get(body, "currency");
	if (v != NULL && (!json_is_string(v) || !inv_currency_valid(json_string_value(v))))
		errs = field_error(errs, "currency",
		                   "must be three upper-case letters (ISO 4217, e.g. \"EUR\")");
	else if (v != NULL)
		memcpy(p->currency, json_string_value(v), INV_CURRENCY_LEN + 1);
	v = json_object_get(body, "stock");
	if (v == NULL)
		errs = field_error(errs, "stock", "is required");
	else if (read_int(v, 0, INV_STOCK_MAX, &p->stock) != 0)
		errs = field_error(errs, "stock", "must be an integer from 0 to 1000000000");
	if (errs != NULL) {
		inv_product_clear(p);
		*errors = errs;
		return -1;
	}
	return 0;
}

int inv_restock_from_json(const json_t *body, int64_t *quantity, json_t **errors)
{
	static const char *const allowed[] = {"quantity", NULL};
	json_t *errs = NULL, *v;

	if (!json_is_object(body)) {
		*errors = field_error(NULL, "body", "must be a JSON object");
		return -1;
	}
	errs = unknown_members(body, allowed, errs);
	v = json_object_get(body, "quantity");
	if (v == NULL)
		errs = field_error(errs, "quantity", "is required");
	else if (read_int(v, 1, INV_STOCK_MAX, quantity) != 0)
		errs = field_error(errs, "quantity", "must be an integer from 1 to 1000000000");
	if (errs != NULL) {
		*errors = errs;
		return -1;
	}
	return 0;
}

json_t *inv_product_to_json(const inv_product_t *p)
{
	char when[EDA_RFC3339_LEN];

	eda_clock_rfc3339_at(p->updated_ms, when);
	return json_pack("{s:s, s:s, s:o, s:s, s:I, s:s}", "sku", p->sku, "name",
	                 p->name != NULL ? p->name : "", "price", eda_money_to_json(p->price_cents),
	                 "currency", p->currency, "stock", (json_int_t)p->stock, "updated_at",
	                 when);
}
