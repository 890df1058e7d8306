/*
 * SQL for Idempotency-Key records (written by os_repo_order_insert together
 * with the order; read here when a key is seen again).
 */
#ifndef OS_REPO_IDEMPOTENCY_H
#define OS_REPO_IDEMPOTENCY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Looks up (CUSTOMER, KEY): *SAME_REQUEST says whether CANONICAL hashes as the
 * first request did; *STATUS and *BODY (caller frees) are its response.
 * Returns 1, 0 (no such key) or -1. */
int os_repo_idempotency_get(PGconn *c, const char *customer, const char *key, const char *canonical,
                            bool *same_request, int *status, char **body, char *err, size_t errsz);

#endif
