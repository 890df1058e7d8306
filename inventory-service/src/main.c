/*
 * inventory-service: stock in MongoDB, exactly-once reservations from the
 * orders topic, the admin products API. main() only reads the command line
 * and the settings, then builds, runs and frees the app (app.c), which
 * wires everything else and stops it in order on SIGTERM/SIGINT.
 *
 *   inventory-service                 run the daemon
 *   inventory-service --seed FILE     load a catalogue, then run
 *   inventory-service seed FILE       load a catalogue and exit
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config/settings.h"
#include "eda/log.h"
#include "eda/settings.h"
#include "eda/shutdown.h"
#include "utils/crash.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [--seed FILE] | seed FILE\n"
	        "Configuration comes from the environment; see .env.example.\n",
	        INV_SERVICE_NAME);
}

/* The exit status for an inv_app_* result. */
static int exit_status(int rc)
{
	return rc == 0 ? 0 : rc == INV_APP_CONFIG ? 2 : 1;
}

int main(int argc, char **argv)
{
	const char *seed = NULL;
	bool seed_only = false;
	inv_settings_t cfg;
	eda_env_t env;
	inv_app_t *app;
	char err[512];
	int rc;

	if (argc == 3 && strcmp(argv[1], "--seed") == 0) {
		seed = argv[2];
	} else if (argc == 3 && strcmp(argv[1], "seed") == 0) {
		seed = argv[2];
		seed_only = true;
	} else if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	} else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (eda_shutdown_init() != 0) {
		fprintf(stderr, "%s: cannot block signals\n", INV_SERVICE_NAME);
		return 1;
	}
	eda_env_init(&env);
	inv_settings_load(&cfg, &env);
	if (inv_crash_init(cfg.crash_at) != 0)
		eda_env_fail(&env, "INVENTORY_CRASH_AT", "must be empty or a positive integer");
	eda_env_exit_on_error(&env, INV_SERVICE_NAME);
	eda_log_init(INV_SERVICE_NAME, cfg.log_level);

	rc = inv_app_new(&cfg, &app, err, sizeof(err));
	if (rc != 0) {
		if (rc == INV_APP_CONFIG)
			fprintf(stderr, "%s: configuration error: %s\n", INV_SERVICE_NAME, err);
		return exit_status(rc);
	}
	if (seed != NULL && inv_app_seed(app, seed, seed_only, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: seed: %s\n", INV_SERVICE_NAME, err);
		rc = 2;
	} else if (!seed_only) {
		rc = exit_status(inv_app_run(app));
	}
	inv_app_free(app);
	return rc;
}
