/*
 * The ledger's lookups on the recovery paths (a redelivered reservation that
 * is refused, a compensation, a cancel without a decision, a head far from
 * its starting point) against the real MongoDB-protocol server. FerretDB
 * 1.24 answers a filter on any field but _id by scanning the whole
 * collection, and the ledger only grows, so each lookup must be a lookup by
 * _id: every command the process sends is watched (mongo-c-driver's command
 * monitoring) and every find must filter on _id alone. Also: an attempt whose entry never came (a
 * crash between the two writes) is no entry; a batch stops before an order another delivery
 * attempted; a ledger older than the records is still answered (by a scan).
 */
#include <check.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "repositories/claims.h"
#include "repositories/ledger.h"
#include "repositories/ledger_index.h"
#include "repositories/outbox.h"
#include "services/products.h"
#include "services/reservation.h"
#include "support/check_main.h"
#include "support/inv_support.h"

/* The finds the process sent while ON. */
typedef struct watch {
	bool on;
	int finds;
	int other; /* finds whose filter is not on _id alone */
	char example[512];
} watch_t;

/* Whether FILTER is {_id: "<string>"} or {_id: {$in: ["<string>", ...]}}. */
static bool by_id(const bson_t *filter)
{
	bson_iter_t it, sub;

	if (bson_count_keys(filter) != 1 || !bson_iter_init_find(&it, filter, "_id"))
		return false;
	if (BSON_ITER_HOLDS_UTF8(&it))
		return true;
	return BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &sub) &&
	       bson_iter_next(&sub) && strcmp(bson_iter_key(&sub), "$in") == 0 &&
	       !bson_iter_next(&sub);
}

static void seen(const char *name, const bson_t *command, void *ctx)
{
	watch_t *w = ctx;
	bson_iter_t it;

	if (!w->on || strcmp(name, "find") != 0)
		return;
	w->finds++;
	if (bson_iter_init_find(&it, command, "filter") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_t filter;

		bson_iter_document(&it, &len, &data);
		if (bson_init_static(&filter, data, len) && by_id(&filter))
			return;
	}
	if (w->other++ == 0) {
		char *json = bson_as_canonical_extended_json(command, NULL);

		snprintf(w->example, sizeof(w->example), "%s", json);
		bson_free(json);
	}
}

typedef struct fixture {
	inv_app_t app;
	inv_db_t *setup; /* made the database; drops it */
	char db[64];
	watch_t watch;
} fixture_t;

/* The app's database handle is a second one on the same database, watched
 * from its first command on. */
static void up(fixture_t *f)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	f->setup = ts_inv_db_new("invl", f->db);
	f->app.db = inv_db_open(getenv("MONGODB_URL"), f->db, 4, 0, err, sizeof(err));
	ck_assert_msg(f->app.db != NULL, "%s", err);
	inv_db_observe(f->app.db, seen, &f->watch);
	ck_assert_msg(inv_db_ensure_indexes(f->app.db, err, sizeof(err)) == 0, "%s", err);
	ck_assert(inv_db_ledger_indexed(f->app.db));
	f->app.heads = inv_heads_new(64);
}

static void down(fixture_t *f)
{
	inv_heads_free(f->app.heads);
	inv_db_close(f->app.db);
	ts_inv_db_drop(f->setup, f->db);
}

/* Asserts that the finds since ON were all by _id; returns how many. */
static int watched(fixture_t *f)
{
	int n = f->watch.finds;

	ck_assert_msg(f->watch.other == 0, "%d finds not by _id, e.g. %s", f->watch.other,
	              f->watch.example);
	f->watch.finds = 0;
	return n;
}

static inv_ledger_entry_t entry(const char *sku, int64_t version, int64_t balance,
                                const char *order_id, const char *kind)
{
	inv_ledger_entry_t e;

	memset(&e, 0, sizeof(e));
	snprintf(e.sku, sizeof(e.sku), "%s", sku);
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	snprintf(e.order_id, sizeof(e.order_id), "%s", order_id);
	if (order_id[0] != '\0')
		inv_op_key(e.op, order_id, sku,
		           strcmp(kind, "release") == 0 ? "release" : "reserve");
	else
		snprintf(e.op, sizeof(e.op), "%s/%s/%lld", kind, sku, (long long)version);
	e.version = version;
	e.balance = balance;
	e.delta = -1;
	e.ts_ms = 1;
	return e;
}

static void reserve(fixture_t *f, const char *order_id, size_t n, const char *const *skus,
                    const int *qty)
{
	char *v = ts_order_placed(order_id, n, skus, qty), err[256];
	eda_event_t *ev = NULL;

	ck_assert_msg(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)) == 0, "%s", err);
	free(v);
	ck_assert_msg(inv_reserve_orders(&f->app, (const eda_event_t *const *)&ev, 1, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	eda_event_free(ev);
}

static int find_op(fixture_t *f, const char *order_id, const char *sku, inv_ledger_entry_t *e)
{
	char op[INV_OP_MAX], err[256];
	int rc;

	inv_op_key(op, order_id, sku, "reserve");
	rc = inv_ledger_find_op(f->app.db, op, order_id, "reservation", e, err, sizeof(err));
	ck_assert_msg(rc >= 0, "%s", err);
	return rc;
}

static int of_order(fixture_t *f, const char *order_id, const char *const *skus, size_t n,
                    inv_ledger_entry_t *out)
{
	char err[256];
	int rc = inv_ledger_of_order(f->app.db, order_id, "reservation", skus, n, out,
	                             EDA_EVENT_MAX_ITEMS, err, sizeof(err));

	ck_assert_msg(rc >= 0, "%s", err);
	return rc;
}

/* order-1 lands in one batch; order-2 loses its version to another process
 * three times over (the batch's chain, the per-order batch and the stale
 * hint), so its records #0..#2 name a version that holds another op and #3
 * its entry; order-3 is short and has none. */
START_TEST(recovery_lookups_go_by_id)
{
	fixture_t f;
	const char *ab[] = {"SKU-A", "SKU-B"}, *a[] = {"SKU-A"}, *c[] = {"SKU-C"};
	int q12[] = {1, 2}, q1[] = {1}, q20[] = {20};
	inv_ledger_entry_t e, got[EDA_EVENT_MAX_ITEMS];
	char err[256];

	up(&f);
	ts_inv_put(&f.app, "SKU-A", 10);
	ts_inv_put(&f.app, "SKU-B", 10);
	ts_inv_put(&f.app, "SKU-C", 10);
	reserve(&f, "order-1", 2, ab, q12);
	ts_inv_competitor_takes(f.app.db, "SKU-A", 5);
	reserve(&f, "order-2", 1, a, q1);
	reserve(&f, "order-3", 1, c, q20);

	f.watch.on = true;
	ck_assert_int_eq(find_op(&f, "order-1", "SKU-A", &e), 1);
	ck_assert_int_eq(e.version, 2);
	ck_assert_int_eq(e.delta, -1);
	ck_assert_int_eq(find_op(&f, "order-2", "SKU-A", &e), 1);
	ck_assert_int_eq(e.version, 4);
	ck_assert_int_eq(e.balance, 3);
	/* Bounded by the order's records, not by the ledger. */
	ck_assert_int_le(watched(&f), 4 * 2 + 2 + 8);
	ck_assert_int_eq(find_op(&f, "order-3", "SKU-C", &e), 0);
	ck_assert_int_eq(watched(&f), 1); /* no record #0: never applied */
	ck_assert_int_eq(find_op(&f, "order-9", "SKU-A", &e), 0);
	/* A cancel knows only the order: all its SKUs, each once. */
	ck_assert_int_eq(of_order(&f, "order-1", NULL, 0, got), 2);
	ck_assert_int_eq(got[0].delta + got[1].delta, -3);
	ck_assert_int_eq(of_order(&f, "order-1", a, 1, got), 1);
	ck_assert_str_eq(got[0].sku, "SKU-A");
	ck_assert_int_eq(of_order(&f, "order-2", NULL, 0, got), 1);
	ck_assert_int_eq(got[0].version, 4);
	ck_assert_int_eq(of_order(&f, "order-3", NULL, 0, got), 0);
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-A", 0, &e, err, sizeof(err)), 1);
	ck_assert_int_eq(e.version, 4);
	ck_assert_int_gt(watched(&f), 0);
	down(&f);
}
END_TEST

static void cancel(fixture_t *f, const char *order_id)
{
	char *v = ts_order_cancelled(order_id), err[256];
	eda_event_t *ev = NULL;

	ck_assert_msg(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)) == 0, "%s", err);
	free(v);
	ck_assert_msg(inv_release_order(&f->app, ev, err, sizeof(err)) == 0, "%s", err);
	eda_event_free(ev);
}

/* ORDER_ID's delivery died after its claim and its reservation of QTY of
 * SKU, before its decision (what the batch writes: claim, then the entry
 * via outbox). */
static void died_half_way(fixture_t *f, const char *order_id, const char *sku, int qty)
{
	inv_ledger_entry_t head, e;
	int rc;
	char err[256];

	ck_assert_int_eq(inv_claims_insert(f->app.db, &order_id, 1, &rc, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(inv_ledger_head(f->app.db, sku, 0, &head, err, sizeof(err)), 1);
	e = entry(sku, head.version + 1, head.balance - qty, order_id, "reservation");
	e.delta = -qty;
	ck_assert_int_eq(inv_ledger_append_many(f->app.db, &e, NULL, 1, &rc, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(rc, INV_REPO_OK);
}

static int64_t stock(fixture_t *f, const char *sku)
{
	inv_ledger_entry_t head;
	char err[256];

	ck_assert_int_eq(inv_ledger_head(f->app.db, sku, 0, &head, err, sizeof(err)), 1);
	return head.balance;
}

/* After a crash: a batch redelivered with a decided order, a failed one and
 * one that died half-way, then the cancel of another that died half-way.
 * Every lookup the service makes on the way (claims, decisions, the
 * ledger, its records, the products cache) is a find by _id, and the
 * outcome is right: nothing applied twice, the half-way ones finished or
 * released. */
START_TEST(a_redelivery_and_a_cancel_after_a_crash_find_by_id_only)
{
	fixture_t f;
	const char *ab[] = {"SKU-A", "SKU-B"}, *c[] = {"SKU-C"};
	int q12[] = {1, 2}, q20[] = {20}, q11[] = {1, 1};
	char *v[3], err[256];
	eda_event_t *evs[3];

	up(&f);
	ts_inv_put(&f.app, "SKU-A", 10);
	ts_inv_put(&f.app, "SKU-B", 10);
	ts_inv_put(&f.app, "SKU-C", 10);
	reserve(&f, "order-1", 2, ab, q12);
	reserve(&f, "order-3", 1, c, q20);
	died_half_way(&f, "order-5", "SKU-A", 1);
	died_half_way(&f, "order-6", "SKU-B", 4);
	ck_assert_int_eq(stock(&f, "SKU-A"), 8);
	ck_assert_int_eq(stock(&f, "SKU-B"), 4);

	v[0] = ts_order_placed("order-1", 2, ab, q12);
	v[1] = ts_order_placed("order-3", 1, c, q20);
	v[2] = ts_order_placed("order-5", 2, ab, q11);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(eda_event_parse(v[i], strlen(v[i]), &evs[i], err, sizeof(err)) == 0,
		              "%s", err);
		free(v[i]);
	}
	f.watch.on = true;
	ck_assert_msg(inv_reserve_orders(&f.app, (const eda_event_t *const *)evs, 3, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	cancel(&f, "order-6");
	ck_assert_int_gt(watched(&f), 0);
	f.watch.on = false;
	for (int i = 0; i < 3; i++)
		eda_event_free(evs[i]);
	/* order-5 took its second line only now; order-6 gave back its 4. */
	ck_assert_int_eq(stock(&f, "SKU-A"), 8);
	ck_assert_int_eq(stock(&f, "SKU-B"), 7);
	ck_assert_int_eq(stock(&f, "SKU-C"), 10);
	down(&f);
}
END_TEST

/* A head 300 versions past its starting point, or a starting point past the
 * head, is found by _id: no query on sku. */
START_TEST(a_head_far_from_its_start_is_found_by_id)
{
	fixture_t f;
	inv_ledger_entry_t *chain = calloc(300, sizeof(*chain)), e;
	size_t landed;
	char err[256];

	up(&f);
	for (int i = 0; i < 300; i++)
		chain[i] = entry("SKU-H", i + 1, 1000 - i, "", "restock");
	ck_assert_int_eq(inv_ledger_append_chain(f.app.db, chain, 300, &landed, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(landed, 300);
	f.watch.on = true;
	for (int64_t from = 0; from <= 600; from += 150) {
		ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-H", from, &e, err, sizeof(err)), 1);
		ck_assert_int_eq(e.version, 300);
		ck_assert_int_eq(e.balance, 701);
	}
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-NONE", 0, &e, err, sizeof(err)), 0);
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-NONE", 40, &e, err, sizeof(err)), 0);
	watched(&f);
	free(chain);
	down(&f);
}
END_TEST

/* The process died between an attempt's record and its entry: the record
 * names a version that never came, which is no entry; the redelivery's
 * attempt takes the next record and is found, once. */
START_TEST(an_attempt_whose_entry_never_came_is_no_entry)
{
	fixture_t f;
	inv_ledger_entry_t e = entry("SKU-A", 2, 9, "order-9", "reservation"), got;
	inv_ledger_entry_t all[EDA_EVENT_MAX_ITEMS];
	bool noted;
	char err[256];

	up(&f);
	ts_inv_put(&f.app, "SKU-A", 10);
	ck_assert_int_eq(inv_ledger_index_note(f.app.db, &e, 1, true, &noted, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert(noted);
	f.watch.on = true;
	ck_assert_int_eq(find_op(&f, "order-9", "SKU-A", &got), 0);
	ck_assert_int_eq(of_order(&f, "order-9", NULL, 0, all), 0);
	watched(&f);
	f.watch.on = false;
	ck_assert_int_eq(inv_ledger_append(f.app.db, &e, "{}", err, sizeof(err)), INV_REPO_OK);
	f.watch.on = true;
	ck_assert_int_eq(find_op(&f, "order-9", "SKU-A", &got), 1);
	ck_assert_int_eq(got.version, 2);
	ck_assert_int_eq(of_order(&f, "order-9", NULL, 0, all), 1);
	watched(&f);
	down(&f);
}
END_TEST

/* Another delivery of order-5 made an attempt (its record #0 exists): the
 * batch's chain stops before order-5's entry, like at a refused version, so
 * the order is judged again on the ledger; order-4 before it lands. */
START_TEST(a_chain_stops_before_an_order_attempted_elsewhere)
{
	fixture_t f;
	inv_ledger_entry_t chain[3] = {entry("SKU-A", 2, 9, "order-4", "reservation"),
	                               entry("SKU-B", 2, 9, "order-5", "reservation"),
	                               entry("SKU-C", 2, 9, "order-6", "reservation")};
	inv_ledger_entry_t head;
	size_t landed;
	bool noted;
	char err[256];

	up(&f);
	ts_inv_put(&f.app, "SKU-A", 10);
	ts_inv_put(&f.app, "SKU-B", 10);
	ts_inv_put(&f.app, "SKU-C", 10);
	ck_assert_int_eq(
	        inv_ledger_index_note(f.app.db, &chain[1], 1, false, &noted, err, sizeof(err)),
	        INV_REPO_OK);
	ck_assert_int_eq(inv_ledger_append_chain(f.app.db, chain, 3, &landed, err, sizeof(err)),
	                 INV_REPO_DUP);
	ck_assert_int_eq(landed, 1);
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-A", 0, &head, err, sizeof(err)), 1);
	ck_assert_int_eq(head.version, 2);
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-B", 0, &head, err, sizeof(err)), 1);
	ck_assert_int_eq(head.version, 1);
	ck_assert_int_eq(inv_ledger_head(f.app.db, "SKU-C", 0, &head, err, sizeof(err)), 1);
	ck_assert_int_eq(head.version, 1);
	down(&f);
}
END_TEST

/* A ledger written before the records were kept has entries without them:
 * the database is not marked complete, and a lookup that finds no record
 * asks the ledger itself. A fresh database is marked at once. */
START_TEST(a_ledger_older_than_its_records_is_still_answered)
{
	char name[64], err[256];
	inv_db_t *setup = ts_inv_db_new("invlold", name), *db;
	mongoc_client_t *c;
	mongoc_collection_t *coll, *ops;
	bson_t *old, *mark = BCON_NEW("_id", BCON_UTF8("meta/complete"));
	bson_error_t be;
	inv_ledger_entry_t e;
	watch_t w = {.on = true};

	ck_assert(inv_db_ledger_indexed(setup));
	/* Make it the database of an older version: an entry, no mark. */
	c = inv_db_acquire(setup);
	coll = inv_db_collection(setup, c, INV_COLL_LEDGER);
	ops = inv_db_collection(setup, c, INV_COLL_LEDGER_OPS);
	old = BCON_NEW("_id", BCON_UTF8("SKU-L@1"), "sku", BCON_UTF8("SKU-L"), "version",
	               BCON_INT64(1), "balance", BCON_INT64(5), "delta", BCON_INT64(5), "kind",
	               BCON_UTF8("restock"), "op", BCON_UTF8("restock/SKU-L/k1"), "ts",
	               BCON_INT64(1));
	ck_assert_msg(mongoc_collection_insert_one(coll, old, NULL, NULL, &be), "%s", be.message);
	ck_assert_msg(mongoc_collection_delete_one(ops, mark, NULL, NULL, &be), "%s", be.message);
	bson_destroy(old);
	bson_destroy(mark);
	mongoc_collection_destroy(ops);
	mongoc_collection_destroy(coll);
	inv_db_release(setup, c);

	db = inv_db_open(getenv("MONGODB_URL"), name, 2, 0, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	inv_db_observe(db, seen, &w);
	ck_assert_msg(inv_db_ensure_indexes(db, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!inv_db_ledger_indexed(db));
	w.other = 0;
	ck_assert_int_eq(
	        inv_ledger_find_op(db, "restock/SKU-L/k1", NULL, "restock", &e, err, sizeof(err)),
	        1);
	ck_assert_int_eq(e.balance, 5);
	/* Only there: the watch sees the query on op (and so would see any). */
	ck_assert_int_eq(w.other, 1);
	ck_assert_int_eq(
	        inv_ledger_find_op(db, "restock/SKU-L/k2", NULL, "restock", &e, err, sizeof(err)),
	        0);
	inv_db_close(db);
	ts_inv_db_drop(setup, name);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_ledger");
	TCase *tc = tcase_create("ledger");

	eda_log_init("test-ledger", EDA_LOG_WARN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, recovery_lookups_go_by_id);
	tcase_add_test(tc, a_redelivery_and_a_cancel_after_a_crash_find_by_id_only);
	tcase_add_test(tc, a_head_far_from_its_start_is_found_by_id);
	tcase_add_test(tc, an_attempt_whose_entry_never_came_is_no_entry);
	tcase_add_test(tc, a_chain_stops_before_an_order_attempted_elsewhere);
	tcase_add_test(tc, a_ledger_older_than_its_records_is_still_answered);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
