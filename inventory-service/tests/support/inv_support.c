/* Inventory test helpers; see inv_support.h. */
#include "inv_support.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "repositories/indexes.h"
#include "repositories/ledger.h"
#include "services/products.h"
#include "support/kafka_support.h"

const char *const ts_user_headers[] = {"X-Customer-Id: user-1", NULL};
const char *const ts_admin_headers[] = {"X-Customer-Id: admin-1", "X-Roles: staff,admin", NULL};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Creates the topics in one request through one long-lived admin handle
 * (a new handle per topic costs more than the creation itself). */
static void create_topics(const char *const *names, const int *partitions, size_t n)
{
	static rd_kafka_t *rk;
	static pid_t owner;
	rd_kafka_NewTopic_t *nt[8];
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	char err[512];
	size_t nres;

	ck_assert_uint_le(n, 8);
	/* A handle inherited through fork() has no threads: make a new one
	 * (the old one cannot be destroyed safely here, so it is left). */
	if (rk == NULL || owner != getpid()) {
		owner = getpid();
		rk = rd_kafka_new(RD_KAFKA_PRODUCER, ts_kafka_conf(), err, sizeof(err));
		ck_assert_msg(rk != NULL, "%s", err);
	}
	for (size_t i = 0; i < n; i++) {
		nt[i] = rd_kafka_NewTopic_new(names[i], partitions[i], 1, err, sizeof(err));
		ck_assert_msg(nt[i] != NULL, "%s", err);
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, n, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	ck_assert_msg(ev != NULL, "CreateTopics: no answer");
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
	ck_assert_uint_eq(nres, n);
	for (size_t i = 0; i < nres; i++)
		ck_assert_msg(rd_kafka_topic_result_error(res[i]) == 0 ||
		                      rd_kafka_topic_result_error(res[i]) ==
		                              RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
		              "CreateTopics %s: %s", rd_kafka_topic_result_name(res[i]),
		              rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	for (size_t i = 0; i < n; i++)
		rd_kafka_NewTopic_destroy(nt[i]);
}

/* The databases this process named, dropped when it exits: every run of the
 * suites would otherwise leave dozens behind in the local stack's FerretDB.
 * A forked test inherits the list of the process that forked it, whose
 * databases are still in use: each name keeps the pid that made it. */
static char made_db[256][64];
static pid_t made_by[256];
static int nmade_db;

static void drop_made_dbs(void)
{
	const char *url = getenv("MONGODB_URL");
	mongoc_client_t *c;

	if (url == NULL || nmade_db == 0)
		return;
	mongoc_init();
	if ((c = mongoc_client_new(url)) == NULL)
		return;
	for (int i = 0; i < nmade_db; i++) {
		mongoc_database_t *d;

		if (made_by[i] != getpid())
			continue;
		d = mongoc_client_get_database(c, made_db[i]);

		(void)mongoc_database_drop(d, NULL);
		mongoc_database_destroy(d);
	}
	mongoc_client_destroy(c);
	nmade_db = 0;
}

static void remember_db(const char *name)
{
	if (nmade_db == 0)
		atexit(drop_made_dbs);
	if (nmade_db < (int)(sizeof(made_db) / sizeof(made_db[0]))) {
		made_by[nmade_db] = getpid();
		snprintf(made_db[nmade_db++], sizeof(made_db[0]), "%s", name);
	}
}

void ts_inv_init(ts_inv_t *t, const char *name, int partitions)
{
	char base[96];
	struct timespec ts;

	ts_unique(base, sizeof(base), name);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(t->orders, sizeof(t->orders), "%s.orders", base);
	snprintf(t->inventory, sizeof(t->inventory), "%s.inventory", base);
	snprintf(t->products, sizeof(t->products), "%s.products", base);
	snprintf(t->group, sizeof(t->group), "%s", base);
	snprintf(t->dlq, sizeof(t->dlq), "dlq.%s", base);
	/* MongoDB database names are short and without dots. */
	snprintf(t->db, sizeof(t->db), "invt_%d_%ld%06ld", (int)getpid(), (long)ts.tv_sec % 100000,
	         ts.tv_nsec / 1000);
	remember_db(t->db);
	t->partitions = partitions;
	create_topics((const char *const[]){t->orders, t->inventory, t->products, t->dlq},
	              (const int[]){partitions, partitions, partitions, 1}, 4);
}

static const char *bin_dir(void)
{
	const char *d = getenv("EDA_BIN_DIR");

	return d != NULL && *d != '\0' ? d : "build/bin";
}

static int ready(unsigned short port)
{
	return ts_http(port, "GET", "/readyz", NULL, NULL, 0, NULL) == 200;
}

int ts_inv_wait_log(const ts_inv_t *t, unsigned short port, const char *needle, int timeout_ms)
{
	char path[256], line[4096];

	snprintf(path, sizeof(path), "/tmp/%s-%u.log", t->group, port);
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		FILE *f = fopen(path, "r");
		int found = 0;

		while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
			found = strstr(line, needle) != NULL;
		if (f != NULL)
			fclose(f);
		if (found)
			return 1;
		sleep_ms(50);
	}
	return 0;
}

pid_t ts_inv_start(const ts_inv_t *t, unsigned short port, const char *group, const char *crash_at)
{
	char exe[512], portstr[16], logpath[256];
	pid_t parent = getpid(), pid;

	snprintf(exe, sizeof(exe), "%s/inventory-service", bin_dir());
	snprintf(portstr, sizeof(portstr), "%u", port);
	snprintf(logpath, sizeof(logpath), "/tmp/%s-%u.log", t->group, port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		setenv("PORT", portstr, 1);
		setenv("BIND_ADDR", "127.0.0.1", 1);
		setenv("TOPIC_ORDERS", t->orders, 1);
		setenv("TOPIC_INVENTORY", t->inventory, 1);
		setenv("TOPIC_PRODUCTS", t->products, 1);
		setenv("CONSUMER_GROUP", group != NULL ? group : t->group, 1);
		setenv("MONGODB_DATABASE", t->db, 1);
		setenv("HTTP_THREADS", "2", 1);
		if (getenv("LOG_LEVEL") == NULL)
			setenv("LOG_LEVEL", "info", 1);
		if (crash_at != NULL)
			setenv("INVENTORY_CRASH_AT", crash_at, 1);
		else
			unsetenv("INVENTORY_CRASH_AT");
		execl(exe, exe, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	if (crash_at != NULL)
		return pid;
	for (int i = 0; i < 600; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			ck_abort_msg("inventory-service exited early (%d); see %s",
			             WIFEXITED(st) ? WEXITSTATUS(st) : -1, logpath);
		if (ready(port))
			return pid;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	ck_abort_msg("inventory-service not ready in 30 s; see %s", logpath);
	return -1;
}

int ts_inv_try_exit(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) == pid)
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return -1;
}

int ts_inv_wait_exit(pid_t pid, int timeout_s)
{
	int st;

	for (int i = 0; i < timeout_s * 20; i++) {
		int rc = ts_inv_try_exit(pid);

		if (rc >= 0)
			return rc;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

void ts_inv_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	ck_assert_int_eq(ts_inv_wait_exit(pid, 20), 0);
}

typedef struct {
	char *data;
	size_t len;
} buf_t;

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	buf_t *b = ctx;
	size_t add = size * n;

	b->data = realloc(b->data, b->len + add + 1);
	ck_assert_ptr_nonnull(b->data);
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

long ts_http(unsigned short port, const char *method, const char *path, const char *const *headers,
             const char *body, size_t body_len, json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048];
	buf_t b = {NULL, 0};
	long code = 0;
	CURLcode rc;

	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		/* Small bodies go at once; a large one waits for 100-continue,
		 * so that an early 413 is read instead of a reset. */
		if (body_len < 1024 * 1024)
			h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (out != NULL)
		*out = b.data != NULL ? json_loads(b.data, 0, NULL) : NULL;
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

void ts_put_product(unsigned short port, const char *sku, int64_t stock)
{
	char path[128], body[256];
	long code;

	snprintf(path, sizeof(path), "/products/%s", sku);
	snprintf(body, sizeof(body), "{\"name\":\"Product %s\",\"price\":\"10.00\",\"stock\":%lld}",
	         sku, (long long)stock);
	code = ts_http(port, "PUT", path, ts_admin_headers, body, strlen(body), NULL);
	ck_assert_msg(code == 200 || code == 201, "PUT %s: %ld", sku, code);
}

int64_t ts_stock(unsigned short port, const char *sku)
{
	char path[128];
	json_t *out = NULL;
	long code;
	int64_t stock;

	snprintf(path, sizeof(path), "/products/%s", sku);
	code = ts_http(port, "GET", path, ts_user_headers, NULL, 0, &out);
	ck_assert_int_eq(code, 200);
	stock = json_integer_value(json_object_get(out, "stock"));
	json_decref(out);
	return stock;
}

void ts_uuid(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

static char *serialize(const char *type, const char *order_id, json_t *data)
{
	eda_event_t *ev = eda_event_new("/order-service", type, order_id, data, NULL, "test");
	char *s;

	ck_assert_ptr_nonnull(ev);
	s = eda_event_serialize(ev, NULL);
	eda_event_free(ev);
	ck_assert_ptr_nonnull(s);
	return s;
}

char *ts_order_placed(const char *order_id, size_t n, const char *const *skus, const int *qty)
{
	json_t *items = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:s, s:i, s:s}", "sku", skus[i],
		                                       "quantity", qty[i], "unit_price", "10.00"));
	return serialize("OrderPlaced", order_id,
	                 json_pack("{s:s, s:{s:s, s:s}, s:o, s:s, s:s}", "order_id", order_id,
	                           "customer", "id", "user-1", "email", "user1@example.com",
	                           "items", items, "total", "10.00", "currency", "EUR"));
}

char *ts_order_cancelled(const char *order_id)
{
	return serialize("OrderCancelled", order_id,
	                 json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "order_id", order_id,
	                           "customer", "id", "user-1", "email", "user1@example.com",
	                           "total", "10.00", "currency", "EUR"));
}

void ts_send(const char *topic, const char *key, const char *value)
{
	ts_produce(topic, -1, key, &value, 1);
}

void ts_events_open(ts_events_t *e, const char *topic, int partitions)
{
	char err[256];
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);

	memset(e, 0, sizeof(*e));
	rd_kafka_conf_set(conf, "group.id", "ts-events-reader", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	e->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(e->rk != NULL, "%s", err);
	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		        RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(e->rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
}

void ts_events_poll(ts_events_t *e, int wait_ms)
{
	rd_kafka_message_t *m;

	while ((m = rd_kafka_consumer_poll(e->rk, wait_ms)) != NULL) {
		eda_event_t *ev = NULL;
		char err[256];

		wait_ms = 0;
		if (m->err == 0 &&
		    eda_event_parse(m->payload, m->len, &ev, err, sizeof(err)) == 0) {
			if (e->n == e->cap) {
				e->cap = e->cap ? e->cap * 2 : 64;
				e->ev = realloc(e->ev, e->cap * sizeof(*e->ev));
				e->raw = realloc(e->raw, e->cap * sizeof(*e->raw));
				ck_assert(e->ev != NULL && e->raw != NULL);
			}
			e->raw[e->n] = strndup(m->payload, m->len);
			e->ev[e->n++] = ev;
		} else if (m->err == 0) {
			ck_abort_msg("unparseable event published: %s", err);
		}
		rd_kafka_message_destroy(m);
	}
}

static int matches(const eda_event_t *ev, const char *type, const char *subject)
{
	return (type == NULL || strcmp(ev->type, type) == 0) &&
	       (subject == NULL || strcmp(ev->subject, subject) == 0);
}

static size_t count(const ts_events_t *e, const char *type, const char *subject)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += matches(e->ev[i], type, subject);
	return n;
}

size_t ts_events_wait(ts_events_t *e, const char *type, const char *subject, size_t want,
                      int timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ts_events_poll(e, 100);
		if (count(e, type, subject) >= want)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			break;
	}
	return count(e, type, subject);
}

size_t ts_events_distinct(const ts_events_t *e, const char *type, const char *subject)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		size_t j;

		if (!matches(e->ev[i], type, subject))
			continue;
		for (j = 0; j < i; j++)
			if (matches(e->ev[j], type, subject) &&
			    strcmp(e->ev[j]->id, e->ev[i]->id) == 0)
				break;
		n += j == i;
	}
	return n;
}

const eda_event_t *ts_events_find(const ts_events_t *e, const char *type, const char *subject)
{
	for (size_t i = 0; i < e->n; i++)
		if (matches(e->ev[i], type, subject))
			return e->ev[i];
	return NULL;
}

void ts_events_validate_c(const ts_events_t *e)
{
	char err[512];

	for (size_t i = 0; i < e->n; i++)
		ck_assert_msg(eda_event_validate_data(e->ev[i], err, sizeof(err)) == 0, "%s: %s",
		              e->ev[i]->type, err);
}

void ts_events_validate(const ts_events_t *e)
{
	char dir[] = "/tmp/inv-events-XXXXXX", err[512];
	size_t cmdlen = 256;
	char *cmd;
	int rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < e->n; i++) {
		char path[128];
		FILE *f;

		ck_assert_msg(eda_event_validate_data(e->ev[i], err, sizeof(err)) == 0, "%s: %s",
		              e->ev[i]->type, err);
		snprintf(path, sizeof(path), "%s/%06zu.json", dir, i);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(e->raw[i], f);
		fclose(f);
	}
	if (e->n == 0)
		return;
	cmd = malloc(cmdlen + strlen(dir) * 2);
	ck_assert_ptr_nonnull(cmd);
	snprintf(cmd, cmdlen + strlen(dir) * 2,
	         "python3 common/tests/validate_events.py common/schemas %s/*.json >%s/result.txt "
	         "2>&1",
	         dir, dir);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "schema validation failed: see %s/result.txt", dir);
	snprintf(cmd, cmdlen + strlen(dir) * 2, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	free(cmd);
}

void ts_events_close(ts_events_t *e)
{
	for (size_t i = 0; i < e->n; i++) {
		eda_event_free(e->ev[i]);
		free(e->raw[i]);
	}
	free(e->ev);
	free(e->raw);
	if (e->rk != NULL) {
		rd_kafka_consumer_close(e->rk);
		rd_kafka_destroy(e->rk);
	}
	memset(e, 0, sizeof(*e));
}

inv_db_t *ts_inv_db_new(const char *prefix, char name[64])
{
	static int seq;
	const char *url = getenv("MONGODB_URL");
	char err[256];
	inv_db_t *db;

	ck_assert_msg(url != NULL, "MONGODB_URL not set (source .stack/env)");
	snprintf(name, 64, "%s_%d_%ld_%d", prefix, (int)getpid(), (long)time(NULL) % 100000, seq++);
	db = inv_db_open(url, name, 4, 0, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_msg(inv_indexes_ensure(db, err, sizeof(err)) == 0, "%s", err);
	return db;
}

void ts_inv_db_drop(inv_db_t *db, const char *name)
{
	mongoc_client_t *c = inv_db_acquire(db);
	mongoc_database_t *d = mongoc_client_get_database(c, name);

	(void)mongoc_database_drop(d, NULL);
	mongoc_database_destroy(d);
	inv_db_release(db, c);
	inv_db_close(db);
}

void ts_inv_put(const inv_ctx_t *ctx, const char *sku, int64_t stock)
{
	inv_product_t p = {.price_cents = 1000, .stock = stock};
	bool created;
	char err[256];

	snprintf(p.sku, sizeof(p.sku), "%s", sku);
	p.name = strdup(sku);
	ck_assert_int_eq(inv_product_put(ctx, &p, "req-1", &created, err, sizeof(err)),
	                 INV_STOCK_OK);
	inv_product_clear(&p);
}

void ts_inv_competitor_takes(inv_db_t *db, const char *sku, int64_t qty)
{
	inv_ledger_entry_t head, e;
	char err[256];

	ck_assert_int_eq(inv_ledger_head(db, sku, 0, &head, err, sizeof(err)), 1);
	memset(&e, 0, sizeof(e));
	snprintf(e.sku, sizeof(e.sku), "%s", sku);
	snprintf(e.kind, sizeof(e.kind), "reservation");
	snprintf(e.op, sizeof(e.op), "other/%s/reserve", sku);
	snprintf(e.order_id, sizeof(e.order_id), "other");
	e.version = head.version + 1;
	e.delta = -qty;
	e.balance = head.balance - qty;
	ck_assert_int_eq(inv_ledger_append(db, &e, "{}", err, sizeof(err)), INV_REPO_OK);
}
