/*
 * Load generator of the whole-system benchmark (bench/system/run.sh) and of the
 * fault-injection suite (tests/chaos/run.sh): POSTs orders through the gateway
 * over keep-alive connections with libcurl's multi interface, in one of three
 * modes:
 *
 *   load saturate URL TOKEN  SECONDS CONNS SKUS   every connection busy at all times
 *   load rate     URL TOKEN  SECONDS RATE  SKUS   open loop at RATE orders/s
 *   load mixed    URL TOKENS SECONDS RATE  SKUS   rate, several customers, cancels
 *                                                 and orders bound to be rejected
 *
 * In rate and mixed mode a request's latency counts from when it was due, not
 * from when a connection was free to send it, so a stalled server cannot hide
 * its queue (no coordinated omission). Each order has 1 to 3 lines over SKUs
 * BENCH-00000 .. BENCH-<SKUS-1>, quantity 1 to 3.
 *
 * Mixed mode: TOKENS is a file of bearer tokens, one customer a line; each
 * order goes out as a random customer. Environment:
 *   LOAD_CANCEL_PERCENT   share of accepted orders their owner cancels 0-1 s
 *                         later (a PENDING or a CONFIRMED one), default 10
 *   LOAD_SCARCE_PERCENT   share of orders for the scarce SKU BENCH-<SKUS>
 *                         alone (the caller stocks it thinly, so they run it
 *                         down to zero and are then rejected), default 10
 *   LOAD_ACKED_FILE       every accepted (201) order's id is appended there,
 *                         a line each, flushed at once
 *
 * Prints "key value" lines: posted, accepted (201), failed, posts_per_s,
 * post_p50_ms, post_p99_ms, and in mixed mode cancels_sent, cancelled (200),
 * cancel_refused (409: the order was already rejected or cancelled) and
 * cancel_failed; the first few unexpected answers go to stderr. A failed
 * request is counted, never retried: the caller decides what an unanswered
 * order means. Exit status 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS     512
#define MAX_CUSTOMERS 64
#define MAX_CANCELS   4096
#define ORDER_ID_LEN  36

typedef enum { REQ_ORDER, REQ_CANCEL } req_kind_t;

typedef struct slot {
	CURL *h;
	req_kind_t kind;
	int customer;
	char body[512];
	char answer[2048];
	size_t answer_len;
	double due; /* when the request was due (rate) or sent (saturate) */
	int busy;
} slot_t;

/* An accepted order its owner will cancel at DUE. */
typedef struct cancel {
	char order_id[ORDER_ID_LEN + 1];
	int customer;
	double due;
} cancel_t;

typedef struct run {
	double *lat_ms;
	size_t nlat, cap;
	long posted, accepted, failed;
	long cancels_sent, cancelled, cancel_refused, cancel_failed, cancels_dropped;
	unsigned seed;
	int skus;
	int mixed;
	int cancel_percent, scarce_percent;
	FILE *acked;
	const char *base_url;
	char order_url[1024];
	struct curl_slist *hdrs[MAX_CUSTOMERS];
	int customers;
	cancel_t cancels[MAX_CANCELS];
	int ncancels;
} run_t;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t keep_answer(char *p, size_t size, size_t n, void *ud)
{
	slot_t *s = ud;
	size_t len = size * n, room = sizeof(s->answer) - 1 - s->answer_len;
	size_t take = len < room ? len : room;

	memcpy(s->answer + s->answer_len, p, take);
	s->answer_len += take;
	s->answer[s->answer_len] = '\0';
	return len;
}

static int percent_hit(run_t *r, int percent)
{
	return (int)(rand_r(&r->seed) % 100) < percent;
}

static void make_body(run_t *r, slot_t *s)
{
	size_t off =
	        (size_t)snprintf(s->body, sizeof(s->body), "{\"currency\":\"EUR\",\"items\":[");

	if (r->mixed && percent_hit(r, r->scarce_percent)) {
		snprintf(s->body + off, sizeof(s->body) - off,
		         "{\"sku\":\"BENCH-%05d\",\"quantity\":%d,\"unit_price\":\"9.99\"}]}",
		         r->skus, 1 + (int)(rand_r(&r->seed) % 3));
		return;
	}
	/* setup() refuses skus < 1; the analyser forgets that of the static run_t
	 * across the calls into libcurl. */
	/* NOLINTNEXTLINE(clang-analyzer-core.DivideZero) */
	int lines = 1 + (int)(rand_r(&r->seed) % 3), first = (int)(rand_r(&r->seed) % r->skus);
	for (int i = 0; i < lines; i++) /* consecutive SKUs: never a duplicate line */
		off += (size_t)snprintf(
		        s->body + off, sizeof(s->body) - off,
		        "%s{\"sku\":\"BENCH-%05d\",\"quantity\":%d,\"unit_price\":\"9.99\"}",
		        i ? "," : "", (first + i) % r->skus, 1 + (int)(rand_r(&r->seed) % 3));
	snprintf(s->body + off, sizeof(s->body) - off, "]}");
}

static int add(CURLM *m, slot_t *s, double due)
{
	s->answer_len = 0;
	s->answer[0] = '\0';
	s->due = due;
	s->busy = 1;
	return curl_multi_add_handle(m, s->h) == CURLM_OK ? 0 : -1;
}

static int start_order(CURLM *m, run_t *r, slot_t *s, double due)
{
	make_body(r, s);
	s->kind = REQ_ORDER;
	s->customer = r->mixed ? (int)(rand_r(&r->seed) % (unsigned)r->customers) : 0;
	curl_easy_setopt(s->h, CURLOPT_URL, r->order_url);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, r->hdrs[s->customer]);
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
	if (add(m, s, due) < 0)
		return -1;
	r->posted++;
	return 0;
}

static int start_cancel(CURLM *m, run_t *r, slot_t *s, const cancel_t *c)
{
	char url[1200];

	snprintf(url, sizeof(url), "%s/orders/%s/cancel", r->base_url, c->order_id);
	s->kind = REQ_CANCEL;
	s->customer = c->customer;
	s->body[0] = '\0';
	/* libcurl copies the URL; the empty body makes it a POST. */
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, r->hdrs[c->customer]);
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
	if (add(m, s, c->due) < 0)
		return -1;
	r->cancels_sent++;
	return 0;
}

static int record(run_t *r, double ms)
{
	if (r->nlat == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		double *p = realloc(r->lat_ms, cap * sizeof(*p));

		if (!p)
			return -1;
		r->lat_ms = p;
		r->cap = cap;
	}
	r->lat_ms[r->nlat++] = ms;
	return 0;
}

/* The order id of a 201 answer ({"id":"<uuid>",...}) into OUT; -1 if absent. */
static int answer_id(const char *answer, char out[ORDER_ID_LEN + 1])
{
	const char *p = strstr(answer, "\"id\"");

	if (p == NULL || (p = strchr(p + 4, '"')) == NULL || strlen(p + 1) < ORDER_ID_LEN ||
	    p[1 + ORDER_ID_LEN] != '"')
		return -1;
	memcpy(out, p + 1, ORDER_ID_LEN);
	out[ORDER_ID_LEN] = '\0';
	return 0;
}

/* An accepted order: written to the acked file and, for some, a cancel planned. */
static int accepted_order(run_t *r, const slot_t *s)
{
	char id[ORDER_ID_LEN + 1];

	if (!r->mixed)
		return 0;
	if (answer_id(s->answer, id) < 0) {
		fprintf(stderr, "load: a 201 without an order id: %s\n", s->answer);
		return -1;
	}
	/* Flushed per order: the caller reads the file as the list of orders the
	 * system promised to keep, which must hold even if this process dies. */
	if (r->acked != NULL && (fprintf(r->acked, "%s\n", id) < 0 || fflush(r->acked) != 0)) {
		fprintf(stderr, "load: writing the acked file: %s\n", strerror(errno));
		return -1;
	}
	if (!percent_hit(r, r->cancel_percent))
		return 0;
	if (r->ncancels == MAX_CANCELS) {
		r->cancels_dropped++;
		return 0;
	}
	cancel_t *c = &r->cancels[r->ncancels++];
	memcpy(c->order_id, id, sizeof(c->order_id));
	c->customer = s->customer;
	c->due = now_s() + (double)(rand_r(&r->seed) % 1000) / 1000.0;
	return 0;
}

static int finish(CURLM *m, run_t *r, slot_t *s, CURLcode res)
{
	long status = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(m, s->h);
	s->busy = 0;
	if (s->kind == REQ_CANCEL) {
		if (res == CURLE_OK && status == 200) {
			r->cancelled++;
			return 0;
		}
		if (res == CURLE_OK && status == 409) {
			r->cancel_refused++;
			return 0;
		}
		if (++r->cancel_failed <= 5)
			fprintf(stderr, "load: cancel %s %ld %s\n",
			        res == CURLE_OK ? "status" : curl_easy_strerror(res), status,
			        s->answer);
		return 0;
	}
	if (res == CURLE_OK && status == 201) {
		r->accepted++;
		if (accepted_order(r, s) < 0)
			return -1;
		return record(r, (now_s() - s->due) * 1000.0);
	}
	if (++r->failed <= 5)
		fprintf(stderr, "load: %s %ld %s\n",
		        res == CURLE_OK ? "status" : curl_easy_strerror(res), status, s->answer);
	return 0;
}

/* Sends the cancels due by T on free slots (they go out also after the
 * sending time, so that every planned cancel happens). */
static int send_cancels(CURLM *m, run_t *r, slot_t *slots, int conns, double t)
{
	int free_slot = 0;

	for (int i = 0; i < r->ncancels;) {
		if (r->cancels[i].due > t) {
			i++;
			continue;
		}
		while (free_slot < conns && slots[free_slot].busy)
			free_slot++;
		if (free_slot == conns)
			return 0;
		if (start_cancel(m, r, &slots[free_slot], &r->cancels[i]) < 0)
			return -1;
		r->cancels[i] = r->cancels[--r->ncancels];
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const run_t *r, double p)
{
	if (!r->nlat)
		return 0;
	size_t i = (size_t)ceil(p * (double)r->nlat) - 1;

	return r->lat_ms[i < r->nlat ? i : r->nlat - 1];
}

static int usage(void)
{
	fprintf(stderr, "usage: load saturate|rate URL TOKEN SECONDS CONNS|RATE SKUS\n"
	                "       load mixed URL TOKENS_FILE SECONDS RATE SKUS\n");
	return 2;
}

static long positive(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v <= 0 || v > max ? -1 : v;
}

/* A percentage from the environment variable NAME, DEF when unset; -1 if bad. */
static int env_percent(const char *name, int def)
{
	const char *v = getenv(name);
	char *end;
	long p;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	p = strtol(v, &end, 10);
	return errno || *end || p < 0 || p > 100 ? -1 : (int)p;
}

static struct curl_slist *headers_for(const char *token)
{
	char auth[4096];
	struct curl_slist *h = NULL, *next;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	if ((next = curl_slist_append(h, auth)) == NULL)
		return NULL;
	h = next;
	if ((next = curl_slist_append(h, "Content-Type: application/json")) == NULL)
		goto fail;
	h = next;
	if ((next = curl_slist_append(h, "Expect:")) == NULL)
		goto fail;
	return next;
fail:
	curl_slist_free_all(h);
	return NULL;
}

/* One customer's headers per line of PATH; -1 with a message on error. */
static int read_tokens(run_t *r, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "load: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (r->customers == MAX_CUSTOMERS) {
			fprintf(stderr, "load: more than %d tokens in %s\n", MAX_CUSTOMERS, path);
			break;
		}
		if ((r->hdrs[r->customers] = headers_for(line)) == NULL)
			break;
		r->customers++;
	}
	fclose(f);
	if (r->customers == 0)
		fprintf(stderr, "load: no token in %s\n", path);
	return r->customers > 0 ? 0 : -1;
}

static int setup(run_t *r, int argc, char **argv, int *conns, double *rate)
{
	if (argc != 7)
		return -2;
	int saturate = strcmp(argv[1], "saturate") == 0;
	long seconds = positive(argv[4], 3600), n = positive(argv[5], 1000000),
	     skus = positive(argv[6], 99998);

	r->mixed = strcmp(argv[1], "mixed") == 0;
	if ((!saturate && !r->mixed && strcmp(argv[1], "rate") != 0) || seconds < 0 || n < 0 ||
	    skus < 1)
		return -2;
	r->skus = (int)skus;
	r->base_url = argv[2];
	snprintf(r->order_url, sizeof(r->order_url), "%s/orders", argv[2]);
	*conns = saturate ? (int)(n < MAX_CONNS ? n : MAX_CONNS) : MAX_CONNS / 2;
	*rate = saturate ? 0 : (double)n;
	if (!r->mixed) {
		r->customers = 1;
		return (r->hdrs[0] = headers_for(argv[3])) == NULL ? -1 : 0;
	}
	r->cancel_percent = env_percent("LOAD_CANCEL_PERCENT", 10);
	r->scarce_percent = env_percent("LOAD_SCARCE_PERCENT", 10);
	if (r->cancel_percent < 0 || r->scarce_percent < 0) {
		fprintf(stderr, "load: LOAD_CANCEL_PERCENT and LOAD_SCARCE_PERCENT are 0-100\n");
		return -2;
	}
	const char *acked = getenv("LOAD_ACKED_FILE");
	if (acked != NULL && *acked != '\0' && (r->acked = fopen(acked, "a")) == NULL) {
		fprintf(stderr, "load: %s: %s\n", acked, strerror(errno));
		return -1;
	}
	return read_tokens(r, argv[3]);
}

/* One easy handle per connection, each writing its answer into its slot. */
static int open_handles(CURLM *m, const run_t *r, slot_t *slots, int conns)
{
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
	for (int i = 0; i < conns; i++) {
		CURL *h = curl_easy_init();

		if (!h)
			return -1;
		curl_easy_setopt(h, CURLOPT_URL, r->order_url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs[0]);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_answer);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &slots[i]);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
		slots[i].h = h;
	}
	return 0;
}

/* The result lines bench/system/run.sh and the chaos campaign read. */
static void report(run_t *r, double elapsed)
{
	if (r->nlat > 0)
		qsort(r->lat_ms, r->nlat, sizeof(double), cmp_double);
	printf("posted %ld\naccepted %ld\nfailed %ld\nposts_per_s %.0f\npost_p50_ms %.2f\n"
	       "post_p99_ms %.2f\n",
	       r->posted, r->accepted, r->failed, (double)r->accepted / elapsed, pct(r, 0.50),
	       pct(r, 0.99));
	if (r->mixed)
		printf("cancels_sent %ld\ncancelled %ld\ncancel_refused %ld\ncancel_failed %ld\n"
		       "cancels_dropped %ld\n",
		       r->cancels_sent, r->cancelled, r->cancel_refused, r->cancel_failed,
		       r->cancels_dropped);
}

int main(int argc, char **argv)
{
	static run_t r = {.seed = 42};
	static slot_t slots[MAX_CONNS];
	int conns = 0;
	double rate = 0;
	int rc = setup(&r, argc, argv, &conns, &rate);

	if (rc == -2)
		return usage();
	if (rc < 0)
		return 1;
	/* Two runs of the suite must not send the same orders and cancels. */
	if (r.mixed)
		r.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int saturate = strcmp(argv[1], "saturate") == 0;
	long seconds = positive(argv[4], 3600);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	CURLM *m = curl_multi_init();
	if (!m || open_handles(m, &r, slots, conns) < 0)
		return 1;

	double t0 = now_s(), end = t0 + (double)seconds, next = t0;
	long due_count = 0;
	int running = 0;

	for (;;) {
		double t = now_s();
		int sending = t < end;

		if (r.mixed && send_cancels(m, &r, slots, conns, t) < 0)
			return 1;
		for (int i = 0; sending && i < conns; i++) {
			if (slots[i].busy)
				continue;
			if (saturate) {
				if (start_order(m, &r, &slots[i], t) < 0)
					return 1;
				continue;
			}
			if (next > t)
				break;
			if (start_order(m, &r, &slots[i], next) < 0)
				return 1;
			next = t0 + (double)++due_count / rate;
		}
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return 1;
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				for (int i = 0; i < conns; i++)
					if (slots[i].h == msg->easy_handle &&
					    finish(m, &r, &slots[i], msg->data.result) < 0)
						return 1;
		if (!sending && running == 0 && r.ncancels == 0)
			break;
		int wait_ms = 5;
		if (!saturate && sending) {
			double gap = (next - now_s()) * 1000.0;
			wait_ms = gap < 0 ? 0 : gap < 5 ? (int)gap : 5;
		}
		curl_multi_poll(m, NULL, 0, wait_ms, NULL);
	}
	report(&r, now_s() - t0);
	for (int i = 0; i < conns; i++)
		curl_easy_cleanup(slots[i].h);
	curl_multi_cleanup(m);
	for (int i = 0; i < r.customers; i++)
		curl_slist_free_all(r.hdrs[i]);
	if (r.acked != NULL && fclose(r.acked) != 0) {
		fprintf(stderr, "load: closing the acked file: %s\n", strerror(errno));
		return 1;
	}
	free(r.lat_ms);
	curl_global_cleanup();
	return 0;
}
