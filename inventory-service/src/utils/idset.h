/*
 * A set of event row ids the publisher has in flight or has recently seen
 * acknowledged, so that a redelivered order whose result row is not yet
 * marked published does not send the same event a second time. Bounded:
 * acknowledged ids are forgotten first-in first-out beyond KEEP. Not
 * thread-safe; the publisher holds its lock around every call.
 */
#ifndef INV_IDSET_H
#define INV_IDSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct inv_idset inv_idset_t;

inv_idset_t *inv_idset_new(size_t keep);
void inv_idset_free(inv_idset_t *s);

/* Adds KEY as in flight. Returns false (and changes nothing) if KEY is in the
 * set already, in flight or acknowledged. */
bool inv_idset_begin(inv_idset_t *s, const char *key);

/* KEY was acknowledged: keep it for a while, then forget it. */
void inv_idset_done(inv_idset_t *s, const char *key);

/* KEY failed and will be sent again later: remove it. */
void inv_idset_forget(inv_idset_t *s, const char *key);

#endif
