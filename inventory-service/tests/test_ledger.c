/*
 * The ledger's head lookup far from its starting point (a stale products
 * cache, a cache past the head) against the real MongoDB-protocol server,
 * with every command the process sends watched (mongo-c-driver's command
 * monitoring). On MongoDB no index serves a query on sku, so the search must
 * go by _id only; on FerretDB 1.24 every filtered read is a scan (its
 * PostgreSQL handler filters with `_jsonb->'_id' @> value` even for _id), so
 * there one query on sku is the cheapest and the search may use it once.
 */
#include <check.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

#include "eda/log.h"
#include "repositories/indexes.h"
#include "repositories/ledger.h"
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
	inv_db_t *db;    /* watched */
	inv_db_t *setup; /* made the database; drops it */
	char name[64];
	watch_t watch;
} fixture_t;

/* The watched database handle is a second one on the same database, watched
 * from its first command on. */
static void up(fixture_t *f)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	f->setup = ts_inv_db_new("invl", f->name);
	f->db = inv_db_open(getenv("MONGODB_URL"), f->name, 4, 0, err, sizeof(err));
	ck_assert_msg(f->db != NULL, "%s", err);
	inv_db_observe(f->db, seen, &f->watch);
	ck_assert_msg(inv_indexes_ensure(f->db, err, sizeof(err)) == 0, "%s", err);
}

static void down(fixture_t *f)
{
	inv_db_close(f->db);
	ts_inv_db_drop(f->setup, f->name);
}

/* The head of SKU from FROM, with the finds it sent; asserts them by the
 * strategy the database handle takes: by _id only for MongoDB, at most one
 * other (the query on sku) for FerretDB. */
static int head(fixture_t *f, const char *sku, int64_t from, inv_ledger_entry_t *e)
{
	char err[256];
	int rc;

	f->watch = (watch_t){.on = true};
	rc = inv_ledger_head(f->db, sku, from, e, err, sizeof(err));
	ck_assert_msg(rc >= 0, "%s", err);
	f->watch.on = false;
	ck_assert_msg(f->watch.other <= (inv_db_is_ferretdb(f->db) ? 1 : 0),
	              "from %lld: %d finds not by _id, e.g. %s", (long long)from, f->watch.other,
	              f->watch.example);
	return rc;
}

/* 300 versions of one SKU: the head from 0 (four windows, then the rest),
 * from the middle, from the head, from past it; a SKU without entries. Both
 * strategies run (_i: 0 as the server is, 1 the other one), against the
 * stack's server, which answers the same reads either way. */
START_TEST(a_head_far_from_its_start)
{
	fixture_t f;
	inv_ledger_entry_t *chain = calloc(300, sizeof(*chain)), e;
	size_t landed;
	char err[256];

	up(&f);
	for (int i = 0; i < 300; i++) {
		memset(&chain[i], 0, sizeof(chain[i]));
		snprintf(chain[i].sku, sizeof(chain[i].sku), "SKU-H");
		snprintf(chain[i].kind, sizeof(chain[i].kind), "restock");
		snprintf(chain[i].op, sizeof(chain[i].op), "restock/SKU-H/%d", i);
		chain[i].version = i + 1;
		chain[i].balance = 1000 - i;
		chain[i].delta = -1;
	}
	ck_assert_int_eq(inv_ledger_append_chain(f.db, chain, 300, &landed, err, sizeof(err)),
	                 INV_REPO_OK);
	ck_assert_int_eq(landed, 300);
	if (_i == 1)
		inv_db_set_ferretdb(f.db, !inv_db_is_ferretdb(f.db));
	for (int64_t from = 0; from <= 600; from += 50) {
		ck_assert_int_eq(head(&f, "SKU-H", from, &e), 1);
		ck_assert_int_eq(e.version, 300);
		ck_assert_int_eq(e.balance, 701);
	}
	ck_assert_int_eq(head(&f, "SKU-NONE", 0, &e), 0);
	ck_assert_int_eq(head(&f, "SKU-NONE", 40, &e), 0);
	free(chain);
	down(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory_ledger");
	TCase *tc = tcase_create("ledger");

	eda_log_init("test-ledger", EDA_LOG_WARN);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, a_head_far_from_its_start, 0, 2);
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
