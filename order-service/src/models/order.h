/*
 * The order: its fields, its status and the saga's allowed transitions
 * (DESIGN.md, "Order saga"). Nothing here knows about HTTP, SQL or Kafka.
 *
 * Ownership: an os_order_t owns its items array and its strings live inline;
 * os_order_clear() frees the items.
 */
#ifndef OS_ORDER_H
#define OS_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eda/validate.h"

/* The identifiers' limits are the event contract's (eda/validate.h). */
#define OS_UUID_LEN        EDA_UUID_LEN
#define OS_CUSTOMER_ID_MAX EDA_CUSTOMER_ID_MAX
#define OS_EMAIL_MAX       EDA_EMAIL_MAX
#define OS_SKU_MAX         EDA_SKU_MAX
#define OS_TIME_LEN        40 /* RFC 3339 with microseconds and offset */
#define OS_REASON_MAX      512
#define OS_MAX_ITEMS       100
#define OS_MAX_QUANTITY    1000000

typedef enum {
	OS_PENDING = 0,
	OS_CONFIRMED,
	OS_REJECTED,
	OS_PAID,
	OS_CANCELLED,
	OS_STATUS_COUNT,
} os_status_t;

typedef struct os_item {
	char sku[OS_SKU_MAX + 1];
	int quantity;
	int64_t unit_price; /* cents: the catalogue's once the order is priced */
	bool quoted;        /* the request gave a unit_price (the one above, until priced) */
} os_item_t;

typedef struct os_order {
	char id[OS_UUID_LEN + 1];
	char customer_id[OS_CUSTOMER_ID_MAX * 4 + 1]; /* 256 characters of UTF-8 */
	char customer_email[OS_EMAIL_MAX + 1];
	os_status_t status;
	char currency[4]; /* "" in a request that leaves it to the products */
	int64_t total;    /* cents */
	char reason[OS_REASON_MAX * 4 + 1];
	char created_at[OS_TIME_LEN], updated_at[OS_TIME_LEN];
	/* When each status was reached ("" when not reached); PENDING's is created_at. */
	char status_at[OS_STATUS_COUNT][OS_TIME_LEN];
	size_t nitems;
	os_item_t *items;
} os_order_t;

/* "PENDING", ... ; never NULL. */
const char *os_status_name(os_status_t s);

/* Parses a status name (case-insensitive). Returns 0 or -1. */
int os_status_parse(const char *name, os_status_t *out);

/* Whether the saga allows FROM -> TO. */
bool os_status_can_transition(os_status_t from, os_status_t to);

/* Whether a customer may still cancel an order in status S. */
bool os_status_cancellable(os_status_t s);

/* Frees the items of O and resets the count. */
void os_order_clear(os_order_t *o);

/* Sum of quantity * unit_price over ITEMS into *TOTAL; -1 when it would exceed
 * the largest amount money.h allows. */
int os_order_total(const os_item_t *items, size_t n, int64_t *total);

/* 1 if S is one of the ISO 4217 codes this shop accepts. */
bool os_currency_known(const char *s);

/* A new random order id (UUID v4, lower case) into OUT. */
void os_order_new_id(char out[OS_UUID_LEN + 1]);

/* Writes S in lower case to OUT and returns true if it is a UUID in either
 * case (eda_uuid_valid once lowered) (ids are stored and published in lower case; RFC 9562 compares
 * them without regard to case). */
bool os_uuid_lower(const char *s, char out[OS_UUID_LEN + 1]);

#endif
