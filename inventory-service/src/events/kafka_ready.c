/* Kafka readiness probe; see kafka_ready.h. */
#include "events/kafka_ready.h"

#include <stdlib.h>

#include "eda/alloc.h"
#include "eda/errbuf.h"

struct inv_kafka_ready {
	rd_kafka_t *rk;
};

inv_kafka_ready_t *inv_kafka_ready_new(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
	inv_kafka_ready_t *k = eda_xcalloc(1, sizeof(*k));

	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
	if (k->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(k);
		return NULL;
	}
	return k;
}

int inv_kafka_ready_check(void *ctx, char *err, size_t errsz)
{
	inv_kafka_ready_t *k = ctx;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t rc = rd_kafka_metadata(k->rk, 0, NULL, &md, 2000);

	if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
		eda_errf(err, errsz, "kafka: %s", rd_kafka_err2str(rc));
		return -1;
	}
	rd_kafka_metadata_destroy(md);
	return 0;
}

void inv_kafka_ready_free(inv_kafka_ready_t *k)
{
	if (k == NULL)
		return;
	rd_kafka_destroy(k->rk);
	free(k);
}
