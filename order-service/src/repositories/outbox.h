/*
 * SQL for the transactional outbox (see repositories/orders.h for the
 * conventions). Rows are written inside the transaction of the change they
 * announce and read by the relay in id order.
 */
#ifndef OS_REPO_OUTBOX_H
#define OS_REPO_OUTBOX_H

#include <libpq-fe.h>
#include <stddef.h>

/* Appends one event row (inside the caller's transaction). Returns 1 or -1. */
int os_repo_outbox_insert(PGconn *c, const char *aggregate_id, const char *topic, const char *type,
                          const char *event_id, const char *payload, char *err, size_t errsz);

typedef struct os_outbox_row {
	long long id;
	char *aggregate_id, *topic, *type, *payload; /* owned by the batch */
	double created_at;                           /* seconds since the epoch */
	double delivered_at;                         /* set by the relay */
	int status;                                  /* 0 waiting, 1 delivered, -1 failed */
} os_outbox_row_t;

/* Reads up to LIMIT unpublished rows with id > AFTER or among the NGAPS ids
 * GAPS, lowest id first, into a new array *ROWS (events/outbox_cursor.h says
 * why not simply every unpublished row). Returns the count (>= 0) or -1.
 * Free with os_repo_outbox_free. */
int os_repo_outbox_fetch(PGconn *c, int limit, long long after, const long long *gaps, size_t ngaps,
                         os_outbox_row_t **rows, char *err, size_t errsz);
void os_repo_outbox_free(os_outbox_row_t *rows, int n);

/* Marks the rows whose status is 1 published at their delivered_at. Returns
 * the number marked or -1. */
int os_repo_outbox_mark(PGconn *c, const os_outbox_row_t *rows, int n, char *err, size_t errsz);

/* Rows not yet published, or -1. */
long long os_repo_outbox_pending(PGconn *c, char *err, size_t errsz);

/* Deletes published rows, consumed-event records and idempotency keys older
 * than RETENTION_S seconds, in statements of at most 5,000 rows each, each
 * found through its table's time index. Returns the number of rows deleted
 * or -1 (what earlier statements deleted stays deleted). */
long long os_repo_purge(PGconn *c, long retention_s, char *err, size_t errsz);

/* The relay's own session (not pooled) to URL, every round trip bounded by
 * TIMEOUT_MS, with synchronous_commit off: marking rows published need not
 * wait for a WAL flush (a mark lost in a server crash only makes the next
 * leader publish those rows again, which consumers absorb: they deduplicate
 * by event id), which takes a disk flush off every relay round. Returns NULL
 * with ERR filled. */
PGconn *os_repo_outbox_session(const char *url, int timeout_ms, char *err, size_t errsz);

/* Tries to take the relay's leader lock (a session advisory lock, released
 * with the session) on C and, once it holds it, LISTENs on
 * OS_CHANNEL_OUTBOX there. Returns 1 (leader), 0 (another session holds it)
 * or -1 with ERR (the session is lost). */
int os_repo_outbox_lead(PGconn *c, char *err, size_t errsz);

#endif
