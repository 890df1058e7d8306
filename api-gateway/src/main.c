/*
 * api-gateway: the API's front door (DESIGN.md). Without arguments it serves
 * until SIGTERM/SIGINT; `api-gateway token --sub ID [--email E] [--roles
 * a,b] [--ttl S]` prints a token signed with the configured key, for the
 * README's curl examples and for local use.
 */
#include "config/settings.h"
#include "eda/log.h"
#include "eda/shutdown.h"
#include "services/gateway.h"
#include "utils/auth.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE "api-gateway"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s                 serve (configured from the environment)\n"
	        "       %s token --sub ID [--email ADDRESS] [--roles ROLE,...] [--ttl "
	        "SECONDS]\n",
	        SERVICE, SERVICE);
}

static int token_command(int argc, char **argv, const gw_settings_t *s)
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
			usage(stdout);
			return 0;
		default:
			usage(stderr);
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

static int serve(const gw_settings_t *s)
{
	char err[512];
	gw_gateway_t *g = gw_gateway_new(s, err, sizeof(err));
	int sig;

	if (g == NULL) {
		fprintf(stderr, "%s: configuration error: %s\n", SERVICE, err);
		return 2;
	}
	if (gw_gateway_start(g, err, sizeof(err)) != 0) {
		eda_log(EDA_LOG_ERROR, "cannot start", "error", err, NULL);
		gw_gateway_free(g);
		return 1;
	}
	sig = eda_shutdown_wait(-1);
	eda_logf(EDA_LOG_INFO, "shutting down on signal %d", sig);
	/* Drain (5 s) + server drain (5 s) + margin: a hang past this is a bug
	 * and must not keep the pod from terminating. */
	eda_shutdown_deadline(20);
	gw_gateway_free(g);
	eda_log(EDA_LOG_INFO, "stopped", NULL);
	return 0;
}

int main(int argc, char **argv)
{
	gw_settings_t s;
	eda_env_t env;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "token") != 0) {
		usage(stderr);
		return 2;
	}
	if (eda_shutdown_init() != 0) {
		fprintf(stderr, "%s: cannot set up signal handling\n", SERVICE);
		return 1;
	}
	eda_env_init(&env);
	gw_settings_load(&s, &env);
	eda_env_exit_on_error(&env, SERVICE);
	eda_log_init(SERVICE, s.log_level);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "%s: cannot initialise libcurl\n", SERVICE);
		gw_settings_free(&s);
		return 1;
	}
	rc = argc > 1 ? token_command(argc - 1, argv + 1, &s) : serve(&s);
	curl_global_cleanup();
	gw_settings_free(&s);
	return rc;
}
