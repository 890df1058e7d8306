/*
 * W3C Trace Context (traceparent) for the gateway: a valid incoming header
 * keeps its trace id and flags and gets a new parent id (the gateway's own
 * span); anything else starts a new trace. Version 00 only, as the spec asks
 * of a participant that does not know later versions' fields.
 */
#ifndef GW_TRACE_H
#define GW_TRACE_H

#include <stdbool.h>

/* "00-" + 32 + "-" + 16 + "-" + 2 and the NUL. */
#define GW_TRACEPARENT_LEN 56

/* True if H is a well-formed version-00 traceparent with non-zero ids. */
bool gw_traceparent_valid(const char *h);

/* Writes the traceparent to send upstream into OUT: INCOMING's trace continued
 * when it is valid (returns true), else a new sampled trace (returns false). */
bool gw_traceparent_next(const char *incoming, char out[GW_TRACEPARENT_LEN]);

#endif
