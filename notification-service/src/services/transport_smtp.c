/*
 * The SMTP transport over libcurl (smtp:// and smtps://, optional STARTTLS and
 * AUTH). One CURL handle lives as long as the transport, so consecutive
 * e-mails reuse the open connection (and its TLS session) instead of paying
 * for a connect, a greeting and EHLO each time; curl reconnects by itself when
 * the relay closed it meanwhile.
 *
 * Classification of failures, which decides between retry and DLQ:
 *   - no connection, timeouts, TLS errors, 4xx replies: TRANSIENT;
 *   - 5xx replies (a refused recipient, refused content): PERMANENT, except
 *     530/534/535/538 (authentication needed or refused), which are our
 *     configuration's fault and would bounce every e-mail: TRANSIENT, so the
 *     events wait until someone fixes the credentials.
 *
 * Deadlines: SMTP_TIMEOUT_MS bounds each e-mail, connect included
 * (CURLOPT_CONNECTTIMEOUT_MS and CURLOPT_TIMEOUT_MS), so a relay that accepts
 * connections and never answers costs a transient failure and a retry after
 * the backoff, never a stuck consumer. Readiness answers within
 * PROBE_TIMEOUT_MS and says "not ready" at once while the last e-mail failed
 * without a reply from the relay (down, hung, TLS), until one goes through.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "services/transport.h"

/* The readiness probe's own deadline: /readyz must answer within 2 s. */
#define PROBE_TIMEOUT_MS 1500L

struct smtp {
	notif_transport_t base;
	/* Why the last e-mail got no reply from the relay ("" when it got one);
	 * written by send() on the consumer's thread, read by check() on an HTTP
	 * thread. */
	pthread_mutex_t lock;
	char failing[256];
	CURL *curl;
	char *url, *username, *password, *ca_file;
	bool starttls;
	long timeout_ms;
	char curl_err[CURL_ERROR_SIZE];
	/* the message being uploaded */
	const char *data;
	size_t len, pos;
};

static size_t read_body(char *buf, size_t size, size_t nitems, void *userp)
{
	struct smtp *s = userp;
	size_t room = size * nitems, n = s->len - s->pos;

	if (n > room)
		n = room;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return n;
}

/* Options shared by the sending handle and the readiness probe. */
static void common_options(const struct smtp *s, CURL *c, long timeout_ms)
{
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	if (s->username != NULL)
		curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
	if (s->password != NULL)
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
	if (s->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
}

static int classify(CURLcode rc, long code)
{
	if (rc == CURLE_OK)
		return NOTIF_TRANSPORT_OK;
	if (code >= 500 && code < 600 && code != 530 && code != 534 && code != 535 && code != 538)
		return NOTIF_TRANSPORT_PERMANENT;
	return NOTIF_TRANSPORT_TRANSIENT;
}

static int smtp_send(notif_transport_t *t, const char *from, const char *to, const char *msgid,
                     const char *data, size_t len, char *err, size_t errsz)
{
	struct smtp *s = (struct smtp *)t;
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	long code = 0;
	CURLcode rc;
	int r;

	(void)msgid;
	if (rcpt == NULL)
		abort(); /* out of memory: the daemon's policy (eda/alloc.h) */
	s->data = data;
	s->len = len;
	s->pos = 0;
	s->curl_err[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	/* The handle must not keep pointers to memory freed below. */
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	s->data = NULL;
	r = classify(rc, code);
	if (r != NOTIF_TRANSPORT_OK)
		eda_errf(err, errsz, "smtp: %s (reply %ld)",
		         s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc), code);
	/* A 4xx or 5xx is the relay answering: it is usable, the message is not. */
	pthread_mutex_lock(&s->lock);
	snprintf(s->failing, sizeof(s->failing), "%s",
	         rc != CURLE_OK && (code < 400 || code >= 600) ? curl_easy_strerror(rc) : "");
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int smtp_check(notif_transport_t *t, char *err, size_t errsz)
{
	struct smtp *s = (struct smtp *)t;
	CURL *c;
	CURLcode rc;
	char failing[sizeof(s->failing)];

	pthread_mutex_lock(&s->lock);
	memcpy(failing, s->failing, sizeof(failing));
	pthread_mutex_unlock(&s->lock);
	if (failing[0] != '\0') {
		eda_errf(err, errsz, "smtp relay: last e-mail failed: %s", failing);
		return -1;
	}
	c = curl_easy_init();
	if (c == NULL) {
		eda_errf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	/* A separate handle: the probe runs on an HTTP thread while the consumer
	 * may be sending. CONNECT_ONLY stops after the greeting and EHLO. */
	common_options(s, c, s->timeout_ms < PROBE_TIMEOUT_MS ? s->timeout_ms : PROBE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		eda_errf(err, errsz, "smtp relay: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static void smtp_free(notif_transport_t *t)
{
	struct smtp *s = (struct smtp *)t;

	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s->url);
	free(s->username);
	if (s->password != NULL) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->ca_file);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

notif_transport_t *notif_transport_smtp_new(const notif_smtp_config_t *cfg, char *err, size_t errsz)
{
	struct smtp *s;

	if (cfg->url == NULL || (strncasecmp(cfg->url, "smtp://", 7) != 0 &&
	                         strncasecmp(cfg->url, "smtps://", 8) != 0)) {
		eda_errf(err, errsz, "SMTP URL must start with smtp:// or smtps://");
		return NULL;
	}
	s = eda_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->base = (notif_transport_t){
	        .name = "smtp", .send = smtp_send, .check = smtp_check, .free = smtp_free};
	s->url = eda_xstrdup(cfg->url);
	s->username = cfg->username ? eda_xstrdup(cfg->username) : NULL;
	s->password = cfg->password ? eda_xstrdup(cfg->password) : NULL;
	s->ca_file = cfg->ca_file ? eda_xstrdup(cfg->ca_file) : NULL;
	s->starttls = cfg->starttls;
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		eda_errf(err, errsz, "curl_easy_init failed");
		smtp_free(&s->base);
		return NULL;
	}
	common_options(s, s->curl, s->timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->curl_err);
	return &s->base;
}
