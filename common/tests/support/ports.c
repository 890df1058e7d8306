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
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)clock();
	for (int attempt = 0; attempt < 1000; attempt++) {
		unsigned short port = (unsigned short)(PORT_LOW + rand_r(&seed) % PORT_SPAN);
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
