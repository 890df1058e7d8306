/*
 * Test helpers of the notification service: a real SMTP server (smtp_sink.py
 * on aiosmtpd) run as a child process, reading what it or the spool received,
 * and building order events.
 */
#ifndef NOTIF_TEST_SINK_H
#define NOTIF_TEST_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "eda/event.h"
#include "support/ports.h" /* ts_free_port */

typedef struct ts_sink {
	pid_t pid;
	unsigned short port;
	char dir[256];
	char url[64]; /* smtp://127.0.0.1:<port> */
	const char *reject[4];
	const char *tempfail[4];
} ts_sink_t;

/* A new empty directory under /tmp; PREFIX names it. */
void ts_tmpdir(char *out, size_t size, const char *prefix);

/* Starts the sink on a new port (or S->port when non-zero: a restart) writing
 * to S->dir (created when empty), with S->reject / S->tempfail, and waits
 * until it accepts connections. Fails the test on error. */
void ts_sink_start(ts_sink_t *s);
/* Stops it (SIGTERM, then waits). */
void ts_sink_stop(ts_sink_t *s);

/* Number of *.eml files in DIR (dot files excluded). */
int ts_count_eml(const char *dir);
/* Waits up to TIMEOUT_S for at least N messages in DIR; returns the count. */
int ts_wait_eml(const char *dir, int n, int timeout_s);
/* Concatenates every *.eml of DIR, in name order, into a new string; each file
 * is preceded by "\n=====\n". Caller frees. */
char *ts_read_all_eml(const char *dir);
/* The contents of the one *.eml file in DIR whose text contains NEEDLE, or
 * NULL. Caller frees. */
char *ts_find_eml(const char *dir, const char *needle);
/* The number of SMTP sessions the sink saw (its .sessions file), 0 if none. */
int ts_sink_sessions(const ts_sink_t *s);

/* A serialized order event of TYPE (OrderPlaced has two lines: SKU-1 2 x 12.50,
 * SKU-2 1 x 5.00, total 30.00 EUR), to EMAIL (NULL: the customer has no
 * email member), with REASON (NULL: none). ID_OUT (may be NULL) gets the
 * event id (37 bytes). Caller frees. */
char *ts_order_event(const char *type, const char *order_id, const char *email, const char *reason,
                     char *id_out);
/* The same with DATA as the whole data object (stolen) and an explicit event
 * id (NULL: random). */
char *ts_event_with_data(const char *type, const char *subject, json_t *data, const char *id);

/* A fresh lower-case UUID. */
void ts_uuid(char out[37]);

#endif
