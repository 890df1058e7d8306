/*
 * notification-service: e-mails customers about their orders. Reads order
 * events from Kafka and sends one e-mail per event through SMTP or into a
 * spool directory. main() only reads the settings, builds the app and waits
 * for SIGTERM/SIGINT; everything else lives in app.c and below.
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
	notif_settings_t s;
	eda_env_t env;
	notif_app_t *app;
	char err[1024];
	int rc;

	if (eda_shutdown_init() != 0) {
		fprintf(stderr, NOTIF_SERVICE_NAME ": cannot block signals\n");
		return 1;
	}
	eda_env_init(&env);
	notif_settings_load(&s, &env);
	eda_env_exit_on_error(&env, NOTIF_SERVICE_NAME);
	eda_log_init(NOTIF_SERVICE_NAME, s.log_level);

	app = notif_app_new(&s, err, sizeof(err));
	if (app == NULL) {
		/* Templates, spool directory, Kafka settings: configuration problems. */
		fprintf(stderr, NOTIF_SERVICE_NAME ": configuration error: %s\n", err);
		return 2;
	}
	rc = notif_app_run(app);
	notif_app_free(app);
	if (rc == 0)
		eda_log(EDA_LOG_INFO, "stopped", NULL);
	return rc;
}
