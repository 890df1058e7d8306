/*
 * SQL for the catalogue replica (table `catalogue`, R_catalogue.sql; see
 * repositories/orders.h for the conventions).
 */
#ifndef OS_REPO_CATALOGUE_H
#define OS_REPO_CATALOGUE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "models/order.h"
#include "models/product.h"

/* Stores SKU's NAME, PRICE (cents), CURRENCY as of VERSION, unless the replica
 * already holds that version or a newer one. Returns 1 when stored, 0 when an
 * equal or newer version is there (a redelivered or out-of-order event), -1. */
int os_repo_catalogue_upsert(PGconn *c, const char *sku, const char *name, int64_t price,
                             const char *currency, long long version, char *err, size_t errsz);

/* The catalogue entries of O's SKUs (one indexed read) into OUT, which has
 * room for O->nitems entries. Returns how many were found (SKUs the replica
 * does not know are missing) or -1. */
int os_repo_catalogue_find(PGconn *c, const os_order_t *o, os_product_t *out, char *err,
                           size_t errsz);

#endif
