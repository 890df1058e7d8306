/*
 * In-process service runner and DLQ reader of app_harness.h.
 */
#include "support/app_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eda/metrics.h"
#include "support/kafka_support.h"
#include "support/sink.h"

void ts_app_start(ts_app_t *a, int partitions, const char *smtp_url, const char *spool_dir)
{
	char state[256], record[300];

	ts_unique(a->topic, sizeof(a->topic), "test.notif.orders");
	ts_unique(a->group, sizeof(a->group), "test-notif");
	snprintf(a->dlq, sizeof(a->dlq), "dlq.%s", a->group);
	ts_create_topic(a->topic, partitions);
	ts_create_topic(a->dlq, 1);
	setenv("KAFKA_BOOTSTRAP_SERVERS", ts_bootstrap(), 1);
	setenv("BIND_ADDR", "127.0.0.1", 1);
	setenv("RETRY_INITIAL_MS", "100", 1);
	setenv("RETRY_MAX_MS", "1000", 1);
	setenv("SMTP_TIMEOUT_MS", "5000", 1);
	/* A record of the test's own, kept over ts_app_restart() like a
	 * process's over a restart; the default would be shared by every test. */
	ts_tmpdir(state, sizeof(state), "notif-state");
	snprintf(record, sizeof(record), "%s/sent-ids", state);
	setenv("SENT_IDS_FILE", record, 1);
	if (smtp_url != NULL)
		setenv("SMTP_URL", smtp_url, 1);
	else
		unsetenv("SMTP_URL");
	if (spool_dir != NULL)
		setenv("MAIL_SPOOL_DIR", spool_dir, 1);
	ts_app_restart(a);
}

void ts_app_restart(ts_app_t *a)
{
	eda_env_t env;
	char err[512], port[16];

	setenv("TOPIC_ORDERS", a->topic, 1);
	setenv("CONSUMER_GROUP", a->group, 1);
	snprintf(port, sizeof(port), "%u", ts_free_port());
	setenv("PORT", port, 1);
	eda_env_init(&env);
	notif_settings_load(&a->settings, &env);
	ck_assert_msg(!env.failed, "%s", env.err);
	a->app = notif_app_new(&a->settings, err, sizeof(err));
	ck_assert_msg(a->app != NULL, "%s", err);
	ck_assert_msg(notif_app_start(a->app, err, sizeof(err)) == 0, "%s", err);
}

void ts_app_stop(ts_app_t *a)
{
	notif_app_free(a->app);
	a->app = NULL;
}

double ts_app_metric(ts_app_t *a, const char *family, const char *const *labels)
{
	char err[256];
	eda_metrics_t *reg = notif_app_metrics(a->app);
	eda_metric_t *m;

	/* Asking for an existing family with the same shape returns it. */
	if (strcmp(family, "notifications_sent_total") == 0)
		m = eda_metrics_counter(reg, family,
		                        "E-mails accepted by the transport, by event type.",
		                        "type,transport", err, sizeof(err));
	else if (strcmp(family, "notification_failures_total") == 0)
		m = eda_metrics_counter(reg, family,
		                        "Events that did not give an e-mail (yet), by reason.",
		                        "reason", err, sizeof(err));
	else
		m = eda_metrics_counter(reg, family,
		                        "Events skipped because their e-mail was already sent.",
		                        NULL, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	return eda_metric_value(m, labels);
}

double ts_app_wait_metric(ts_app_t *a, const char *family, const char *const *labels,
                          double at_least, int timeout_s)
{
	double v = ts_app_metric(a, family, labels);

	for (int i = 0; i < timeout_s * 10 && v < at_least; i++) {
		usleep(100 * 1000);
		v = ts_app_metric(a, family, labels);
	}
	return v;
}

static char *header(const rd_kafka_message_t *m, const char *name)
{
	rd_kafka_headers_t *h;
	const void *v;
	size_t len;
	char *s;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	s = malloc(len + 1);
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

void ts_msg_free(ts_msg_t *m)
{
	free(m->value);
	free(m->dlq_error);
}

int ts_read_n(const char *topic, ts_msg_t *out, int n, int timeout_s)
{
	char err[256], group[128];
	rd_kafka_conf_t *conf = ts_kafka_conf();
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *parts;
	int got = 0;
	time_t end = time(NULL) + timeout_s;

	ts_unique(group, sizeof(group), "test-notif-reader");
	rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	while (got < n && time(NULL) < end) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);

		if (m == NULL)
			continue;
		if (m->err) {
			rd_kafka_message_destroy(m);
			continue;
		}
		out[got].value = strndup(m->payload ? m->payload : "", m->len);
		out[got].dlq_error = header(m, "dlq.error");
		got++;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got;
}
