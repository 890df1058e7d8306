/* The outbox relay's high-water mark with gaps; see outbox_cursor.h. */
#include "events/outbox_cursor.h"

#include <stdlib.h>

#include "eda/alloc.h"

/* A gap not filled within this many seconds is taken for a rolled-back
 * insert. */
#define GAP_TIMEOUT 10.0

/* A jump past more unseen ids than this is not noted id by id: a sweep
 * after GAP_TIMEOUT covers it. */
#define MAX_JUMP 1024

/* Seconds between sweeps when nothing else asks for one. */
#define SWEEP_EVERY 60.0

struct os_outbox_cursor {
	long long hwm;        /* highest id seen */
	long long sweep_from; /* the sweep's position, or -1 when not sweeping */
	double next_sweep;    /* when the next sweep starts */
	long long *gap;       /* the skipped ids, as the fetch takes them */
	double *since;        /* when each was skipped */
	size_t ngap, cap;
};

os_outbox_cursor_t *os_outbox_cursor_new(void)
{
	os_outbox_cursor_t *c = eda_xcalloc(1, sizeof(*c));

	c->sweep_from = 0;
	return c;
}

void os_outbox_cursor_free(os_outbox_cursor_t *c)
{
	if (c == NULL)
		return;
	free(c->gap);
	free(c->since);
	free(c);
}

void os_outbox_cursor_sweep(os_outbox_cursor_t *c)
{
	c->sweep_from = 0;
}

void os_outbox_cursor_next(os_outbox_cursor_t *c, double now, long long *after,
                           const long long **gaps, size_t *ngaps)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->ngap; i++) {
		if (now - c->since[i] < GAP_TIMEOUT) {
			c->gap[kept] = c->gap[i];
			c->since[kept++] = c->since[i];
		}
	}
	c->ngap = kept;
	if (c->sweep_from < 0 && now >= c->next_sweep)
		c->sweep_from = 0;
	if (c->sweep_from == 0)
		c->next_sweep = now + SWEEP_EVERY;
	*after = c->sweep_from >= 0 ? c->sweep_from : c->hwm;
	*gaps = c->gap;
	*ngaps = c->ngap;
}

static void gap_add(os_outbox_cursor_t *c, long long id, double now)
{
	if (c->ngap == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->gap = eda_xrealloc(c->gap, c->cap * sizeof(*c->gap));
		c->since = eda_xrealloc(c->since, c->cap * sizeof(*c->since));
	}
	c->gap[c->ngap] = id;
	c->since[c->ngap++] = now;
}

static void gap_remove(os_outbox_cursor_t *c, long long id)
{
	for (size_t i = 0; i < c->ngap; i++) {
		if (c->gap[i] == id) {
			c->ngap--;
			c->gap[i] = c->gap[c->ngap];
			c->since[i] = c->since[c->ngap];
			return;
		}
	}
}

void os_outbox_cursor_saw(os_outbox_cursor_t *c, double now, const long long *ids, size_t n,
                          bool full)
{
	for (size_t i = 0; i < n; i++) {
		long long id = ids[i];

		if (id <= c->hwm) {
			gap_remove(c, id);
			continue;
		}
		if (id - c->hwm - 1 > MAX_JUMP) {
			/* Too many unseen ids to note (the first fetch, or a
			 * run of rolled-back inserts): sweep once they are
			 * settled. */
			if (c->next_sweep > now + GAP_TIMEOUT)
				c->next_sweep = now + GAP_TIMEOUT;
		} else {
			for (long long g = c->hwm + 1; g < id; g++)
				gap_add(c, g, now);
		}
		c->hwm = id;
	}
	if (c->sweep_from >= 0)
		c->sweep_from = full && n > 0 ? ids[n - 1] : -1;
}
