/*
 * Retention and backlog of the order database (see maintenance.h).
 */
#include "services/maintenance.h"

#include "eda/log.h"
#include "repositories/outbox.h"

long long os_service_purge(os_service_t *s, long retention_s)
{
	char err[512], detail[256];
	PGconn *c = os_service_checkout(s, detail, sizeof(detail));
	long long n;

	if (c == NULL)
		return -1;
	n = os_repo_purge(c, retention_s, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (n < 0)
		eda_log(EDA_LOG_WARN, "purge failed", "error", err, NULL);
	return n;
}

long long os_service_outbox_pending(os_service_t *s)
{
	char err[512], detail[256];
	PGconn *c = os_service_checkout(s, detail, sizeof(detail));
	long long n;

	if (c == NULL)
		return -1;
	n = os_repo_outbox_pending(c, err, sizeof(err));
	os_db_checkin(s->pool, c);
	return n;
}
