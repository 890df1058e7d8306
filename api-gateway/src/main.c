/*
 * api-gateway: the API's front door (DESIGN.md). Without arguments it serves
 * until SIGTERM/SIGINT (app.c); `api-gateway token ...` prints a token for
 * local use (cli/token.c). main() only reads the command line and the
 * settings and hands over.
 */
#include "app.h"
#include "cli/token.h"
#include "config/settings.h"
#include "eda/log.h"
#include "eda/shutdown.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define SERVICE "api-gateway"

static int serve(const gw_settings_t *s)
{
	char err[512];
	gw_app_t *app = gw_app_new(s, err, sizeof(err));
	int rc;

	if (app == NULL) {
		fprintf(stderr, "%s: configuration error: %s\n", SERVICE, err);
		return 2;
	}
	rc = gw_app_run(app);
	gw_app_free(app);
	if (rc == 0)
		eda_log(EDA_LOG_INFO, "stopped", NULL);
	return rc;
}

int main(int argc, char **argv)
{
	gw_settings_t s;
	eda_env_t env;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		gw_usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "token") != 0) {
		gw_usage(stderr);
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
	rc = argc > 1 ? gw_token_command(argc - 1, argv + 1, &s) : serve(&s);
	curl_global_cleanup();
	gw_settings_free(&s);
	return rc;
}
