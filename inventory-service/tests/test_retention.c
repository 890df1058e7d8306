/*
 * Retention (repositories/retention.c, services/retention.c) against the real
 * MongoDB-protocol server, without Kafka: old decided outbox rows and claims
 * go, rows still waiting for publication and young ones stay, the ledger
 * stays whole, and a redelivery after the purge changes no stock.
 */
#include <check.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/clock.h"
#include "eda/log.h"
#include "models/product.h"
#include "repositories/outbox.h"
#include "repositories/published.h"
#include "services/products.h"
#include "services/reservation.h"
#include "services/retention.h"
#include "services/stock.h"
#include "support/check_main.h"
#include "support/inv_support.h"

#define RETENTION_S 3600

typedef struct fixture {
	inv_ctx_t ctx;
	char db[64];
} fixture_t;

static void up(fixture_t *f)
{
	memset(&f->ctx, 0, sizeof(f->ctx));
	f->ctx.db = ts_inv_db_new("invr", f->db);
	f->ctx.store_currency = "EUR";
}

static void down(fixture_t *f)
{
	ts_inv_db_drop(f->ctx.db, f->db);
}

static int64_t count(fixture_t *f, const char *coll)
{
	mongoc_client_t *c = inv_db_acquire(f->ctx.db);
	mongoc_collection_t *cl = inv_db_collection(f->ctx.db, c, coll);
	bson_t *q = bson_new();
	bson_error_t be;
	int64_t n = mongoc_collection_count_documents(cl, q, NULL, NULL, NULL, &be);

	ck_assert_msg(n >= 0, "%s", be.message);
	bson_destroy(q);
	mongoc_collection_destroy(cl);
	inv_db_release(f->ctx.db, c);
	return n;
}

static int has_row(fixture_t *f, const char *order_id)
{
	char id[INV_OUTBOX_ID_MAX], err[256];
	inv_outbox_row_t row;
	int rc;

	inv_outbox_id(id, order_id, "placed");
	rc = inv_outbox_get(f->ctx.db, id, &row, err, sizeof(err));
	ck_assert_int_ge(rc, 0);
	inv_outbox_row_clear(&row);
	return rc;
}

static void reserve(fixture_t *f, eda_event_t *ev)
{
	char err[256];

	ck_assert_msg(inv_reserve_orders(&f->ctx, (const eda_event_t *const *)&ev, 1, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
}

static eda_event_t *placed(const char *order_id)
{
	const char *skus[] = {"RET-1"};
	int qty[] = {2};
	char *v = ts_order_placed(order_id, 1, skus, qty), err[256];
	eda_event_t *ev = NULL;

	ck_assert_msg(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)) == 0, "%s", err);
	free(v);
	return ev;
}

static void cancel(fixture_t *f, const char *order_id)
{
	char *v = ts_order_cancelled(order_id), err[256];
	eda_event_t *ev = NULL;

	ck_assert_msg(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)) == 0, "%s", err);
	free(v);
	ck_assert_msg(inv_release_order(&f->ctx, ev, err, sizeof(err)) == 0, "%s", err);
	eda_event_free(ev);
}

static int64_t stock(fixture_t *f)
{
	int64_t bal = -1;
	char err[256];

	ck_assert_int_eq(inv_stock_balance(&f->ctx, "RET-1", &bal, err, sizeof(err)), 1);
	return bal;
}

START_TEST(old_decided_rows_and_claims_go_the_rest_stays)
{
	fixture_t f;
	inv_product_t p = {.name = strdup("retention"), .price_cents = 1000, .stock = 10};
	eda_event_t *published = placed("order-published"), *waiting = placed("order-waiting");
	const char *key = "order-published/placed";
	int64_t ledger;
	bool created;
	char err[256];

	up(&f);
	snprintf(p.sku, sizeof(p.sku), "RET-1");
	ck_assert_int_eq(inv_product_put(&f.ctx, &p, NULL, &created, err, sizeof(err)), 0);
	inv_product_clear(&p);
	/* Without a publisher both decisions wait for Kafka; one is then
	 * acknowledged. */
	reserve(&f, published);
	reserve(&f, waiting);
	ck_assert_int_eq(inv_mark_published(f.ctx.db, INV_COLL_OUTBOX, &key, 1, err, sizeof(err)),
	                 INV_REPO_OK);
	ledger = count(&f, INV_COLL_LEDGER);
	ck_assert_int_eq(stock(&f), 6);

	/* Young rows stay. */
	ck_assert_int_eq(
	        inv_retention_purge(f.ctx.db, RETENTION_S, eda_clock_wall_ms(), err, sizeof(err)),
	        0);
	ck_assert_int_eq(count(&f, INV_COLL_CLAIMS), 2);
	ck_assert_int_eq(has_row(&f, "order-published"), 1);

	/* Past the retention: the claims and the published decision go; the
	 * decision still waiting for Kafka stays, and so does the ledger. */
	ck_assert_int_eq(inv_retention_purge(f.ctx.db, RETENTION_S,
	                                     eda_clock_wall_ms() + (RETENTION_S + 1) * 1000LL, err,
	                                     sizeof(err)),
	                 3);
	ck_assert_int_eq(count(&f, INV_COLL_CLAIMS), 0);
	ck_assert_int_eq(has_row(&f, "order-published"), 0);
	ck_assert_int_eq(has_row(&f, "order-waiting"), 1);
	ck_assert_int_eq(count(&f, INV_COLL_LEDGER), ledger);

	/* A redelivery older than the retention is decided again from the
	 * ledger, whose op key refuses a second reservation: no stock moves. */
	reserve(&f, published);
	ck_assert_int_eq(has_row(&f, "order-published"), 1);
	ck_assert_int_eq(stock(&f), 6);
	ck_assert_int_eq(count(&f, INV_COLL_LEDGER), ledger);

	/* A CONFIRMED order cancelled after the retention, its claim and
	 * decision purged: the ledger still tells what it holds, and the cancel
	 * gives it back. */
	ck_assert_int_eq(inv_mark_published(f.ctx.db, INV_COLL_OUTBOX, &key, 1, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(inv_retention_purge(f.ctx.db, RETENTION_S,
	                                     eda_clock_wall_ms() + (RETENTION_S + 1) * 1000LL, err,
	                                     sizeof(err)) >= 1,
	                 1);
	ck_assert_int_eq(has_row(&f, "order-published"), 0);
	cancel(&f, "order-published");
	ck_assert_int_eq(stock(&f), 8);
	cancel(&f, "order-published"); /* redelivered: nothing twice */
	ck_assert_int_eq(stock(&f), 8);

	eda_event_free(published);
	eda_event_free(waiting);
	down(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_retention");
	TCase *tc = tcase_create("retention");

	eda_log_init("test-retention", EDA_LOG_WARN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, old_decided_rows_and_claims_go_the_rest_stays);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
