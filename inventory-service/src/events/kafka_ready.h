/*
 * The Kafka half of /readyz. common/ does not expose the rd_kafka_t of its
 * producer or consumer, so this keeps a small handle of its own that only
 * asks the cluster for metadata (a candidate for common/).
 */
#ifndef INV_KAFKA_READY_H
#define INV_KAFKA_READY_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct inv_kafka_ready inv_kafka_ready_t;

/* Takes ownership of CONF. NULL with ERR on failure. */
inv_kafka_ready_t *inv_kafka_ready_new(rd_kafka_conf_t *conf, char *err, size_t errsz);

/* An eda_http_check_t: 0 when a broker answers a metadata request in 2 s. */
int inv_kafka_ready_check(void *ctx, char *err, size_t errsz);

void inv_kafka_ready_free(inv_kafka_ready_t *k);

#endif
