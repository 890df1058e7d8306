/*
 * The CloudEvents 1.0 envelope (structured JSON mode) of DESIGN.md: building,
 * serializing, and parsing untrusted bytes into an eda_event_t. The parser
 * checks the context attributes; `data` is checked against its type's
 * contract by event_contract.c (eda_event_validate_data).
 */
#include "eda/event.h"

#include "eda/alloc.h"
#include "eda/clock.h"
#include "event_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#define NOT_KEPT ((size_t)-1)

/* The string attributes of CloudEvents 1.0 and of our extensions. */
static const struct attr {
	const char *name;
	size_t offset; /* of its char * in eda_event_t */
} attrs[] = {
        {"id", offsetof(eda_event_t, id)},
        {"source", offsetof(eda_event_t, source)},
        {"type", offsetof(eda_event_t, type)},
        {"subject", offsetof(eda_event_t, subject)},
        {"time", offsetof(eda_event_t, time)},
        {"datacontenttype", NOT_KEPT},
        {"dataschema", offsetof(eda_event_t, dataschema)},
        {"correlationid", offsetof(eda_event_t, correlationid)},
        {"causationid", offsetof(eda_event_t, causationid)},
        {"traceparent", offsetof(eda_event_t, traceparent)},
};

static const struct attr *find_attr(const char *name)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcmp(attrs[i].name, name) == 0)
			return &attrs[i];
	}
	return NULL;
}

/* CloudEvents 1.0: attribute names are lower-case letters or digits, and
 * should be at most 20 characters long; we make the "should" a "must". */
static bool attr_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 20 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* Jansson quotes pieces of the input in its messages; keep them printable. */
static void sanitize(char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
	}
}

/* Each attribute in turn, so that the first problem is the one reported. */
static int parse_attrs(json_t *root, eda_event_t *ev, char *err, size_t errsz)
{
	const char *key;
	json_t *v;
	char tmp[48];
	long long n;

	json_object_foreach(root, key, v)
	{
		const struct attr *a;
		const char *s;

		if (strcmp(key, "specversion") == 0 || strcmp(key, "data") == 0)
			continue;
		if (strcmp(key, "data_base64") == 0)
			return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
			                       "data_base64: binary data is not supported");
		if (!attr_name_ok(key))
			return eda_event__fail(
			        EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
			        "attribute \"%s\": names are 1 to 20 lower-case letters or digits",
			        eda_event__printable(key, tmp));
		a = find_attr(key);
		if (a == NULL) {
			if (!json_is_string(v) && !json_is_boolean(v) &&
			    !eda_event__integral(v, &n))
				return eda_event__fail(
				        EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
				        "%s: an extension attribute must be a string, an "
				        "integer or a boolean",
				        key);
			continue;
		}
		s = json_string_value(v);
		if (s == NULL || *s == '\0' || eda_event__utf8_chars(s) > EDA_EVENT_MAX_ATTR_LEN)
			return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
			                       "%s: must be a string of 1 to %d characters", key,
			                       EDA_EVENT_MAX_ATTR_LEN);
		if (a->offset != NOT_KEPT)
			*(char **)((char *)ev + a->offset) = eda_xstrdup(s);
	}
	return 0;
}

static int check_envelope(json_t *root, const eda_event_t *ev, char *err, size_t errsz)
{
	const char *ct = json_string_value(json_object_get(root, "datacontenttype"));
	json_t *data = json_object_get(root, "data");

	if (ev->id == NULL || ev->source == NULL || ev->type == NULL)
		return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "%s: required",
		                       ev->id == NULL       ? "id"
		                       : ev->source == NULL ? "source"
		                                            : "type");
	if (ev->time != NULL && !eda_rfc3339_valid(ev->time))
		return eda_event__fail(
		        EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		        "time: must be an RFC 3339 timestamp like 2026-11-23T10:30:00.123Z");
	if (ct != NULL && strcmp(ct, EDA_EVENT_DATA_CONTENT_TYPE) != 0)
		return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		                       "datacontenttype: must be " EDA_EVENT_DATA_CONTENT_TYPE);
	if (ev->traceparent != NULL && !eda_traceparent_valid(ev->traceparent))
		return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		                       "traceparent: not a W3C version-00 traceparent");
	if (!eda_event_type_is_known(ev->type))
		return 0;
	/* dataschema is checked with the data (eda_event_validate_data): an
	 * event from outside may leave it out. */
	if (ev->subject == NULL || ev->time == NULL)
		return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "%s: required for %s",
		                       ev->subject == NULL ? "subject" : "time", ev->type);
	if (!json_is_object(data))
		return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "data: %s for %s",
		                       data == NULL ? "required" : "must be an object", ev->type);
	return 0;
}

int eda_event_parse(const void *buf, size_t len, eda_event_t **out, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = NULL, *v;
	eda_event_t *ev = NULL;
	int rc;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (out == NULL || (buf == NULL && len > 0))
		return eda_event__fail(EDA_EVENT_INVALID_ARG, err, errsz,
		                       "no buffer or no place for the event");
	*out = NULL;
	if (len > EDA_EVENT_MAX_SIZE)
		return eda_event__fail(EDA_EVENT_TOO_BIG, err, errsz,
		                       "event of %zu bytes is over the %d limit", len,
		                       EDA_EVENT_MAX_SIZE);
	/* Duplicate keys are refused: two readers could otherwise take different
	 * values from one message. NUL in strings stays refused (no JSON_ALLOW_NUL)
	 * because the attributes become C strings. */
	root = json_loadb(len > 0 ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		rc = eda_event__fail(EDA_EVENT_BAD_JSON, err, errsz,
		                     "invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		                     jerr.column);
		sanitize(err != NULL && errsz > 0 ? err : NULL);
		return rc;
	}
	if (!json_is_object(root)) {
		rc = eda_event__fail(EDA_EVENT_NOT_OBJECT, err, errsz,
		                     "an event must be a JSON object");
		goto done;
	}
	v = json_object_get(root, "specversion");
	if (!json_is_string(v) || strcmp(json_string_value(v), EDA_EVENT_SPECVERSION) != 0) {
		rc = eda_event__fail(EDA_EVENT_BAD_SPECVERSION, err, errsz,
		                     "specversion: must be \"" EDA_EVENT_SPECVERSION "\"");
		goto done;
	}
	ev = eda_xcalloc(1, sizeof(*ev));
	rc = parse_attrs(root, ev, err, errsz);
	if (rc == 0)
		rc = check_envelope(root, ev, err, errsz);
	if (rc != 0)
		goto done;
	v = json_object_get(root, "data");
	ev->data = v != NULL ? json_incref(v) : NULL;
	*out = ev;
	ev = NULL;
done:
	eda_event_free(ev);
	json_decref(root);
	return rc;
}

static bool put(json_t *obj, const char *key, const char *s)
{
	return s == NULL || json_object_set_new(obj, key, json_string(s)) == 0;
}

char *eda_event_serialize(const eda_event_t *ev, size_t *len)
{
	json_t *obj;
	char *out = NULL;
	bool ok;

	if (ev == NULL || ev->id == NULL || ev->source == NULL || ev->type == NULL)
		return NULL;
	/* Members in the order of DESIGN.md's example; jansson keeps insertion order. */
	obj = json_object();
	ok = put(obj, "specversion", EDA_EVENT_SPECVERSION) && put(obj, "id", ev->id) &&
	     put(obj, "source", ev->source) && put(obj, "type", ev->type) &&
	     put(obj, "subject", ev->subject) && put(obj, "time", ev->time) &&
	     put(obj, "datacontenttype", ev->data != NULL ? EDA_EVENT_DATA_CONTENT_TYPE : NULL) &&
	     put(obj, "dataschema", ev->dataschema) &&
	     put(obj, "correlationid", ev->correlationid) &&
	     put(obj, "causationid", ev->causationid) && put(obj, "traceparent", ev->traceparent) &&
	     (ev->data == NULL || json_object_set(obj, "data", ev->data) == 0);
	if (ok)
		out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? eda_xstrdup(s) : NULL;
}

eda_event_t *eda_event_new(const char *source, const char *type, const char *subject, json_t *data,
                           const eda_event_t *cause, const char *correlation_id)
{
	eda_event_t *ev;
	uuid_t uuid;
	char id[37], tp[EDA_TRACEPARENT_LEN + 1], now[EDA_RFC3339_LEN];

	if (source == NULL || *source == '\0' || type == NULL || *type == '\0') {
		json_decref(data);
		return NULL;
	}
	uuid_generate_random(uuid);
	uuid_unparse_lower(uuid, id);
	ev = eda_xcalloc(1, sizeof(*ev));
	ev->id = eda_xstrdup(id);
	ev->source = eda_xstrdup(source);
	ev->type = eda_xstrdup(type);
	ev->subject = dup_or_null(subject);
	eda_clock_rfc3339(now);
	ev->time = eda_xstrdup(now);
	ev->dataschema = eda_xasprintf(EDA_EVENT__URN_PREFIX "%s" EDA_EVENT__URN_SUFFIX, type);
	ev->data = data;
	if (cause != NULL) {
		ev->correlationid = dup_or_null(cause->correlationid != NULL ? cause->correlationid
		                                                             : correlation_id);
		ev->causationid = dup_or_null(cause->id);
		eda_traceparent_child(cause->traceparent, tp);
	} else {
		ev->correlationid = dup_or_null(correlation_id);
		eda_traceparent_new(tp);
	}
	ev->traceparent = eda_xstrdup(tp);
	return ev;
}

void eda_event_free(eda_event_t *ev)
{
	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->source);
	free(ev->type);
	free(ev->subject);
	free(ev->time);
	free(ev->dataschema);
	free(ev->correlationid);
	free(ev->causationid);
	free(ev->traceparent);
	json_decref(ev->data);
	free(ev);
}

const char *eda_event_strerror(int code)
{
	switch (code) {
	case EDA_EVENT_OK:
		return "ok";
	case EDA_EVENT_BAD_JSON:
		return "not valid UTF-8 JSON";
	case EDA_EVENT_TOO_BIG:
		return "event too big";
	case EDA_EVENT_NOT_OBJECT:
		return "event is not a JSON object";
	case EDA_EVENT_BAD_SPECVERSION:
		return "unsupported CloudEvents specversion";
	case EDA_EVENT_BAD_ATTRIBUTE:
		return "invalid context attribute";
	case EDA_EVENT_BAD_DATA:
		return "data breaks the event type's schema";
	case EDA_EVENT_UNKNOWN_TYPE:
		return "unknown event type";
	case EDA_EVENT_INVALID_ARG:
		return "invalid argument";
	default:
		return "unknown event error";
	}
}
