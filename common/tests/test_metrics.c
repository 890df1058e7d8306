/*
 * Tests common/src/metrics.c: exact text format 0.0.4 output for small
 * registries (sorting, escaping, number spelling, cumulative histogram buckets),
 * name and bucket validation, re-registration, and exact totals when many
 * threads update, create series and scrape at once.
 */
#include "eda/metrics.h"

#include "support/check_main.h"
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_render(eda_metrics_t *reg, const char *want)
{
	size_t len = 12345;
	char *got = eda_metrics_render(reg, &len);

	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, strlen(got));
	ck_assert_msg(strcmp(got, want) == 0, "rendered:\n%s\nwanted:\n%s", got, want);
	free(got);
}

/* ---- exact output ------------------------------------------------------------------- */

START_TEST(render_empty_registry)
{
	eda_metrics_t *reg = eda_metrics_new();

	assert_render(reg, "");
	eda_metrics_free(reg);
}
END_TEST

START_TEST(render_counters_and_gauges_sorted)
{
	eda_metrics_t *reg = eda_metrics_new();
	char err[128] = "";
	eda_metric_t *b = eda_metrics_counter(reg, "b_total", "B things.", NULL, err, sizeof(err));
	eda_metric_t *a = eda_metrics_gauge(reg, "a_gauge", "A level.", "x", err, sizeof(err));
	eda_metric_t *c =
	        eda_metrics_counter(reg, "c_total", "C things.", "route, code", err, sizeof(err));

	ck_assert_msg(a != NULL && b != NULL && c != NULL, "%s", err);
	eda_counter_add(b, NULL, 3);
	eda_gauge_set(a, EDA_LABELS("q"), 1.5);
	eda_gauge_set(a, EDA_LABELS("p"), -2);
	eda_counter_add(c, EDA_LABELS("/orders", "201"), 1);
	eda_counter_add(c, EDA_LABELS("/orders", "200"), 2);
	eda_counter_add(c, EDA_LABELS("/health", "200"), 0.5);
	eda_counter_add(c, EDA_LABELS("/orders", "201"), 1);
	assert_render(reg, "# HELP a_gauge A level.\n"
	                   "# TYPE a_gauge gauge\n"
	                   "a_gauge{x=\"p\"} -2\n"
	                   "a_gauge{x=\"q\"} 1.5\n"
	                   "# HELP b_total B things.\n"
	                   "# TYPE b_total counter\n"
	                   "b_total 3\n"
	                   "# HELP c_total C things.\n"
	                   "# TYPE c_total counter\n"
	                   "c_total{route=\"/health\",code=\"200\"} 0.5\n"
	                   "c_total{route=\"/orders\",code=\"200\"} 2\n"
	                   "c_total{route=\"/orders\",code=\"201\"} 2\n");
	eda_metrics_free(reg);
}
END_TEST

START_TEST(render_untouched_families)
{
	eda_metrics_t *reg = eda_metrics_new();
	const double one[] = {1};

	ck_assert_ptr_nonnull(eda_metrics_counter(reg, "dlq_messages_total", "", NULL, NULL, 0));
	ck_assert_ptr_nonnull(eda_metrics_gauge(reg, "lag", "Lag.", "topic", NULL, 0));
	ck_assert_ptr_nonnull(eda_metrics_histogram(reg, "h", "H.", NULL, one, 1, NULL, 0));
	assert_render(reg, "# TYPE dlq_messages_total counter\n"
	                   "dlq_messages_total 0\n"
	                   "# HELP h H.\n"
	                   "# TYPE h histogram\n"
	                   "h_bucket{le=\"1\"} 0\n"
	                   "h_bucket{le=\"+Inf\"} 0\n"
	                   "h_sum 0\n"
	                   "h_count 0\n"
	                   "# HELP lag Lag.\n"
	                   "# TYPE lag gauge\n");
	eda_metrics_free(reg);
}
END_TEST

START_TEST(render_histogram_cumulative)
{
	eda_metrics_t *reg = eda_metrics_new();
	const double bounds[] = {0.25, 1, 4};
	eda_metric_t *h =
	        eda_metrics_histogram(reg, "req_seconds", "Latency.", "route", bounds, 3, NULL, 0);
	const double obs[] = {0.125, 0.25, 0.5, 8, 1};

	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		eda_histogram_observe(h, EDA_LABELS("/orders"), obs[i]);
	eda_histogram_observe(h, EDA_LABELS("/a"), 100);
	eda_histogram_observe(h, EDA_LABELS("/a"), NAN); /* dropped */
	ck_assert(eda_metric_value(h, EDA_LABELS("/orders")) == 5);
	assert_render(reg, "# HELP req_seconds Latency.\n"
	                   "# TYPE req_seconds histogram\n"
	                   "req_seconds_bucket{route=\"/a\",le=\"0.25\"} 0\n"
	                   "req_seconds_bucket{route=\"/a\",le=\"1\"} 0\n"
	                   "req_seconds_bucket{route=\"/a\",le=\"4\"} 0\n"
	                   "req_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1\n"
	                   "req_seconds_sum{route=\"/a\"} 100\n"
	                   "req_seconds_count{route=\"/a\"} 1\n"
	                   "req_seconds_bucket{route=\"/orders\",le=\"0.25\"} 2\n"
	                   "req_seconds_bucket{route=\"/orders\",le=\"1\"} 4\n"
	                   "req_seconds_bucket{route=\"/orders\",le=\"4\"} 4\n"
	                   "req_seconds_bucket{route=\"/orders\",le=\"+Inf\"} 5\n"
	                   "req_seconds_sum{route=\"/orders\"} 9.875\n"
	                   "req_seconds_count{route=\"/orders\"} 5\n");
	eda_metrics_free(reg);
}
END_TEST

START_TEST(render_default_buckets)
{
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *h = eda_metrics_histogram(reg, "d", "", NULL, NULL, 0, NULL, 0);
	const char *les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	                     "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
	char *out, *p, want[64];

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(eda_metrics_default_nbuckets, 11);
	eda_histogram_observe(h, NULL, 0.005); /* on a bound: counted in it */
	eda_histogram_observe(h, NULL, 0.3);
	eda_histogram_observe(h, NULL, 11);
	out = eda_metrics_render(reg, NULL);
	p = out;
	for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
		int n = i < 6 ? 1 : i < 11 ? 2 : 3;

		snprintf(want, sizeof(want), "d_bucket{le=\"%s\"} %d\n", les[i], n);
		p = strstr(p, want);
		ck_assert_msg(p != NULL, "missing or out of order: %s in\n%s", want, out);
	}
	ck_assert_ptr_nonnull(strstr(out, "d_count 3\n"));
	free(out);
	eda_metrics_free(reg);
}
END_TEST

START_TEST(render_escapes_labels_and_help)
{
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *g = eda_metrics_gauge(reg, "g", "Say \"hi\"\\now\nnext", "v", NULL, 0);

	eda_gauge_set(g, EDA_LABELS("a\"b\\c\nd"), 1);
	eda_gauge_set(g, EDA_LABELS(""), 2);
	eda_gauge_set(g, EDA_LABELS("caf\xc3\xa9"), 3);
	assert_render(reg, "# HELP g Say \"hi\"\\\\now\\nnext\n"
	                   "# TYPE g gauge\n"
	                   "g{v=\"\"} 2\n"
	                   "g{v=\"a\\\"b\\\\c\\nd\"} 1\n"
	                   "g{v=\"caf\xc3\xa9\"} 3\n");
	eda_metrics_free(reg);
}
END_TEST

static const struct {
	double v;
	const char *text;
} value_cases[] = {
        {0, "0"},
        {1, "1"},
        {-0.5, "-0.5"},
        {0.1, "0.1"},
        {123456789, "123456789"},
        {1e21, "1e+21"},
        {1.0 / 3, "0.3333333333333333"},
        {2.5e-7, "2.5e-07"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
        {9007199254740993.0, "9007199254740992"},
};

START_TEST(render_value_spelling)
{
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *g = eda_metrics_gauge(reg, "g", "", NULL, NULL, 0);
	char want[128];

	eda_gauge_set(g, NULL, value_cases[_i].v);
	snprintf(want, sizeof(want), "# TYPE g gauge\ng %s\n", value_cases[_i].text);
	assert_render(reg, want);
	eda_metrics_free(reg);
}
END_TEST

START_TEST(label_values_are_copied)
{
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *c = eda_metrics_counter(reg, "c", "", "k", NULL, 0);
	char value[8] = "first";

	eda_counter_add(c, EDA_LABELS(value), 1);
	strcpy(value, "second");
	assert_render(reg, "# TYPE c counter\nc{k=\"first\"} 1\n");
	eda_metrics_free(reg);
}
END_TEST

/* ---- updates ------------------------------------------------------------------------ */

START_TEST(update_semantics)
{
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *c = eda_metrics_counter(reg, "c", "", "k", NULL, 0);
	eda_metric_t *g = eda_metrics_gauge(reg, "g", "", NULL, NULL, 0);
	eda_metric_t *h = eda_metrics_histogram(reg, "h", "", NULL, NULL, 0, NULL, 0);

	ck_assert(eda_metric_value(c, EDA_LABELS("x")) == 0);
	eda_counter_add(c, EDA_LABELS("x"), 2);
	eda_counter_add(c, EDA_LABELS("x"), -5);
	eda_counter_add(c, EDA_LABELS("x"), NAN);
	eda_counter_add(c, NULL, 1); /* labels missing: ignored */
	ck_assert(eda_metric_value(c, EDA_LABELS("x")) == 2);
	ck_assert(eda_metric_value(c, EDA_LABELS("y")) == 0);
	ck_assert(eda_metric_value(c, NULL) == 0);

	eda_gauge_set(g, NULL, 10);
	eda_gauge_add(g, NULL, -3.5);
	ck_assert(eda_metric_value(g, NULL) == 6.5);

	/* The wrong kind of update leaves a family alone. */
	eda_gauge_set(c, EDA_LABELS("x"), 100);
	eda_counter_add(g, NULL, 100);
	eda_histogram_observe(g, NULL, 1);
	eda_gauge_add(h, NULL, 1);
	ck_assert(eda_metric_value(c, EDA_LABELS("x")) == 2);
	ck_assert(eda_metric_value(g, NULL) == 6.5);
	ck_assert(eda_metric_value(h, NULL) == 0);
	eda_histogram_observe(h, NULL, 0.2);
	ck_assert(eda_metric_value(h, NULL) == 1);

	/* A failed registration's NULL is safe to use. */
	eda_counter_add(NULL, NULL, 1);
	eda_gauge_set(NULL, NULL, 1);
	eda_gauge_add(NULL, NULL, 1);
	eda_histogram_observe(NULL, NULL, 1);
	ck_assert(eda_metric_value(NULL, NULL) == 0);
	eda_metrics_free(reg);
}
END_TEST

/* ---- validation ----------------------------------------------------------------------- */

enum { COUNTER, GAUGE, HISTOGRAM };

static const struct {
	int type;
	const char *name;
	const char *labels;
	int ok;
} name_cases[] = {
        {COUNTER, "a", NULL, 1},         {COUNTER, "_a:b_1", "", 1},
        {GAUGE, ":a", "x, y ,z", 1},     {COUNTER, "http_requests_total", "route,code", 1},
        {COUNTER, "a", "le", 1},         {COUNTER, "", NULL, 0},
        {COUNTER, "1abc", NULL, 0},      {GAUGE, "a-b", NULL, 0},
        {GAUGE, "a b", NULL, 0},         {GAUGE, "caf\xc3\xa9", NULL, 0},
        {COUNTER, "a", "a:b", 0},        {COUNTER, "a", "__name", 0},
        {COUNTER, "a", "1x", 0},         {COUNTER, "a", "x,x", 0},
        {COUNTER, "a", "x,,y", 0},       {COUNTER, "a", "x,", 0},
        {COUNTER, "a", "x-y", 0},        {HISTOGRAM, "a", "_le", 1},
        {HISTOGRAM, "a", "route,le", 0}, {HISTOGRAM, "a.b", NULL, 0},
};

static eda_metric_t *register_any(eda_metrics_t *reg, int type, const char *name,
                                  const char *labels, char *err, size_t errsz)
{
	switch (type) {
	case COUNTER:
		return eda_metrics_counter(reg, name, "help", labels, err, errsz);
	case GAUGE:
		return eda_metrics_gauge(reg, name, "help", labels, err, errsz);
	default:
		return eda_metrics_histogram(reg, name, "help", labels, NULL, 0, err, errsz);
	}
}

START_TEST(name_validation_table)
{
	eda_metrics_t *reg = eda_metrics_new();
	char err[128] = "";
	eda_metric_t *m = register_any(reg, name_cases[_i].type, name_cases[_i].name,
	                               name_cases[_i].labels, err, sizeof(err));

	if (name_cases[_i].ok) {
		ck_assert_msg(m != NULL, "case %d rejected: %s", _i, err);
	} else {
		ck_assert_msg(m == NULL, "case %d accepted", _i);
		ck_assert_msg(err[0] != '\0', "case %d: no error text", _i);
		assert_render(reg, "");
	}
	eda_metrics_free(reg);
}
END_TEST

static const struct {
	double b[4];
	size_t n;
	int ok;
	const char *first_le; /* for accepted cases, "" for none before +Inf */
} bucket_cases[] = {
        {{1, 2, 3}, 3, 1, "1"},
        {{-1, 0, 1}, 3, 1, "-1"},
        {{0}, 0, 1, ""},
        {{1, INFINITY}, 2, 1, "1"},
        {{INFINITY}, 1, 1, ""},
        {{1, 1}, 2, 0, NULL},
        {{2, 1}, 2, 0, NULL},
        {{NAN}, 1, 0, NULL},
        {{1, NAN, 3}, 3, 0, NULL},
        {{-INFINITY, 1}, 2, 0, NULL},
        {{1, INFINITY, 2}, 3, 0, NULL},
};

START_TEST(bucket_validation_table)
{
	eda_metrics_t *reg = eda_metrics_new();
	char err[128] = "", want[64];
	eda_metric_t *h = eda_metrics_histogram(reg, "h", "", NULL, bucket_cases[_i].b,
	                                        bucket_cases[_i].n, err, sizeof(err));
	char *out;

	if (!bucket_cases[_i].ok) {
		ck_assert_msg(h == NULL, "case %d accepted", _i);
		ck_assert(err[0] != '\0');
		eda_metrics_free(reg);
		return;
	}
	ck_assert_msg(h != NULL, "case %d rejected: %s", _i, err);
	out = eda_metrics_render(reg, NULL);
	if (bucket_cases[_i].first_le[0] != '\0')
		snprintf(want, sizeof(want), "# TYPE h histogram\nh_bucket{le=\"%s\"} 0\n",
		         bucket_cases[_i].first_le);
	else
		snprintf(want, sizeof(want), "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\n");
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "case %d:\n%s", _i, out);
	/* +Inf appears exactly once. */
	ck_assert_ptr_null(strstr(strstr(out, "+Inf") + 1, "+Inf"));
	free(out);
	eda_metrics_free(reg);
}
END_TEST

START_TEST(reregistration)
{
	eda_metrics_t *reg = eda_metrics_new();
	const double b1[] = {1, 2}, b2[] = {1, 3};
	char err[128] = "";
	eda_metric_t *c = eda_metrics_counter(reg, "x", "X.", "a,b", err, sizeof(err));
	eda_metric_t *h = eda_metrics_histogram(reg, "h", "", NULL, b1, 2, err, sizeof(err));

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_eq(eda_metrics_counter(reg, "x", "Other help.", "a, b", err, sizeof(err)), c);
	ck_assert_ptr_eq(eda_metrics_histogram(reg, "h", "", NULL, b1, 2, err, sizeof(err)), h);

	err[0] = '\0';
	ck_assert_ptr_null(eda_metrics_gauge(reg, "x", "X.", "a,b", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "\"x\""));
	err[0] = '\0';
	ck_assert_ptr_null(eda_metrics_counter(reg, "x", "X.", "b,a", err, sizeof(err)));
	ck_assert(err[0] != '\0');
	ck_assert_ptr_null(eda_metrics_counter(reg, "x", "X.", "a", err, sizeof(err)));
	ck_assert_ptr_null(eda_metrics_counter(reg, "x", "X.", NULL, err, sizeof(err)));
	ck_assert_ptr_null(eda_metrics_histogram(reg, "h", "", NULL, b2, 2, err, sizeof(err)));
	ck_assert_ptr_null(eda_metrics_histogram(reg, "h", "", NULL, NULL, 0, err, sizeof(err)));
	/* A NULL or tiny error buffer is fine. */
	ck_assert_ptr_null(eda_metrics_gauge(reg, "x", "", NULL, NULL, 0));
	ck_assert_ptr_null(eda_metrics_gauge(reg, "x", "", NULL, err, 1));
	ck_assert_str_eq(err, "");

	eda_counter_add(c, EDA_LABELS("1", "2"), 1);
	assert_render(reg, "# TYPE h histogram\n"
	                   "h_bucket{le=\"1\"} 0\n"
	                   "h_bucket{le=\"2\"} 0\n"
	                   "h_bucket{le=\"+Inf\"} 0\n"
	                   "h_sum 0\n"
	                   "h_count 0\n"
	                   "# HELP x X.\n"
	                   "# TYPE x counter\n"
	                   "x{a=\"1\",b=\"2\"} 1\n");
	eda_metrics_free(reg);
}
END_TEST

/* ---- threads ----------------------------------------------------------------------------- */

#define THREADS    8
#define ITERATIONS 100000
#define NEW_SERIES 500

typedef struct {
	eda_metrics_t *reg;
	eda_metric_t *shared;
	eda_metric_t *gauge;
	eda_metric_t *hist;
	int id;
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	char own[16], fresh[16], name[32];

	snprintf(own, sizeof(own), "t%d", w->id);
	for (int i = 0; i < ITERATIONS; i++) {
		/* Every thread creates the same new series at the same time. */
		snprintf(fresh, sizeof(fresh), "n%d", i % NEW_SERIES);
		eda_counter_add(w->shared, EDA_LABELS("shared"), 1);
		eda_counter_add(w->shared, EDA_LABELS(own), 1);
		eda_counter_add(w->shared, EDA_LABELS(fresh), 1);
		eda_gauge_add(w->gauge, NULL, i % 2 ? 1 : -1);
		eda_histogram_observe(w->hist, NULL, (double)(i % 4));
		if (i % 1000 == 0) {
			/* Registration and scraping race with the updates. */
			snprintf(name, sizeof(name), "late_%d_%d", w->id, i / 1000);
			ck_assert_ptr_nonnull(eda_metrics_counter(w->reg, name, "", "k", NULL, 0));
			ck_assert_ptr_eq(
			        eda_metrics_counter(w->reg, "events_total", "", "k", NULL, 0),
			        w->shared);
		}
		if (i % 20000 == 0)
			free(eda_metrics_render(w->reg, NULL));
	}
	return NULL;
}

START_TEST(threads_exact_totals)
{
	eda_metrics_t *reg = eda_metrics_new();
	const double bounds[] = {0.5, 1.5, 2.5};
	pthread_t t[THREADS];
	worker_t w[THREADS];
	eda_metric_t *shared = eda_metrics_counter(reg, "events_total", "", "k", NULL, 0);
	eda_metric_t *gauge = eda_metrics_gauge(reg, "in_flight", "", NULL, NULL, 0);
	eda_metric_t *hist = eda_metrics_histogram(reg, "hist", "", NULL, bounds, 3, NULL, 0);
	char label[16], *out;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){reg, shared, gauge, hist, i};
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	ck_assert(eda_metric_value(shared, EDA_LABELS("shared")) == THREADS * ITERATIONS);
	for (int i = 0; i < THREADS; i++) {
		snprintf(label, sizeof(label), "t%d", i);
		ck_assert(eda_metric_value(shared, EDA_LABELS(label)) == ITERATIONS);
	}
	for (int i = 0; i < NEW_SERIES; i++) {
		snprintf(label, sizeof(label), "n%d", i);
		ck_assert(eda_metric_value(shared, EDA_LABELS(label)) ==
		          (double)THREADS * ITERATIONS / NEW_SERIES);
	}
	ck_assert(eda_metric_value(gauge, NULL) == 0);
	ck_assert(eda_metric_value(hist, NULL) == THREADS * ITERATIONS);

	out = eda_metrics_render(reg, NULL);
	ck_assert_ptr_nonnull(strstr(out, "events_total{k=\"shared\"} 800000\n"));
	ck_assert_ptr_nonnull(strstr(out, "hist_bucket{le=\"0.5\"} 200000\n"));
	ck_assert_ptr_nonnull(strstr(out, "hist_bucket{le=\"1.5\"} 400000\n"));
	ck_assert_ptr_nonnull(strstr(out, "hist_bucket{le=\"2.5\"} 600000\n"));
	ck_assert_ptr_nonnull(strstr(out, "hist_bucket{le=\"+Inf\"} 800000\n"));
	ck_assert_ptr_nonnull(strstr(out, "hist_sum 1200000\n"));
	ck_assert_ptr_nonnull(strstr(out, "# TYPE late_7_99 counter\n"));
	free(out);
	eda_metrics_free(reg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *render = tcase_create("render");
	TCase *rules = tcase_create("rules");
	TCase *threads = tcase_create("threads");

	tcase_add_test(render, render_empty_registry);
	tcase_add_test(render, render_counters_and_gauges_sorted);
	tcase_add_test(render, render_untouched_families);
	tcase_add_test(render, render_histogram_cumulative);
	tcase_add_test(render, render_default_buckets);
	tcase_add_test(render, render_escapes_labels_and_help);
	tcase_add_loop_test(render, render_value_spelling, 0,
	                    (int)(sizeof(value_cases) / sizeof(value_cases[0])));
	tcase_add_test(render, label_values_are_copied);
	suite_add_tcase(s, render);

	tcase_add_test(rules, update_semantics);
	tcase_add_loop_test(rules, name_validation_table, 0,
	                    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	tcase_add_loop_test(rules, bucket_validation_table, 0,
	                    (int)(sizeof(bucket_cases) / sizeof(bucket_cases[0])));
	tcase_add_test(rules, reregistration);
	suite_add_tcase(s, rules);

	/* Generous for sanitizer and valgrind runs. */
	tcase_set_timeout(threads, 600);
	tcase_add_test(threads, threads_exact_totals);
	suite_add_tcase(s, threads);

	return ts_run_suite(s);
}
