/*
 * Helpers for the inventory-service suites: unique topics, group and database
 * per test, the real daemon as a child process ($EDA_BIN_DIR/inventory-service),
 * HTTP calls with libcurl, order events to produce and a reader that collects
 * the events the daemon publishes.
 */
#ifndef INV_TEST_SUPPORT_H
#define INV_TEST_SUPPORT_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/database.h"
#include "eda/event.h"
#include "services/context.h"
#include "support/ports.h" /* ts_free_port */

typedef struct ts_inv {
	char orders[128], inventory[128], products[128], group[128], dlq[140], db[64];
	int partitions;
} ts_inv_t;

/* Unique names from NAME; creates the orders, inventory, products and DLQ
 * topics with PARTITIONS partitions. */
void ts_inv_init(ts_inv_t *t, const char *name, int partitions);

/* Starts the daemon on PORT with T's names (GROUP overrides T's group when
 * not NULL; CRASH_AT sets INVENTORY_CRASH_AT when not NULL). Unless CRASH_AT
 * is set, waits until /readyz answers 200 and the consumer has its
 * partitions. The child gets SIGKILL if the test process dies. */
pid_t ts_inv_start(const ts_inv_t *t, unsigned short port, const char *group, const char *crash_at);

/* A fresh database on $MONGODB_URL named from PREFIX (into NAME), with its
 * indexes; pool of 4, default deadline. Asserts success. */
inv_db_t *ts_inv_db_new(const char *prefix, char name[64]);

/* Drops database NAME of DB and closes DB. */
void ts_inv_db_drop(inv_db_t *db, const char *name);

/* Creates or replaces SKU with STOCK through the service (no HTTP); asserts
 * success. */
void ts_inv_put(const inv_ctx_t *ctx, const char *sku, int64_t stock);

/* Another process reserves QTY of SKU (op "other/<sku>/reserve"): appends
 * head + 1 on the ledger of DB without CTX's head hints learning of it. */
void ts_inv_competitor_takes(inv_db_t *db, const char *sku, int64_t qty);

/* Waits up to TIMEOUT_MS for a line of the log of the daemon on PORT (in
 * /tmp/<group>-<port>.log) to contain NEEDLE. Returns 1 or 0. */
int ts_inv_wait_log(const ts_inv_t *t, unsigned short port, const char *needle, int timeout_ms);

/* Waits up to TIMEOUT_S for PID to exit; returns its exit status, or -1 after
 * killing it when it did not exit in time. */
int ts_inv_wait_exit(pid_t pid, int timeout_s);

/* PID's exit status if it has exited, else -1 (never waits, never kills). */
int ts_inv_try_exit(pid_t pid);

/* SIGTERM, then waits (20 s); asserts a clean exit 0. */
void ts_inv_stop(pid_t pid);

/* An HTTP request to 127.0.0.1:PORT. HEADERS: NULL-terminated "Name: value"
 * list (may be NULL). BODY may be NULL. *OUT (if OUT) gets the JSON reply or
 * NULL. Returns the status code. */
long ts_http(unsigned short port, const char *method, const char *path, const char *const *headers,
             const char *body, size_t body_len, json_t **out);

/* The headers of a customer and of an admin. */
extern const char *const ts_user_headers[];
extern const char *const ts_admin_headers[];

/* PUT /products/SKU as admin; asserts 200 or 201. */
void ts_put_product(unsigned short port, const char *sku, int64_t stock);

/* GET /products/SKU: its stock; asserts 200. */
int64_t ts_stock(unsigned short port, const char *sku);

/* A fresh lower-case UUID. */
void ts_uuid(char out[37]);

/* A serialized OrderPlaced of N lines. Caller frees. */
char *ts_order_placed(const char *order_id, size_t n, const char *const *skus, const int *qty);
/* A serialized OrderCancelled. Caller frees. */
char *ts_order_cancelled(const char *order_id);
/* Produces VALUE with KEY to TOPIC and waits for it. */
void ts_send(const char *topic, const char *key, const char *value);

/* The events published on a topic, read from the beginning of all its
 * partitions (no group). */
typedef struct ts_events {
	rd_kafka_t *rk;
	size_t n, cap;
	eda_event_t **ev;
	char **raw;
} ts_events_t;

void ts_events_open(ts_events_t *e, const char *topic, int partitions);
/* Reads what has arrived for up to WAIT_MS. */
void ts_events_poll(ts_events_t *e, int wait_ms);
/* Events with TYPE and SUBJECT (either may be NULL: any), after reading until
 * at least WANT of them are there or TIMEOUT_MS passed. */
size_t ts_events_wait(ts_events_t *e, const char *type, const char *subject, size_t want,
                      int timeout_ms);
/* Distinct event ids among the events with TYPE and SUBJECT so far. */
size_t ts_events_distinct(const ts_events_t *e, const char *type, const char *subject);
/* The first event with TYPE and SUBJECT, or NULL. */
const eda_event_t *ts_events_find(const ts_events_t *e, const char *type, const char *subject);
/* Asserts every event validates with eda_event_validate_data and against
 * common/schemas/ with common/tests/validate_events.py. */
void ts_events_validate(const ts_events_t *e);
/* Only the C side (eda_event_validate_data), without starting Python. */
void ts_events_validate_c(const ts_events_t *e);
void ts_events_close(ts_events_t *e);

#endif
