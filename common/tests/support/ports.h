/*
 * TCP ports for the daemons a suite starts on 127.0.0.1.
 */
#ifndef TS_PORTS_H
#define TS_PORTS_H

/* A port nobody listens on right now, below the kernel's ephemeral range
 * (ip_local_port_range starts at 32768): a port the kernel handed out by
 * binding port 0 is an ephemeral one, and any outgoing connection (a Kafka
 * or database client of a parallel test) could take it before the daemon
 * binds it, which made a restart fail with "Address already in use". Picked
 * in turn from a random start in [20000, 32000): never twice in one process
 * (its daemons keep their ports across restarts), and parallel test
 * processes rarely meet. */
unsigned short ts_free_port(void);

#endif
