/* Product rules; see product.h. */
#include "models/product.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool inv_sku_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > INV_SKU_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
		        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

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

void inv_time_format(int64_t ms, char out[static INV_TIME_STRLEN])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	char buf[96];

	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	memcpy(out, buf, INV_TIME_STRLEN - 1);
	out[INV_TIME_STRLEN - 1] = '\0';
}

int64_t inv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void inv_product_clear(inv_product_t *p)
{
	free(p->name);
	p->name = NULL;
}
