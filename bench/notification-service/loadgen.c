/*
 * Load generator for the notification-service benchmark (bench/, built by
 * run.sh, never by the top-level Makefile).
 *
 *   loadgen produce --topic T --n N [--rate R] --run ID
 *   loadgen watch   --dir D --n N --run ID [--timeout S]
 *   loadgen live    --topic T --dir D --n N [--rate R] --run ID [--timeout S]
 *
 * produce: N OrderPlaced events (ids "b<ID>-<i>") on T, R a second (0: as fast
 * as possible), and waits for the broker's acknowledgements.
 * watch: counts e-mails appearing in D (spool files or the SMTP sink's
 * folder; both are renamed into place) whose Message-ID is one of ours and
 * prints the drain rate (first to last arrival).
 * live: both at once, and also the event-to-accepted latency p50/p99 (send
 * time of the event to its file appearing).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "eda/event.h"

static const char *topic, *dir, *run_id = "0";
static long n_events, rate;
static int timeout_s = 300;
static double *sent_ms, *arrived_ms;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s\n", what);
	exit(1);
}

static char *make_event(long i)
{
	char order[37], id[64];
	uuid_t u;
	json_t *data;
	eda_event_t *ev;
	char *s;

	uuid_generate_random(u);
	uuid_unparse_lower(u, order);
	data = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}], s:s, s:s}",
	                 "order_id", order, "customer", "id", "bench", "email",
	                 "bench.customer@example.com", "items", "sku", "SKU-1", "quantity", 2,
	                 "unit_price", "12.50", "sku", "SKU-2", "quantity", 1, "unit_price", "5.00",
	                 "total", "30.00", "currency", "EUR");
	ev = eda_event_new("/bench", EDA_EVENT_ORDER_PLACED, order, data, NULL, NULL);
	snprintf(id, sizeof(id), "b%s-%ld", run_id, i);
	free(ev->id);
	ev->id = strdup(id);
	s = eda_event_serialize(ev, NULL);
	eda_event_free(ev);
	return s;
}

static void *produce(void *arg)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
	rd_kafka_t *rk;
	double t0 = now_ms();

	(void)arg;
	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap ? bootstrap : "127.0.0.1:59092", err,
	                  sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
	rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL)
		die(err);
	for (long i = 0; i < n_events; i++) {
		char *v = make_event(i);
		const char *key = strstr(v, "\"subject\":\"") + 11;

		if (rate > 0) {
			double due = t0 + (double)i * 1000.0 / (double)rate;
			double wait = due - now_ms();

			if (wait > 0)
				usleep((useconds_t)(wait * 1000));
		}
		sent_ms[i] = now_ms();
		while (rd_kafka_producev(
		               rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, 36),
		               RD_KAFKA_V_VALUE(v, strlen(v)),
		               RD_KAFKA_V_HEADER("content-type", EDA_EVENT_CONTENT_TYPE, -1),
		               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		rd_kafka_poll(rk, 0);
		free(v);
	}
	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("flush timed out");
	fprintf(stderr, "loadgen: produced %ld events in %.2f s\n", n_events,
	        (now_ms() - t0) / 1000.0);
	rd_kafka_destroy(rk);
	return NULL;
}

/* Index of the event whose e-mail is FILE, or -1. */
static long event_of(const char *file)
{
	char path[4096], buf[8192], want[64];
	FILE *f;
	size_t n;
	const char *p;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "Message-ID: <b%s-", run_id);
	p = strstr(buf, want);
	if (p == NULL)
		return -1;
	return strtol(p + strlen(want), NULL, 10);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int arm_watch(void)
{
	int fd = inotify_init1(IN_CLOEXEC);

	if (fd < 0 || inotify_add_watch(fd, dir, IN_MOVED_TO) < 0)
		die("inotify");
	printf("watching\n");
	fflush(stdout);
	return fd;
}

static void watch(int fd, int with_latency)
{
	char buf[64 * 1024];
	long got = 0;
	double first = 0, last = 0, deadline = now_ms() + timeout_s * 1000.0;

	while (got < n_events && now_ms() < deadline) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			die("inotify read");
		double t = now_ms();
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *e = (struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->len == 0 || e->name[0] == '.')
				continue;
			long i = event_of(e->name);

			if (i < 0 || i >= n_events || arrived_ms[i] != 0)
				continue;
			arrived_ms[i] = t;
			if (got++ == 0)
				first = t;
			last = t;
		}
	}
	if (got < n_events)
		fprintf(stderr, "loadgen: only %ld of %ld e-mails arrived\n", got, n_events);
	if (!with_latency) {
		printf("emails=%ld seconds=%.3f emails_per_s=%.0f\n", got, (last - first) / 1000.0,
		       got > 1 ? (double)(got - 1) * 1000.0 / (last - first) : 0.0);
		return;
	}
	double *lat = calloc((size_t)(n_events > 0 ? n_events : 1), sizeof(double));
	long k = 0;

	for (long i = 0; i < n_events; i++)
		if (arrived_ms[i] != 0)
			lat[k++] = arrived_ms[i] - sent_ms[i];
	qsort(lat, (size_t)k, sizeof(double), cmp);
	printf("emails=%ld seconds=%.3f emails_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", k,
	       (last - sent_ms[0]) / 1000.0, k * 1000.0 / (last - sent_ms[0]), k ? lat[k / 2] : 0.0,
	       k ? lat[(long)(k * 0.99)] : 0.0, k ? lat[k - 1] : 0.0);
	free(lat);
}

int main(int argc, char **argv)
{
	const char *mode;
	pthread_t th;

	if (argc < 2)
		die("usage: loadgen produce|watch|live --topic T --dir D --n N [--rate R] --run "
		    "ID");
	mode = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--topic") == 0)
			topic = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			n_events = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--rate") == 0)
			rate = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--run") == 0)
			run_id = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout_s = atoi(argv[i + 1]);
		else
			die("unknown option");
	}
	if (n_events <= 0)
		die("--n must be positive");
	sent_ms = calloc((size_t)n_events, sizeof(double));
	arrived_ms = calloc((size_t)n_events, sizeof(double));
	if (strcmp(mode, "produce") == 0) {
		if (topic == NULL)
			die("--topic is required");
		produce(NULL);
	} else if (strcmp(mode, "watch") == 0) {
		if (dir == NULL)
			die("--dir is required");
		watch(arm_watch(), 0);
	} else if (strcmp(mode, "live") == 0) {
		if (topic == NULL || dir == NULL)
			die("--topic and --dir are required");
		/* The watch is armed before the first event is sent. */
		int fd = arm_watch();

		pthread_create(&th, NULL, produce, NULL);
		watch(fd, 1);
		pthread_join(th, NULL);
	} else {
		die("mode must be produce, watch or live");
	}
	return 0;
}
