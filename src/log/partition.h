/* A partition's log: an ordered list of segments in one directory
 * (<log.dirs>/<topic>-<partition>/), Kafka's on-disk layout:
 *   00000000000000000000.log        record batches, byte for byte as produced,
 *                                    baseOffset patched to the assigned offset
 *   00000000000000000000.index      sparse offset index (relative offset u32, position u32)
 *   00000000000000000000.timeindex  sparse time index (timestamp i64, relative offset u32)
 * named by the segment's base offset (20 digits).
 *
 * Thread-safety: every function may be called from any thread. Appends take the
 * partition's mutex; reads take it briefly to find the segment and a file_ref,
 * then read without it. Durability is the flusher's job (log/flusher.h). */
#ifndef SAMSA_LOG_PARTITION_H
#define SAMSA_LOG_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct log_flusher;

/* Per-topic settings, Kafka's topic config names in the comments. */
struct log_config {
	int64_t segment_bytes;        /* segment.bytes, default 1073741824 */
	int64_t segment_ms;           /* segment.ms, default 604800000 */
	int64_t retention_ms;         /* retention.ms (enforced in a later issue) */
	int64_t retention_bytes;      /* retention.bytes */
	int32_t max_message_bytes;    /* max.message.bytes, default 1048588 */
	int32_t index_interval_bytes; /* index.interval.bytes, default 4096 */
	int32_t segment_index_bytes;  /* segment.index.bytes, default 10485760 */
	int64_t flush_messages;       /* flush.messages: INT64_MAX = only acks=all syncs */
	int64_t flush_ms;             /* flush.ms */
	bool timestamp_log_append;    /* message.timestamp.type=LogAppendTime */
};

void log_config_defaults(struct log_config *cfg);

struct log_partition;

/* Opens (creating if needed) the partition directory dir, recovering it: every
 * batch after the last recovery point is validated (CRC-32C, sizes), a torn or
 * corrupt tail is truncated with a log line saying what was dropped, and the
 * indexes of the active segment are rebuilt. flusher may be NULL (tests).
 * Returns 0 or -errno / -SAMSA_E*, with errmsg filled. */
int log_partition_open(const char *dir, const struct log_config *cfg, struct log_flusher *flusher,
		       struct log_partition **out, char errmsg[ERRMSG_SIZE]);

/* Closes files (after a final sync and a recovery-point write, so the next
 * open reads nothing back) and frees. Waits queued on the flusher for this
 * partition are answered before it returns: 0 if the final sync covered them,
 * else an error. Callers must not use part concurrently with this. */
void log_partition_close(struct log_partition *part);

/* log_partition_close() of each of the n partitions, several at a time: their
 * final syncs are independent, and at shutdown one after another they add up
 * (10,000 partitions created since start: ~10 s). parts[i] may be NULL. */
void log_partitions_close(struct log_partition **parts, size_t n);

/* Closes and removes the directory and everything in it (pending flusher
 * waits get -ENOENT). Returns 0 or -errno; part is freed either way. */
int log_partition_delete(struct log_partition *part);

void log_partition_set_config(struct log_partition *part, const struct log_config *cfg);

struct log_append_result {
	int64_t base_offset;     /* offset given to the first record */
	int64_t last_offset;     /* offset of the last record */
	int64_t log_append_time; /* -1 unless LogAppendTime */
	int64_t log_start_offset;
};

/* Appends one or more v2 record batches already validated by
 * records_validate() (proto/records.h). Patches each batch's baseOffset in
 * place (the CRC does not cover it; with LogAppendTime also maxTimestamp and
 * the attributes' timestamp-type bit, re-computing the CRC), writes them to the
 * active segment (rolling first by segment.bytes / segment.ms), updates the
 * indexes and advances the log end offset. The bytes are in the page cache on
 * return (acks=1 durability); call log_flusher_wait() for acks=all.
 * Returns 0, or -errno when the write failed (nothing is visible then: a
 * partial write is truncated away), -EINVAL when batches are not whole v2
 * batches or their offset count differs from record_count (pass -1 to skip
 * that check), or the sticky error of an earlier failed sync/truncate.
 * One pwrite per call; no fsync. res may be NULL. */
int log_partition_append(struct log_partition *part, uint8_t *batches, size_t len,
			 int32_t record_count, int64_t now_ms, struct log_append_result *res);

/* Makes everything appended so far durable now, on the calling thread
 * (directory entries of new segments, rolled segments, then the active one)
 * and advances the flushed offset. The flusher uses the same path; this is for
 * callers that must sync synchronously (tests, tools). Returns 0 or -errno; a
 * failed sync is sticky: the partition refuses appends and syncs afterwards,
 * since the kernel may have dropped the dirty pages. */
int log_partition_sync(struct log_partition *part);

/* The partition's directory (owned by the partition). */
const char *log_partition_dir(struct log_partition *part);

/* Offsets. The high watermark is the log end offset on a single node. */
int64_t log_partition_start_offset(struct log_partition *part);
int64_t log_partition_end_offset(struct log_partition *part);
/* Offset up to which everything is on stable storage. */
int64_t log_partition_flushed_offset(struct log_partition *part);

/* DeleteRecords: moves the log start offset (the low watermark) up to offset
 * (-1: the high watermark). The new start offset is first written durably to
 * the partition's "log-start-offset" file (tmp + fsync + rename + directory
 * fsync), which log_partition_open() reads back; then segments wholly below it
 * are deleted. Reads below it give -SAMSA_ERANGE. An offset at or below the
 * current start offset changes nothing. Sets *low_watermark to the resulting
 * start offset. Returns 0, -SAMSA_ERANGE when offset is above the high
 * watermark or below -1, or -errno when the file cannot be written (nothing
 * changed then). Syncs on the calling thread. */
int log_partition_delete_records(struct log_partition *part, int64_t offset, int64_t *low_watermark);

/* A byte range of one segment file holding whole batches. */
struct log_read_result {
	struct file_ref *file; /* reference owned by the caller: file_ref_put() it; NULL if len == 0 */
	int64_t file_pos;
	int32_t len;
	int64_t next_offset;   /* when len > 0: the offset after the last batch returned */
	int64_t log_start_offset;
	int64_t high_watermark;
};

/* Reads whole batches starting with the batch that contains offset, up to
 * max_bytes; at least one whole batch when any exists, even if larger than
 * max_bytes (KIP-74), unless strict_max is set, which gives len 0 then. Stops at
 * the end of a segment (the next read continues in the next one). offset ==
 * end offset gives len 0. Returns 0, or -SAMSA_ERANGE when offset is below the
 * log start offset or above the end offset (res->log_start_offset and
 * high_watermark are filled in either case), -SAMSA_ECORRUPT if a stored batch
 * header cannot be read, or -errno from pread. Never returns bytes past what
 * had been completely written when the call started. */
int log_partition_read(struct log_partition *part, int64_t offset, int32_t max_bytes,
		       bool strict_max, struct log_read_result *res);

/* log_partition_read() that returns only batches whose last offset is below
 * max_offset (read_committed fetches pass the last stable offset): len 0 when
 * the batch holding offset reaches max_offset. */
int log_partition_read_upto(struct log_partition *part, int64_t offset, int32_t max_bytes,
			    bool strict_max, int64_t max_offset, struct log_read_result *res);

/* The first offset whose batch maxTimestamp >= ts, through the time index
 * (ListOffsets by timestamp). Sets *offset and *timestamp; *offset = -1 when
 * no such record exists. Returns 0 or -errno. */
int log_partition_offset_for_time(struct log_partition *part, int64_t ts, int64_t *offset,
				  int64_t *timestamp);

/* The largest maxTimestamp in the log and its offset (ListOffsets -3,
 * MAX_TIMESTAMP); -1/-1 when empty. */
void log_partition_max_timestamp(struct log_partition *part, int64_t *timestamp, int64_t *offset);

/* ------------------------------------------------ aborted transactions
 * Kafka's transaction index: per segment a <base>.txnindex file of 34-byte
 * entries (version i16 0, producer id i64, first offset i64, last offset i64,
 * last stable offset i64, big-endian), one per aborted transaction, kept in
 * the segment holding its abort marker (the last offset), in marker order.
 * The log stores, prunes (with the segments: retention, DeleteRecords) and
 * recovers them (entries past the recovered end are dropped); what they mean
 * is the layer above's business (txn/). Loaded in memory at open (aborts are
 * rare). Made durable by the partition's syncs together with the log. */
struct log_aborted_txn {
	int64_t producer_id;
	int64_t first_offset;       /* the transaction's first batch here */
	int64_t last_offset;        /* its abort marker */
	int64_t last_stable_offset; /* the LSO right after the abort */
};

/* Records t, whose marker must already be in the log, in the index of the
 * segment holding t->last_offset. An entry whose last offset is not above the
 * partition's newest entry is ignored (a replay adds each abort once). 0, or
 * -ERANGE when last_offset is not in the log, or -errno writing the file. */
int log_partition_add_aborted(struct log_partition *part, const struct log_aborted_txn *t);

/* Drops the entries whose last offset >= offset (the layer above replays the
 * log from there and adds them again). 0 or -errno. */
int log_partition_truncate_aborted(struct log_partition *part, int64_t offset);

/* Makes the index writes so far durable (fdatasync of the files written
 * since the last sync) without syncing the log: for the layer above before it
 * persists state that counts on them. 0 or -errno. */
int log_partition_sync_aborted(struct log_partition *part);

/* Calls fn (under the partition's read lock: no I/O, no locks) for each entry
 * with last_offset >= from and first_offset < to, in marker order, starting
 * in the segment holding from, and stops after an entry whose
 * last_stable_offset >= to (no later abort can start below to). Returns how
 * many were passed. */
typedef void (*log_aborted_fn)(void *arg, const struct log_aborted_txn *t);
int log_partition_collect_aborted(struct log_partition *part, int64_t from, int64_t to,
				  log_aborted_fn fn, void *arg);

/* ------------------------------------------------------------- observer
 * State a layer above keeps beside each partition and derives from its
 * batches (txn/ keeps the producer state: sequences and epochs). One
 * observer per process, installed before any partition is opened; the log
 * calls it at these points and otherwise knows nothing of it. */
struct log_partition_observer {
	/* At the end of log_partition_open(), after recovery (the log is final:
	 * end offset known, torn tail gone), before the partition is returned.
	 * Sets *state (kept with the partition). A non-zero return fails the
	 * open with errmsg. */
	int (*open)(struct log_partition *part, void **state, char errmsg[ERRMSG_SIZE]);
	/* Right after a recovery point was written (flusher thread, or the
	 * closing thread): a good moment to persist derived state. Calls for one
	 * partition never overlap. May be NULL. */
	void (*checkpoint)(struct log_partition *part, void *state);
	/* At close, after the final sync (deleting = false), or before the
	 * directory is removed (deleting = true). Frees state. */
	void (*close)(struct log_partition *part, void *state, bool deleting);
	/* The first offset the layer above does not consider final yet (an
	 * ongoing transaction's first batch), or INT64_MAX: compaction stops
	 * before it. Any thread. May be NULL. */
	int64_t (*first_unstable_offset)(struct log_partition *part, void *state);
};

/* Installs obs for partitions opened from now on (NULL: none). Not
 * thread-safe: call at start-up. obs must outlive those partitions. */
void log_partition_observer_set(const struct log_partition_observer *obs);

/* The state the observer's open() set for part, or NULL. */
void *log_partition_observer_state(struct log_partition *part);

#endif
