/*
 * The event envelope every service speaks on Kafka: CloudEvents 1.0 in
 * structured JSON mode (DESIGN.md, "Events"), the contract of each event type's
 * `data`, and the W3C trace-context helpers that carry a trace across events.
 *
 * A message's value is the whole envelope as compact JSON; its Kafka header
 * `content-type` is EDA_EVENT_CONTENT_TYPE. Producers build events with
 * eda_event_new() and publish eda_event_serialize(); consumers call
 * eda_event_parse(), then eda_event_validate_data(), and
 *   - handle the event when it returns 0,
 *   - skip it (and store its offset) on EDA_EVENT_UNKNOWN_TYPE: forward
 *     compatibility with types added later,
 *   - send it to their DLQ on any other error, with eda_event_strerror(rc) and
 *     the ERR text as headers.
 *
 * The same contract is written as JSON Schema in common/schemas/<Type>.json;
 * common/tests/test_event_schemas.c checks that both reject the same events.
 * Contract details that DESIGN.md leaves open, decided here:
 *   - order_id is a lower-case UUID string; payment_id is the payment
 *     provider's own id, 1..128 printable ASCII characters; customer.id (the JWT
 *     `sub`) is any string of 1..256 characters; email is ASCII
 *     `local@domain.tld` without spaces, at most 254 characters.
 *   - sku: 1..64 characters of [A-Za-z0-9._-], starting with a letter or digit.
 *   - quantities: integers 1..EDA_EVENT_MAX_QUANTITY; stock and available:
 *     0..EDA_EVENT_MAX_STOCK; delta: -EDA_EVENT_MAX_STOCK..EDA_EVENT_MAX_STOCK;
 *     InventoryReservationFailed's `requested` may reach EDA_EVENT_MAX_STOCK (a
 *     sum of lines). A JSON number such as 2.0 counts as the integer 2, as JSON
 *     Schema says.
 *   - money: a string with exactly two decimals (eda_money_parse_canonical).
 *   - items: 1..EDA_EVENT_MAX_ITEMS entries; details: 0..EDA_EVENT_MAX_ITEMS.
 *   - reason: OrderRejected requires one, OrderConfirmed/Cancelled/Paid and
 *     PaymentFailed may have one (1..EDA_EVENT_MAX_REASON characters); it is an
 *     enum only in InventoryReservationFailed.
 *   - data objects are closed: an unknown member is an error.
 *   - InventoryReservationFailed's details are [{sku, requested, available}],
 *     or, for reason price_changed, 1.. entries [{sku, quoted, price}].
 *   - ProductChanged: name 1..EDA_EVENT_MAX_NAME characters, version
 *     1..EDA_EVENT_MAX_VERSION (a newer version of a SKU wins).
 *   - dataschema is "urn:eda:schema:<Type>:1"; on an event from outside the
 *     project (PaymentProcessed, PaymentFailed) it may be missing, which means
 *     version 1; another version is refused naming it.
 *   - subject is the order id (data.order_id), or the SKU for InventoryUpdated
 *     and ProductChanged;
 *     the C side checks they are equal, which JSON Schema cannot express.
 */
#ifndef EDA_EVENT_H
#define EDA_EVENT_H

#include <jansson.h>
#include <stddef.h>

/* Kafka header `content-type` of every event message. */
#define EDA_EVENT_CONTENT_TYPE      "application/cloudevents+json"
#define EDA_EVENT_DATA_CONTENT_TYPE "application/json"
#define EDA_EVENT_SPECVERSION       "1.0"

#define EDA_EVENT_MAX_SIZE     (1024 * 1024) /* bytes of one serialized event */
#define EDA_EVENT_MAX_ATTR_LEN 256           /* characters of a string attribute */
#define EDA_EVENT_MAX_ITEMS    100
#define EDA_EVENT_MAX_QUANTITY 1000000
#define EDA_EVENT_MAX_STOCK    1000000000
#define EDA_EVENT_MAX_REASON   512
#define EDA_EVENT_MAX_NAME     200                /* characters of a product name */
#define EDA_EVENT_MAX_VERSION  9007199254740991LL /* 2^53 - 1: exact in every JSON reader */

#define EDA_EVENT_ORDER_PLACED                 "OrderPlaced"
#define EDA_EVENT_ORDER_CONFIRMED              "OrderConfirmed"
#define EDA_EVENT_ORDER_REJECTED               "OrderRejected"
#define EDA_EVENT_ORDER_CANCELLED              "OrderCancelled"
#define EDA_EVENT_ORDER_PAID                   "OrderPaid"
#define EDA_EVENT_INVENTORY_RESERVED           "InventoryReserved"
#define EDA_EVENT_INVENTORY_RESERVATION_FAILED "InventoryReservationFailed"
#define EDA_EVENT_INVENTORY_RELEASED           "InventoryReleased"
#define EDA_EVENT_INVENTORY_UPDATED            "InventoryUpdated"
#define EDA_EVENT_PRODUCT_CHANGED              "ProductChanged"
#define EDA_EVENT_PAYMENT_PROCESSED            "PaymentProcessed"
#define EDA_EVENT_PAYMENT_FAILED               "PaymentFailed"

typedef enum {
	EDA_EVENT_OK = 0,
	EDA_EVENT_BAD_JSON = -1,        /* not JSON, or not UTF-8 */
	EDA_EVENT_TOO_BIG = -2,         /* over EDA_EVENT_MAX_SIZE bytes */
	EDA_EVENT_NOT_OBJECT = -3,      /* JSON, but not an object */
	EDA_EVENT_BAD_SPECVERSION = -4, /* specversion missing or not "1.0" */
	EDA_EVENT_BAD_ATTRIBUTE = -5,   /* a context attribute missing or malformed */
	EDA_EVENT_BAD_DATA = -6,        /* data breaks its type's contract */
	EDA_EVENT_UNKNOWN_TYPE = -7,    /* a type this build does not know: ignore it */
	EDA_EVENT_INVALID_ARG = -8,     /* a caller's mistake (NULL where not allowed) */
} eda_event_err_t;

/*
 * A parsed or new event. It owns every member: strings are malloc'd and freed by
 * eda_event_free(), DATA is one reference. To change a member, free the old value
 * and store a new malloc'd one (json_decref for DATA).
 * Always set: id, source, type. Always set for the known types: subject, time,
 * dataschema, data. Optional (NULL when absent): correlationid, causationid,
 * traceparent, and for unknown types anything else. datacontenttype is not kept:
 * it can only be application/json, which serialization always writes.
 */
typedef struct eda_event {
	char *id, *source, *type, *subject, *time, *dataschema;
	char *correlationid, *causationid, *traceparent;
	json_t *data;
} eda_event_t;

/*
 * A new event with a random UUID id, the current time (RFC 3339 UTC with
 * milliseconds), dataschema "urn:eda:schema:<TYPE>:1". SOURCE ("/order-service")
 * and TYPE are required; SUBJECT may be NULL (not for the known types).
 * DATA is stolen, also on failure.
 * CAUSE (may be NULL) is the event this one reacts to: the new event takes its
 * correlationid (or CORRELATION_ID when the cause has none), causationid =
 * cause->id, and a traceparent in the cause's trace with a new span id.
 * Without a cause, CORRELATION_ID (may be NULL) is used and a new trace starts.
 * Returns NULL only when SOURCE or TYPE is NULL or empty.
 */
eda_event_t *eda_event_new(const char *source, const char *type, const char *subject, json_t *data,
                           const eda_event_t *cause, const char *correlation_id);

/* EV as compact JSON, NUL-terminated; *LEN (if LEN is not NULL) gets its length.
 * The caller frees the result with free(). Returns NULL when EV lacks id,
 * source or type or holds a string that is not UTF-8. */
char *eda_event_serialize(const eda_event_t *ev, size_t *len);

/*
 * Parses LEN bytes at BUF (any bytes: no NUL terminator needed, none trusted)
 * into a new event in *OUT, which the caller frees with eda_event_free().
 * Checks the envelope only: UTF-8 JSON object without duplicate keys;
 * specversion "1.0"; id, source, type non-empty strings; every attribute name
 * [a-z0-9]{1,20}; known attributes strings of 1..EDA_EVENT_MAX_ATTR_LEN
 * characters; time RFC 3339; datacontenttype, when present, application/json;
 * traceparent a W3C version-00 value; extension attributes strings, integers or
 * booleans; data_base64 refused. For the known types also: subject, time,
 * dataschema present and data an object.
 * Returns 0, or a negative eda_event_err_t with *OUT NULL and a reason in ERR
 * (ERR may be NULL when ERRSZ is 0).
 */
int eda_event_parse(const void *buf, size_t len, eda_event_t **out, char *err, size_t errsz);

/*
 * Checks EV's dataschema, subject and data against its type's contract (above).
 * Returns 0, EDA_EVENT_UNKNOWN_TYPE for a type that is not ours (ERR says so),
 * or EDA_EVENT_BAD_DATA / EDA_EVENT_BAD_ATTRIBUTE with the first problem in ERR
 * ("data.items[0].quantity: must be an integer from 1 to 1000000").
 */
int eda_event_validate_data(const eda_event_t *ev, char *err, size_t errsz);

/* 1 if TYPE is one of the event types above, else 0. */
int eda_event_type_is_known(const char *type);

/* Frees EV and everything it owns; NULL is fine. */
void eda_event_free(eda_event_t *ev);

/* A short fixed description of CODE; never NULL. */
const char *eda_event_strerror(int code);

/* W3C trace context (traceparent header, version 00): "00-<32 hex trace id>-<16
 * hex parent id>-<2 hex flags>", lower case, ids not all zero. */
#define EDA_TRACEPARENT_LEN 55

/* 1 if S is a valid version-00 traceparent, else 0. */
int eda_traceparent_valid(const char *s);

/* Writes a traceparent of a new trace (sampled) to OUT. */
void eda_traceparent_new(char out[static EDA_TRACEPARENT_LEN + 1]);

/* Writes to OUT a traceparent with PARENT's trace id and flags and a new span id.
 * Returns 0, or EDA_EVENT_BAD_ATTRIBUTE when PARENT is NULL or invalid, in which
 * case OUT holds a new trace (as the W3C spec says: restart, do not fail). */
int eda_traceparent_child(const char *parent, char out[static EDA_TRACEPARENT_LEN + 1]);

#endif
