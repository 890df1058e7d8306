/*
 * The catalogue replica (see catalogue.h).
 */
#include "services/catalogue.h"

#include "eda/log.h"
#include "repositories/catalogue.h"

int os_catalogue_put(os_service_t *s, const char *sku, const char *name, int64_t price,
                     const char *currency, long long version)
{
	char err[512];
	PGconn *c = os_db_checkout(s->pool, s->db_wait_ms, err, sizeof(err));
	int rc;

	if (c == NULL) {
		eda_log(EDA_LOG_ERROR, "database unavailable", "error", err, NULL);
		return OS_EUNAVAILABLE;
	}
	/* One statement, its own transaction: the topic is small and changes
	 * rarely, so group commit would buy nothing here. */
	rc = os_repo_catalogue_upsert(c, sku, name, price, currency, version, err, sizeof(err));
	os_db_checkin(s->pool, c);
	if (rc < 0) {
		eda_log(EDA_LOG_ERROR, "cannot store a product", "sku", sku, "error", err, NULL);
		return OS_EUNAVAILABLE;
	}
	return rc;
}
