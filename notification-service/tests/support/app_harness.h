/*
 * Runs the whole service in-process for integration tests: unique topic, DLQ
 * topic and group per call, settings through the environment exactly as in
 * production, and a reader for what landed in the DLQ.
 */
#ifndef NOTIF_TEST_APP_HARNESS_H
#define NOTIF_TEST_APP_HARNESS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "app.h"
#include "config/settings.h"

typedef struct ts_app {
	char topic[128], group[128], dlq[160];
	notif_settings_t settings;
	notif_app_t *app;
} ts_app_t;

/* Creates the topic (PARTITIONS) and dlq.<group>, sets TOPIC_ORDERS,
 * CONSUMER_GROUP, PORT (a free one), short retry backoffs, SENT_IDS_FILE (in a
 * new directory) and SMTP_URL (NULL: unset, so
 * the spool MAIL_SPOOL_DIR=SPOOL_DIR is used), then starts the app. Other
 * variables set by the caller before (TEMPLATE_DIR, ...) are honoured. */
void ts_app_start(ts_app_t *a, int partitions, const char *smtp_url, const char *spool_dir);
void ts_app_stop(ts_app_t *a);
/* Starts a stopped A again on the same topic and group, as a restarted
 * process would (the environment as the caller left it). */
void ts_app_restart(ts_app_t *a);

/* The value of one series of the app's metrics (see eda_metric_value). */
double ts_app_metric(ts_app_t *a, const char *family, const char *const *labels);
/* The same, once it has reached AT_LEAST or TIMEOUT_S passed. A counter moves
 * after what it counts becomes visible (an e-mail file is renamed into place
 * before its batch's flush returns and is counted), so a test reads it this
 * way after waiting for the side effect. */
double ts_app_wait_metric(ts_app_t *a, const char *family, const char *const *labels,
                          double at_least, int timeout_s);

/* A message read back: its value and its dlq.error header (NULL if none). */
typedef struct ts_msg {
	char *value, *dlq_error;
} ts_msg_t;

/* Reads up to N messages of TOPIC (partition 0, from the start), waiting up to
 * TIMEOUT_S; returns how many were read into OUT (free with ts_msg_free). */
int ts_read_n(const char *topic, ts_msg_t *out, int n, int timeout_s);
void ts_msg_free(ts_msg_t *m);

#endif
