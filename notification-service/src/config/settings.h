/*
 * The notification service's settings, all from the environment (see
 * .env.example and README.md for every variable and its default).
 */
#ifndef NOTIF_CONFIG_SETTINGS_H
#define NOTIF_CONFIG_SETTINGS_H

#include <stdbool.h>

#include "eda/log.h"
#include "eda/settings.h"

#define NOTIF_SERVICE_NAME "notification-service"

/* Strings point into the environment or are static defaults. */
typedef struct notif_settings {
	/* BIND_ADDR, PORT, HTTP_THREADS, LOG_LEVEL (eda_daemon_settings_load) */
	EDA_DAEMON_SETTINGS;

	const char *topic_orders;
	const char *consumer_group;
	char instance_id[256]; /* group.instance.id; "" for a dynamic member */
	int retry_initial_ms, retry_max_ms;

	const char *smtp_url; /* NULL: spool transport */
	const char *smtp_username, *smtp_password, *smtp_ca_file;
	bool smtp_starttls;
	long smtp_timeout_ms;

	const char *mail_from, *mail_from_name, *message_id_domain;
	const char *spool_dir;
	bool spool_fsync;
	bool commit_each_batch;    /* commit offsets right after each durable batch */
	long batch_max, batch_ms;  /* group commit: spool files with fsync, sent ids with SMTP */
	const char *sent_ids_file; /* NULL: SENT_IDS_RECORD=false, no sent-id record */
	long sent_ids_keep;
	const char *template_dir;
	long dedupe_window;
	long shutdown_timeout_s;
} notif_settings_t;

/* Reads every variable into S; errors are kept in ENV (first one wins), the
 * caller decides (eda_env_exit_on_error in main, assertions in tests). */
void notif_settings_load(notif_settings_t *s, eda_env_t *env);

#endif
