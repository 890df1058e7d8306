/*
 * Crash injection: the daemon is started with INVENTORY_CRASH_AT=N, which
 * makes it _exit right after its N-th durable write, for N = 1, 2, ... until
 * a run finishes without crashing. After each crash the real binary is
 * started again; the order's event is redelivered (its offset was never
 * stored) and the stock, the result event (exactly one distinct id) and the
 * InventoryUpdated events (one distinct id per stock change) must come out as
 * if nothing had happened. Runs are done in parallel batches, each with its
 * own topics, group and database.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config/database.h"
#include "eda/log.h"
#include "repositories/indexes.h"
#include "repositories/ledger.h"
#include "repositories/outbox.h"
#include "repositories/published.h"
#include "services/products.h"
#include "services/reservation.h"
#include "support/check_main.h"
#include "support/inv_support.h"
#include "support/kafka_support.h"
#include "utils/crash.h"

#define BATCH   8
#define MAX_N   60
#define NSKU    3
#define WAIT_MS 60000

typedef struct scenario {
	const char *name;
	int64_t stock[NSKU];
	int qty[NSKU];
	int cancel;           /* reserve in-process first, then crash while cancelling */
	const char *result;   /* the result event type expected */
	int64_t final[NSKU];  /* stock afterwards */
	size_t updates[NSKU]; /* InventoryUpdated published per SKU by the daemon */
} scenario_t;

static const scenario_t scenarios[] = {
        {"reserved", {5, 5, 5}, {1, 2, 3}, 0, "InventoryReserved", {4, 3, 2}, {1, 1, 1}},
        {"failed, compensated",
         {5, 5, 1},
         {1, 2, 3},
         0,
         "InventoryReservationFailed",
         {5, 5, 1},
         {2, 2, 0}},
        {"cancelled", {5, 5, 5}, {1, 2, 3}, 1, "InventoryReleased", {5, 5, 5}, {1, 1, 1}},
};

static const char *const skus[NSKU] = {"CR-1", "CR-2", "CR-3"};

typedef struct run {
	ts_inv_t t;
	char order[37];
	unsigned short port;
	pid_t pid;
	int crashed;
	ts_events_t ev;
} run_t;

static void collect_id(void *ctx, const char *id, const char *const *events, size_t n)
{
	json_t *ids = ctx;

	(void)events;
	(void)n;
	json_array_append_new(ids, json_string(id));
}

/* Marks every row published, so that the daemon's own writes start at 1. */
static void mark_all(inv_db_t *db)
{
	const char *colls[] = {INV_COLL_LEDGER, INV_COLL_OUTBOX};
	char err[256];

	for (int c = 0; c < 2; c++) {
		json_t *ids = json_array(), *v;
		const char *list[256];
		size_t i, n = 0;

		ck_assert_int_ge(
		        inv_unpublished(db, colls[c], 256, collect_id, ids, err, sizeof(err)), 0);
		json_array_foreach(ids, i, v) list[n++] = json_string_value(v);
		if (n > 0)
			ck_assert_int_eq(
			        inv_mark_published(db, colls[c], list, n, err, sizeof(err)), 0);
		json_decref(ids);
	}
}

static inv_db_t *open_db(const run_t *r)
{
	char err[256];
	const char *url = getenv("MONGODB_URL");
	inv_db_t *db = inv_db_open(url != NULL ? url : "mongodb://127.0.0.1:57017/inventory",
	                           r->t.db, 4, 0, err, sizeof(err));

	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(inv_indexes_ensure(db, err, sizeof(err)), 0);
	return db;
}

/* Seeds the catalogue (and for a cancel, the reservation) in-process. */
static void prepare(run_t *r, const scenario_t *sc)
{
	inv_db_t *db = open_db(r);
	inv_ctx_t ctx = {.db = db, .store_currency = "EUR"};
	char err[256], *placed;

	for (int i = 0; i < NSKU; i++) {
		inv_product_t p = {
		        .name = strdup("crash test"), .price_cents = 1000, .stock = sc->stock[i]};
		bool created;

		snprintf(p.sku, sizeof(p.sku), "%s", skus[i]);
		ck_assert_int_eq(inv_product_put(&ctx, &p, NULL, &created, err, sizeof(err)), 0);
		inv_product_clear(&p);
	}
	ts_uuid(r->order);
	placed = ts_order_placed(r->order, NSKU, skus, sc->qty);
	if (sc->cancel) {
		eda_event_t *ev = NULL;

		ck_assert_int_eq(eda_event_parse(placed, strlen(placed), &ev, err, sizeof(err)), 0);
		ck_assert_int_eq(inv_reserve_order(&ctx, ev, err, sizeof(err)), 0);
		eda_event_free(ev);
	}
	mark_all(db);
	inv_db_close(db);
	if (sc->cancel) {
		char *c = ts_order_cancelled(r->order);

		ts_send(r->t.orders, r->order, c);
		free(c);
	} else {
		ts_send(r->t.orders, r->order, placed);
	}
	free(placed);
}

static void check_outcome(run_t *r, const scenario_t *sc, long n)
{
	inv_db_t *db = open_db(r);
	inv_ctx_t ctx = {.db = db, .store_currency = "EUR"};
	char err[256];

	ck_assert_msg(ts_events_wait(&r->ev, sc->result, r->order, 1, WAIT_MS) >= 1,
	              "%s, crash at %ld: no %s", sc->name, n, sc->result);
	for (int i = 0; i < NSKU; i++) {
		int64_t bal = -1;

		ts_events_wait(&r->ev, "InventoryUpdated", skus[i], sc->updates[i], WAIT_MS);
		ck_assert_int_eq(inv_stock_balance(&ctx, skus[i], &bal, err, sizeof(err)), 1);
		ck_assert_msg(bal == sc->final[i], "%s, crash at %ld: %s stock %lld, want %lld",
		              sc->name, n, skus[i], (long long)bal, (long long)sc->final[i]);
		ck_assert_msg(ts_events_distinct(&r->ev, "InventoryUpdated", skus[i]) ==
		                      sc->updates[i],
		              "%s, crash at %ld: %zu InventoryUpdated for %s, want %zu", sc->name,
		              n, ts_events_distinct(&r->ev, "InventoryUpdated", skus[i]), skus[i],
		              sc->updates[i]);
	}
	ck_assert_uint_eq(ts_events_distinct(&r->ev, sc->result, r->order), 1);
	ck_assert_uint_eq(ts_events_distinct(&r->ev, NULL, r->order), 1);
	inv_db_close(db);
}

/* Starts R's daemon as a static group member (group.instance.id), so that a
 * restarted process takes over its dead predecessor's partitions at once
 * instead of after the session timeout. */
static pid_t start(run_t *r, const char *crash_at)
{
	pid_t pid;

	setenv("INSTANCE_ID", r->t.group, 1);
	pid = ts_inv_start(&r->t, r->port, NULL, crash_at);
	unsetenv("INSTANCE_ID");
	return pid;
}

/* Waits until R's daemon crashed (1) or published the result (0). */
static int crashed_or_done(run_t *r, const scenario_t *sc)
{
	for (int i = 0; i < WAIT_MS / 100; i++) {
		int rc = ts_inv_try_exit(r->pid);

		if (rc >= 0) {
			ck_assert_msg(rc == INV_CRASH_STATUS, "exit status %d", rc);
			return 1;
		}
		ts_events_poll(&r->ev, 100);
		if (ts_events_find(&r->ev, sc->result, r->order) != NULL) {
			/* Let it finish its marks, then see whether it still
			 * crashes on one of them. */
			for (int k = 0; k < 10 && rc < 0; k++) {
				ts_events_poll(&r->ev, 100);
				rc = ts_inv_try_exit(r->pid);
			}
			if (rc >= 0) {
				ck_assert_int_eq(rc, INV_CRASH_STATUS);
				return 1;
			}
			return 0;
		}
	}
	ck_abort_msg("neither a crash nor a result");
	return -1;
}

START_TEST(converges_after_a_crash_at_every_write)
{
	const scenario_t *sc = &scenarios[_i];
	int finished = 0;
	long n = 1;

	while (!finished) {
		run_t runs[BATCH];

		ck_assert_msg(n < MAX_N, "%s: still crashing after %d writes", sc->name, MAX_N);
		for (int b = 0; b < BATCH; b++) {
			char at[16];

			ts_inv_init(&runs[b].t, "inv-crash", 1);
			prepare(&runs[b], sc);
			ts_events_open(&runs[b].ev, runs[b].t.inventory, 1);
			runs[b].port = ts_free_port();
			snprintf(at, sizeof(at), "%ld", n + b);
			runs[b].pid = start(&runs[b], at);
		}
		/* The runs go on in parallel; this only collects their ends. A
		 * crashed one is started again at once ("" = no crash, no wait). */
		for (int b = 0; b < BATCH; b++) {
			run_t *r = &runs[b];

			r->crashed = crashed_or_done(r, sc);
			if (r->crashed)
				r->pid = start(r, "");
			else
				finished = 1;
		}
		for (int b = 0; b < BATCH; b++)
			check_outcome(&runs[b], sc, n + b);
		for (int b = 0; b < BATCH; b++)
			kill(runs[b].pid, SIGTERM);
		for (int b = 0; b < BATCH; b++) {
			run_t *r = &runs[b];

			ck_assert_int_eq(ts_inv_wait_exit(r->pid, 20), 0);
			ts_events_poll(&r->ev, 100);
			if (b == 0)
				ts_events_validate(&r->ev);
			else
				ts_events_validate_c(&r->ev);
			ts_events_close(&r->ev);
		}
		n += BATCH;
	}
}
END_TEST

/* A batch of orders, crashed at its N-th durable write and delivered again
 * with new orders behind it: the redelivered batch mixes orders decided,
 * half-done and untouched by the delivery that died, and must complete in
 * ONE flush (the issue: a claims insert failed whole on its duplicates, about
 * 25 flushes in a row). Flush failures are counted from the daemon's log
 * ("batch not durable"), which it writes at every failed flush. */
#define MIX_FIRST 6 /* orders of the batch that crashes (the last one too big) */
#define MIX_LATER 4 /* new orders sent after the crash */
#define MIX_ALL   (MIX_FIRST + MIX_LATER)
#define MIX_STOCK 100

typedef struct mix_run {
	run_t r;
	char orders[MIX_ALL][37];
} mix_run_t;

static const int mix_qty[NSKU] = {1, 2, 3};
static const int mix_big[NSKU] = {1, 2, 1000};

static void mix_send(mix_run_t *m, int from, int to)
{
	for (int i = from; i < to; i++) {
		/* The last order of the first batch is short: it is decided
		 * failed, with compensation for its first two lines. */
		char *v = ts_order_placed(m->orders[i], NSKU, skus,
		                          i == MIX_FIRST - 1 ? mix_big : mix_qty);

		ts_send(m->r.t.orders, m->orders[i], v);
		free(v);
	}
}

static void mix_prepare(mix_run_t *m)
{
	inv_db_t *db = open_db(&m->r);
	inv_ctx_t ctx = {.db = db, .store_currency = "EUR"};
	char err[256];

	for (int i = 0; i < NSKU; i++) {
		inv_product_t p = {
		        .name = strdup("crash test"), .price_cents = 1000, .stock = MIX_STOCK};
		bool created;

		snprintf(p.sku, sizeof(p.sku), "%s", skus[i]);
		ck_assert_int_eq(inv_product_put(&ctx, &p, NULL, &created, err, sizeof(err)), 0);
		inv_product_clear(&p);
	}
	mark_all(db);
	inv_db_close(db);
	for (int i = 0; i < MIX_ALL; i++)
		ts_uuid(m->orders[i]);
	mix_send(m, 0, MIX_FIRST);
}

/* Lines of the daemon's log (both runs) that contain NEEDLE. */
static int log_count(const run_t *r, const char *needle)
{
	char path[256], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/tmp/%s-%u.log", r->t.group, r->port);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

/* Waits until M's daemon crashed (1) or decided its first WANT orders (0). */
static int mix_crashed(mix_run_t *m, size_t want)
{
	for (int i = 0; i < WAIT_MS / 100; i++) {
		int rc = ts_inv_try_exit(m->r.pid);

		if (rc >= 0) {
			ck_assert_msg(rc == INV_CRASH_STATUS, "exit status %d", rc);
			return 1;
		}
		if (ts_events_wait(&m->r.ev, NULL, NULL, 1, 0) > 0 &&
		    ts_events_distinct(&m->r.ev, "InventoryReserved", NULL) +
		                    ts_events_distinct(&m->r.ev, "InventoryReservationFailed",
		                                       NULL) ==
		            want) {
			/* Let it finish its marks; it may still crash on one. */
			for (int k = 0; k < 10 && rc < 0; k++) {
				ts_events_poll(&m->r.ev, 100);
				rc = ts_inv_try_exit(m->r.pid);
			}
			ck_assert(rc < 0 || rc == INV_CRASH_STATUS);
			return rc >= 0;
		}
		ts_events_poll(&m->r.ev, 100);
	}
	ck_abort_msg("neither a crash nor the first batch's results");
	return -1;
}

static void mix_check(mix_run_t *m, long n)
{
	inv_db_t *db = open_db(&m->r);
	inv_ctx_t ctx = {.db = db, .store_currency = "EUR"};
	char err[256];

	for (int i = 0; i < MIX_ALL; i++) {
		const char *type =
		        i == MIX_FIRST - 1 ? "InventoryReservationFailed" : "InventoryReserved";

		ck_assert_msg(ts_events_wait(&m->r.ev, type, m->orders[i], 1, WAIT_MS) >= 1,
		              "crash at %ld: order %d has no %s", n, i, type);
		ck_assert_uint_eq(ts_events_distinct(&m->r.ev, NULL, m->orders[i]), 1);
	}
	for (int k = 0; k < NSKU; k++) {
		int64_t bal = -1;

		ck_assert_int_eq(inv_stock_balance(&ctx, skus[k], &bal, err, sizeof(err)), 1);
		ck_assert_msg(bal == MIX_STOCK - (MIX_ALL - 1) * mix_qty[k],
		              "crash at %ld: %s stock %lld, want %d", n, skus[k], (long long)bal,
		              MIX_STOCK - (MIX_ALL - 1) * mix_qty[k]);
	}
	ck_assert_msg(log_count(&m->r, "batch not durable") == 0,
	              "crash at %ld: %d failed flushes after the restart", n,
	              log_count(&m->r, "batch not durable"));
	inv_db_close(db);
}

START_TEST(a_redelivered_batch_completes_in_one_pass)
{
	int finished = 0;
	long n = 1;

	while (!finished) {
		mix_run_t runs[BATCH];

		ck_assert_msg(n < MAX_N, "still crashing after %d writes", MAX_N);
		for (int b = 0; b < BATCH; b++) {
			char at[16];

			ts_inv_init(&runs[b].r.t, "inv-crash-mix", 1);
			mix_prepare(&runs[b]);
			ts_events_open(&runs[b].r.ev, runs[b].r.t.inventory, 1);
			runs[b].r.port = ts_free_port();
			snprintf(at, sizeof(at), "%ld", n + b);
			runs[b].r.pid = start(&runs[b].r, at);
		}
		for (int b = 0; b < BATCH; b++) {
			mix_run_t *m = &runs[b];

			/* New orders queue behind the first batch either way; after
			 * a crash they join its redelivery. */
			m->r.crashed = mix_crashed(m, MIX_FIRST);
			mix_send(m, MIX_FIRST, MIX_ALL);
			/* A crash point past the first batch falls in the later one. */
			if (!m->r.crashed)
				m->r.crashed = mix_crashed(m, MIX_ALL);
			if (m->r.crashed)
				m->r.pid = start(&m->r, "");
			else
				finished = 1;
		}
		for (int b = 0; b < BATCH; b++)
			mix_check(&runs[b], n + b);
		for (int b = 0; b < BATCH; b++)
			kill(runs[b].r.pid, SIGTERM);
		for (int b = 0; b < BATCH; b++) {
			ck_assert_int_eq(ts_inv_wait_exit(runs[b].r.pid, 20), 0);
			ts_events_poll(&runs[b].r.ev, 100);
			ts_events_validate_c(&runs[b].r.ev);
			ts_events_close(&runs[b].r.ev);
		}
		n += BATCH;
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_crash");
	TCase *tc = tcase_create("crash");

	eda_log_init("test-crash", EDA_LOG_WARN);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, converges_after_a_crash_at_every_write, 0,
	                    sizeof(scenarios) / sizeof(scenarios[0]));
	tcase_add_test(tc, a_redelivered_batch_completes_in_one_pass);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
