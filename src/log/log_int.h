/* Internals shared by the files of src/log/: segments, their indexes, the
 * partition struct, recovery and the flusher's hooks into a partition. Nothing
 * outside src/log/ includes this; the contracts are partition.h and flusher.h.
 *
 * Locking (see also partition.c). Order: sync_mu -> append_mu -> mu.
 *   part->append_mu  serializes writers (append, roll, the sync snapshot,
 *                    config changes). Owns config, io_error, dir_dirty,
 *                    msgs_since_kick, seg->synced and the index file refs.
 *   part->mu         what readers see: the segment list, each segment's size,
 *                    end offset, max timestamp and index arrays. Writers change
 *                    those holding both locks, so either lock suffices to read
 *                    them; readers hold only mu, briefly (never during I/O
 *                    other than a first-time index mmap).
 *   part->sync_mu    serializes log_partition_sync_internal() (flusher thread,
 *                    close) so checkpoint writes never interleave.
 *   flusher->mu      the flusher's queues and the part->fl_* fields. Never held
 *                    together with any partition lock. */
#ifndef SAMSA_LOG_LOG_INT_H
#define SAMSA_LOG_LOG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"
#include "log/flusher.h"
#include "log/partition.h"
#include "proto/records.h"

#define LOG_MODULE "log"

#define LOG_OFFSET_ENTRY_SIZE 8 /* relative offset u32, position u32 */
#define LOG_TIME_ENTRY_SIZE 12  /* timestamp i64, relative offset u32 */

/* Positions in .index are u32 and Kafka caps segment.bytes at an int. */
#define LOG_SEGMENT_MAX_BYTES INT32_MAX

/* A recovery point older than this is rewritten after a sync. */
#define LOG_CHECKPOINT_INTERVAL_MS 10000

#define LOG_CHECKPOINT_FILE "recovery-point"

/* ------------------------------------------------------------ byte order */

static inline uint32_t log_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t log_be64(const uint8_t *p)
{
	return (uint64_t)log_be32(p) << 32 | log_be32(p + 4);
}

static inline void log_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void log_put_be64(uint8_t *p, uint64_t v)
{
	log_put_be32(p, (uint32_t)(v >> 32));
	log_put_be32(p + 4, (uint32_t)v);
}

/* Fields of a stored batch header, by byte offset. */
#define LOG_BATCH_LENGTH_AT 8
#define LOG_BATCH_MAGIC_AT 16
#define LOG_BATCH_CRC_AT 17
#define LOG_BATCH_ATTR_AT 21
#define LOG_BATCH_LAST_DELTA_AT 23
#define LOG_BATCH_BASE_TS_AT 27
#define LOG_BATCH_MAX_TS_AT 35

/* --------------------------------------------------------------- indexes */

/* A sparse index held in its file format (big-endian entries), so the active
 * segment's heap array and a sealed segment's mmap are searched by the same
 * code. Active segment: heap array, appended in memory and written to the
 * file on flush, roll and close. Sealed segment: the file, mmapped read-only
 * on first lookup. Guarded by part->mu. */
struct log_index {
	uint8_t *data;
	size_t count;       /* entries */
	size_t cap;         /* heap capacity in entries (0 unless heap) */
	size_t written;     /* entries already in the file */
	size_t map_len;     /* bytes mapped, when mapped */
	unsigned entry_size;
	bool mapped;
	bool loaded;        /* data/count are valid */
};

void log_index_init(struct log_index *idx, unsigned entry_size);
void log_index_fini(struct log_index *idx);
/* Drops the heap array / mapping; the next use reloads from the file. */
void log_index_unload(struct log_index *idx);
void log_index_truncate(struct log_index *idx, size_t count);

void log_offset_index_push(struct log_index *idx, uint32_t rel, uint32_t pos);
void log_time_index_push(struct log_index *idx, int64_t ts, uint32_t rel);

static inline uint32_t log_offset_index_rel(const struct log_index *idx, size_t i)
{
	return log_be32(idx->data + i * LOG_OFFSET_ENTRY_SIZE);
}
static inline uint32_t log_offset_index_pos(const struct log_index *idx, size_t i)
{
	return log_be32(idx->data + i * LOG_OFFSET_ENTRY_SIZE + 4);
}
static inline int64_t log_time_index_ts(const struct log_index *idx, size_t i)
{
	return (int64_t)log_be64(idx->data + i * LOG_TIME_ENTRY_SIZE);
}
static inline uint32_t log_time_index_rel(const struct log_index *idx, size_t i)
{
	return log_be32(idx->data + i * LOG_TIME_ENTRY_SIZE + 8);
}

/* Largest entry with relative offset <= rel; -1 if none. */
ssize_t log_offset_index_floor(const struct log_index *idx, uint32_t rel);
/* Largest entry with position <= pos; -1 if none. */
ssize_t log_offset_index_floor_pos(const struct log_index *idx, uint32_t pos);
/* Largest entry with timestamp < ts; -1 if none. */
ssize_t log_time_index_below(const struct log_index *idx, int64_t ts);

/* Writes the entries not yet in the file (pwrite at their place). 0 or -errno. */
int log_index_write(struct log_index *idx, int fd);
/* Rewrites the whole file with the in-memory entries. 0 or -errno. */
int log_index_rewrite(struct log_index *idx, int fd);
/* Reads the whole file into a heap array. 0 or -errno. */
int log_index_read_file(struct log_index *idx, int fd);
/* Maps the file read-only (a missing or empty file is an empty index). */
int log_index_map(struct log_index *idx, const char *path);

/* -------------------------------------------------------------- segments */

struct log_segment {
	int64_t base_offset;
	int64_t end_offset;         /* one past the last offset stored */
	int64_t size;               /* bytes of whole batches, visible to readers */
	/* The .log file. Sealed and synced segments' files are in the process'
	 * cache of open files (file_cached): get them with log_segment_file(),
	 * seg->log may be NULL (closed) there. Otherwise it is always open. */
	struct file_ref *log;
	bool file_cached;
	struct log_segment *cache_prev, *cache_next; /* file_cache_mu (segment.c) */
	/* .index and .timeindex, held only from a roll (or recovery) until the
	 * sealed segment is synced; the active segment's are opened per write. */
	struct file_ref *idx_file;
	struct file_ref *tidx_file;
	struct log_index oidx;
	struct log_index tidx;
	int64_t max_ts;             /* largest batch maxTimestamp, -1 if none */
	int64_t max_ts_offset;      /* last offset of the batch that has it */
	int64_t first_append_ms;    /* wall clock, for segment.ms; -1 if empty */
	int64_t bytes_since_index;
	bool sealed;                /* rolled: no longer appended to */
	bool synced;                /* sealed and fsynced (log and indexes) */
	/* Aborted transactions whose marker is here (txn_index.c), in marker
	 * order. Changed under append_mu + mu; read under either. */
	struct log_aborted_txn *aborted;
	size_t naborted, aborted_cap;
	struct file_ref *txn_file;  /* .txnindex written and not yet synced, or NULL (append_mu) */
	bool txn_dirty;             /* .txnindex written since the last sync (append_mu) */
};

/* dir/<20-digit base>.<ext> */
void log_segment_path(char *buf, size_t n, const char *dir, int64_t base, const char *ext);
/* Creates a new empty segment (the three files). 0 or -errno with errmsg. */
int log_segment_create(const char *dir, int64_t base, struct log_segment **out,
		       char errmsg[ERRMSG_SIZE]);
/* Opens an existing segment's .log (read-write); indexes are not loaded. */
int log_segment_open(const char *dir, int64_t base, struct log_segment **out,
		     char errmsg[ERRMSG_SIZE]);
void log_segment_free(struct log_segment *seg);
/* Writes all n bytes at off, retrying short writes. 0 or -errno. */
int log_pwrite_all(int fd, const uint8_t *p, size_t n, off_t off);
/* Replaces dir_fd/name with n bytes of data crash-safely: name.tmp written and
 * fsynced, renamed over name, directory fsynced. 0 or -errno (tmp removed). */
int log_file_replace(int dir_fd, const char *name, const void *data, size_t n);

/* Index bookkeeping for one batch appended at pos (Kafka's rule: an offset
 * entry, keyed by the batch's last offset, once more than index.interval.bytes
 * were written since the previous one; a time entry alongside it when the
 * largest timestamp so far grew). */
void log_segment_track_batch(struct log_segment *seg, int64_t pos, int64_t last_offset,
			     int64_t max_ts, int64_t batch_size, int32_t interval);
/* Appends the final time index entry (the segment's max timestamp) if missing. */
void log_segment_finish_time_index(struct log_segment *seg);
/* A reference to seg's .log (reopened read-only when the cache closed it),
 * or NULL with errno set. Caller holds part->mu or append_mu. */
struct file_ref *log_segment_file(struct log_segment *seg, const char *dir);
/* seg (sealed and synced) joins the cache of open sealed files: its .log
 * may be closed from now on when others are used more recently. */
void log_segment_cache_file(struct log_segment *seg);
/* Takes seg out of the cache with its .log open (reopened if needed), e.g.
 * before its file is renamed over. 0 or -errno. */
int log_segment_pin_file(struct log_segment *seg, const char *dir);
/* How many sealed segments' files the cache keeps open (process-wide). */
#define LOG_SEALED_FILES_MAX 1024
void log_segment_file_cache_limit(size_t max);

/* Opens (creating) the index files into idx_file/tidx_file if not held. 0 or -errno. */
int log_segment_open_indexes(struct log_segment *seg, const char *dir);
/* Writes pending index entries to the index files, through the held files or
 * ones opened for this write only. 0 or -errno. */
int log_segment_write_indexes(struct log_segment *seg, const char *dir);
/* Makes seg's indexes usable (maps a sealed segment's files). */
void log_segment_load_indexes(struct log_segment *seg, const char *dir);
/* A position at or before the batch containing offset (index lookup). */
int64_t log_segment_lookup(struct log_segment *seg, const char *dir, int64_t offset);

/* txn_index.c: loads every segment's .txnindex after recovery, dropping
 * entries past the end offset or outside their segment (open only). */
void log_txn_index_load(struct log_partition *part);
/* The .txnindex files written since the last sync, referenced (append_mu
 * held); clears their dirty flags. NULL when none. */
struct file_ref **log_txn_index_dirty(struct log_partition *part, int *n);
/* Moves src's aborted transactions to dst (a cleaned copy of the same
 * segment). Both locks held. */
void log_txn_index_move(struct log_segment *dst, struct log_segment *src);

/* Buffered reader of a segment's batch headers: at most one pread per buffer. */
struct log_scan {
	int fd;
	int64_t limit;   /* readable bytes of the file */
	int64_t buf_pos; /* file position of buf[0] */
	size_t buf_len;
	size_t cap;
	uint8_t *buf;
};

void log_scan_init(struct log_scan *scan, int fd, int64_t limit, uint8_t *buf, size_t cap);
/* Makes [pos, pos + n) available (n <= cap). Returns a pointer into the
 * buffer, or NULL with *err = -errno, or -SAMSA_ECORRUPT if the file ends. */
const uint8_t *log_scan_get(struct log_scan *scan, int64_t pos, size_t n, int *err);

/* Scans batch headers from pos (a batch start) to the segment's size and
 * rebuilds both indexes in memory (no validation: used for trusted data). */
int log_segment_rebuild_indexes(struct log_segment *seg, int32_t interval,
				char errmsg[ERRMSG_SIZE]);

/* ------------------------------------------------------------- partition */

struct log_checkpoint {
	int64_t offset;        /* everything below is durable */
	int64_t segment_base;  /* the segment holding offset's batch */
	int64_t position;      /* where offset's batch starts in that segment */
	int64_t max_ts;        /* that segment's max timestamp below offset */
	int64_t max_ts_offset;
};

struct log_partition {
	pthread_mutex_t mu;
	pthread_mutex_t append_mu;
	pthread_mutex_t sync_mu;
	char *dir;
	/* The directory is opened only for the operation that needs it
	 * (log_partition_dir_open): a partition's steady state is one fd, its
	 * active segment's .log. */
	dev_t dir_dev;           /* identity in the open-directory registry */
	ino_t dir_ino;
	struct log_config cfg;
	struct log_flusher *flusher; /* not a reference: outlives the partition */

	struct log_segment **segs;   /* sorted by base offset; last is active */
	int nsegs;
	int segs_cap;

	_Atomic int64_t end_offset;
	_Atomic int64_t start_offset;
	_Atomic int64_t flushed_offset;

	bool dir_dirty;          /* a file was created/removed since the last dir fsync */
	int io_error;            /* sticky -errno after a failed write or sync */
	int64_t msgs_since_kick; /* flush.messages */
	atomic_bool timed_kick;  /* a flush.ms kick is armed */

	/* sync_mu */
	int64_t checkpoint_mono_ms; /* when the recovery point was last written */
	struct log_checkpoint checkpoint;

	/* flusher->mu */
	int64_t fl_kick_deadline; /* INT64_MAX when no kick is queued */
	bool fl_in_round;
	bool fl_kicked;           /* kicked in the current round */
	int64_t fl_round_need;    /* largest awaited end offset in the round */

	/* Set once at open, before the partition is shared (partition.h). */
	const struct log_partition_observer *observer;
	void *observer_state;

	/* cleaner.c: the first offset not yet cleaned (cleaner thread only) */
	int64_t cleaner_checkpoint;
};

/* log_partition_delete_records() without its log line (retention.c logs its
 * own): moves the log start offset durably, then deletes the segments wholly
 * below it. Same arguments and results. */
int log_partition_move_start(struct log_partition *part, int64_t offset, int64_t *low_watermark);

/* Opens part->dir for *at() calls and fsync; the caller closes it. fd or -errno. */
int log_partition_dir_open(struct log_partition *part);

/* Index of the last segment whose base <= offset (0 if offset is below all). */
int log_partition_find_segment(struct log_partition *part, int64_t offset);

/* recovery.c: loads the segment list of part->dir,
 * validating from the recovery point and truncating a torn tail. Sets segs,
 * end/start/flushed offsets. *repaired is set when files were changed. */
int log_recover(struct log_partition *part, bool *repaired, char errmsg[ERRMSG_SIZE]);
int log_checkpoint_read(int dir_fd, struct log_checkpoint *cp);
int log_checkpoint_write(int dir_fd, const struct log_checkpoint *cp);

/* Writes pending index entries, syncs sealed segments, then the active one,
 * and advances the flushed offset; writes the recovery point when it is older
 * than LOG_CHECKPOINT_INTERVAL_MS or force_checkpoint. 0 or -errno. */
int log_partition_sync_internal(struct log_partition *part, bool force_checkpoint);

/* flusher.c hooks. */
struct log_flush_wait {
	struct log_partition *part;
	int64_t end_offset;
	log_flush_cb cb;
	void *arg;
};

/* Removes part from the flusher: its queued waits are moved to *waits (caller
 * frees the array and calls them) and, if a round is syncing part, this
 * returns only after that round finished. */
void log_flusher_detach(struct log_flusher *flusher, struct log_partition *part,
			struct log_flush_wait **waits, size_t *nwaits);
/* Queues a kick that fires after delay_ms (flush.ms). */
void log_flusher_kick_after(struct log_flusher *flusher, struct log_partition *part,
			    int64_t delay_ms);
void log_flusher_part_init(struct log_partition *part);

#endif
