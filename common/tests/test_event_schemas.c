/*
 * Holds the JSON Schemas in common/schemas/ and the C contract checks of
 * common/src/event_contract.c to one standard: one sample event per type, built with
 * eda_event_new() and eda_event_serialize(), must pass both a real JSON Schema
 * validator (common/tests/validate_events.py, python3-jsonschema) and
 * eda_event_parse() + eda_event_validate_data(); every variant in the tables
 * below must get the same verdict from both. The validator runs once per table
 * on files in a temporary directory.
 *
 * Paths are relative to the repository root: the current directory, or
 * EDA_SOURCE_DIR when set.
 */
#include "eda/event.h"

#include "support/check_main.h"
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ORDER    "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
#define PAYMENT  "7d444840-9dc0-41d2-8e8a-0016d3cca427"
#define CUSTOMER "\"customer\":{\"id\":\"c-1\",\"email\":\"ada@example.com\"}"
/* For the e-mail length edges: a local part of 64, domain labels of 62 and 63. */
#define LOCAL64 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
#define LABEL62 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define LABEL63 LABEL62 "d"

/* One event of each type, as its producer would send it. */
static const struct sample {
	const char *type, *subject, *data;
} samples[] = {
        {"OrderPlaced", ORDER,
         "{\"order_id\":\"" ORDER "\"," CUSTOMER ",\"items\":["
         "{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price\":\"49.99\"},"
         "{\"sku\":\"book.978-3\",\"quantity\":1,\"unit_price\":\"5.00\"}],"
         "\"total\":\"104.98\",\"currency\":\"EUR\"}"},
        {"OrderConfirmed", ORDER,
         "{\"order_id\":\"" ORDER "\"," CUSTOMER ",\"total\":\"104.98\",\"currency\":\"EUR\"}"},
        {"OrderRejected", ORDER,
         "{\"order_id\":\"" ORDER "\"," CUSTOMER ",\"total\":\"104.98\",\"currency\":\"EUR\","
         "\"reason\":\"insufficient_stock\"}"},
        {"OrderCancelled", ORDER,
         "{\"order_id\":\"" ORDER "\"," CUSTOMER ",\"total\":\"104.98\",\"currency\":\"EUR\","
         "\"reason\":\"cancelled by the customer\"}"},
        {"OrderPaid", ORDER,
         "{\"order_id\":\"" ORDER "\"," CUSTOMER ",\"total\":\"104.98\",\"currency\":\"EUR\"}"},
        {"InventoryReserved", ORDER,
         "{\"order_id\":\"" ORDER "\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}"},
        {"InventoryReservationFailed", ORDER,
         "{\"order_id\":\"" ORDER "\",\"reason\":\"insufficient_stock\",\"details\":["
         "{\"sku\":\"SKU-1\",\"requested\":2,\"available\":1}]}"},
        {"InventoryReleased", ORDER,
         "{\"order_id\":\"" ORDER "\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}"},
        {"InventoryUpdated", "SKU-1",
         "{\"sku\":\"SKU-1\",\"stock\":8,\"delta\":-2,\"cause\":\"reservation\"}"},
        {"ProductChanged", "SKU-1",
         "{\"sku\":\"SKU-1\",\"name\":\"Espresso cup\",\"price\":\"25.00\","
         "\"currency\":\"EUR\",\"version\":3}"},
        {"PaymentProcessed", ORDER,
         "{\"order_id\":\"" ORDER "\",\"payment_id\":\"" PAYMENT "\",\"amount\":\"104.98\","
         "\"currency\":\"EUR\"}"},
        {"PaymentFailed", ORDER,
         "{\"order_id\":\"" ORDER "\",\"payment_id\":\"" PAYMENT "\",\"amount\":\"104.98\","
         "\"currency\":\"EUR\",\"reason\":\"card declined\"}"},
};

#define NSAMPLES ((int)(sizeof(samples) / sizeof(samples[0])))

/*
 * A variant of a type's sample: up to three edits of the parsed JSON (PATH is
 * dotted, numbers index arrays; VALUE is JSON text, NULL deletes, "@items:N"
 * makes N item lines, "@chars:N" a string of N characters), or one byte-level
 * substitution FIND -> REPLACE in the serialized text, for what no JSON value
 * can express.
 */
struct edit {
	const char *path, *value;
};

/* clang-format off */
#define V(n, t, ...)        {.name = (n), .type = (t), .e = {__VA_ARGS__}}
#define RAW(n, t, from, to) {.name = (n), .type = (t), .find = (from), .replace = (to)}
/* clang-format on */

static const struct variant {
	const char *name, *type;
	struct edit e[3];
	const char *find, *replace;
} valid_variants[] = {
        V("quantity 2.0 is an integer", "OrderPlaced", {"data.items.0.quantity", "2.0"}),
        V("no optional attributes", "OrderPlaced", {"correlationid", NULL}, {"traceparent", NULL},
          {"datacontenttype", NULL}),
        V("extension attributes", "OrderPlaced", {"partitionkey", "\"k\""}, {"retries", "3"},
          {"replayed", "true"}),
        V("causationid", "OrderConfirmed", {"causationid", "\"" PAYMENT "\""}),
        V("id need not be a UUID", "OrderPaid", {"id", "\"evt-1\""}),
        V("time with offset", "OrderPlaced", {"time", "\"2026-11-23T11:30:00+01:00\""}),
        V("time on a leap day, ns", "OrderPlaced", {"time", "\"2028-02-29T10:30:00.123456789Z\""}),
        V("email with plus and subdomains", "OrderPlaced",
          {"data.customer.email", "\"first.last+tag@mail.example.co.uk\""}),
        V("email with every atext character", "OrderPlaced",
          {"data.customer.email", "\"!#$%&'*+-/=?^_`{|}~@x.io\""}),
        V("email local part of 64", "OrderPlaced", {"data.customer.email", "\"" LOCAL64 "@x.io\""}),
        V("email domain label of 63", "OrderPlaced",
          {"data.customer.email", "\"a@" LABEL63 ".com\""}),
        V("email of 254 characters", "OrderPlaced",
          {"data.customer.email", "\"ab@" LABEL62 "." LABEL62 "." LABEL62 "." LABEL62 "\""}),
        V("customer id in Unicode", "OrderPlaced",
          {"data.customer.id", "\"m\\u00fcller-\\u00e9\""}),
        V("free items", "OrderPlaced", {"data.total", "\"0.00\""},
          {"data.items.0.unit_price", "\"0.00\""}),
        V("largest total", "OrderPlaced", {"data.total", "\"99999999999.99\""}),
        V("100 lines", "OrderPlaced", {"data.items", "@items:100"}),
        V("cancelled without reason", "OrderCancelled", {"data.reason", NULL}),
        V("confirmed with reason", "OrderConfirmed", {"data.reason", "\"r\""}),
        V("no details", "InventoryReservationFailed", {"data.details", "[]"}),
        V("unknown sku", "InventoryReservationFailed", {"data.reason", "\"unknown_sku\""},
          {"data.details.0.available", "0"}),
        V("stock set to zero", "InventoryUpdated", {"data.stock", "0"},
          {"data.delta", "-1000000000"}, {"data.cause", "\"set\""}),
        V("payment failed without reason", "PaymentFailed", {"data.reason", NULL}),
        V("provider's payment id", "PaymentProcessed", {"data.payment_id", "\"pi_3NxYz9KdLq\""}),
        V("payment id of 128 characters", "PaymentFailed", {"data.payment_id", "@chars:128"}),
        V("payment without dataschema", "PaymentProcessed", {"dataschema", NULL}),
        V("failed payment without dataschema", "PaymentFailed", {"dataschema", NULL}),
        V("price changed", "InventoryReservationFailed", {"data.reason", "\"price_changed\""},
          {"data.details", "[{\"sku\":\"SKU-1\",\"quoted\":\"20.00\",\"price\":\"25.00\"}]"}),
        V("product free", "ProductChanged", {"data.price", "\"0.00\""}),
        V("product name of 200 characters", "ProductChanged", {"data.name", "@chars:200"}),
        V("correlationid of 256 characters", "OrderPaid", {"correlationid", "@chars:256"}),
        V("reserved 100 lines", "InventoryReserved", {"data.items", "@items:100"}),
};

/* Each must be refused by both validators. */
static const struct variant invalid_variants[] = {
        /* the cases DESIGN.md names */
        V("float price", "OrderPlaced", {"data.items.0.unit_price", "49.99"}),
        V("no customer email", "OrderPlaced", {"data.customer.email", NULL}),
        V("quantity 0", "OrderPlaced", {"data.items.0.quantity", "0"}),
        V("specversion 0.3", "OrderPlaced", {"specversion", "\"0.3\""}),
        V("unknown member in data", "OrderPlaced", {"data.coupon", "\"SAVE10\""}),
        /* money */
        V("one decimal", "OrderPlaced", {"data.total", "\"104.9\""}),
        V("no decimals", "OrderPlaced", {"data.total", "\"104\""}),
        V("three decimals", "OrderPlaced", {"data.total", "\"104.980\""}),
        V("leading zero", "OrderPlaced", {"data.total", "\"0104.98\""}),
        V("exponent", "OrderPlaced", {"data.total", "\"1e2\""}),
        V("negative", "OrderPlaced", {"data.total", "\"-1.00\""}),
        V("too large", "OrderPlaced", {"data.total", "\"100000000000.00\""}),
        V("money as number", "OrderPaid", {"data.total", "12.5"}),
        V("payment amount missing", "PaymentProcessed", {"data.amount", NULL}),
        V("currency lower case", "OrderPlaced", {"data.currency", "\"eur\""}),
        V("currency too long", "PaymentFailed", {"data.currency", "\"EURO\""}),
        /* ids */
        V("order id not a UUID", "OrderPlaced", {"data.order_id", "\"ABC\""}),
        V("order id upper case", "OrderPlaced",
          {"data.order_id", "\"1B4E28BA-2FA1-41D2-883F-0016D3CCA427\""}),
        V("empty payment id", "PaymentProcessed", {"data.payment_id", "\"\""}),
        V("payment id of 129 characters", "PaymentProcessed", {"data.payment_id", "@chars:129"}),
        V("payment id with a newline", "PaymentFailed", {"data.payment_id", "\"pi_1\\n\""}),
        V("payment id not ASCII", "PaymentProcessed", {"data.payment_id", "\"pi_\\u00e9\""}),
        V("payment id as number", "PaymentProcessed", {"data.payment_id", "42"}),
        V("payment dataschema version 2", "PaymentProcessed",
          {"dataschema", "\"urn:eda:schema:PaymentProcessed:2\""}),
        V("price changed with stock details", "InventoryReservationFailed",
          {"data.reason", "\"price_changed\""}),
        V("price changed without details", "InventoryReservationFailed",
          {"data.reason", "\"price_changed\""}, {"data.details", "[]"}),
        V("stock details with prices", "InventoryReservationFailed",
          {"data.details", "[{\"sku\":\"SKU-1\",\"quoted\":\"20.00\",\"price\":\"25.00\"}]"}),
        V("product version 0", "ProductChanged", {"data.version", "0"}),
        V("product without currency", "ProductChanged", {"data.currency", NULL}),
        V("product with empty name", "ProductChanged", {"data.name", "\"\""}),
        V("product price as number", "ProductChanged", {"data.price", "25"}),
        V("product with stock", "ProductChanged", {"data.stock", "3"}),
        V("product without dataschema", "ProductChanged", {"dataschema", NULL}),
        V("subject not a UUID", "OrderPlaced", {"subject", "\"order-1\""}),
        V("subject with a newline", "OrderPaid", {"subject", "\"" ORDER "\\n\""}),
        /* customer */
        V("email without @", "OrderPlaced", {"data.customer.email", "\"ada.example.com\""}),
        V("email with a space", "OrderPlaced", {"data.customer.email", "\"a da@example.com\""}),
        V("email without a dot", "OrderPlaced", {"data.customer.email", "\"ada@localhost\""}),
        V("email with two @", "OrderPlaced", {"data.customer.email", "\"a@b@example.com\""}),
        V("email in Unicode", "OrderPlaced", {"data.customer.email", "\"\\u00e9@example.com\""}),
        /* e-mail: the mail-safe rule notification-service needs to write the
         * address into a To: header (common/src/validate.c, eda_email_valid) */
        V("email with a doubled dot", "OrderPlaced",
          {"data.customer.email", "\"a..b@example.com\""}),
        V("email with a leading dot", "OrderPlaced",
          {"data.customer.email", "\".ab@example.com\""}),
        V("email with a trailing dot", "OrderPlaced",
          {"data.customer.email", "\"ab.@example.com\""}),
        V("email domain ending in a dot", "OrderPlaced", {"data.customer.email", "\"x@a.b.\""}),
        V("email domain with an empty label", "OrderPlaced",
          {"data.customer.email", "\"x@example..com\""}),
        V("email domain label starting with -", "OrderPlaced",
          {"data.customer.email", "\"x@-a.com\""}),
        V("email domain label ending with -", "OrderPlaced",
          {"data.customer.email", "\"x@a-.com\""}),
        V("email domain with _", "OrderPlaced", {"data.customer.email", "\"x@a_b.com\""}),
        V("email domain an IP literal", "OrderPlaced",
          {"data.customer.email", "\"x@[127.0.0.1]\""}),
        V("email domain label of 64", "OrderPlaced",
          {"data.customer.email", "\"a@d" LABEL63 ".com\""}),
        V("email local part of 65", "OrderPlaced",
          {"data.customer.email", "\"l" LOCAL64 "@x.io\""}),
        V("email of 255 characters", "OrderPlaced",
          {"data.customer.email", "\"abc@" LABEL62 "." LABEL62 "." LABEL62 "." LABEL62 "\""}),
        V("email with a comma", "OrderConfirmed", {"data.customer.email", "\"a,b@example.com\""}),
        V("email with angle brackets", "OrderConfirmed",
          {"data.customer.email", "\"a<b>@example.com\""}),
        V("email quoted", "OrderCancelled", {"data.customer.email", "\"\\\"q\\\"@example.com\""}),
        V("email with a semicolon", "OrderRejected",
          {"data.customer.email", "\"a;b@example.com\""}),
        V("empty customer id", "OrderPlaced", {"data.customer.id", "\"\""}),
        V("customer as a string", "OrderCancelled", {"data.customer", "\"c-1\""}),
        V("customer with a name", "OrderConfirmed", {"data.customer.name", "\"Ada\""}),
        /* items and quantities */
        V("no items", "OrderPlaced", {"data.items", "[]"}),
        V("101 items", "OrderPlaced", {"data.items", "@items:101"}),
        V("item with an extra member", "OrderPlaced", {"data.items.0.discount", "\"1.00\""}),
        V("quantity 1.5", "OrderPlaced", {"data.items.0.quantity", "1.5"}),
        V("quantity as string", "OrderPlaced", {"data.items.0.quantity", "\"2\""}),
        V("quantity too big", "OrderPlaced", {"data.items.0.quantity", "1000001"}),
        V("quantity true", "InventoryReserved", {"data.items.0.quantity", "true"}),
        V("negative quantity", "InventoryReserved", {"data.items.0.quantity", "-1"}),
        V("empty sku", "OrderPlaced", {"data.items.0.sku", "\"\""}),
        V("sku starting with a dash", "OrderPlaced", {"data.items.0.sku", "\"-SKU\""}),
        V("sku with a space", "InventoryReleased", {"data.items.0.sku", "\"SKU 1\""}),
        V("reserved item with a price", "InventoryReserved",
          {"data.items.0.unit_price", "\"1.00\""}),
        V("released without items", "InventoryReleased", {"data.items", NULL}),
        V("confirmed with items", "OrderConfirmed", {"data.items", "[]"}),
        /* reasons and enums */
        V("rejected without reason", "OrderRejected", {"data.reason", NULL}),
        V("empty reason", "OrderConfirmed", {"data.reason", "\"\""}),
        V("reason as number", "PaymentFailed", {"data.reason", "5"}),
        V("unknown failure reason", "InventoryReservationFailed",
          {"data.reason", "\"out_of_stock\""}),
        V("failure without details", "InventoryReservationFailed", {"data.details", NULL}),
        V("negative available", "InventoryReservationFailed", {"data.details.0.available", "-1"}),
        V("requested 0", "InventoryReservationFailed", {"data.details.0.requested", "0"}),
        V("negative stock", "InventoryUpdated", {"data.stock", "-1"}),
        V("fractional delta", "InventoryUpdated", {"data.delta", "1.5"}),
        V("delta too big", "InventoryUpdated", {"data.delta", "1000000001"}),
        V("unknown stock cause", "InventoryUpdated", {"data.cause", "\"theft\""}),
        V("bad sku subject", "InventoryUpdated", {"subject", "\"bad sku!\""}),
        /* the envelope */
        V("no specversion", "OrderPaid", {"specversion", NULL}),
        V("specversion as number", "OrderPaid", {"specversion", "1.0"}),
        V("no id", "OrderPlaced", {"id", NULL}),
        V("empty id", "OrderPlaced", {"id", "\"\""}),
        V("source as number", "OrderPlaced", {"source", "42"}),
        V("no subject", "OrderPlaced", {"subject", NULL}),
        V("no time", "OrderPlaced", {"time", NULL}),
        V("time not RFC 3339", "OrderPlaced", {"time", "\"yesterday\""}),
        V("February 30", "OrderPlaced", {"time", "\"2026-02-30T10:00:00Z\""}),
        V("leap second", "OrderPlaced", {"time", "\"2026-12-31T23:59:60Z\""}),
        V("time with a newline", "OrderPlaced", {"time", "\"2026-11-23T10:30:00Z\\n\""}),
        V("no dataschema", "OrderPlaced", {"dataschema", NULL}),
        V("dataschema version 2", "OrderPlaced",
          {"dataschema", "\"urn:eda:schema:OrderPlaced:2\""}),
        V("dataschema of another type", "OrderPaid",
          {"dataschema", "\"urn:eda:schema:OrderPlaced:1\""}),
        V("datacontenttype text", "OrderPlaced", {"datacontenttype", "\"text/plain\""}),
        V("traceparent malformed", "OrderPlaced", {"traceparent", "\"00-xyz\""}),
        V("traceparent upper case", "OrderPlaced",
          {"traceparent", "\"00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01\""}),
        V("correlationid of 257 characters", "OrderPlaced", {"correlationid", "@chars:257"}),
        V("causationid empty", "OrderPlaced", {"causationid", "\"\""}),
        V("data_base64", "OrderPlaced", {"data_base64", "\"AAAA\""}),
        V("extension name upper case", "OrderPlaced", {"Partitionkey", "\"k\""}),
        V("extension name too long", "OrderPlaced", {"abcdefghijklmnopqrstu", "\"k\""}),
        V("extension value object", "OrderPlaced", {"ext", "{}"}),
        V("extension value null", "OrderPlaced", {"ext", "null"}),
        V("no data", "OrderPlaced", {"data", NULL}),
        V("data as array", "OrderPlaced", {"data", "[]"}),
        /* bytes that no JSON value edit can produce */
        RAW("duplicate key", "OrderPaid", "\"specversion\":\"1.0\",",
            "\"specversion\":\"1.0\",\"specversion\":\"1.0\","),
        RAW("NaN", "OrderPaid", "\"data\":{", "\"ext\":NaN,\"data\":{"),
        RAW("real overflow", "OrderPaid", "\"data\":{", "\"ext\":1e400,\"data\":{"),
        RAW("integer overflow", "OrderPaid", "\"data\":{",
            "\"ext\":99999999999999999999,\"data\":{"),
        RAW("escaped NUL", "OrderPaid", "\"id\":\"c-1\"", "\"id\":\"c\\u0000\""),
        RAW("lone surrogate", "OrderPaid", "\"id\":\"c-1\"", "\"id\":\"c\\ud800\""),
        RAW("invalid UTF-8", "OrderPaid", "\"id\":\"c-1\"", "\"id\":\"c\xff\""),
        RAW("trailing garbage", "OrderPaid", "\"currency\":\"EUR\"}}", "\"currency\":\"EUR\"}}x"),
};

#define N(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* ---- helpers ------------------------------------------------------------- */

static const char *source_dir(void)
{
	const char *d = getenv("EDA_SOURCE_DIR");

	return d != NULL && *d != '\0' ? d : ".";
}

static char *path_in_source(const char *rel)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", source_dir(), rel), 0);
	return p;
}

static const struct sample *sample_of(const char *type)
{
	for (int i = 0; i < NSAMPLES; i++) {
		if (strcmp(samples[i].type, type) == 0)
			return &samples[i];
	}
	ck_abort_msg("no sample for %s", type);
	return NULL;
}

static eda_event_t *build_sample(const struct sample *s)
{
	json_error_t jerr;
	json_t *data = json_loads(s->data, 0, &jerr);
	eda_event_t *ev;

	ck_assert_msg(data != NULL, "sample %s: %s", s->type, jerr.text);
	ev = eda_event_new("/test", s->type, s->subject, data, NULL, "req-1");
	ck_assert_ptr_nonnull(ev);
	return ev;
}

static json_t *item_lines(const char *type, int n)
{
	json_t *items = json_array();

	for (int i = 0; i < n; i++) {
		char sku[32];

		snprintf(sku, sizeof(sku), "SKU-%d", i);
		json_array_append_new(items,
		                      strcmp(type, "OrderPlaced") == 0
		                              ? json_pack("{s:s,s:i,s:s}", "sku", sku, "quantity",
		                                          1, "unit_price", "1.00")
		                              : json_pack("{s:s,s:i}", "sku", sku, "quantity", 1));
	}
	return items;
}

static void apply_edit(json_t *root, const char *type, const struct edit *e)
{
	char *path = strdup(e->path), *seg = path, *dot;
	json_t *parent = root, *value = NULL;

	while ((dot = strchr(seg, '.')) != NULL) {
		*dot = '\0';
		parent = json_is_array(parent) ? json_array_get(parent, strtoul(seg, NULL, 10))
		                               : json_object_get(parent, seg);
		ck_assert_msg(parent != NULL, "edit %s: no %s", e->path, seg);
		seg = dot + 1;
	}
	if (e->value != NULL && strncmp(e->value, "@items:", 7) == 0) {
		value = item_lines(type, atoi(e->value + 7));
	} else if (e->value != NULL && strncmp(e->value, "@chars:", 7) == 0) {
		size_t n = strtoul(e->value + 7, NULL, 10);
		char *s = malloc(n + 1);

		memset(s, 'x', n);
		s[n] = '\0';
		value = json_string(s);
		free(s);
	} else if (e->value != NULL) {
		value = json_loads(e->value, JSON_DECODE_ANY, NULL);
		ck_assert_msg(value != NULL, "edit %s: bad value %s", e->path, e->value);
	}
	if (json_is_array(parent)) {
		size_t i = strtoul(seg, NULL, 10);

		ck_assert_int_eq(value != NULL ? json_array_set_new(parent, i, value)
		                               : json_array_remove(parent, i),
		                 0);
	} else {
		ck_assert_int_eq(value != NULL ? json_object_set_new(parent, seg, value)
		                               : json_object_del(parent, seg),
		                 0);
	}
	free(path);
}

/* The sample of V's type with V applied, as bytes; the caller frees *OUT. */
static size_t variant_bytes(const struct variant *v, char **out)
{
	eda_event_t *ev = build_sample(sample_of(v->type));
	char *json = eda_event_serialize(ev, NULL);
	json_t *root;

	ck_assert_ptr_nonnull(json);
	eda_event_free(ev);
	if (v->find != NULL) {
		char *at = strstr(json, v->find);

		ck_assert_msg(at != NULL, "%s: \"%s\" not in %s", v->name, v->find, json);
		ck_assert_int_ge(asprintf(out, "%.*s%s%s", (int)(at - json), json, v->replace,
		                          at + strlen(v->find)),
		                 0);
		free(json);
		return strlen(*out);
	}
	root = json_loads(json, 0, NULL);
	free(json);
	for (int i = 0; i < 3 && v->e[i].path != NULL; i++)
		apply_edit(root, v->type, &v->e[i]);
	*out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return strlen(*out);
}

/* The C side's verdict: 0 or the first error code, with the reason in ERR. */
static int c_verdict(const char *buf, size_t len, char *err, size_t errsz)
{
	eda_event_t *ev;
	int rc = eda_event_parse(buf, len, &ev, err, errsz);

	if (rc == 0) {
		rc = eda_event_validate_data(ev, err, errsz);
		eda_event_free(ev);
	}
	return rc;
}

struct batch {
	char dir[64];
	int n;
	char **files;
};

static void batch_init(struct batch *b, int n)
{
	strcpy(b->dir, "/tmp/eda-schemas-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(b->dir));
	b->n = n;
	b->files = calloc((size_t)n, sizeof(char *));
	ck_assert_ptr_nonnull(b->files);
}

static void batch_write(struct batch *b, int i, const char *buf, size_t len)
{
	FILE *f;

	/* b->files is batch_free's to free; the analyser loses track of it through
	 * asprintf's out-parameter and reports it leaked. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	ck_assert_int_ge(asprintf(&b->files[i], "%s/%03d.json", b->dir, i), 0);
	f = fopen(b->files[i], "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void batch_free(struct batch *b)
{
	for (int i = 0; i < b->n; i++) {
		if (b->files[i] != NULL)
			unlink(b->files[i]);
		free(b->files[i]);
	}
	free(b->files);
	rmdir(b->dir);
}

/* Runs the validator on ARGS (a shell-safe string); returns its exit status and
 * its stdout in *OUT (caller frees), each line preceded by '\n' for matching. */
static int run_validator(const char *args, char **out)
{
	char *script = path_in_source("common/tests/validate_events.py");
	char *schemas = path_in_source("common/schemas");
	char *cmd, line[4096];
	size_t len = 0;
	FILE *p;
	int status;

	ck_assert_msg(access(script, R_OK) == 0,
	              "%s not found: run from the repository root "
	              "or set EDA_SOURCE_DIR",
	              script);
	ck_assert_int_ge(asprintf(&cmd, "python3 '%s' '%s' %s", script, schemas, args), 0);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	*out = calloc(1, 1);
	while (fgets(line, sizeof(line), p) != NULL) {
		size_t n = strlen(line);

		*out = realloc(*out, len + n + 2);
		(*out)[len] = '\n';
		memcpy(*out + len + 1, line, n + 1);
		len += n + 1;
	}
	status = pclose(p);
	free(cmd);
	free(script);
	free(schemas);
	ck_assert_msg(WIFEXITED(status), "validator did not exit normally");
	return WEXITSTATUS(status);
}

/* Runs the validator once on all files of B; returns the exit status, and in
 * VERDICTS[i] 1 for "ok", 0 for "invalid" (a missing line fails the test). */
static int validate_batch(const struct batch *b, int *verdicts, char **out)
{
	char *args = calloc(1, 1), *tmp;
	int rc;

	for (int i = 0; i < b->n; i++) {
		ck_assert_int_ge(asprintf(&tmp, "%s '%s'", args, b->files[i]), 0);
		free(args);
		args = tmp;
	}
	rc = run_validator(args, out);
	free(args);
	for (int i = 0; i < b->n; i++) {
		char *ok, *bad;

		ck_assert_int_ge(asprintf(&ok, "\nok %s\n", b->files[i]), 0);
		ck_assert_int_ge(asprintf(&bad, "\ninvalid %s: ", b->files[i]), 0);
		verdicts[i] = strstr(*out, ok) != NULL ? 1 : strstr(*out, bad) != NULL ? 0 : -1;
		ck_assert_msg(verdicts[i] >= 0, "no verdict on %s in:%s", b->files[i], *out);
		free(ok);
		free(bad);
	}
	return rc;
}

/* ---- tests --------------------------------------------------------------- */

/* Every known type has a schema whose $id is its dataschema, and every schema
 * file is a known type or one of the two shared files. */
START_TEST(schema_files_match_types)
{
	char *dir = path_in_source("common/schemas");
	DIR *d = opendir(dir);
	struct dirent *de;
	int types = 0;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char name[256], *path, expect[300];
		size_t n = strlen(de->d_name);
		json_t *schema;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		ck_assert_int_ge(asprintf(&path, "%s/%s", dir, de->d_name), 0);
		schema = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
		ck_assert_msg(schema != NULL, "%s is not JSON", path);
		ck_assert_str_eq(json_string_value(json_object_get(schema, "$schema")),
		                 "https://json-schema.org/draft/2020-12/schema");
		if (strcmp(name, "envelope") != 0 && strcmp(name, "defs") != 0) {
			ck_assert_msg(eda_event_type_is_known(name), "%s: not an event type", path);
			snprintf(expect, sizeof(expect), "urn:eda:schema:%s:1", name);
			ck_assert_str_eq(json_string_value(json_object_get(schema, "$id")), expect);
			types++;
		}
		json_decref(schema);
		free(path);
	}
	closedir(d);
	free(dir);
	ck_assert_int_eq(types, NSAMPLES);
}
END_TEST

START_TEST(validator_reports_misuse)
{
	char *out;

	ck_assert_int_eq(run_validator("", &out), 2);
	free(out);
	ck_assert_int_eq(run_validator("/nonexistent.json", &out), 2);
	free(out);
}
END_TEST

/* What eda_event_new + eda_event_serialize produce passes both. */
START_TEST(samples_pass_both)
{
	struct batch b;
	int verdicts[NSAMPLES];
	char *out, err[256];

	batch_init(&b, NSAMPLES);
	for (int i = 0; i < NSAMPLES; i++) {
		eda_event_t *ev = build_sample(&samples[i]);
		size_t len;
		char *json = eda_event_serialize(ev, &len);

		ck_assert_msg(c_verdict(json, len, err, sizeof(err)) == 0, "%s: %s",
		              samples[i].type, err);
		batch_write(&b, i, json, len);
		free(json);
		eda_event_free(ev);
	}
	ck_assert_msg(validate_batch(&b, verdicts, &out) == 0, "validator:%s", out);
	for (int i = 0; i < NSAMPLES; i++)
		ck_assert_msg(verdicts[i] == 1, "%s refused:%s", samples[i].type, out);
	free(out);
	batch_free(&b);
}
END_TEST

static void check_table(const struct variant *table, int n, int want_valid)
{
	struct batch b;
	int *verdicts = calloc((size_t)n, sizeof(int)), failures = 0, rc;
	char *out, err[256];

	batch_init(&b, n);
	for (int i = 0; i < n; i++) {
		char *buf;
		size_t len = variant_bytes(&table[i], &buf);

		rc = c_verdict(buf, len, err, sizeof(err));
		if ((rc == 0) != want_valid) {
			fprintf(stderr, "C validator %s \"%s\" (%s): %s\n",
			        want_valid ? "refused" : "accepted", table[i].name, table[i].type,
			        rc != 0 ? err : buf);
			failures++;
		}
		batch_write(&b, i, buf, len);
		free(buf);
	}
	rc = validate_batch(&b, verdicts, &out);
	for (int i = 0; i < n; i++) {
		if (verdicts[i] != want_valid) {
			fprintf(stderr, "JSON Schema %s \"%s\" (%s), file %s\n",
			        want_valid ? "refused" : "accepted", table[i].name, table[i].type,
			        b.files[i]);
			failures++;
		}
	}
	if (failures > 0)
		fprintf(stderr, "validator output:%s\n", out);
	ck_assert_msg(failures == 0, "%d disagreements (see stderr)", failures);
	ck_assert_int_eq(rc, want_valid ? 0 : 1);
	free(out);
	free(verdicts);
	batch_free(&b);
}

START_TEST(valid_variants_pass_both)
{
	check_table(valid_variants, N(valid_variants), 1);
}
END_TEST

START_TEST(invalid_variants_refused_by_both)
{
	check_table(invalid_variants, N(invalid_variants), 0);
}
END_TEST

static Suite *schemas_suite(void)
{
	Suite *s = suite_create("event_schemas");
	TCase *tc = tcase_create("agreement");

	/* Each test starts python3 once; allow for a slow machine. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, schema_files_match_types);
	tcase_add_test(tc, validator_reports_misuse);
	tcase_add_test(tc, samples_pass_both);
	tcase_add_test(tc, valid_variants_pass_both);
	tcase_add_test(tc, invalid_variants_refused_by_both);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(schemas_suite());
}
