/*
 * Private to common/: the helpers the event's files share. event_contract.c
 * (the per-type contract of `data`) defines them; event_envelope.c (the
 * CloudEvents envelope) uses them for its own attributes. Not installed.
 */
#ifndef EDA_EVENT_INTERNAL_H
#define EDA_EVENT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The dataschema of version 1 of a type: prefix, type name, suffix. */
#define EDA_EVENT__URN_PREFIX "urn:eda:schema:"
#define EDA_EVENT__URN_SUFFIX ":1"

/* Formats the message into ERR (when not NULL) and returns CODE: the one-line
 * "fail with this code and say why" of every check. */
int eda_event__fail(int code, char *err, size_t errsz, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Copies at most 40 bytes of untrusted S for an error message, printable ASCII
 * only, so that the message is always safe to put in a log line or a header. */
const char *eda_event__printable(const char *s, char buf[static 48]);

/* Characters (code points) of a valid UTF-8 string, as JSON Schema counts them. */
size_t eda_event__utf8_chars(const char *s);

/* An integer, or a real with an integral value (JSON Schema's notion of one),
 * in *OUT. */
bool eda_event__integral(const json_t *v, long long *out);

#endif
