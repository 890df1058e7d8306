/* The retention purge's thread; see retention.h. */
#include "services/retention.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "models/product.h"
#include "repositories/retention.h"

/* The first purge waits this long: start-up (the outbox replay, the
 * consumer's first batches) comes first. */
#define FIRST_PURGE_S 10

struct inv_retention {
	inv_db_t *db;
	long retention_s, interval_s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping; /* guarded by mu */
};

long inv_retention_purge(inv_db_t *db, long retention_s, int64_t now_ms, char *err, size_t errsz)
{
	static const char *const colls[] = {INV_COLL_OUTBOX, INV_COLL_CLAIMS};
	int64_t cutoff = now_ms - (int64_t)retention_s * 1000;
	long total = 0;

	for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
		long n = inv_purge_older(db, colls[i], cutoff, err, errsz);

		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

/* Waits up to S seconds or until stopped. Returns true when stopping. */
static bool wait_s(inv_retention_t *r, long s)
{
	struct timespec ts;
	bool stop;

	ts = eda_clock_deadline(CLOCK_REALTIME, (int64_t)s * 1000);
	pthread_mutex_lock(&r->mu);
	while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
		;
	stop = r->stopping;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

static void *run(void *arg)
{
	inv_retention_t *r = arg;
	long wait = FIRST_PURGE_S;

	while (!wait_s(r, wait)) {
		char err[256];
		long n = inv_retention_purge(r->db, r->retention_s, eda_clock_wall_ms(), err,
		                             sizeof(err));

		if (n < 0)
			eda_log(EDA_LOG_WARN, "purge failed", "why", err, NULL);
		else if (n > 0)
			eda_logf(EDA_LOG_INFO, "purged %ld outbox rows and claims", n);
		wait = r->interval_s;
	}
	return NULL;
}

inv_retention_t *inv_retention_start(inv_db_t *db, long retention_s, long interval_s, char *err,
                                     size_t errsz)
{
	inv_retention_t *r = eda_xcalloc(1, sizeof(*r));

	r->db = db;
	r->retention_s = retention_s;
	r->interval_s = interval_s;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		eda_errf(err, errsz, "cannot start the purge thread");
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	return r;
}

void inv_retention_stop(inv_retention_t *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
