/*
 * The CloudEvents 1.0 envelope (structured JSON mode) and the per-type contract
 * of DESIGN.md: building, serializing, parsing untrusted bytes, and validating
 * `data`. The contract is also written as JSON Schema in common/schemas/, and the
 * checks below mirror those schemas rule for rule (test_event_schemas.c runs the
 * same bad events through both); see eda/event.h for the decisions behind them.
 */
#include "eda/event.h"

#include "eda/alloc.h"
#include "eda/money.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

#define URN_PREFIX "urn:eda:schema:"
#define URN_SUFFIX ":1"

/* Longest "data.items[99].unit_price"-style path in an error message; the
 * contract nests three levels, so this is never reached. */
#define PATH_MAX_LEN 128

static int fail(int code, char *err, size_t errsz, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(int code, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Copies at most 40 bytes of untrusted S for an error message, printable ASCII
 * only, so that the message is always safe to put in a log line or a header. */
static const char *printable(const char *s, char buf[static 48])
{
	size_t i;

	for (i = 0; i < 40 && s[i] != '\0'; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0' && i >= 40) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Characters (code points) of a valid UTF-8 string, as JSON Schema counts them. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	}
	return true;
}

#define LOWER_HEX "0123456789abcdef"
#define DIGITS    "0123456789"

static bool all_in_range(const char *s, unsigned char lo, unsigned char hi)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < lo || (unsigned char)*s > hi)
			return false;
	}
	return true;
}

static bool is_uuid(const char *s)
{
	return strlen(s) == 36 && all_of(s, 8, LOWER_HEX) && s[8] == '-' &&
	       all_of(s + 9, 4, LOWER_HEX) && s[13] == '-' && all_of(s + 14, 4, LOWER_HEX) &&
	       s[18] == '-' && all_of(s + 19, 4, LOWER_HEX) && s[23] == '-' &&
	       all_of(s + 24, 12, LOWER_HEX);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_sku(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

/* Mirrors the schema's ^[!-?A-~]{1,64}@[!-?A-~]+\.[!-?A-~]+$ with maxLength 254:
 * printable ASCII without spaces, one '@', a dot inside the domain. */
static bool is_email(const char *s)
{
	const char *at = strchr(s, '@'), *domain;
	size_t n = strlen(s), dn;

	if (n > 254 || at == NULL || strchr(at + 1, '@') != NULL || at == s || at - s > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '!' || s[i] > '~')
			return false;
	}
	domain = at + 1;
	dn = strlen(domain);
	for (size_t i = 1; i + 1 < dn; i++) {
		if (domain[i] == '.')
			return true;
	}
	return false;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* RFC 3339 date-time, upper-case T and Z, 1 to 9 fraction digits, no leap
 * second (the schema's pattern plus its date-time format check). */
static bool is_rfc3339(const char *s)
{
	const char *p = s + 19;
	int year, month, day;

	if (strlen(s) < 20 || !all_of(s, 4, DIGITS) || s[4] != '-' || !all_of(s + 5, 2, DIGITS) ||
	    s[7] != '-' || !all_of(s + 8, 2, DIGITS) || s[10] != 'T' ||
	    !all_of(s + 11, 2, DIGITS) || s[13] != ':' || !all_of(s + 14, 2, DIGITS) ||
	    s[16] != ':' || !all_of(s + 17, 2, DIGITS))
		return false;
	year = num(s, 4);
	month = num(s + 5, 2);
	day = num(s + 8, 2);
	if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59)
		return false;
	if (*p == '.') {
		size_t n = strspn(p + 1, DIGITS);

		if (n < 1 || n > 9)
			return false;
		p += 1 + n;
	}
	if (p[0] == 'Z' && p[1] == '\0')
		return true;
	return (p[0] == '+' || p[0] == '-') && all_of(p + 1, 2, DIGITS) && p[3] == ':' &&
	       all_of(p + 4, 2, DIGITS) && p[6] == '\0' && num(p + 1, 2) <= 23 &&
	       num(p + 4, 2) <= 59;
}

/* An integer, or a real with an integral value (JSON Schema's notion of one). */
static bool integral(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		/* Beyond +-2^62 the exact value no longer matters: every range we
		 * check is far smaller, so clamp rather than overflow the cast. */
		if (d == floor(d)) {
			*out = fabs(d) < 0x1p62 ? (long long)d : d < 0 ? -(1LL << 62) : 1LL << 62;
			return true;
		}
	}
	return false;
}

/* ---- the contract of each type's data ---------------------------------- */

enum kind {
	K_UUID,
	K_TEXT, /* a string of MIN..MAX characters */
	K_EMAIL,
	K_SKU,
	K_MONEY,
	K_CURRENCY,
	K_OPAQUE, /* an outside system's id: MIN..MAX printable ASCII characters */
	K_INT,    /* an integer from MIN to MAX */
	K_ENUM,
	K_OBJECT,
	K_ARRAY, /* MIN..MAX objects shaped by MEMBERS */
};

struct field {
	const char *name;
	enum kind kind;
	bool required;
	long long min, max;
	const char *const *values;   /* K_ENUM, NULL-terminated */
	const struct field *members; /* K_OBJECT, K_ARRAY; ends with a NULL name */
};

/* One line per rule reads best as a table; clang-format would spread each over four. */
/* clang-format off */
#define REQ(n, k)            {.name = (n), .kind = (k), .required = true}
#define TEXT(n, req, lo, hi) {.name = n, .kind = K_TEXT, .required = req, .min = lo, .max = hi}
#define INT(n, lo, hi)       {.name = n, .kind = K_INT, .required = true, .min = lo, .max = hi}
#define ENUM(n, v)           {.name = (n), .kind = K_ENUM, .required = true, .values = (v)}
#define OBJECT(n, m)         {.name = (n), .kind = K_OBJECT, .required = true, .members = (m)}
#define ARRAY(n, lo, m)                                                                            \
	{.name = (n), .kind = K_ARRAY, .required = true, .min = (lo), .max = EDA_EVENT_MAX_ITEMS,   \
	 .members = (m)}
#define END                  {.name = NULL}
/* clang-format on */

static const struct field customer[] = {
        TEXT("id", true, 1, EDA_EVENT_MAX_ATTR_LEN),
        REQ("email", K_EMAIL),
        END,
};

static const struct field priced_item[] = {
        REQ("sku", K_SKU),
        INT("quantity", 1, EDA_EVENT_MAX_QUANTITY),
        REQ("unit_price", K_MONEY),
        END,
};

static const struct field item[] = {
        REQ("sku", K_SKU),
        INT("quantity", 1, EDA_EVENT_MAX_QUANTITY),
        END,
};

static const struct field shortage[] = {
        REQ("sku", K_SKU),
        INT("requested", 1, EDA_EVENT_MAX_STOCK),
        INT("available", 0, EDA_EVENT_MAX_STOCK),
        END,
};

/* What InventoryReservationFailed says about a line whose price in the order
 * is not the catalogue's at reservation time (reason price_changed). */
static const struct field price_mismatch[] = {
        REQ("sku", K_SKU),
        REQ("quoted", K_MONEY),
        REQ("price", K_MONEY),
        END,
};

static const char *const failure_reasons[] = {"insufficient_stock", "unknown_sku", "price_changed",
                                              "invalid", NULL};
static const char *const stock_causes[] = {"reservation", "release", "restock", "set", NULL};

static const struct field order_placed[] = {
        REQ("order_id", K_UUID), OBJECT("customer", customer), ARRAY("items", 1, priced_item),
        REQ("total", K_MONEY),   REQ("currency", K_CURRENCY),  END,
};

/* OrderConfirmed, OrderCancelled, OrderPaid; OrderRejected requires the reason. */
static const struct field order_status[] = {
        REQ("order_id", K_UUID),
        OBJECT("customer", customer),
        REQ("total", K_MONEY),
        REQ("currency", K_CURRENCY),
        TEXT("reason", false, 1, EDA_EVENT_MAX_REASON),
        END,
};

static const struct field order_rejected[] = {
        REQ("order_id", K_UUID),
        OBJECT("customer", customer),
        REQ("total", K_MONEY),
        REQ("currency", K_CURRENCY),
        TEXT("reason", true, 1, EDA_EVENT_MAX_REASON),
        END,
};

static const struct field inventory_items[] = {
        REQ("order_id", K_UUID),
        ARRAY("items", 1, item),
        END,
};

static const struct field reservation_failed[] = {
        REQ("order_id", K_UUID),
        ENUM("reason", failure_reasons),
        ARRAY("details", 0, shortage),
        END,
};

/* Same as reservation_failed, with price details: chosen by the reason. */
static const struct field reservation_failed_price[] = {
        REQ("order_id", K_UUID),
        ENUM("reason", failure_reasons),
        ARRAY("details", 1, price_mismatch),
        END,
};

static const struct field product_changed[] = {
        REQ("sku", K_SKU),
        TEXT("name", true, 1, EDA_EVENT_MAX_NAME),
        REQ("price", K_MONEY),
        REQ("currency", K_CURRENCY),
        INT("version", 1, EDA_EVENT_MAX_VERSION),
        END,
};

static const struct field inventory_updated[] = {
        REQ("sku", K_SKU),
        INT("stock", 0, EDA_EVENT_MAX_STOCK),
        INT("delta", -EDA_EVENT_MAX_STOCK, EDA_EVENT_MAX_STOCK),
        ENUM("cause", stock_causes),
        END,
};

/* The payment_id is the provider's own ("pi_3NxYz..."), not ours to shape. */
#define PAYMENT_ID                                                                                 \
	{                                                                                          \
		.name = "payment_id", .kind = K_OPAQUE, .required = true, .min = 1, .max = 128     \
	}

static const struct field payment_processed[] = {
        REQ("order_id", K_UUID),     PAYMENT_ID, REQ("amount", K_MONEY),
        REQ("currency", K_CURRENCY), END,
};

static const struct field payment_failed[] = {
        REQ("order_id", K_UUID),
        PAYMENT_ID,
        REQ("amount", K_MONEY),
        REQ("currency", K_CURRENCY),
        TEXT("reason", false, 1, EDA_EVENT_MAX_REASON),
        END,
};

static const struct event_type {
	const char *name;
	const struct field *data;
	const char *subject; /* the data member the subject repeats */
	/* Written by a system outside this project (the payment service): a
	 * missing dataschema means version 1 of the type. Ours always carry it. */
	bool outside;
} event_types[] = {
        {EDA_EVENT_ORDER_PLACED, order_placed, "order_id", false},
        {EDA_EVENT_ORDER_CONFIRMED, order_status, "order_id", false},
        {EDA_EVENT_ORDER_REJECTED, order_rejected, "order_id", false},
        {EDA_EVENT_ORDER_CANCELLED, order_status, "order_id", false},
        {EDA_EVENT_ORDER_PAID, order_status, "order_id", false},
        {EDA_EVENT_INVENTORY_RESERVED, inventory_items, "order_id", false},
        {EDA_EVENT_INVENTORY_RESERVATION_FAILED, reservation_failed, "order_id", false},
        {EDA_EVENT_INVENTORY_RELEASED, inventory_items, "order_id", false},
        {EDA_EVENT_INVENTORY_UPDATED, inventory_updated, "sku", false},
        {EDA_EVENT_PRODUCT_CHANGED, product_changed, "sku", false},
        {EDA_EVENT_PAYMENT_PROCESSED, payment_processed, "order_id", true},
        {EDA_EVENT_PAYMENT_FAILED, payment_failed, "order_id", true},
};

static const struct event_type *find_type(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(event_types) / sizeof(event_types[0]); i++) {
		if (strcmp(event_types[i].name, name) == 0)
			return &event_types[i];
	}
	return NULL;
}

int eda_event_type_is_known(const char *type)
{
	return find_type(type) != NULL;
}

static int check_object(const json_t *obj, const struct field *fields, const char *path, char *err,
                        size_t errsz);

static int check_value(const json_t *v, const struct field *f, const char *path, char *err,
                       size_t errsz)
{
	const char *s = json_string_value(v);
	long long n;
	int64_t cents;
	int rc;

	switch (f->kind) {
	case K_UUID:
		if (s == NULL || !is_uuid(s))
			goto bad;
		return 0;
	case K_TEXT:
		if (s == NULL || utf8_chars(s) < (size_t)f->min || utf8_chars(s) > (size_t)f->max)
			return fail(EDA_EVENT_BAD_DATA, err, errsz,
			            "%s: must be a string of %lld to %lld characters", path, f->min,
			            f->max);
		return 0;
	case K_EMAIL:
		if (s == NULL || !is_email(s))
			goto bad;
		return 0;
	case K_SKU:
		if (s == NULL || !is_sku(s))
			goto bad;
		return 0;
	case K_MONEY:
		if (s == NULL)
			goto bad;
		rc = eda_money_parse_canonical(s, &cents);
		if (rc != 0)
			return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: %s", path,
			            rc == EDA_MONEY_BAD_SYNTAX
			                    ? "not a decimal string like \"49.99\""
			                    : eda_money_strerror(rc));
		return 0;
	case K_CURRENCY:
		if (s == NULL || strlen(s) != 3 || !all_of(s, 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			goto bad;
		return 0;
	case K_OPAQUE:
		if (s == NULL || strlen(s) < (size_t)f->min || strlen(s) > (size_t)f->max ||
		    !all_in_range(s, 0x20, 0x7e))
			return fail(EDA_EVENT_BAD_DATA, err, errsz,
			            "%s: must be %lld to %lld printable ASCII characters", path,
			            f->min, f->max);
		return 0;
	case K_INT:
		if (!integral(v, &n) || n < f->min || n > f->max)
			return fail(EDA_EVENT_BAD_DATA, err, errsz,
			            "%s: must be an integer from %lld to %lld", path, f->min,
			            f->max);
		return 0;
	case K_ENUM:
		for (size_t i = 0; s != NULL && f->values[i] != NULL; i++) {
			if (strcmp(s, f->values[i]) == 0)
				return 0;
		}
		goto bad;
	case K_OBJECT:
		return check_object(v, f->members, path, err, errsz);
	case K_ARRAY:
		if (!json_is_array(v) || json_array_size(v) < (size_t)f->min ||
		    json_array_size(v) > (size_t)f->max)
			return fail(EDA_EVENT_BAD_DATA, err, errsz,
			            "%s: must be an array of %lld to %lld entries", path, f->min,
			            f->max);
		for (size_t i = 0; i < json_array_size(v); i++) {
			char sub[PATH_MAX_LEN];

			if (snprintf(sub, sizeof(sub), "%s[%zu]", path, i) >= (int)sizeof(sub))
				return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: too deep", path);
			rc = check_object(json_array_get(v, i), f->members, sub, err, errsz);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
bad:
	return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: not a valid %s", path,
	            f->kind == K_UUID       ? "lower-case UUID"
	            : f->kind == K_EMAIL    ? "e-mail address"
	            : f->kind == K_SKU      ? "SKU"
	            : f->kind == K_MONEY    ? "decimal string like \"49.99\""
	            : f->kind == K_CURRENCY ? "currency (3 upper-case letters)"
	                                    : "value of its enumeration");
}

/* Members are checked in the contract's order, then unknown ones refused: the
 * data objects are closed (additionalProperties: false in the schemas). */
static int check_object(const json_t *obj, const struct field *fields, const char *path, char *err,
                        size_t errsz)
{
	const char *key;
	const json_t *v;
	char sub[PATH_MAX_LEN], tmp[48];
	int rc;

	if (!json_is_object(obj))
		return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: must be an object", path);
	for (const struct field *f = fields; f->name != NULL; f++) {
		if (snprintf(sub, sizeof(sub), "%s.%s", path, f->name) >= (int)sizeof(sub))
			return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: too deep", path);
		v = json_object_get(obj, f->name);
		if (v == NULL) {
			if (f->required)
				return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: required", sub);
			continue;
		}
		rc = check_value(v, f, sub, err, errsz);
		if (rc != 0)
			return rc;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		const struct field *f = fields;

		while (f->name != NULL && strcmp(f->name, key) != 0)
			f++;
		if (f->name == NULL)
			return fail(EDA_EVENT_BAD_DATA, err, errsz, "%s.%s: unknown member", path,
			            printable(key, tmp));
	}
	return 0;
}

/* The dataschema attribute against the type's one version. Missing is version
 * 1 for an event from outside; a version we do not know is named as such. */
static int check_dataschema(const eda_event_t *ev, const struct event_type *t, char *err,
                            size_t errsz)
{
	char schema[EDA_EVENT_MAX_ATTR_LEN + 32], tmp[48];
	size_t base;

	snprintf(schema, sizeof(schema), URN_PREFIX "%s" URN_SUFFIX, t->name);
	if (ev->dataschema == NULL)
		return t->outside ? 0
		                  : fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		                         "dataschema: required, \"%s\"", schema);
	if (strcmp(ev->dataschema, schema) == 0)
		return 0;
	base = strlen(schema) - strlen(URN_SUFFIX) + 1; /* past "urn:eda:schema:<Type>:" */
	if (strncmp(ev->dataschema, schema, base) == 0 && ev->dataschema[base] != '\0' &&
	    strspn(ev->dataschema + base, DIGITS) == strlen(ev->dataschema + base))
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		            "dataschema: unknown version %s of %s (this build reads \"%s\")",
		            printable(ev->dataschema + base, tmp), t->name, schema);
	return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "dataschema: must be \"%s\"", schema);
}

int eda_event_validate_data(const eda_event_t *ev, char *err, size_t errsz)
{
	const struct event_type *t;
	const struct field *fields;
	const char *subject;
	char tmp[48];
	int rc;

	if (ev == NULL || ev->type == NULL)
		return fail(EDA_EVENT_INVALID_ARG, err, errsz, "no event or no type");
	t = find_type(ev->type);
	if (t == NULL)
		return fail(EDA_EVENT_UNKNOWN_TYPE, err, errsz, "unknown event type \"%s\"",
		            printable(ev->type, tmp));
	rc = check_dataschema(ev, t, err, errsz);
	if (rc != 0)
		return rc;
	if (ev->data == NULL)
		return fail(EDA_EVENT_BAD_DATA, err, errsz, "data: required");
	fields = t->data;
	/* The details of a price_changed failure quote prices, not stock. */
	if (fields == reservation_failed && json_is_string(json_object_get(ev->data, "reason")) &&
	    strcmp(json_string_value(json_object_get(ev->data, "reason")), "price_changed") == 0)
		fields = reservation_failed_price;
	rc = check_object(ev->data, fields, "data", err, errsz);
	if (rc != 0)
		return rc;
	subject = json_string_value(json_object_get(ev->data, t->subject));
	if (ev->subject == NULL || strcmp(ev->subject, subject) != 0)
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "subject: must equal data.%s",
		            t->subject);
	return 0;
}

/* ---- the envelope ------------------------------------------------------- */

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

	return n >= 1 && n <= 20 && all_of(name, n, "abcdefghijklmnopqrstuvwxyz0123456789");
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
			return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
			            "data_base64: binary data is not supported");
		if (!attr_name_ok(key))
			return fail(
			        EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
			        "attribute \"%s\": names are 1 to 20 lower-case letters or digits",
			        printable(key, tmp));
		a = find_attr(key);
		if (a == NULL) {
			if (!json_is_string(v) && !json_is_boolean(v) && !integral(v, &n))
				return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
				            "%s: an extension attribute must be a string, an "
				            "integer or a boolean",
				            key);
			continue;
		}
		s = json_string_value(v);
		if (s == NULL || *s == '\0' || utf8_chars(s) > EDA_EVENT_MAX_ATTR_LEN)
			return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
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
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "%s: required",
		            ev->id == NULL       ? "id"
		            : ev->source == NULL ? "source"
		                                 : "type");
	if (ev->time != NULL && !is_rfc3339(ev->time))
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		            "time: must be an RFC 3339 timestamp like 2026-11-23T10:30:00.123Z");
	if (ct != NULL && strcmp(ct, EDA_EVENT_DATA_CONTENT_TYPE) != 0)
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		            "datacontenttype: must be " EDA_EVENT_DATA_CONTENT_TYPE);
	if (ev->traceparent != NULL && !eda_traceparent_valid(ev->traceparent))
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		            "traceparent: not a W3C version-00 traceparent");
	if (find_type(ev->type) == NULL)
		return 0;
	/* dataschema is checked with the data (eda_event_validate_data): an
	 * event from outside may leave it out. */
	if (ev->subject == NULL || ev->time == NULL)
		return fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "%s: required for %s",
		            ev->subject == NULL ? "subject" : "time", ev->type);
	if (!json_is_object(data))
		return fail(EDA_EVENT_BAD_DATA, err, errsz, "data: %s for %s",
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
		return fail(EDA_EVENT_INVALID_ARG, err, errsz,
		            "no buffer or no place for the event");
	*out = NULL;
	if (len > EDA_EVENT_MAX_SIZE)
		return fail(EDA_EVENT_TOO_BIG, err, errsz,
		            "event of %zu bytes is over the %d limit", len, EDA_EVENT_MAX_SIZE);
	/* Duplicate keys are refused: two readers could otherwise take different
	 * values from one message. NUL in strings stays refused (no JSON_ALLOW_NUL)
	 * because the attributes become C strings. */
	root = json_loadb(len > 0 ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		rc = fail(EDA_EVENT_BAD_JSON, err, errsz, "invalid JSON: %s (line %d, column %d)",
		          jerr.text, jerr.line, jerr.column);
		sanitize(err != NULL && errsz > 0 ? err : NULL);
		return rc;
	}
	if (!json_is_object(root)) {
		rc = fail(EDA_EVENT_NOT_OBJECT, err, errsz, "an event must be a JSON object");
		goto done;
	}
	v = json_object_get(root, "specversion");
	if (!json_is_string(v) || strcmp(json_string_value(v), EDA_EVENT_SPECVERSION) != 0) {
		rc = fail(EDA_EVENT_BAD_SPECVERSION, err, errsz,
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

static char *now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return eda_xasprintf("%s.%03ldZ", buf, ts.tv_nsec / 1000000);
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
	char id[37], tp[EDA_TRACEPARENT_LEN + 1];

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
	ev->time = now_rfc3339();
	ev->dataschema = eda_xasprintf(URN_PREFIX "%s" URN_SUFFIX, type);
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

/* ---- W3C trace context -------------------------------------------------- */

static void random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r > 0) {
			got += (size_t)r;
		} else if (r < 0 && errno != EINTR) {
			/* No getrandom(2) (old kernel or seccomp): libuuid has its own
			 * sources, and a trace id needs no more than that. */
			uuid_t u;

			uuid_generate_random(u);
			for (size_t i = 0; i < sizeof(u) && got < n; i++)
				buf[got++] = u[i];
		}
	}
}

/* N random bytes as 2N lower-case hex digits, never all zero (W3C forbids it). */
static void random_hex(char *out, size_t n)
{
	unsigned char b[16];
	bool zero;

	do {
		random_bytes(b, n);
		zero = true;
		for (size_t i = 0; i < n; i++)
			zero = zero && b[i] == 0;
	} while (zero);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = LOWER_HEX[b[i] >> 4];
		out[2 * i + 1] = LOWER_HEX[b[i] & 15];
	}
}

int eda_traceparent_valid(const char *s)
{
	return s != NULL && strlen(s) == EDA_TRACEPARENT_LEN && strncmp(s, "00-", 3) == 0 &&
	       all_of(s + 3, 32, LOWER_HEX) && s[35] == '-' && all_of(s + 36, 16, LOWER_HEX) &&
	       s[52] == '-' && all_of(s + 53, 2, LOWER_HEX) && strspn(s + 3, "0") < 32 &&
	       strspn(s + 36, "0") < 16;
}

void eda_traceparent_new(char out[static EDA_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	random_hex(out + 3, 16);
	out[35] = '-';
	random_hex(out + 36, 8);
	memcpy(out + 52, "-01", 4);
}

int eda_traceparent_child(const char *parent, char out[static EDA_TRACEPARENT_LEN + 1])
{
	if (!eda_traceparent_valid(parent)) {
		eda_traceparent_new(out);
		return EDA_EVENT_BAD_ATTRIBUTE;
	}
	memcpy(out, parent, EDA_TRACEPARENT_LEN + 1);
	random_hex(out + 36, 8);
	return 0;
}
