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
#include "group/hmap.h"
#include "group/records.h"

struct meta_topic;

/* One committed offset. */
struct goffset {
	int64_t offset;
	int32_t leader_epoch;
	char *metadata;
	int64_t commit_ts; /* wall ms */
};

/* A group: its membership state machine and its committed offsets, keyed by
 * topic name, a NUL, then the partition as 4 big-endian bytes. */
struct cgroup {
	struct grp *grp;
	struct ghmap offsets;
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

	struct ghmap groups;           /* group id -> struct cgroup */
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
 * only kicks the flusher. 0 or -errno. */
int coord_append(struct group_coordinator *coord, const char *group_id, struct grec_batch *batch,
		 struct coord_wait *wait);

/* A wait holding one reference of its own, released by coord_wait_release()
 * (which calls done if nothing else is pending). */
struct coord_wait *coord_wait_new(group_write_cb done, void *arg);
void coord_wait_release(struct coord_wait *wait);

/* offsets.c */
void goffsets_set(struct cgroup *cg, const char *topic, int32_t partition, int64_t offset, int32_t leader_epoch,
		  const char *metadata, int64_t commit_ts);
bool goffsets_del(struct cgroup *cg, const char *topic, int32_t partition);
void goffsets_free_all(struct cgroup *cg);
/* Splits an offsets-map key into topic and partition. */
void goffsets_key_split(const struct ghmap_entry *e, const char **topic, int32_t *partition);
/* offsets.retention.minutes: drops expired offsets (writing tombstones) and
 * groups left Empty without offsets. */
void coord_expire_offsets(struct group_coordinator *coord, const struct grp_now *now);

#endif
