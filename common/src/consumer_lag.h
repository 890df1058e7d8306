/* Private to common/: consumer lag from librdkafka's statistics JSON. */
#ifndef EDA_CONSUMER_LAG_H
#define EDA_CONSUMER_LAG_H

#include <stddef.h>

#include "eda/metrics.h"

/* Parses librdkafka statistics (statistics.interval.ms) and sets
 * GAUGE{topic,partition} to each assigned partition's consumer_lag. Partitions
 * whose lag librdkafka does not know yet (-1) are skipped. Returns the number
 * of partitions set, or -1 when JSON is not librdkafka statistics. */
int eda_consumer_lag_update(const char *json, size_t len, eda_metric_t *gauge);

#endif
