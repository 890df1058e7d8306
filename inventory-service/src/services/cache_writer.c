/* The products cache's writer thread; see cache_writer.h. */
#include "services/cache_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"
#include "eda/log.h"
#include "models/product.h"
#include "utils/crash.h"

typedef struct entry {
	char sku[INV_SKU_MAX + 1];
	int64_t stock, version;
} entry_t;

struct inv_cache_writer {
	inv_db_t *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	entry_t *waiting; /* guarded by mu */
	size_t nwaiting;
	bool stopping, dropped;
};

/* Writes the N entries E; a failure is logged: the ledger holds the truth. */
static void write_entries(inv_db_t *db, const entry_t *e, size_t n)
{
	inv_cached_stock_t *c = eda_xcalloc(n + 1, sizeof(*c));
	char err[256];

	for (size_t i = 0; i < n; i++)
		c[i] = (inv_cached_stock_t){
		        .sku = e[i].sku, .stock = e[i].stock, .version = e[i].version};
	if (inv_products_cache_many(db, c, n, err, sizeof(err)) != 0)
		eda_log(EDA_LOG_WARN, "stock cache not updated", "why", err, NULL);
	inv_crash_point("cache-update");
	free(c);
}

static void *run(void *arg)
{
	inv_cache_writer_t *w = arg;
	entry_t *batch = eda_xcalloc(INV_CACHE_WRITER_MAX, sizeof(*batch));

	for (;;) {
		size_t n;
		bool stop;

		pthread_mutex_lock(&w->mu);
		while (w->nwaiting == 0 && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		n = w->nwaiting;
		memcpy(batch, w->waiting, n * sizeof(*batch));
		w->nwaiting = 0;
		stop = w->stopping;
		pthread_mutex_unlock(&w->mu);
		if (n > 0)
			write_entries(w->db, batch, n);
		if (stop)
			break;
	}
	free(batch);
	return NULL;
}

inv_cache_writer_t *inv_cache_writer_start(inv_db_t *db, char *err, size_t errsz)
{
	inv_cache_writer_t *w = eda_xcalloc(1, sizeof(*w));

	w->db = db;
	w->waiting = eda_xcalloc(INV_CACHE_WRITER_MAX, sizeof(*w->waiting));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		eda_errf(err, errsz, "cannot start the cache writer thread");
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w->waiting);
		free(w);
		return NULL;
	}
	return w;
}

void inv_cache_writer_put(inv_cache_writer_t *w, const inv_cached_stock_t *c, size_t n)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (k < w->nwaiting && strcmp(w->waiting[k].sku, c[i].sku) != 0)
			k++;
		if (k == w->nwaiting) {
			if (k == INV_CACHE_WRITER_MAX) {
				if (!w->dropped)
					eda_log(EDA_LOG_WARN, "stock cache writer full: dropping",
					        NULL);
				w->dropped = true;
				continue;
			}
			snprintf(w->waiting[k].sku, sizeof(w->waiting[k].sku), "%s", c[i].sku);
			w->nwaiting++;
		} else if (w->waiting[k].version >= c[i].version) {
			continue;
		}
		w->waiting[k].stock = c[i].stock;
		w->waiting[k].version = c[i].version;
	}
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void inv_cache_writer_stop(inv_cache_writer_t *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->waiting);
	free(w);
}
