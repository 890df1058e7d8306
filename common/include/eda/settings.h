/*
 * Settings from the environment (12-factor). A daemon's config/settings.c reads
 * every variable through one eda_env_t, which keeps the FIRST error; after
 * reading them all, eda_env_exit_on_error() ends the process with status 2 and
 * one line naming the bad variable. Getters never fail hard themselves, so the
 * same functions serve tests.
 *
 * Strings returned point into the environment (or are the given default) and
 * stay valid as long as the environment is not changed.
 */
#ifndef EDA_SETTINGS_H
#define EDA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "eda/log.h"

typedef struct eda_env {
	char err[512]; /* first error: "NAME: why" */
	bool failed;
} eda_env_t;

void eda_env_init(eda_env_t *env);

/* A string; DEF NULL makes the variable required (missing or empty is an error).
 * Values longer than 4096 bytes or holding control characters are errors. */
const char *eda_env_string(eda_env_t *env, const char *name, const char *def);

/* A decimal integer in [MIN, MAX]; anything else (spaces, signs where MIN >= 0,
 * trailing garbage, overflow) is an error and returns DEF. */
long eda_env_long(eda_env_t *env, const char *name, long def, long min, long max);

/* A TCP port, 1..65535. */
unsigned short eda_env_port(eda_env_t *env, const char *name, unsigned short def);

/* The stable name of this replica, for Kafka static group membership
 * (group.instance.id) into BUF: INSTANCE_ID when set (validated: 1 to 249
 * characters of [A-Za-z0-9._:-]); else "<HOSTNAME>-<PORT>" (the host name from
 * HOSTNAME or gethostname(): the pod or container name, the same after a
 * restart, with the port to tell apart replicas of one host); else, with PORT
 * 0 (an ephemeral port, tests), "" for a dynamic member. */
void eda_env_instance_id(eda_env_t *env, unsigned short port, char *buf, size_t bufsz);

/* true/false, 1/0, yes/no, on/off (any case). */
bool eda_env_bool(eda_env_t *env, const char *name, bool def);

/* A log level name (see eda_log_level_parse). */
eda_log_level_t eda_env_log_level(eda_env_t *env, const char *name, eda_log_level_t def);

/* A URL whose scheme is one of SCHEMES (NULL-terminated list, e.g.
 * {"postgresql", "postgres", NULL}) followed by "://" and a non-empty rest.
 * DEF "" makes the variable optional: unset, it returns "". */
const char *eda_env_url(eda_env_t *env, const char *name, const char *def,
                        const char *const *schemes);

/* Records an error for NAME found by the caller's own checks (first one wins). */
void eda_env_fail(eda_env_t *env, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The settings every daemon reads the same way: BIND_ADDR (default 0.0.0.0),
 * PORT, HTTP_THREADS (its HTTP server's worker threads) and LOG_LEVEL (default
 * info). A daemon's settings struct embeds them with EDA_DAEMON_SETTINGS, so
 * that they are read by one function and still used by name (s->port). */
#define EDA_DAEMON_SETTINGS_MEMBERS                                                                \
	const char *bind_addr;                                                                     \
	unsigned short port;                                                                       \
	unsigned http_threads;                                                                     \
	eda_log_level_t log_level;

typedef struct eda_daemon_settings {
	EDA_DAEMON_SETTINGS_MEMBERS
} eda_daemon_settings_t;

/* The base members, reachable by name and as one eda_daemon_settings_t named
 * `daemon` (for eda_daemon_settings_load): the anonymous struct and the named
 * one list the same members, so they have the same layout (the pattern of
 * Linux's struct_group_tagged()). */
#define EDA_DAEMON_SETTINGS                                                                        \
	union {                                                                                    \
		struct {                                                                           \
			EDA_DAEMON_SETTINGS_MEMBERS                                                \
		};                                                                                 \
		eda_daemon_settings_t daemon;                                                      \
	}

/* What differs between the daemons in the base settings. */
typedef struct eda_daemon_defaults {
	unsigned short port;       /* PORT when unset */
	bool port_may_be_zero;     /* PORT=0 (an ephemeral port) is allowed */
	unsigned http_threads;     /* HTTP_THREADS when unset */
	unsigned http_threads_max; /* the largest HTTP_THREADS accepted (>= 1) */
} eda_daemon_defaults_t;

/* Reads the base settings into S with DEF's defaults and bounds; an error is
 * kept in ENV like any getter's. */
void eda_daemon_settings_load(eda_daemon_settings_t *s, eda_env_t *env,
                              const eda_daemon_defaults_t *def);

/* If any getter failed: prints "SERVICE: configuration error: NAME: why" on
 * stderr and exits with status 2. Otherwise returns. */
void eda_env_exit_on_error(const eda_env_t *env, const char *service);

#endif
