/*
 * RFC 5322 / MIME rendering of notif_mail_message_t; see email.h for the rules that
 * keep event data from adding headers or recipients.
 */
#include "models/email.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/validate.h"
#include "utils/strbuf.h"

/* Raw bytes per encoded-word: 39 bytes are 52 base64 characters, so a word
 * plus "=?UTF-8?B??=" and a header name of up to 14 columns fits in 78. */
#define EW_CHUNK   39
#define LINE_LIMIT 78
#define QP_LIMIT   76

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 5322 atext, for display names and Message-IDs; addresses are checked
 * whole by eda_email_valid() (common/, the rule the event contract uses too). */
static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

void notif_mail_id_token(const char *id, char out[static 201])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	bool cut = false;
	uint64_t h = UINT64_C(1469598103934665603);

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		unsigned char c = *p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-';

		h ^= c;
		h *= UINT64_C(1099511628211);
		if (cut)
			continue;
		if (n + (plain ? 1 : 3) > 160) {
			cut = true;
			continue;
		}
		if (plain) {
			out[n++] = (char)c;
		} else {
			out[n++] = '_';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	/* Too long: keep the prefix and add a hash (FNV-1a) of the whole id. "_H"
	 * never comes out of the escaping above (H is not a hex digit), so a
	 * shortened token cannot equal an escaped one. */
	if (cut)
		snprintf(out + n, 201 - n, "_H%016llx", (unsigned long long)h);
}

static void base64_append(notif_strbuf_t *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t rem = n - i;

		if (rem > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (rem > 2)
			v |= s[i + 2];
		notif_strbuf_putc(b, b64[(v >> 18) & 63]);
		notif_strbuf_putc(b, b64[(v >> 12) & 63]);
		notif_strbuf_putc(b, rem > 1 ? b64[(v >> 6) & 63] : '=');
		notif_strbuf_putc(b, rem > 2 ? b64[v & 63] : '=');
	}
}

/* Control characters (CR, LF, TAB, DEL, ...) can never be part of a header
 * value we write: they become spaces, which is also what unfolding would do. */
static char *unfold(const char *value)
{
	char *s = eda_xstrdup(value);

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	return s;
}

/* Appends S as encoded-words of at most EW_CHUNK bytes each, never splitting a
 * UTF-8 sequence, separated by folding whitespace. */
static void encoded_words(notif_strbuf_t *b, const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t end = i + EW_CHUNK < n ? i + EW_CHUNK : n;

		/* Back up to the start of a character: continuation bytes are 10xxxxxx. */
		while (end < n && end > i && ((unsigned char)s[end] & 0xC0) == 0x80)
			end--;
		if (end == i)
			end = i + EW_CHUNK < n ? i + EW_CHUNK : n;
		if (i > 0)
			notif_strbuf_puts(b, "\r\n ");
		notif_strbuf_puts(b, "=?UTF-8?B?");
		base64_append(b, (const unsigned char *)s + i, end - i);
		notif_strbuf_puts(b, "?=");
		i = end;
	}
}

static bool plain_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	/* "=?" would be decoded as an encoded-word by readers. */
	return strstr(s, "=?") == NULL;
}

char *notif_mail_header_encode(const char *value, size_t name_len)
{
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	char *s = unfold(value);

	if (plain_printable(s) && name_len + 2 + strlen(s) <= LINE_LIMIT)
		notif_strbuf_puts(&b, s);
	else
		encoded_words(&b, s);
	free(s);
	return notif_strbuf_take(&b, NULL);
}

/* A display name as an RFC 5322 phrase: atoms and spaces as they are,
 * anything else as encoded-words (which never need quoting). */
static void append_phrase(notif_strbuf_t *b, const char *name)
{
	char *s = unfold(name);
	bool atoms = strlen(s) <= 40;

	for (const unsigned char *p = (const unsigned char *)s; *p && atoms; p++)
		atoms = *p == ' ' || is_atext(*p);
	if (atoms && strstr(s, "=?") == NULL)
		notif_strbuf_puts(b, s);
	else
		encoded_words(b, s);
	free(s);
}

static bool message_id_valid(const char *id)
{
	const char *at = strchr(id, '@');

	if (at == NULL || at == id || strlen(id) > 250)
		return false;
	for (const char *p = id; p < at; p++)
		if (!is_atext((unsigned char)*p) && *p != '.')
			return false;
	return eda_email_domain_valid(at + 1);
}

/* Quoted-printable (RFC 2045 6.7) with CRLF line ends; any LF, CRLF or lone CR
 * in TEXT ends a line. Lines start with '.' encoded, so a relay that forgets
 * dot-stuffing cannot end the DATA early. */
static void qp_append(notif_strbuf_t *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		unsigned char c = *p;
		char enc[4];
		size_t w;

		if (c == '\r' || c == '\n') {
			if (c == '\r' && p[1] == '\n')
				p++;
			notif_strbuf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		bool eol = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
		bool literal = (c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
		               ((c == ' ' || c == '\t') && !eol);

		if (literal) {
			enc[0] = (char)c;
			w = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		}
		/* Keep room for a soft break "=" unless this is the line's last char. */
		if (col + w > (eol ? QP_LIMIT : QP_LIMIT - 1)) {
			notif_strbuf_puts(b, "=\r\n");
			col = 0;
			if (c == '.' && literal) {
				enc[0] = '=';
				enc[1] = '2';
				enc[2] = 'E';
				w = 3;
			}
		}
		notif_strbuf_append(b, enc, w);
		col += w;
	}
	if (col > 0)
		notif_strbuf_puts(b, "\r\n");
}

static void append_header(notif_strbuf_t *b, const char *name, const char *value)
{
	char *enc = notif_mail_header_encode(value, strlen(name));

	notif_strbuf_printf(b, "%s: %s\r\n", name, enc);
	free(enc);
}

static void append_date(notif_strbuf_t *b, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	gmtime_r(&t, &tm);
	notif_strbuf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	                    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	                    tm.tm_sec);
}

static void append_part(notif_strbuf_t *b, const char *boundary, const char *type, const char *body)
{
	notif_strbuf_printf(b, "--%s\r\n", boundary);
	notif_strbuf_printf(b, "Content-Type: %s; charset=UTF-8\r\n", type);
	notif_strbuf_puts(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp_append(b, body);
}

char *notif_mail_message_render(const notif_mail_message_t *m, size_t *len, char *err, size_t errsz)
{
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	char boundary[64];
	uint64_t h = UINT64_C(1469598103934665603);

	if (!eda_email_valid(m->from_addr)) {
		eda_errf(err, errsz, "invalid sender address");
		return NULL;
	}
	if (!eda_email_valid(m->to_addr)) {
		eda_errf(err, errsz, "invalid recipient address");
		return NULL;
	}
	if (m->message_id == NULL || !message_id_valid(m->message_id)) {
		eda_errf(err, errsz, "invalid Message-ID");
		return NULL;
	}
	for (const char *p = m->message_id; *p; p++) {
		h ^= (unsigned char)*p;
		h *= UINT64_C(1099511628211);
	}
	/* "=_" cannot occur in quoted-printable output, so the boundary cannot
	 * collide with part content. */
	snprintf(boundary, sizeof(boundary), "=_eda_%016llx", (unsigned long long)h);

	notif_strbuf_puts(&b, "From: ");
	if (m->from_name != NULL && m->from_name[0] != '\0') {
		append_phrase(&b, m->from_name);
		notif_strbuf_puts(&b, " ");
	}
	notif_strbuf_printf(&b, "<%s>\r\n", m->from_addr);
	notif_strbuf_printf(&b, "To: <%s>\r\n", m->to_addr);
	append_header(&b, "Subject", m->subject ? m->subject : "");
	append_date(&b, m->date);
	notif_strbuf_printf(&b, "Message-ID: <%s>\r\n", m->message_id);
	notif_strbuf_puts(&b, "Auto-Submitted: auto-generated\r\n");
	notif_strbuf_puts(&b, "MIME-Version: 1.0\r\n");
	notif_strbuf_printf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
	                    boundary);
	notif_strbuf_puts(&b, "This is a multi-part message in MIME format.\r\n\r\n");
	append_part(&b, boundary, "text/plain", m->text ? m->text : "");
	notif_strbuf_puts(&b, "\r\n");
	append_part(&b, boundary, "text/html", m->html ? m->html : "");
	notif_strbuf_printf(&b, "\r\n--%s--\r\n", boundary);
	return notif_strbuf_take(&b, len);
}
