/*
 * The consumer-group member of eda/consumer.h around the message handling of
 * consumer.c: the librdkafka configuration a consumer needs, the rebalance,
 * statistics and error callbacks, the readiness checks, a new handle after a
 * fatal error, and the life cycle (new, start, stop, free).
 */
#include "consumer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_lag.h"
#include "eda/alloc.h"
#include "eda/clock.h"
#include "eda/kafka.h"
#include "eda/log.h"

#define DEFAULT_BATCH_MAX     256
#define DEFAULT_BATCH_MAX_MS  100
#define DEFAULT_QUEUED_KBYTES 4096
/* librdkafka's 45 s default kept a killed member's partitions idle for 40 s;
 * with static membership a restart takes them back at once, and this only
 * bounds how long a member that stays dead holds them. Heartbeats every 3 s
 * (librdkafka's default) fit three times into it, as Kafka recommends. */
#define DEFAULT_SESSION_MS 10000

/* ---- librdkafka callbacks -------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	eda_consumer_t *c = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (c->cfg.from_beginning) {
			for (int i = 0; i < parts->cnt; i++)
				parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
		}
		rd_kafka_assign(rk, parts);
		atomic_store(&c->assignment, ASSIGN_HELD);
		eda_logf(EDA_LOG_INFO, "group %s: %d partitions assigned", c->group, parts->cnt);
		if (c->cfg.on_assign != NULL)
			c->cfg.on_assign(parts, c->cfg.ctx);
		return;
	}
	atomic_store(&c->lost_at_ms, eda_clock_mono_ms());
	atomic_store(&c->assignment, ASSIGN_LOST);
	/* Make the batch durable while its offsets can still be stored; if that
	 * fails, its messages become held and are dropped below. */
	if (c->npending > 0)
		eda_consumer__flush_pending(c);
	if (c->cfg.on_revoke != NULL)
		c->cfg.on_revoke(parts, c->cfg.ctx);
	/* Commit what is durable now, so the next owner starts where we stopped;
	 * but not partitions that were lost (the session ended while the broker
	 * was away): another member may own them already, and a static member's
	 * commit under its old member id is answered "fenced", which librdkafka
	 * 2.0.2 makes a fatal error. */
	if (!rd_kafka_assignment_lost(rk))
		rd_kafka_commit(rk, NULL, 0);
	for (int i = 0; i < parts->cnt; i++) {
		struct hold *h = eda_consumer__hold_find(c, parts->elems[i].topic,
		                                         parts->elems[i].partition);

		if (h != NULL)
			eda_consumer__hold_clear(c, h);
	}
	rd_kafka_assign(rk, NULL);
	eda_logf(EDA_LOG_INFO, "group %s: %d partitions revoked", c->group, parts->cnt);
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	eda_consumer_t *c = opaque;

	(void)rk;
	if (c->lag != NULL)
		eda_consumer_lag_update(json, len, c->lag);
	return 0; /* librdkafka frees json */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	eda_consumer_t *c = opaque;
	char fatal[256];

	if (err == RD_KAFKA_RESP_ERR__FATAL && rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) ==
	                                               RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
		/* Another live process joined with our group.instance.id: this
		 * member can never consume again. /readyz says so for good. */
		atomic_store(&c->fenced, true);
		eda_log(EDA_LOG_ERROR, "consumer fenced: another member uses its instance id",
		        "group", c->group, "instance_id", c->instance_id, "error", fatal, NULL);
		return;
	}
	eda_log(EDA_LOG_WARN, "kafka consumer error", "group", c->group, "error", reason, "code",
	        rd_kafka_err2name((rd_kafka_resp_err_t)err), NULL);
}

int eda_consumer_ready_check(void *ctx, char *err, size_t errsz)
{
	eda_consumer_t *c = ctx;

	if (atomic_load(&c->fenced)) {
		snprintf(err, errsz,
		         "group %s: its Kafka handle had a fatal error (fenced: instance id %s); "
		         "a new one follows within a session timeout",
		         c->group, c->instance_id != NULL ? c->instance_id : "none");
		return 1;
	}
	switch (atomic_load(&c->assignment)) {
	case ASSIGN_HELD:
		return 0;
	case ASSIGN_LOST:
		if (eda_clock_mono_ms() - atomic_load(&c->lost_at_ms) < c->session_ms)
			return 0;
		snprintf(err, errsz, "group %s: partitions lost, waiting for new ones", c->group);
		return 1;
	default:
		snprintf(err, errsz, "group %s: waiting for partitions", c->group);
		return 1;
	}
}

int eda_consumer_caught_up_check(void *ctx, char *err, size_t errsz)
{
	eda_consumer_t *c = ctx;
	rd_kafka_topic_partition_list_t *parts = NULL;
	int rc = eda_consumer_ready_check(c, err, errsz);

	if (rc != 0)
		return rc;
	pthread_mutex_lock(&c->rk_lock);
	if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		pthread_mutex_unlock(&c->rk_lock);
		snprintf(err, errsz, "group %s: assignment unknown", c->group);
		return 1;
	}
	for (int i = 0; i < parts->cnt && rc == 0; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t lo = -1, hi = -1,
		        next = eda_consumer__settled_next(c, p->topic, p->partition);

		/* Watermarks come with fetch responses; -1 until the first one.
		 * Durable, not merely fetched: a handled message whose batch is not
		 * flushed yet does not count. */
		if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) !=
		            RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0 || (next < 0 ? lo < hi : next < hi)) {
			snprintf(err, errsz, "group %s: catching up on %s [%d]", c->group, p->topic,
			         (int)p->partition);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&c->rk_lock);
	rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

static int register_metrics(eda_consumer_t *c, char *err, size_t errsz)
{
	eda_metrics_t *reg = c->cfg.metrics;
	char why[256];

	if (reg == NULL)
		return 0;
	c->consumed = eda_metrics_counter(reg, "events_consumed_total",
	                                  "Messages handled, by result (done, retry, dead).",
	                                  "topic,type,result", why, sizeof(why));
	if (c->consumed != NULL)
		c->duration = eda_metrics_histogram(reg, "event_processing_duration_seconds",
		                                    "Time a handler took for one message.", "topic",
		                                    NULL, 0, why, sizeof(why));
	if (c->duration != NULL)
		c->dlq = eda_metrics_counter(reg, "dlq_messages_total",
		                             "Messages forwarded to the dead-letter topic.",
		                             "topic", why, sizeof(why));
	if (c->dlq != NULL)
		c->lag = eda_metrics_gauge(reg, "consumer_lag",
		                           "Messages behind the partition's high watermark.",
		                           "topic,partition", why, sizeof(why));
	if (c->lag == NULL) {
		snprintf(err, errsz, "metrics: %s", why);
		return -1;
	}
	return 0;
}

static char **copy_topics(const char *const *topics)
{
	size_t n = 0;
	char **copy;

	while (topics[n] != NULL)
		n++;
	copy = eda_xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy[i] = eda_xstrdup(topics[i]);
	return copy;
}

/* Joining the group is left to the start of the loop, not done when the
 * consumer is made: a process that then fails to start (its port taken by
 * the live replica it duplicates) must not have joined with that replica's
 * instance id, which would fence the live one. */
int eda_consumer__subscribe(eda_consumer_t *c, char *err, size_t errsz)
{
	rd_kafka_topic_partition_list_t *subs;
	rd_kafka_resp_err_t e;

	if (c->subscribed)
		return 0;
	subs = rd_kafka_topic_partition_list_new(4);
	for (char **t = c->topics; *t != NULL; t++)
		rd_kafka_topic_partition_list_add(subs, *t, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(c->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errsz, "subscribe: %s", rd_kafka_err2str(e));
		return -1;
	}
	c->subscribed = true;
	return 0;
}

/* The configuration's zeros and out-of-order values made the defaults. */
static void apply_defaults(eda_consumer_config_t *cfg)
{
	if (cfg->retry_initial_ms <= 0)
		cfg->retry_initial_ms = 100;
	if (cfg->retry_max_ms <= 0)
		cfg->retry_max_ms = 30000;
	if (cfg->retry_max_ms < cfg->retry_initial_ms)
		cfg->retry_max_ms = cfg->retry_initial_ms;
	if (cfg->stats_interval_ms == 0)
		cfg->stats_interval_ms = 5000;
	if (cfg->batch_max <= 0)
		cfg->batch_max = DEFAULT_BATCH_MAX;
	if (cfg->batch_max_ms <= 0)
		cfg->batch_max_ms = DEFAULT_BATCH_MAX_MS;
}

/* Sets on CONF what the consumer's guarantees need (offsets stored only after
 * a message is settled) and our defaults where the deployment left
 * librdkafka's, and the static member id (CONF's or CFG's) into C. Returns 0,
 * or -1 with ERR filled. */
static int set_group_props(eda_consumer_t *c, rd_kafka_conf_t *conf,
                           const eda_consumer_config_t *cfg, char *err, size_t errsz)
{
	char why[512], interval[16], reset[32];
	size_t reset_len = sizeof(reset);
	char queued[32], session[32];
	size_t queued_len = sizeof(queued), session_len = sizeof(session);
	char instance[256];
	size_t instance_len = sizeof(instance);

	if (rd_kafka_conf_get(conf, "auto.offset.reset", reset, &reset_len) != RD_KAFKA_CONF_OK ||
	    strcmp(reset, "largest") ==
	            0) /* librdkafka's default: new groups read from the start */
		snprintf(reset, sizeof(reset), "earliest");
	/* librdkafka pre-fetches up to 64 MiB per consumer by default: with a
	 * backlog that is most of a daemon's RSS and buys nothing, as handlers are
	 * slower than the fetches. 4 MiB keeps the fetcher ahead; a value set
	 * through KAFKA_QUEUED_MAX_MESSAGES_KBYTES (other than the default) wins. */
	if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", queued, &queued_len) !=
	            RD_KAFKA_CONF_OK ||
	    strcmp(queued, "65536") == 0)
		snprintf(queued, sizeof(queued), "%d", DEFAULT_QUEUED_KBYTES);
	snprintf(interval, sizeof(interval), "%d",
	         c->cfg.stats_interval_ms > 0 ? c->cfg.stats_interval_ms : 0);
	/* librdkafka's default (45000) means "not set here": ours is shorter. */
	if (rd_kafka_conf_get(conf, "session.timeout.ms", session, &session_len) !=
	            RD_KAFKA_CONF_OK ||
	    strcmp(session, "45000") == 0)
		snprintf(session, sizeof(session), "%d", DEFAULT_SESSION_MS);
	c->session_ms = atoi(session);
	if (rd_kafka_conf_get(conf, "group.instance.id", instance, &instance_len) ==
	            RD_KAFKA_CONF_OK &&
	    instance[0] != '\0')
		c->instance_id = eda_xstrdup(instance);
	else if (cfg->instance_id != NULL && cfg->instance_id[0] != '\0')
		c->instance_id = eda_xstrdup(cfg->instance_id);
	const char *const props[][2] = {
	        {"group.id", c->group},
	        {"enable.auto.offset.store", "false"},
	        {"enable.auto.commit", "true"},
	        {"auto.offset.reset", reset},
	        {"statistics.interval.ms", interval},
	        {"queued.max.messages.kbytes", queued},
	        {"session.timeout.ms", session},
	        {"group.instance.id", c->instance_id}, /* skipped when NULL */
	};
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (props[i][1] == NULL)
			continue;
		if (eda_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why)) != 0) {
			snprintf(err, errsz, "%s: %s", props[i][0], why);
			return -1;
		}
	}
	return 0;
}

eda_consumer_t *eda_consumer_new(rd_kafka_conf_t *conf, const eda_consumer_config_t *cfg, char *err,
                                 size_t errsz)
{
	eda_consumer_t *c = eda_xcalloc(1, sizeof(*c));
	char why[512];

	pthread_mutex_init(&c->settled_lock, NULL);
	pthread_mutex_init(&c->rk_lock, NULL);

	if (cfg->group == NULL || *cfg->group == '\0' || cfg->topics == NULL ||
	    cfg->topics[0] == NULL || cfg->handler == NULL || cfg->dlq_producer == NULL) {
		snprintf(err, errsz,
		         "consumer: group, topics, handler and dlq_producer are required");
		goto fail;
	}
	c->cfg = *cfg;
	c->group = eda_xstrdup(cfg->group);
	c->dlq_topic = eda_xasprintf("dlq.%s", cfg->group);
	c->cfg.group = c->group;
	c->cfg.topics = NULL; /* not kept: only used to subscribe below */
	apply_defaults(&c->cfg);
	if (register_metrics(c, err, errsz) != 0 || set_group_props(c, conf, cfg, err, errsz) != 0)
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_stats_cb(conf, on_stats);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, c);
	c->conf = rd_kafka_conf_dup(conf);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (c->rk == NULL) {
		snprintf(err, errsz, "kafka consumer: %s", why);
		goto fail;
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(c->rk);
	c->topics = copy_topics(cfg->topics);
	return c;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	eda_consumer_free(c);
	return NULL;
}

/*
 * A fatal error ends a librdkafka handle for good, and librdkafka 2.0.2 can
 * give a static member one of its own making: after a broker restart longer
 * than the session, the member rejoins under a new member id while an offset
 * commit still carries the old one, and that commit's FENCED_INSTANCE_ID is
 * fatal (seen in make chaos: the order service's saga stopped for good). So
 * the consumer answers a fatal error with a new handle, after one session
 * timeout: its uncommitted messages come again (handlers are idempotent), and
 * two live processes that share an instance id by mistake take turns, loudly
 * logged, instead of one of them standing still forever. Returns 0, or -1 when
 * the new handle cannot be made (tried again a session later).
 */
int eda_consumer__renew_handle(eda_consumer_t *c)
{
	char why[512];

	/* Settle what can be: effects made durable, offsets (if the handle
	 * still takes them) stored; the rest is redelivered. */
	if (c->npending > 0)
		eda_consumer__flush_pending(c);
	eda_consumer__hold_free_all(c); /* messages belong to the old handle */
	c->npending = 0;
	pthread_mutex_lock(&c->rk_lock);
	if (c->rk != NULL)
		rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rd_kafka_conf_dup(c->conf), why, sizeof(why));
	if (c->rk != NULL)
		rd_kafka_poll_set_consumer(c->rk);
	pthread_mutex_unlock(&c->rk_lock);
	c->subscribed = false;
	atomic_store(&c->assignment, ASSIGN_WAITING);
	if (c->rk == NULL || eda_consumer__subscribe(c, why, sizeof(why)) != 0) {
		eda_log(EDA_LOG_ERROR, "consumer: no new handle after a fatal error", "group",
		        c->group, "error", why, NULL);
		return -1;
	}
	atomic_store(&c->fenced, false);
	c->fatal_at_ms = 0;
	eda_log(EDA_LOG_WARN, "consumer: new handle after a fatal error, rejoining", "group",
	        c->group, NULL);
	return 0;
}

/* Whether the handle is dead (a fatal error, or none could be made). */
bool eda_consumer__handle_dead(eda_consumer_t *c)
{
	if (c->rk != NULL && rd_kafka_fatal_error(c->rk, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	if (c->fatal_at_ms == 0) {
		c->fatal_at_ms = eda_clock_mono_ms();
		atomic_store(&c->fenced, true); /* /readyz: not ready until renewed */
	}
	return true;
}

static void *run_thread(void *arg)
{
	eda_consumer_run(arg);
	return NULL;
}

int eda_consumer_start(eda_consumer_t *c, char *err, size_t errsz)
{
	if (eda_consumer__subscribe(c, err, errsz) != 0)
		return -1;
	if (pthread_create(&c->thread, NULL, run_thread, c) != 0) {
		snprintf(err, errsz, "consumer %s: cannot start its thread", c->group);
		return -1;
	}
	c->thread_started = true;
	return 0;
}

void eda_consumer_stop(eda_consumer_t *c)
{
	atomic_store(&c->stop, true);
	if (c->thread_started) {
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
}

void eda_consumer_free(eda_consumer_t *c)
{
	if (c == NULL)
		return;
	eda_consumer_stop(c);
	if (c->rk != NULL) {
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			eda_log(EDA_LOG_WARN, "final commit failed", "group", c->group, "error",
			        rd_kafka_err2str(e), NULL);
		/* Held messages were never settled: drop them before leaving so that
		 * the rebalance on close does not see them. */
		eda_consumer__hold_free_all(c);
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	eda_consumer__hold_free_all(c);
	free(c->dlq_topic);
	free(c->group);
	free(c->instance_id);
	for (size_t i = 0; i < c->nsettled; i++)
		free(c->settled[i].topic);
	free(c->settled);
	pthread_mutex_destroy(&c->settled_lock);
	pthread_mutex_destroy(&c->rk_lock);
	if (c->conf != NULL)
		rd_kafka_conf_destroy(c->conf);
	for (char **t = c->topics; t != NULL && *t != NULL; t++)
		free(*t);
	free(c->topics);
	free(c);
}
