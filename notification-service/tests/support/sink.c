/*
 * The SMTP sink child process and the mail-folder readers of sink.h.
 */
#include "support/sink.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define SINK_SCRIPT "notification-service/tests/support/smtp_sink.py"

void ts_tmpdir(char *out, size_t size, const char *prefix)
{
	snprintf(out, size, "/tmp/%s-XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static bool can_connect(unsigned short port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

void ts_sink_start(ts_sink_t *s)
{
	char port[16];
	const char *argv[32];
	int n = 0;

	if (s->dir[0] == '\0')
		ts_tmpdir(s->dir, sizeof(s->dir), "notif-sink");
	if (s->port == 0)
		s->port = ts_free_port();
	snprintf(s->url, sizeof(s->url), "smtp://127.0.0.1:%u", s->port);
	snprintf(port, sizeof(port), "%u", s->port);
	argv[n++] = "/usr/bin/python3";
	argv[n++] = SINK_SCRIPT;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--dir";
	argv[n++] = s->dir;
	for (int i = 0; i < 4 && s->reject[i]; i++) {
		argv[n++] = "--reject";
		argv[n++] = s->reject[i];
	}
	for (int i = 0; i < 4 && s->tempfail[i]; i++) {
		argv[n++] = "--tempfail";
		argv[n++] = s->tempfail[i];
	}
	argv[n] = NULL;
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		int st;

		if (can_connect(s->port))
			return;
		ck_assert_msg(waitpid(s->pid, &st, WNOHANG) == 0, "smtp sink exited early");
		usleep(50 * 1000);
	}
	ck_abort_msg("smtp sink did not start on port %u", s->port);
}

void ts_sink_stop(ts_sink_t *s)
{
	int st;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	/* The port must refuse connections before a test relies on "SMTP down". */
	for (int i = 0; i < 100 && can_connect(s->port); i++)
		usleep(50 * 1000);
}

static int eml_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".eml") == 0;
}

int ts_count_eml(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, eml_filter, alphasort);

	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n > 0)
		free(list);
	return n < 0 ? 0 : n;
}

int ts_wait_eml(const char *dir, int n, int timeout_s)
{
	int have = 0;

	for (int i = 0; i < timeout_s * 20; i++) {
		have = ts_count_eml(dir);
		if (have >= n)
			break;
		usleep(50 * 1000);
	}
	return have;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *scan(const char *dir, const char *needle)
{
	struct dirent **list;
	int n = scandir(dir, &list, eml_filter, alphasort);
	size_t len = 0;
	char *all = calloc(1, 1), *found = NULL;

	for (int i = 0; i < n; i++) {
		char path[600];
		char *text;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		text = slurp(path);
		if (needle != NULL) {
			if (found == NULL && strstr(text, needle) != NULL)
				found = text;
			else
				free(text);
		} else {
			size_t tl = strlen(text);

			all = realloc(all, len + tl + 8);
			strcpy(all + len, "\n=====\n");
			memcpy(all + len + 7, text, tl + 1);
			len += tl + 7;
			free(text);
		}
		free(list[i]);
	}
	if (n > 0)
		free(list);
	if (needle != NULL) {
		free(all);
		return found;
	}
	return all;
}

char *ts_read_all_eml(const char *dir)
{
	return scan(dir, NULL);
}

char *ts_find_eml(const char *dir, const char *needle)
{
	return scan(dir, needle);
}

int ts_sink_sessions(const ts_sink_t *s)
{
	char path[300];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/.sessions", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

void ts_uuid(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

char *ts_event_with_data(const char *type, const char *subject, json_t *data, const char *id)
{
	eda_event_t *ev = eda_event_new("/order-service", type, subject, data, NULL, "req-test");
	char *s;

	ck_assert_ptr_nonnull(ev);
	if (id != NULL) {
		free(ev->id);
		ev->id = strdup(id);
	}
	s = eda_event_serialize(ev, NULL);
	ck_assert_ptr_nonnull(s);
	eda_event_free(ev);
	return s;
}

char *ts_order_event(const char *type, const char *order_id, const char *email, const char *reason,
                     char *id_out)
{
	json_t *customer = json_pack("{s:s}", "id", "cust-1");
	json_t *data = json_pack("{s:s, s:o, s:s, s:s}", "order_id", order_id, "customer", customer,
	                         "total", "30.00", "currency", "EUR");
	eda_event_t *ev;
	char *s;

	if (email != NULL)
		json_object_set_new(customer, "email", json_string(email));
	if (strcmp(type, EDA_EVENT_ORDER_PLACED) == 0)
		json_object_set_new(data, "items",
		                    json_pack("[{s:s, s:i, s:s}, {s:s, s:i, s:s}]", "sku", "SKU-1",
		                              "quantity", 2, "unit_price", "12.50", "sku", "SKU-2",
		                              "quantity", 1, "unit_price", "5.00"));
	if (reason != NULL)
		json_object_set_new(data, "reason", json_string(reason));
	ev = eda_event_new("/order-service", type, order_id, data, NULL, "req-test");
	ck_assert_ptr_nonnull(ev);
	if (id_out != NULL)
		snprintf(id_out, 37, "%s", ev->id);
	s = eda_event_serialize(ev, NULL);
	ck_assert_ptr_nonnull(s);
	eda_event_free(ev);
	return s;
}
