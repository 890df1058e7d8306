/*
 * Metrics registry: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4. Every update is safe from any thread.
 *
 * A registry owns its families; a family owns its series. Families are created
 * at start-up (the functions below return the existing family when called again
 * with the same name, type and label names) and live as long as the registry.
 * Label values are given as an array with exactly as many entries as the family
 * has label names, in the same order; EDA_LABELS builds one inline:
 *
 *     eda_metric_t *c = eda_metrics_counter(reg, "events_published_total",
 *                                           "Events published.", "topic,type", err, sizeof err);
 *     eda_counter_add(c, EDA_LABELS("orders", "OrderPlaced"), 1);
 */
#ifndef EDA_METRICS_H
#define EDA_METRICS_H

#include <stddef.h>

typedef struct eda_metrics eda_metrics_t;
typedef struct eda_metric eda_metric_t;

#define EDA_LABELS(...) ((const char *const[]){__VA_ARGS__})

eda_metrics_t *eda_metrics_new(void);
void eda_metrics_free(eda_metrics_t *reg);

/* LABEL_NAMES: comma-separated ("route,code") or NULL for none. Returns the
 * family, or NULL with ERR filled for an invalid name or label name, or a name
 * already registered with another type or other labels. */
eda_metric_t *eda_metrics_counter(eda_metrics_t *reg, const char *name, const char *help,
                                  const char *label_names, char *err, size_t errsz);
eda_metric_t *eda_metrics_gauge(eda_metrics_t *reg, const char *name, const char *help,
                                const char *label_names, char *err, size_t errsz);
/* BUCKETS: NBUCKETS strictly increasing upper bounds (the +Inf bucket is
 * implicit); NULL uses eda_metrics_default_buckets (5 ms .. 10 s). */
eda_metric_t *eda_metrics_histogram(eda_metrics_t *reg, const char *name, const char *help,
                                    const char *label_names, const double *buckets, size_t nbuckets,
                                    char *err, size_t errsz);

extern const double eda_metrics_default_buckets[];
extern const size_t eda_metrics_default_nbuckets;

/* LABELS may be NULL for a family without labels. A counter ignores a negative V. */
void eda_counter_add(eda_metric_t *m, const char *const *labels, double v);
void eda_gauge_set(eda_metric_t *m, const char *const *labels, double v);
void eda_gauge_add(eda_metric_t *m, const char *const *labels, double v);
void eda_histogram_observe(eda_metric_t *m, const char *const *labels, double v);

/* Reads one series' current value (counter or gauge; histogram: the count), 0 if
 * it has never been touched. For tests and for health decisions. */
double eda_metric_value(eda_metric_t *m, const char *const *labels);

/* Renders every family, sorted by name, in text format 0.0.4 into a new string
 * (caller frees); *LEN receives its length when LEN is not NULL. */
char *eda_metrics_render(eda_metrics_t *reg, size_t *len);

#endif
