/*
 * Private to common/: the consumer's state and the functions its two files
 * share. consumer.c handles messages (the per-partition holds, retries, the
 * group commit of a batch, the DLQ) and runs the poll loop; consumer_group.c
 * is the group member around it (librdkafka configuration and callbacks,
 * rebalances, readiness, a new handle after a fatal error, start and stop).
 * Not installed.
 */
#ifndef EDA_CONSUMER_INTERNAL_H
#define EDA_CONSUMER_INTERNAL_H

#include "eda/consumer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum assignment_state {
	ASSIGN_WAITING = 0, /* no assignment from the group yet */
	ASSIGN_HELD,        /* the group's assignment (maybe empty) is ours */
	ASSIGN_LOST,        /* revoked or lost, since lost_at_ms */
};

enum entry_state {
	ENTRY_NEW = 0, /* the handler has yet to see it (again) */
	ENTRY_PENDING, /* answered PENDING: durable after the next flush */
	ENTRY_SETTLED, /* DONE or DEAD behind a pending one: only its offset waits */
};

struct entry {
	rd_kafka_message_t *m;
	const char *type; /* of a PENDING message, for the metric counted at flush */
	enum entry_state state;
	int tries; /* handler runs on it so far */
};

struct hold {
	char *topic;
	int32_t partition;
	struct entry *q; /* FIFO: q[head .. head+n), the first npend pending */
	size_t head, n, npend, cap;
	int64_t resume_at_ms; /* of the first held message */
	bool paused;
};

struct eda_consumer {
	rd_kafka_t *rk;
	eda_consumer_config_t cfg;
	char *group;
	char *dlq_topic;
	struct hold *holds;
	size_t nholds, capholds;
	size_t npending;          /* sum of the holds' npend */
	int64_t pending_since_ms; /* when the oldest of them was handled */
	int flush_failures;       /* consecutive, for the backoff */
	char **topics;            /* NULL-terminated; subscribed to when the loop starts */
	rd_kafka_conf_t *conf;    /* a copy, for a new handle after a fatal error */
	pthread_mutex_t rk_lock;  /* rk is replaced on the consumer's thread, read on others */
	int64_t fatal_at_ms;      /* when a fatal error was first seen, or 0 */
	bool subscribed;
	char *instance_id; /* NULL: a dynamic member */
	int session_ms;    /* session.timeout.ms as configured */
	/* Read by /readyz on a server thread, written on the consumer's. */
	atomic_int assignment;
	atomic_int_least64_t lost_at_ms;
	atomic_bool fenced;
	/* The next offset to read after what is durable, per partition, for the
	 * caught-up check on a server thread (stored on the consumer's). */
	pthread_mutex_t settled_lock;
	struct settled {
		char *topic;
		int32_t partition;
		int64_t next;
	} * settled;
	size_t nsettled;
	atomic_bool stop;
	bool thread_started;
	pthread_t thread;
	eda_metric_t *consumed, *duration, *dlq, *lag;
};

/* consumer.c: the holds and the batch. */

/* The hold of TOPIC [PARTITION], or NULL when it never needed one. */
struct hold *eda_consumer__hold_find(eda_consumer_t *c, const char *topic, int32_t partition);

/* Drops H's messages without settling them (a revoked partition). */
void eda_consumer__hold_clear(eda_consumer_t *c, struct hold *h);

/* Drops every hold's messages and the holds. */
void eda_consumer__hold_free_all(eda_consumer_t *c);

/* Makes the batch durable (cfg.flush) and settles it; on failure its messages
 * are held again for a retry. */
void eda_consumer__flush_pending(eda_consumer_t *c);

/* The next offset after what is durable on TOPIC [PARTITION], or -1. */
int64_t eda_consumer__settled_next(eda_consumer_t *c, const char *topic, int32_t partition);

/* consumer_group.c: the member. */

/* Subscribes to the topics once. Returns 0, or -1 with ERR filled. */
int eda_consumer__subscribe(eda_consumer_t *c, char *err, size_t errsz);

/* Whether the handle is dead (a fatal error, or none could be made). */
bool eda_consumer__handle_dead(eda_consumer_t *c);

/* Replaces a dead handle with a new one and rejoins. Returns 0 or -1. */
int eda_consumer__renew_handle(eda_consumer_t *c);

#endif
