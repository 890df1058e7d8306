/*
 * The trivial upstream of the gateway benchmark: answers every request with a
 * small JSON body, over libmicrohttpd in epoll mode with keep-alive, like the
 * real services' HTTP server but without routing or logging, so that the
 * benchmark measures the gateway and not the upstream.
 *
 *     cc -O2 -o upstream upstream.c -lmicrohttpd && ./upstream 18101 [threads]
 */
#include <microhttpd.h>
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

int main(int argc, char **argv)
{
	unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 18101;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
	struct MHD_Daemon *d;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	response = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	                                           MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(response, "Content-Type", "application/json");
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
	                     NULL, NULL, answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "upstream: cannot listen on port %u\n", port);
		return 1;
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(response);
	return 0;
}
