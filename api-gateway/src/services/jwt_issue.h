/*
 * Issuing JWTs the gateway's verifier (jwt_verify.h) accepts: for the
 * `api-gateway token` command (cli/token.c) and the tests. Production
 * tokens come from an identity provider; the daemon never signs one.
 */
#ifndef GW_SERVICES_JWT_ISSUE_H
#define GW_SERVICES_JWT_ISSUE_H

#include "config/settings.h"

#include <stddef.h>
#include <time.h>

/* Issues a token signed with ALG and KEY (the HS256 secret or the PEM text of
 * the RS256 private key): sub SUB, email EMAIL (NULL: none), roles ROLES_CSV
 * (comma-separated, NULL or "": none), iat NOW, exp NOW + TTL_S, and iss/aud
 * when not NULL. Returns a new string (free()) or NULL with ERR filled. */
char *gw_auth_issue(gw_alg_t alg, const void *key, size_t keylen, const char *sub,
                    const char *email, const char *roles_csv, long ttl_s, const char *issuer,
                    const char *audience, time_t now, char *err, size_t errsz);

#endif
