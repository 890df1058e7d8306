/*
 * libFuzzer driver for the money parsers (common/src/money.c), which read prices
 * and payment amounts straight from HTTP request bodies and Kafka events.
 *
 * The same bytes are read three ways: as a C string by eda_money_parse_str and
 * eda_money_parse_canonical, as a JSON document whose value (or, for an array or
 * object, each member) goes to eda_money_parse_json, and, when long enough, as
 * an int64 of cents for eda_money_format. Every accepted amount must lie in
 * [0, EDA_MONEY_MAX_CENTS] and survive format -> parse with the same cents; a
 * refused one must leave the output untouched, as eda/money.h promises.
 */
#include "eda/money.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* No parser may produce it: it is negative. */
#define UNTOUCHED INT64_C(-12345)

static void check_code(int rc)
{
	CHECK(rc <= 0 && rc >= EDA_MONEY_NOT_CANONICAL);
	CHECK(eda_money_strerror(rc) != NULL);
}

/* CENTS was accepted: it is in range and reads back the same in every form. */
static void check_round_trip(int64_t cents)
{
	char buf[EDA_MONEY_STRLEN];
	int64_t back = UNTOUCHED;
	json_t *j;

	CHECK(cents >= 0 && cents <= EDA_MONEY_MAX_CENTS);
	eda_money_format(cents, buf);
	CHECK(strlen(buf) < sizeof(buf));
	CHECK(eda_money_parse_canonical(buf, &back) == 0 && back == cents);
	back = UNTOUCHED;
	CHECK(eda_money_parse_str(buf, &back) == 0 && back == cents);

	j = eda_money_to_json(cents);
	CHECK(j != NULL);
	back = UNTOUCHED;
	CHECK(eda_money_parse_json(j, &back) == 0 && back == cents);
	json_decref(j);
}

static void check_string(const char *s)
{
	int64_t lenient = UNTOUCHED, canonical = UNTOUCHED;
	int rc = eda_money_parse_str(s, &lenient);
	int rc_canonical = eda_money_parse_canonical(s, &canonical);

	check_code(rc);
	check_code(rc_canonical);
	CHECK(rc != EDA_MONEY_NOT_CANONICAL);
	if (rc != 0)
		CHECK(lenient == UNTOUCHED);
	else
		check_round_trip(lenient);
	/* The event form is the request form with one more rule. */
	if (rc_canonical == 0)
		CHECK(rc == 0 && canonical == lenient);
	else
		CHECK(canonical == UNTOUCHED &&
		      (rc != 0 || rc_canonical == EDA_MONEY_NOT_CANONICAL));
}

static void check_json_value(const json_t *v)
{
	int64_t cents = UNTOUCHED;
	int rc = eda_money_parse_json(v, &cents);

	check_code(rc);
	CHECK(rc != EDA_MONEY_NOT_CANONICAL);
	if (rc != 0)
		CHECK(cents == UNTOUCHED);
	else
		check_round_trip(cents);

	if (json_is_string(v)) {
		int64_t direct = UNTOUCHED;

		CHECK(eda_money_parse_str(json_string_value(v), &direct) == rc && direct == cents);
	} else if (json_is_number(v)) {
		/* Jansson writes a real with 17 significant digits, which reads back
		 * as the same double, so the verdict must not change. */
		char *text = json_dumps(v, JSON_ENCODE_ANY);
		json_t *again;
		int64_t back = UNTOUCHED;

		CHECK(text != NULL);
		again = json_loads(text, JSON_DECODE_ANY, NULL);
		CHECK(again != NULL);
		CHECK(eda_money_parse_json(again, &back) == rc && back == cents);
		json_decref(again);
		free(text);
	}
}

/* Any int64 formats to something the parsers read back or refuse for the
 * right reason. */
static void check_format(int64_t cents)
{
	char buf[EDA_MONEY_STRLEN];
	int64_t back = UNTOUCHED;
	int rc;

	eda_money_format(cents, buf);
	CHECK(strlen(buf) < sizeof(buf));
	rc = eda_money_parse_canonical(buf, &back);
	if (cents < 0)
		CHECK(rc == EDA_MONEY_NEGATIVE);
	else if (cents > EDA_MONEY_MAX_CENTS)
		CHECK(rc == EDA_MONEY_TOO_LARGE);
	else
		CHECK(rc == 0 && back == cents);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	json_t *doc;

	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	check_string(s);
	free(s);

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (doc != NULL) {
		const char *key;
		json_t *member;
		size_t i;

		check_json_value(doc);
		json_array_foreach(doc, i, member)
		{
			check_json_value(member);
		}
		json_object_foreach(doc, key, member)
		{
			check_json_value(member);
		}
		json_decref(doc);
	}

	if (size >= sizeof(int64_t)) {
		int64_t cents;

		memcpy(&cents, data, sizeof(cents));
		check_format(cents);
	}
	return 0;
}
