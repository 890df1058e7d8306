/*
 * Where accepted e-mails go: an SMTP relay (transport_smtp.c) or a spool
 * directory (transport_spool.c). A transport is used by one thread at a time
 * (the consumer's); its check function may run concurrently on an HTTP thread
 * and uses no state that send() changes.
 *
 * send() says what happened so the consumer can decide: OK (the relay or the
 * file system has the message), PENDING (written, but durable only once
 * flush() returned OK: group commit, see eda/consumer.h), TRANSIENT (try
 * again later: relay away, 4xx, disk full) or PERMANENT (this message can
 * never be delivered: 5xx for the recipient or the content).
 */
#ifndef NOTIF_SERVICES_TRANSPORT_H
#define NOTIF_SERVICES_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

enum {
	NOTIF_TRANSPORT_PENDING = 1,
	NOTIF_TRANSPORT_OK = 0,
	NOTIF_TRANSPORT_TRANSIENT = -1,
	NOTIF_TRANSPORT_PERMANENT = -2,
};

typedef struct notif_transport notif_transport_t;

struct notif_transport {
	const char *name; /* "smtp" or "spool": the metrics label */
	/* Delivers DATA (LEN bytes, a complete CRLF message) from FROM to TO.
	 * MSGID names the message (spool file name). Returns TRANSPORT_*, with
	 * a reason in ERR unless OK. */
	int (*send)(notif_transport_t *t, const char *from, const char *to, const char *msgid,
	            const char *data, size_t len, char *err, size_t errsz);
	/* Makes every message send() answered PENDING for durable. Returns OK, or
	 * TRANSIENT with ERR after dropping all of them (none is then known to
	 * be durable; they are sent again). NULL when send() never answers
	 * PENDING. */
	int (*flush)(notif_transport_t *t, char *err, size_t errsz);
	/* Readiness: 0 when usable, else nonzero with a reason (no secrets). */
	int (*check)(notif_transport_t *t, char *err, size_t errsz);
	void (*free)(notif_transport_t *t);
};

typedef struct notif_smtp_config {
	const char *url;      /* smtp://host:port or smtps://host:port */
	const char *username; /* may be NULL */
	const char *password; /* may be NULL */
	bool starttls;        /* require STARTTLS on smtp:// */
	const char *ca_file;  /* may be NULL: the system's CAs */
	long timeout_ms;      /* per message, connect included */
} notif_smtp_config_t;

/* Returns a new SMTP transport (no connection is made yet), or NULL with ERR.
 * curl_global_init() must have been called. */
notif_transport_t *notif_transport_smtp_new(const notif_smtp_config_t *cfg, char *err,
                                            size_t errsz);

/* Returns a new spool transport writing into DIR (created if missing, one
 * level), or NULL with ERR. Without FSYNC, send() renames each file into place
 * and answers OK. With FSYNC, send() writes a temporary file and answers
 * PENDING; flush() fdatasyncs each file of the batch, renames them into place
 * and syncs DIR once, so the directory is synced once per batch, not once per
 * e-mail. */
notif_transport_t *notif_transport_spool_new(const char *dir, bool fsync, char *err, size_t errsz);

static inline void notif_transport_free(notif_transport_t *t)
{
	if (t != NULL)
		t->free(t);
}

#endif
