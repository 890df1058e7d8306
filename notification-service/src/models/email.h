/*
 * An e-mail message as the service sends it: RFC 5322 headers and a MIME
 * multipart/alternative body (text/plain and text/html, UTF-8, quoted-printable).
 *
 * Nothing a customer or an event controls can add a header or a recipient:
 * every header value is unfolded (control characters become spaces) and
 * encoded as RFC 2047 encoded-words when it is not plain printable ASCII, and
 * addresses are checked by eda_email_valid() (common/, eda/validate.h: a
 * dot-atom local part and a domain of LDH labels, nothing else) before they
 * reach a header.
 * Bodies are quoted-printable, so their lines stay short and carry no bare CR
 * or LF, and the boundary ("=_" inside) can never occur in an encoded part.
 */
#ifndef NOTIF_MODELS_EMAIL_H
#define NOTIF_MODELS_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Borrowed strings; only from_name may be NULL or empty. */
typedef struct notif_mail_message {
	const char *from_name;  /* display name, any UTF-8 */
	const char *from_addr;  /* checked with eda_email_valid */
	const char *to_addr;    /* checked with eda_email_valid */
	const char *subject;    /* any UTF-8; folded and encoded as needed */
	const char *message_id; /* "local@domain" without angle brackets */
	const char *text;       /* the text/plain part, UTF-8 */
	const char *html;       /* the text/html part, UTF-8 (already escaped) */
	time_t date;
} notif_mail_message_t;

enum {
	NOTIF_MAIL_OK = 0,
	NOTIF_MAIL_EINVAL = -1, /* an address or the Message-ID is not acceptable */
};

/* A Message-ID left part for an opaque ID (an event id): letters, digits and
 * '-' are kept, every other byte becomes "_XX" (hex), so distinct ids give
 * distinct results; ids longer than 160 bytes are cut and suffixed with a
 * 64-bit hash of the whole. Writes at most 200 bytes plus NUL into OUT. */
void notif_mail_id_token(const char *id, char out[static 201]);

/* Renders M as a complete message with CRLF line ends into a new string (the
 * caller frees it); *LEN gets its length. Returns NULL with ERR filled when an
 * address or the Message-ID is invalid. */
char *notif_mail_message_render(const notif_mail_message_t *m, size_t *len, char *err,
                                size_t errsz);

/* Appends VALUE as the body of a header whose name takes NAME_LEN columns,
 * encoded and folded as above, to the growing buffer; exposed for tests. The
 * result has no CR or LF except folding "CRLF SP" sequences. Caller frees. */
char *notif_mail_header_encode(const char *value, size_t name_len);

#endif
