/*
 * Wiring of the daemon's components; see app.h. Construction order follows
 * dependencies (a part is built after what it uses) and notif_app_free() tears
 * down in reverse, so the consumer is gone before the notifier it calls and
 * the DLQ producer it forwards to.
 */
#include "app.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/http.h"
#include "eda/kafka.h"
#include "eda/log.h"
#include "eda/producer.h"
#include "eda/shutdown.h"
#include "events/consumers.h"
#include "services/mailer.h"
#include "services/notifier.h"
#include "services/transport.h"

#define CONSUMER_QUEUE_KB "2048"

struct notif_app {
	const notif_settings_t *s; /* borrowed */
	eda_metrics_t *metrics;
	eda_http_server_t *http;
	eda_producer_t *dlq;
	notif_notifier_t *notifier;
	notif_consumer_t *consumer;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int ready_transport(void *ctx, char *err, size_t errsz)
{
	notif_transport_t *t = ctx;

	return t->check(t, err, errsz);
}

static notif_transport_t *make_transport(const notif_settings_t *s, char *err, size_t errsz)
{
	if (s->smtp_url == NULL)
		return notif_transport_spool_new(s->spool_dir, s->spool_fsync, err, errsz);
	notif_smtp_config_t sc = {
	        .url = s->smtp_url,
	        .username = s->smtp_username,
	        .password = s->smtp_password,
	        .starttls = s->smtp_starttls,
	        .ca_file = s->smtp_ca_file,
	        .timeout_ms = s->smtp_timeout_ms,
	};
	return notif_transport_smtp_new(&sc, err, errsz);
}

/* The mail side: mailer (templates), transport, and the notifier that owns
 * both, with its sent-id record when SMTP has one. 0, or -1 with ERR. */
static int build_notifier(notif_app_t *a, const notif_settings_t *s, char *err, size_t errsz)
{
	char why[512];
	notif_mailer_t *mailer;
	notif_transport_t *transport;
	notif_mailer_config_t mc = {.template_dir = s->template_dir,
	                            .from_addr = s->mail_from,
	                            .from_name = s->mail_from_name,
	                            .id_domain = s->message_id_domain};

	mailer = notif_mailer_new(&mc, why, sizeof(why));
	if (mailer == NULL) {
		eda_errf(err, errsz, "templates: %s", why);
		return -1;
	}
	transport = make_transport(s, why, sizeof(why));
	if (transport == NULL) {
		notif_mailer_free(mailer);
		eda_errf(err, errsz, "%s: %s", s->smtp_url ? "SMTP_URL" : "MAIL_SPOOL_DIR", why);
		return -1;
	}
	a->notifier = notif_notifier_new(mailer, transport, (size_t)s->dedupe_window, a->metrics,
	                                 why, sizeof(why));
	if (a->notifier == NULL) {
		eda_errf(err, errsz, "metrics: %s", why);
		return -1;
	}
	if (s->smtp_url != NULL && s->sent_ids_file != NULL &&
	    notif_notifier_record_sent(a->notifier, s->sent_ids_file, (size_t)s->sent_ids_keep, why,
	                               sizeof(why)) != 0) {
		eda_errf(err, errsz, "SENT_IDS_FILE: %s", why);
		return -1;
	}
	return 0;
}

/* The Kafka side: the DLQ producer and the consumer that feeds the notifier.
 * 0, or -1 with ERR. */
static int build_consumer(notif_app_t *a, const notif_settings_t *s, char *err, size_t errsz)
{
	char why[512];
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(NULL, why, sizeof(why));

	if (conf == NULL) {
		eda_errf(err, errsz, "kafka: %s", why);
		return -1;
	}
	a->dlq = eda_producer_new(conf, NULL, NULL, a->metrics, why, sizeof(why));
	if (a->dlq == NULL) {
		eda_errf(err, errsz, "kafka producer: %s", why);
		return -1;
	}
	conf = eda_kafka_conf_from_env(NULL, why, sizeof(why));
	if (conf == NULL) {
		eda_errf(err, errsz, "kafka: %s", why);
		return -1;
	}
	/* librdkafka prefetches up to 64 MiB by default; an e-mail takes far
	 * longer to send than to fetch, so a small queue costs no throughput and
	 * keeps the daemon's memory small. KAFKA_QUEUED_MAX_MESSAGES_KBYTES wins. */
	if (getenv("KAFKA_QUEUED_MAX_MESSAGES_KBYTES") == NULL &&
	    eda_kafka_conf_set(conf, "queued.max.messages.kbytes", CONSUMER_QUEUE_KB, why,
	                       sizeof(why)) != 0) {
		rd_kafka_conf_destroy(conf);
		eda_errf(err, errsz, "kafka: %s", why);
		return -1;
	}
	notif_consumer_config_t cc = {.topic = s->topic_orders,
	                              .group = s->consumer_group,
	                              .instance_id = s->instance_id,
	                              .dlq_producer = a->dlq,
	                              .metrics = a->metrics,
	                              .retry_initial_ms = s->retry_initial_ms,
	                              .retry_max_ms = s->retry_max_ms,
	                              .batch_max = (int)s->batch_max,
	                              .batch_max_ms = (int)s->batch_ms,
	                              .commit_on_flush = s->commit_each_batch};
	a->consumer = notif_consumer_new(conf, &cc, a->notifier, why, sizeof(why));
	if (a->consumer == NULL) {
		eda_errf(err, errsz, "kafka consumer: %s", why);
		return -1;
	}
	return 0;
}

notif_app_t *notif_app_new(const notif_settings_t *s, char *err, size_t errsz)
{
	notif_app_t *a = eda_xcalloc(1, sizeof(*a));
	char why[512];

	a->s = s;
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK) {
		eda_errf(err, errsz, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
		goto fail;
	}
	a->metrics = eda_metrics_new();
	eda_http_config_t hc = {.bind_addr = s->bind_addr,
	                        .port = s->port,
	                        .threads = s->http_threads,
	                        .service = NOTIF_SERVICE_NAME,
	                        .metrics = a->metrics};
	a->http = eda_http_server_new(&hc, why, sizeof(why));
	if (a->http == NULL) {
		eda_errf(err, errsz, "http: %s", why);
		goto fail;
	}
	if (build_notifier(a, s, err, errsz) != 0)
		goto fail;
	eda_http_add_ready_check(a->http, "mail", ready_transport,
	                         notif_notifier_transport(a->notifier));
	if (build_consumer(a, s, err, errsz) != 0)
		goto fail;
	eda_http_add_ready_check(a->http, "kafka-consumer", eda_consumer_ready_check,
	                         notif_consumer_kafka(a->consumer));
	return a;
fail:
	notif_app_free(a);
	return NULL;
}

int notif_app_start(notif_app_t *a, char *err, size_t errsz)
{
	char why[512];

	if (eda_http_server_start(a->http, why, sizeof(why)) != 0) {
		eda_errf(err, errsz, "http: %s", why);
		return -1;
	}
	if (notif_consumer_start(a->consumer, why, sizeof(why)) != 0) {
		eda_errf(err, errsz, "consumer: %s", why);
		return -1;
	}
	return 0;
}

int notif_app_run(notif_app_t *a)
{
	char err[1024];

	if (notif_app_start(a, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "cannot start", "error", err, NULL);
		return 1;
	}
	eda_log(EDA_LOG_INFO, "started", "transport", a->s->smtp_url ? "smtp" : "spool", "topic",
	        a->s->topic_orders, "group", a->s->consumer_group, NULL);
	eda_shutdown_await((unsigned)a->s->shutdown_timeout_s);
	return 0;
}

unsigned short notif_app_port(const notif_app_t *a)
{
	return eda_http_server_port(a->http);
}

eda_metrics_t *notif_app_metrics(const notif_app_t *a)
{
	return a->metrics;
}

void notif_app_free(notif_app_t *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		eda_http_server_stop(a->http);
	notif_consumer_free(a->consumer);
	if (a->dlq != NULL)
		eda_producer_free(a->dlq, 10000);
	notif_notifier_free(a->notifier);
	eda_http_server_free(a->http);
	eda_metrics_free(a->metrics);
	free(a);
}
