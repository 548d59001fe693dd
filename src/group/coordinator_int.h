/* Internals shared by coordinator.c (groups, persistence, timers) and
 * offsets.c (the committed offsets). Everything here is guarded by
 * coord->mu unless said otherwise. */
#ifndef SAMSA_GROUP_COORDINATOR_INT_H
#define SAMSA_GROUP_COORDINATOR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "group/coordinator.h"
#include "group/group.h"
#include "base/hmap.h"
#include "group/records.h"
#include "meta/internal_topics.h"
#include "proto/batch.h"
#include "txn/producer_state.h"

struct meta_topic;

/* One committed (or pending transactional) offset. */
struct goffset {
	int64_t offset;
	int32_t leader_epoch;
	char *metadata;
	int64_t commit_ts;  /* wall ms */
	int64_t log_offset; /* of its record in __consumer_offsets: the later record wins (transactions) */
};

/* A group: its membership state machine, its committed offsets, keyed by
 * topic name, a NUL, then the partition as 4 big-endian bytes, and the
 * transactional offsets that TxnOffsetCommit wrote and no marker has ended
 * yet: producer id (its 8 bytes) -> struct hmap of offsets keyed the same way.
 * A producer stays there until its marker, even once tombstones emptied its
 * map (an open transaction keeps the group from expiring). */
struct cgroup {
	struct grp *grp;
	struct hmap offsets;
	struct hmap pending;
};

struct group_coordinator {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* wakes the timer thread (CLOCK_MONOTONIC) */
	pthread_t thread;
	bool thread_started;
	bool stopping;  /* the timer thread should exit */
	bool serving;   /* false once stopped: everything answers NOT_COORDINATOR */
	int64_t wake_at; /* when the timer thread plans to wake (mono ms) */

	struct group_clock clock;
	struct grp_config gcfg;
	int64_t retention_ms;          /* offsets.retention.minutes */
	int64_t retention_check_ms;    /* offsets.retention.check.interval.ms */
	int64_t next_retention_check;  /* mono ms */
	int32_t metadata_max_bytes;    /* offset.metadata.max.bytes */
	int32_t topic_partitions;      /* offsets.topic.num.partitions (or the topic's count) */
	int64_t topic_segment_bytes;   /* offsets.topic.segment.bytes */

	struct meta_topics *topics;
	struct log_flusher *flusher;
	struct meta_topic *otopic;     /* __consumer_offsets, referenced; NULL until it exists */

	struct hmap groups;           /* group id -> struct cgroup */
	/* Kafka's openGroupsForProducer: producer id and __consumer_offsets
	 * partition (their 8 + 4 bytes) -> struct gtxn_groups, the groups that got
	 * pending offsets from that producer there; its marker ends them. An
	 * entry may name groups deleted since (skipped then). */
	struct hmap txn_groups;
};

/* A client waiting for one or more appends to be durable. */
struct coord_wait {
	atomic_int pending;
	atomic_int err;
	group_write_cb done;
	void *arg;
};

struct grp_now coord_now(const struct group_coordinator *coord);
struct cgroup *coord_group_get(struct group_coordinator *coord, const char *group_id);
struct cgroup *coord_group_create(struct group_coordinator *coord, const char *group_id, const struct grp_now *now);
/* Removes and frees a group (Dead or being unloaded) and its offsets. */
void coord_group_remove(struct group_coordinator *coord, struct cgroup *cg);
/* Wakes the timer thread if the group now has an earlier deadline, and
 * writes its metadata record if it changed. */
void coord_after_op(struct group_coordinator *coord, struct cgroup *cg);

/* Creates __consumer_offsets on first use. 0 or -errno / -SAMSA_E*. */
int coord_ensure_topic(struct group_coordinator *coord);
/* Appends batch to the group's partition of __consumer_offsets. With wait,
 * counts one more pending sync on it (the flusher completes it); without,
 * only kicks the flusher. *base_offset (if not NULL) gets the offset of the
 * batch's first record. A transactional batch (batch_builder_set_producer) goes
 * through the partition's producer state: *verdict (required then) tells
 * whether it was appended (TXN_OK). 0 or -errno. */
int coord_append(struct group_coordinator *coord, const char *group_id, struct batch_builder *batch,
		 struct coord_wait *wait, int64_t *base_offset, enum txn_verdict *verdict);

/* A wait holding one reference of its own, released by coord_wait_release()
 * (which calls done if nothing else is pending). */
struct coord_wait *coord_wait_new(group_write_cb done, void *arg);
void coord_wait_release(struct coord_wait *wait);

/* offsets.c */
struct goffset *goffset_new(int64_t offset, int32_t leader_epoch, const char *metadata, int64_t commit_ts,
			    int64_t log_offset);
void goffset_free(struct goffset *o);
/* Puts o (owned by the map from then on) under topic/partition in map,
 * freeing what was there. */
void goffsets_put(struct hmap *map, const char *topic, int32_t partition, struct goffset *o);
struct goffset *goffsets_get(const struct hmap *map, const char *topic, int32_t partition);
bool goffsets_del(struct hmap *map, const char *topic, int32_t partition);
/* Frees every offset and the map itself. */
void goffsets_free_all(struct hmap *map);
/* Splits an offsets-map key into topic and partition. */
void goffsets_key_split(const struct hmap_entry *e, const char **topic, int32_t *partition);
/* Gives every partition of a commit still at NONE `error`. */
void goffsets_fail_all(const struct group_commit_args *a, int16_t error);
/* The offset-commit records of the partitions still at NONE, into batch:
 * metadata longer than offset.metadata.max.bytes gets
 * OFFSET_METADATA_TOO_LARGE instead, a commit timestamp below 0 becomes
 * now_ms. */
void goffsets_add_records(struct group_coordinator *coord, const struct group_commit_args *a, int64_t now_ms,
			  struct batch_builder *batch);
/* Once that batch is appended with its first record at base_offset: puts
 * the partitions still at NONE into map (goffsets_put), in record order. */
void goffsets_put_appended(struct hmap *map, const struct group_commit_args *a, int64_t base_offset);
/* offsets.retention.minutes: drops expired offsets (writing tombstones) and
 * groups left Empty without offsets. */
void coord_expire_offsets(struct group_coordinator *coord, const struct grp_now *now);

/* txn_offsets.c */
/* The group's pending transactional offsets of producer_id (a goffsets
 * map), created empty (and indexed for its marker) on first use. */
struct hmap *gtxn_pending(struct group_coordinator *coord, struct cgroup *cg, int64_t producer_id);
/* Ends producer_id's transaction on __consumer_offsets partition
 * `partition`: its pending offsets there are committed (the later record
 * wins) or dropped. */
void gtxn_complete(struct group_coordinator *coord, int32_t partition, int64_t producer_id, bool commit);
/* True if some producer has a pending offset for topic/partition. */
bool gtxn_has_pending(const struct cgroup *cg, const char *topic, int32_t partition);
/* A tombstone for topic/partition: drops every producer's pending offset. */
void gtxn_drop_partition(struct cgroup *cg, const char *topic, int32_t partition);
/* Frees a group's pending offsets (the group goes away). */
void gtxn_free_group(struct cgroup *cg);
/* Frees coord->txn_groups. */
void gtxn_free_index(struct group_coordinator *coord);

#endif
