/*
 * A TCP proxy in front of a real server that a test can freeze: while frozen
 * it reads and writes nothing and accepts no connection (the kernel still
 * completes handshakes and takes small writes), so the clients behind it see
 * a server that hangs after start: established connections that never answer
 * again. Thawed, it forwards what piled up and goes on as if nothing happened.
 * For "the database hangs while the daemon runs" tests, with the real
 * PostgreSQL of the stack behind it.
 */
#ifndef OST_FREEZE_PROXY_H
#define OST_FREEZE_PROXY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ost_proxy ost_proxy_t;

/* Starts a proxy on 127.0.0.1 (a free port) to HOST:PORT. Aborts the test on
 * failure. */
ost_proxy_t *ost_proxy_start(const char *host, unsigned short port);

/* Its port. */
unsigned short ost_proxy_port(const ost_proxy_t *p);

/* Freezes (true) or thaws (false) it; returns once the proxy thread took
 * notice, so nothing is forwarded after a freeze returns. */
void ost_proxy_freeze(ost_proxy_t *p, bool frozen);

/* Closes every connection and the listener, and frees P. */
void ost_proxy_stop(ost_proxy_t *p);

/* URL with its host and port replaced by the proxy's (any user, database and
 * query kept), into OUT. Fails the test if URL has no "scheme://...". */
void ost_proxy_url(const ost_proxy_t *p, const char *url, char *out, size_t outsz);

/* The host and port of URL ("postgresql://user@host:port/db..."). */
void ost_url_host_port(const char *url, char *host, size_t hostsz, unsigned short *port);

#endif
