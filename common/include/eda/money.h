/*
 * Money as an int64 count of cents, never a float. Events and responses carry it
 * as a decimal string with exactly two places ("49.99"); HTTP requests may also
 * give it as a shorter decimal string ("5", "5.5") or as a JSON number with at
 * most two decimals (DESIGN.md, "HTTP API"). Amounts are never negative in this
 * domain (prices, totals, payments), so every parser here rejects a sign.
 *
 * Accepted strings: digits, optionally '.' and one or two digits. No sign, no
 * whitespace, no exponent, no leading zeros ("0.50" yes, "01.5" and "00" no, as
 * in JSON's own number grammar), no bare point (".5", "5."), and nothing beyond
 * two decimals even if it is zero ("1.250" is refused: the text is judged, not
 * its value). A JSON number is judged by its value: a real is read back through
 * its shortest decimal form, so 49.99 is 4999 cents, 1e2 is 10000 and the
 * double nearest 0.1+0.2 (0.30000000000000004) is refused.
 *
 * The largest amount is EDA_MONEY_MAX_CENTS (99,999,999,999.99): at most eleven
 * integer digits, which keeps any sum of a bounded number of amounts far from
 * int64 overflow.
 */
#ifndef EDA_MONEY_H
#define EDA_MONEY_H

#include <jansson.h>
#include <stdint.h>

/* Room for any int64 formatted by eda_money_format, with its NUL. */
#define EDA_MONEY_STRLEN    24
#define EDA_MONEY_MAX_CENTS INT64_C(9999999999999)

enum {
	EDA_MONEY_BAD_TYPE = -1,      /* neither a string nor a number */
	EDA_MONEY_BAD_SYNTAX = -2,    /* not a plain decimal */
	EDA_MONEY_TOO_PRECISE = -3,   /* more than two decimals */
	EDA_MONEY_NEGATIVE = -4,      /* a minus sign or a negative number */
	EDA_MONEY_TOO_LARGE = -5,     /* above EDA_MONEY_MAX_CENTS */
	EDA_MONEY_NOT_CANONICAL = -6, /* valid, but not exactly two decimals */
};

/* Parses the lenient request form S (see above) into *CENTS. Returns 0, or a
 * negative EDA_MONEY_* code with *CENTS untouched. */
int eda_money_parse_str(const char *s, int64_t *cents);

/* Parses the event form: exactly two decimals ("5.50"), as eda_money_format
 * writes it. Returns 0 or a negative code (EDA_MONEY_NOT_CANONICAL for "5.5"). */
int eda_money_parse_canonical(const char *s, int64_t *cents);

/* Parses a JSON string (lenient form) or number (value with at most two
 * decimals) into *CENTS. V is borrowed. Returns 0 or a negative code. */
int eda_money_parse_json(const json_t *v, int64_t *cents);

/* Writes CENTS as "49.99" (always two decimals, "-0.50" for negatives) to OUT. */
void eda_money_format(int64_t cents, char out[static EDA_MONEY_STRLEN]);

/* A new JSON string holding eda_money_format(CENTS); the caller owns it. */
json_t *eda_money_to_json(int64_t cents);

/* A short reason for CODE, for error messages; never NULL. */
const char *eda_money_strerror(int code);

#endif
