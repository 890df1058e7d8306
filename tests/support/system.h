/*
 * The whole system for end-to-end tests: the four real daemons started from
 * $EDA_BIN_DIR on free loopback ports, on topics, consumer groups and databases
 * of their own (so a suite never meets another suite's messages or a `make up`
 * running beside it), talked to through the gateway with real HTTP and tokens
 * minted by `api-gateway token`.
 */
#ifndef EDA_TEST_SYSTEM_H
#define EDA_TEST_SYSTEM_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

enum { SYS_ORDER, SYS_INVENTORY, SYS_NOTIFICATION, SYS_GATEWAY, SYS_NDAEMONS };

typedef struct sys {
	char tag[64]; /* unique per start: names topics, groups, databases */
	char topic_orders[96], topic_inventory[96], topic_payments[96], topic_products[96];
	char group[SYS_NDAEMONS][96];
	char pg_db[64], pg_url[256], mongo_db[64];
	char spool[128], logdir[128];
	char jwt_secret[128];
	unsigned short port[SYS_NDAEMONS];
	pid_t pid[SYS_NDAEMONS];
	char admin_token[2048], customer_token[2048], other_token[2048];
} sys_t;

extern const char *const sys_daemon_names[SYS_NDAEMONS];

/* Creates topics and databases, starts the four daemons and waits until each
 * /readyz answers 200; fails the test otherwise (with the daemon's log tail). */
void sys_start(sys_t *s);

/* Stops every daemon with SIGTERM (SIGKILL after 30 s) and drops the databases. */
void sys_stop(sys_t *s);

/* Restarts one daemon: SIGTERM, wait for exit (status 0 expected), start again,
 * wait for /readyz. */
void sys_restart(sys_t *s, int daemon);

/* An HTTP request to the gateway with TOKEN (may be NULL) and JSON BODY (may be
 * NULL). Returns the status; *OUT (if not NULL) gets the parsed JSON body or
 * NULL. EXTRA_HEADER (may be NULL) is one more "Name: value" header. */
int sys_http(const sys_t *s, const char *method, const char *path, const char *token,
             const char *body, const char *extra_header, json_t **out);

/* PUT /products/{sku} as admin; returns once the order service's catalogue
 * replica has the product at that price (orders for it are priced then). */
void sys_put_product(const sys_t *s, const char *sku, const char *price, long stock);

/* Waits (up to TIMEOUT_S) until GET /orders/{id} shows a status other than
 * PENDING, using ?wait=; returns the order (caller decrefs). */
json_t *sys_wait_order(const sys_t *s, const char *token, const char *id, int timeout_s);

/* Reads every message of TOPIC (all partitions, from the beginning, up to the
 * current end) as parsed JSON values in one array (caller decrefs). */
json_t *sys_read_topic(const char *topic);

#endif
