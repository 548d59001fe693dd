/* State shared by every reactor thread of one broker process. */
#ifndef SAMSA_KAFKA_BROKER_H
#define SAMSA_KAFKA_BROKER_H

#include <stdint.h>

struct config;
struct meta_topics;
struct log_flusher;
struct reactor;
struct kafka_fetch_waiters;
struct group_coordinator;
struct txn_pids;
struct txn_coordinator;

struct broker {
	const struct config *config;  /* static keys read-only after start-up; dynamic ones change via meta (AlterConfigs) */
	struct meta_topics *topics;   /* topic registry (meta/topics.h), internally locked */
	struct log_flusher *flusher;  /* group commit for the data dir */
	int32_t node_id;
	char advertised_host[256];    /* from advertised.listeners (or listeners) */
	int32_t advertised_port;
	char cluster_id[32];          /* base64 UUID, persisted in meta.properties */
	int reactor_count;
	struct reactor **reactors;
	struct kafka_fetch_waiters *fetch_waiters; /* parked long-poll fetches (kafka/fetch_wait.h) */
	struct group_coordinator *groups; /* consumer groups and offsets (group/coordinator.h), internally locked */
	struct txn_pids *pids;        /* producer id allocator (txn/pid.h), internally locked */
	struct txn_coordinator *txns; /* transactional ids and transactions (txn/coordinator.h), internally locked */
};

#endif
