/*
 * Rendering of the Mustache subset described in template.h. Templates are a
 * few hundred bytes and rendered once per e-mail, so they are interpreted
 * straight from their text rather than compiled.
 */
#include "services/template.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "eda/errbuf.h"

#define MAX_DEPTH 8
#define MAX_NAME  64

struct render {
	const char *tpl; /* whole template, for line numbers */
	notif_tpl_escape_t esc;
	notif_strbuf_t *out;
	const json_t *scope[MAX_DEPTH + 1];
	int depth;
	char *err;
	size_t errsz;
};

struct tag {
	char kind; /* 0 (value), '#', '^' or '/' */
	char name[MAX_NAME + 1];
	const char *start, *end; /* the tag's "{{" and one past its "}}" */
};

static int line_of(const char *tpl, const char *p)
{
	int line = 1;

	for (const char *q = tpl; q < p; q++)
		line += *q == '\n';
	return line;
}

static int fail(struct render *r, const char *at, const char *why)
{
	eda_errf(r->err, r->errsz, "template line %d: %s", line_of(r->tpl, at), why);
	return -1;
}

/* Finds the next tag at or after P (before END). Returns 1 with T filled, 0
 * when there is none, -1 on a malformed tag. */
static int next_tag(struct render *r, const char *p, const char *end, struct tag *t)
{
	const char *open = NULL, *close, *s, *e;
	size_t n;

	for (const char *q = p; q + 1 < end; q++)
		if (q[0] == '{' && q[1] == '{') {
			open = q;
			break;
		}
	if (open == NULL)
		return 0;
	close = NULL;
	for (const char *q = open + 2; q + 1 < end; q++)
		if (q[0] == '}' && q[1] == '}') {
			close = q;
			break;
		}
	if (close == NULL)
		return fail(r, open, "unclosed {{");
	s = open + 2;
	e = close;
	while (s < e && isspace((unsigned char)*s))
		s++;
	t->kind = 0;
	if (s < e && (*s == '#' || *s == '^' || *s == '/'))
		t->kind = *s++;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n == 0 || n > MAX_NAME)
		return fail(r, open, "a tag needs a name of 1 to 64 characters");
	for (const char *q = s; q < e; q++)
		if (!isalnum((unsigned char)*q) && *q != '_')
			return fail(r, open, "a tag name may hold only letters, digits and '_'");
	memcpy(t->name, s, n);
	t->name[n] = '\0';
	t->start = open;
	t->end = close + 2;
	return 1;
}

static const json_t *lookup(const struct render *r, const char *name)
{
	for (int i = r->depth; i >= 0; i--) {
		const json_t *v =
		        json_is_object(r->scope[i]) ? json_object_get(r->scope[i], name) : NULL;
		if (v != NULL)
			return v;
	}
	return NULL;
}

void notif_tpl_html_escape(notif_strbuf_t *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			notif_strbuf_puts(out, "&amp;");
			break;
		case '<':
			notif_strbuf_puts(out, "&lt;");
			break;
		case '>':
			notif_strbuf_puts(out, "&gt;");
			break;
		case '"':
			notif_strbuf_puts(out, "&quot;");
			break;
		case '\'':
			notif_strbuf_puts(out, "&#39;");
			break;
		default:
			notif_strbuf_putc(out, s[i]);
		}
	}
}

static void emit_value(struct render *r, const json_t *v)
{
	char num[64];
	const char *s = NULL;
	size_t n = 0;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	} else if (json_is_real(v)) {
		n = (size_t)snprintf(num, sizeof(num), "%g", json_real_value(v));
		s = num;
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
	}
	if (s == NULL)
		return;
	if (r->esc == NOTIF_TPL_HTML)
		notif_tpl_html_escape(r->out, s, n);
	else
		notif_strbuf_append(r->out, s, n);
}

static bool truthy(const json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	return true;
}

/* A section tag alone on its line: the line (indent, tag, line end) is dropped. */
static bool standalone(const char *line_start, const struct tag *t, const char *end,
                       const char **after)
{
	const char *q = t->end;

	for (const char *p = line_start; p < t->start; p++)
		if (*p != ' ' && *p != '\t')
			return false;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end && *q == '\r')
		q++;
	if (q < end && *q != '\n')
		return false;
	*after = q < end ? q + 1 : q;
	return true;
}

static const char *line_start_of(const char *begin, const char *p)
{
	while (p > begin && p[-1] != '\n')
		p--;
	return p;
}

static int render_range(struct render *r, const char *p, const char *end);

/* Finds the {{/NAME}} closing the section opened by OPEN; *CLOSE gets it. */
static int find_close(struct render *r, const struct tag *open, const char *end, struct tag *close)
{
	const char *p = open->end;
	int nest = 0;
	int rc;

	while ((rc = next_tag(r, p, end, close)) == 1) {
		p = close->end;
		if (strcmp(close->name, open->name) != 0)
			continue;
		if (close->kind == '#' || close->kind == '^')
			nest++;
		else if (close->kind == '/' && nest-- == 0)
			return 0;
	}
	return rc < 0 ? -1 : fail(r, open->start, "section is never closed");
}

static int render_section(struct render *r, const struct tag *t, const char *body,
                          const char *body_end)
{
	const json_t *v = lookup(r, t->name);
	bool on = truthy(v);

	if (t->kind == '^')
		return on ? 0 : render_range(r, body, body_end);
	if (!on) {
		/* Still parse the body so that syntax errors show at load time. */
		size_t mark = r->out->len;
		int rc = render_range(r, body, body_end);

		r->out->len = mark;
		if (r->out->data != NULL)
			r->out->data[mark] = '\0';
		return rc;
	}
	if (r->depth >= MAX_DEPTH)
		return fail(r, t->start, "sections nested too deep");
	if (json_is_array(v)) {
		size_t i;
		const json_t *el;

		json_array_foreach(v, i, el)
		{
			r->scope[++r->depth] = el;
			int rc = render_range(r, body, body_end);

			r->depth--;
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	r->scope[++r->depth] = v;
	int rc = render_range(r, body, body_end);

	r->depth--;
	return rc;
}

static int render_range(struct render *r, const char *p, const char *end)
{
	struct tag t, close;
	int rc;

	while ((rc = next_tag(r, p, end, &t)) == 1) {
		const char *text_end = t.start, *after = t.end;

		if (t.kind == '/')
			return fail(r, t.start, "closing tag without an open section");
		if (t.kind == 0) {
			notif_strbuf_append(r->out, p, (size_t)(t.start - p));
			emit_value(r, lookup(r, t.name));
			p = t.end;
			continue;
		}
		if (find_close(r, &t, end, &close) != 0)
			return -1;
		const char *ls = line_start_of(r->tpl, t.start);
		const char *body = t.end, *body_end = close.start, *close_after = close.end;

		if (ls >= p && standalone(ls, &t, end, &after)) {
			text_end = ls;
			body = after;
		}
		const char *cls = line_start_of(r->tpl, close.start);
		if (cls >= body && standalone(cls, &close, end, &close_after))
			body_end = cls;
		notif_strbuf_append(r->out, p, (size_t)(text_end - p));
		if (render_section(r, &t, body, body_end) != 0)
			return -1;
		p = close_after;
	}
	if (rc < 0)
		return -1;
	notif_strbuf_append(r->out, p, (size_t)(end - p));
	return 0;
}

int notif_tpl_render(const char *tpl, const json_t *values, notif_tpl_escape_t esc,
                     notif_strbuf_t *out, char *err, size_t errsz)
{
	struct render r = {.tpl = tpl, .esc = esc, .out = out, .err = err, .errsz = errsz};

	r.scope[0] = values;
	notif_strbuf_cstr(out);
	return render_range(&r, tpl, tpl + strlen(tpl));
}

int notif_tpl_check(const char *tpl, char *err, size_t errsz)
{
	notif_strbuf_t b = NOTIF_STRBUF_INIT;
	json_t *empty = json_object();
	int rc = notif_tpl_render(tpl, empty, NOTIF_TPL_TEXT, &b, err, errsz);

	json_decref(empty);
	notif_strbuf_free(&b);
	return rc;
}
