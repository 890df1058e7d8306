/*
 * Tests for src/services/jwt_verify.c (and jwt_issue.c): the token table of issue 7 (every claim
 * check is ours, libjwt 1.10 checks only the signature) plus the Authorization header parsing and
 * token issuing. RSA keys come from the openssl CLI, made once in main() so every forked test
 * shares them.
 */
#include "services/jwt_issue.h"
#include "services/jwt_verify.h"
#include "support/gw_support.h"

#include "support/check_main.h"
#include <check.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW ((time_t)1800000000)

typedef enum { SIGN_HS, SIGN_RS, SIGN_NONE, SIGN_HS_WITH_PUBKEY, SIGN_HS_OTHER } sign_t;

/* Replaces $NOW, $PAST (an hour ago), $SOON (+10 s: within leeway),
 * $FUTURE (+1 h) in a claims template. */
static char *claims_at(const char *tmpl)
{
	static const struct {
		const char *name;
		long delta;
	} vars[] = {
	        {"$NOW", 0}, {"$PAST", -3600}, {"$SOON", 10}, {"$FUTURE", 3600}, {"$LATE", -10}};
	char *out = calloc(1, strlen(tmpl) * 2 + 64);
	const char *p = tmpl;
	size_t n = 0;

	while (*p != '\0') {
		size_t i;

		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			size_t l = strlen(vars[i].name);

			if (strncmp(p, vars[i].name, l) == 0) {
				n += (size_t)sprintf(out + n, "%ld", (long)NOW + vars[i].delta);
				p += l;
				break;
			}
		}
		if (i == sizeof(vars) / sizeof(vars[0]))
			out[n++] = *p++;
	}
	return out;
}

static char *sign(sign_t how, const char *tmpl)
{
	char *claims = claims_at(tmpl), *key = NULL, *tok;
	jwt_t *jwt = NULL;
	jwt_alg_t alg = JWT_ALG_HS256;
	size_t keylen = 0;

	switch (how) {
	case SIGN_HS:
		key = strdup(TS_SECRET);
		break;
	case SIGN_HS_OTHER:
		key = strdup("another-secret-0123456789abcdef-0123456789");
		break;
	case SIGN_RS:
		key = ts_slurp(ts_rsa_private());
		alg = JWT_ALG_RS256;
		break;
	case SIGN_HS_WITH_PUBKEY:
		key = ts_slurp(ts_rsa_public());
		break;
	case SIGN_NONE:
		alg = JWT_ALG_NONE;
		break;
	}
	keylen = key != NULL ? strlen(key) : 0;
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, alg, (unsigned char *)key, (int)keylen), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	jwt_free(jwt);
	free(key);
	free(claims);
	return tok;
}

static gw_auth_t *verifier(gw_alg_t alg, const char *iss, const char *aud)
{
	char err[256];
	gw_auth_t *a;

	if (alg == GW_ALG_HS256) {
		a = gw_auth_new(alg, TS_SECRET, strlen(TS_SECRET), iss, aud, 30, err, sizeof(err));
	} else {
		char *pem = ts_slurp(ts_rsa_public());

		a = gw_auth_new(alg, pem, strlen(pem), iss, aud, 30, err, sizeof(err));
		free(pem);
	}
	ck_assert_msg(a != NULL, "%s", err);
	return a;
}

#define VALID "{\"sub\":\"42\",\"email\":\"a@example.com\",\"roles\":[\"admin\"],\"exp\":$FUTURE}"

static const struct token_case {
	const char *name;
	sign_t sign;
	gw_alg_t verify; /* the configured algorithm */
	const char *claims;
	const char *iss, *aud; /* configured */
	int expect;
	const char *why; /* substring of the reason */
} tokens[] = {
        {"valid HS256", SIGN_HS, GW_ALG_HS256, VALID, NULL, NULL, GW_AUTH_OK, ""},
        {"valid RS256", SIGN_RS, GW_ALG_RS256, VALID, NULL, NULL, GW_AUTH_OK, ""},
        {"expired", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":$PAST}", NULL, NULL,
         GW_AUTH_EINVALID, "expired"},
        {"expired within leeway", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":$LATE}", NULL,
         NULL, GW_AUTH_OK, ""},
        {"no exp", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\"}", NULL, NULL, GW_AUTH_EINVALID, "exp"},
        {"exp not a number", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":\"soon\"}", NULL, NULL,
         GW_AUTH_EINVALID, "exp"},
        {"not yet valid", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":$FUTURE,\"nbf\":$FUTURE}",
         NULL, NULL, GW_AUTH_EINVALID, "not valid yet"},
        {"nbf within leeway", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"nbf\":$SOON}", NULL, NULL, GW_AUTH_OK, ""},
        {"right issuer", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"iss\":\"https://auth.eda\"}", "https://auth.eda", NULL,
         GW_AUTH_OK, ""},
        {"wrong issuer", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"iss\":\"https://evil\"}", "https://auth.eda", NULL,
         GW_AUTH_EINVALID, "issuer"},
        {"missing issuer", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":$FUTURE}",
         "https://auth.eda", NULL, GW_AUTH_EINVALID, "issuer"},
        {"right audience", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"aud\":\"shop\"}", NULL, "shop", GW_AUTH_OK, ""},
        {"audience in array", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"aud\":[\"x\",\"shop\"]}", NULL, "shop", GW_AUTH_OK, ""},
        {"wrong audience", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"aud\":\"admin-portal\"}", NULL, "shop",
         GW_AUTH_EINVALID, "audience"},
        {"missing audience", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"42\",\"exp\":$FUTURE}", NULL,
         "shop", GW_AUTH_EINVALID, "audience"},
        {"wrong signature", SIGN_HS_OTHER, GW_ALG_HS256, VALID, NULL, NULL, GW_AUTH_EINVALID,
         "signature"},
        {"alg none", SIGN_NONE, GW_ALG_HS256, VALID, NULL, NULL, GW_AUTH_EINVALID, ""},
        {"alg none against RS256", SIGN_NONE, GW_ALG_RS256, VALID, NULL, NULL, GW_AUTH_EINVALID,
         ""},
        {"HS256 signed with the RS256 public key", SIGN_HS_WITH_PUBKEY, GW_ALG_RS256, VALID, NULL,
         NULL, GW_AUTH_EINVALID, ""},
        {"RS256 token where HS256 is configured", SIGN_RS, GW_ALG_HS256, VALID, NULL, NULL,
         GW_AUTH_EINVALID, ""},
        {"no sub", SIGN_HS, GW_ALG_HS256, "{\"exp\":$FUTURE}", NULL, NULL, GW_AUTH_EINVALID, "sub"},
        {"numeric sub", SIGN_HS, GW_ALG_HS256, "{\"sub\":42,\"exp\":$FUTURE}", NULL, NULL,
         GW_AUTH_EINVALID, "sub"},
        {"sub with a newline", SIGN_HS, GW_ALG_HS256, "{\"sub\":\"4\\n2\",\"exp\":$FUTURE}", NULL,
         NULL, GW_AUTH_EINVALID, "sub"},
        {"roles not an array", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"roles\":\"admin\"}", NULL, NULL, GW_AUTH_EINVALID,
         "roles"},
        {"role with a comma", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"roles\":[\"a,admin\"]}", NULL, NULL, GW_AUTH_EINVALID,
         "roles"},
        {"email not a string", SIGN_HS, GW_ALG_HS256,
         "{\"sub\":\"42\",\"exp\":$FUTURE,\"email\":7}", NULL, NULL, GW_AUTH_EINVALID, "email"},
};

START_TEST(token_table)
{
	const struct token_case *c = &tokens[_i];
	gw_auth_t *a = verifier(c->verify, c->iss, c->aud);
	char *tok = sign(c->sign, c->claims), *hdr, why[160] = "";
	gw_identity_t id;
	int rc;

	ck_assert_int_gt(asprintf(&hdr, "Bearer %s", tok), 0);
	/* Twice: the second time a valid token comes from the verified-token
	 * cache, and the answer must be the same. */
	for (int pass = 0; pass < 2; pass++) {
		why[0] = '\0';
		rc = gw_auth_verify(a, hdr, NOW, &id, why, sizeof(why));
		ck_assert_msg(rc == c->expect, "%s (pass %d): got %d (%s), want %d", c->name, pass,
		              rc, why, c->expect);
		ck_assert_msg(strstr(why, c->why) != NULL, "%s: reason '%s' lacks '%s'", c->name,
		              why, c->why);
		ck_assert_msg(strstr(why, tok) == NULL, "the reason must not echo the token");
		if (rc == GW_AUTH_OK)
			ck_assert_str_eq(id.sub, "42");
	}
	free(hdr);
	free(tok);
	gw_auth_free(a);
}
END_TEST

static const struct header_case {
	const char *header; /* "$TOK" is replaced by a valid token */
	int expect;
} headers[] = {
        {NULL, GW_AUTH_EMISSING},
        {"", GW_AUTH_EMISSING},
        {"Basic dXNlcjpwdw==", GW_AUTH_EMISSING},
        {"Bearer", GW_AUTH_EMISSING},
        {"Bearer ", GW_AUTH_EMISSING},
        {"Bearer $TOK", GW_AUTH_OK},
        {"bearer $TOK", GW_AUTH_OK},
        {"Bearer   $TOK  ", GW_AUTH_OK},
        {"Bearer garbage", GW_AUTH_EINVALID},
        {"Bearer a.b.c", GW_AUTH_EINVALID},
        {"Bearer ...", GW_AUTH_EINVALID},
        {"Bearer $TOK.extra", GW_AUTH_EINVALID},
        {"Bearer $TOK $TOK", GW_AUTH_EINVALID},
        {"Bearer !!!.???.***", GW_AUTH_EINVALID},
};

START_TEST(header_table)
{
	const struct header_case *c = &headers[_i];
	gw_auth_t *a = verifier(GW_ALG_HS256, NULL, NULL);
	char *tok = sign(SIGN_HS, VALID), why[160] = "", *h = NULL;
	gw_identity_t id;
	int rc;

	if (c->header != NULL) {
		const char *p = c->header;
		size_t n = 0;

		h = calloc(1, strlen(c->header) + 2 * strlen(tok) + 1);
		while (*p != '\0') {
			if (strncmp(p, "$TOK", 4) == 0) {
				n += (size_t)sprintf(h + n, "%s", tok);
				p += 4;
			} else {
				h[n++] = *p++;
			}
		}
	}
	rc = gw_auth_verify(a, h, NOW, &id, why, sizeof(why));
	ck_assert_msg(rc == c->expect, "'%s': got %d (%s), want %d", c->header ? c->header : "NULL",
	              rc, why, c->expect);
	free(h);
	free(tok);
	gw_auth_free(a);
}
END_TEST

/* Every prefix of a valid token is refused: truncation never passes. */
START_TEST(truncated_tokens)
{
	gw_auth_t *a = verifier(GW_ALG_RS256, NULL, NULL);
	char *tok = sign(SIGN_RS, VALID), why[160];
	size_t n = strlen(tok);
	gw_identity_t id;

	for (size_t cut = 1; cut < n; cut += 7) {
		char *h;

		ck_assert_int_gt(asprintf(&h, "Bearer %.*s", (int)(n - cut), tok), 0);
		ck_assert_int_ne(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)), GW_AUTH_OK);
		free(h);
	}
	free(tok);
	gw_auth_free(a);
}
END_TEST

START_TEST(identity_claims)
{
	gw_auth_t *a = verifier(GW_ALG_HS256, NULL, NULL);
	char *tok = sign(SIGN_HS, "{\"sub\":\"c-7\",\"email\":\"x@example.com\","
	                          "\"roles\":[\"customer\",\"admin\"],\"exp\":$FUTURE}");
	char *h, why[160];
	gw_identity_t id;

	ck_assert_int_gt(asprintf(&h, "Bearer %s", tok), 0);
	ck_assert_int_eq(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)), GW_AUTH_OK);
	ck_assert_str_eq(id.sub, "c-7");
	ck_assert_str_eq(id.email, "x@example.com");
	ck_assert_str_eq(id.roles, "customer,admin");
	ck_assert(gw_auth_has_role(&id, "admin"));
	ck_assert(gw_auth_has_role(&id, "customer"));
	ck_assert(!gw_auth_has_role(&id, "adm"));
	ck_assert(!gw_auth_has_role(&id, "admin,"));
	free(h);
	free(tok);
	gw_auth_free(a);
}
END_TEST

/* The `token` subcommand's path: what gw_auth_issue makes, gw_auth_verify
 * accepts, for both algorithms, with iss and aud. */
START_TEST(issue_roundtrip)
{
	for (int rs = 0; rs <= 1; rs++) {
		gw_alg_t alg = rs ? GW_ALG_RS256 : GW_ALG_HS256;
		gw_auth_t *a = verifier(alg, "iss-1", "aud-1");
		char *key = rs ? ts_slurp(ts_rsa_private()) : strdup(TS_SECRET);
		char err[256], why[160], *tok, *h;
		gw_identity_t id;

		tok = gw_auth_issue(alg, key, strlen(key), "42", "a@example.com", "admin,ops", 60,
		                    "iss-1", "aud-1", NOW, err, sizeof(err));
		ck_assert_msg(tok != NULL, "%s", err);
		ck_assert_int_gt(asprintf(&h, "Bearer %s", tok), 0);
		ck_assert_int_eq(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)), GW_AUTH_OK);
		ck_assert_str_eq(id.roles, "admin,ops");
		/* ttl 60 + leeway 30: refused 91 s later. */
		ck_assert_int_eq(gw_auth_verify(a, h, NOW + 91, &id, why, sizeof(why)),
		                 GW_AUTH_EINVALID);
		free(h);
		free(tok);
		free(key);
		gw_auth_free(a);
	}
}
END_TEST

/* A cached token is still checked against the clock on every use (exp and
 * nbf with the leeway), a token that differs by one byte is verified afresh,
 * and past the cache's size every token still gets its own identity. */
START_TEST(verified_token_cache)
{
	gw_auth_t *a = verifier(GW_ALG_HS256, NULL, NULL);
	char *tok = sign(SIGN_HS, "{\"sub\":\"42\",\"roles\":[\"admin\"],\"nbf\":$NOW,"
	                          "\"exp\":$FUTURE}");
	char *h, *forged, why[160];
	size_t n = strlen(tok);
	gw_identity_t id;

	ck_assert_int_gt(asprintf(&h, "Bearer %s", tok), 0);
	ck_assert_int_eq(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)), GW_AUTH_OK);
	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)), GW_AUTH_OK);
	ck_assert_str_eq(id.sub, "42");
	ck_assert_str_eq(id.roles, "admin");
	/* exp + leeway (30 s) and nbf - leeway, from the cached entry. */
	ck_assert_int_eq(gw_auth_verify(a, h, NOW + 3600 + 30, &id, why, sizeof(why)), GW_AUTH_OK);
	ck_assert_int_eq(gw_auth_verify(a, h, NOW + 3600 + 31, &id, why, sizeof(why)),
	                 GW_AUTH_EINVALID);
	ck_assert_ptr_nonnull(strstr(why, "expired"));
	ck_assert_int_eq(gw_auth_verify(a, h, NOW - 30, &id, why, sizeof(why)), GW_AUTH_OK);
	ck_assert_int_eq(gw_auth_verify(a, h, NOW - 31, &id, why, sizeof(why)), GW_AUTH_EINVALID);
	ck_assert_ptr_nonnull(strstr(why, "not valid yet"));
	/* One signature character changed: not the cached token. */
	forged = strdup(h);
	forged[7 + n - 5] = forged[7 + n - 5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(gw_auth_verify(a, forged, NOW, &id, why, sizeof(why)), GW_AUTH_EINVALID);
	ck_assert_ptr_nonnull(strstr(why, "signature"));
	free(forged);
	free(h);
	free(tok);
	/* Four times as many tokens as the cache holds, each verified twice:
	 * evictions never hand one customer's identity to another. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4096; i++) {
			char claims[128], sub[16];

			snprintf(sub, sizeof(sub), "c-%d", i);
			snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"exp\":$FUTURE}", sub);
			tok = sign(SIGN_HS, claims);
			ck_assert_int_gt(asprintf(&h, "Bearer %s", tok), 0);
			ck_assert_int_eq(gw_auth_verify(a, h, NOW, &id, why, sizeof(why)),
			                 GW_AUTH_OK);
			ck_assert_str_eq(id.sub, sub);
			free(h);
			free(tok);
		}
	}
	gw_auth_free(a);
}
END_TEST

START_TEST(bad_keys_refused)
{
	char err[256];

	ck_assert_ptr_null(gw_auth_new(GW_ALG_HS256, NULL, 0, NULL, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_null(gw_auth_new(GW_ALG_HS256, "", 0, NULL, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_null(
	        gw_auth_new(GW_ALG_RS256, "not a pem", 9, NULL, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_null(gw_auth_issue(GW_ALG_HS256, TS_SECRET, strlen(TS_SECRET), "", NULL, NULL,
	                                 60, NULL, NULL, NOW, err, sizeof(err)));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api-gateway auth");
	TCase *tc = tcase_create("tokens");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, token_table, 0, (int)(sizeof(tokens) / sizeof(tokens[0])));
	tcase_add_loop_test(tc, header_table, 0, (int)(sizeof(headers) / sizeof(headers[0])));
	tcase_add_test(tc, truncated_tokens);
	tcase_add_test(tc, identity_claims);
	tcase_add_test(tc, issue_roundtrip);
	tcase_add_test(tc, verified_token_cache);
	tcase_add_test(tc, bad_keys_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	ts_rsa_private(); /* once, before the forks */
	return ts_run_suite(suite());
}
