/*
 * `api-gateway token`: mints a JWT with the configured key, for the README's
 * curl examples and for local use (see token.h).
 */
#include "cli/token.h"

#include "services/jwt_issue.h"
#include "utils/file.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE "api-gateway"

void gw_usage(FILE *f)
{
	fprintf(f,
	        "usage: %s                 serve (configured from the environment)\n"
	        "       %s token --sub ID [--email ADDRESS] [--roles ROLE,...] [--ttl "
	        "SECONDS]\n",
	        SERVICE, SERVICE);
}

int gw_token_command(int argc, char **argv, const gw_settings_t *s)
{
	static const struct option opts[] = {
	        {"sub", required_argument, NULL, 's'},   {"email", required_argument, NULL, 'e'},
	        {"roles", required_argument, NULL, 'r'}, {"ttl", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
	const char *sub = NULL, *email = NULL, *roles = NULL;
	long ttl = 3600;
	char err[512], *key, *tok, *end;
	size_t keylen;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sub = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'r':
			roles = optarg;
			break;
		case 't':
			ttl = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ttl < 1 || ttl > 31L * 24 * 3600) {
				fprintf(stderr, "%s token: --ttl must be 1..2678400 seconds\n",
				        SERVICE);
				return 2;
			}
			break;
		case 'h':
			gw_usage(stdout);
			return 0;
		default:
			gw_usage(stderr);
			return 2;
		}
	}
	if (sub == NULL || *sub == '\0' || optind != argc) {
		fprintf(stderr, "%s token: --sub is required\n", SERVICE);
		return 2;
	}
	if (s->jwt_alg == GW_ALG_HS256) {
		key = strdup(s->jwt_secret);
		keylen = strlen(key);
	} else if (s->jwt_private_key_file == NULL) {
		fprintf(stderr, "%s token: JWT_PRIVATE_KEY_FILE is needed to sign RS256 tokens\n",
		        SERVICE);
		return 2;
	} else {
		key = gw_read_file(s->jwt_private_key_file, 65536, &keylen, err, sizeof(err));
		if (key == NULL) {
			fprintf(stderr, "%s token: JWT_PRIVATE_KEY_FILE: %s\n", SERVICE, err);
			return 2;
		}
	}
	tok = gw_auth_issue(s->jwt_alg, key, keylen, sub, email, roles, ttl, s->jwt_issuer,
	                    s->jwt_audience, time(NULL), err, sizeof(err));
	free(key);
	if (tok == NULL) {
		fprintf(stderr, "%s token: %s\n", SERVICE, err);
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}
