/*
 * Helpers for the order-service suites: a fresh PostgreSQL database per test
 * program (created by the parent process, dropped at the end), unique Kafka
 * topics and consumer group, the daemon started in-process on an ephemeral
 * port, an HTTP client, a reader of a whole topic, and the JSON Schema check
 * of produced events (common/tests/validate_events.py).
 */
#ifndef OS_TEST_SUPPORT_H
#define OS_TEST_SUPPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

/* Creates database NAME-<unique> on the stack's server, exports DATABASE_URL
 * pointing at it, and remembers it for ost_drop_database(). */
void ost_create_database(const char *prefix);
void ost_drop_database(void);

/* The URL of the test database (also in the environment). */
const char *ost_database_url(void);

/* A connection to the test database (fails the test if impossible). */
PGconn *ost_db(void);

/* Runs SQL on a fresh connection and returns the first value of the first
 * row as a number (0 when no row). */
long long ost_sql_num(const char *sql);
/* Runs SQL (no result expected); fails the test on error. */
void ost_sql(const char *sql);

/* Creates unique topics orders/inventory/payments/products, dlq.<group> and
 * dlq.<group>-catalogue, exports TOPIC_* and CONSUMER_GROUP. */
void ost_create_topics(const char *prefix);
/* "orders", "inventory", "payments", "products", "dlq" */
const char *ost_topic(const char *which);

/* Puts SKU at PRICE ("49.99") in CURRENCY straight into the catalogue replica
 * of the test database (after the app created the table), for tests that are
 * not about the replica. */
void ost_catalogue_put(const char *sku, const char *price, const char *currency);

/* Produces ProductChanged for SKU (PRICE, CURRENCY, VERSION) to the test's
 * products topic, key = SKU, as inventory-service would; to PARTITION (-1: by
 * key). */
void ost_produce_product(int32_t partition, const char *sku, const char *price,
                         const char *currency, long long version);

/* Applies the test environment (PORT=0, quiet logs) and starts APP. */
void ost_app_start(os_app_t *app);

/* ---- HTTP --------------------------------------------------------------- */

typedef struct ost_resp {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
} ost_resp_t;

/* One request to http://127.0.0.1:PORT PATH. HEADERS is NULL-terminated or
 * NULL; BODY NULL sends none, otherwise LEN bytes (LEN 0: strlen). */
void ost_http(ost_resp_t *out, unsigned short port, const char *method, const char *path,
              const char *const *headers, const char *body, size_t len);
void ost_resp_free(ost_resp_t *r);
/* The body as JSON (fails the test if it is not). Caller decrefs. */
json_t *ost_json(const ost_resp_t *r);
/* The value of response header NAME (case-insensitive) into OUT, "" if none. */
void ost_header(const ost_resp_t *r, const char *name, char *out, size_t outsz);

/* POST /orders as WHO with e-mail ada@example.com, JSON content type and one
 * EXTRA header (may be NULL). */
void ost_post(ost_resp_t *r, unsigned short port, const char *who, const char *extra,
              const char *body);

/* GET PATH as WHO with X-Roles ROLES (NULL: "customer"). */
void ost_get(ost_resp_t *r, unsigned short port, const char *who, const char *roles,
             const char *path);

/* Number of orders of customer WHO in the test database. */
long long ost_orders_of(const char *who);

/* POST /orders as CUSTOMER with BODY; returns the new order's id in ID (or
 * fails the test unless 201). */
void ost_place(unsigned short port, const char *customer, const char *body, char id[37]);

/* ---- Kafka -------------------------------------------------------------- */

/* Produces event TYPE about ORDER_ID with DATA (JSON text) to TOPIC, key =
 * ORDER_ID. ID (may be NULL) fixes the event id (for duplicates). */
void ost_produce_event(const char *topic, const char *type, const char *order_id, const char *data,
                       const char *id);
/* The same to PARTITION (-1: by key). */
void ost_produce_event_to(const char *topic, int32_t partition, const char *type,
                          const char *order_id, const char *data, const char *id);

typedef struct ost_msg {
	char *key, *value;
	int partition;
	long long offset;
} ost_msg_t;

/* Reads TOPIC from the beginning until at least N messages arrived (or 60 s
 * passed: fails the test). Returns the messages in (partition, offset) order
 * and their count in *COUNT; free with ost_msgs_free. */
ost_msg_t *ost_read_topic(const char *topic, size_t n, size_t *count);
void ost_msgs_free(ost_msg_t *m, size_t n);

/* Validates every VALUE against common/schemas/ with validate_events.py;
 * fails the test naming the first invalid one. */
void ost_validate_events(const ost_msg_t *m, size_t n);

/* Polls until SQL yields a number >= WANT (or fails after 60 s). */
void ost_wait_sql(const char *sql, long long want);

#endif
