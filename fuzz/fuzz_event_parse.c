/*
 * libFuzzer driver for the event envelope parser (common/src/event_envelope.c,
 * with the contract of event_contract.c), which
 * reads every Kafka message a daemon consumes. Any bytes must either be refused
 * with a printable reason (it ends up in log lines and DLQ headers) or give an
 * event that validates without crashing and survives serialize -> parse with
 * the same attributes, data and verdict.
 */
#include "eda/event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void check_reason(const char *err)
{
	if (err[0] == '\0')
		abort();
	for (const char *p = err; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	eda_event_t *ev, *back;
	char err[256], err2[256], *json;
	size_t len;
	int verdict;

	if (eda_event_parse(data, size, &ev, err, sizeof(err)) != 0) {
		check_reason(err);
		return 0;
	}
	verdict = eda_event_validate_data(ev, err, sizeof(err));
	if (verdict != 0)
		check_reason(err);
	json = eda_event_serialize(ev, &len);
	if (json == NULL)
		abort();
	/* Serializing can grow an event ("1e5" becomes "100000.0"), so one near
	 * the size limit may not come back; everything else must. */
	if (len <= EDA_EVENT_MAX_SIZE) {
		if (eda_event_parse(json, len, &back, err2, sizeof(err2)) != 0)
			abort();
		if (!same(ev->id, back->id) || !same(ev->source, back->source) ||
		    !same(ev->type, back->type) || !same(ev->subject, back->subject) ||
		    !same(ev->time, back->time) || !same(ev->dataschema, back->dataschema) ||
		    !same(ev->correlationid, back->correlationid) ||
		    !same(ev->causationid, back->causationid) ||
		    !same(ev->traceparent, back->traceparent))
			abort();
		if ((ev->data == NULL) != (back->data == NULL) ||
		    (ev->data != NULL && !json_equal(ev->data, back->data)))
			abort();
		if (eda_event_validate_data(back, err2, sizeof(err2)) != verdict)
			abort();
		eda_event_free(back);
	}
	free(json);
	eda_event_free(ev);
	return 0;
}
