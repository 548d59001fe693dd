/* Retention: Kafka's time and size limits on a partition's log, enforced by
 * deleting whole sealed segments from the front and moving the log start
 * offset past them (durably, as DeleteRecords does). The active segment is
 * never deleted; it becomes eligible once segment.ms or segment.bytes rolls it.
 *
 * log_partition_apply_retention() is one pass over one partition at a given
 * wall-clock time (tests inject it); log_retention_start() runs a caller's
 * pass every log.retention.check.interval.ms on a thread of its own (the
 * caller decides which partitions qualify, e.g. cleanup.policy=delete). */
#ifndef SAMSA_LOG_RETENTION_H
#define SAMSA_LOG_RETENTION_H

#include <stdint.h>

#include "log/partition.h"

struct log_retention_result {
	int segments;         /* segments deleted */
	int64_t bytes;        /* their .log bytes */
	int64_t start_offset; /* the log start offset afterwards */
};

/* Deletes, oldest first and never the active segment:
 *   - while retention.ms >= 0: segments whose largest timestamp (the file's
 *     mtime when it has none) is more than retention.ms before now_ms;
 *   - while retention.bytes >= 0: further segments as long as the log stays
 *     at or above retention.bytes without them (Kafka's rule).
 * The new log start offset (the first kept segment's base) is written to the
 * log-start-offset file before any file is removed; readers holding a deleted
 * segment's file keep reading it. Logs one INFO line when something went.
 * Returns 0 (res->segments == 0: nothing to delete) or -errno (nothing
 * changed). res may be NULL. */
int log_partition_apply_retention(struct log_partition *part, int64_t now_ms,
				  struct log_retention_result *res);

/* A thread that calls pass(arg, wall-clock now in ms) every interval_ms
 * (first call after one interval). */
struct log_retention;
typedef void (*log_retention_pass_fn)(void *arg, int64_t now_ms);

struct log_retention *log_retention_start(int64_t interval_ms, log_retention_pass_fn pass, void *arg);
/* Wakes the thread, waits for a pass in progress, joins. NULL is a no-op. */
void log_retention_stop(struct log_retention *ret);

#endif
