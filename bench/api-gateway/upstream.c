/*
 * The trivial upstream of the gateway benchmark: answers every request with a
 * small JSON body, over libmicrohttpd in epoll mode with keep-alive, like the
 * real services' HTTP server but without routing or logging, so that the
 * benchmark measures the gateway and not the upstream.
 *
 *     cc -O2 -o upstream upstream.c -lmicrohttpd && ./upstream 18101 [threads]
 *
 * It listens on 127.0.0.1 only.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"id\":\"o-1\",\"status\":\"PENDING\",\"total\":\"49.99\"}";
static struct MHD_Response *response;

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	/* First call: headers only; consume any body, then answer. */
	if (*state == NULL) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, response);
}

/* A decimal number in [lo, hi], or -1. */
static long parse_arg(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return (end == s || *end != '\0' || v < lo || v > hi) ? -1 : v;
}

int main(int argc, char **argv)
{
	long port = argc > 1 ? parse_arg(argv[1], 1, 65535) : 18101;
	long threads = argc > 2 ? parse_arg(argv[2], 1, 64) : 1;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct MHD_Daemon *d;
	sigset_t set;
	int sig;

	if (argc > 3 || port < 0 || threads < 0) {
		fprintf(stderr, "usage: upstream [port 1-65535] [threads 1-64]\n");
		return 2;
	}
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	response = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	                                           MHD_RESPMEM_PERSISTENT);
	if (response == NULL ||
	    MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES) {
		fprintf(stderr, "upstream: cannot build the response\n");
		return 1;
	}
	/* MHD warns about a thread pool of one (or zero), so for one thread the
	 * option list simply ends before the pool size. */
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
	                     NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &addr,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	                     threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
	                     (unsigned)threads, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "upstream: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(response);
	return 0;
}
