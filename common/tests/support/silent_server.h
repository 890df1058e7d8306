/*
 * A dependency that accepts connections and never answers: a listening
 * socket on 127.0.0.1 whose backlog completes TCP handshakes while nobody
 * reads or writes. Point a client at it (a database URL, a broker, an SMTP
 * relay) to check that every call has a deadline and fails fast instead of
 * hanging. A thread accepts the connections and holds them open, so clients
 * see an established, silent peer (not a full backlog or a reset).
 */
#ifndef TS_SILENT_SERVER_H
#define TS_SILENT_SERVER_H

typedef struct ts_silent ts_silent_t;

/* Starts one on a free port; aborts the test on failure. */
ts_silent_t *ts_silent_start(void);

/* Its port. */
unsigned short ts_silent_port(const ts_silent_t *s);

/* How many connections it has accepted so far. */
int ts_silent_accepted(const ts_silent_t *s);

/* Closes every held connection and the listener, and frees S. */
void ts_silent_stop(ts_silent_t *s);

#endif
