/* The reservation's price check and its token-validated cache; see
 * prices.h. */
#include "services/prices.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/money.h"
#include "repositories/products.h"
#include "services/heads.h"

struct inv_prices {
	pthread_mutex_t mu;
	char token[INV_TOKEN_LEN]; /* the token the cached prices were read under */
	size_t capacity;
	inv_heads_t *cache; /* SKU -> packed price (see pack); version 1 */
};

/* A price and currency in one int64 for the heads table: cents (at most
 * EDA_MONEY_MAX_CENTS, about 1e13) times 26^3 plus the code's letters in
 * base 26, about 1.8e17 at most. NO_PRODUCT: the SKU has no document. */
#define CODES      (26 * 26 * 26)
#define NO_PRODUCT (-1)

static int64_t pack(const inv_price_t *p)
{
	if (!p->found)
		return NO_PRODUCT;
	return p->price_cents * CODES +
	       ((p->currency[0] - 'A') * 26 + (p->currency[1] - 'A')) * 26 + (p->currency[2] - 'A');
}

static void unpack(int64_t v, inv_price_t *p)
{
	int code = (int)(v % CODES);

	memset(p, 0, sizeof(*p));
	if (v == NO_PRODUCT)
		return;
	p->found = true;
	p->price_cents = v / CODES;
	p->currency[0] = (char)('A' + code / (26 * 26));
	p->currency[1] = (char)('A' + code / 26 % 26);
	p->currency[2] = (char)('A' + code % 26);
}

inv_prices_t *inv_prices_new(size_t capacity)
{
	inv_prices_t *p = eda_xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	p->capacity = capacity;
	p->cache = inv_heads_new(capacity);
	return p;
}

void inv_prices_free(inv_prices_t *p)
{
	if (p == NULL)
		return;
	inv_heads_free(p->cache);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* The distinct SKUs of the items of EVS, into SKUS (room for n * max items). */
static size_t distinct_skus(const eda_event_t *const *evs, size_t n, const char **skus)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *items = json_object_get(evs[i]->data, "items"), *it;
		size_t j, m;

		json_array_foreach(items, j, it)
		{
			const char *sku = json_string_value(json_object_get(it, "sku"));

			for (m = 0; sku != NULL && m < k; m++)
				if (strcmp(skus[m], sku) == 0)
					break;
			if (sku != NULL && m == k)
				skus[k++] = sku;
		}
	}
	return k;
}

/* The prices of the K SKUS into PRICE: from the cache while the token is the
 * one it was filled under, else (and for what it lacks) from the documents,
 * which are read after the token. Called with the cache's lock held. */
static int lookup(const inv_ctx_t *ctx, const char **skus, size_t k, inv_price_t *price, char *err,
                  size_t errsz)
{
	inv_prices_t *c = ctx->prices;
	char token[INV_TOKEN_LEN];
	const char **missing = eda_xcalloc(k + 1, sizeof(*missing));
	size_t *where = eda_xcalloc(k + 1, sizeof(*where)), nm = 0;
	inv_price_t *got = eda_xcalloc(k + 1, sizeof(*got));
	int rc = -1;

	if (c != NULL) {
		if (inv_catalogue_token(ctx->db, token, err, errsz) != INV_REPO_OK)
			goto out;
		if (strcmp(token, c->token) != 0) {
			inv_heads_free(c->cache);
			c->cache = inv_heads_new(c->capacity);
			memcpy(c->token, token, sizeof(token));
		}
	}
	for (size_t i = 0; i < k; i++) {
		int64_t version, packed;

		if (c != NULL && inv_heads_get(c->cache, skus[i], &version, &packed)) {
			unpack(packed, &price[i]);
			continue;
		}
		where[nm] = i;
		missing[nm++] = skus[i];
	}
	if (nm > 0 && inv_products_prices(ctx->db, missing, nm, got, err, errsz) != INV_REPO_OK)
		goto out;
	for (size_t j = 0; j < nm; j++) {
		/* A document from before currencies existed is in the store's. */
		if (got[j].found && got[j].currency[0] == '\0')
			memcpy(got[j].currency, ctx->store_currency, INV_CURRENCY_LEN + 1);
		price[where[j]] = got[j];
		if (c != NULL)
			inv_heads_put(c->cache, missing[j], 1, pack(&got[j]));
	}
	rc = 0;
out:
	free(got);
	free(where);
	free(missing);
	return rc;
}

/* The details of the lines of EV that do not match PRICE (of SKUS), or NULL. */
static json_t *mismatches(const eda_event_t *ev, const char **skus, size_t k,
                          const inv_price_t *price)
{
	const char *currency = json_string_value(json_object_get(ev->data, "currency"));
	json_t *items = json_object_get(ev->data, "items"), *it, *details = NULL;
	size_t j;

	json_array_foreach(items, j, it)
	{
		const char *sku = json_string_value(json_object_get(it, "sku"));
		const char *quoted = json_string_value(json_object_get(it, "unit_price"));
		const inv_price_t *p = NULL;
		int64_t cents;
		json_t *d;
		size_t m;

		for (m = 0; sku != NULL && m < k && p == NULL; m++)
			if (strcmp(skus[m], sku) == 0)
				p = &price[m];
		if (p == NULL || !p->found)
			continue;
		/* Validated as canonical money; a quote that does not parse
		 * cannot be the catalogue's price either. */
		if (quoted != NULL && eda_money_parse_canonical(quoted, &cents) == 0 &&
		    cents == p->price_cents && currency != NULL &&
		    strcmp(currency, p->currency) == 0)
			continue;
		d = json_pack("{s:s, s:s, s:o}", "sku", sku, "quoted", quoted != NULL ? quoted : "",
		              "price", eda_money_to_json(p->price_cents));
		if (details == NULL)
			details = json_array();
		/* Two lines of one SKU at one quoted price say the same thing. */
		for (m = 0; m < json_array_size(details); m++)
			if (json_equal(json_array_get(details, m), d))
				break;
		if (m < json_array_size(details))
			json_decref(d);
		else
			json_array_append_new(details, d);
	}
	return details;
}

int inv_prices_check(const inv_ctx_t *ctx, const eda_event_t *const *evs, size_t n, json_t **stale,
                     char *err, size_t errsz)
{
	const char **skus = eda_xcalloc(n * EDA_EVENT_MAX_ITEMS + 1, sizeof(*skus));
	inv_price_t *price;
	size_t k;
	int rc;

	for (size_t i = 0; i < n; i++)
		stale[i] = NULL;
	k = distinct_skus(evs, n, skus);
	price = eda_xcalloc(k + 1, sizeof(*price));
	if (ctx->prices != NULL)
		pthread_mutex_lock(&ctx->prices->mu);
	rc = lookup(ctx, skus, k, price, err, errsz);
	if (ctx->prices != NULL)
		pthread_mutex_unlock(&ctx->prices->mu);
	for (size_t i = 0; i < n && rc == 0; i++)
		stale[i] = mismatches(evs[i], skus, k, price);
	free(price);
	free(skus);
	return rc;
}
