/*
 * Who is calling: the identity the api-gateway derives from a verified token
 * and hands to the services in request headers (it strips these headers from
 * what clients send, so behind the gateway they are trusted). One reader, one
 * trimming rule for role lists and one validation, for every daemon that
 * authorizes a request, and for the gateway's own roles claim.
 */
#ifndef EDA_IDENTITY_H
#define EDA_IDENTITY_H

#include "eda/http.h"
#include "eda/validate.h"

#include <stdbool.h>

/* The headers the gateway sets on a forwarded request. */
#define EDA_HEADER_CUSTOMER_ID    "X-Customer-Id"
#define EDA_HEADER_CUSTOMER_EMAIL "X-Customer-Email"
#define EDA_HEADER_ROLES          "X-Roles"

/* The roles the services act on, as bits of a mask. A role name the project
 * does not know grants nothing. */
#define EDA_ROLE_ADMIN    (1u << 0) /* sees and changes everyone's orders, prices, stock */
#define EDA_ROLE_CUSTOMER (1u << 1)

/* The bit of role NAME (exact, case-sensitive: "admin"), or 0 for NULL or a
 * name the project does not know. */
unsigned eda_role_bit(const char *name);

/* Reads LIST, role names separated by commas and/or blanks (spaces, tabs):
 * "admin", "staff, admin", "customer admin". Each name is trimmed of blanks;
 * empty entries are skipped. *MASK gets the bits of the known names (0 for a
 * NULL or empty list). Returns the number of names it did not know, which
 * grant nothing but which a caller may want to log or refuse. */
int eda_roles_parse(const char *list, unsigned *mask);

/* The caller of a request. Strings are borrowed from the request and live as
 * long as it does. */
typedef struct eda_identity {
	const char *customer_id; /* valid (eda_customer_id_valid) when OK */
	const char *email;       /* NULL when absent; not checked here */
	unsigned roles;          /* EDA_ROLE_* bits */
} eda_identity_t;

typedef enum {
	EDA_IDENTITY_OK = 0,
	EDA_IDENTITY_MISSING = -1, /* no or an empty X-Customer-Id: not authenticated */
	EDA_IDENTITY_INVALID = -2, /* an X-Customer-Id that is not a customer id */
} eda_identity_status_t;

/* Reads the caller of R from the gateway's headers into *ID (always filled,
 * so that a caller may still read the roles). Returns EDA_IDENTITY_OK,
 * EDA_IDENTITY_MISSING (answer 401) or EDA_IDENTITY_INVALID (answer 400). */
int eda_identity_read(const eda_http_req_t *r, eda_identity_t *id);

#endif
