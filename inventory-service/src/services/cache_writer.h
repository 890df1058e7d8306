/*
 * The products cache's writer: a thread that writes the (version, balance)
 * the batches hand it to the products collection, off the consumer's flush.
 *
 * The cache is only a starting point for finding a SKU's head (stock.c), so
 * it may lag the ledger by any amount and its writes need not be ordered
 * with anything. On FerretDB each write is a scan of the products collection
 * plus an update; inside the flush they cost a third of a small batch's time
 * (bench/inventory-service) and every order queued behind it waited for
 * them. Entries for one SKU that arrive before the thread gets to them are
 * merged into the newest. Bounded: past INV_CACHE_WRITER_MAX waiting SKUs,
 * new ones are dropped (a longer head search later, nothing worse).
 */
#ifndef INV_CACHE_WRITER_H
#define INV_CACHE_WRITER_H

#include <stddef.h>

#include "config/database.h"
#include "repositories/products.h"

#define INV_CACHE_WRITER_MAX 8192

typedef struct inv_cache_writer inv_cache_writer_t;

/* Starts the thread writing to DB. NULL with ERR if it cannot start. */
inv_cache_writer_t *inv_cache_writer_start(inv_db_t *db, char *err, size_t errsz);

/* Queues the N entries C (copied). */
void inv_cache_writer_put(inv_cache_writer_t *w, const inv_cached_stock_t *c, size_t n);

/* Writes what waits, stops the thread, frees W. W may be NULL. */
void inv_cache_writer_stop(inv_cache_writer_t *w);

#endif
