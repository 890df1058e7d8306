/*
 * SQL for the record of payments (table `payments`, 005_payments.sql; see
 * repositories/orders.h for the conventions).
 */
#ifndef OS_REPO_PAYMENTS_H
#define OS_REPO_PAYMENTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Records payment PAYMENT_ID of KIND ("processed" | "failed") for ORDER_ID
 * with AMOUNT (cents), CURRENCY and what it did (OUTCOME), inside the
 * caller's transaction. Returns 1, or 0 when that payment id and kind are
 * already recorded (the provider sent it again under another event id), -1. */
int os_repo_payment_insert(PGconn *c, const char *order_id, const char *payment_id,
                           const char *kind, int64_t amount, const char *currency,
                           const char *outcome, char *err, size_t errsz);

#endif
