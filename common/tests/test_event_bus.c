/*
 * Tests for eda/event_bus.h: dispatch of consumed messages by event type (a
 * table of inputs and the expected result), and publishing an event to the real
 * Kafka of the local stack with its key and content-type header.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eda/event_bus.h"
#include "eda/log.h"
#include "support/check_main.h"
#include "support/kafka_support.h"

#define ORDER_ID "0b6b1f0e-8a4e-4c4e-9a57-2f4b7c1d9e01"

static int reserved_calls;

static eda_handler_result_t on_reserved(const eda_event_t *ev, eda_consumed_t *m, void *ctx)
{
	(void)m;
	ck_assert_ptr_eq(ctx, &reserved_calls);
	ck_assert_str_eq(ev->subject, ORDER_ID);
	reserved_calls++;
	return EDA_HANDLER_DONE;
}

static const eda_event_route_t routes[] = {
        {EDA_EVENT_INVENTORY_RESERVED, on_reserved},
};

static char *reserved_event(json_t *data)
{
	eda_event_t *ev = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_RESERVED,
	                                ORDER_ID, data, NULL, "req-1");
	char *s = eda_event_serialize(ev, NULL);

	eda_event_free(ev);
	return s;
}

struct dispatch_case {
	const char *name;
	int kind; /* 0: literal VALUE, 1: valid InventoryReserved, 2: reserved with bad data,
	             3: a known type without a route, 4: unknown type */
	const char *value;
	eda_handler_result_t want;
	const char *type;   /* the metrics label the dispatcher sets */
	const char *reason; /* substring of m.reason, for DEAD */
	int calls;
};

static const struct dispatch_case cases[] = {
        {"not json", 0, "{oops", EDA_HANDLER_DEAD, "invalid", "", 0},
        {"empty", 0, "", EDA_HANDLER_DEAD, "invalid", "", 0},
        {"array", 0, "[1,2]", EDA_HANDLER_DEAD, "invalid", "", 0},
        {"no specversion", 0, "{\"id\":\"1\",\"source\":\"/x\",\"type\":\"InventoryReserved\"}",
         EDA_HANDLER_DEAD, "invalid", "specversion", 0},
        {"valid", 1, NULL, EDA_HANDLER_DONE, EDA_EVENT_INVENTORY_RESERVED, NULL, 1},
        {"bad data", 2, NULL, EDA_HANDLER_DEAD, EDA_EVENT_INVENTORY_RESERVED, "quantity", 0},
        {"not routed", 3, NULL, EDA_HANDLER_DONE, "ignored", NULL, 0},
        {"unknown type", 4, NULL, EDA_HANDLER_DONE, "ignored", NULL, 0},
};

static json_t *items(int quantity)
{
	return json_pack("{s:s, s:[{s:s, s:i}]}", "order_id", ORDER_ID, "items", "sku", "SKU-1",
	                 "quantity", quantity);
}

START_TEST(dispatch_table)
{
	const struct dispatch_case *c = &cases[_i];
	eda_consumed_t m = {.topic = "inventory"};
	char *value = NULL;
	eda_event_t *ev;

	reserved_calls = 0;
	switch (c->kind) {
	case 0:
		value = strdup(c->value);
		break;
	case 1:
		value = reserved_event(items(2));
		break;
	case 2:
		value = reserved_event(items(0));
		break;
	case 3:
		ev = eda_event_new("/order-service", EDA_EVENT_ORDER_PAID, ORDER_ID,
		                   json_pack("{s:s}", "order_id", ORDER_ID), NULL, NULL);
		value = eda_event_serialize(ev, NULL);
		eda_event_free(ev);
		break;
	default:
		ev = eda_event_new("/elsewhere", "SomethingNew", "x", json_object(), NULL, NULL);
		value = eda_event_serialize(ev, NULL);
		eda_event_free(ev);
		break;
	}
	ck_assert_ptr_nonnull(value);
	m.value = value;
	m.len = strlen(value);
	ck_assert_int_eq(eda_event_dispatch(&m, routes, 1, &reserved_calls), c->want);
	ck_assert_str_eq(m.type, c->type);
	ck_assert_int_eq(reserved_calls, c->calls);
	if (c->reason != NULL)
		ck_assert_msg(strstr(m.reason, c->reason) != NULL, "%s: reason '%s'", c->name,
		              m.reason);
	free(value);
}
END_TEST

START_TEST(publish_sync_sets_key_and_header)
{
	char topic[96], err[512];
	rd_kafka_t *rk;
	rd_kafka_message_t *m;
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t n;
	eda_metrics_t *reg = eda_metrics_new();
	eda_metric_t *published = eda_event_published_metric(reg, err, sizeof(err));
	eda_producer_t *p = eda_producer_new(ts_kafka_conf(), NULL, NULL, NULL, err, sizeof(err));
	eda_event_t *ev = eda_event_new("/inventory-service", EDA_EVENT_INVENTORY_RESERVED,
	                                ORDER_ID, items(3), NULL, "req-2");
	eda_event_t *back = NULL;

	ck_assert_msg(p != NULL, "%s", err);
	ts_unique(topic, sizeof(topic), "test.publish");
	ts_create_topic(topic, 1);
	ck_assert_int_eq(eda_event_publish_sync(p, topic, ev, published, 30000, err, sizeof(err)),
	                 EDA_PRODUCER_OK);
	ck_assert_double_eq(eda_metric_value(published, EDA_LABELS(topic, "InventoryReserved")), 1);

	m = ts_read_first(topic, 0, &rk);
	ck_assert_uint_eq(m->key_len, strlen(ORDER_ID));
	ck_assert(memcmp(m->key, ORDER_ID, m->key_len) == 0);
	ck_assert_int_eq(rd_kafka_message_headers(m, &hdrs), RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert_int_eq(rd_kafka_header_get_last(hdrs, "content-type", &v, &n),
	                 RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert(n == strlen(EDA_EVENT_CONTENT_TYPE) && memcmp(v, EDA_EVENT_CONTENT_TYPE, n) == 0);
	ck_assert_int_eq(eda_event_parse(m->payload, m->len, &back, err, sizeof(err)), 0);
	ck_assert_str_eq(back->id, ev->id);
	ck_assert_str_eq(back->correlationid, "req-2");

	eda_event_free(back);
	rd_kafka_message_destroy(m);
	ts_reader_close(rk);
	eda_event_free(ev);
	eda_producer_free(p, 5000);
	eda_metrics_free(reg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event_bus");
	TCase *tc = tcase_create("dispatch");
	TCase *tk = tcase_create("publish");

	eda_log_init("test-event-bus", EDA_LOG_WARN);
	tcase_add_loop_test(tc, dispatch_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_set_timeout(tk, 90);
	tcase_add_test(tk, publish_sync_sets_key_and_header);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tk);
	return ts_run_suite(s);
}
