/*
 * Consumer lag per partition, read from librdkafka's statistics callback: the
 * "topics" object maps topic -> {"partitions": {"<id>": {"consumer_lag": n}}},
 * where partition "-1" is librdkafka's internal unassigned partition.
 */
#include "consumer_lag.h"

#include <jansson.h>
#include <string.h>

int eda_consumer_lag_update(const char *json, size_t len, eda_metric_t *gauge)
{
	json_t *root = json_loadb(json, len, 0, NULL);
	json_t *topics, *topic, *parts, *part;
	const char *tname, *pname;
	int n = 0;

	if (root == NULL)
		return -1;
	topics = json_object_get(root, "topics");
	if (!json_is_object(topics)) {
		json_decref(root);
		return -1;
	}
	json_object_foreach(topics, tname, topic)
	{
		parts = json_object_get(topic, "partitions");
		if (!json_is_object(parts))
			continue;
		json_object_foreach(parts, pname, part)
		{
			json_t *lag = json_object_get(part, "consumer_lag");

			if (strcmp(pname, "-1") == 0 || !json_is_integer(lag) ||
			    json_integer_value(lag) < 0)
				continue;
			eda_gauge_set(gauge, EDA_LABELS(tname, pname),
			              (double)json_integer_value(lag));
			n++;
		}
	}
	json_decref(root);
	return n;
}
