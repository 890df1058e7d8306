/*
 * The shapes of the identifiers the event contract carries (DESIGN.md, Events,
 * and the JSON Schemas in common/schemas/): a SKU, a UUID, an e-mail address,
 * a customer id.
 * One definition for the contract's validator (event_contract.c) and for the
 * daemons' HTTP layers, so that what a request is allowed to carry is exactly
 * what the event it becomes may carry: a request the contract would refuse is
 * refused at the edge, on the field that is wrong.
 */
#ifndef EDA_VALIDATE_H
#define EDA_VALIDATE_H

#include <stdbool.h>

#define EDA_SKU_MAX         64  /* characters, all ASCII */
#define EDA_UUID_LEN        36  /* 8-4-4-4-12 hex digits */
#define EDA_EMAIL_MAX       254 /* characters of the whole address */
#define EDA_EMAIL_LOCAL_MAX 64  /* characters before the '@' */
#define EDA_CUSTOMER_ID_MAX 256 /* characters: the contract's customer.id */

/* A SKU: 1 to EDA_SKU_MAX of [A-Za-z0-9._-], the first a letter or digit.
 * NULL is not a SKU. */
bool eda_sku_valid(const char *s);

/* A UUID in the contract's canonical form: 36 characters, lower-case hex
 * digits with dashes at 8, 13, 18 and 23. Upper-case digits are refused
 * (the order id is compared as text); NULL is not a UUID. */
bool eda_uuid_valid(const char *s);

/* An e-mail address as the contract's schema has it
 * (^[!-?A-~]{1,64}@[!-?A-~]+\.[!-?A-~]+$, at most 254 characters): printable
 * ASCII without spaces, one '@' after a local part of 1 to 64 characters, and a
 * dot in the domain that is neither its first nor its last character. NULL is
 * not an address. */
bool eda_email_valid(const char *s);

/* A customer id (the gateway's X-Customer-Id, the token's sub): 1 to
 * EDA_CUSTOMER_ID_MAX characters of UTF-8 without control characters; the
 * text is otherwise opaque. NULL is not a customer id. */
bool eda_customer_id_valid(const char *s);

#endif
