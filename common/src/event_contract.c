/*
 * The per-type contract of DESIGN.md for an event's `data`: a table of fields
 * per type and the validator that walks it. The contract is also written as
 * JSON Schema in common/schemas/, and the checks below mirror those schemas
 * rule for rule (test_event_schemas.c runs the same bad events through both);
 * see eda/event.h for the decisions behind them. The identifier shapes (SKU,
 * UUID, e-mail) are eda/validate.h's, which the HTTP layers use too. The
 * envelope around `data` is event_envelope.c's.
 */
#include "eda/event.h"

#include "eda/money.h"
#include "eda/validate.h"
#include "event_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest "data.items[99].unit_price"-style path in an error message; the
 * contract nests three levels, so this is never reached. */
#define PATH_MAX_LEN 128

int eda_event__fail(int code, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *eda_event__printable(const char *s, char buf[static 48])
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

size_t eda_event__utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool all_in_range(const char *s, unsigned char lo, unsigned char hi)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < lo || (unsigned char)*s > hi)
			return false;
	}
	return true;
}

bool eda_event__integral(const json_t *v, long long *out)
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
#define TEXT(n, req, lo, hi) {.name = (n), .kind = K_TEXT, .required = (req), .min = (lo), .max = (hi)}
#define INT(n, lo, hi)       {.name = (n), .kind = K_INT, .required = true, .min = (lo), .max = (hi)}
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

/* An array of F->min..F->max objects, each checked against F->members. */
static int check_array(const json_t *v, const struct field *f, const char *path, char *err,
                       size_t errsz)
{
	if (!json_is_array(v) || json_array_size(v) < (size_t)f->min ||
	    json_array_size(v) > (size_t)f->max)
		return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz,
		                       "%s: must be an array of %lld to %lld entries", path, f->min,
		                       f->max);
	for (size_t i = 0; i < json_array_size(v); i++) {
		char sub[PATH_MAX_LEN];
		int rc;

		if (snprintf(sub, sizeof(sub), "%s[%zu]", path, i) >= (int)sizeof(sub))
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: too deep",
			                       path);
		rc = check_object(json_array_get(v, i), f->members, sub, err, errsz);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int check_value(const json_t *v, const struct field *f, const char *path, char *err,
                       size_t errsz)
{
	const char *s = json_string_value(v);
	long long n;
	int64_t cents;
	int rc;

	switch (f->kind) {
	case K_UUID:
		if (s == NULL || !eda_uuid_valid(s))
			goto bad;
		return 0;
	case K_TEXT:
		if (s == NULL || eda_event__utf8_chars(s) < (size_t)f->min ||
		    eda_event__utf8_chars(s) > (size_t)f->max)
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz,
			                       "%s: must be a string of %lld to %lld characters",
			                       path, f->min, f->max);
		return 0;
	case K_EMAIL:
		if (s == NULL || !eda_email_valid(s))
			goto bad;
		return 0;
	case K_SKU:
		if (s == NULL || !eda_sku_valid(s))
			goto bad;
		return 0;
	case K_MONEY:
		if (s == NULL)
			goto bad;
		rc = eda_money_parse_canonical(s, &cents);
		if (rc != 0)
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: %s", path,
			                       rc == EDA_MONEY_BAD_SYNTAX
			                               ? "not a decimal string like \"49.99\""
			                               : eda_money_strerror(rc));
		return 0;
	case K_CURRENCY:
		if (s == NULL || strlen(s) != 3 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
			goto bad;
		return 0;
	case K_OPAQUE:
		if (s == NULL || strlen(s) < (size_t)f->min || strlen(s) > (size_t)f->max ||
		    !all_in_range(s, 0x20, 0x7e))
			return eda_event__fail(
			        EDA_EVENT_BAD_DATA, err, errsz,
			        "%s: must be %lld to %lld printable ASCII characters", path, f->min,
			        f->max);
		return 0;
	case K_INT:
		if (!eda_event__integral(v, &n) || n < f->min || n > f->max)
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz,
			                       "%s: must be an integer from %lld to %lld", path,
			                       f->min, f->max);
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
		return check_array(v, f, path, err, errsz);
	}
bad:
	return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: not a valid %s", path,
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
		return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: must be an object",
		                       path);
	for (const struct field *f = fields; f->name != NULL; f++) {
		if (snprintf(sub, sizeof(sub), "%s.%s", path, f->name) >= (int)sizeof(sub))
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "%s: too deep",
			                       path);
		v = json_object_get(obj, f->name);
		if (v == NULL) {
			if (f->required)
				return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz,
				                       "%s: required", sub);
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
			return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz,
			                       "%s.%s: unknown member", path,
			                       eda_event__printable(key, tmp));
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

	snprintf(schema, sizeof(schema), EDA_EVENT__URN_PREFIX "%s" EDA_EVENT__URN_SUFFIX, t->name);
	if (ev->dataschema == NULL)
		return t->outside ? 0
		                  : eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		                                    "dataschema: required, \"%s\"", schema);
	if (strcmp(ev->dataschema, schema) == 0)
		return 0;
	base = strlen(schema) - strlen(EDA_EVENT__URN_SUFFIX) +
	       1; /* past "urn:eda:schema:<Type>:" */
	if (strncmp(ev->dataschema, schema, base) == 0 && ev->dataschema[base] != '\0' &&
	    strspn(ev->dataschema + base, "0123456789") == strlen(ev->dataschema + base))
		return eda_event__fail(
		        EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		        "dataschema: unknown version %s of %s (this build reads \"%s\")",
		        eda_event__printable(ev->dataschema + base, tmp), t->name, schema);
	return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz, "dataschema: must be \"%s\"",
	                       schema);
}

int eda_event_validate_data(const eda_event_t *ev, char *err, size_t errsz)
{
	const struct event_type *t;
	const struct field *fields;
	const char *subject;
	char tmp[48];
	int rc;

	if (ev == NULL || ev->type == NULL)
		return eda_event__fail(EDA_EVENT_INVALID_ARG, err, errsz, "no event or no type");
	t = find_type(ev->type);
	if (t == NULL)
		return eda_event__fail(EDA_EVENT_UNKNOWN_TYPE, err, errsz,
		                       "unknown event type \"%s\"",
		                       eda_event__printable(ev->type, tmp));
	rc = check_dataschema(ev, t, err, errsz);
	if (rc != 0)
		return rc;
	if (ev->data == NULL)
		return eda_event__fail(EDA_EVENT_BAD_DATA, err, errsz, "data: required");
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
		return eda_event__fail(EDA_EVENT_BAD_ATTRIBUTE, err, errsz,
		                       "subject: must equal data.%s", t->subject);
	return 0;
}
