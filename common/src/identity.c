/*
 * The caller's identity from the gateway's headers (see eda/identity.h).
 */
#include "eda/identity.h"

#include <string.h>

/* What separates the names of a role list: a JWT roles claim joined with
 * commas by the gateway, or a list typed by hand with spaces. */
#define ROLE_SEPARATORS ", \t"

static const struct {
	const char *name;
	unsigned bit;
} known_roles[] = {
        {"admin", EDA_ROLE_ADMIN},
        {"customer", EDA_ROLE_CUSTOMER},
};

static unsigned role_bit_n(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(known_roles) / sizeof(known_roles[0]); i++) {
		if (strlen(known_roles[i].name) == n && strncmp(known_roles[i].name, name, n) == 0)
			return known_roles[i].bit;
	}
	return 0;
}

unsigned eda_role_bit(const char *name)
{
	return name != NULL ? role_bit_n(name, strlen(name)) : 0;
}

int eda_roles_parse(const char *list, unsigned *mask)
{
	int unknown = 0;

	*mask = 0;
	if (list == NULL)
		return 0;
	for (const char *p = list + strspn(list, ROLE_SEPARATORS); *p != '\0';
	     p += strspn(p, ROLE_SEPARATORS)) {
		size_t n = strcspn(p, ROLE_SEPARATORS);
		unsigned bit = role_bit_n(p, n);

		if (bit == 0)
			unknown++;
		*mask |= bit;
		p += n;
	}
	return unknown;
}

int eda_identity_read(const eda_http_req_t *r, eda_identity_t *id)
{
	id->customer_id = eda_http_req_header(r, EDA_HEADER_CUSTOMER_ID);
	id->email = eda_http_req_header(r, EDA_HEADER_CUSTOMER_EMAIL);
	/* Unknown roles grant nothing; the gateway passes whatever the token
	 * lists, so they are not an error here. */
	(void)eda_roles_parse(eda_http_req_header(r, EDA_HEADER_ROLES), &id->roles);
	if (id->customer_id == NULL || id->customer_id[0] == '\0')
		return EDA_IDENTITY_MISSING;
	if (!eda_customer_id_valid(id->customer_id))
		return EDA_IDENTITY_INVALID;
	return EDA_IDENTITY_OK;
}
