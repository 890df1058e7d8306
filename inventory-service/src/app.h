/*
 * The whole daemon as one object: MongoDB, the publisher and its outbox
 * replay, the services' context (services/context.h), the retention purge,
 * the consumers of the orders topic and the HTTP server, wired from the
 * settings in the order they need each other. main.c only reads the command
 * line and the settings, then calls these.
 */
#ifndef INV_APP_H
#define INV_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "config/settings.h"

#define INV_SERVICE_NAME "inventory-service"

typedef struct inv_app inv_app_t;

/* What the functions below answer besides 0. */
enum {
	INV_APP_ERR = -1,    /* a dependency failed (exit status 1) */
	INV_APP_CONFIG = -2, /* a setting the libraries refuse (exit status 2) */
};

/* Opens the database (waiting for MongoDB at start-up: 30 attempts, each
 * bounded by its deadline, and creating the indexes), the publisher, and
 * the services' context; publishes what the outbox holds unpublished and
 * announces what a crash left unannounced in the catalogue
 * (services/catalogue.h). Nothing consumes or serves yet. S is borrowed and
 * must outlive the app. *OUT gets the app (0), or NULL with ERR and
 * INV_APP_ERR or INV_APP_CONFIG, with everything made so far freed. */
int inv_app_new(const inv_settings_t *s, inv_app_t **out, char *err, size_t errsz);

/* Loads the catalogue at PATH (services/catalogue.h): each entry a
 * create-or-replace. THEN_EXIT: the process stops after it, so this waits up
 * to 30 s for the events it published to be acknowledged (what is not stays
 * in the outbox for the next start). Returns the number of products, or -1
 * with ERR (a bad file or a failed write). */
int inv_app_seed(inv_app_t *a, const char *path, bool then_exit, char *err, size_t errsz);

/* Starts the retention purge, the consumers and the HTTP server, waits for
 * SIGTERM or SIGINT (eda/shutdown.h, set up by the caller), then arms the
 * shutdown watchdog (SHUTDOWN_TIMEOUT_S). Returns 0 after a signal, or
 * INV_APP_ERR or INV_APP_CONFIG when something could not start (logged). */
int inv_app_run(inv_app_t *a);

/* Stops in order (HTTP, the consumers, which commit what is done, the purge
 * and the cache writer, the publisher, flushing within 10 s) and frees
 * everything. NULL is fine. */
void inv_app_free(inv_app_t *a);

#endif
