/*
 * chaos-check: the invariants of the fault-injection suite (tests/chaos/run.sh),
 * read from the stores of one run once its load has stopped and its sagas have
 * drained:
 *
 *   1. every acknowledged order (201) exists, and no order is left PENDING;
 *   2. the inventory ledger is one unbroken chain per SKU (versions contiguous,
 *      balance = previous balance + delta), never below zero, and no op (a
 *      reservation or a release of one order line) appears twice;
 *   3. each order line's effect matches its order's final status: CONFIRMED and
 *      PAID lines are reserved once and not released, REJECTED and CANCELLED
 *      lines are released exactly as much as was reserved;
 *   4. stock: each SKU's ledger head = initial stock - the quantities of the
 *      CONFIRMED and PAID orders (- what PENDING orders hold, already
 *      reported by 1, so that drift means a real difference);
 *   5. every e-mail the saga owes (one per OrderPlaced, OrderConfirmed,
 *      OrderRejected and OrderCancelled event of the order service's outbox) is
 *      in the notification service's spool (<event id>@<domain>.eml);
 *   6. the dead-letter topics are empty.
 *
 *   chaos-check --acked FILE --initial FILE --spool DIR [--dlq TOPIC]...
 *
 * FILE of --acked: an order id a line (bench/system/load.c, mixed mode); of
 * --initial: "sku stock" a line. Stores from the environment: DATABASE_URL,
 * MONGODB_URL (+ MONGODB_DATABASE), KAFKA_BOOTSTRAP_SERVERS. Prints a summary
 * and one "chaos-check: BROKEN ..." line per broken invariant (with up to five
 * examples). Exit status 0 when all hold, 1 when one breaks, 2 for bad usage or
 * a store that cannot be read (then nothing is known).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DLQ       16
#define EXAMPLES      5
#define MAX_LINES     8 /* order lines the suite's load makes: 1-3 */
#define KEY_MAX       200
#define KAFKA_WAIT_MS 10000

/* ---- a string -> index map (open addressing, grows at half full) --------- */

typedef struct map {
	char **keys;
	long *vals;
	size_t cap, n;
} map_t;

/* Out of memory ends the check: nothing can be said about the invariants. */
static void *need(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "chaos-check: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	return need(calloc(n, size));
}

/* Room for one more element in the array P of *CAP elements of SIZE bytes
 * holding N: doubles it when full. Returns the array, maybe moved. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 1024;
	return need(realloc(p, *cap * size));
}

static size_t hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return (size_t)h;
}

static size_t slot_of(const map_t *m, const char *key)
{
	size_t i = hash(key) & (m->cap - 1);

	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The value of KEY, or -1. */
static long map_get(const map_t *m, const char *key)
{
	if (m->cap == 0)
		return -1;
	size_t i = slot_of(m, key);
	return m->keys[i] ? m->vals[i] : -1;
}

/* Sets KEY to VAL unless present; returns the value held before, or -1. */
static long map_put(map_t *m, const char *key, long val)
{
	if (2 * (m->n + 1) > m->cap) {
		map_t big = {.cap = m->cap ? 2 * m->cap : 1024};

		big.keys = xcalloc(big.cap, sizeof(char *));
		big.vals = xcalloc(big.cap, sizeof(long));
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i] != NULL) {
				size_t j = slot_of(&big, m->keys[i]);
				big.keys[j] = m->keys[i];
				big.vals[j] = m->vals[i];
			}
		big.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = big;
	}
	size_t i = slot_of(m, key);
	if (m->keys[i] != NULL)
		return m->vals[i];
	m->keys[i] = need(strdup(key));
	m->vals[i] = val;
	m->n++;
	return -1;
}

static void map_free(map_t *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

/* ---- what was read ------------------------------------------------------- */

typedef struct line {
	char sku[72];
	long quantity, reserved, released;
} line_t;

typedef struct order {
	char id[40];
	char status[16];
	int nlines;
	line_t lines[MAX_LINES];
} order_t;

typedef struct entry {
	long sku; /* index into skus */
	long version, balance, delta;
} entry_t;

typedef struct sku {
	char name[72];
	long initial, expected, head;
	int known; /* in the initial file */
} sku_t;

typedef struct state {
	order_t *orders;
	size_t norders;
	map_t order_ix; /* order id -> index */
	map_t line_ix;  /* "<order>/<sku>" -> index * MAX_LINES + line */
	sku_t *skus;
	size_t nskus, skus_cap;
	map_t sku_ix;
	entry_t *entries;
	size_t nentries, entries_cap;
	int broken;
} state_t;

/* One broken invariant: the first EXAMPLES examples are printed. */
typedef struct finding {
	const char *what;
	long count;
} finding_t;

static void example(finding_t *f, const char *fmt, ...)
{
	va_list ap;

	if (f->count++ >= EXAMPLES)
		return;
	printf("chaos-check:   %s: ", f->what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Closes a finding: a BROKEN line when it had examples. */
static void verdict(state_t *st, const finding_t *f)
{
	if (f->count == 0)
		return;
	printf("chaos-check: BROKEN %s (%ld)\n", f->what, f->count);
	st->broken = 1;
}

static long sku_index(state_t *st, const char *name)
{
	long i = map_get(&st->sku_ix, name);

	if (i >= 0)
		return i;
	st->skus = grow(st->skus, st->nskus, &st->skus_cap, sizeof(sku_t));
	sku_t *s = &st->skus[st->nskus];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->head = -1;
	map_put(&st->sku_ix, name, (long)st->nskus);
	return (long)st->nskus++;
}

/* ---- PostgreSQL: orders, their lines, the events owed an e-mail ---------- */

static PGresult *query(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "chaos-check: PostgreSQL: %s", PQerrorMessage(pg));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int read_orders(state_t *st, PGconn *pg)
{
	PGresult *res = query(pg, "SELECT o.id, o.status, i.sku, i.quantity FROM orders o "
	                          "JOIN order_items i ON i.order_id = o.id ORDER BY o.id, i.line");
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	st->orders = xcalloc((size_t)n + 1, sizeof(order_t));
	for (int r = 0; r < n; r++) {
		const char *id = PQgetvalue(res, r, 0);
		long ix = map_get(&st->order_ix, id);
		char key[KEY_MAX];

		if (ix < 0) {
			ix = (long)st->norders++;
			map_put(&st->order_ix, id, ix);
			snprintf(st->orders[ix].id, sizeof(st->orders[ix].id), "%s", id);
			snprintf(st->orders[ix].status, sizeof(st->orders[ix].status), "%s",
			         PQgetvalue(res, r, 1));
		}
		order_t *o = &st->orders[ix];
		if (o->nlines == MAX_LINES)
			continue;
		line_t *l = &o->lines[o->nlines];
		snprintf(l->sku, sizeof(l->sku), "%s", PQgetvalue(res, r, 2));
		l->quantity = atol(PQgetvalue(res, r, 3));
		snprintf(key, sizeof(key), "%s/%s", id, l->sku);
		map_put(&st->line_ix, key, ix * MAX_LINES + o->nlines);
		o->nlines++;
	}
	PQclear(res);
	return 0;
}

/* ---- MongoDB / FerretDB: the ledger -------------------------------------- */

static const char *str_field(const bson_t *doc, const char *name)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, name) && BSON_ITER_HOLDS_UTF8(&it)
	               ? bson_iter_utf8(&it, NULL)
	               : "";
}

static long int_field(const bson_t *doc, const char *name)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, name) && BSON_ITER_HOLDS_NUMBER(&it)
	               ? (long)bson_iter_as_int64(&it)
	               : 0;
}

/* An entry's op is "<order>/<sku>/reserve|release" for the saga's changes
 * (anything else: "set", "restock" by an administrator or the seed). */
static void apply_op(state_t *st, finding_t *stray, const char *op, long delta)
{
	const char *kind = strrchr(op, '/');
	char key[KEY_MAX];
	long ix;

	if (kind == NULL || (strcmp(kind, "/reserve") != 0 && strcmp(kind, "/release") != 0))
		return;
	snprintf(key, sizeof(key), "%.*s", (int)(kind - op), op);
	if ((ix = map_get(&st->line_ix, key)) < 0) {
		example(stray, "%s", op);
		return;
	}
	line_t *l = &st->orders[ix / MAX_LINES].lines[ix % MAX_LINES];
	if (strcmp(kind, "/reserve") == 0)
		l->reserved += -delta;
	else
		l->released += delta;
}

static int read_ledger(state_t *st, mongoc_client_t *client, const char *dbname)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, dbname, "ledger");
	bson_t *filter = bson_new();
	/* The stored event is the bulk of an entry and is not needed here. */
	bson_t *opts = BCON_NEW("projection", "{", "event", BCON_INT32(0), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t error;
	map_t ops = {0};
	finding_t twice = {"an op (order line reserved or released) applied twice", 0};
	finding_t stray = {"a ledger op names an order line that does not exist", 0};
	int rc = 0;

	while (mongoc_cursor_next(cur, &doc)) {
		const char *op = str_field(doc, "op");

		st->entries = grow(st->entries, st->nentries, &st->entries_cap, sizeof(entry_t));
		entry_t *e = &st->entries[st->nentries++];
		e->sku = sku_index(st, str_field(doc, "sku"));
		e->version = int_field(doc, "version");
		e->balance = int_field(doc, "balance");
		e->delta = int_field(doc, "delta");
		/* The unique index on op makes this impossible; the suite checks
		 * the outcome, not the mechanism. */
		if (op[0] != '\0' && map_put(&ops, op, 1) >= 0) {
			example(&twice, "%s", op);
			continue;
		}
		apply_op(st, &stray, op, e->delta);
	}
	if (mongoc_cursor_error(cur, &error)) {
		fprintf(stderr, "chaos-check: reading the ledger: %s\n", error.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	map_free(&ops);
	verdict(st, &twice);
	verdict(st, &stray);
	return rc;
}

static int by_sku_version(const void *a, const void *b)
{
	const entry_t *x = a, *y = b;

	if (x->sku != y->sku)
		return (x->sku > y->sku) - (x->sku < y->sku);
	return (x->version > y->version) - (x->version < y->version);
}

static void check_chains(state_t *st)
{
	finding_t gap = {"a ledger chain is broken (version gap or balance != previous + delta)",
	                 0};
	finding_t negative = {"stock below zero in the ledger", 0};

	qsort(st->entries, st->nentries, sizeof(entry_t), by_sku_version);
	for (size_t i = 0; i < st->nentries; i++) {
		const entry_t *e = &st->entries[i];
		const char *name = st->skus[e->sku].name;
		int first = i == 0 || st->entries[i - 1].sku != e->sku;

		if (e->balance < 0)
			example(&negative, "%s version %ld balance %ld", name, e->version,
			        e->balance);
		if (first) {
			if (e->version == 1 && e->balance != e->delta)
				example(&gap, "%s version 1 balance %ld delta %ld", name,
				        e->balance, e->delta);
		} else {
			const entry_t *p = &st->entries[i - 1];
			if (e->version != p->version + 1 || e->balance != p->balance + e->delta)
				example(&gap,
				        "%s version %ld (balance %ld) after %ld (balance %ld), "
				        "delta %ld",
				        name, e->version, e->balance, p->version, p->balance,
				        e->delta);
		}
		st->skus[e->sku].head = e->balance;
	}
	verdict(st, &gap);
	verdict(st, &negative);
}

/* ---- the invariants over what was read ----------------------------------- */

static int is_kept(const order_t *o)
{
	return strcmp(o->status, "CONFIRMED") == 0 || strcmp(o->status, "PAID") == 0;
}

static void check_orders(state_t *st)
{
	finding_t pending = {"an order is still PENDING", 0};
	finding_t effect = {"an order line's stock effect does not match its order's status", 0};
	long kept = 0, rejected = 0, cancelled = 0;

	for (size_t i = 0; i < st->norders; i++) {
		const order_t *o = &st->orders[i];

		if (strcmp(o->status, "PENDING") == 0) {
			example(&pending, "%s", o->id);
			/* What a stuck order holds is not drift: the stock check
			 * counts it, so that it reports only a real difference. */
			for (int j = 0; j < o->nlines; j++) {
				long ix = sku_index(st, o->lines[j].sku); /* may move st->skus */
				st->skus[ix].expected +=
				        o->lines[j].reserved - o->lines[j].released;
			}
			continue;
		}
		kept += is_kept(o);
		rejected += strcmp(o->status, "REJECTED") == 0;
		cancelled += strcmp(o->status, "CANCELLED") == 0;
		for (int j = 0; j < o->nlines; j++) {
			const line_t *l = &o->lines[j];
			int ok = is_kept(o) ? l->reserved == l->quantity && l->released == 0
			                    : l->reserved == l->released;

			if (!ok)
				example(&effect,
				        "%s %s %s: quantity %ld, reserved %ld, released %ld", o->id,
				        o->status, l->sku, l->quantity, l->reserved, l->released);
			if (is_kept(o)) {
				long ix = sku_index(st, l->sku); /* may move st->skus */
				st->skus[ix].expected += l->quantity;
			}
		}
	}
	printf("chaos-check: orders: %ld confirmed or paid, %ld rejected, %ld cancelled\n", kept,
	       rejected, cancelled);
	verdict(st, &pending);
	verdict(st, &effect);
}

static int read_initial(state_t *st, const char *path)
{
	char name[72];
	long stock;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "chaos-check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fscanf(f, "%71s %ld", name, &stock) == 2) {
		long ix = sku_index(st, name); /* may move st->skus */
		sku_t *s = &st->skus[ix];

		s->initial = stock;
		s->known = 1;
	}
	fclose(f);
	return 0;
}

static void check_stock(state_t *st)
{
	finding_t drift = {"stock != initial - confirmed (- held by PENDING orders)", 0};

	for (size_t i = 0; i < st->nskus; i++) {
		const sku_t *s = &st->skus[i];
		long want = s->initial - s->expected;

		if (!s->known) {
			example(&drift, "%s is not in the initial catalogue", s->name);
			continue;
		}
		if (s->head != want)
			example(&drift,
			        "%s: ledger head %ld, initial %ld - confirmed or held %ld = %ld",
			        s->name, s->head, s->initial, s->expected, want);
	}
	verdict(st, &drift);
}

static int check_acked(state_t *st, const char *path)
{
	char id[128];
	long n = 0;
	finding_t lost = {"an acknowledged order (201) does not exist", 0};
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "chaos-check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fscanf(f, "%127s", id) == 1) {
		n++;
		if (map_get(&st->order_ix, id) < 0)
			example(&lost, "%s", id);
	}
	fclose(f);
	printf("chaos-check: %ld acknowledged orders, %zu orders in the database\n", n,
	       st->norders);
	verdict(st, &lost);
	return 0;
}

static int check_mail(state_t *st, PGconn *pg, const char *spool)
{
	DIR *d = opendir(spool);
	struct dirent *de;
	map_t sent = {0};
	finding_t missing = {"an e-mail the saga owes is not in the spool", 0};
	PGresult *res;

	if (d == NULL) {
		fprintf(stderr, "chaos-check: %s: %s\n", spool, strerror(errno));
		return -1;
	}
	/* <event id>@<domain>.eml: the event id names the e-mail. */
	while ((de = readdir(d)) != NULL) {
		char *at = strchr(de->d_name, '@');
		size_t len = strlen(de->d_name);

		if (at == NULL || len < 4 || strcmp(de->d_name + len - 4, ".eml") != 0)
			continue;
		*at = '\0';
		map_put(&sent, de->d_name, 1);
	}
	closedir(d);
	res = query(pg, "SELECT event_type, event_id, aggregate_id FROM outbox WHERE event_type IN "
	                "('OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderCancelled')");
	if (res == NULL) {
		map_free(&sent);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++)
		if (map_get(&sent, PQgetvalue(res, r, 1)) < 0)
			example(&missing, "%s %s of order %s", PQgetvalue(res, r, 0),
			        PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
	printf("chaos-check: %d e-mails owed, %zu in the spool\n", PQntuples(res), sent.n);
	PQclear(res);
	map_free(&sent);
	verdict(st, &missing);
	return 0;
}

/* Messages held by TOPIC (sum of high - low watermarks); -1 on error. */
static long topic_messages(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	long total = 0;

	if (t == NULL ||
	    rd_kafka_metadata(rk, 0, t, &md, KAFKA_WAIT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "chaos-check: no metadata for topic %s\n", topic);
		total = -1;
		goto done;
	}
	for (int p = 0; p < md->topics[0].partition_cnt; p++) {
		int64_t lo, hi;

		if (rd_kafka_query_watermark_offsets(rk, topic, md->topics[0].partitions[p].id, &lo,
		                                     &hi,
		                                     KAFKA_WAIT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "chaos-check: no offsets for %s [%d]\n", topic, p);
			total = -1;
			goto done;
		}
		total += (long)(hi - lo);
	}
done:
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	if (t != NULL)
		rd_kafka_topic_destroy(t);
	return total;
}

static int check_dlqs(state_t *st, const char *brokers, char **dlqs, int ndlq)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	finding_t dead = {"a dead-letter topic is not empty", 0};
	int rc = 0;

	if (ndlq == 0) {
		rd_kafka_conf_destroy(conf);
		return 0;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) !=
	            RD_KAFKA_CONF_OK ||
	    (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		fprintf(stderr, "chaos-check: Kafka: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	for (int i = 0; i < ndlq; i++) {
		long n = topic_messages(rk, dlqs[i]);

		if (n < 0) {
			rc = -1;
			break;
		}
		if (n > 0)
			example(&dead, "%s holds %ld (eda-dlq list %s)", dlqs[i], n, dlqs[i]);
	}
	rd_kafka_destroy(rk);
	verdict(st, &dead);
	return rc;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: chaos-check --acked FILE --initial FILE --spool DIR [--dlq TOPIC]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *acked = NULL, *initial = NULL, *spool = NULL;
	char *dlqs[MAX_DLQ];
	int ndlq = 0, rc = 2;
	static state_t st;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--acked") == 0)
			acked = argv[i + 1];
		else if (strcmp(argv[i], "--initial") == 0)
			initial = argv[i + 1];
		else if (strcmp(argv[i], "--spool") == 0)
			spool = argv[i + 1];
		else if (strcmp(argv[i], "--dlq") == 0 && ndlq < MAX_DLQ)
			dlqs[ndlq++] = argv[i + 1];
		else
			return usage();
	}
	const char *pg_url = getenv("DATABASE_URL"), *mongo_url = getenv("MONGODB_URL"),
	           *dbname = getenv("MONGODB_DATABASE"),
	           *brokers = getenv("KAFKA_BOOTSTRAP_SERVERS");
	if (argc % 2 == 0 || !acked || !initial || !spool || !pg_url || !mongo_url || !brokers) {
		fprintf(stderr,
		        "chaos-check: DATABASE_URL, MONGODB_URL and KAFKA_BOOTSTRAP_SERVERS "
		        "must be set\n");
		return usage();
	}

	PGconn *pg = PQconnectdb(pg_url);
	mongoc_client_t *client = NULL;
	mongoc_uri_t *uri = NULL;
	bson_error_t error;

	mongoc_init();
	/* The driver's own warnings (FerretDB has no endSessions) would bury ours. */
	mongoc_log_set_handler(NULL, NULL);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "chaos-check: PostgreSQL: %s", PQerrorMessage(pg));
		goto done;
	}
	if ((uri = mongoc_uri_new_with_error(mongo_url, &error)) == NULL ||
	    (client = mongoc_client_new_from_uri(uri)) == NULL) {
		fprintf(stderr, "chaos-check: not a MongoDB URL: %s\n", mongo_url);
		goto done;
	}
	if (dbname == NULL || *dbname == '\0')
		dbname = mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri) : "inventory";

	if (read_initial(&st, initial) < 0 || read_orders(&st, pg) < 0 ||
	    read_ledger(&st, client, dbname) < 0)
		goto done;
	printf("chaos-check: %zu ledger entries over %zu SKUs\n", st.nentries, st.nskus);
	check_chains(&st);
	check_orders(&st);
	check_stock(&st);
	if (check_acked(&st, acked) < 0 || check_mail(&st, pg, spool) < 0 ||
	    check_dlqs(&st, brokers, dlqs, ndlq) < 0)
		goto done;
	printf("chaos-check: %s\n", st.broken ? "INVARIANTS BROKEN" : "all invariants hold");
	rc = st.broken ? 1 : 0;
done:
	if (client != NULL)
		mongoc_client_destroy(client);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	PQfinish(pg);
	map_free(&st.order_ix);
	map_free(&st.line_ix);
	map_free(&st.sku_ix);
	free(st.orders);
	free(st.skus);
	free(st.entries);
	return rc;
}
