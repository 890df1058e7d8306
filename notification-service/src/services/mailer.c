/*
 * Template loading and e-mail assembly; see mailer.h.
 */
#include "services/mailer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/validate.h"
#include "models/email.h"
#include "services/template.h"
#include "utils/strbuf.h"

enum { PART_SUBJECT = 0, PART_TEXT, PART_HTML, PART_COUNT };

static const char *const part_suffix[PART_COUNT] = {".subject.txt", ".txt", ".html"};

struct notif_mailer {
	char *from_addr, *from_name, *id_domain;
	char *tpl[NOTIF_MAIL_KIND_COUNT][PART_COUNT];
};

static char *read_template(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	json_t *probe;

	if (f == NULL) {
		eda_errf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = eda_xmalloc(NOTIF_MAILER_MAX_TEMPLATE + 1);
	n = fread(buf, 1, NOTIF_MAILER_MAX_TEMPLATE + 1, f);
	if (ferror(f)) {
		eda_errf(err, errsz, "%s: read error", path);
		goto fail;
	}
	if (n > NOTIF_MAILER_MAX_TEMPLATE) {
		eda_errf(err, errsz, "%s: larger than %d bytes", path, NOTIF_MAILER_MAX_TEMPLATE);
		goto fail;
	}
	buf[n] = '\0';
	/* jansson refuses strings that are not UTF-8 or hold NUL: a cheap check. */
	probe = json_stringn(buf, n);
	if (probe == NULL || memchr(buf, '\0', n) != NULL) {
		json_decref(probe);
		eda_errf(err, errsz, "%s: not UTF-8 text", path);
		goto fail;
	}
	json_decref(probe);
	fclose(f);
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

notif_mailer_t *notif_mailer_new(const notif_mailer_config_t *cfg, char *err, size_t errsz)
{
	notif_mailer_t *m = eda_xcalloc(1, sizeof(*m));
	char why[256];

	if (!eda_email_valid(cfg->from_addr)) {
		eda_errf(err, errsz, "sender address is not a plain local@domain address");
		goto fail;
	}
	m->from_addr = eda_xstrdup(cfg->from_addr);
	m->from_name = eda_xstrdup(cfg->from_name ? cfg->from_name : "");
	m->id_domain = eda_xstrdup(cfg->id_domain);
	for (int k = 0; k < NOTIF_MAIL_KIND_COUNT; k++) {
		for (int p = 0; p < PART_COUNT; p++) {
			char *path = eda_xasprintf("%s/%s%s", cfg->template_dir,
			                           notif_mail_kind_name((notif_mail_kind_t)k),
			                           part_suffix[p]);

			m->tpl[k][p] = read_template(path, err, errsz);
			if (m->tpl[k][p] != NULL &&
			    notif_tpl_check(m->tpl[k][p], why, sizeof(why)) != 0) {
				eda_errf(err, errsz, "%s: %s", path, why);
				free(path);
				goto fail;
			}
			free(path);
			if (m->tpl[k][p] == NULL)
				goto fail;
		}
	}
	return m;
fail:
	notif_mailer_free(m);
	return NULL;
}

void notif_mailer_free(notif_mailer_t *m)
{
	if (m == NULL)
		return;
	for (int k = 0; k < NOTIF_MAIL_KIND_COUNT; k++)
		for (int p = 0; p < PART_COUNT; p++)
			free(m->tpl[k][p]);
	free(m->from_addr);
	free(m->from_name);
	free(m->id_domain);
	free(m);
}

const char *notif_mailer_from(const notif_mailer_t *m)
{
	return m->from_addr;
}

void notif_mailer_message_id(const notif_mailer_t *m, const char *event_id, notif_mail_kind_t kind,
                             char out[static NOTIF_MAILER_MSGID_MAX])
{
	char token[201];

	/* One event gives one e-mail, so the event id alone names it; KIND is
	 * part of the signature for the day an event yields several. */
	(void)kind;
	notif_mail_id_token(event_id, token);
	snprintf(out, NOTIF_MAILER_MSGID_MAX, "%s@%s", token, m->id_domain);
}

/* Renders one part; templates were checked at load, so this cannot fail on
 * syntax, and a failure here is reported like any other. */
static char *render_part(const notif_mailer_t *m, notif_mail_kind_t kind, int part,
                         const json_t *values, char *err, size_t errsz)
{
	notif_strbuf_t b = NOTIF_STRBUF_INIT;

	if (notif_tpl_render(m->tpl[kind][part], values,
	                     part == PART_HTML ? NOTIF_TPL_HTML : NOTIF_TPL_TEXT, &b, err,
	                     errsz) != 0) {
		notif_strbuf_free(&b);
		return NULL;
	}
	return notif_strbuf_take(&b, NULL);
}

char *notif_mailer_build(const notif_mailer_t *m, notif_mail_kind_t kind, const json_t *values,
                         const char *to, time_t now, size_t *len,
                         char msgid[static NOTIF_MAILER_MSGID_MAX], char *err, size_t errsz)
{
	char *subject = NULL, *text = NULL, *html = NULL, *out = NULL;
	const char *event_id = json_string_value(json_object_get(values, "event_id"));

	notif_mailer_message_id(m, event_id ? event_id : "", kind, msgid);
	subject = render_part(m, kind, PART_SUBJECT, values, err, errsz);
	text = render_part(m, kind, PART_TEXT, values, err, errsz);
	html = render_part(m, kind, PART_HTML, values, err, errsz);
	if (subject == NULL || text == NULL || html == NULL)
		goto done;
	/* A subject file ends with a newline like any text file; it is not part
	 * of the subject. */
	for (size_t n = strlen(subject); n > 0 && strchr(" \t\r\n", subject[n - 1]); n--)
		subject[n - 1] = '\0';
	notif_mail_message_t msg = {
	        .from_name = m->from_name,
	        .from_addr = m->from_addr,
	        .to_addr = to,
	        .subject = subject,
	        .message_id = msgid,
	        .text = text,
	        .html = html,
	        .date = now,
	};
	out = notif_mail_message_render(&msg, len, err, errsz);
done:
	free(subject);
	free(text);
	free(html);
	return out;
}
