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
#define EDA_EMAIL_LABEL_MAX 63  /* characters of one label of the domain */
#define EDA_CUSTOMER_ID_MAX 256 /* characters: the contract's customer.id */

/* A SKU: 1 to EDA_SKU_MAX of [A-Za-z0-9._-], the first a letter or digit.
 * NULL is not a SKU. */
bool eda_sku_valid(const char *s);

/* A UUID in the contract's canonical form: 36 characters, lower-case hex
 * digits with dashes at 8, 13, 18 and 23. Upper-case digits are refused
 * (the order id is compared as text); NULL is not a UUID. */
bool eda_uuid_valid(const char *s);

/* An e-mail address that can be written into a To: or From: header and given
 * to SMTP as it is, which is what the contract's customer.email must be: every
 * address an order carries is mailed by notification-service. RFC 5322's
 * dot-atom local part of 1 to EDA_EMAIL_LOCAL_MAX characters (atext: letters,
 * digits and !#$%&'*+-/=?^_`{|}~, with single dots between them, none first or
 * last), one '@', a domain as eda_email_domain_valid() has it, and at most
 * EDA_EMAIL_MAX characters in all (RFC 5321's path limit). Quoted local parts,
 * comments, display names and IP literals are refused: real mail systems accept
 * them, but they are where header injection hides, and no shop customer has
 * one. The JSON Schema of customer.email (common/schemas/defs.json) says the
 * same in its pattern. NULL is not an address. */
bool eda_email_valid(const char *s);

/* A domain name as a mailbox or a Message-ID has it (RFC 5321's Domain): two or
 * more labels separated by single dots, each 1 to EDA_EMAIL_LABEL_MAX letters,
 * digits and '-', neither starting nor ending with '-'. No trailing dot, no IP
 * literal; internationalised names must come as their xn-- form. The callers
 * limit the whole length. NULL is not a domain. */
bool eda_email_domain_valid(const char *d);

/* A customer id (the gateway's X-Customer-Id, the token's sub): 1 to
 * EDA_CUSTOMER_ID_MAX characters of UTF-8 without control characters; the
 * text is otherwise opaque. NULL is not a customer id. */
bool eda_customer_id_valid(const char *s);

#endif
