/* Ports for test daemons; see ports.h. */
#include "ports.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT_LOW  20000
#define PORT_SPAN 12000

unsigned short ts_free_port(void)
{
	/* A cursor, not a fresh random pick per call: a suite restarts its
	 * daemons on the ports they had, so a port handed out once must not be
	 * handed out again while its daemon is down (two random picks of one
	 * crash-test batch met on the same port, and the restart of the first
	 * could not bind). Only the start is random, for parallel processes. */
	static unsigned next;
	static int started;

	if (!started) {
		unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)clock();

		next = (unsigned)rand_r(&seed) % PORT_SPAN;
		started = 1;
	}
	for (int attempt = 0; attempt < PORT_SPAN; attempt++) {
		unsigned short port = (unsigned short)(PORT_LOW + next++ % PORT_SPAN);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons(port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok;

		ck_assert_int_ge(fd, 0);
		ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	ck_abort_msg("no free port in [%d, %d)", PORT_LOW, PORT_LOW + PORT_SPAN);
	return 0;
}
