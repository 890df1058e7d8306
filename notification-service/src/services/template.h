/*
 * A small logic-less template language (a subset of Mustache) for the e-mail
 * templates under TEMPLATE_DIR:
 *   {{name}}                 the value of NAME, escaped for the output kind
 *   {{#name}} ... {{/name}}  repeated for each element when NAME is an array
 *                            (an element's members come into scope), once when
 *                            it is a non-empty string, true, a number or an
 *                            object, skipped otherwise
 *   {{^name}} ... {{/name}}  rendered only when NAME is missing, empty or false
 * A line holding nothing but a section tag disappears from the output, so text
 * templates can put tags on lines of their own. Names are [A-Za-z0-9_]{1,64};
 * anything else inside {{ }}, an unclosed tag or an unbalanced section is an
 * error found at load time by notif_tpl_check().
 */
#ifndef NOTIF_SERVICES_TEMPLATE_H
#define NOTIF_SERVICES_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "utils/strbuf.h"

typedef enum {
	NOTIF_TPL_TEXT = 0, /* values as they are */
	NOTIF_TPL_HTML,     /* & < > " ' as character references */
} notif_tpl_escape_t;

/* Renders TPL with VALUES (a JSON object, borrowed) and appends the result to
 * OUT. Returns 0, or -1 with ERR naming the syntax error and its line. */
int notif_tpl_render(const char *tpl, const json_t *values, notif_tpl_escape_t esc,
                     notif_strbuf_t *out, char *err, size_t errsz);

/* Checks TPL's syntax (renders it against an empty object). 0 or -1 with ERR. */
int notif_tpl_check(const char *tpl, char *err, size_t errsz);

/* Appends S escaped for HTML. */
void notif_tpl_html_escape(notif_strbuf_t *out, const char *s, size_t n);

#endif
