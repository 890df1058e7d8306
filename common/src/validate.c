/*
 * SKU, UUID, e-mail and customer id shapes of the event contract (see eda/validate.h). The
 * contract's JSON Schemas in common/schemas/ say the same in patterns;
 * test_event_schemas.c runs bad events through both.
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

bool eda_email_valid(const char *s)
{
	const char *at, *domain;
	size_t n, dn;

	if (s == NULL)
		return false;
	at = strchr(s, '@');
	n = strlen(s);
	if (n > EDA_EMAIL_MAX || at == NULL || strchr(at + 1, '@') != NULL || at == s ||
	    at - s > EDA_EMAIL_LOCAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '!' || s[i] > '~')
			return false;
	}
	domain = at + 1;
	dn = strlen(domain);
	for (size_t i = 1; i + 1 < dn; i++) {
		if (domain[i] == '.')
			return true;
	}
	return false;
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
