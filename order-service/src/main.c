/*
 * order-service: orders in PostgreSQL, a transactional outbox relayed to
 * Kafka, and the order saga's consumers. The command line and the settings
 * only; app.c wires and runs the daemon.
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "config/settings.h"
#include "eda/log.h"
#include "eda/settings.h"
#include "eda/shutdown.h"

int main(void)
{
	os_settings_t cfg;
	eda_env_t env;
	os_app_t *app;
	char err[512];
	int rc;

	if (eda_shutdown_init() != 0) {
		fprintf(stderr, "order-service: cannot set the signal mask\n");
		return 1;
	}
	eda_env_init(&env);
	os_settings_load(&cfg, &env);
	eda_env_exit_on_error(&env, "order-service");
	eda_log_init("order-service", cfg.log_level);
	app = os_app_new(&cfg, err, sizeof(err));
	if (app == NULL) {
		eda_log(EDA_LOG_ERROR, "cannot start", "error", err, NULL);
		return 1;
	}
	rc = os_app_run(app);
	os_app_free(app);
	eda_log(EDA_LOG_INFO, "stopped", NULL);
	return rc;
}
