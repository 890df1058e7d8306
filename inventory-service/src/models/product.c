/* Product rules; see product.h. */
#include "models/product.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool inv_currency_valid(const char *s)
{
	if (s == NULL || strlen(s) != INV_CURRENCY_LEN)
		return false;
	for (size_t i = 0; i < INV_CURRENCY_LEN; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

bool inv_product_catalogue_differs(const inv_product_t *a, const inv_product_t *b)
{
	return a->price_cents != b->price_cents || strcmp(a->currency, b->currency) != 0 ||
	       strcmp(a->name != NULL ? a->name : "", b->name != NULL ? b->name : "") != 0;
}

bool inv_name_valid(const char *s)
{
	size_t chars = 0;
	bool visible = false;
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return false;
	/* jansson already guarantees valid UTF-8; count code points by their
	 * lead bytes and refuse C0/DEL controls. */
	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (*p != ' ')
			visible = true;
	}
	return chars >= 1 && chars <= INV_NAME_MAX && visible;
}

int inv_stock_add(int64_t balance, int64_t delta, int64_t *out)
{
	int64_t r;

	/* Both operands are bounded by the caps well inside int64. */
	r = balance + delta;
	if (r < 0)
		return -1;
	if (r > INV_STOCK_MAX)
		return -2;
	*out = r;
	return 0;
}

void inv_product_clear(inv_product_t *p)
{
	free(p->name);
	p->name = NULL;
}
