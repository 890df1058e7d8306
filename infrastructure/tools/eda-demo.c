/*
 * eda-demo: the saga, shown on a running system (`make up`, then `make demo`).
 *
 * Through the gateway only, with real HTTP calls and tokens, it
 *   1. places an order that is confirmed,
 *   2. places one that is rejected for lack of stock,
 *   3. places one, waits for its confirmation and cancels it,
 *   4. changes a product's price and at once places an order quoting the old
 *      one, which the inventory rejects at reservation (price_changed),
 * and for each prints the status sequence, the events seen on the topics (type,
 * id and the id of the event it reacts to) and the e-mails written to the
 * spool. It exits 1 if a saga does not end as expected, 2 for bad usage.
 *
 * Environment: GATEWAY_URL (http://127.0.0.1:8080), TOKEN and ADMIN_TOKEN
 * (bearer tokens, as printed by `make up`), KAFKA_BOOTSTRAP_SERVERS,
 * TOPIC_ORDERS (orders), TOPIC_INVENTORY (inventory), MAIL_SPOOL_DIR (where
 * notification-service writes; .stack/mail).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/event.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/topic_reader.h"

#define MAX_PARTS 64

struct demo {
	const char *gateway, *token, *admin, *spool;
	const char *topics[2];
	int64_t start[2][MAX_PARTS]; /* high watermarks when the demo began */
	int nparts[2];
};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;
	char *grown = realloc(b->data, b->len + add + 1);

	if (grown == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* One HTTP call; returns the status (0 if the gateway is unreachable) and the
 * JSON body in *OUT (may be NULL). */
static int http(const struct demo *d, const char *method, const char *path, const char *token,
                const char *body, json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {NULL, 0};
	char url[512], auth[4096];
	long code = 0;

	snprintf(url, sizeof(url), "%s%s", d->gateway, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "X-Request-Id: demo-request");
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 40L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (out != NULL)
		*out = b.data ? json_loads(b.data, 0, NULL) : NULL;
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return (int)code;
}

static eda_topic_reader_t *reader(void)
{
	char err[512];
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, err, sizeof(err));
	eda_topic_reader_t *r;

	if (conf == NULL) {
		fprintf(stderr, "eda-demo: %s\n", err);
		exit(2);
	}
	r = eda_topic_reader_new(conf, err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "eda-demo: %s\n", err);
		exit(1);
	}
	return r;
}

/* Notes where each partition ends now, so that only this run's events are shown. */
static void mark_start(struct demo *d)
{
	eda_topic_reader_t *r = reader();
	char err[512];

	for (int t = 0; t < 2; t++) {
		if (eda_topic_reader_ends(r, d->topics[t], d->start[t], MAX_PARTS, &d->nparts[t],
		                          err, sizeof(err)) != 0) {
			fprintf(stderr, "eda-demo: %s (is `make up` running?)\n", err);
			exit(1);
		}
	}
	eda_topic_reader_free(r);
}

struct shown {
	const char *order_id;
	int n;
};

static int show_event(const rd_kafka_message_t *m, void *ctx)
{
	struct shown *s = ctx;
	const char *topic = rd_kafka_topic_name(m->rkt);
	eda_event_t *ev = NULL;
	char err[128];

	if (eda_event_parse(m->payload, m->len, &ev, err, sizeof(err)) == 0 &&
	    ev->subject != NULL && strcmp(ev->subject, s->order_id) == 0) {
		printf("    %-10s %-27s id %s\n%47s%s\n", topic, ev->type, ev->id, "caused by ",
		       ev->causationid ? ev->causationid : "(the HTTP request)");
		s->n++;
	}
	eda_event_free(ev);
	return 0;
}

/* Prints the events about ORDER_ID written since mark_start (up to the current
 * end of each partition); returns how many. */
static int show_events(const struct demo *d, const char *order_id)
{
	eda_topic_reader_t *r = reader();
	struct shown s = {.order_id = order_id};
	char err[512];
	int rc = 0;

	for (int t = 0; t < 2 && rc == 0; t++)
		rc = eda_topic_reader_add(r, d->topics[t], d->start[t], d->nparts[t], err,
		                          sizeof(err));
	if (rc == 0)
		rc = eda_topic_reader_run(r, show_event, &s, 20000, err, sizeof(err));
	if (rc != 0)
		printf("    (the topics could not be read to their end: %s)\n", err);
	eda_topic_reader_free(r);
	return s.n;
}

/* Prints the subject line of each spooled e-mail that mentions ORDER_ID (or
 * only counts them when QUIET). */
static int scan_mails(const struct demo *d, const char *order_id, int quiet)
{
	DIR *dir = opendir(d->spool);
	struct dirent *e;
	char prefix[9];
	int n = 0;

	/* Bodies are quoted-printable, which may break the full id across lines;
	 * its first 8 characters (the short form subjects use) stay whole. */
	snprintf(prefix, sizeof(prefix), "%.8s", order_id);

	if (dir == NULL) {
		if (!quiet)
			printf("    (no mail spool at %s: is SMTP_URL set?)\n", d->spool);
		return 0;
	}
	while ((e = readdir(dir)) != NULL) {
		char path[1024], line[1024], subject[512] = "";
		FILE *f;
		int mentions = 0;

		if (strstr(e->d_name, ".eml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->spool, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Subject: ", 9) == 0 && subject[0] == '\0')
				snprintf(subject, sizeof(subject), "%.500s", line + 9);
			if (strstr(line, prefix) != NULL)
				mentions = 1;
		}
		fclose(f);
		if (mentions) {
			subject[strcspn(subject, "\r\n")] = '\0';
			if (!quiet)
				printf("    mail  %s  (%s)\n", subject, e->d_name);
			n++;
		}
	}
	closedir(dir);
	return n;
}

/* Shows the e-mails about ORDER_ID once MAILS of them are there (the
 * notification service works asynchronously), or what there is after 10 s. */
static int show_mails(const struct demo *d, const char *order_id, int mails)
{
	for (int i = 0; i < 100 && scan_mails(d, order_id, 1) < mails; i++)
		usleep(100 * 1000);
	return scan_mails(d, order_id, 0);
}

/* One order: at PRICE (the client's quote), after changing the product's
 * price to REPRICE first when not NULL. */
struct order_spec {
	const char *sku, *price, *reprice;
	int quantity, cancel;
};

#define SAGA_REQUOTE 2 /* the order service already knew the new price: 409 */

/* Places an order, follows its status, optionally cancels it once CONFIRMED;
 * returns 0 if it ends in WANT with MAILS e-mails written about it, 1 if not,
 * SAGA_REQUOTE when the order was refused with 409 price-changed. */
static int saga(const struct demo *d, const char *title, const struct order_spec *o_spec,
                const char *want, int mails)
{
	char body[256], path[256], last[32] = "";
	json_t *o = NULL;
	const char *id;
	int code, ok;

	printf("\n== %s\n", title);
	if (o_spec->reprice != NULL) {
		snprintf(body, sizeof(body),
		         "{\"name\":\"Demo clock\",\"price\":\"%s\",\"stock\":1000}",
		         o_spec->reprice);
		snprintf(path, sizeof(path), "/products/%s", o_spec->sku);
		code = http(d, "PUT", path, d->admin, body, NULL);
		printf("    PUT %s price %s -> %d, then at once an order quoting %s\n", path,
		       o_spec->reprice, code, o_spec->price);
	}
	snprintf(body, sizeof(body),
	         "{\"items\":[{\"sku\":\"%s\",\"quantity\":%d,\"unit_price\":\"%s\"}],"
	         "\"currency\":\"EUR\"}",
	         o_spec->sku, o_spec->quantity, o_spec->price);
	code = http(d, "POST", "/orders", d->token, body, &o);
	if (code == 409 && o_spec->reprice != NULL) {
		printf("    POST /orders -> 409 price-changed: the order service's catalogue "
		       "already "
		       "had the new price\n");
		json_decref(o);
		return SAGA_REQUOTE;
	}
	if (code != 201 || json_string_value(json_object_get(o, "id")) == NULL) {
		printf("    POST /orders answered %d\n", code);
		json_decref(o);
		return 1;
	}
	char *order_id = strdup(json_string_value(json_object_get(o, "id")));
	id = order_id;
	printf("    POST /orders -> 201, order %s\n    status: %s", id,
	       json_string_value(json_object_get(o, "status")));
	snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(o, "status")));
	for (int i = 0; i < 20 && strcmp(last, "PENDING") == 0; i++) {
		json_decref(o);
		snprintf(path, sizeof(path), "/orders/%s?wait=5", id);
		if (http(d, "GET", path, d->token, NULL, &o) != 200)
			break;
		snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(o, "status")));
		if (strcmp(last, "PENDING") != 0)
			printf(" -> %s", last);
	}
	if (o_spec->cancel && strcmp(last, "CONFIRMED") == 0) {
		json_decref(o);
		snprintf(path, sizeof(path), "/orders/%s/cancel", id);
		code = http(d, "POST", path, d->token, NULL, &o);
		snprintf(last, sizeof(last), "%s",
		         code == 200 ? json_string_value(json_object_get(o, "status")) : "?");
		printf(" -> %s (POST /orders/{id}/cancel: %d)", last, code);
	}
	printf("\n");
	if (strcmp(last, "REJECTED") == 0 && json_is_string(json_object_get(o, "reason")))
		printf("    reason: %s\n", json_string_value(json_object_get(o, "reason")));
	json_decref(o);
	usleep(500 * 1000); /* let the saga's last events land before reading the topics */
	show_events(d, id);
	ok = strcmp(last, want) == 0 && show_mails(d, id, mails) >= mails;
	printf("    %s: ended %s with its e-mails, expected %s\n", ok ? "OK" : "FAILED", last,
	       want);
	free(order_id);
	return ok ? 0 : 1;
}

/* The catalogue owns prices: the price changes just before an order that
 * quotes the old one. The order service's replica of the catalogue follows
 * the change a moment later through Kafka; if the order reaches it first, it
 * is accepted at the old price and the inventory, which checks the price at
 * reservation, rejects it (price_changed). If the replica was quicker, the
 * order is refused at once with 409, and the demo tries again the other way
 * round. Either way no order is confirmed at a price the catalogue no longer
 * has. */
static int price_saga(const struct demo *d)
{
	static const char *const prices[] = {"19.99", "24.99"};

	for (int attempt = 1; attempt <= 6; attempt++) {
		struct order_spec o = {.sku = "DEMO-PRICED",
		                       .price = prices[(attempt + 1) % 2],
		                       .reprice = prices[attempt % 2],
		                       .quantity = 1};
		int rc = saga(d, "An order at a price that just changed", &o, "REJECTED", 2);

		if (rc != SAGA_REQUOTE)
			return rc;
	}
	printf("    FAILED: the order service was ahead of the order every time\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct demo d = {
	        .gateway = env_or("GATEWAY_URL", "http://127.0.0.1:8080"),
	        .token = env_or("TOKEN", NULL),
	        .admin = env_or("ADMIN_TOKEN", NULL),
	        .spool = env_or("MAIL_SPOOL_DIR", ".stack/mail"),
	        .topics = {env_or("TOPIC_ORDERS", "orders"),
	                   env_or("TOPIC_INVENTORY", "inventory")},
	};
	int failed = 0;

	(void)argv;
	eda_log_init("eda-demo", EDA_LOG_ERROR);
	if (argc != 1 || d.token == NULL || d.admin == NULL) {
		fprintf(stderr, "eda-demo: set TOKEN and ADMIN_TOKEN (printed by make up); "
		                "make demo does this\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (http(&d, "PUT", "/products/DEMO-PLENTY", d.admin,
	         "{\"name\":\"Demo mug\",\"price\":\"19.99\",\"stock\":1000}",
	         NULL) / 100 !=
	            2 ||
	    http(&d, "PUT", "/products/DEMO-SCARCE", d.admin,
	         "{\"name\":\"Demo lamp\",\"price\":\"19.99\",\"stock\":1}",
	         NULL) / 100 !=
	            2 ||
	    http(&d, "PUT", "/products/DEMO-PRICED", d.admin,
	         "{\"name\":\"Demo clock\",\"price\":\"19.99\",\"stock\":1000}",
	         NULL) / 100 !=
	            2) {
		fprintf(stderr,
		        "eda-demo: could not set up demo products through %s "
		        "(is `make up` running?)\n",
		        d.gateway);
		return 1;
	}
	mark_start(&d);
	failed |= saga(&d, "An order that is confirmed",
	               &(struct order_spec){.sku = "DEMO-PLENTY", .price = "19.99", .quantity = 2},
	               "CONFIRMED", 2);
	failed |= saga(&d, "An order rejected for lack of stock",
	               &(struct order_spec){.sku = "DEMO-SCARCE", .price = "19.99", .quantity = 5},
	               "REJECTED", 2);
	failed |= saga(&d, "A confirmed order, then cancelled",
	               &(struct order_spec){
	                       .sku = "DEMO-PLENTY", .price = "19.99", .quantity = 1, .cancel = 1},
	               "CANCELLED", 3);
	failed |= price_saga(&d);
	printf("\n%s\n", failed ? "demo: a saga did not end as expected"
	                        : "demo: all sagas ended "
	                          "as expected");
	curl_global_cleanup();
	return failed ? 1 : 0;
}
