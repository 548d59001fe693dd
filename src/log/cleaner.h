/* Log compaction (cleanup.policy=compact): keeps the latest record per key in
 * a partition's sealed, synced segments. See cleaner.c. */
#ifndef SAMSA_LOG_CLEANER_H
#define SAMSA_LOG_CLEANER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/partition.h"

struct log_clean_config {
	int64_t delete_retention_ms;   /* delete.retention.ms, default 86400000 */
	int64_t min_compaction_lag_ms; /* min.compaction.lag.ms, default 0 */
	double min_cleanable_ratio;    /* min.cleanable.dirty.ratio, default 0.5 */
};

void log_clean_config_defaults(struct log_clean_config *cc);

struct log_clean_stats {
	int segments_rewritten;
	int64_t records_read;    /* records of the rewritten segments */
	int64_t records_kept;
	int64_t bytes_before;    /* sizes of the rewritten segments */
	int64_t bytes_after;
};

/* Cleans part once: builds key -> latest offset over the dirty section (from
 * the cleaner checkpoint to the end of the sealed, synced segments old enough
 * for min.compaction.lag.ms and wholly below the first unstable offset),
 * without aborted transactional batches, then rewrites every sealed segment up
 * to there that loses records: superseded records, keyless records, records
 * of aborted transactions and tombstones whose timestamp is older than now -
 * delete.retention.ms go; offsets stay (gaps); control batches stay; producer
 * fields are kept. Skipped when nothing is
 * dirty or the dirty ratio is below min.cleanable.dirty.ratio, unless force
 * (which also rewrites for expired tombstones alone). Not concurrent with
 * itself on one partition. Returns 0 or -errno (st may be NULL). */
int log_partition_clean(struct log_partition *part, const struct log_clean_config *cc, int64_t now_ms,
			bool force, struct log_clean_stats *st);

/* Called by log_partition_open() after recovery: removes leftover *.cleaned
 * files and, for a partition that was cleaned, loads the cleaner checkpoint
 * and sets each sealed segment's end offset from its last stored batch. */
void log_cleaner_after_recovery(struct log_partition *part);

/* True if a record of the (validated, v2) batches has a null key: a compacted
 * topic refuses them (Kafka's INVALID_RECORD). Control batches are skipped;
 * compressed batches are decompressed. */
bool log_records_have_null_key(const uint8_t *batches, size_t len);

/* The cleaner thread: calls round(arg, stop) at start and then every
 * backoff_ms until stopped; round should return early once *stop is set.
 * log_cleaner_stop() wakes it, waits for the round in progress and frees. */
struct log_cleaner;
typedef void (*log_cleaner_round_fn)(void *arg, const atomic_bool *stop);
struct log_cleaner *log_cleaner_start(int64_t backoff_ms, log_cleaner_round_fn round, void *arg);
void log_cleaner_stop(struct log_cleaner *cleaner);

#endif
