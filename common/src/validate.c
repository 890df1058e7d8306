/*
 * SKU, UUID, e-mail and customer id shapes of the event contract (see eda/validate.h). The
 * contract's JSON Schemas in common/schemas/ say the same in patterns;
 * test_event_schemas.c runs bad events through both. The e-mail rule is the
 * one notification-service needs to put an address into a mail header, so an
 * order accepted at the edge can always be mailed.
 */
#include "eda/validate.h"

#include <string.h>

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool eda_sku_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n < 1 || n > EDA_SKU_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

bool eda_uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != EDA_UUID_LEN)
		return false;
	for (size_t i = 0; i < EDA_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_lower_hex(s[i]))
			return false;
	}
	return true;
}

/* RFC 5322 atext: what the words of a dot-atom are made of. */
static bool is_atext(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* The N characters at S as an RFC 5322 dot-atom: words of atext joined by
 * single dots. */
static bool dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
			return false;
	}
	return true;
}

bool eda_email_valid(const char *s)
{
	const char *at;

	if (s == NULL || strlen(s) > EDA_EMAIL_MAX)
		return false;
	at = strchr(s, '@');
	/* A second '@' is not a domain character, so the domain check refuses it. */
	return at != NULL && at - s <= EDA_EMAIL_LOCAL_MAX && dot_atom(s, (size_t)(at - s)) &&
	       eda_email_domain_valid(at + 1);
}

bool eda_email_domain_valid(const char *d)
{
	size_t label = 0, labels = 0;

	if (d == NULL)
		return false;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			/* An empty label is a leading, doubled or trailing dot. */
			if (label == 0 || p[-1] == '-')
				return false;
			labels++;
			label = 0;
			if (*p == '\0')
				break;
		} else if ((!is_alnum(*p) && (*p != '-' || label == 0)) ||
		           ++label > EDA_EMAIL_LABEL_MAX) {
			return false; /* not a label character, or the label is too long */
		}
	}
	return labels >= 2;
}

bool eda_customer_id_valid(const char *s)
{
	size_t chars = 0;

	if (s == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= EDA_CUSTOMER_ID_MAX;
}
