/*
 * Load generator and store ceiling for the inventory-service benchmark (see
 * run.sh, which builds this with cc and pkg-config; the top-level Makefile
 * does not see it).
 *
 *   load catalogue FILE SKUS STOCK          write a seed catalogue
 *   load ceiling MONGODB_URL DB N SKUS      plain mongo-c-driver loop: one
 *                                           guarded decrement per order item
 *   load fill BOOTSTRAP TOPIC N SKUS        produce N OrderPlaced (1-5 items)
 *   load drain BOOTSTRAP TOPIC N            wait for N result events; print rate
 *   load latency BOOTSTRAP ORDERS INVENTORY N RATE SKUS
 *                                           produce at RATE/s, report p50/p99
 *                                           from each event's time to its
 *                                           result being readable
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void uuid_str(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

static void rfc3339(double t, char out[32])
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((t - (double)s) * 1000));
}

/* Seconds since the epoch of an RFC 3339 UTC time with milliseconds, or 0. */
static double rfc3339_parse(const char *s)
{
	struct tm tm = {0};
	const char *rest = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (rest == NULL)
		return 0;
	return (double)timegm(&tm) + (*rest == '.' ? atof(rest) : 0);
}

/* A random OrderPlaced; ORDER_ID gets its id. Caller frees. */
static char *order_placed(int skus, char order_id[37], unsigned *seed)
{
	json_t *items = json_array();
	int n = 1 + (int)(rand_r(seed) % 5), used[5];
	char id[37], when[32], *s;
	json_t *ev;

	uuid_str(order_id);
	uuid_str(id);
	rfc3339(now_s(), when);
	for (int i = 0; i < n; i++) {
		char sku[32];
		int k;

		/* Distinct SKUs per order, as a real cart would have. */
	again:
		k = (int)(rand_r(seed) % (unsigned)skus);
		for (int j = 0; j < i; j++)
			if (used[j] == k)
				goto again;
		used[i] = k;
		snprintf(sku, sizeof(sku), "SKU-%05d", k);
		json_array_append_new(items,
		                      json_pack("{s:s, s:i, s:s}", "sku", sku, "quantity",
		                                1 + (int)(rand_r(seed) % 3), "unit_price", "1.00"));
	}
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:{s:s, s:s}, s:o, "
	               "s:s, s:s}}",
	               "specversion", "1.0", "id", id, "source", "/bench", "type", "OrderPlaced",
	               "subject", order_id, "time", when, "datacontenttype", "application/json",
	               "dataschema", "urn:eda:schema:OrderPlaced:1", "correlationid", id, "data",
	               "order_id", order_id, "customer", "id", "bench", "email",
	               "bench@example.com", "items", items, "total", "1.00", "currency", "EUR");
	s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	return s;
}

static rd_kafka_t *kafka(rd_kafka_type_t type, const char *bootstrap, const char *group)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
	if (type == RD_KAFKA_PRODUCER) {
		rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof(err));
	} else {
		rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
		rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err));
		rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", err, sizeof(err));
	}
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "kafka: %s\n", err);
		exit(1);
	}
	if (type == RD_KAFKA_CONSUMER)
		rd_kafka_poll_set_consumer(rk);
	return rk;
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key, char *value)
{
	while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
	                         RD_KAFKA_V_VALUE(value, strlen(value)),
	                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
	                         RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		rd_kafka_poll(rk, 10);
	rd_kafka_poll(rk, 0);
}

static int cmd_catalogue(const char *path, int skus, long stock)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return 1;
	fprintf(f, "{\"products\":[");
	for (int i = 0; i < skus; i++)
		fprintf(f,
		        "%s{\"sku\":\"SKU-%05d\",\"name\":\"Bench "
		        "%d\",\"price\":\"1.00\",\"stock\":%ld}",
		        i ? "," : "", i, i, stock);
	fprintf(f, "]}\n");
	return fclose(f) != 0;
}

static int cmd_ceiling(const char *url, const char *dbname, int n, int skus)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_error_t be;
	unsigned seed = 42;
	double t0, t1;
	long items = 0;

	mongoc_init();
	c = mongoc_client_new(url);
	coll = mongoc_client_get_collection(c, dbname, "stock");
	mongoc_collection_drop(coll, NULL);
	for (int i = 0; i < skus; i++) {
		char sku[32];
		bson_t *doc;

		snprintf(sku, sizeof(sku), "SKU-%05d", i);
		doc = BCON_NEW("_id", BCON_UTF8(sku), "stock", BCON_INT64(1000000));
		mongoc_collection_insert_one(coll, doc, NULL, NULL, NULL);
		bson_destroy(doc);
	}
	t0 = now_s();
	for (int o = 0; o < n; o++) {
		int k = 1 + (int)(rand_r(&seed) % 5);

		for (int i = 0; i < k; i++) {
			char sku[32];
			int q = 1 + (int)(rand_r(&seed) % 3);
			bson_t *sel, *upd;

			snprintf(sku, sizeof(sku), "SKU-%05d",
			         (int)(rand_r(&seed) % (unsigned)skus));
			sel = BCON_NEW("_id", BCON_UTF8(sku), "stock", "{", "$gte", BCON_INT64(q),
			               "}");
			upd = BCON_NEW("$inc", "{", "stock", BCON_INT64(-q), "}");
			if (!mongoc_collection_update_one(coll, sel, upd, NULL, NULL, &be)) {
				fprintf(stderr, "update: %s\n", be.message);
				return 1;
			}
			bson_destroy(sel);
			bson_destroy(upd);
			items++;
		}
	}
	t1 = now_s();
	printf("ceiling_orders_per_s %.0f\nceiling_items %ld\n", n / (t1 - t0), items);
	mongoc_collection_drop(coll, NULL);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	mongoc_cleanup();
	return 0;
}

static int cmd_fill(const char *bootstrap, const char *topic, int n, int skus)
{
	rd_kafka_t *rk = kafka(RD_KAFKA_PRODUCER, bootstrap, NULL);
	unsigned seed = 7;

	for (int i = 0; i < n; i++) {
		char id[37];
		char *v = order_placed(skus, id, &seed);

		produce(rk, topic, id, v);
	}
	rd_kafka_flush(rk, 60000);
	rd_kafka_destroy(rk);
	printf("filled %d\n", n);
	return 0;
}

static int is_result(const rd_kafka_message_t *m, double *event_time)
{
	json_t *j = json_loadb(m->payload, m->len, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));
	int r = type != NULL && (strcmp(type, "InventoryReserved") == 0 ||
	                         strcmp(type, "InventoryReservationFailed") == 0);

	(void)event_time;
	json_decref(j);
	return r;
}

static int subscribe(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
	int rc;

	rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
	rc = rd_kafka_subscribe(rk, t);
	rd_kafka_topic_partition_list_destroy(t);
	return rc;
}

static int cmd_drain(const char *bootstrap, const char *topic, int n)
{
	char group[64];
	rd_kafka_t *rk;
	int got = 0;
	double first = 0, last = 0, start = now_s();

	snprintf(group, sizeof(group), "bench-drain-%d", (int)getpid());
	rk = kafka(RD_KAFKA_CONSUMER, bootstrap, group);
	subscribe(rk, topic);
	while (got < n && now_s() - start < 600) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

		if (m == NULL)
			continue;
		if (m->err == 0 && is_result(m, NULL)) {
			rd_kafka_timestamp_type_t tt;
			double ts = rd_kafka_message_timestamp(m, &tt) / 1000.0;

			if (got == 0 || ts < first)
				first = ts;
			if (ts > last)
				last = ts;
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	printf("results %d\ndrain_seconds %.3f\nreservations_per_s %.0f\n", got, last - first,
	       got > 1 ? (got - 1) / (last - first) : 0.0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got == n ? 0 : 1;
}

typedef struct {
	const char *bootstrap, *topic;
	int n;
	double *lat;
	double *built; /* send -> the result's own time (when the service built it) */
	int got;
	atomic_int caught_up; /* the reader has read what the topic held */
} reader_t;

static void *reader_main(void *arg)
{
	reader_t *r = arg;
	char group[64];
	rd_kafka_t *rk;
	double start = now_s();
	int seen_any = 0, idle = 0;

	snprintf(group, sizeof(group), "bench-lat-%d", (int)getpid());
	rk = kafka(RD_KAFKA_CONSUMER, r->bootstrap, group);
	subscribe(rk, r->topic);
	while (r->got < r->n && now_s() - start < 600) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		double arrived = now_s();

		if (m == NULL) {
			/* Idle for 200 ms after reading: the drain phase's
			 * events (read from the start of the topic) are behind
			 * us. */
			if (seen_any && ++idle >= 2)
				atomic_store(&r->caught_up, 1);
			continue;
		}
		seen_any = 1;
		idle = 0;
		if (m->err == 0 && is_result(m, NULL)) {
			/* The result's time field is when the service built it;
			 * its cause's time is in the order event, which we
			 * produced: the result carries causationid, so use the
			 * send time the producer side recorded by order id. */
			json_t *j = json_loadb(m->payload, m->len, 0, NULL);
			const char *cause = json_string_value(json_object_get(j, "correlationid"));
			/* Results of the drain phase carry no send time. */
			if (cause != NULL && strlen(cause) > 37) {
				double sent = atof(cause + 37);

				r->built[r->got] = rfc3339_parse(json_string_value(
				                           json_object_get(j, "time"))) -
				                   sent;
				r->lat[r->got++] = arrived - sent;
			}
			json_decref(j);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_latency(const char *bootstrap, const char *orders, const char *inventory, int n,
                       double rate, int skus)
{
	reader_t r = {.bootstrap = bootstrap,
	              .topic = inventory,
	              .n = n,
	              .lat = calloc((size_t)n, sizeof(double)),
	              .built = calloc((size_t)n, sizeof(double))};
	pthread_t th;
	rd_kafka_t *rk = kafka(RD_KAFKA_PRODUCER, bootstrap, NULL);
	unsigned seed = 11;
	double t0;

	/* A new producer first fetches metadata and connects: done here, or the
	 * first orders would carry that in their latency. */
	{
		rd_kafka_topic_t *t = rd_kafka_topic_new(rk, orders, NULL);
		const struct rd_kafka_metadata *md = NULL;

		if (rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(t);
	}
	pthread_create(&th, NULL, reader_main, &r);
	/* Let the reader join and read past the drain phase's events first,
	 * or the first orders would wait for it to catch up. */
	for (int i = 0; i < 600 && !atomic_load(&r.caught_up); i++)
		usleep(100000);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		char id[37], *v, *p;
		double due = t0 + i / rate, t;
		json_t *j;

		while ((t = now_s()) < due) {
			struct timespec ts = {0, (long)((due - t) * 1e9)};

			nanosleep(&ts, NULL);
		}
		v = order_placed(skus, id, &seed);
		/* Carry the send time in the correlation id, which the result
		 * inherits: "<uuid>-<unix seconds>". */
		j = json_loads(v, 0, NULL);
		free(v);
		{
			char corr[96];

			snprintf(corr, sizeof(corr), "%s-%.6f", id, now_s());
			json_object_set_new(j, "correlationid", json_string(corr));
		}
		p = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		produce(rk, orders, id, p);
	}
	rd_kafka_flush(rk, 60000);
	pthread_join(th, NULL);
	qsort(r.lat, (size_t)r.got, sizeof(double), cmp);
	qsort(r.built, (size_t)r.got, sizeof(double), cmp);
	if (r.got > 0)
		printf("latency_results %d\nrate_per_s %.0f\np50_ms %.1f\np99_ms %.1f\nmax_ms "
		       "%.1f\n",
		       r.got, rate, 1000 * r.lat[r.got / 2], 1000 * r.lat[(int)(r.got * 0.99)],
		       1000 * r.lat[r.got - 1]);
	/* Where the time goes: until the service built the result (the
	 * consumer's fetch plus the handler), the rest is its way back. */
	if (r.got > 0)
		printf("built_p50_ms %.1f\nbuilt_p99_ms %.1f\n", 1000 * r.built[r.got / 2],
		       1000 * r.built[(int)(r.got * 0.99)]);
	rd_kafka_destroy(rk);
	free(r.lat);
	free(r.built);
	return r.got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "catalogue") == 0)
		return cmd_catalogue(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 6 && strcmp(argv[1], "ceiling") == 0)
		return cmd_ceiling(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "fill") == 0)
		return cmd_fill(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "drain") == 0)
		return cmd_drain(argv[2], argv[3], atoi(argv[4]));
	if (argc == 8 && strcmp(argv[1], "latency") == 0)
		return cmd_latency(argv[2], argv[3], argv[4], atoi(argv[5]), atof(argv[6]),
		                   atoi(argv[7]));
	fprintf(stderr, "usage: see the top of load.c\n");
	return 2;
}
