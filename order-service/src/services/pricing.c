/*
 * Pricing an order from the catalogue (see pricing.h).
 */
#include "services/pricing.h"

#include <stdio.h>
#include <string.h>

#include "eda/money.h"
#include "schemas/order.h"
#include "services/order_service.h"

static const os_product_t *find(const os_product_t *products, size_t n, const char *sku)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(products[i].sku, sku) == 0)
			return &products[i];
	return NULL;
}

int os_price_order(os_order_t *o, const os_product_t *products, size_t n, json_t **errors,
                   json_t **prices)
{
	const char *currency = NULL;
	bool mixed = false;
	char name[64];

	*errors = NULL;
	*prices = NULL;
	for (size_t i = 0; i < o->nitems; i++) {
		os_item_t *it = &o->items[i];
		const os_product_t *p = find(products, n, it->sku);

		if (p == NULL) {
			snprintf(name, sizeof(name), "items[%zu].sku", i);
			*errors = os_field_error(*errors, name, "unknown product");
			continue;
		}
		if (currency == NULL)
			currency = p->currency;
		else if (strcmp(currency, p->currency) != 0)
			mixed = true;
		if (it->quoted && it->unit_price != p->price) {
			if (*prices == NULL)
				*prices = json_array();
			json_array_append_new(*prices,
			                      json_pack("{s:s, s:o, s:o}", "sku", it->sku, "quoted",
			                                eda_money_to_json(it->unit_price), "price",
			                                eda_money_to_json(p->price)));
		}
		it->unit_price = p->price;
	}
	if (mixed)
		*errors = os_field_error(*errors, "currency",
		                         "the products are priced in more than one currency; "
		                         "order them separately");
	else if (currency != NULL && o->currency[0] != '\0' && strcmp(o->currency, currency) != 0)
		*errors = os_field_error(*errors, "currency", "is not the products' currency");
	else if (currency != NULL && o->currency[0] == '\0')
		snprintf(o->currency, sizeof(o->currency), "%s", currency);
	if (*errors == NULL && *prices == NULL &&
	    os_order_total(o->items, o->nitems, &o->total) != 0)
		*errors = os_field_error(NULL, "items", "the total exceeds 99999999999.99");
	if (*errors != NULL) {
		json_decref(*prices);
		*prices = NULL;
		return OS_EINVALID;
	}
	return *prices != NULL ? OS_EPRICE : OS_OK;
}
