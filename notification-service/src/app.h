/*
 * The whole daemon as one object, so that main() and the tests run exactly the
 * same wiring: metrics, HTTP server (/healthz, /readyz, /metrics), DLQ
 * producer, transport (SMTP or spool), mailer, notifier and consumer.
 */
#ifndef NOTIF_APP_H
#define NOTIF_APP_H

#include <stddef.h>

#include "config/settings.h"
#include "eda/metrics.h"

typedef struct notif_app notif_app_t;

/* Builds every component from S (borrowed; its strings must outlive the app).
 * Returns NULL with ERR naming the failing part. Nothing runs yet. */
notif_app_t *notif_app_new(const notif_settings_t *s, char *err, size_t errsz);

/* Starts the HTTP server and the consumer. 0, or -1 with ERR. */
int notif_app_start(notif_app_t *a, char *err, size_t errsz);

/* The daemon's life after notif_app_new(): starts, serves until SIGTERM or
 * SIGINT, then arms the shutdown watchdog (SHUTDOWN_TIMEOUT_S) so that
 * notif_app_free() cannot hang the process. 0, or 1 if it could not start
 * (logged). */
int notif_app_run(notif_app_t *a);

/* The HTTP port (useful with PORT=0 in tests) and the metrics registry. */
unsigned short notif_app_port(const notif_app_t *a);
eda_metrics_t *notif_app_metrics(const notif_app_t *a);

/* Graceful stop in dependency order: HTTP, consumer (commits stored offsets),
 * DLQ producer flush; then frees everything. NULL is fine. */
void notif_app_free(notif_app_t *a);

#endif
