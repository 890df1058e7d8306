/*
 * Token issuing (see jwt_issue.h), over libjwt: the claims are built as one
 * JSON object and handed over whole, the algorithm and key set explicitly.
 */
#include "services/jwt_issue.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"

#include <jansson.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

static jwt_alg_t jwt_alg_of(gw_alg_t alg)
{
	return alg == GW_ALG_RS256 ? JWT_ALG_RS256 : JWT_ALG_HS256;
}

static json_t *roles_array(const char *csv)
{
	json_t *arr = json_array();
	char *copy = eda_xstrdup(csv != NULL ? csv : ""), *save = NULL;

	for (char *r = strtok_r(copy, ",", &save); r != NULL; r = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(r));
	free(copy);
	return arr;
}

char *gw_auth_issue(gw_alg_t alg, const void *key, size_t keylen, const char *sub,
                    const char *email, const char *roles_csv, long ttl_s, const char *issuer,
                    const char *audience, time_t now, char *err, size_t errsz)
{
	jwt_t *jwt = NULL;
	json_t *claims = json_object();
	char *text = NULL, *out = NULL;

	if (key == NULL || keylen == 0 || sub == NULL || *sub == '\0') {
		eda_errf(err, errsz, "a key and a subject are required");
		goto out;
	}
	json_object_set_new(claims, "sub", json_string(sub));
	if (email != NULL)
		json_object_set_new(claims, "email", json_string(email));
	json_object_set_new(claims, "roles", roles_array(roles_csv));
	json_object_set_new(claims, "iat", json_integer((json_int_t)now));
	json_object_set_new(claims, "exp", json_integer((json_int_t)now + ttl_s));
	if (issuer != NULL)
		json_object_set_new(claims, "iss", json_string(issuer));
	if (audience != NULL)
		json_object_set_new(claims, "aud", json_string(audience));
	text = json_dumps(claims, JSON_COMPACT);
	if (text == NULL || jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, text) != 0 ||
	    jwt_set_alg(jwt, jwt_alg_of(alg), key, (int)keylen) != 0) {
		eda_errf(err, errsz, "cannot build the token (bad claims or key)");
		goto out;
	}
	out = jwt_encode_str(jwt);
	if (out == NULL)
		eda_errf(err, errsz, "cannot sign the token (is the key a valid %s key?)",
		         alg == GW_ALG_RS256 ? "RS256 private" : "HS256");
out:
	free(text);
	json_decref(claims);
	jwt_free(jwt);
	return out;
}
