/*
 * Where the outbox relay's next fetch starts: a high-water mark with gaps.
 *
 * Fetching "every unpublished row, lowest id first" walks the partial index
 * outbox_unpublished from its start, and that start is full of entries of
 * rows published since the last VACUUM (an UPDATE leaves its old index entry
 * behind, and nothing but a vacuum removes the entries of pages no insert
 * touches again): the walk grew with every row published, 1.4 ms a fetch
 * after 12,000 orders, the largest PostgreSQL cost of `make bench`.
 *
 * So the relay asks for rows above the highest id it has seen (HWM), plus
 * the ids it skipped below it (gaps). An identity is taken at INSERT and
 * becomes visible at COMMIT, so a transaction that commits after a later one
 * leaves a gap that fills in a moment; a rolled-back insert leaves one that
 * never fills, and is forgotten after GAP_TIMEOUT. A sweep from id 0 (at the
 * start, after a failed delivery, after a jump too long to note as gaps,
 * and once a minute) catches whatever that misses: only a transaction open
 * longer than GAP_TIMEOUT can have its row published after a later row, and
 * a later row of the same order cannot be written before it commits.
 */
#ifndef OS_EVENTS_OUTBOX_CURSOR_H
#define OS_EVENTS_OUTBOX_CURSOR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct os_outbox_cursor os_outbox_cursor_t;

os_outbox_cursor_t *os_outbox_cursor_new(void);
void os_outbox_cursor_free(os_outbox_cursor_t *c);

/* What the fetch at time NOW (seconds) asks for: rows with id > *AFTER, and
 * the *NGAPS ids *GAPS (borrowed until the next call). */
void os_outbox_cursor_next(os_outbox_cursor_t *c, double now, long long *after,
                           const long long **gaps, size_t *ngaps);

/* Notes the N ids (ascending) that fetch returned; FULL when it returned as
 * many as its limit (there may be more above). */
void os_outbox_cursor_saw(os_outbox_cursor_t *c, double now, const long long *ids, size_t n,
                          bool full);

/* Makes the next fetch sweep from id 0 (a row was not delivered, or the
 * relay has just become the leader). */
void os_outbox_cursor_sweep(os_outbox_cursor_t *c);

#endif
