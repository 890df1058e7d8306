/* The whole system for end-to-end tests; see system.h. */
#include "system.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eda/topic_reader.h"
#include "support/kafka_support.h"
#include "support/ports.h"
#include "support/run_cmd.h"

const char *const sys_daemon_names[SYS_NDAEMONS] = {"order-service", "inventory-service",
                                                    "notification-service", "api-gateway"};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

/* URL with its last path segment (the database) replaced by DB. */
static void with_database(const char *url, const char *db, char *out, size_t outsz)
{
	const char *slash = strrchr(url, '/');
	const char *query = strchr(url, '?');

	ck_assert_ptr_nonnull(slash);
	snprintf(out, outsz, "%.*s/%s%s", (int)(slash - url), url, db, query ? query : "");
}

static void pg_exec(const char *sql)
{
	PGconn *c = PQconnectdb(env_or("DATABASE_URL", "postgresql://eda@127.0.0.1:55432/eda"));
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static void log_tail(const sys_t *s, int d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "tail -n 30 %s/%s.log >&2", s->logdir, sys_daemon_names[d]);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int http_status(const char *url)
{
	CURL *c = curl_easy_init();
	long code = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return (int)code;
}

static void spawn(sys_t *s, int d)
{
	char bin[512], logpath[256], url[256], port[16];
	const char *dir = env_or("EDA_BIN_DIR", "build/bin");
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/%s", dir, sys_daemon_names[d]);
	ck_assert_msg(access(bin, X_OK) == 0, "%s missing: run make", bin);
	snprintf(logpath, sizeof(logpath), "%s/%s.log", s->logdir, sys_daemon_names[d]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		FILE *log = fopen(logpath, "a");

		if (log == NULL)
			_exit(127);
		dup2(fileno(log), STDOUT_FILENO);
		dup2(fileno(log), STDERR_FILENO);
		snprintf(port, sizeof(port), "%u", s->port[d]);
		setenv("PORT", port, 1);
		setenv("BIND_ADDR", "127.0.0.1", 1);
		setenv("LOG_LEVEL", "info", 1);
		setenv("TOPIC_ORDERS", s->topic_orders, 1);
		setenv("TOPIC_INVENTORY", s->topic_inventory, 1);
		setenv("TOPIC_PAYMENTS", s->topic_payments, 1);
		setenv("TOPIC_PRODUCTS", s->topic_products, 1);
		setenv("CONSUMER_GROUP", s->group[d], 1);
		setenv("DATABASE_URL", s->pg_url, 1);
		with_database(env_or("MONGODB_URL", "mongodb://127.0.0.1:57017/inventory"),
		              s->mongo_db, url, sizeof(url));
		setenv("MONGODB_URL", url, 1);
		setenv("MONGODB_DATABASE", s->mongo_db, 1);
		setenv("MAIL_SPOOL_DIR", s->spool, 1);
		unsetenv("SMTP_URL");
		setenv("JWT_SECRET", s->jwt_secret, 1);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port[SYS_ORDER]);
		setenv("ORDER_SERVICE_URL", url, 1);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port[SYS_INVENTORY]);
		setenv("INVENTORY_SERVICE_URL", url, 1);
		/* End-to-end runs create many orders quickly from few customers. */
		setenv("RATE_LIMIT_PER_SECOND", "100000", 1);
		setenv("RATE_LIMIT_BURST", "100000", 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	s->pid[d] = pid;
}

static void wait_ready(sys_t *s, int d)
{
	char url[128];
	time_t deadline = time(NULL) + 60;
	int status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/readyz", s->port[d]);
	while (http_status(url) != 200) {
		if (waitpid(s->pid[d], &status, WNOHANG) == s->pid[d]) {
			s->pid[d] = 0;
			log_tail(s, d);
			ck_abort_msg("%s exited during start-up", sys_daemon_names[d]);
		}
		if (time(NULL) > deadline) {
			log_tail(s, d);
			ck_abort_msg("%s not ready within 60 s", sys_daemon_names[d]);
		}
		usleep(100 * 1000);
	}
}

static void mint(const sys_t *s, const char *sub, const char *email, const char *roles, char *out,
                 size_t outsz)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	         "JWT_SECRET='%s' %s/api-gateway token --sub %s --email %s --roles %s --ttl 3600",
	         s->jwt_secret, env_or("EDA_BIN_DIR", "build/bin"), sub, email, roles);
	ck_assert_int_eq(ts_run(cmd, out, outsz), 0);
	out[strcspn(out, "\r\n")] = '\0';
	ck_assert_msg(strlen(out) > 20, "no token from api-gateway token");
}

void sys_start(sys_t *s)
{
	char sql[256];

	memset(s, 0, sizeof(*s));
	ts_unique(s->tag, sizeof(s->tag), "e2e");
	for (char *c = s->tag; *c; c++) {
		if (*c == '-')
			*c = '_';
	}
	snprintf(s->topic_orders, sizeof(s->topic_orders), "%s.orders", s->tag);
	snprintf(s->topic_inventory, sizeof(s->topic_inventory), "%s.inventory", s->tag);
	snprintf(s->topic_payments, sizeof(s->topic_payments), "%s.payments", s->tag);
	snprintf(s->topic_products, sizeof(s->topic_products), "%s.products", s->tag);
	ts_create_topic(s->topic_orders, 6);
	ts_create_topic(s->topic_inventory, 6);
	ts_create_topic(s->topic_payments, 6);
	ts_create_topic(s->topic_products, 6);
	/* A copy: GCC's -Wrestrict cannot tell s->tag from s->group[d]. */
	char tag[sizeof(s->tag)];

	memcpy(tag, s->tag, sizeof(tag));
	for (int d = 0; d < SYS_NDAEMONS; d++) {
		char dlq[160];

		snprintf(s->group[d], sizeof(s->group[d]), "%s.%s", tag, sys_daemon_names[d]);
		snprintf(dlq, sizeof(dlq), "dlq.%s", s->group[d]);
		if (d != SYS_GATEWAY)
			ts_create_topic(dlq, 1);
		if (d == SYS_ORDER) { /* the catalogue replica's group */
			snprintf(dlq, sizeof(dlq), "dlq.%s-catalogue", s->group[d]);
			ts_create_topic(dlq, 1);
		}
		s->port[d] = ts_free_port();
	}
	snprintf(s->pg_db, sizeof(s->pg_db), "%s", s->tag);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", s->pg_db);
	pg_exec(sql);
	with_database(env_or("DATABASE_URL", "postgresql://eda@127.0.0.1:55432/eda"), s->pg_db,
	              s->pg_url, sizeof(s->pg_url));
	snprintf(s->mongo_db, sizeof(s->mongo_db), "%s", s->tag);
	snprintf(s->spool, sizeof(s->spool), "/tmp/%s-mail", s->tag);
	snprintf(s->logdir, sizeof(s->logdir), "/tmp/%s-logs", s->tag);
	ck_assert_int_eq(mkdir(s->spool, 0755), 0);
	ck_assert_int_eq(mkdir(s->logdir, 0755), 0);
	snprintf(s->jwt_secret, sizeof(s->jwt_secret), "e2e-secret-%s-0123456789", s->tag);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	for (int d = 0; d < SYS_NDAEMONS; d++) {
		spawn(s, d);
		wait_ready(s, d);
	}
	mint(s, "admin-1", "admin@example.com", "admin", s->admin_token, sizeof(s->admin_token));
	mint(s, "customer-1", "c1@example.com", "customer", s->customer_token,
	     sizeof(s->customer_token));
	mint(s, "customer-2", "c2@example.com", "customer", s->other_token, sizeof(s->other_token));
}

static int stop_one(sys_t *s, int d)
{
	int status = -1;

	if (s->pid[d] <= 0)
		return 0;
	kill(s->pid[d], SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(s->pid[d], &status, WNOHANG) == s->pid[d]) {
			s->pid[d] = 0;
			return status;
		}
		usleep(100 * 1000);
	}
	kill(s->pid[d], SIGKILL);
	waitpid(s->pid[d], &status, 0);
	s->pid[d] = 0;
	return status;
}

void sys_restart(sys_t *s, int d)
{
	int status = stop_one(s, d);

	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		log_tail(s, d);
		ck_abort_msg("%s did not exit cleanly on SIGTERM (status %d)", sys_daemon_names[d],
		             status);
	}
	spawn(s, d);
	wait_ready(s, d);
}

void sys_stop(sys_t *s)
{
	char sql[256], cmd[512];

	for (int d = SYS_NDAEMONS - 1; d >= 0; d--)
		stop_one(s, d);
	if (s->pg_db[0] != '\0') {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", s->pg_db);
		pg_exec(sql);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", s->spool, s->logdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", s->spool);
	curl_global_cleanup();
}

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;

	b->data = realloc(b->data, b->len + add + 1);
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

int sys_http(const sys_t *s, const char *method, const char *path, const char *token,
             const char *body, const char *extra_header, json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {NULL, 0};
	char url[1024], auth[2200];
	long code = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port[SYS_GATEWAY], path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (extra_header != NULL)
		h = curl_slist_append(h, extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (out != NULL)
		*out = b.data != NULL ? json_loads(b.data, 0, NULL) : NULL;
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return (int)code;
}

/* Waits until the order service's catalogue replica has SKU at PRICE: the
 * product travels as ProductChanged through Kafka, and an order for it placed
 * before it arrives is refused (422 unknown product, or 409 at an old price). */
static void wait_catalogue(const sys_t *s, const char *sku, const char *price)
{
	PGconn *c = PQconnectdb(s->pg_url);
	const char *params[] = {sku, price};
	bool there = false;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	for (time_t deadline = time(NULL) + 30; !there && time(NULL) < deadline;) {
		PGresult *r = PQexecParams(c,
		                           "SELECT 1 FROM catalogue WHERE sku = $1 AND "
		                           "price_cents = round($2::numeric * 100)",
		                           2, NULL, params, NULL, NULL, 0);

		there = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		PQclear(r);
		if (!there)
			usleep(50 * 1000);
	}
	PQfinish(c);
	ck_assert_msg(there, "%s at %s never reached the order service's catalogue", sku, price);
}

void sys_put_product(const sys_t *s, const char *sku, const char *price, long stock)
{
	char path[128], body[256];
	json_t *out = NULL;
	int code;

	snprintf(path, sizeof(path), "/products/%s", sku);
	snprintf(body, sizeof(body), "{\"name\":\"Product %s\",\"price\":\"%s\",\"stock\":%ld}",
	         sku, price, stock);
	code = sys_http(s, "PUT", path, s->admin_token, body, NULL, &out);
	ck_assert_msg(code == 200 || code == 201, "PUT %s: %d", path, code);
	json_decref(out);
	wait_catalogue(s, sku, price);
}

json_t *sys_wait_order(const sys_t *s, const char *token, const char *id, int timeout_s)
{
	char path[160];
	time_t deadline = time(NULL) + timeout_s;
	json_t *o = NULL;

	snprintf(path, sizeof(path), "/orders/%s?wait=5", id);
	for (;;) {
		const char *status;

		json_decref(o);
		o = NULL;
		ck_assert_int_eq(sys_http(s, "GET", path, token, NULL, NULL, &o), 200);
		status = json_string_value(json_object_get(o, "status"));
		ck_assert_ptr_nonnull(status);
		if (strcmp(status, "PENDING") != 0 || time(NULL) >= deadline)
			return o;
	}
}

static int collect_value(const rd_kafka_message_t *m, void *ctx)
{
	json_t *v = json_loadb(m->payload, m->len, 0, NULL);

	json_array_append_new(ctx, v != NULL ? v : json_null());
	return 0;
}

json_t *sys_read_topic(const char *topic)
{
	char err[512];
	eda_topic_reader_t *r = eda_topic_reader_new(ts_kafka_conf(), err, sizeof(err));
	json_t *all = json_array();

	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_msg(eda_topic_reader_add(r, topic, NULL, 0, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(eda_topic_reader_run(r, collect_value, all, 60000, err, sizeof(err)) == 0,
	              "%s", err);
	eda_topic_reader_free(r);
	return all;
}
