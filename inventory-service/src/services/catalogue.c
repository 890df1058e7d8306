/* ProductChanged through the outbox; see catalogue.h for the write order
 * and its crash points. */
#include "services/catalogue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/event.h"
#include "eda/log.h"
#include "eda/money.h"
#include "repositories/outbox.h"
#include "repositories/products.h"
#include "repositories/published.h"
#include "utils/crash.h"

/* Revisions a change tries before giving up: more than this many changes of
 * one product racing each other is a bug, not a load. */
#define MAX_ATTEMPTS 16

/* Products read per page by the sweep. */
#define SWEEP_PAGE 100

static char *changed_event(const inv_product_t *p)
{
	eda_event_t *ev =
	        eda_event_new(INV_SOURCE, EDA_EVENT_PRODUCT_CHANGED, p->sku,
	                      json_pack("{s:s, s:s, s:o, s:s, s:I}", "sku", p->sku, "name", p->name,
	                                "price", eda_money_to_json(p->price_cents), "currency",
	                                p->currency, "version", (json_int_t)p->revision),
	                      NULL, NULL);
	char *s = eda_event_serialize(ev, NULL);

	eda_event_free(ev);
	return s;
}

/* Whether the serialized ProductChanged EVENT says what P says. */
static bool same_content(const char *event, const inv_product_t *p)
{
	json_t *j = event != NULL ? json_loads(event, 0, NULL) : NULL;
	json_t *d = json_object_get(j, "data");
	const char *name = json_string_value(json_object_get(d, "name"));
	const char *price = json_string_value(json_object_get(d, "price"));
	const char *currency = json_string_value(json_object_get(d, "currency"));
	char want[EDA_MONEY_STRLEN];
	bool same;

	eda_money_format(p->price_cents, want);
	same = name != NULL && price != NULL && currency != NULL && strcmp(name, p->name) == 0 &&
	       strcmp(price, want) == 0 && strcmp(currency, p->currency) == 0;
	json_decref(j);
	return same;
}

static void default_currency(const inv_ctx_t *ctx, inv_product_t *p)
{
	if (p->currency[0] == '\0')
		snprintf(p->currency, sizeof(p->currency), "%s", ctx->store_currency);
}

/* Row ID of the outbox exists with P's content: hands its event to the
 * publisher again while its marker says it was not acknowledged. */
static int follow_row(const inv_ctx_t *ctx, const char *id, const inv_outbox_row_t *row, char *err,
                      size_t errsz)
{
	int pending = inv_pending_has(ctx->db, INV_COLL_OUTBOX, id, err, errsz);

	if (pending < 0)
		return -1;
	if (pending && ctx->publish != NULL && row->event != NULL)
		ctx->publish(ctx->pub, INV_COLL_OUTBOX, id, (const char *const *)&row->event, 1);
	return 0;
}

/* Another change took P's revision with other content: P becomes the
 * document as it is now, at a revision past both. */
static int overtake(const inv_ctx_t *ctx, inv_product_t *p, char *err, size_t errsz)
{
	inv_product_t now;
	int64_t taken = p->revision;
	int rc = inv_products_get(ctx->db, p->sku, &now, err, errsz);

	if (rc <= 0) {
		if (rc == 0)
			snprintf(err, errsz, "product %s vanished", p->sku);
		return -1;
	}
	default_currency(ctx, &now);
	now.revision = (now.revision > taken ? now.revision : taken) + 1;
	if (inv_products_upsert(ctx->db, &now, err, errsz) != INV_REPO_OK ||
	    inv_catalogue_token_bump(ctx->db, err, errsz) != INV_REPO_OK) {
		inv_product_clear(&now);
		return -1;
	}
	inv_product_clear(p);
	*p = now;
	return 0;
}

int inv_catalogue_announce(const inv_ctx_t *ctx, inv_product_t *p, char *err, size_t errsz)
{
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		char id[INV_OUTBOX_ID_MAX + INV_SKU_MAX];
		char *event = changed_event(p);
		inv_outbox_row_t row;
		int rc;

		snprintf(id, sizeof(id), "product/%s/%lld", p->sku, (long long)p->revision);
		/* The row's order_id names the SKU: retention only reads ts. */
		rc = inv_outbox_insert(ctx->db, id, p->sku, "product", event, NULL, 0, err, errsz);
		if (rc == INV_REPO_OK) {
			inv_crash_point("outbox-insert");
			if (ctx->publish != NULL)
				ctx->publish(ctx->pub, INV_COLL_OUTBOX, id,
				             (const char *const *)&event, 1);
		}
		free(event);
		if (rc == INV_REPO_ERR)
			return -1;
		if (rc == INV_REPO_DUP) {
			/* A crash after O, or a change racing this one. */
			if (inv_outbox_get(ctx->db, id, &row, err, errsz) < 0)
				return -1;
			rc = same_content(row.event, p) ? follow_row(ctx, id, &row, err, errsz) : 1;
			inv_outbox_row_clear(&row);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				if (overtake(ctx, p, err, errsz) < 0)
					return -1;
				continue;
			}
		}
		if (inv_products_mark_published(ctx->db, p->sku, p->revision, err, errsz) !=
		    INV_REPO_OK)
			return -1;
		inv_crash_point("product-published");
		return 0;
	}
	snprintf(err, errsz, "too many concurrent changes of product %s", p->sku);
	return -1;
}

int inv_catalogue_recover(const inv_ctx_t *ctx, char *err, size_t errsz)
{
	inv_product_t page[SWEEP_PAGE];
	char after[INV_SKU_MAX + 1] = "";
	int announced = 0, n;

	do {
		n = inv_products_list(ctx->db, after[0] != '\0' ? after : NULL, SWEEP_PAGE, page,
		                      err, errsz);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			inv_product_t *p = &page[i];
			int rc = 0;

			/* A document without a name is no catalogue entry. */
			if (p->name[0] != '\0' &&
			    (p->revision == 0 || p->published_revision < p->revision)) {
				/* Before revisions existed: revision 1, with the
				 * currency it was read as written down. */
				if (p->revision == 0) {
					default_currency(ctx, p);
					p->revision = 1;
					rc = inv_products_upsert(ctx->db, p, err, errsz);
				}
				default_currency(ctx, p);
				if (rc == 0)
					rc = inv_catalogue_announce(ctx, p, err, errsz);
				announced += rc == 0;
			}
			if (rc != 0) {
				while (i < n)
					inv_product_clear(&page[i++]);
				return -1;
			}
			snprintf(after, sizeof(after), "%s", p->sku);
			inv_product_clear(p);
		}
	} while (n == SWEEP_PAGE);
	/* Caches of other processes may hold prices of a document written
	 * just before a crash that kept it from renewing the token. */
	if (inv_catalogue_token_bump(ctx->db, err, errsz) != INV_REPO_OK)
		return -1;
	if (announced > 0)
		eda_logf(EDA_LOG_INFO, "announced %d products whose ProductChanged was missing",
		         announced);
	return announced;
}
