/* The coordinators' internal topics, __consumer_offsets (group/) and
 * __transaction_state (txn/): created on first use, keyed by group or
 * transactional id as Kafka spreads them. Replayed with meta/scan.h. */
#ifndef SAMSA_META_INTERNAL_TOPICS_H
#define SAMSA_META_INTERNAL_TOPICS_H

#include <stdint.h>

struct meta_topic;
struct meta_topics;

#define META_OFFSETS_TOPIC "__consumer_offsets"
#define META_TXN_STATE_TOPIC "__transaction_state"

/* The internal topic `name`, taken as it is when it exists, else created
 * with `partitions` partitions, cleanup.policy=compact, segment.bytes and,
 * when not NULL, compression.type (replication factor 1: the smaller of
 * Kafka's configured one and the live brokers). A failure and a creation
 * are logged under log_module. Returns 0 with *out referenced
 * (meta_topic_put), or -errno / -SAMSA_E*. */
int meta_internal_topic_open(struct meta_topics *topics, const char *name, int32_t partitions, int64_t segment_bytes,
			     const char *compression, const char *log_module, struct meta_topic **out);

/* Kafka's partitionFor(id): abs(Java String.hashCode of the id) modulo the
 * partition count. The hash runs over UTF-16 code units, as Java's. */
int32_t meta_internal_partition_for(const char *id, int32_t partitions);

#endif
