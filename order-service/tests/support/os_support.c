/*
 * Test helpers of the order-service suites (see os_support.h).
 */
#include "support/os_support.h"

#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/settings.h"
#include "eda/event.h"
#include "eda/log.h"
#include "support/kafka_support.h"

static char db_name[128], db_url[512], admin_url[512];
static char topics[5][200];

static const char *stack_url(void)
{
	const char *u = getenv("OST_ADMIN_DATABASE_URL");

	if (u == NULL)
		u = getenv("DATABASE_URL");
	return u != NULL ? u : "postgresql://eda@127.0.0.1:55432/eda";
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *connect_or_fail(const char *url)
{
	PGconn *c = PQconnectdb(url);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "cannot connect to %s: %s", url,
	              PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

static void exec_or_fail(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	              "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

void ost_create_database(const char *prefix)
{
	char sql[256], *slash;
	PGconn *c;

	snprintf(admin_url, sizeof(admin_url), "%s", stack_url());
	/* Remember the stack's URL: later DATABASE_URL points at our database. */
	setenv("OST_ADMIN_DATABASE_URL", admin_url, 1);
	ts_unique(db_name, sizeof(db_name), prefix);
	for (char *p = db_name; *p; p++)
		if (*p == '-')
			*p = '_';
	c = connect_or_fail(admin_url);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db_name);
	exec_or_fail(c, sql);
	PQfinish(c);
	snprintf(db_url, sizeof(db_url), "%s", admin_url);
	slash = strrchr(db_url, '/');
	ck_assert_ptr_nonnull(slash);
	if (strchr(slash, '?') != NULL)
		*strchr(slash, '?') = '\0';
	snprintf(slash + 1, sizeof(db_url) - (size_t)(slash + 1 - db_url), "%s", db_name);
	setenv("DATABASE_URL", db_url, 1);
}

void ost_drop_database(void)
{
	char sql[256];
	PGconn *c;

	if (db_name[0] == '\0')
		return;
	c = PQconnectdb(admin_url);
	if (PQstatus(c) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db_name);
		PQclear(PQexec(c, sql));
	}
	PQfinish(c);
	db_name[0] = '\0';
}

const char *ost_database_url(void)
{
	return db_url;
}

PGconn *ost_db(void)
{
	return connect_or_fail(db_url);
}

long long ost_sql_num(const char *sql)
{
	PGconn *c = ost_db();
	PGresult *r = PQexec(c, sql);
	long long v = 0;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

void ost_sql(const char *sql)
{
	PGconn *c = ost_db();

	exec_or_fail(c, sql);
	PQfinish(c);
}

void ost_wait_sql(const char *sql, long long want)
{
	time_t deadline = time(NULL) + 60;
	long long v = 0;

	while (time(NULL) < deadline) {
		if ((v = ost_sql_num(sql)) >= want)
			return;
		usleep(20000);
	}
	ck_abort_msg("%s stayed at %lld, wanted %lld", sql, v, want);
}

void ost_create_topics(const char *prefix)
{
	static const char *const names[] = {"orders", "inventory", "payments", "dlq"};
	char base[128], dlq[240];

	ts_unique(base, sizeof(base), prefix);
	for (int i = 0; i < 3; i++) {
		snprintf(topics[i], sizeof(topics[i]), "%s-%s", names[i], base);
		ts_create_topic(topics[i], 3);
	}
	snprintf(topics[3], sizeof(topics[3]), "dlq.group-%s", base);
	ts_create_topic(topics[3], 1);
	snprintf(topics[4], sizeof(topics[4]), "products-%s", base);
	ts_create_topic(topics[4], 3);
	snprintf(dlq, sizeof(dlq), "%s-catalogue", topics[3]);
	ts_create_topic(dlq, 1);
	setenv("TOPIC_ORDERS", topics[0], 1);
	setenv("TOPIC_INVENTORY", topics[1], 1);
	setenv("TOPIC_PAYMENTS", topics[2], 1);
	setenv("TOPIC_PRODUCTS", topics[4], 1);
	setenv("CONSUMER_GROUP", topics[3] + 4, 1);
}

const char *ost_topic(const char *which)
{
	if (strcmp(which, "orders") == 0)
		return topics[0];
	if (strcmp(which, "inventory") == 0)
		return topics[1];
	if (strcmp(which, "payments") == 0)
		return topics[2];
	if (strcmp(which, "products") == 0)
		return topics[4];
	return topics[3];
}

void ost_app_start(os_app_t *app)
{
	os_settings_t cfg;
	eda_env_t env;
	char err[512];
	const char *port = getenv("OST_PORT");

	setenv("PORT", port != NULL ? port : "0", 1);
	setenv("BIND_ADDR", "127.0.0.1", 1);
	if (getenv("KAFKA_BOOTSTRAP_SERVERS") == NULL)
		setenv("KAFKA_BOOTSTRAP_SERVERS", ts_bootstrap(), 1);
	if (getenv("RELAY_SWEEP_MS") == NULL)
		setenv("RELAY_SWEEP_MS", "200", 1);
	if (getenv("RELAY_STANDBY_MS") == NULL)
		setenv("RELAY_STANDBY_MS", "200", 1);
	eda_env_init(&env);
	os_settings_load(&cfg, &env);
	ck_assert_msg(!env.failed, "%s", env.err);
	ck_assert_msg(os_app_start(app, &cfg, err, sizeof(err)) == 0, "app: %s", err);
}

void ost_catalogue_put(const char *sku, const char *price, const char *currency)
{
	char sql[512];

	/* A newer version each time, as inventory-service would publish it. */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO catalogue (sku, name, price_cents, currency, version) VALUES "
	         "('%s', 'test product', (%s::numeric * 100)::bigint, '%s', 1) ON CONFLICT (sku) "
	         "DO UPDATE SET price_cents = excluded.price_cents, currency = excluded.currency, "
	         "version = catalogue.version + 1",
	         sku, price, currency);
	ost_sql(sql);
}

void ost_produce_product(int32_t partition, const char *sku, const char *price,
                         const char *currency, long long version)
{
	char data[512];

	snprintf(data, sizeof(data),
	         "{\"sku\":\"%s\",\"name\":\"Product %s\",\"price\":\"%s\","
	         "\"currency\":\"%s\",\"version\":%lld}",
	         sku, sku, price, currency, version);
	ost_produce_event_to(topics[4], partition, EDA_EVENT_PRODUCT_CHANGED, sku, data, NULL);
}

/* ---- HTTP --------------------------------------------------------------- */

struct sink {
	char *buf;
	size_t len;
};

static size_t append(char *p, size_t sz, size_t n, void *ud)
{
	struct sink *s = ud;

	s->buf = realloc(s->buf, s->len + sz * n + 1);
	memcpy(s->buf + s->len, p, sz * n);
	s->len += sz * n;
	s->buf[s->len] = '\0';
	return sz * n;
}

void ost_http(ost_resp_t *out, unsigned short port, const char *method, const char *path,
              const char *const *headers, const char *body, size_t len)
{
	size_t body_len = body == NULL ? 0 : len ? len : strlen(body);
	/* Small bodies go at once; a large one waits for 100-continue, so that an
	 * early 413 is read instead of a reset of the connection mid-upload. */
	struct curl_slist *hl = body_len < 1024 * 1024 ? curl_slist_append(NULL, "Expect:") : NULL;
	struct sink b = {0}, h = {0};
	CURL *c = curl_easy_init();
	char url[4096];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, append);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	out->body = b.buf != NULL ? b.buf : strdup("");
	out->len = b.len;
	out->headers = h.buf != NULL ? h.buf : strdup("");
	out->hlen = h.len;
}

void ost_resp_free(ost_resp_t *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

json_t *ost_json(const ost_resp_t *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, r->body);
	return j;
}

void ost_header(const ost_resp_t *r, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *line = r->headers; line != NULL && *line != '\0';) {
		const char *end = strstr(line, "\r\n");

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;

			while (*v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(end != NULL ? end - v : (long)strlen(v)),
			         v);
			return;
		}
		line = end != NULL ? end + 2 : NULL;
	}
}

void ost_post(ost_resp_t *r, unsigned short port, const char *who, const char *extra,
              const char *body)
{
	char hc[300];
	const char *h[] = {hc, "X-Customer-Email: ada@example.com",
	                   "Content-Type: application/json", extra, NULL};

	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", who);
	ost_http(r, port, "POST", "/orders", h, body, 0);
}

void ost_get(ost_resp_t *r, unsigned short port, const char *who, const char *roles,
             const char *path)
{
	char hc[300], hr[100];
	const char *h[] = {hc, hr, NULL};

	snprintf(hc, sizeof(hc), "X-Customer-Id: %s", who);
	snprintf(hr, sizeof(hr), "X-Roles: %s", roles != NULL ? roles : "customer");
	ost_http(r, port, "GET", path, h, NULL, 0);
}

long long ost_orders_of(const char *who)
{
	PGconn *c = ost_db();
	const char *p[1] = {who};
	PGresult *r = PQexecParams(c, "SELECT count(*) FROM orders WHERE customer_id = $1", 1, NULL,
	                           p, NULL, NULL, 0);
	long long n;

	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

void ost_place(unsigned short port, const char *customer, const char *body, char id[37])
{
	char hcust[300];
	const char *h[] = {hcust, "X-Customer-Email: ada@example.com",
	                   "Content-Type: application/json", NULL};
	ost_resp_t r;
	json_t *j;

	snprintf(hcust, sizeof(hcust), "X-Customer-Id: %s", customer);
	ost_http(&r, port, "POST", "/orders", h, body, 0);
	ck_assert_msg(r.status == 201, "POST /orders: %ld %s", r.status, r.body);
	j = ost_json(&r);
	snprintf(id, 37, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	ost_resp_free(&r);
}

/* ---- Kafka -------------------------------------------------------------- */

void ost_produce_event(const char *topic, const char *type, const char *order_id, const char *data,
                       const char *id)
{
	ost_produce_event_to(topic, -1, type, order_id, data, id);
}

void ost_produce_event_to(const char *topic, int32_t partition, const char *type,
                          const char *order_id, const char *data, const char *id)
{
	json_t *d = json_loads(data, 0, NULL);
	eda_event_t *ev;
	char *text, err[256];
	const char *values[1];

	ck_assert_msg(d != NULL, "bad test data %s", data);
	ev = eda_event_new("/test", type, order_id, d, NULL, "test-correlation");
	ck_assert_ptr_nonnull(ev);
	if (id != NULL) {
		free(ev->id);
		ev->id = strdup(id);
	}
	ck_assert_msg(eda_event_validate_data(ev, err, sizeof(err)) == 0, "%s", err);
	text = eda_event_serialize(ev, NULL);
	values[0] = text;
	ts_produce(topic, partition, order_id, values, 1);
	free(text);
	eda_event_free(ev);
}

static int by_position(const void *a, const void *b)
{
	const ost_msg_t *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition - y->partition;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

ost_msg_t *ost_read_topic(const char *topic, size_t n, size_t *count)
{
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_topic_partition_list_t *parts;
	const rd_kafka_metadata_t *md;
	rd_kafka_topic_t *rkt;
	ost_msg_t *out = NULL;
	size_t got = 0;
	char err[512], group[300];
	rd_kafka_t *rk;
	time_t deadline;
	int nparts = 0;

	snprintf(group, sizeof(group), "%s-reader-%d", topic, getpid());
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)),
	                 RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	if (md->topic_cnt == 1)
		nparts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	ck_assert_int_gt(nparts, 0);
	parts = rd_kafka_topic_partition_list_new(nparts);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		        RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	for (deadline = time(NULL) + 60; time(NULL) < deadline && got < n;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			out = realloc(out, (got + 1) * sizeof(*out));
			out[got].key = strndup(m->key != NULL ? m->key : "", m->key_len);
			out[got].value = strndup(m->payload != NULL ? m->payload : "", m->len);
			out[got].partition = m->partition;
			out[got].offset = m->offset;
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	/* Anything beyond N that is already there (duplicates) is wanted too. */
	for (time_t extra = time(NULL) + 1; time(NULL) < extra;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			out = realloc(out, (got + 1) * sizeof(*out));
			out[got].key = strndup(m->key != NULL ? m->key : "", m->key_len);
			out[got].value = strndup(m->payload != NULL ? m->payload : "", m->len);
			out[got].partition = m->partition;
			out[got].offset = m->offset;
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	ck_assert_msg(got >= n, "%s: %zu messages, wanted %zu", topic, got, n);
	if (got > 0)
		qsort(out, got, sizeof(*out), by_position);
	*count = got;
	return out;
}

void ost_msgs_free(ost_msg_t *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].key);
		free(m[i].value);
	}
	free(m);
}

void ost_validate_events(const ost_msg_t *m, size_t n)
{
	char dir[] = "/tmp/os-events-XXXXXX", *cmd, path[300];
	const char *src = getenv("EDA_SOURCE_DIR") != NULL ? getenv("EDA_SOURCE_DIR") : ".";
	size_t cap = 256 + n * 64, len;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/e%zu.json", dir, i);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(m[i].value, f);
		fclose(f);
	}
	cmd = malloc(cap);
	len = (size_t)snprintf(
	        cmd, cap, "python3 %s/common/tests/validate_events.py %s/common/schemas", src, src);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(cmd + len, cap - len, " %s/e%zu.json", dir, i);
	snprintf(cmd + len, cap - len, " >%s/out.txt 2>&1", dir);
	status = system(cmd);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char out[2048] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/out.txt", dir);
		f = fopen(path, "r");
		if (f != NULL) {
			size_t r = fread(out, 1, sizeof(out) - 1, f);

			out[r] = '\0';
			fclose(f);
		}
		ck_abort_msg("events fail their JSON Schema: %s", out);
	}
	snprintf(cmd, cap, "rm -rf %s", dir);
	(void)!system(cmd);
	free(cmd);
}
