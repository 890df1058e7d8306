/*
 * Tests the event (common/src/event_envelope.c, event_contract.c and
 * traceparent.c): tables of envelopes that must parse and of bytes that
 * must be refused with a given code (truncated JSON, wrong types, huge strings,
 * NUL bytes, invalid UTF-8, missing attributes, bad times), the round trip
 * new -> serialize -> parse, how causation, correlation and trace context pass
 * from an event to the one it causes, and the per-type data checks that JSON
 * Schema cannot express (test_event_schemas.c covers the rest against the schemas).
 */
#include "eda/event.h"

#include "support/check_main.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UUID1 "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
#define UUID2 "7d444840-9dc0-41d2-8e8a-0016d3cca427"
#define TP1   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* The attributes every event needs, for an event type nobody knows. */
#define BASE        "\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/test\""
#define OTHER(rest) "{" BASE ",\"type\":\"com.example.Other\"" rest "}"

#define ORDER_PLACED_DATA                                                                          \
	"{\"order_id\":\"" UUID1 "\",\"customer\":{\"id\":\"c-1\",\"email\":\"ada@example.com\"}," \
	"\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price\":\"49.99\"}],"                 \
	"\"total\":\"99.98\",\"currency\":\"EUR\"}"

/* A complete OrderPlaced; REST is spliced in before data (",\"x\":1" adds x). */
#define PLACED(rest)                                                                               \
	"{" BASE ",\"type\":\"OrderPlaced\",\"subject\":\"" UUID1 "\","                            \
	"\"time\":\"2026-11-23T10:30:00.123Z\",\"datacontenttype\":\"application/json\","          \
	"\"dataschema\":\"urn:eda:schema:OrderPlaced:1\",\"correlationid\":\"req-1\","             \
	"\"traceparent\":\"" TP1 "\"" rest ",\"data\":" ORDER_PLACED_DATA "}"

static const char *const valid_envelopes[] = {
        PLACED(""),
        PLACED(",\"causationid\":\"" UUID2 "\""),
        PLACED(",\"partitionkey\":\"k\",\"retries\":3,\"replayed\":false,\"x2\":2.0"),
        OTHER(""),
        OTHER(",\"data\":[1,2,3]"),
        OTHER(",\"data\":null"),
        OTHER(",\"data\":\"text\""),
        OTHER(",\"time\":\"2026-11-23T10:30:00Z\""),
        OTHER(",\"time\":\"2026-11-23T10:30:00.123456789+05:30\""),
        OTHER(",\"time\":\"2028-02-29T00:00:00-00:00\""),
        OTHER(",\"time\":\"2000-02-29T23:59:59Z\""),
        OTHER(",\"subject\":\"\xc3\xa9t\xc3\xa9\""),
        OTHER(",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00\""),
        /* Order of members does not matter; specversion may come last. */
        "{\"type\":\"x\",\"source\":\"/s\",\"id\":\"1\",\"specversion\":\"1.0\"}",
        " \n{" BASE ",\"type\":\"x\"}\n ",
};

START_TEST(parse_valid)
{
	const char *in = valid_envelopes[_i];
	eda_event_t *ev = NULL;
	char err[256] = "";
	int rc = eda_event_parse(in, strlen(in), &ev, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s\n-> %d %s", in, rc, err);
	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(ev->id);
	ck_assert_ptr_nonnull(ev->source);
	ck_assert_ptr_nonnull(ev->type);
	eda_event_free(ev);
}
END_TEST

static const struct bad_case {
	const char *in;
	size_t len; /* 0: strlen(in); set for inputs holding NUL bytes */
	int rc;
} invalid_envelopes[] = {
        /* not JSON */
        {"", 0, EDA_EVENT_BAD_JSON},
        {"{", 0, EDA_EVENT_BAD_JSON},
        {"{\"specversion\":\"1.0\",\"id\":", 0, EDA_EVENT_BAD_JSON},
        {"{\"specversion\":\"1.0\",}", 0, EDA_EVENT_BAD_JSON},
        {OTHER("") " x", 0, EDA_EVENT_BAD_JSON},
        {OTHER("") OTHER(""), 0, EDA_EVENT_BAD_JSON},
        {"{'specversion':'1.0'}", 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"n\":NaN"), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"n\":1e400"), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"id\":\"again\""), 0, EDA_EVENT_BAD_JSON}, /* duplicate key */
        /* NUL bytes: raw in a string, raw between members, escaped */
        {"{" BASE ",\"type\":\"a\0b\"}", sizeof("{" BASE ",\"type\":\"a\0b\"}") - 1,
         EDA_EVENT_BAD_JSON},
        {"{" BASE ",\0\"type\":\"x\"}", sizeof("{" BASE ",\0\"type\":\"x\"}") - 1,
         EDA_EVENT_BAD_JSON},
        {OTHER("") "\0", sizeof(OTHER("") "\0") - 1, EDA_EVENT_BAD_JSON},
        {OTHER(",\"subject\":\"a\\u0000b\""), 0, EDA_EVENT_BAD_JSON},
        /* invalid UTF-8: a stray byte, an overlong '/', a surrogate, a lone escape */
        {OTHER(",\"subject\":\"\xff\""), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"subject\":\"\xc0\xaf\""), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"subject\":\"\xed\xa0\x80\""), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"subject\":\"\\ud800\""), 0, EDA_EVENT_BAD_JSON},
        {OTHER(",\"subject\":\"\xc3\""), 0, EDA_EVENT_BAD_JSON},
        /* not an object */
        {"[]", 0, EDA_EVENT_NOT_OBJECT},
        {"null", 0, EDA_EVENT_NOT_OBJECT},
        {"\"OrderPlaced\"", 0, EDA_EVENT_NOT_OBJECT},
        {"42", 0, EDA_EVENT_NOT_OBJECT},
        /* specversion */
        {"{}", 0, EDA_EVENT_BAD_SPECVERSION},
        {"{\"id\":\"1\",\"source\":\"/s\",\"type\":\"x\"}", 0, EDA_EVENT_BAD_SPECVERSION},
        {"{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_SPECVERSION},
        {"{\"specversion\":1.0,\"id\":\"1\",\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_SPECVERSION},
        {"{\"specversion\":\"1.0 \",\"id\":\"1\",\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_SPECVERSION},
        /* required attributes: missing, empty, wrong type */
        {"{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"x\"}", 0, EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"x\"}", 0, EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\"}", 0, EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":null,\"source\":\"/s\",\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":[\"/s\"],\"type\":\"x\"}", 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":true}", 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"subject\":\"\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"correlationid\":{}"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        /* time */
        {OTHER(",\"time\":\"2026-11-23 10:30:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00.Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00.1234567890Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T24:00:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:60:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-12-31T23:59:60Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-02-29T10:30:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"1900-02-29T10:30:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-13-01T10:30:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"0000-01-01T00:00:00Z\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00+2:00\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":\"2026-11-23T10:30:00Z\\n\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"time\":1795436400"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        /* datacontenttype, traceparent */
        {OTHER(",\"datacontenttype\":\"text/plain\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"traceparent\":\"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\""), 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"traceparent\":\"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\""), 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"traceparent\":\"00-00000000000000000000000000000000-b7ad6b7169203331-01\""), 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01\""), 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x\""), 0,
         EDA_EVENT_BAD_ATTRIBUTE},
        /* attribute names and extension values */
        {OTHER(",\"Subject\":\"s\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"my_ext\":\"s\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"abcdefghijklmnopqrstu\":\"21 characters\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"\":\"s\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"data_base64\":\"AAAA\""), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"ext\":{\"a\":1}"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"ext\":[1]"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"ext\":null"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        {OTHER(",\"ext\":1.5"), 0, EDA_EVENT_BAD_ATTRIBUTE},
        /* what the known types also need */
        {"{" BASE ",\"type\":\"OrderPlaced\",\"time\":\"2026-11-23T10:30:00Z\","
         "\"dataschema\":\"urn:eda:schema:OrderPlaced:1\",\"data\":{}}",
         0, EDA_EVENT_BAD_ATTRIBUTE},
        {"{" BASE ",\"type\":\"OrderPlaced\",\"subject\":\"s\","
         "\"dataschema\":\"urn:eda:schema:OrderPlaced:1\",\"data\":{}}",
         0, EDA_EVENT_BAD_ATTRIBUTE},
        /* (no dataschema is parsed: an event from outside may omit it;
         * eda_event_validate_data refuses it on our own types, data_cases) */
        {"{" BASE ",\"type\":\"OrderPlaced\",\"subject\":\"s\",\"time\":\"2026-11-23T10:30:00Z\","
         "\"dataschema\":\"urn:eda:schema:OrderPlaced:1\"}",
         0, EDA_EVENT_BAD_DATA},
        {"{" BASE ",\"type\":\"OrderPlaced\",\"subject\":\"s\",\"time\":\"2026-11-23T10:30:00Z\","
         "\"dataschema\":\"urn:eda:schema:OrderPlaced:1\",\"data\":[]}",
         0, EDA_EVENT_BAD_DATA},
        {"{" BASE ",\"type\":\"OrderPlaced\",\"subject\":\"s\",\"time\":\"2026-11-23T10:30:00Z\","
         "\"dataschema\":\"urn:eda:schema:OrderPlaced:1\",\"data\":\"{}\"}",
         0, EDA_EVENT_BAD_DATA},
};

static void assert_printable(const char *err)
{
	ck_assert_msg(err[0] != '\0', "no reason given");
	for (const char *p = err; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in \"%s\"", err);
}

START_TEST(parse_invalid)
{
	const struct bad_case *c = &invalid_envelopes[_i];
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	eda_event_t *ev = (eda_event_t *)1;
	char err[256] = "";
	int rc = eda_event_parse(c->in, len, &ev, err, sizeof(err));

	ck_assert_msg(rc == c->rc, "case %d: %.*s\n-> %d (%s), want %d", _i, (int)len, c->in, rc,
	              err, c->rc);
	ck_assert_ptr_null(ev);
	assert_printable(err);
}
END_TEST

/* Every proper prefix of a valid event is refused, never crashes, never leaks. */
START_TEST(parse_truncations)
{
	const char *in = PLACED("");
	size_t n = strlen(in);
	eda_event_t *ev;
	char err[256];

	for (size_t len = 0; len < n; len++) {
		ck_assert_int_eq(eda_event_parse(in, len, &ev, err, sizeof(err)),
		                 EDA_EVENT_BAD_JSON);
		ck_assert_ptr_null(ev);
	}
	ck_assert_int_eq(eda_event_parse(in, n, &ev, err, sizeof(err)), 0);
	eda_event_free(ev);
}
END_TEST

/* Generated inputs: sizes around the limits and deep nesting. */
START_TEST(parse_huge)
{
	size_t big = EDA_EVENT_MAX_SIZE + 1;
	char *buf = malloc(big + 1), err[256];
	eda_event_t *ev;
	int n;

	ck_assert_ptr_nonnull(buf);
	/* Over the size limit, even though it is valid JSON. */
	n = snprintf(buf, big + 1, "{" BASE ",\"type\":\"x\",\"ext\":\"");
	memset(buf + n, 'a', big - (size_t)n - 2);
	memcpy(buf + big - 2, "\"}", 2);
	buf[big] = '\0';
	ck_assert_int_eq(eda_event_parse(buf, big, &ev, err, sizeof(err)), EDA_EVENT_TOO_BIG);
	/* One byte less fits and parses: extension values are not length-bound. */
	memcpy(buf + big - 3, "\"}", 2);
	ck_assert_int_eq(eda_event_parse(buf, big - 1, &ev, err, sizeof(err)), 0);
	eda_event_free(ev);
	/* Attributes: 256 characters pass, 257 do not; characters, not bytes. */
	for (int chars = 255; chars <= 258; chars++) {
		for (int width = 1; width <= 2; width++) {
			int len = sprintf(buf, "{" BASE ",\"type\":\"x\",\"subject\":\"");

			for (int i = 0; i < chars; i++)
				len += sprintf(buf + len, "%s", width == 1 ? "s" : "\xc3\xa9");
			len += sprintf(buf + len, "\"}");
			ck_assert_int_eq(eda_event_parse(buf, (size_t)len, &ev, err, sizeof(err)),
			                 chars <= EDA_EVENT_MAX_ATTR_LEN ? 0
			                                                 : EDA_EVENT_BAD_ATTRIBUTE);
			eda_event_free(ev);
		}
	}
	/* Nesting far deeper than jansson's limit is refused, not a stack overflow. */
	n = sprintf(buf, "{" BASE ",\"type\":\"x\",\"data\":");
	memset(buf + n, '[', 100000);
	ck_assert_int_eq(eda_event_parse(buf, (size_t)n + 100000, &ev, err, sizeof(err)),
	                 EDA_EVENT_BAD_JSON);
	free(buf);
}
END_TEST

START_TEST(parse_arguments)
{
	eda_event_t *ev;
	char err[8];

	ck_assert_int_eq(eda_event_parse(NULL, 5, &ev, err, sizeof(err)), EDA_EVENT_INVALID_ARG);
	ck_assert_int_eq(eda_event_parse("{}", 2, NULL, err, sizeof(err)), EDA_EVENT_INVALID_ARG);
	/* NULL with length 0 is an empty message, and no error buffer is fine. */
	ck_assert_int_eq(eda_event_parse(NULL, 0, &ev, NULL, 0), EDA_EVENT_BAD_JSON);
	/* A short buffer gets a truncated, terminated reason. */
	ck_assert_int_eq(eda_event_parse("{}", 2, &ev, err, sizeof(err)),
	                 EDA_EVENT_BAD_SPECVERSION);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

static json_t *order_placed_data(const char *order_id)
{
	return json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:i, s:s}], s:s, s:s}", "order_id", order_id,
	                 "customer", "id", "c-1", "email", "ada@example.com", "items", "sku",
	                 "SKU-1", "quantity", 2, "unit_price", "49.99", "total", "99.98",
	                 "currency", "EUR");
}

static eda_event_t *reparse(const eda_event_t *ev)
{
	size_t len = 0;
	char *json = eda_event_serialize(ev, &len), err[256];
	eda_event_t *back = NULL;

	ck_assert_ptr_nonnull(json);
	ck_assert_uint_eq(len, strlen(json));
	ck_assert_msg(eda_event_parse(json, len, &back, err, sizeof(err)) == 0, "%s: %s", json,
	              err);
	free(json);
	return back;
}

static void assert_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		ck_assert_ptr_eq(a, b);
	else
		ck_assert_str_eq(a, b);
}

START_TEST(round_trip)
{
	eda_event_t *ev = eda_event_new("/order-service", EDA_EVENT_ORDER_PLACED, UUID1,
	                                order_placed_data(UUID1), NULL, "req-42");
	eda_event_t *back;
	char err[256];

	ck_assert_ptr_nonnull(ev);
	ck_assert_msg(eda_event_validate_data(ev, err, sizeof(err)) == 0, "%s", err);
	back = reparse(ev);
	assert_same_str(back->id, ev->id);
	assert_same_str(back->source, ev->source);
	assert_same_str(back->type, ev->type);
	assert_same_str(back->subject, ev->subject);
	assert_same_str(back->time, ev->time);
	assert_same_str(back->dataschema, ev->dataschema);
	assert_same_str(back->correlationid, ev->correlationid);
	assert_same_str(back->causationid, ev->causationid);
	assert_same_str(back->traceparent, ev->traceparent);
	ck_assert(json_equal(back->data, ev->data));
	ck_assert_int_eq(eda_event_validate_data(back, err, sizeof(err)), 0);
	eda_event_free(back);
	eda_event_free(ev);
}
END_TEST

START_TEST(new_sets_attributes)
{
	eda_event_t *ev = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_UPDATED, "SKU-1",
	                                json_pack("{s:s,s:i,s:i,s:s}", "sku", "SKU-1", "stock", 7,
	                                          "delta", -2, "cause", "reservation"),
	                                NULL, NULL);
	char *json = eda_event_serialize(ev, NULL), err[256];
	eda_event_t *back;

	ck_assert_int_eq(strlen(ev->id), 36);
	ck_assert_int_eq(ev->id[14], '4'); /* a random (version 4) UUID */
	ck_assert_int_eq(strlen(ev->time), 24);
	ck_assert_int_eq(ev->time[23], 'Z');
	ck_assert_str_eq(ev->dataschema, "urn:eda:schema:InventoryUpdated:1");
	ck_assert_ptr_null(ev->correlationid);
	ck_assert_ptr_null(ev->causationid);
	ck_assert(eda_traceparent_valid(ev->traceparent));
	ck_assert_msg(eda_event_validate_data(ev, err, sizeof(err)) == 0, "%s", err);
	/* CloudEvents members first, in DESIGN.md's order, datacontenttype included. */
	ck_assert_msg(strncmp(json, "{\"specversion\":\"1.0\",\"id\":\"", 27) == 0, "%s", json);
	ck_assert_ptr_nonnull(strstr(json, ",\"datacontenttype\":\"application/json\","));
	ck_assert_ptr_nonnull(strstr(json, "\"data\":{\"sku\":\"SKU-1\",\"stock\":7"));
	back = reparse(ev);
	ck_assert_str_eq(back->time, ev->time); /* so the time is RFC 3339 as parse sees it */
	eda_event_free(back);
	free(json);
	eda_event_free(ev);
}
END_TEST

START_TEST(new_rejects_and_steals)
{
	json_t *data = json_object();

	json_incref(data);
	ck_assert_ptr_null(eda_event_new(NULL, "T", NULL, data, NULL, NULL));
	ck_assert_int_eq(data->refcount, 1); /* taken and released on failure */
	json_incref(data);
	ck_assert_ptr_null(eda_event_new("/s", "", NULL, data, NULL, NULL));
	ck_assert_int_eq(data->refcount, 1);
	json_decref(data);
	ck_assert_ptr_null(eda_event_new("", "T", NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(causation_propagates)
{
	eda_event_t *placed = eda_event_new("/order-service", EDA_EVENT_ORDER_PLACED, UUID1,
	                                    order_placed_data(UUID1), NULL, "req-42");
	eda_event_t *reserved, *confirmed;

	reserved = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_RESERVED, UUID1,
	                         json_pack("{s:s,s:[{s:s,s:i}]}", "order_id", UUID1, "items", "sku",
	                                   "SKU-1", "quantity", 2),
	                         placed, "ignored-when-the-cause-has-one");
	ck_assert_str_eq(reserved->correlationid, "req-42");
	ck_assert_str_eq(reserved->causationid, placed->id);
	ck_assert_str_ne(reserved->id, placed->id);
	/* Same trace id and flags, a new span id. */
	ck_assert(eda_traceparent_valid(reserved->traceparent));
	ck_assert_int_eq(strncmp(reserved->traceparent, placed->traceparent, 35), 0);
	ck_assert_int_ne(strncmp(reserved->traceparent + 36, placed->traceparent + 36, 16), 0);
	ck_assert_str_eq(reserved->traceparent + 52, placed->traceparent + 52);

	/* Two hops on, the saga still has one correlation id and one trace. */
	confirmed = eda_event_new("/order-service", EDA_EVENT_ORDER_CONFIRMED, UUID1,
	                          json_pack("{s:s,s:{s:s,s:s},s:s,s:s}", "order_id", UUID1,
	                                    "customer", "id", "c-1", "email", "ada@example.com",
	                                    "total", "99.98", "currency", "EUR"),
	                          reserved, NULL);
	ck_assert_str_eq(confirmed->correlationid, "req-42");
	ck_assert_str_eq(confirmed->causationid, reserved->id);
	ck_assert_int_eq(strncmp(confirmed->traceparent, placed->traceparent, 35), 0);
	eda_event_free(confirmed);
	eda_event_free(reserved);
	eda_event_free(placed);
}
END_TEST

START_TEST(causation_fallbacks)
{
	eda_event_t *cause = eda_event_new("/x", "T", NULL, NULL, NULL, NULL);
	eda_event_t *ev;

	/* A cause without correlation id: the argument is used. */
	ev = eda_event_new("/y", "T", NULL, NULL, cause, "req-7");
	ck_assert_str_eq(ev->correlationid, "req-7");
	eda_event_free(ev);
	/* A cause with a broken traceparent (from a foreign producer): a new trace. */
	free(cause->traceparent);
	cause->traceparent = strdup("garbage");
	ev = eda_event_new("/y", "T", NULL, NULL, cause, NULL);
	ck_assert_ptr_null(ev->correlationid);
	ck_assert_str_eq(ev->causationid, cause->id);
	ck_assert(eda_traceparent_valid(ev->traceparent));
	eda_event_free(ev);
	free(cause->traceparent);
	cause->traceparent = NULL;
	ev = eda_event_new("/y", "T", NULL, NULL, cause, NULL);
	ck_assert(eda_traceparent_valid(ev->traceparent));
	eda_event_free(ev);
	eda_event_free(cause);
}
END_TEST

START_TEST(traceparent_helpers)
{
	char a[EDA_TRACEPARENT_LEN + 1], b[EDA_TRACEPARENT_LEN + 1];

	eda_traceparent_new(a);
	eda_traceparent_new(b);
	ck_assert(eda_traceparent_valid(a));
	ck_assert_str_ne(a, b);
	ck_assert_str_eq(a + 52, "-01");
	ck_assert_int_eq(eda_traceparent_child(TP1, a), 0);
	ck_assert_int_eq(strncmp(a, TP1, 36), 0);
	ck_assert_str_ne(a, TP1);
	ck_assert_int_eq(
	        eda_traceparent_child("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", a),
	        0);
	ck_assert_str_eq(a + 52, "-00"); /* not sampled stays not sampled */
	ck_assert_int_eq(eda_traceparent_child("nope", b), EDA_EVENT_BAD_ATTRIBUTE);
	ck_assert(eda_traceparent_valid(b));
	ck_assert_int_eq(eda_traceparent_child(NULL, b), EDA_EVENT_BAD_ATTRIBUTE);
	ck_assert(eda_traceparent_valid(b));
	ck_assert(!eda_traceparent_valid(NULL));
	ck_assert(!eda_traceparent_valid(""));
	ck_assert(!eda_traceparent_valid(TP1 "0"));
}
END_TEST

START_TEST(serialize_refuses)
{
	eda_event_t *ev = eda_event_new("/s", "T", NULL, NULL, NULL, NULL);
	char *json;

	ck_assert_ptr_null(eda_event_serialize(NULL, NULL));
	/* Without data there is no datacontenttype either. */
	json = eda_event_serialize(ev, NULL);
	ck_assert_ptr_null(strstr(json, "datacontenttype"));
	ck_assert_ptr_null(strstr(json, "\"data\""));
	free(json);
	/* A member set by hand to bytes that are not UTF-8. */
	free(ev->subject);
	ev->subject = strdup("\xff");
	ck_assert_ptr_null(eda_event_serialize(ev, NULL));
	free(ev->id);
	ev->id = NULL;
	ck_assert_ptr_null(eda_event_serialize(ev, NULL));
	eda_event_free(ev);
	eda_event_free(NULL);
}
END_TEST

/* What only the C side checks (JSON Schema cannot compare two members) and
 * what it lets through on purpose. The per-type rules shared with the schemas
 * are in test_event_schemas.c. */
#define PAYMENT_DATA                                                                               \
	"{\"order_id\":\"" UUID1 "\",\"payment_id\":\"pi_3NxYz9KdLq\",\"amount\":\"1.00\","        \
	"\"currency\":\"EUR\"}"

static const struct data_case {
	const char *type, *subject, *dataschema, *data;
	int rc;
	const char *err; /* expected start of the reason */
} data_cases[] = {
        {"OrderPlaced", UUID1, NULL, ORDER_PLACED_DATA, 0, ""},
        {"OrderPlaced", UUID2, NULL, ORDER_PLACED_DATA, EDA_EVENT_BAD_ATTRIBUTE,
         "subject: must equal data.order_id"},
        {"OrderPlaced", UUID1, "urn:eda:schema:OrderPlaced:2", ORDER_PLACED_DATA,
         EDA_EVENT_BAD_ATTRIBUTE, "dataschema: unknown version 2 of OrderPlaced"},
        {"OrderPlaced", UUID1, "urn:eda:schema:OrderPaid:1", ORDER_PLACED_DATA,
         EDA_EVENT_BAD_ATTRIBUTE, "dataschema: must be \"urn:eda:schema:OrderPlaced:1\""},
        {"OrderPlaced", UUID1, "", ORDER_PLACED_DATA, EDA_EVENT_BAD_ATTRIBUTE,
         "dataschema: must be"},
        /* An event from outside (the payment service) may leave dataschema
         * out: version 1. Ours may not. A version we do not know is named. */
        {"PaymentProcessed", UUID1, "-", PAYMENT_DATA, 0, ""},
        {"PaymentProcessed", UUID1, "urn:eda:schema:PaymentProcessed:7", PAYMENT_DATA,
         EDA_EVENT_BAD_ATTRIBUTE, "dataschema: unknown version 7 of PaymentProcessed"},
        {"OrderPlaced", UUID1, "-", ORDER_PLACED_DATA, EDA_EVENT_BAD_ATTRIBUTE,
         "dataschema: required"},
        {"ProductChanged", "SKU-2", NULL,
         "{\"sku\":\"SKU-1\",\"name\":\"n\",\"price\":\"1.00\",\"currency\":\"EUR\","
         "\"version\":1}",
         EDA_EVENT_BAD_ATTRIBUTE, "subject: must equal data.sku"},
        {"OrderPlacedV2", UUID1, NULL, ORDER_PLACED_DATA, EDA_EVENT_UNKNOWN_TYPE,
         "unknown event type"},
        {"orderplaced", UUID1, NULL, ORDER_PLACED_DATA, EDA_EVENT_UNKNOWN_TYPE, "unknown"},
        {"InventoryUpdated", "SKU-2", NULL,
         "{\"sku\":\"SKU-1\",\"stock\":0,\"delta\":-3,\"cause\":\"set\"}", EDA_EVENT_BAD_ATTRIBUTE,
         "subject: must equal data.sku"},
        {"InventoryUpdated", "SKU-1", NULL,
         "{\"sku\":\"SKU-1\",\"stock\":0,\"delta\":-3,\"cause\":\"set\"}", 0, ""},
        /* 2.0 is an integer to JSON Schema, so it is one here too. */
        {"InventoryUpdated", "SKU-1", NULL,
         "{\"sku\":\"SKU-1\",\"stock\":2.0,\"delta\":-3.0,\"cause\":\"set\"}", 0, ""},
        /* Reasons name the first problem with its path. */
        {"OrderPlaced", UUID1, NULL,
         "{\"order_id\":\"" UUID1 "\",\"customer\":{\"id\":\"c\",\"email\":\"a@b.co\"},"
         "\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1.00\"},"
         "{\"sku\":\"B\",\"quantity\":0,\"unit_price\":\"1.00\"}],\"total\":\"1.00\","
         "\"currency\":\"EUR\"}",
         EDA_EVENT_BAD_DATA, "data.items[1].quantity: must be an integer from 1 to 1000000"},
        {"OrderPlaced", UUID1, NULL,
         "{\"order_id\":\"" UUID1 "\",\"customer\":{\"id\":\"c\",\"email\":\"a@b.co\"},"
         "\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1.5\"}],\"total\":\"1.00\","
         "\"currency\":\"EUR\"}",
         EDA_EVENT_BAD_DATA, "data.items[0].unit_price: must have exactly two decimals"},
        {"OrderPlaced", UUID1, NULL,
         "{\"order_id\":\"" UUID1 "\",\"customer\":{\"id\":\"c\",\"email\":\"a@b.co\","
         "\"name\":\"Ada\"},\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"1.00\"}],"
         "\"total\":\"1.00\",\"currency\":\"EUR\"}",
         EDA_EVENT_BAD_DATA, "data.customer.name: unknown member"},
};

START_TEST(validate_data_table)
{
	const struct data_case *c = &data_cases[_i];
	eda_event_t *ev = eda_event_new("/test", c->type, c->subject, json_loads(c->data, 0, NULL),
	                                NULL, NULL);
	char err[256] = "";
	int rc;

	ck_assert_ptr_nonnull(ev->data);
	if (c->dataschema != NULL) { /* "-": none at all */
		free(ev->dataschema);
		ev->dataschema = strcmp(c->dataschema, "-") == 0 ? NULL : strdup(c->dataschema);
	}
	rc = eda_event_validate_data(ev, err, sizeof(err));
	ck_assert_msg(rc == c->rc, "case %d: %d (%s), want %d", _i, rc, err, c->rc);
	ck_assert_msg(strncmp(err, c->err, strlen(c->err)) == 0, "case %d: \"%s\"", _i, err);
	eda_event_free(ev);
}
END_TEST

/* Array bounds, generated: 100 lines pass, 101 and 0 do not. */
START_TEST(validate_item_bounds)
{
	const size_t counts[] = {1, EDA_EVENT_MAX_ITEMS, EDA_EVENT_MAX_ITEMS + 1, 0};
	char err[256];

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		json_t *items = json_array();
		eda_event_t *ev;

		for (size_t i = 0; i < counts[k]; i++) {
			char sku[32];

			snprintf(sku, sizeof(sku), "SKU-%zu", i);
			json_array_append_new(items,
			                      json_pack("{s:s,s:i}", "sku", sku, "quantity", 1));
		}
		ev = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_RESERVED, UUID1,
		                   json_pack("{s:s,s:o}", "order_id", UUID1, "items", items), NULL,
		                   NULL);
		ck_assert_int_eq(eda_event_validate_data(ev, err, sizeof(err)),
		                 counts[k] >= 1 && counts[k] <= EDA_EVENT_MAX_ITEMS
		                         ? 0
		                         : EDA_EVENT_BAD_DATA);
		eda_event_free(ev);
	}
	ck_assert_int_eq(eda_event_validate_data(NULL, err, sizeof(err)), EDA_EVENT_INVALID_ARG);
}
END_TEST

START_TEST(known_types)
{
	static const char *const names[] = {
	        EDA_EVENT_ORDER_PLACED,
	        EDA_EVENT_ORDER_CONFIRMED,
	        EDA_EVENT_ORDER_REJECTED,
	        EDA_EVENT_ORDER_CANCELLED,
	        EDA_EVENT_ORDER_PAID,
	        EDA_EVENT_INVENTORY_RESERVED,
	        EDA_EVENT_INVENTORY_RESERVATION_FAILED,
	        EDA_EVENT_INVENTORY_RELEASED,
	        EDA_EVENT_INVENTORY_UPDATED,
	        EDA_EVENT_PAYMENT_PROCESSED,
	        EDA_EVENT_PAYMENT_FAILED,
	};
	const int codes[] = {
	        EDA_EVENT_OK,         EDA_EVENT_BAD_JSON,        EDA_EVENT_TOO_BIG,
	        EDA_EVENT_NOT_OBJECT, EDA_EVENT_BAD_SPECVERSION, EDA_EVENT_BAD_ATTRIBUTE,
	        EDA_EVENT_BAD_DATA,   EDA_EVENT_UNKNOWN_TYPE,    EDA_EVENT_INVALID_ARG};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert(eda_event_type_is_known(names[i]));
	ck_assert(!eda_event_type_is_known("OrderShipped"));
	ck_assert(!eda_event_type_is_known(NULL));
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_str_ne(eda_event_strerror(codes[i]), "unknown event error");
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(eda_event_strerror(codes[i]),
			                 eda_event_strerror(codes[j]));
	}
	ck_assert_str_eq(eda_event_strerror(12345), "unknown event error");
	ck_assert_str_eq(EDA_EVENT_CONTENT_TYPE, "application/cloudevents+json");
}
END_TEST

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *parse = tcase_create("parse"), *build = tcase_create("build"),
	      *data = tcase_create("data");

	tcase_add_loop_test(parse, parse_valid, 0, N(valid_envelopes));
	tcase_add_loop_test(parse, parse_invalid, 0, N(invalid_envelopes));
	tcase_add_test(parse, parse_truncations);
	tcase_add_test(parse, parse_huge);
	tcase_add_test(parse, parse_arguments);
	suite_add_tcase(s, parse);

	tcase_add_test(build, round_trip);
	tcase_add_test(build, new_sets_attributes);
	tcase_add_test(build, new_rejects_and_steals);
	tcase_add_test(build, causation_propagates);
	tcase_add_test(build, causation_fallbacks);
	tcase_add_test(build, traceparent_helpers);
	tcase_add_test(build, serialize_refuses);
	suite_add_tcase(s, build);

	tcase_add_loop_test(data, validate_data_table, 0, N(data_cases));
	tcase_add_test(data, validate_item_bounds);
	tcase_add_test(data, known_types);
	suite_add_tcase(s, data);
	return s;
}

int main(void)
{
	return ts_run_suite(event_suite());
}
