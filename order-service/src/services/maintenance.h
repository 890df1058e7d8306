/*
 * The maintenance thread's work (src/app.c): the retention purge of old
 * rows and the outbox backlog for the outbox_pending gauge.
 */
#ifndef OS_SERVICES_MAINTENANCE_H
#define OS_SERVICES_MAINTENANCE_H

#include "services/order_service.h"

/* Deletes rows older than RETENTION_S (see os_repo_purge). Returns the count or -1. */
long long os_service_purge(os_service_t *s, long retention_s);

/* Rows of the outbox not yet published, or -1. */
long long os_service_outbox_pending(os_service_t *s);

#endif
