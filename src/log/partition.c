/* A partition's log: the segment list, the append path, rolling, syncing and
 * the lifetime (open, close, delete). Reads live in read.c, recovery in
 * recovery.c, group commit in flusher.c.
 *
 * The append path is the produce hot path, so it does as little as possible:
 * under append_mu (writers only) it patches baseOffset in every batch header
 * (and, for LogAppendTime topics, maxTimestamp + CRC) and issues one pwrite
 * for the whole contiguous set; then it takes part->mu (what readers lock)
 * just long enough to push index entries into in-memory arrays and publish
 * the new size and end offset. No fsync, no allocation beyond amortized array
 * growth, and readers never wait for a write. A failed or short write is cut
 * off with ftruncate so nothing partial is ever visible: readers only see
 * bytes below seg->size, which advances after the write returned.
 *
 * Durability belongs to log_partition_sync_internal(), which the flusher
 * thread calls: directory (for new segment files), sealed segments not yet
 * synced, then the active segment, and only then the flushed offset moves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/cleaner.h"
#include "log/log_int.h"

void log_config_defaults(struct log_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->segment_bytes = 1073741824;
	cfg->segment_ms = 604800000;
	cfg->retention_ms = 604800000;
	cfg->retention_bytes = -1;
	cfg->max_message_bytes = 1048588;
	cfg->index_interval_bytes = 4096;
	cfg->segment_index_bytes = 10485760;
	cfg->flush_messages = INT64_MAX;
	cfg->flush_ms = INT64_MAX;
	cfg->timestamp_log_append = false;
}

int log_partition_find_segment(struct log_partition *part, int64_t offset)
{
	int lo = 0, hi = part->nsegs - 1, found = 0;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (part->segs[mid]->base_offset <= offset) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* ------------------------------------------------------------- lifecycle */

static const struct log_partition_observer *log_observer;

void log_partition_observer_set(const struct log_partition_observer *obs)
{
	log_observer = obs;
}

void *log_partition_observer_state(struct log_partition *part)
{
	return part->observer_state;
}

static int mkdir_p(const char *dir, bool *created)
{
	*created = false;
	if (mkdir(dir, 0755) == 0) {
		*created = true;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');
	int rc = 0;
	if (slash && slash != copy) {
		*slash = '\0';
		bool parent_created;
		rc = mkdir_p(copy, &parent_created);
	}
	free(copy);
	if (rc)
		return rc;
	if (mkdir(dir, 0755) == 0) {
		*created = true;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

static int fsync_parent(const char *dir)
{
	char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');
	const char *parent = ".";
	if (slash == copy)
		parent = "/";
	else if (slash) {
		*slash = '\0';
		parent = copy;
	}
	int rc = 0;
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int log_partition_dir_open(struct log_partition *part)
{
	int fd = open(part->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One owner per directory in this process: the directories of the open
 * partitions, by identity (another process is kept out by the data
 * directory's .lock, cli/serve.c). Holding a locked fd per partition instead
 * would cost an fd each. */
struct dir_id {
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t dir_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap dir_registry; /* struct dir_id -> partition */

static bool dir_registry_add(struct log_partition *part)
{
	struct dir_id id = {part->dir_dev, part->dir_ino};
	pthread_mutex_lock(&dir_registry_mu);
	bool free_slot = !hmap_get(&dir_registry, &id, sizeof(id));
	if (free_slot)
		hmap_put(&dir_registry, &id, sizeof(id), part);
	pthread_mutex_unlock(&dir_registry_mu);
	return free_slot;
}

static void dir_registry_remove(struct log_partition *part)
{
	struct dir_id id = {part->dir_dev, part->dir_ino};
	pthread_mutex_lock(&dir_registry_mu);
	if (hmap_get(&dir_registry, &id, sizeof(id)) == part) {
		hmap_del(&dir_registry, &id, sizeof(id));
		if (!dir_registry.count)
			hmap_fini(&dir_registry); /* nothing left behind at exit */
	}
	pthread_mutex_unlock(&dir_registry_mu);
}

static void log_partition_free(struct log_partition *part)
{
	for (int i = 0; i < part->nsegs; i++)
		log_segment_free(part->segs[i]);
	free(part->segs);
	dir_registry_remove(part);
	pthread_mutex_destroy(&part->mu);
	pthread_mutex_destroy(&part->append_mu);
	pthread_mutex_destroy(&part->sync_mu);
	free(part->dir);
	free(part);
}

/* ------------------------------------------------------ log start offset */

/* "log-start-offset" (ours, per partition; Kafka keeps one
 * log-start-offset-checkpoint per data dir): "1 <offset>\n", written only by
 * DeleteRecords, so a partition that never had records deleted has none and
 * starts at its first segment's base offset. */
#define LOG_START_OFFSET_FILE "log-start-offset"

static int log_start_offset_read(int dir_fd, int64_t *offset)
{
	int fd = openat(dir_fd, LOG_START_OFFSET_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	int version, used = 0;
	long long v;
	if (sscanf(buf, "%d %lld\n%n", &version, &v, &used) != 2 || version != 1 || used != n || v < 0)
		return -SAMSA_ECORRUPT;
	*offset = v;
	return 0;
}

static int log_start_offset_write(int dir_fd, int64_t offset)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "1 %" PRId64 "\n", offset);
	return log_file_replace(dir_fd, LOG_START_OFFSET_FILE, buf, (size_t)n);
}

/* Publishes start as the log start offset and deletes the segments wholly
 * below it (each one whose successor starts at or below it; the active
 * segment always stays). Readers holding a removed segment's file keep their
 * reference; its index is only used under part->mu, which we hold while
 * unlinking it from the list. */
static void log_partition_trim(struct log_partition *part, int64_t start)
{
	pthread_mutex_lock(&part->append_mu);
	pthread_mutex_lock(&part->mu);
	if (start > atomic_load_explicit(&part->start_offset, memory_order_relaxed))
		atomic_store_explicit(&part->start_offset, start, memory_order_release);
	int n = 0;
	while (n < part->nsegs - 1 && part->segs[n + 1]->base_offset <= start)
		n++;
	struct log_segment **gone = NULL;
	if (n) {
		gone = xmalloc((size_t)n * sizeof(*gone));
		memcpy(gone, part->segs, (size_t)n * sizeof(*gone));
		memmove(part->segs, part->segs + n, (size_t)(part->nsegs - n) * sizeof(*part->segs));
		part->nsegs -= n;
		part->dir_dirty = true; /* the next sync makes the unlinks durable */
	}
	pthread_mutex_unlock(&part->mu);
	pthread_mutex_unlock(&part->append_mu);

	static const char *const exts[] = {"log", "index", "timeindex", "txnindex"};
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++) {
			char path[4096];
			log_segment_path(path, sizeof(path), part->dir, gone[i]->base_offset, exts[k]);
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn(LOG_MODULE, "removing %s: %s", path, strerror(errno));
		}
		log_segment_free(gone[i]);
	}
	if (n)
		log_debug(LOG_MODULE, "%s: deleted %d segment(s) below log start offset %" PRId64, part->dir, n,
			  start);
	free(gone);
}

/* At open, after recovery: the stored log start offset, if any, raised to
 * the first segment's base and lowered to the end offset (a crash may have cut
 * off the tail it pointed into). */
static void log_start_offset_load(struct log_partition *part)
{
	int dir_fd = log_partition_dir_open(part);
	if (dir_fd < 0) {
		log_warn(LOG_MODULE, "%s: cannot read %s: %s", part->dir, LOG_START_OFFSET_FILE,
			 strerror(-dir_fd));
		return;
	}
	unlinkat(dir_fd, LOG_START_OFFSET_FILE ".tmp", 0);
	int64_t start = 0;
	int rc = log_start_offset_read(dir_fd, &start);
	close(dir_fd);
	if (rc == -ENOENT)
		return;
	if (rc) {
		log_warn(LOG_MODULE, "%s: ignoring unreadable %s: %s", part->dir, LOG_START_OFFSET_FILE,
			 rc == -SAMSA_ECORRUPT ? "malformed" : strerror(-rc));
		return;
	}
	int64_t end = atomic_load(&part->end_offset);
	if (start > end) {
		log_warn(LOG_MODULE, "%s: log start offset %" PRId64 " is beyond the end offset %" PRId64
			 " after recovery; starting at %" PRId64, part->dir, start, end, end);
		start = end;
	}
	if (start > atomic_load(&part->start_offset))
		log_partition_trim(part, start);
}

int log_partition_delete_records(struct log_partition *part, int64_t offset, int64_t *low_watermark)
{
	int64_t before = log_partition_start_offset(part);
	int rc = log_partition_move_start(part, offset, low_watermark);
	if (!rc && *low_watermark > before)
		log_info(LOG_MODULE, "%s: log start offset moved to %" PRId64, part->dir, *low_watermark);
	return rc;
}

int log_partition_move_start(struct log_partition *part, int64_t offset, int64_t *low_watermark)
{
	/* sync_mu serializes start offset updates with each other (and with
	 * checkpoint writes, which touch the same directory). */
	pthread_mutex_lock(&part->sync_mu);
	int64_t start = atomic_load_explicit(&part->start_offset, memory_order_acquire);
	int64_t end = atomic_load_explicit(&part->end_offset, memory_order_acquire);
	*low_watermark = start;
	if (offset == -1)
		offset = end;
	if (offset < 0 || offset > end) {
		pthread_mutex_unlock(&part->sync_mu);
		return -SAMSA_ERANGE;
	}
	if (offset <= start) {
		pthread_mutex_unlock(&part->sync_mu);
		return 0;
	}
	int rc = log_partition_dir_open(part);
	if (rc >= 0) {
		int dir_fd = rc;
		rc = log_start_offset_write(dir_fd, offset);
		close(dir_fd);
	}
	if (rc) {
		log_error(LOG_MODULE, "%s: writing %s: %s", part->dir, LOG_START_OFFSET_FILE, strerror(-rc));
		pthread_mutex_unlock(&part->sync_mu);
		return rc;
	}
	log_partition_trim(part, offset);
	*low_watermark = offset;
	pthread_mutex_unlock(&part->sync_mu);
	return 0;
}

int log_partition_open(const char *dir, const struct log_config *cfg, struct log_flusher *flusher,
		       struct log_partition **out, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	bool created;
	int rc = mkdir_p(dir, &created);
	if (rc) {
		err_printf(errmsg, "create partition directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (created && (rc = fsync_parent(dir)) != 0) {
		err_printf(errmsg, "fsync parent of %s: %s", dir, strerror(-rc));
		return rc;
	}

	struct log_partition *part = xcalloc(1, sizeof(*part));
	pthread_mutex_init(&part->mu, NULL);
	pthread_mutex_init(&part->append_mu, NULL);
	pthread_mutex_init(&part->sync_mu, NULL);
	part->dir = xstrdup(dir);
	if (cfg)
		part->cfg = *cfg;
	else
		log_config_defaults(&part->cfg);
	part->flusher = flusher;
	atomic_init(&part->timed_kick, false);
	log_flusher_part_init(part);
	part->checkpoint_mono_ms = clock_mono_ms();

	struct stat st;
	if (stat(dir, &st) < 0) {
		rc = -errno;
		err_printf(errmsg, "stat partition directory %s: %s", dir, strerror(errno));
		log_partition_free(part);
		return rc;
	}
	part->dir_dev = st.st_dev;
	part->dir_ino = st.st_ino;
	if (!dir_registry_add(part)) {
		err_printf(errmsg, "partition directory %s is in use: %s", dir, strerror(EBUSY));
		log_partition_free(part);
		return -EBUSY;
	}

	bool repaired = false;
	rc = log_recover(part, &repaired, errmsg);
	if (rc) {
		log_partition_free(part);
		return rc;
	}
	log_start_offset_load(part);
	log_cleaner_after_recovery(part);
	log_txn_index_load(part);
	/* Sealed segments recovery found not synced hold their index files
	 * until they are: sync them now rather than at the first flush. */
	for (int i = 0; i < part->nsegs - 1; i++)
		repaired |= !part->segs[i]->synced;
	if (repaired) {
		/* Files were truncated or removed: make that and the recovery point
		 * durable now, so a crash cannot resurrect what was dropped. */
		rc = log_partition_sync_internal(part, true);
		if (rc) {
			err_printf(errmsg, "sync %s after recovery: %s", dir, strerror(-rc));
			log_partition_free(part);
			return rc;
		}
	}
	if (log_observer) {
		rc = log_observer->open(part, &part->observer_state, errmsg);
		if (rc) {
			log_partition_free(part);
			return rc;
		}
		part->observer = log_observer;
	}
	*out = part;
	return 0;
}

static void log_partition_finish_waits(struct log_flush_wait *waits, size_t n, int err,
				       int64_t flushed)
{
	for (size_t i = 0; i < n; i++) {
		int e = err;
		if (!e && waits[i].end_offset > flushed)
			e = -ENOENT;
		waits[i].cb(waits[i].arg, e);
	}
	free(waits);
}

void log_partition_close(struct log_partition *part)
{
	if (!part)
		return;
	struct log_flush_wait *waits = NULL;
	size_t nwaits = 0;
	if (part->flusher)
		log_flusher_detach(part->flusher, part, &waits, &nwaits);

	pthread_mutex_lock(&part->append_mu);
	pthread_mutex_lock(&part->mu);
	log_segment_finish_time_index(part->segs[part->nsegs - 1]);
	pthread_mutex_unlock(&part->mu);
	pthread_mutex_unlock(&part->append_mu);

	int rc = log_partition_sync_internal(part, true);
	if (rc)
		log_error(LOG_MODULE, "%s: final sync failed: %s", part->dir, strerror(-rc));
	log_partition_finish_waits(waits, nwaits, rc, atomic_load(&part->flushed_offset));
	if (part->observer)
		part->observer->close(part, part->observer_state, false);
	log_partition_free(part);
}

/* Threads closing partitions side by side at shutdown: enough to keep the
 * disk's queue busy with syncs, as the flusher's pool does. */
#define CLOSE_THREADS 8

struct close_job {
	struct log_partition **parts;
	size_t n;
	atomic_size_t next;
};

static void *close_worker(void *arg)
{
	struct close_job *job = arg;
	for (size_t i; (i = atomic_fetch_add(&job->next, 1)) < job->n;)
		log_partition_close(job->parts[i]);
	return NULL;
}

void log_partitions_close(struct log_partition **parts, size_t n)
{
	struct close_job job = {.parts = parts, .n = n};
	atomic_init(&job.next, 0);
	pthread_t threads[CLOSE_THREADS - 1];
	size_t started = 0;
	while (started < CLOSE_THREADS - 1 && started + 1 < n &&
	       pthread_create(&threads[started], NULL, close_worker, &job) == 0)
		started++;
	close_worker(&job); /* this thread too, and alone when none could start */
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

static int remove_tree_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = -errno;
		close(fd);
		return err;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			int r = remove_tree_at(fd, de->d_name);
			if (!r && unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0)
				r = -errno;
			if (r && !rc)
				rc = r;
		} else if (errno != ENOENT && !rc) {
			rc = -errno;
		}
	}
	closedir(d);
	return rc;
}

int log_partition_delete(struct log_partition *part)
{
	struct log_flush_wait *waits = NULL;
	size_t nwaits = 0;
	if (part->flusher)
		log_flusher_detach(part->flusher, part, &waits, &nwaits);
	log_partition_finish_waits(waits, nwaits, -ENOENT, 0);
	if (part->observer)
		part->observer->close(part, part->observer_state, true);

	char *dir = xstrdup(part->dir);
	int rc = remove_tree_at(AT_FDCWD, dir);
	if (!rc && rmdir(dir) < 0)
		rc = -errno;
	log_partition_free(part);
	if (!rc)
		rc = fsync_parent(dir);
	if (rc)
		log_error(LOG_MODULE, "delete %s: %s", dir, strerror(-rc));
	else
		log_debug(LOG_MODULE, "deleted partition directory %s", dir);
	free(dir);
	return rc;
}

void log_partition_set_config(struct log_partition *part, const struct log_config *cfg)
{
	pthread_mutex_lock(&part->append_mu);
	part->cfg = *cfg;
	pthread_mutex_unlock(&part->append_mu);
}

/* ---------------------------------------------------------------- offsets */

int64_t log_partition_start_offset(struct log_partition *part)
{
	return atomic_load_explicit(&part->start_offset, memory_order_acquire);
}

int64_t log_partition_end_offset(struct log_partition *part)
{
	return atomic_load_explicit(&part->end_offset, memory_order_acquire);
}

int64_t log_partition_flushed_offset(struct log_partition *part)
{
	return atomic_load_explicit(&part->flushed_offset, memory_order_acquire);
}

const char *log_partition_dir(struct log_partition *part)
{
	return part->dir;
}

/* ----------------------------------------------------------------- append */

/* Rolls to a new active segment at the end offset. append_mu held. The files
 * are created and the old segment's indexes written without part->mu, so
 * readers are only held up for the pointer swap. */
static int log_partition_roll(struct log_partition *part)
{
	struct log_segment *old = part->segs[part->nsegs - 1];
	int64_t base = atomic_load_explicit(&part->end_offset, memory_order_relaxed);
	char errmsg[ERRMSG_SIZE];
	struct log_segment *seg;
	int rc = log_segment_create(part->dir, base, &seg, errmsg);
	if (rc) {
		log_error(LOG_MODULE, "%s: roll failed: %s", part->dir, errmsg);
		return rc;
	}
	pthread_mutex_lock(&part->mu);
	log_segment_finish_time_index(old);
	pthread_mutex_unlock(&part->mu);
	/* Held until the flusher has synced the sealed segment (sync_internal). */
	rc = log_segment_open_indexes(old, part->dir);
	if (!rc)
		rc = log_segment_write_indexes(old, part->dir); /* reads the arrays: append_mu suffices */
	if (rc)
		log_warn(LOG_MODULE, "%s: writing indexes of segment %020" PRId64 ": %s", part->dir,
			 old->base_offset, strerror(-rc));
	/* Give back what was preallocated past the data (see log_partition_prealloc):
	 * the size stays, only blocks beyond it are freed. */
	if (ftruncate(old->log->fd, (off_t)old->size) < 0)
		log_warn(LOG_MODULE, "%s: releasing the preallocated tail of segment %020" PRId64 ": %s",
			 part->dir, old->base_offset, strerror(errno));

	pthread_mutex_lock(&part->mu);
	old->sealed = true;
	if (!rc) {
		/* Sealed indexes are read from their files (mmap) from now on. */
		log_index_unload(&old->oidx);
		log_index_unload(&old->tidx);
	}
	if (part->nsegs == part->segs_cap) {
		part->segs_cap = part->segs_cap ? part->segs_cap * 2 : 8;
		part->segs = xrealloc(part->segs, (size_t)part->segs_cap * sizeof(*part->segs));
	}
	part->segs[part->nsegs++] = seg;
	pthread_mutex_unlock(&part->mu);
	part->dir_dirty = true; /* the next sync fsyncs the directory first */
	log_debug(LOG_MODULE, "%s: rolled to segment %020" PRId64, part->dir, base);
	return 0;
}

static bool log_partition_should_roll(struct log_partition *part, struct log_segment *seg,
				      size_t len, int64_t offsets, int64_t now_ms)
{
	if (seg->size == 0)
		return false;
	int64_t limit = part->cfg.segment_bytes;
	if (limit <= 0 || limit > LOG_SEGMENT_MAX_BYTES)
		limit = LOG_SEGMENT_MAX_BYTES;
	if (seg->size + (int64_t)len > limit)
		return true;
	if (seg->size + (int64_t)len > UINT32_MAX)
		return true;
	if (part->cfg.segment_ms > 0 && seg->first_append_ms >= 0 &&
	    now_ms - seg->first_append_ms > part->cfg.segment_ms)
		return true;
	int64_t max_entries = part->cfg.segment_index_bytes / LOG_OFFSET_ENTRY_SIZE;
	if (max_entries > 0 && (int64_t)seg->oidx.count >= max_entries)
		return true;
	int64_t end = atomic_load_explicit(&part->end_offset, memory_order_relaxed);
	if (end + offsets - 1 - seg->base_offset > INT32_MAX)
		return true;
	return false;
}

/* Preallocation. On ext4 a buffered write into blocks not yet allocated goes
 * through delayed allocation, whose per-block reservation bookkeeping costs
 * more CPU than the copy itself; a write into blocks reserved beforehand
 * with fallocate(FALLOC_FL_KEEP_SIZE) skips it, and a later fdatasync has no
 * allocation to do. So the active segment is reserved ahead of the write
 * position in chunks that double from 64 KiB to 64 MiB ([0,64K) [64K,128K)
 * [128K,256K) ... [32M,64M), then every 64 MiB), never past segment.bytes:
 * what is reserved beyond the data stays below max(64 KiB, what was
 * written) and 64 MiB. KEEP_SIZE leaves the file size alone, so readers,
 * recovery and tools see exactly the bytes written. The unused tail is given
 * back when the segment rolls (ftruncate to its size) and when it is closed
 * or found after a crash (segment.c). Errors (a filesystem without
 * fallocate, ENOSPC) are ignored: the write then takes the ordinary path and
 * reports real failures itself. */
#define LOG_PREALLOC_MIN ((int64_t)64 << 10)
#define LOG_PREALLOC_MAX ((int64_t)64 << 20)

/* The end of the preallocation chunk holding byte pos. */
static int64_t log_prealloc_chunk_end(int64_t pos)
{
	if (pos >= LOG_PREALLOC_MAX)
		return (pos / LOG_PREALLOC_MAX + 1) * LOG_PREALLOC_MAX;
	int64_t end = LOG_PREALLOC_MIN;
	while (end <= pos)
		end <<= 1;
	return end;
}

/* Before writing [pos, end) to seg (append_mu held): when the write reaches
 * a chunk no earlier write reached, reserve up to the end of that chunk.
 * Stateless: a write that stays inside the current chunk costs nothing. */
static void log_partition_prealloc(struct log_partition *part, struct log_segment *seg, int64_t pos,
				   int64_t end)
{
	int64_t chunk_end = log_prealloc_chunk_end(end - 1);
	if (pos > 0 && chunk_end == log_prealloc_chunk_end(pos - 1))
		return;
	int64_t limit = part->cfg.segment_bytes;
	if (limit <= 0 || limit > LOG_SEGMENT_MAX_BYTES)
		limit = LOG_SEGMENT_MAX_BYTES;
	if (chunk_end > limit)
		chunk_end = limit;
	if (chunk_end > pos)
		(void)fallocate(seg->log->fd, FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)(chunk_end - pos));
}

/* Upper bound for a flush.ms delay, so deadlines never overflow. */
#define LOG_FLUSH_MS_MAX (365LL * 24 * 3600 * 1000)

int log_partition_append(struct log_partition *part, uint8_t *batches, size_t len,
			 int32_t record_count, int64_t now_ms, struct log_append_result *res)
{
	/* Walk the headers first (no lock needed): the set must be whole batches
	 * and its offset count must match record_count. */
	int64_t offsets = 0;
	for (size_t p = 0; p < len;) {
		if (len - p < RECORDS_BATCH_HEADER_SIZE)
			return -EINVAL;
		int64_t total = (int64_t)(int32_t)log_be32(batches + p + LOG_BATCH_LENGTH_AT) +
				RECORDS_LOG_OVERHEAD;
		int32_t lod = (int32_t)log_be32(batches + p + LOG_BATCH_LAST_DELTA_AT);
		if (total < RECORDS_BATCH_HEADER_SIZE || (uint64_t)total > len - p || lod < 0)
			return -EINVAL;
		offsets += (int64_t)lod + 1;
		p += (size_t)total;
	}
	if (len == 0 || (record_count >= 0 && offsets != record_count))
		return -EINVAL;

	/* append_mu serializes writers; part->mu is taken only to publish, so
	 * readers never wait for the write itself. */
	pthread_mutex_lock(&part->append_mu);
	int rc = part->io_error;
	if (rc)
		goto out;
	struct log_segment *seg = part->segs[part->nsegs - 1];
	bool rolled = false;
	if (log_partition_should_roll(part, seg, len, offsets, now_ms)) {
		rc = log_partition_roll(part);
		if (rc)
			goto out;
		seg = part->segs[part->nsegs - 1];
		rolled = true;
	}

	const bool lat = part->cfg.timestamp_log_append;
	const int64_t base = atomic_load_explicit(&part->end_offset, memory_order_relaxed);
	const int64_t pos = seg->size;
	int64_t off = base;
	for (size_t p = 0; p < len;) {
		uint8_t *b = batches + p;
		int64_t total = (int64_t)(int32_t)log_be32(b + LOG_BATCH_LENGTH_AT) +
				RECORDS_LOG_OVERHEAD;
		log_put_be64(b, (uint64_t)off);
		if (lat) {
			b[LOG_BATCH_ATTR_AT + 1] |= RECORDS_ATTR_TIMESTAMP_TYPE;
			log_put_be64(b + LOG_BATCH_MAX_TS_AT, (uint64_t)now_ms);
			log_put_be32(b + LOG_BATCH_CRC_AT,
				     crc32c(0, b + LOG_BATCH_ATTR_AT, (size_t)total - LOG_BATCH_ATTR_AT));
		}
		off += (int32_t)log_be32(b + LOG_BATCH_LAST_DELTA_AT) + 1;
		p += (size_t)total;
	}

	log_partition_prealloc(part, seg, pos, pos + (int64_t)len);
	rc = log_pwrite_all(seg->log->fd, batches, len, (off_t)pos);
	if (rc) {
		/* Cut off whatever part of it landed; nothing partial stays. */
		if (ftruncate(seg->log->fd, (off_t)pos) < 0) {
			part->io_error = -errno;
			log_error(LOG_MODULE, "%s: append failed (%s) and truncating back failed (%s); "
				  "partition is read-only until restart", part->dir, strerror(-rc),
				  strerror(errno));
		} else {
			log_warn(LOG_MODULE, "%s: append of %zu bytes failed: %s", part->dir, len,
				 strerror(-rc));
		}
		goto out;
	}

	/* Publish: index entries, size, end offset. */
	const int32_t interval = part->cfg.index_interval_bytes;
	pthread_mutex_lock(&part->mu);
	for (size_t p = 0; p < len;) {
		const uint8_t *b = batches + p;
		int64_t total = (int64_t)(int32_t)log_be32(b + LOG_BATCH_LENGTH_AT) +
				RECORDS_LOG_OVERHEAD;
		int64_t last = (int64_t)log_be64(b) + (int32_t)log_be32(b + LOG_BATCH_LAST_DELTA_AT);
		log_segment_track_batch(seg, pos + (int64_t)p, last,
					(int64_t)log_be64(b + LOG_BATCH_MAX_TS_AT), total, interval);
		p += (size_t)total;
	}
	seg->size = pos + (int64_t)len;
	seg->end_offset = off;
	if (seg->first_append_ms < 0)
		seg->first_append_ms = now_ms;
	atomic_store_explicit(&part->end_offset, off, memory_order_release);
	pthread_mutex_unlock(&part->mu);

	if (res) {
		res->base_offset = base;
		res->last_offset = off - 1;
		res->log_append_time = lat ? now_ms : -1;
		res->log_start_offset = atomic_load_explicit(&part->start_offset,
							     memory_order_relaxed);
	}

	/* A rolled segment is synced in the background right away (as Kafka
	 * does), so the recovery point moves past it and a crash never makes
	 * recovery rescan more than the active segment. */
	bool kick = rolled, kick_timed = false;
	int64_t flush_ms = part->cfg.flush_ms;
	if (part->flusher) {
		part->msgs_since_kick += offsets;
		if (part->cfg.flush_messages > 0 && part->msgs_since_kick >= part->cfg.flush_messages) {
			part->msgs_since_kick = 0;
			kick = true;
		}
		if (flush_ms >= 0 && flush_ms < INT64_MAX &&
		    !atomic_exchange_explicit(&part->timed_kick, true, memory_order_acq_rel))
			kick_timed = true;
	}
	pthread_mutex_unlock(&part->append_mu);
	if (kick)
		log_flusher_kick(part->flusher, part);
	if (kick_timed)
		log_flusher_kick_after(part->flusher, part,
				       flush_ms < LOG_FLUSH_MS_MAX ? flush_ms : LOG_FLUSH_MS_MAX);
	return 0;
out:
	pthread_mutex_unlock(&part->append_mu);
	return rc;
}

/* ------------------------------------------------------------------- sync */

struct sync_item {
	int64_t base;
	struct file_ref *files[3];
};

int log_partition_sync(struct log_partition *part)
{
	return log_partition_sync_internal(part, false);
}

int log_partition_sync_internal(struct log_partition *part, bool force_checkpoint)
{
	pthread_mutex_lock(&part->sync_mu);
	/* Snapshot under append_mu: segment list and sizes are stable, and the
	 * active index arrays can be read to write them out. */
	pthread_mutex_lock(&part->append_mu);
	int rc = part->io_error;
	if (rc) {
		pthread_mutex_unlock(&part->append_mu);
		pthread_mutex_unlock(&part->sync_mu);
		return rc;
	}
	struct log_segment *active = part->segs[part->nsegs - 1];
	int wrc = log_segment_write_indexes(active, part->dir);
	if (wrc)
		log_warn(LOG_MODULE, "%s: writing active indexes: %s", part->dir, strerror(-wrc));
	struct log_checkpoint cp = {
		.offset = atomic_load_explicit(&part->end_offset, memory_order_relaxed),
		.segment_base = active->base_offset,
		.position = active->size,
		.max_ts = active->max_ts,
		.max_ts_offset = active->max_ts_offset,
	};
	struct file_ref *active_log = file_ref_get(active->log);
	struct sync_item *items = NULL;
	int nitems = 0;
	for (int i = 0; i < part->nsegs - 1; i++) {
		struct log_segment *seg = part->segs[i];
		if (seg->synced)
			continue;
		if (!nitems)
			items = xmalloc((size_t)(part->nsegs - 1 - i) * sizeof(*items));
		struct sync_item *it = &items[nitems++];
		it->base = seg->base_offset;
		it->files[0] = file_ref_get(seg->log);
		it->files[1] = seg->idx_file ? file_ref_get(seg->idx_file) : NULL;
		it->files[2] = seg->tidx_file ? file_ref_get(seg->tidx_file) : NULL;
	}
	int ntxn;
	struct file_ref **txn_files = log_txn_index_dirty(part, &ntxn);
	bool dir_sync = part->dir_dirty;
	part->dir_dirty = false;
	pthread_mutex_unlock(&part->append_mu);

	bool nothing = !dir_sync && !nitems && !ntxn &&
		       cp.offset <= atomic_load_explicit(&part->flushed_offset, memory_order_relaxed);
	if (!nothing) {
		if (dir_sync) {
			int dir_fd = log_partition_dir_open(part);
			if (dir_fd < 0)
				rc = dir_fd;
			else if (fsync(dir_fd) < 0)
				rc = -errno;
			if (dir_fd >= 0)
				close(dir_fd);
		}
		for (int i = 0; i < nitems && !rc; i++)
			for (int k = 0; k < 3 && !rc; k++)
				if (items[i].files[k] && fdatasync(items[i].files[k]->fd) < 0)
					rc = -errno;
		for (int i = 0; i < ntxn && !rc; i++)
			if (fdatasync(txn_files[i]->fd) < 0)
				rc = -errno;
		if (!rc && fdatasync(active_log->fd) < 0)
			rc = -errno;
	}

	pthread_mutex_lock(&part->append_mu);
	if (rc) {
		/* After a failed fsync the kernel may have dropped the dirty pages:
		 * a retry could "succeed" without the data. Stop here for good. */
		part->io_error = rc;
		log_error(LOG_MODULE, "%s: sync failed: %s; partition is read-only until restart",
			  part->dir, strerror(-rc));
	} else {
		for (int i = 0; i < nitems; i++) {
			int s = log_partition_find_segment(part, items[i].base);
			struct log_segment *seg = part->segs[s];
			if (seg->base_offset != items[i].base || !seg->sealed)
				continue;
			seg->synced = true;
			log_segment_cache_file(seg);
			file_ref_put(seg->idx_file);
			file_ref_put(seg->tidx_file);
			seg->idx_file = seg->tidx_file = NULL;
		}
		/* A .txnindex synced and not written since is closed: the next
		 * abort or truncation opens it again. */
		for (int i = 0; i < part->nsegs; i++) {
			struct log_segment *seg = part->segs[i];
			if (!seg->txn_dirty) {
				file_ref_put(seg->txn_file);
				seg->txn_file = NULL;
			}
		}
		if (cp.offset > atomic_load_explicit(&part->flushed_offset, memory_order_relaxed))
			atomic_store_explicit(&part->flushed_offset, cp.offset, memory_order_release);
	}
	pthread_mutex_unlock(&part->append_mu);

	for (int i = 0; i < nitems; i++)
		for (int k = 0; k < 3; k++)
			file_ref_put(items[i].files[k]);
	free(items);
	for (int i = 0; i < ntxn; i++)
		file_ref_put(txn_files[i]);
	free(txn_files);
	file_ref_put(active_log);

	if (!rc) {
		int64_t now = clock_mono_ms();
		bool changed = memcmp(&cp, &part->checkpoint, sizeof(cp)) != 0;
		/* Always right after sealed segments became durable: that is when
		 * the recovery point moves past a whole segment. */
		if (changed && (force_checkpoint || nitems > 0 ||
				now - part->checkpoint_mono_ms >= LOG_CHECKPOINT_INTERVAL_MS)) {
			int crc = log_partition_dir_open(part);
			if (crc >= 0) {
				int dir_fd = crc;
				crc = log_checkpoint_write(dir_fd, &cp);
				close(dir_fd);
			}
			if (crc) {
				log_warn(LOG_MODULE, "%s: writing recovery point: %s", part->dir,
					 strerror(-crc));
			} else {
				part->checkpoint = cp;
				part->checkpoint_mono_ms = now;
				if (part->observer && part->observer->checkpoint)
					part->observer->checkpoint(part, part->observer_state);
			}
		}
	}
	pthread_mutex_unlock(&part->sync_mu);
	return rc;
}
