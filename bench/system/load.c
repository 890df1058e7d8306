/*
 * Load generator of the whole-system benchmark (bench/system/run.sh): POSTs
 * orders through the gateway over keep-alive connections with libcurl's multi
 * interface, in one of two modes:
 *
 *   load saturate URL TOKEN SECONDS CONNS SKUS   every connection busy at all times
 *   load rate     URL TOKEN SECONDS RATE  SKUS   open loop at RATE orders/s
 *
 * In rate mode a request's latency counts from when it was due, not from when
 * a connection was free to send it, so a stalled server cannot hide its queue
 * (no coordinated omission). Each order has 1 to 3 lines over SKUs BENCH-00000
 * .. BENCH-<SKUS-1>, quantity 1 to 3. Prints "key value" lines: posted,
 * accepted (201), failed, posts_per_s, post_p50_ms, post_p99_ms; the first
 * few unexpected answers go to stderr. Exit status 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONNS 512

typedef struct slot {
	CURL *h;
	char body[512];
	char answer[512];
	size_t answer_len;
	double due; /* when the request was due (rate) or sent (saturate) */
	int busy;
} slot_t;

typedef struct run {
	double *lat_ms;
	size_t nlat, cap;
	long posted, accepted, failed;
	unsigned seed;
	int skus;
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

static void make_body(run_t *r, slot_t *s)
{
	int lines = 1 + (int)(rand_r(&r->seed) % 3), first = (int)(rand_r(&r->seed) % r->skus);
	size_t off =
	        (size_t)snprintf(s->body, sizeof(s->body), "{\"currency\":\"EUR\",\"items\":[");

	for (int i = 0; i < lines; i++) /* consecutive SKUs: never a duplicate line */
		off += (size_t)snprintf(
		        s->body + off, sizeof(s->body) - off,
		        "%s{\"sku\":\"BENCH-%05d\",\"quantity\":%d,\"unit_price\":\"9.99\"}",
		        i ? "," : "", (first + i) % r->skus, 1 + (int)(rand_r(&r->seed) % 3));
	snprintf(s->body + off, sizeof(s->body) - off, "]}");
}

static int start(CURLM *m, run_t *r, slot_t *s, double due)
{
	make_body(r, s);
	s->answer_len = 0;
	s->answer[0] = '\0';
	s->due = due;
	s->busy = 1;
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
	if (curl_multi_add_handle(m, s->h) != CURLM_OK)
		return -1;
	r->posted++;
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

static int finish(CURLM *m, run_t *r, slot_t *s, CURLcode res)
{
	long status = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(m, s->h);
	s->busy = 0;
	if (res == CURLE_OK && status == 201) {
		r->accepted++;
		return record(r, (now_s() - s->due) * 1000.0);
	}
	if (++r->failed <= 5)
		fprintf(stderr, "load: %s %ld %s\n",
		        res == CURLE_OK ? "status" : curl_easy_strerror(res), status, s->answer);
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
	fprintf(stderr, "usage: load saturate|rate URL TOKEN SECONDS CONNS|RATE SKUS\n");
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

int main(int argc, char **argv)
{
	if (argc != 7)
		return usage();
	int saturate = strcmp(argv[1], "saturate") == 0;
	long seconds = positive(argv[4], 3600), n = positive(argv[5], 1000000),
	     skus = positive(argv[6], 99999);

	if ((!saturate && strcmp(argv[1], "rate") != 0) || seconds < 0 || n < 0 || skus < 0)
		return usage();

	char url[1024], auth[4096];
	snprintf(url, sizeof(url), "%s/orders", argv[2]);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[3]);

	int conns = saturate ? (int)(n < MAX_CONNS ? n : MAX_CONNS) : MAX_CONNS / 2;
	double rate = saturate ? 0 : (double)n;
	run_t r = {.seed = 42, .skus = (int)skus};
	static slot_t slots[MAX_CONNS];
	struct curl_slist *hdrs = NULL;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	CURLM *m = curl_multi_init();
	if (!hdrs || !m)
		return 1;
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
	for (int i = 0; i < conns; i++) {
		CURL *h = curl_easy_init();

		if (!h)
			return 1;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_answer);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &slots[i]);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
		slots[i].h = h;
	}

	double t0 = now_s(), end = t0 + (double)seconds, next = t0;
	long due_count = 0;
	int running = 0, rc = 0;

	for (;;) {
		double t = now_s();
		int sending = t < end;

		for (int i = 0; sending && i < conns; i++) {
			if (slots[i].busy)
				continue;
			if (saturate) {
				if (start(m, &r, &slots[i], t) < 0)
					return 1;
				continue;
			}
			if (next > t)
				break;
			if (start(m, &r, &slots[i], next) < 0)
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
		if (!sending && running == 0)
			break;
		int wait_ms = 5;
		if (!saturate && sending) {
			double gap = (next - now_s()) * 1000.0;
			wait_ms = gap < 0 ? 0 : gap < 5 ? (int)gap : 5;
		}
		curl_multi_poll(m, NULL, 0, wait_ms, NULL);
	}
	double elapsed = now_s() - t0;

	qsort(r.lat_ms, r.nlat, sizeof(double), cmp_double);
	printf("posted %ld\naccepted %ld\nfailed %ld\nposts_per_s %.0f\npost_p50_ms %.2f\n"
	       "post_p99_ms %.2f\n",
	       r.posted, r.accepted, r.failed, (double)r.accepted / elapsed, pct(&r, 0.50),
	       pct(&r, 0.99));
	for (int i = 0; i < conns; i++)
		curl_easy_cleanup(slots[i].h);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(r.lat_ms);
	curl_global_cleanup();
	return rc;
}
