/*
 * Bearer-token authentication (see jwt_verify.h). The claims are read as one JSON
 * object (jwt_get_grants_json) and checked with Jansson, because libjwt's
 * typed getters answer 0 for a missing claim and would let an absent "exp"
 * read as "expired in 1970" or, worse, a missing check pass.
 */
#include "services/jwt_verify.h"

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/identity.h"
#include "eda/validate.h"
#include "utils/file.h"

#include <jansson.h>
#include <jwt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Verified tokens are cached: verifying one (base64, HMAC or RSA, two JSON
 * parses) was the largest CPU cost of a proxied request, and a client sends
 * the same token with every request until it expires. Keyed by the exact
 * token bytes (hash, then a full comparison), so a hit is a token whose
 * signature was already verified with the same key: the signature is a
 * function of those bytes. Only the time checks depend on when the token is
 * used, so the entry keeps exp and nbf and they are checked again on every
 * use, with the leeway, exactly as for a fresh token; everything else
 * (issuer, audience, sub, email, roles) was checked when it was cached.
 * Bounded: CACHE_SHARDS x CACHE_SLOTS entries, direct-mapped, a newcomer
 * replaces whatever held its slot. Only tokens that passed every check are
 * stored, so garbage cannot push valid tokens out in bulk. */
#define CACHE_SHARDS 16
#define CACHE_SLOTS  64

/* The time claims, the only ones whose outcome changes with the clock. */
struct validity {
	double exp;
	double nbf;
	bool has_nbf;
};

struct cached_token {
	uint64_t hash;
	char *token; /* owned; NULL when the slot is empty */
	size_t len;
	struct validity when;
	gw_identity_t id;
};

struct token_shard {
	pthread_mutex_t lock;
	struct cached_token slot[CACHE_SLOTS];
};

struct gw_auth {
	gw_alg_t alg;
	unsigned char *key;
	size_t keylen;
	char *issuer;
	char *audience;
	long leeway_s;
	/* CACHE_SHARDS shards: the one part of a verifier that changes after
	 * gw_auth_new(), always under its shard's lock. */
	struct token_shard *cache;
};

static jwt_alg_t jwt_alg_of(gw_alg_t alg)
{
	return alg == GW_ALG_RS256 ? JWT_ALG_RS256 : JWT_ALG_HS256;
}

gw_auth_t *gw_auth_new(gw_alg_t alg, const void *key, size_t keylen, const char *issuer,
                       const char *audience, long leeway_s, char *err, size_t errsz)
{
	gw_auth_t *a;

	/* A NULL or empty key makes libjwt skip verification (FACTS.md). */
	if (key == NULL || keylen == 0 || keylen > 65536) {
		eda_errf(err, errsz, "the JWT key is empty or too large");
		return NULL;
	}
	if (alg == GW_ALG_RS256 && memmem(key, keylen, "-----BEGIN PUBLIC KEY-----", 26) == NULL) {
		eda_errf(err, errsz, "the RS256 key is not a PEM public key");
		return NULL;
	}
	a = eda_xcalloc(1, sizeof(*a));
	a->alg = alg;
	a->key = eda_xmalloc(keylen + 1);
	memcpy(a->key, key, keylen);
	a->key[keylen] = '\0';
	a->keylen = keylen;
	a->issuer = issuer != NULL ? eda_xstrdup(issuer) : NULL;
	a->audience = audience != NULL ? eda_xstrdup(audience) : NULL;
	a->leeway_s = leeway_s < 0 ? 0 : leeway_s;
	a->cache = eda_xcalloc(CACHE_SHARDS, sizeof(*a->cache));
	for (size_t i = 0; i < CACHE_SHARDS; i++)
		pthread_mutex_init(&a->cache[i].lock, NULL);
	return a;
}

gw_auth_t *gw_auth_from_settings(const gw_settings_t *s, char *err, size_t errsz)
{
	gw_auth_t *a;
	char *pem;
	size_t n;

	if (s->jwt_alg == GW_ALG_HS256)
		return gw_auth_new(GW_ALG_HS256, s->jwt_secret,
		                   s->jwt_secret != NULL ? strlen(s->jwt_secret) : 0, s->jwt_issuer,
		                   s->jwt_audience, s->jwt_leeway_s, err, errsz);
	pem = gw_read_file(s->jwt_public_key_file, 65536, &n, err, errsz);
	if (pem == NULL)
		return NULL;
	a = gw_auth_new(GW_ALG_RS256, pem, n, s->jwt_issuer, s->jwt_audience, s->jwt_leeway_s, err,
	                errsz);
	free(pem);
	return a;
}

void gw_auth_free(gw_auth_t *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < CACHE_SHARDS; i++) {
		for (size_t j = 0; j < CACHE_SLOTS; j++)
			free(a->cache[i].slot[j].token);
		pthread_mutex_destroy(&a->cache[i].lock);
	}
	free(a->cache);
	free(a->key);
	free(a->issuer);
	free(a->audience);
	free(a);
}

/* Header-safe text: printable, no control bytes and no comma, the separator
 * of the X-Roles list (UTF-8 above 0x7f allowed). */
static bool text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= max || c < 0x20 || c == 0x7f || c == ',')
			return false;
	}
	return n > 0;
}

/* Extracts the token from "Bearer <token>", refusing anything but the
 * base64url alphabet and the two dots of a JWS compact serialisation. */
static int bearer_token(const char *h, char tok[GW_MAX_TOKEN + 1], size_t *toklen, char *why,
                        size_t whysz)
{
	size_t n, dots = 0;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		eda_errf(why, whysz, "a Bearer token is required");
		return GW_AUTH_EMISSING;
	}
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && h[n - 1] == ' ')
		n--;
	if (n == 0) {
		eda_errf(why, whysz, "a Bearer token is required");
		return GW_AUTH_EMISSING;
	}
	if (n > GW_MAX_TOKEN) {
		eda_errf(why, whysz, "the token is too long");
		return GW_AUTH_EINVALID;
	}
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		           (c >= '0' && c <= '9') || c == '-' || c == '_'))
			dots = 99;
	}
	if (dots != 2) {
		eda_errf(why, whysz, "the token is malformed");
		return GW_AUTH_EINVALID;
	}
	memcpy(tok, h, n);
	tok[n] = '\0';
	*toklen = n;
	return GW_AUTH_OK;
}

/* A NumericDate claim; absent is OK only when not REQUIRED. */
static int numeric_date(json_t *claims, const char *name, bool required, double *out)
{
	json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return required ? -1 : 1;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

static bool audience_ok(json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	}
	return false;
}

static int read_roles(json_t *roles, gw_identity_t *id)
{
	size_t i, used = 0;
	json_t *v;

	id->roles[0] = '\0';
	if (roles == NULL)
		return 0;
	if (!json_is_array(roles))
		return -1;
	json_array_foreach(roles, i, v)
	{
		const char *r = json_string_value(v);
		int n;

		if (r == NULL || !text_ok(r, 64) || strchr(r, ' ') != NULL)
			return -1;
		n = snprintf(id->roles + used, sizeof(id->roles) - used, "%s%s", used ? "," : "",
		             r);
		if (n < 0 || (size_t)n >= sizeof(id->roles) - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

/* exp and nbf at time NOW, with the leeway: for a fresh token and for a
 * cached one alike. */
static int check_times(const gw_auth_t *a, const struct validity *v, time_t now, char *why,
                       size_t whysz)
{
	if ((double)now > v->exp + (double)a->leeway_s) {
		eda_errf(why, whysz, "the token has expired");
		return -1;
	}
	if (v->has_nbf && (double)now + (double)a->leeway_s < v->nbf) {
		eda_errf(why, whysz, "the token is not valid yet");
		return -1;
	}
	return 0;
}

static int check_claims(const gw_auth_t *a, json_t *c, time_t now, gw_identity_t *id,
                        struct validity *when, char *why, size_t whysz)
{
	const char *sub = json_string_value(json_object_get(c, "sub"));
	json_t *email = json_object_get(c, "email");
	int rc;

	memset(when, 0, sizeof(*when));
	if (numeric_date(c, "exp", true, &when->exp) != 0) {
		eda_errf(why, whysz, "the token has no valid exp claim");
		return -1;
	}
	rc = numeric_date(c, "nbf", false, &when->nbf);
	when->has_nbf = rc == 0;
	if (check_times(a, when, now, why, whysz) != 0)
		return -1;
	/* A malformed nbf (checked after exp, so an expired token still says
	 * so) cannot be trusted to have passed. */
	if (rc < 0) {
		eda_errf(why, whysz, "the token is not valid yet");
		return -1;
	}
	if (a->issuer != NULL) {
		const char *iss = json_string_value(json_object_get(c, "iss"));

		if (iss == NULL || strcmp(iss, a->issuer) != 0) {
			eda_errf(why, whysz, "the token has the wrong issuer");
			return -1;
		}
	}
	if (a->audience != NULL && !audience_ok(json_object_get(c, "aud"), a->audience)) {
		eda_errf(why, whysz, "the token is not meant for this audience");
		return -1;
	}
	if (sub == NULL || !eda_customer_id_valid(sub) || strlen(sub) >= sizeof(id->sub)) {
		eda_errf(why, whysz, "the token has no valid sub claim");
		return -1;
	}
	strcpy(id->sub, sub);
	id->email[0] = '\0';
	if (email != NULL && !json_is_null(email)) {
		const char *e = json_string_value(email);

		if (e == NULL || !text_ok(e, sizeof(id->email) - 1) || strchr(e, '@') == NULL) {
			eda_errf(why, whysz, "the token has an invalid email claim");
			return -1;
		}
		strcpy(id->email, e);
	}
	if (read_roles(json_object_get(c, "roles"), id) != 0) {
		eda_errf(why, whysz, "the token's roles claim is not an array of role names");
		return -1;
	}
	return 0;
}

/* ---- the verified-token cache ---------------------------------------------- */

/* FNV-1a: the cache only needs an even spread, and every hit is confirmed by
 * comparing the whole token. */
static uint64_t token_hash(const char *tok, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)tok[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct token_shard *shard_of(const gw_auth_t *a, uint64_t hash)
{
	return &a->cache[hash % CACHE_SHARDS];
}

static size_t slot_of(uint64_t hash)
{
	return (size_t)((hash / CACHE_SHARDS) % CACHE_SLOTS);
}

/* Compares in time independent of where the bytes differ: a cached token is
 * someone's credential, and an early-exit comparison would let a client who
 * found a token of the same hash and length learn it prefix by prefix. */
static bool same_bytes(const char *x, const char *y, size_t n)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	return diff == 0;
}

/* True with *ID and *WHEN filled if TOK was verified before. */
static bool cache_get(const gw_auth_t *a, const char *tok, size_t n, uint64_t hash,
                      gw_identity_t *id, struct validity *when)
{
	struct token_shard *sh = shard_of(a, hash);
	struct cached_token *c = &sh->slot[slot_of(hash)];
	bool hit;

	pthread_mutex_lock(&sh->lock);
	hit = c->token != NULL && c->hash == hash && c->len == n && same_bytes(c->token, tok, n);
	if (hit) {
		*id = c->id;
		*when = c->when;
	}
	pthread_mutex_unlock(&sh->lock);
	return hit;
}

static void cache_put(const gw_auth_t *a, const char *tok, size_t n, uint64_t hash,
                      const gw_identity_t *id, const struct validity *when)
{
	struct token_shard *sh = shard_of(a, hash);
	struct cached_token *c = &sh->slot[slot_of(hash)];
	char *copy = eda_xstrndup(tok, n);
	char *old;

	pthread_mutex_lock(&sh->lock);
	old = c->token;
	c->hash = hash;
	c->token = copy;
	c->len = n;
	c->when = *when;
	c->id = *id;
	pthread_mutex_unlock(&sh->lock);
	free(old);
}

int gw_auth_verify(const gw_auth_t *a, const char *authorization, time_t now, gw_identity_t *id,
                   char *why, size_t whysz)
{
	char tok[GW_MAX_TOKEN + 1];
	size_t n = 0;
	uint64_t hash;
	struct validity when;
	jwt_t *jwt = NULL;
	char *grants = NULL;
	json_t *claims = NULL;
	int rc = bearer_token(authorization, tok, &n, why, whysz);

	if (rc != GW_AUTH_OK)
		return rc;
	hash = token_hash(tok, n);
	if (cache_get(a, tok, n, hash, id, &when))
		return check_times(a, &when, now, why, whysz) == 0 ? GW_AUTH_OK : GW_AUTH_EINVALID;
	rc = GW_AUTH_EINVALID;
	/* The key is never NULL here (gw_auth_new refuses it), so libjwt
	 * verifies the signature of whatever algorithm the token names... */
	if (jwt_decode(&jwt, tok, a->key, (int)a->keylen) != 0 || jwt == NULL) {
		eda_errf(why, whysz, "the token signature or encoding is invalid");
		goto out;
	}
	/* ...and only the pinned one is acceptable: "none", and an HS256 token
	 * "signed" with our RS256 public key as its secret, stop here. */
	if (jwt_get_alg(jwt) != jwt_alg_of(a->alg)) {
		eda_errf(why, whysz, "the token is not signed with %s",
		         a->alg == GW_ALG_RS256 ? "RS256" : "HS256");
		goto out;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	claims = grants != NULL ? json_loads(grants, 0, NULL) : NULL;
	if (!json_is_object(claims)) {
		eda_errf(why, whysz, "the token has no claims");
		goto out;
	}
	if (check_claims(a, claims, now, id, &when, why, whysz) != 0)
		goto out;
	cache_put(a, tok, n, hash, id, &when);
	rc = GW_AUTH_OK;
out:
	json_decref(claims);
	free(grants);
	jwt_free(jwt);
	return rc;
}

bool gw_auth_has_role(const gw_identity_t *id, const char *role)
{
	unsigned mask, bit = eda_role_bit(role);

	/* The services read X-Roles with the same parser (eda/identity.h). */
	(void)eda_roles_parse(id->roles, &mask);
	return bit != 0 && (mask & bit) != 0;
}
