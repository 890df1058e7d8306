/*
 * Group commit of OrderPlaced (inv_reserve_orders) against the real
 * MongoDB-protocol server, without Kafka: the batch decides its orders on
 * the heads this process knows and writes all their ledger entries in one
 * ordered insert. The dangerous case is another process taking a version of
 * a SKU that two orders of the batch chain on (v+1 and v+2, the second
 * computed from the first): the insert must stop at the refused v+1, so that
 * no balance computed from a state that never existed lands, and the orders
 * from there on must be judged again on the ledger. The competitor's entry
 * is inserted directly, leaving this process's head hint stale, which is
 * what a second inventory process does.
 */
#include <check.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/log.h"
#include "repositories/claims.h"
#include "repositories/ledger.h"
#include "repositories/outbox.h"
#include "repositories/published.h"
#include "services/products.h"
#include "services/reservation.h"
#include "support/check_main.h"
#include "support/inv_support.h"

typedef struct fixture {
	inv_ctx_t ctx;
	char db[64];
} fixture_t;

static void up(fixture_t *f)
{
	memset(&f->ctx, 0, sizeof(f->ctx));
	f->ctx.db = ts_inv_db_new("invb", f->db);
	f->ctx.heads = inv_heads_new(64);
	f->ctx.store_currency = "EUR";
}

static void down(fixture_t *f)
{
	inv_heads_free(f->ctx.heads);
	ts_inv_db_drop(f->ctx.db, f->db);
}

static eda_event_t *placed(const char *order_id, size_t n, const char *const *skus, const int *qty)
{
	char *v = ts_order_placed(order_id, n, skus, qty), err[256];
	eda_event_t *ev = NULL;

	ck_assert_msg(eda_event_parse(v, strlen(v), &ev, err, sizeof(err)) == 0, "%s", err);
	free(v);
	return ev;
}

static const char *outcome(fixture_t *f, const char *order_id, char out[24])
{
	char id[INV_OUTBOX_ID_MAX], err[256];
	inv_outbox_row_t row;
	int rc;

	inv_outbox_id(id, order_id, "placed");
	rc = inv_outbox_get(f->ctx.db, id, &row, err, sizeof(err));
	ck_assert_int_ge(rc, 0);
	snprintf(out, 24, "%s", rc == 1 ? row.outcome : "none");
	inv_outbox_row_clear(&row);
	return out;
}

/* Walks SKU's ledger from version 1: versions contiguous, each balance its
 * predecessor's plus its delta, none negative, each reservation op once.
 * Returns the head's balance. */
static int64_t check_chain(fixture_t *f, const char *sku)
{
	mongoc_client_t *c = inv_db_acquire(f->ctx.db);
	mongoc_collection_t *coll = inv_db_collection(f->ctx.db, c, INV_COLL_LEDGER);
	bson_t *filter = BCON_NEW("sku", BCON_UTF8(sku));
	bson_t *opts = BCON_NEW("sort", "{", "version", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	int64_t version = 0, balance = 0;
	bson_error_t be;

	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		int64_t v = 0, b = 0, d = 0;

		if (bson_iter_init_find(&it, doc, "version"))
			v = bson_iter_as_int64(&it);
		if (bson_iter_init_find(&it, doc, "balance"))
			b = bson_iter_as_int64(&it);
		if (bson_iter_init_find(&it, doc, "delta"))
			d = bson_iter_as_int64(&it);
		ck_assert_int_eq(v, version + 1);
		if (version > 0)
			ck_assert_int_eq(b, balance + d);
		ck_assert_int_ge(b, 0);
		version = v;
		balance = b;
	}
	ck_assert_msg(!mongoc_cursor_error(cur, &be), "%s", be.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	inv_db_release(f->ctx.db, c);
	return balance;
}

/* O0 on B lands in the batch; O1 and O2 chain on A at the stale hint, where
 * a competitor took a version first: O1 still fits on the true head, O2 no
 * longer does. Computed from the stale hint O2's entry would have fitted
 * (10 - 2 - 6 = 2), on the truth it does not (10 - 5 - 2 - 6 < 0). */
START_TEST(chain_stops_at_a_version_taken_by_another_process)
{
	fixture_t f;
	const char *a[] = {"SKU-A"}, *b[] = {"SKU-B"}, *ab[] = {"SKU-B", "SKU-A"};
	eda_event_t *evs[3];
	int q1[] = {1}, q2[] = {1, 2}, q6[] = {6};
	char err[256], o[24];

	up(&f);
	ts_inv_put(&f.ctx, "SKU-A", 10);
	ts_inv_put(&f.ctx, "SKU-B", 10);
	ts_inv_competitor_takes(f.ctx.db, "SKU-A", 5);
	evs[0] = placed("order-0", 1, b, q1);
	evs[1] = placed("order-1", 2, ab, q2);
	evs[2] = placed("order-2", 1, a, q6);
	ck_assert_msg(inv_reserve_orders(&f.ctx, (const eda_event_t *const *)evs, 3, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(outcome(&f, "order-0", o), "reserved");
	ck_assert_str_eq(outcome(&f, "order-1", o), "reserved");
	ck_assert_str_eq(outcome(&f, "order-2", o), "failed");
	ck_assert_int_eq(check_chain(&f, "SKU-A"), 3);
	ck_assert_int_eq(check_chain(&f, "SKU-B"), 8);
	/* Handling the batch again (a redelivery after a failed flush) changes
	 * nothing. */
	ck_assert_msg(inv_reserve_orders(&f.ctx, (const eda_event_t *const *)evs, 3, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	ck_assert_int_eq(check_chain(&f, "SKU-A"), 3);
	ck_assert_int_eq(check_chain(&f, "SKU-B"), 8);
	for (int i = 0; i < 3; i++)
		eda_event_free(evs[i]);
	down(&f);
}
END_TEST

/* An order sees the heads as the earlier orders of its batch left them; the
 * same order twice in one batch is reserved once. */
START_TEST(later_orders_see_earlier_ones_of_the_batch)
{
	fixture_t f;
	const char *c[] = {"SKU-C"};
	eda_event_t *evs[4];
	int q3[] = {3}, q2[] = {2};
	char err[256], o[24];

	up(&f);
	ts_inv_put(&f.ctx, "SKU-C", 5);
	evs[0] = placed("order-a", 1, c, q3);
	evs[1] = placed("order-a", 1, c, q3);
	evs[2] = placed("order-b", 1, c, q3);
	evs[3] = placed("order-c", 1, c, q2);
	ck_assert_msg(inv_reserve_orders(&f.ctx, (const eda_event_t *const *)evs, 4, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(outcome(&f, "order-a", o), "reserved");
	ck_assert_str_eq(outcome(&f, "order-b", o), "failed");
	ck_assert_str_eq(outcome(&f, "order-c", o), "reserved");
	ck_assert_int_eq(check_chain(&f, "SKU-C"), 0);
	for (int i = 0; i < 4; i++)
		eda_event_free(evs[i]);
	down(&f);
}
END_TEST

/* A redelivered batch after a crash: some of its orders were decided (or only
 * claimed) by the delivery that died, the rest are new. One call decides all
 * of them: the claims, marker and outbox inserts store the new ones and
 * refuse the old ones as duplicates without failing the batch (they failed
 * whole, every retry, while any order of the batch was new), and nothing is
 * applied twice. */
START_TEST(a_partly_handled_batch_goes_through_in_one_pass)
{
	enum { N = 8 };
	fixture_t f;
	const char *d[] = {"SKU-D"};
	const char *claimed[] = {"order-6"};
	eda_event_t *evs[N];
	int q1[] = {1};
	int rcs[1];
	char err[256], o[24], id[16];

	up(&f);
	ts_inv_put(&f.ctx, "SKU-D", 100);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "order-%d", i);
		evs[i] = placed(id, 1, d, q1);
	}
	/* The delivery that died decided orders 0, 2 and 4 and only claimed
	 * order 6. */
	for (int i = 0; i < N - 2; i += 2)
		ck_assert_msg(inv_reserve_orders(&f.ctx, (const eda_event_t *const *)&evs[i], 1,
		                                 err, sizeof(err)) == 0,
		              "%s", err);
	ck_assert_int_eq(inv_claims_insert(f.ctx.db, claimed, 1, rcs, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(rcs[0], INV_REPO_OK);
	ck_assert_msg(inv_reserve_orders(&f.ctx, (const eda_event_t *const *)evs, N, err,
	                                 sizeof(err)) == 0,
	              "%s", err);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "order-%d", i);
		ck_assert_str_eq(outcome(&f, id, o), "reserved");
		eda_event_free(evs[i]);
	}
	ck_assert_int_eq(check_chain(&f, "SKU-D"), 100 - N);
	down(&f);
}
END_TEST

/* The reply of an unordered insert in which some documents exist: the new
 * ones are stored, the old ones refused, and the caller is told which is
 * which (MongoDB and FerretDB list every refused document). */
START_TEST(an_unordered_insert_tells_stored_from_refused)
{
	fixture_t f;
	const char *first[] = {"o-1", "o-3"};
	const char *all[] = {"o-0", "o-1", "o-2", "o-3", "o-4"};
	int rcs[5], want[5] = {INV_REPO_OK, INV_REPO_DUP, INV_REPO_OK, INV_REPO_DUP, INV_REPO_OK};
	char err[256];

	up(&f);
	ck_assert_int_eq(inv_claims_insert(f.ctx.db, first, 2, rcs, err, sizeof(err)), INV_REPO_OK);
	ck_assert_msg(inv_claims_insert(f.ctx.db, all, 5, rcs, err, sizeof(err)) == INV_REPO_OK,
	              "%s", err);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rcs[i], want[i]);
	down(&f);
}
END_TEST

/* A backlog's publication marks hundreds of rows at once. When a mark was an
 * update of the row, one command of more statements than FerretDB's pool (50
 * on PostgreSQL, 100 on SQLite) deadlocked the server for the whole
 * database (it holds a pooled connection for each statement until the
 * command ends); now a mark deletes the row's pending marker, many to a
 * command. */
static void count_row(void *ctx, const char *id, const char *const *events, size_t n)
{
	(void)id;
	(void)events;
	(void)n;
	(*(int *)ctx)++;
}

START_TEST(marking_a_large_backlog_published)
{
	enum { ROWS = 300 };
	fixture_t f;
	static char ids[ROWS][INV_OUTBOX_ID_MAX];
	const char *list[ROWS];
	char err[256], order[32];
	int left = 0;

	up(&f);
	for (int i = 0; i < ROWS; i++) {
		snprintf(order, sizeof(order), "order-%d", i);
		inv_outbox_id(ids[i], order, "placed");
		list[i] = ids[i];
		ck_assert_msg(inv_outbox_insert(f.ctx.db, ids[i], order, "reserved", "{}", NULL, 0,
		                                err, sizeof(err)) == INV_REPO_OK,
		              "%s", err);
	}
	ck_assert_int_eq(inv_unpublished(f.ctx.db, INV_COLL_OUTBOX, ROWS, count_row, &left, err,
	                                 sizeof(err)),
	                 ROWS);
	ck_assert_int_eq(left, ROWS);
	ck_assert_msg(inv_mark_published(f.ctx.db, INV_COLL_OUTBOX, list, ROWS, err, sizeof(err)) ==
	                      INV_REPO_OK,
	              "%s", err);
	left = 0;
	ck_assert_int_eq(inv_unpublished(f.ctx.db, INV_COLL_OUTBOX, ROWS, count_row, &left, err,
	                                 sizeof(err)),
	                 0);
	ck_assert_int_eq(left, 0);
	down(&f);
}
END_TEST

/* A crash between a pending marker and its row leaves the marker alone: the
 * scan at start hands nothing out for it, keeps it while a writer could
 * still be between the two writes, and drops it once it is old. */
START_TEST(a_marker_without_its_row_is_dropped_once_old)
{
	fixture_t f;
	const char *young = "young/placed";
	mongoc_client_t *c;
	mongoc_collection_t *pending;
	bson_t *old;
	bson_error_t be;
	char err[256];
	int handed = 0;

	up(&f);
	ck_assert_int_eq(inv_pending_add(f.ctx.db, INV_COLL_OUTBOX, &young, 1, err, sizeof(err)),
	                 INV_REPO_OK);
	c = inv_db_acquire(f.ctx.db);
	pending = inv_db_collection(f.ctx.db, c, INV_COLL_PENDING);
	old = BCON_NEW("_id", BCON_UTF8("outbox/old/placed"), "coll", BCON_UTF8(INV_COLL_OUTBOX),
	               "key", BCON_UTF8("old/placed"), "ts", BCON_INT64(1));
	ck_assert_msg(mongoc_collection_insert_one(pending, old, NULL, NULL, &be), "%s",
	              be.message);
	bson_destroy(old);
	mongoc_collection_destroy(pending);
	inv_db_release(f.ctx.db, c);

	ck_assert_int_eq(inv_unpublished(f.ctx.db, INV_COLL_OUTBOX, 10, count_row, &handed, err,
	                                 sizeof(err)),
	                 0);
	ck_assert_int_eq(handed, 0);
	ck_assert_int_eq(inv_pending_has(f.ctx.db, INV_COLL_OUTBOX, "old/placed", err, sizeof(err)),
	                 0);
	ck_assert_int_eq(inv_pending_has(f.ctx.db, INV_COLL_OUTBOX, young, err, sizeof(err)), 1);
	down(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_batch");
	TCase *tc = tcase_create("batch");

	eda_log_init("test-batch", EDA_LOG_WARN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chain_stops_at_a_version_taken_by_another_process);
	tcase_add_test(tc, later_orders_see_earlier_ones_of_the_batch);
	tcase_add_test(tc, a_partly_handled_batch_goes_through_in_one_pass);
	tcase_add_test(tc, an_unordered_insert_tells_stored_from_refused);
	tcase_add_test(tc, marking_a_large_backlog_published);
	tcase_add_test(tc, a_marker_without_its_row_is_dropped_once_old);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
