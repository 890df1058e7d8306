/*
 * The gateway's command line besides serving: `api-gateway token --sub ID
 * [--email E] [--roles a,b] [--ttl S]` prints a token signed with the
 * configured key (HS256: JWT_SECRET; RS256: JWT_PRIVATE_KEY_FILE), for the
 * README's curl examples and for local use. Production tokens come from an
 * identity provider.
 */
#ifndef GW_CLI_TOKEN_H
#define GW_CLI_TOKEN_H

#include "config/settings.h"

#include <stdio.h>

/* Prints the usage of both forms (serve, token) to F. */
void gw_usage(FILE *f);

/* Runs `token` with ARGV[0] = "token" and its options (getopt_long from
 * ARGV[1]) and the settings S (borrowed). Prints the token on stdout.
 * Returns the process exit status: 0, 1 when signing failed, 2 on a usage
 * error or an unusable key file (with one line on stderr). */
int gw_token_command(int argc, char **argv, const gw_settings_t *s);

#endif
