/*
 * Metrics registry rendered in the Prometheus text exposition format 0.0.4; see
 * eda/metrics.h.
 *
 * Locking: the registry's mutex guards only its list of families, which is kept
 * sorted by name and never shrinks until eda_metrics_free. Each family has its
 * own mutex guarding its series (a hash table over the label values plus an
 * array in creation order). Updates take one family lock; rendering copies the
 * family list under the registry lock, then renders one family at a time under
 * that family's lock, so a scrape never stalls updates of other families.
 */
#include "eda/metrics.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
	TYPE_COUNTER,
	TYPE_GAUGE,
	TYPE_HISTOGRAM,
} metric_type_t;

static const char *const type_names[] = {"counter", "gauge", "histogram"};

typedef struct series {
	char **values; /* one per label name, owned */
	uint64_t hash;
	struct series *next; /* hash chain */
	double value;        /* counter or gauge */
	/* histogram: per-bucket (not cumulative) counts, the last one for +Inf */
	uint64_t *counts;
	uint64_t count;
	double sum;
} series_t;

struct eda_metric {
	char *name;
	char *help;
	metric_type_t type;
	char **label_names;
	size_t nlabels;
	double *buckets;
	size_t nbuckets;

	pthread_mutex_t lock;
	series_t **table; /* hash buckets, a power of two */
	size_t table_size;
	series_t **series; /* creation order */
	size_t nseries;
	size_t series_cap;
};

struct eda_metrics {
	pthread_mutex_t lock;
	eda_metric_t **families; /* sorted by name */
	size_t nfamilies;
	size_t cap;
};

const double eda_metrics_default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10};
const size_t eda_metrics_default_nbuckets =
        sizeof(eda_metrics_default_buckets) / sizeof(eda_metrics_default_buckets[0]);

/* ---- names ------------------------------------------------------------------- */

static bool is_name_char(char c, bool first, bool colon_ok)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (c == ':')
		return colon_ok;
	return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *s, size_t n, bool colon_ok)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_name_char(s[i], i == 0, colon_ok))
			return false;
	}
	return true;
}

static void free_strings(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Splits "route, code" into names. Returns 0, or -1 with ERR filled; *OUT is
 * set only on success. */
static int parse_label_names(const char *spec, bool histogram, char ***out, size_t *nout, char *err,
                             size_t errsz)
{
	char **names = NULL;
	size_t n = 0;
	const char *p = spec;

	if (spec == NULL || spec[strspn(spec, " \t")] == '\0') {
		*out = NULL;
		*nout = 0;
		return 0;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!valid_name(p, len, false) || (len >= 2 && p[0] == '_' && p[1] == '_')) {
			eda_errf(err, errsz, "invalid label name \"%.*s\"", (int)len, p);
			goto fail;
		}
		if (histogram && len == 2 && memcmp(p, "le", 2) == 0) {
			eda_errf(err, errsz, "label name \"le\" is reserved for histogram buckets");
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0) {
				eda_errf(err, errsz, "duplicate label name \"%.*s\"", (int)len, p);
				goto fail;
			}
		}
		names = eda_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = eda_xstrndup(p, len);
		if (end == NULL)
			break;
		p = end + 1;
	}
	*out = names;
	*nout = n;
	return 0;
fail:
	free_strings(names, n);
	return -1;
}

/* ---- series -------------------------------------------------------------------- */

/* VALUES is NULL only for a metric without labels (N == 0): its callers check that
 * before taking the lock, after which the analyser no longer knows N is fixed. */
static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		for (const unsigned char *p = (const unsigned char *)values[i]; *p != '\0'; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		/* A separator that cannot occur in a C string keeps ("ab","c") and
		 * ("a","bc") apart. */
		h ^= 0x100;
		h *= 1099511628211ULL;
	}
	return h;
}

/* As in hash_values: LABELS is not NULL when there is a label I to read. */
static const char *label_value(const char *const *labels, size_t i)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	return labels[i] != NULL ? labels[i] : "";
}

static series_t *find_series(eda_metric_t *m, const char *const *labels, uint64_t h)
{
	for (series_t *s = m->table[h & (m->table_size - 1)]; s != NULL; s = s->next) {
		size_t i;

		if (s->hash != h)
			continue;
		for (i = 0; i < m->nlabels; i++) {
			if (strcmp(s->values[i], label_value(labels, i)) != 0)
				break;
		}
		if (i == m->nlabels)
			return s;
	}
	return NULL;
}

static void grow_table(eda_metric_t *m)
{
	size_t size = m->table_size * 2;
	series_t **table = eda_xcalloc(size, sizeof(*table));

	for (size_t i = 0; i < m->nseries; i++) {
		series_t *s = m->series[i];
		size_t b = s->hash & (size - 1);

		s->next = table[b];
		table[b] = s;
	}
	free(m->table);
	m->table = table;
	m->table_size = size;
}

/* Called with the family locked. */
static series_t *get_series(eda_metric_t *m, const char *const *labels)
{
	uint64_t h = hash_values(labels, m->nlabels);
	series_t *s = find_series(m, labels, h);
	size_t b;

	if (s != NULL)
		return s;
	s = eda_xcalloc(1, sizeof(*s));
	s->hash = h;
	if (m->nlabels > 0) {
		s->values = eda_xcalloc(m->nlabels, sizeof(*s->values));
		for (size_t i = 0; i < m->nlabels; i++)
			s->values[i] = eda_xstrdup(label_value(labels, i));
	}
	if (m->type == TYPE_HISTOGRAM)
		s->counts = eda_xcalloc(m->nbuckets + 1, sizeof(*s->counts));
	if (m->nseries == m->series_cap) {
		m->series_cap = m->series_cap ? m->series_cap * 2 : 8;
		m->series = eda_xrealloc(m->series, m->series_cap * sizeof(*m->series));
	}
	m->series[m->nseries++] = s;
	if (m->nseries > m->table_size)
		grow_table(m);
	else {
		b = h & (m->table_size - 1);
		s->next = m->table[b];
		m->table[b] = s;
	}
	return s;
}

static void free_family(eda_metric_t *m)
{
	for (size_t i = 0; i < m->nseries; i++) {
		free_strings(m->series[i]->values, m->nlabels);
		free(m->series[i]->counts);
		free(m->series[i]);
	}
	free(m->series);
	free(m->table);
	free_strings(m->label_names, m->nlabels);
	free(m->buckets);
	free(m->help);
	free(m->name);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- registry ------------------------------------------------------------------ */

eda_metrics_t *eda_metrics_new(void)
{
	eda_metrics_t *reg = eda_xcalloc(1, sizeof(*reg));

	pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

void eda_metrics_free(eda_metrics_t *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->nfamilies; i++)
		free_family(reg->families[i]);
	free(reg->families);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

static bool same_shape(const eda_metric_t *m, metric_type_t type, char **labels, size_t nlabels,
                       const double *buckets, size_t nbuckets)
{
	if (m->type != type || m->nlabels != nlabels || m->nbuckets != nbuckets)
		return false;
	for (size_t i = 0; i < nlabels; i++) {
		if (strcmp(m->label_names[i], labels[i]) != 0)
			return false;
	}
	return nbuckets == 0 || memcmp(m->buckets, buckets, nbuckets * sizeof(*buckets)) == 0;
}

/* Validates and registers a family, or returns the existing one of the same
 * shape. BUCKETS is already validated (histograms only). */
static eda_metric_t *register_family(eda_metrics_t *reg, metric_type_t type, const char *name,
                                     const char *help, const char *label_names,
                                     const double *buckets, size_t nbuckets, char *err,
                                     size_t errsz)
{
	eda_metric_t *m = NULL;
	char **labels = NULL;
	size_t nlabels = 0, lo = 0, hi;

	if (reg == NULL) {
		eda_errf(err, errsz, "no registry");
		return NULL;
	}
	if (name == NULL || !valid_name(name, strlen(name), true)) {
		eda_errf(err, errsz, "invalid metric name \"%s\"", name != NULL ? name : "(null)");
		return NULL;
	}
	if (parse_label_names(label_names, type == TYPE_HISTOGRAM, &labels, &nlabels, err, errsz) !=
	    0)
		return NULL;

	pthread_mutex_lock(&reg->lock);
	hi = reg->nfamilies;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(reg->families[mid]->name, name);

		if (c == 0) {
			m = reg->families[mid];
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (m != NULL) {
		if (!same_shape(m, type, labels, nlabels, buckets, nbuckets)) {
			eda_errf(err, errsz,
			         "metric \"%s\" is already registered as a %s with other labels or "
			         "buckets",
			         name, type_names[m->type]);
			m = NULL;
		}
		goto out;
	}

	m = eda_xcalloc(1, sizeof(*m));
	m->name = eda_xstrdup(name);
	m->help = eda_xstrdup(help != NULL ? help : "");
	m->type = type;
	m->label_names = labels;
	m->nlabels = nlabels;
	labels = NULL;
	if (type == TYPE_HISTOGRAM) {
		m->nbuckets = nbuckets;
		m->buckets = eda_xmalloc((nbuckets ? nbuckets : 1) * sizeof(*buckets));
		if (nbuckets > 0)
			memcpy(m->buckets, buckets, nbuckets * sizeof(*buckets));
	}
	pthread_mutex_init(&m->lock, NULL);
	m->table_size = 8;
	m->table = eda_xcalloc(m->table_size, sizeof(*m->table));
	/* A family without labels has exactly one series, present from the start
	 * so that it is scraped as 0 before its first update. */
	if (m->nlabels == 0)
		get_series(m, NULL);

	if (reg->nfamilies == reg->cap) {
		reg->cap = reg->cap ? reg->cap * 2 : 16;
		reg->families = eda_xrealloc(reg->families, reg->cap * sizeof(*reg->families));
	}
	memmove(reg->families + lo + 1, reg->families + lo,
	        (reg->nfamilies - lo) * sizeof(*reg->families));
	reg->families[lo] = m;
	reg->nfamilies++;
out:
	pthread_mutex_unlock(&reg->lock);
	free_strings(labels, nlabels);
	return m;
}

eda_metric_t *eda_metrics_counter(eda_metrics_t *reg, const char *name, const char *help,
                                  const char *label_names, char *err, size_t errsz)
{
	return register_family(reg, TYPE_COUNTER, name, help, label_names, NULL, 0, err, errsz);
}

eda_metric_t *eda_metrics_gauge(eda_metrics_t *reg, const char *name, const char *help,
                                const char *label_names, char *err, size_t errsz)
{
	return register_family(reg, TYPE_GAUGE, name, help, label_names, NULL, 0, err, errsz);
}

eda_metric_t *eda_metrics_histogram(eda_metrics_t *reg, const char *name, const char *help,
                                    const char *label_names, const double *buckets, size_t nbuckets,
                                    char *err, size_t errsz)
{
	if (buckets == NULL) {
		buckets = eda_metrics_default_buckets;
		nbuckets = eda_metrics_default_nbuckets;
	}
	/* An explicit +Inf bound is the implicit last bucket; drop it rather than
	 * render it twice. */
	if (nbuckets > 0 && isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0)
		nbuckets--;
	for (size_t i = 0; i < nbuckets; i++) {
		if (!isfinite(buckets[i])) {
			eda_errf(err, errsz, "histogram \"%s\": bucket %zu is not finite",
			         name != NULL ? name : "(null)", i);
			return NULL;
		}
		if (i > 0 && !(buckets[i] > buckets[i - 1])) {
			eda_errf(err, errsz,
			         "histogram \"%s\": buckets must be strictly increasing (bucket "
			         "%zu)",
			         name != NULL ? name : "(null)", i);
			return NULL;
		}
	}
	return register_family(reg, TYPE_HISTOGRAM, name, help, label_names, buckets, nbuckets, err,
	                       errsz);
}

/* ---- updates ------------------------------------------------------------------- */

/* Locks M and returns the series for LABELS, or NULL (M left unlocked) when M
 * is not of TYPE or LABELS is missing for a labelled family. */
static series_t *lock_series(eda_metric_t *m, metric_type_t type, const char *const *labels)
{
	if (m == NULL || m->type != type || (labels == NULL && m->nlabels > 0))
		return NULL;
	pthread_mutex_lock(&m->lock);
	return get_series(m, labels);
}

void eda_counter_add(eda_metric_t *m, const char *const *labels, double v)
{
	series_t *s;

	/* Counters only go up; this also drops NaN. */
	if (!(v >= 0) || (s = lock_series(m, TYPE_COUNTER, labels)) == NULL)
		return;
	s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void eda_gauge_set(eda_metric_t *m, const char *const *labels, double v)
{
	series_t *s = lock_series(m, TYPE_GAUGE, labels);

	if (s == NULL)
		return;
	s->value = v;
	pthread_mutex_unlock(&m->lock);
}

void eda_gauge_add(eda_metric_t *m, const char *const *labels, double v)
{
	series_t *s = lock_series(m, TYPE_GAUGE, labels);

	if (s == NULL)
		return;
	s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void eda_histogram_observe(eda_metric_t *m, const char *const *labels, double v)
{
	series_t *s;
	size_t lo = 0, hi;

	if (isnan(v) || (s = lock_series(m, TYPE_HISTOGRAM, labels)) == NULL)
		return;
	/* First bound >= v; past the last one is the +Inf bucket. */
	hi = m->nbuckets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->buckets[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	s->counts[lo]++;
	s->count++;
	s->sum += v;
	pthread_mutex_unlock(&m->lock);
}

double eda_metric_value(eda_metric_t *m, const char *const *labels)
{
	series_t *s;
	double v = 0;

	if (m == NULL || (labels == NULL && m->nlabels > 0))
		return 0;
	pthread_mutex_lock(&m->lock);
	s = find_series(m, labels, hash_values(labels, m->nlabels));
	if (s != NULL)
		v = m->type == TYPE_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&m->lock);
	return v;
}

/* ---- rendering ------------------------------------------------------------------- */

typedef struct {
	char *p;
	size_t len;
	size_t cap;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		while (b->cap - b->len < n + 1)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = eda_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(buf_t *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* ESCAPE_QUOTE is set for label values; HELP text escapes only '\\' and '\n'. */
static void buf_put_escaped(buf_t *b, const char *s, bool escape_quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && escape_quote)
			esc = "\\\"";
		if (esc == NULL)
			continue;
		buf_put(b, run, (size_t)(s - run));
		buf_puts(b, esc);
		run = s + 1;
	}
	buf_put(b, run, (size_t)(s - run));
}

/* The shortest decimal that reads back as V, spelled as Prometheus spells the
 * special values. */
static void format_value(char *out, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void buf_put_value(buf_t *b, double v)
{
	char num[40];

	format_value(num, sizeof(num), v);
	buf_puts(b, num);
}

/* name{a="x",b="y"[,le="..."]} value */
static void put_sample(buf_t *b, const eda_metric_t *m, const char *suffix, const series_t *s,
                       const char *le)
{
	buf_puts(b, m->name);
	buf_puts(b, suffix);
	if (m->nlabels > 0 || le != NULL) {
		buf_put(b, "{", 1);
		for (size_t i = 0; i < m->nlabels; i++) {
			if (i > 0)
				buf_put(b, ",", 1);
			buf_puts(b, m->label_names[i]);
			buf_put(b, "=\"", 2);
			buf_put_escaped(b, s->values[i], true);
			buf_put(b, "\"", 1);
		}
		if (le != NULL) {
			if (m->nlabels > 0)
				buf_put(b, ",", 1);
			buf_puts(b, "le=\"");
			buf_puts(b, le);
			buf_put(b, "\"", 1);
		}
		buf_put(b, "}", 1);
	}
	buf_put(b, " ", 1);
}

static int compare_series(const void *a, const void *b, void *nlabels)
{
	const series_t *x = *(const series_t *const *)a;
	const series_t *y = *(const series_t *const *)b;

	for (size_t i = 0; i < *(const size_t *)nlabels; i++) {
		int c = strcmp(x->values[i], y->values[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Called with the family locked. Series are rendered sorted by label values so
 * that scrapes are stable and diffable. */
static void render_family(buf_t *b, eda_metric_t *m)
{
	series_t **sorted = NULL;
	char num[40];

	if (m->help[0] != '\0') {
		buf_puts(b, "# HELP ");
		buf_puts(b, m->name);
		buf_put(b, " ", 1);
		buf_put_escaped(b, m->help, false);
		buf_put(b, "\n", 1);
	}
	buf_puts(b, "# TYPE ");
	buf_puts(b, m->name);
	buf_put(b, " ", 1);
	buf_puts(b, type_names[m->type]);
	buf_put(b, "\n", 1);
	if (m->nseries == 0)
		return;

	sorted = eda_xmalloc(m->nseries * sizeof(*sorted));
	memcpy(sorted, m->series, m->nseries * sizeof(*sorted));
	if (m->nlabels > 0)
		qsort_r(sorted, m->nseries, sizeof(*sorted), compare_series, &m->nlabels);
	for (size_t i = 0; i < m->nseries; i++) {
		const series_t *s = sorted[i];
		uint64_t cumulative = 0;

		if (m->type != TYPE_HISTOGRAM) {
			put_sample(b, m, "", s, NULL);
			buf_put_value(b, s->value);
			buf_put(b, "\n", 1);
			continue;
		}
		for (size_t k = 0; k <= m->nbuckets; k++) {
			cumulative += s->counts[k];
			if (k < m->nbuckets)
				format_value(num, sizeof(num), m->buckets[k]);
			put_sample(b, m, "_bucket", s, k < m->nbuckets ? num : "+Inf");
			snprintf(num, sizeof(num), "%" PRIu64 "\n", cumulative);
			buf_puts(b, num);
		}
		put_sample(b, m, "_sum", s, NULL);
		buf_put_value(b, s->sum);
		buf_put(b, "\n", 1);
		put_sample(b, m, "_count", s, NULL);
		snprintf(num, sizeof(num), "%" PRIu64 "\n", s->count);
		buf_puts(b, num);
	}
	free(sorted);
}

char *eda_metrics_render(eda_metrics_t *reg, size_t *len)
{
	buf_t b = {NULL, 0, 0};
	eda_metric_t **families;
	size_t n;

	buf_put(&b, "", 0);
	if (reg == NULL)
		goto out;
	pthread_mutex_lock(&reg->lock);
	n = reg->nfamilies;
	families = eda_xmalloc((n ? n : 1) * sizeof(*families));
	if (n > 0)
		memcpy(families, reg->families, n * sizeof(*families));
	pthread_mutex_unlock(&reg->lock);

	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&families[i]->lock);
		render_family(&b, families[i]);
		pthread_mutex_unlock(&families[i]->lock);
	}
	free(families);
out:
	if (len != NULL)
		*len = b.len;
	return b.p;
}
