/*
 * Tests for the statistics -> consumer_lag gauge parser (common/src/consumer_lag.c),
 * on trimmed librdkafka statistics documents and on malformed input.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../src/consumer_lag.h"
#include "support/check_main.h"

static const char stats[] = "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"topics\":{"
                            "\"orders\":{\"topic\":\"orders\",\"partitions\":{"
                            "\"0\":{\"partition\":0,\"consumer_lag\":5},"
                            "\"1\":{\"partition\":1,\"consumer_lag\":0},"
                            "\"2\":{\"partition\":2,\"consumer_lag\":-1},"
                            "\"-1\":{\"partition\":-1,\"consumer_lag\":-1}}},"
                            "\"inventory\":{\"partitions\":{\"3\":{\"consumer_lag\":12}}}}}";

START_TEST(lag_per_partition)
{
	eda_metrics_t *reg = eda_metrics_new();
	char err[128];
	eda_metric_t *g =
	        eda_metrics_gauge(reg, "consumer_lag", "lag", "topic,partition", err, sizeof(err));

	ck_assert_int_eq(eda_consumer_lag_update(stats, strlen(stats), g), 3);
	ck_assert_double_eq(eda_metric_value(g, EDA_LABELS("orders", "0")), 5);
	ck_assert_double_eq(eda_metric_value(g, EDA_LABELS("orders", "1")), 0);
	ck_assert_double_eq(eda_metric_value(g, EDA_LABELS("inventory", "3")), 12);
	char *text = eda_metrics_render(reg, NULL);
	ck_assert_ptr_null(strstr(text, "partition=\"-1\""));
	ck_assert_ptr_null(strstr(text, "partition=\"2\""));
	free(text);
	eda_metrics_free(reg);
}
END_TEST

static const char *const bad[] = {
        "",
        "{",
        "[]",
        "null",
        "{\"topics\":[]}",
        "{\"topics\":{\"t\":{\"partitions\":7}}}",
        "{\"topics\":{\"t\":{\"partitions\":{\"0\":{\"consumer_lag\":\"5\"}}}}}",
};

START_TEST(malformed_stats)
{
	eda_metrics_t *reg = eda_metrics_new();
	char err[128];
	eda_metric_t *g =
	        eda_metrics_gauge(reg, "consumer_lag", "lag", "topic,partition", err, sizeof(err));

	ck_assert_int_le(eda_consumer_lag_update(bad[_i], strlen(bad[_i]), g), 0);
	eda_metrics_free(reg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("consumer_lag");
	TCase *tc = tcase_create("lag");

	tcase_add_test(tc, lag_per_partition);
	tcase_add_loop_test(tc, malformed_stats, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);
	return ts_run_suite(s);
}
