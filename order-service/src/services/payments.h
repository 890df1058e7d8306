/*
 * Payments from outside (the payment service is not part of this project):
 * what a PaymentProcessed or PaymentFailed means for its order, recorded in
 * `payments` with that outcome (README, "Payments"). Part of the saga step
 * of saga.c, inside its transaction. No SQL here.
 */
#ifndef OS_PAYMENTS_H
#define OS_PAYMENTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eda/event.h"
#include "services/order_service.h"

/* What a payment step found, to count once its transaction committed. */
typedef struct os_payment_found {
	bool refund;   /* a payment for a CANCELLED or REJECTED order */
	bool mismatch; /* a payment whose amount or currency is not the order's */
} os_payment_found_t;

/* The payment step of EV (already recorded as consumed) on C, inside the
 * caller's transaction: order ORDER_ID read under its row lock, the payment
 * (AMOUNT in cents, CURRENCY) recorded with what it did (OUTCOME, which holds
 * "applied" on entry), *ST set, a refund or a mismatch logged. Returns 1 when
 * the order is to move CONFIRMED -> PAID (the caller does it), 0 when not
 * (OUTCOME says why), -1 with ERR (the transaction is lost). */
int os_payment_step(PGconn *c, const eda_event_t *ev, const char *order_id, int64_t amount,
                    const char *currency, char *outcome, size_t outsz, os_payment_found_t *st,
                    char *err, size_t errsz);

/* Adds what committed steps found to S's counters (never before the commit:
 * a rolled back batch is applied again and would count twice). */
void os_payments_count(os_service_t *s, int refunds, int mismatches);

#endif
