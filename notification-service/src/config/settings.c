/*
 * Environment -> notif_settings_t. Every value is validated here so that a
 * bad deployment stops at start-up with one line naming the variable.
 */
#include "config/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eda/validate.h"

static const char *const smtp_schemes[] = {"smtp", "smtps", NULL};

/* A domain for Message-IDs: checked as the domain of a mailbox. */
static void check_domain(eda_env_t *env, const char *name, const char *v)
{
	char probe[300];

	snprintf(probe, sizeof(probe), "x@%s", v);
	if (!eda_email_valid(probe))
		eda_env_fail(env, name, "not a domain name");
}

void notif_settings_load(notif_settings_t *s, eda_env_t *env)
{
	const char *smtp_url;

	memset(s, 0, sizeof(*s));
	eda_daemon_settings_load(
	        &s->daemon, env,
	        &(eda_daemon_defaults_t){.port = 8003, .http_threads = 2, .http_threads_max = 64});

	s->topic_orders = eda_env_string(env, "TOPIC_ORDERS", "orders");
	s->consumer_group = eda_env_string(env, "CONSUMER_GROUP", NOTIF_SERVICE_NAME);
	eda_env_instance_id(env, s->port, s->instance_id, sizeof(s->instance_id));
	s->retry_initial_ms = (int)eda_env_long(env, "RETRY_INITIAL_MS", 200, 1, 600000);
	s->retry_max_ms = (int)eda_env_long(env, "RETRY_MAX_MS", 30000, 1, 3600000);
	if (s->retry_max_ms < s->retry_initial_ms)
		eda_env_fail(env, "RETRY_MAX_MS", "must not be below RETRY_INITIAL_MS");

	/* Unset or empty selects the spool: eda_env_url would refuse "" as a URL. */
	smtp_url = getenv("SMTP_URL");
	s->smtp_url = NULL;
	if (smtp_url != NULL && smtp_url[0] != '\0')
		s->smtp_url = eda_env_url(env, "SMTP_URL", NULL, smtp_schemes);
	s->smtp_username = eda_env_string(env, "SMTP_USERNAME", "");
	s->smtp_password = eda_env_string(env, "SMTP_PASSWORD", "");
	s->smtp_ca_file = eda_env_string(env, "SMTP_CA_FILE", "");
	if (s->smtp_username[0] == '\0')
		s->smtp_username = NULL;
	if (s->smtp_password[0] == '\0')
		s->smtp_password = NULL;
	if (s->smtp_ca_file[0] == '\0')
		s->smtp_ca_file = NULL;
	if (s->smtp_password != NULL && s->smtp_username == NULL)
		eda_env_fail(env, "SMTP_USERNAME", "required when SMTP_PASSWORD is set");
	s->smtp_starttls = eda_env_bool(env, "SMTP_STARTTLS", false);
	if (s->smtp_starttls && s->smtp_url != NULL && strncasecmp(s->smtp_url, "smtps:", 6) == 0)
		eda_env_fail(env, "SMTP_STARTTLS", "smtps:// is TLS already; use smtp:// with it");
	s->smtp_timeout_ms = eda_env_long(env, "SMTP_TIMEOUT_MS", 10000, 100, 600000);

	s->mail_from = eda_env_string(env, "MAIL_FROM", "orders@shop.example");
	if (!eda_email_valid(s->mail_from))
		eda_env_fail(env, "MAIL_FROM", "not a plain local@domain address");
	s->mail_from_name = eda_env_string(env, "MAIL_FROM_NAME", "Shop");
	s->message_id_domain = eda_env_string(env, "MESSAGE_ID_DOMAIN", "notification-service.eda");
	check_domain(env, "MESSAGE_ID_DOMAIN", s->message_id_domain);
	s->spool_dir = eda_env_string(env, "MAIL_SPOOL_DIR", "mail-spool");
	s->spool_fsync = eda_env_bool(env, "MAIL_SPOOL_FSYNC", true);
	/* MAIL_SPOOL_BATCH_* are the names from before the batch applied to SMTP
	 * too; they still work, and the new names win. */
	s->batch_max = eda_env_long(env, "MAIL_SPOOL_BATCH_MAX", 256, 1, 100000);
	s->batch_ms = eda_env_long(env, "MAIL_SPOOL_BATCH_MS", 100, 1, 60000);
	s->batch_max = eda_env_long(env, "MAIL_BATCH_MAX", s->batch_max, 1, 100000);
	s->batch_ms = eda_env_long(env, "MAIL_BATCH_MS", s->batch_ms, 1, 60000);
	s->commit_each_batch = eda_env_bool(env, "COMMIT_EACH_BATCH", true);
	s->template_dir = eda_env_string(env, "TEMPLATE_DIR", "notification-service/templates");
	s->dedupe_window = eda_env_long(env, "DEDUPE_WINDOW", 100000, 1, 100000000);
	/* Used with SMTP only (the spool's file names make a resend rewrite the
	 * same file). Off, a restart sends the unflushed e-mails again. */
	s->sent_ids_file = eda_env_string(env, "SENT_IDS_FILE", "notification-state/sent-ids");
	if (!eda_env_bool(env, "SENT_IDS_RECORD", true))
		s->sent_ids_file = NULL;
	s->sent_ids_keep = eda_env_long(env, "SENT_IDS_KEEP",
	                                s->dedupe_window < 2 ? 2 : s->dedupe_window, 2, 100000000);
	/* The window holds the ids loaded from the record; a smaller one would
	 * forget some of them at once. (A window of 1 is below any record.) */
	if (s->sent_ids_keep > s->dedupe_window && s->dedupe_window >= 2)
		eda_env_fail(env, "SENT_IDS_KEEP", "must not exceed DEDUPE_WINDOW");
	s->shutdown_timeout_s = eda_env_long(env, "SHUTDOWN_TIMEOUT_S", 30, 1, 3600);
}
