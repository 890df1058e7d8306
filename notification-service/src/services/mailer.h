/*
 * The mailer turns template values into complete e-mails. It owns the
 * templates, read once from TEMPLATE_DIR at start-up: for each mail kind,
 * <name>.subject.txt, <name>.txt and <name>.html (name as notif_mail_kind_name()).
 * A missing, unreadable, oversized, non-UTF-8 or malformed template is a
 * start-up error, so a running mailer can only fail on bad addresses.
 */
#ifndef NOTIF_SERVICES_MAILER_H
#define NOTIF_SERVICES_MAILER_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "schemas/order_mail.h"

#define NOTIF_MAILER_MAX_TEMPLATE (64 * 1024)
#define NOTIF_MAILER_MSGID_MAX    256

typedef struct notif_mailer notif_mailer_t;

typedef struct notif_mailer_config {
	const char *template_dir;
	const char *from_addr; /* must pass eda_email_valid */
	const char *from_name; /* may be NULL */
	const char *id_domain; /* right side of Message-IDs, a domain name */
} notif_mailer_config_t;

/* Loads every template. Returns NULL with ERR naming the file and the problem. */
notif_mailer_t *notif_mailer_new(const notif_mailer_config_t *cfg, char *err, size_t errsz);
void notif_mailer_free(notif_mailer_t *m);

/* The Message-ID (without angle brackets) of the e-mail for EVENT_ID and KIND:
 * "<token>@<id_domain>" (notif_mail_id_token), the same on every resend. */
void notif_mailer_message_id(const notif_mailer_t *m, const char *event_id, notif_mail_kind_t kind,
                             char out[static NOTIF_MAILER_MSGID_MAX]);

/* The sender address (envelope and From), owned by M. */
const char *notif_mailer_from(const notif_mailer_t *m);

/* Renders the e-mail of KIND for VALUES (borrowed) to TO, dated NOW. Returns a
 * new CRLF message (caller frees; *LEN its length) and writes its Message-ID to
 * MSGID, or NULL with ERR (invalid recipient address). */
char *notif_mailer_build(const notif_mailer_t *m, notif_mail_kind_t kind, const json_t *values,
                         const char *to, time_t now, size_t *len,
                         char msgid[static NOTIF_MAILER_MSGID_MAX], char *err, size_t errsz);

#endif
