/*
 * JWT verification for the gateway, over libjwt 1.10.2 (issuing, for the
 * `token` command and the tests, is in jwt_issue.h).
 *
 * libjwt 1.10 checks the signature only, and with the algorithm the token
 * names (FACTS.md): this module pins the algorithm from configuration, never
 * passes a NULL key, and checks every claim itself: exp (required) and nbf
 * with a leeway, iss and aud when configured, sub (required, the customer
 * id), email and roles (an array of strings).
 *
 * A verifier may be used from any number of threads at once: its settings
 * do not change after gw_auth_new(), and its cache of verified tokens (see
 * gw_auth_verify) has its own locks.
 */
#ifndef GW_SERVICES_JWT_VERIFY_H
#define GW_SERVICES_JWT_VERIFY_H

#include "config/settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum {
	GW_AUTH_OK = 0,
	GW_AUTH_EMISSING = -1, /* no Authorization header, or not a Bearer one */
	GW_AUTH_EINVALID = -2, /* a token was given and is not acceptable */
	GW_AUTH_ECONFIG = -3,  /* the key or settings cannot be used */
} gw_auth_err_t;

#define GW_MAX_TOKEN 8192

typedef struct gw_auth gw_auth_t;

/* What a valid token says about its bearer. Strings are NUL-terminated and
 * free of control characters and commas (roles), so they are safe to put in
 * headers as they are. */
typedef struct {
	char sub[256];
	char email[256]; /* "" when the token has none */
	char roles[512]; /* comma-separated, "" when none */
} gw_identity_t;

/* A verifier for ALG with KEY (KEYLEN bytes: the HS256 secret, or the PEM
 * text of the RS256 public key; copied). ISSUER and AUDIENCE (copied) are
 * checked when not NULL. Returns NULL with ERR filled on a bad argument. */
gw_auth_t *gw_auth_new(gw_alg_t alg, const void *key, size_t keylen, const char *issuer,
                       const char *audience, long leeway_s, char *err, size_t errsz);

/* The verifier the settings describe (reads JWT_PUBLIC_KEY_FILE). */
gw_auth_t *gw_auth_from_settings(const gw_settings_t *s, char *err, size_t errsz);

void gw_auth_free(gw_auth_t *a);

/* Verifies the value of an Authorization header (NULL allowed) at time NOW.
 * Returns GW_AUTH_OK with *ID filled, GW_AUTH_EMISSING, or GW_AUTH_EINVALID;
 * WHY receives a short reason fit for the client (no token text in it).
 * A token that passes is cached (bounded, by its exact bytes): the next
 * verification of the same token skips the signature and claim parsing but
 * checks exp and nbf against NOW again, so the answer is the same. */
int gw_auth_verify(const gw_auth_t *a, const char *authorization, time_t now, gw_identity_t *id,
                   char *why, size_t whysz);

/* True if ROLE is among the identity's roles. */
bool gw_auth_has_role(const gw_identity_t *id, const char *role);

#endif
