/*
 * Money values: parsing of decimal strings and JSON numbers into cents, and the
 * two-decimal string form used in events and responses. See eda/money.h for the
 * accepted grammar and why it is what it is.
 */
#include "eda/money.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Eleven integer digits at most: EDA_MONEY_MAX_CENTS is 99999999999.99. */
#define MAX_INT_DIGITS 11

static int parse_decimal(const char *s, bool canonical, int64_t *cents)
{
	const char *p = s;
	int64_t units = 0, frac = 0;
	int ndigits = 0, nfrac = 0;

	if (s == NULL)
		return EDA_MONEY_BAD_TYPE;
	if (*p == '-') {
		/* Say "negative" only for what would otherwise be a valid amount, so
		 * "-x" stays a syntax error. */
		int64_t magnitude = -1;
		int rc = p[1] == '-' ? EDA_MONEY_BAD_SYNTAX
		                     : parse_decimal(p + 1, canonical, &magnitude);

		/* "-0" in a request is zero, as the JSON number -0 is (jansson
		 * reads that as the integer 0). Canonical money never has a sign:
		 * that is its one rule more, so "-0.00" is merely not canonical. */
		if (rc == 0 && magnitude == 0) {
			if (canonical)
				return EDA_MONEY_NOT_CANONICAL;
			*cents = 0;
			return 0;
		}
		return rc == 0 || rc == EDA_MONEY_TOO_LARGE ? EDA_MONEY_NEGATIVE : rc;
	}
	if (*p < '0' || *p > '9')
		return EDA_MONEY_BAD_SYNTAX;
	if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
		return EDA_MONEY_BAD_SYNTAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		/* Keep scanning past the limit so that "123456789012x" is reported as
		 * bad syntax rather than too large. */
		if (++ndigits <= MAX_INT_DIGITS)
			units = units * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return EDA_MONEY_BAD_SYNTAX;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++nfrac <= 2)
				frac = frac * 10 + (*p - '0');
		}
	}
	if (*p != '\0')
		return EDA_MONEY_BAD_SYNTAX;
	if (nfrac > 2)
		return EDA_MONEY_TOO_PRECISE;
	if (ndigits > MAX_INT_DIGITS)
		return EDA_MONEY_TOO_LARGE;
	if (canonical && nfrac != 2)
		return EDA_MONEY_NOT_CANONICAL;
	if (nfrac == 1)
		frac *= 10;
	*cents = units * 100 + frac;
	return 0;
}

int eda_money_parse_str(const char *s, int64_t *cents)
{
	return parse_decimal(s, false, cents);
}

int eda_money_parse_canonical(const char *s, int64_t *cents)
{
	return parse_decimal(s, true, cents);
}

/*
 * A double carries no record of the text it was read from, so it is judged by the
 * shortest decimal that reads back as the same double: that is what a person
 * wrote for any input of up to 15 significant digits, and it is what makes 0.1 an
 * amount with one decimal while 0.1+0.2 (0.30000000000000004) is not one at all.
 */
static int parse_real(double v, int64_t *cents)
{
	char buf[40];
	int64_t digits = 0;
	int ndigits = 0, e10, scale;
	char *p;

	if (!isfinite(v))
		return EDA_MONEY_BAD_SYNTAX;
	if (v < 0)
		return EDA_MONEY_NEGATIVE;
	if (v == 0) {
		*cents = 0;
		return 0;
	}
	if (v >= 1e12)
		return EDA_MONEY_TOO_LARGE;
	for (int prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* buf is "d[<radix>ddd]e[+-]xx"; the radix character follows the locale, so
	 * take every digit before the 'e' and skip whatever else is there. */
	for (p = buf; *p != '\0' && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9') {
			digits = digits * 10 + (*p - '0');
			ndigits++;
		}
	}
	if (*p != 'e')
		return EDA_MONEY_BAD_SYNTAX;
	e10 = (int)strtol(p + 1, NULL, 10);
	/* value = digits * 10^(e10 - (ndigits - 1)); cents multiply that by 100. */
	scale = e10 - (ndigits - 1) + 2;
	while (scale < 0 && digits % 10 == 0) {
		digits /= 10;
		scale++;
	}
	if (scale < 0)
		return EDA_MONEY_TOO_PRECISE;
	for (; scale > 0; scale--) {
		if (digits > EDA_MONEY_MAX_CENTS / 10)
			return EDA_MONEY_TOO_LARGE;
		digits *= 10;
	}
	if (digits > EDA_MONEY_MAX_CENTS)
		return EDA_MONEY_TOO_LARGE;
	*cents = digits;
	return 0;
}

int eda_money_parse_json(const json_t *v, int64_t *cents)
{
	if (json_is_string(v))
		return parse_decimal(json_string_value(v), false, cents);
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return EDA_MONEY_NEGATIVE;
		if (i > EDA_MONEY_MAX_CENTS / 100)
			return EDA_MONEY_TOO_LARGE;
		*cents = (int64_t)i * 100;
		return 0;
	}
	if (json_is_real(v))
		return parse_real(json_real_value(v), cents);
	return EDA_MONEY_BAD_TYPE;
}

void eda_money_format(int64_t cents, char out[static EDA_MONEY_STRLEN])
{
	/* Unsigned negation is defined for INT64_MIN too. */
	uint64_t mag = cents < 0 ? -(uint64_t)cents : (uint64_t)cents;

	snprintf(out, EDA_MONEY_STRLEN, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", mag / 100,
	         mag % 100);
}

json_t *eda_money_to_json(int64_t cents)
{
	char buf[EDA_MONEY_STRLEN];

	eda_money_format(cents, buf);
	return json_string(buf);
}

const char *eda_money_strerror(int code)
{
	switch (code) {
	case 0:
		return "ok";
	case EDA_MONEY_BAD_TYPE:
		return "must be a decimal string or a number";
	case EDA_MONEY_BAD_SYNTAX:
		return "not a plain decimal amount";
	case EDA_MONEY_TOO_PRECISE:
		return "more than two decimals";
	case EDA_MONEY_NEGATIVE:
		return "must not be negative";
	case EDA_MONEY_TOO_LARGE:
		return "amount too large";
	case EDA_MONEY_NOT_CANONICAL:
		return "must have exactly two decimals";
	default:
		return "unknown money error";
	}
}
