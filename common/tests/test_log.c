/*
 * Tests common/src/log.c: every line is one valid JSON object whatever the
 * caller passes, levels filter, long lines are cut safely, and secrets (JWTs,
 * e-mail addresses, passwords) never reach the output in clear. Output is
 * captured through eda_log_set_fd into a temporary file and parsed with jansson.
 */
#include "eda/log.h"

#include "eda/kafka.h"
#include "support/check_main.h"
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JWT                                                                                        \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTQyIiwiZW1haWwiOiJqQGV4LmNvbSJ9."       \
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

/* ---- capture helpers --------------------------------------------------------- */

static int capture_start(void)
{
	char path[] = "/tmp/test_log_XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	eda_log_set_fd(fd);
	return fd;
}

/* Returns everything logged so far (caller frees) and closes the capture. */
static char *capture_end(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)size + 1);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	close(fd);
	eda_log_set_fd(2);
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Parses the single line in OUT, insisting that it is exactly one line. */
static json_t *parse_one_line(const char *out)
{
	json_error_t err;
	json_t *j;
	size_t len = strlen(out);

	ck_assert_msg(len > 0 && out[len - 1] == '\n', "no trailing newline: %s", out);
	ck_assert_msg(count_lines(out) == 1, "expected one line, got: %s", out);
	j = json_loadb(out, len - 1, 0, &err);
	ck_assert_msg(j != NULL, "invalid JSON (%s) in: %s", err.text, out);
	ck_assert(json_is_object(j));
	return j;
}

static const char *str_field(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	ck_assert_msg(json_is_string(v), "field %s missing or not a string", key);
	return json_string_value(v);
}

/* ---- redaction table ------------------------------------------------------------ */

static const struct {
	const char *in;
	const char *out;
} redact_cases[] = {
        /* must not change */
        {"", ""},
        {"order placed", "order placed"},
        {"version 1.2.3 of example.com", "version 1.2.3 of example.com"},
        {"see https://example.com/a?b=1#c", "see https://example.com/a?b=1#c"},
        {"postgres://app@db:5432/orders", "postgres://app@db:5432/orders"},
        {"max_tokens=5 token_count=3 secretary=bob", "max_tokens=5 token_count=3 secretary=bob"},
        {"password reset requested", "password reset requested"},
        {"eyJhbGciOiJIUzI1NiJ9 alone", "eyJhbGciOiJIUzI1NiJ9 alone"},
        {"a.b.c and eyJx.y", "a.b.c and eyJx.y"},
        {"@handle and user@localhost", "@handle and user@localhost"},
        {"quota 10@5.5", "quota 10@5.5"},
        /* JWTs */
        {"got " JWT " from client", "got [jwt] from client"},
        {"jwt=" JWT "&x=1", "jwt=[jwt]&x=1"},
        {"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "[jwt]"},
        {"(" JWT ")", "([jwt])"},
        {"jwe eyJhbGciOiJSU0EifQ.a.b.c.d done", "jwe [jwt] done"},
        /* e-mail addresses */
        {"contact john.doe@example.com now", "contact j***@example.com now"},
        {"<alice+tag@mail.example.co.uk>.", "<a***@mail.example.co.uk>."},
        {"mailto:Bob@Example.ORG", "mailto:B***@Example.ORG"},
        /* URL passwords */
        {"postgres://app:s3cr3t@db:5432/orders", "postgres://app:***@db:5432/orders"},
        {"smtp://mailer:p@ss:w@mail.example.com:587", "smtp://mailer:***@mail.example.com:587"},
        {"url=mongodb://u:p@h1,h2/db?x=1", "url=mongodb://u:***@h1,h2/db?x=1"},
        /* key=value and key: value pairs */
        {"password=hunter2 user=bob", "password=*** user=bob"},
        {"PASSWORD: hunter2", "PASSWORD: ***"},
        {"Passwd=abc;next", "Passwd=***;next"},
        {"{\"password\": \"x y\", \"user\": \"bob\"}",
         "{\"password\": \"***\", \"user\": \"bob\"}"},
        {"{\\\"token\\\":\\\"abc\\\"}", "{\\\"token\\\":\\\"***\\\"}"},
        {"db_password=abc&x=1", "db_password=***&x=1"},
        {"jwt_secret=abc", "jwt_secret=***"},
        {"api_key=K, next", "api_key=***, next"},
        {"passwd='a b' rest", "passwd='***' rest"},
        {"secret=\"unterminated and more", "secret=\"***"},
        {"cb?access_token=abc&state=1", "cb?access_token=***&state=1"},
        {"password=***", "password=***"},
        /* bearer credentials */
        {"Bearer abc.def-ghi", "Bearer ***"},
        {"Authorization: Bearer xyz123", "Authorization: Bearer ***"},
        {"authorization=Basic dXNlcjpwYXNz", "authorization=Basic ***"},
        {"header bearer " JWT, "header bearer ***"},
};

START_TEST(redact_table)
{
	char out[512];
	size_t n = eda_log_redact(redact_cases[_i].in, out, sizeof(out));

	ck_assert_msg(strcmp(out, redact_cases[_i].out) == 0,
	              "case %d: \"%s\" -> \"%s\", want \"%s\"", _i, redact_cases[_i].in, out,
	              redact_cases[_i].out);
	ck_assert_uint_eq(n, strlen(out));
}
END_TEST

START_TEST(redact_truncates_and_terminates)
{
	char out[8];

	memset(out, 'x', sizeof(out));
	ck_assert_uint_eq(eda_log_redact("hello world", out, sizeof(out)), 7);
	ck_assert_str_eq(out, "hello w");
	ck_assert_uint_eq(eda_log_redact("password=hunter2", out, sizeof(out)), 7);
	ck_assert_ptr_null(strstr(out, "hunter"));
	ck_assert_uint_eq(eda_log_redact("abc", out, 0), 0);
	ck_assert_uint_eq(eda_log_redact(NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

/* ---- lines ---------------------------------------------------------------------- */

/* Runs first so that, without fork mode, nothing has called eda_log_init yet. */
START_TEST(defaults_service_and_level)
{
	int fd = capture_start();
	char *out;
	json_t *j;

	eda_log(EDA_LOG_DEBUG, "hidden", NULL);
	eda_log(EDA_LOG_INFO, "shown", NULL);
	out = capture_end(fd);
	j = parse_one_line(out);
	ck_assert_str_eq(str_field(j, "service"), "eda");
	ck_assert_str_eq(str_field(j, "level"), "info");
	ck_assert_str_eq(str_field(j, "msg"), "shown");
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(line_has_core_keys_and_fields)
{
	int fd = capture_start();
	const char *ts;
	char *out;
	json_t *j;

	eda_log_init("order-service", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, "order placed", "order_id", "o-1", "request_id", "r-9", "skipped",
	        NULL, "event_id", "e-3", NULL);
	out = capture_end(fd);
	j = parse_one_line(out);
	ts = str_field(j, "ts");
	/* 2026-11-23T10:30:00.123Z */
	ck_assert_uint_eq(strlen(ts), 24);
	ck_assert(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
	ck_assert_str_eq(str_field(j, "level"), "info");
	ck_assert_str_eq(str_field(j, "service"), "order-service");
	ck_assert_str_eq(str_field(j, "msg"), "order placed");
	ck_assert_str_eq(str_field(j, "order_id"), "o-1");
	ck_assert_str_eq(str_field(j, "request_id"), "r-9");
	ck_assert_str_eq(str_field(j, "event_id"), "e-3");
	ck_assert_ptr_null(json_object_get(j, "skipped"));
	ck_assert_ptr_null(json_object_get(j, "truncated"));
	ck_assert_uint_eq(json_object_size(j), 7);
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(field_cannot_override_core_keys)
{
	int fd = capture_start();
	char *out;
	json_t *j;
	json_error_t err;

	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_ERROR, "boom", "level", "debug", "msg", "other", NULL);
	out = capture_end(fd);
	/* Duplicate keys would be accepted by default; insist there are none. */
	j = json_loads(out, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &err);
	ck_assert_msg(j != NULL, "%s: %s", err.text, out);
	ck_assert_str_eq(str_field(j, "level"), "error");
	ck_assert_str_eq(str_field(j, "msg"), "boom");
	ck_assert_str_eq(str_field(j, "field_level"), "debug");
	ck_assert_str_eq(str_field(j, "field_msg"), "other");
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(service_name_is_capped)
{
	char longname[200];
	int fd = capture_start();
	char *out;
	json_t *j;

	memset(longname, 's', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	eda_log_init(longname, EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, "x", NULL);
	out = capture_end(fd);
	j = parse_one_line(out);
	ck_assert_uint_eq(strlen(str_field(j, "service")), 63);
	json_decref(j);
	free(out);
}
END_TEST

static const struct {
	const char *name;
	int ok;
	eda_log_level_t level;
} level_cases[] = {
        {"debug", 1, EDA_LOG_DEBUG},  {"INFO", 1, EDA_LOG_INFO},   {"warn", 1, EDA_LOG_WARN},
        {"Warning", 1, EDA_LOG_WARN}, {"error", 1, EDA_LOG_ERROR}, {"fatal", 0, EDA_LOG_INFO},
        {"", 0, EDA_LOG_INFO},        {"info ", 0, EDA_LOG_INFO},  {"deb", 0, EDA_LOG_INFO},
};

START_TEST(level_parse_table)
{
	eda_log_level_t got = (eda_log_level_t)99;
	int rc = eda_log_level_parse(level_cases[_i].name, &got);

	if (level_cases[_i].ok) {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(got, level_cases[_i].level);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(got, 99);
	}
}
END_TEST

START_TEST(level_filtering)
{
	int fd = capture_start();
	char *out, *line, *save = NULL;
	const char *want[] = {"warn", "error", "error"};
	size_t n = 0;

	eda_log_init("svc", EDA_LOG_WARN);
	eda_log(EDA_LOG_DEBUG, "d", NULL);
	eda_log(EDA_LOG_INFO, "i", NULL);
	eda_logf(EDA_LOG_INFO, "i %d", 2);
	eda_log(EDA_LOG_WARN, "w", NULL);
	eda_log(EDA_LOG_ERROR, "e", NULL);
	eda_logf(EDA_LOG_ERROR, "e %d", 2);
	out = capture_end(fd);
	ck_assert_uint_eq(count_lines(out), 3);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(str_field(j, "level"), want[n++]);
		json_decref(j);
	}
	free(out);
}
END_TEST

START_TEST(debug_level_shows_everything)
{
	int fd = capture_start();
	char *out;

	eda_log_init("svc", EDA_LOG_DEBUG);
	eda_log(EDA_LOG_DEBUG, "d", NULL);
	eda_logf(EDA_LOG_DEBUG, "%s", "d");
	eda_log(EDA_LOG_INFO, "i", NULL);
	out = capture_end(fd);
	ck_assert_uint_eq(count_lines(out), 3);
	ck_assert_ptr_nonnull(strstr(out, "\"level\":\"debug\""));
	free(out);
}
END_TEST

/* ---- hostile input -------------------------------------------------------------- */

static const struct {
	const char *in;
	const char *decoded; /* what jansson reads back */
} escape_cases[] = {
        {"quote \" and backslash \\", "quote \" and backslash \\"},
        {"line1\nline2\r\n\tend", "line1\nline2\r\n\tend"},
        {"ctl \x01\x1f\x7f bell\a", "ctl \x01\x1f\x7f bell\a"},
        {"utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"bad \xff end", "bad \xef\xbf\xbd end"},
        {"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
        {"too big \xf4\x90\x80\x80", "too big \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"}{\"injected\":true}", "}{\"injected\":true}"},
        {"\xe2\x80\xa8 separators \xe2\x80\xa9", "\xe2\x80\xa8 separators \xe2\x80\xa9"},
};

START_TEST(hostile_input_stays_one_json_line)
{
	int fd = capture_start();
	char *out;
	json_t *j;

	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, escape_cases[_i].in, "value", escape_cases[_i].in,
	        escape_cases[_i].in, "as key", NULL);
	out = capture_end(fd);
	j = parse_one_line(out);
	ck_assert_str_eq(str_field(j, "msg"), escape_cases[_i].decoded);
	ck_assert_str_eq(str_field(j, "value"), escape_cases[_i].decoded);
	ck_assert_str_eq(str_field(j, escape_cases[_i].decoded), "as key");
	ck_assert_ptr_null(json_object_get(j, "injected"));
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(long_message_is_cut_to_one_valid_line)
{
	size_t big = 100 * 1024;
	char *msg = malloc(big + 1);
	int fd = capture_start();
	char *out;
	json_t *j;

	/* Multi-byte characters and escapes everywhere, so the cut can land inside one. */
	for (size_t i = 0; i < big; i += 4)
		memcpy(msg + i, i % 8 ? "\xe2\x82\xac\"" : "\n\x01\xc3\xa9", 4);
	msg[big] = '\0';
	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, msg, "order_id", "o-1", NULL);
	eda_logf(EDA_LOG_INFO, "%s", msg);
	out = capture_end(fd);
	ck_assert_uint_eq(count_lines(out), 2);
	for (char *line = out; *line != '\0';) {
		char *nl = strchr(line, '\n');
		json_error_t err;

		ck_assert_uint_le((size_t)(nl - line + 1), 16384);
		j = json_loadb(line, (size_t)(nl - line), 0, &err);
		ck_assert_msg(j != NULL, "invalid JSON: %s", err.text);
		ck_assert(json_is_true(json_object_get(j, "truncated")));
		ck_assert_uint_gt(strlen(str_field(j, "msg")), 8000);
		json_decref(j);
		line = nl + 1;
	}
	free(out);
	free(msg);
}
END_TEST

START_TEST(long_field_value_is_cut)
{
	char *value = malloc(40000);
	int fd = capture_start();
	char *out;
	json_t *j;

	memset(value, 'v', 39999);
	value[39999] = '\0';
	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, "m", "a", "1", "big", value, "after", "lost", NULL);
	out = capture_end(fd);
	ck_assert_uint_le(strlen(out), 16384);
	j = parse_one_line(out);
	ck_assert_str_eq(str_field(j, "a"), "1");
	ck_assert_uint_gt(strlen(str_field(j, "big")), 10000);
	ck_assert_ptr_null(json_object_get(j, "after"));
	ck_assert(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	free(out);
	free(value);
}
END_TEST

/* ---- secrets never in clear ------------------------------------------------------ */

START_TEST(secrets_never_in_clear)
{
	const char *clear[] = {"john.doe@example.com",
	                       "hunter2",
	                       "s3cr3tpw",
	                       "SflKxwRJSMeKKF2QT4fw",
	                       "eyJzdWIiOiJ1LTQyIiwiZW1haWwiOiJqQGV4LmNvbSJ9",
	                       "opaque-api-key"};
	int fd = capture_start();
	char *out;

	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, "login john.doe@example.com password=hunter2", "token", JWT, "db_url",
	        "postgres://app:s3cr3tpw@db/orders", NULL);
	eda_log(EDA_LOG_INFO, "auth", "header", "Bearer " JWT, "email", "john.doe@example.com",
	        "jwt", JWT, NULL);
	eda_log(EDA_LOG_INFO, "keys", "jwt_secret", "hunter2", "Authorization", "opaque-api-key",
	        "X-Api-Key", "opaque-api-key", "session_cookie", "hunter2", "DB_PASSWORD",
	        "s3cr3tpw", NULL);
	eda_logf(EDA_LOG_WARN, "rejected %s for %s with {\"password\": \"%s\"}", JWT,
	         "john.doe@example.com", "hunter2");
	out = capture_end(fd);
	ck_assert_uint_eq(count_lines(out), 4);
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		ck_assert_msg(strstr(out, clear[i]) == NULL, "\"%s\" in clear: %s", clear[i], out);
	ck_assert_ptr_nonnull(strstr(out, "j***@example.com"));
	ck_assert_ptr_nonnull(strstr(out, "[jwt]"));
	free(out);
}
END_TEST

START_TEST(secret_field_keys_masked_whole)
{
	int fd = capture_start();
	char *out;
	json_t *j;

	eda_log_init("svc", EDA_LOG_INFO);
	eda_log(EDA_LOG_INFO, "m", "password", "plain words", "JWT_SECRET", "x", "cookie", "a=b",
	        "Authorization", "Basic abc", "api_key", "k", "token_count", "3", NULL);
	out = capture_end(fd);
	j = parse_one_line(out);
	ck_assert_str_eq(str_field(j, "password"), "***");
	ck_assert_str_eq(str_field(j, "JWT_SECRET"), "***");
	ck_assert_str_eq(str_field(j, "cookie"), "***");
	ck_assert_str_eq(str_field(j, "Authorization"), "***");
	ck_assert_str_eq(str_field(j, "api_key"), "***");
	ck_assert_str_eq(str_field(j, "token_count"), "3");
	json_decref(j);
	free(out);
}
END_TEST

/* ---- threads --------------------------------------------------------------------- */

#define LOG_THREADS 8
#define LOG_LINES   300

static void *log_worker(void *arg)
{
	char id[16], payload[3000];

	memset(payload, 'a' + (int)(long)arg, sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	snprintf(id, sizeof(id), "%ld", (long)arg);
	for (int i = 0; i < LOG_LINES; i++)
		eda_log(EDA_LOG_INFO, payload, "thread", id, NULL);
	return NULL;
}

START_TEST(threads_never_interleave)
{
	pthread_t t[LOG_THREADS];
	int fd = capture_start();
	char *out, *line, *save = NULL;
	size_t lines = 0;

	eda_log_init("svc", EDA_LOG_INFO);
	for (long i = 0; i < LOG_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, log_worker, (void *)i), 0);
	for (int i = 0; i < LOG_THREADS; i++)
		pthread_join(t[i], NULL);
	out = capture_end(fd);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *msg;
		int id;

		ck_assert_msg(j != NULL, "line %zu is not JSON", lines);
		id = atoi(str_field(j, "thread"));
		msg = str_field(j, "msg");
		ck_assert_uint_eq(strlen(msg), 2999);
		ck_assert(msg[0] == 'a' + id && msg[2998] == 'a' + id);
		json_decref(j);
		lines++;
	}
	ck_assert_uint_eq(lines, LOG_THREADS * LOG_LINES);
	free(out);
}
END_TEST

/* librdkafka's own lines (here: a broker that refuses connections) come out
 * as JSON lines of ours, not as its raw "%3|...|FAIL|..." text on stderr. */
START_TEST(librdkafka_lines_are_json)
{
	char *const envp[] = {"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1", NULL};
	char err[256], *out, *line, *save = NULL;
	rd_kafka_conf_t *conf = eda_kafka_conf_from_env(envp, err, sizeof(err));
	rd_kafka_t *rk;
	int fd, from_kafka = 0;

	ck_assert_msg(conf != NULL, "%s", err);
	fd = capture_start();
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	for (int i = 0; i < 100 && lseek(fd, 0, SEEK_END) == 0; i++)
		rd_kafka_poll(rk, 50);
	rd_kafka_destroy(rk);
	out = capture_end(fd);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *j = json_loads(line, 0, &jerr);

		ck_assert_msg(j != NULL, "not a JSON line: %s", line);
		if (json_is_string(json_object_get(j, "component")) &&
		    strcmp(str_field(j, "component"), "librdkafka") == 0) {
			from_kafka++;
			ck_assert_ptr_nonnull(json_object_get(j, "facility"));
		}
		json_decref(j);
	}
	ck_assert_int_gt(from_kafka, 0);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *lines = tcase_create("lines");
	TCase *redact = tcase_create("redact");
	TCase *hostile = tcase_create("hostile");

	tcase_add_test(lines, defaults_service_and_level);
	tcase_add_test(lines, line_has_core_keys_and_fields);
	tcase_add_test(lines, field_cannot_override_core_keys);
	tcase_add_test(lines, service_name_is_capped);
	tcase_add_loop_test(lines, level_parse_table, 0,
	                    (int)(sizeof(level_cases) / sizeof(level_cases[0])));
	tcase_add_test(lines, level_filtering);
	tcase_add_test(lines, debug_level_shows_everything);
	tcase_add_test(lines, threads_never_interleave);
	suite_add_tcase(s, lines);

	tcase_add_loop_test(redact, redact_table, 0,
	                    (int)(sizeof(redact_cases) / sizeof(redact_cases[0])));
	tcase_add_test(redact, redact_truncates_and_terminates);
	tcase_add_test(redact, secrets_never_in_clear);
	tcase_add_test(redact, secret_field_keys_masked_whole);
	suite_add_tcase(s, redact);

	tcase_add_loop_test(hostile, hostile_input_stays_one_json_line, 0,
	                    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_test(hostile, long_message_is_cut_to_one_valid_line);
	tcase_add_test(hostile, long_field_value_is_cut);
	tcase_add_test(hostile, librdkafka_lines_are_json);
	suite_add_tcase(s, hostile);

	return ts_run_suite(s);
}
