/*
 * The services' context (inv_ctx_t): what the services need from the
 * process, wired by src/app.c: the database and a way to hand a durable
 * event row to the publisher (a callback, so that services depend on neither
 * Kafka nor the events/ folder), plus the caches every service shares.
 */
#ifndef INV_CONTEXT_H
#define INV_CONTEXT_H

#include <pthread.h>

#include "config/database.h"
#include "services/cache_writer.h"
#include "services/heads.h"

#define INV_SOURCE "/inventory-service"

/* Hands the N serialized EVENTS of row ID of COLLECTION to the publisher; the
 * row is marked published once all of them are acknowledged. */
typedef void (*inv_publish_fn)(void *pub, const char *collection, const char *id,
                               const char *const *events, size_t n);

typedef struct inv_ctx {
	inv_db_t *db;
	inv_publish_fn publish; /* may be NULL: rows are then published at the next start */
	void *pub;
	inv_heads_t *heads; /* may be NULL: every change then starts from the products cache */
	/* Writes the batches' products cache entries; may be NULL: they are
	 * then written in the flush. */
	inv_cache_writer_t *cache;
	/* Held around a batch flush (events/consumers.c); may be NULL when the
	 * process has one consumer. */
	pthread_mutex_t *flush_lock;
	/* STORE_CURRENCY: a product's currency when its document has none. */
	const char *store_currency;
	/* Prices a reservation checks, cached under the catalogue's change
	 * token (services/prices.h); may be NULL: then read every time. */
	struct inv_prices *prices;
} inv_ctx_t;

#endif
