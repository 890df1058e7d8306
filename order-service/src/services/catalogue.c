/*
 * The catalogue replica (see catalogue.h).
 */
#include "services/catalogue.h"

#include <stdio.h>

#include "services/price_cache.h"

#include "eda/clock.h"
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
	if (rc == 1 && s->prices != NULL) {
		/* Stored, so the newest: orders priced from memory see it now. */
		os_product_t p = {.price = price, .version = version};

		snprintf(p.sku, sizeof(p.sku), "%s", sku);
		snprintf(p.currency, sizeof(p.currency), "%s", currency);
		os_price_cache_put(s->prices, &p, eda_clock_mono_ms());
	}
	return rc;
}
