/* One segment: a .log file of record batches plus its .index and .timeindex,
 * all named by the segment's base offset. The active (last) segment keeps its
 * index entries in heap arrays and writes them out in bulk; a sealed segment's
 * indexes are its files, mmapped when first searched. A segment's bytes below
 * `size` never change once written, which is what lets readers pread them
 * without the partition lock. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

void log_segment_path(char *buf, size_t n, const char *dir, int64_t base, const char *ext)
{
	snprintf(buf, n, "%s/%020" PRId64 ".%s", dir, base, ext);
}

static struct log_segment *log_segment_alloc(int64_t base)
{
	struct log_segment *seg = xcalloc(1, sizeof(*seg));
	seg->base_offset = base;
	seg->end_offset = base;
	seg->max_ts = -1;
	seg->max_ts_offset = -1;
	seg->first_append_ms = -1;
	log_index_init(&seg->oidx, LOG_OFFSET_ENTRY_SIZE);
	log_index_init(&seg->tidx, LOG_TIME_ENTRY_SIZE);
	return seg;
}

static int open_file(const char *dir, int64_t base, const char *ext, int flags,
		     struct file_ref **out, char errmsg[ERRMSG_SIZE])
{
	char path[4096];
	log_segment_path(path, sizeof(path), dir, base, ext);
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		err_printf(errmsg, "open %.200s: %s", path, strerror(err));
		return -err;
	}
	*out = file_ref_new(fd);
	return 0;
}

int log_segment_create(const char *dir, int64_t base, struct log_segment **out,
		       char errmsg[ERRMSG_SIZE])
{
	/* All three files exist from the start (the directory fsync that
	 * follows covers them); only the .log stays open. */
	static const char *const exts[] = {"log", "index", "timeindex"};
	struct log_segment *seg = log_segment_alloc(base);
	struct file_ref *files[3] = {NULL};
	for (int i = 0; i < 3; i++) {
		int rc = open_file(dir, base, exts[i], O_RDWR | O_CREAT | O_TRUNC, &files[i], errmsg);
		if (rc) {
			/* Leave no half-created segment behind. */
			for (int j = 0; j < i; j++) {
				char path[4096];
				log_segment_path(path, sizeof(path), dir, base, exts[j]);
				unlink(path);
				file_ref_put(files[j]);
			}
			log_segment_free(seg);
			return rc;
		}
	}
	seg->log = files[0];
	file_ref_put(files[1]);
	file_ref_put(files[2]);
	seg->oidx.loaded = seg->tidx.loaded = true;
	*out = seg;
	return 0;
}

/* Blocks allocated past the end of a .log file are what the append path
 * preallocated (partition.c, log_partition_prealloc) and did not fill. More
 * than this beyond the size (extent-tree blocks count in st_blocks too) and
 * they are given back with an ftruncate to the unchanged size, which frees
 * only blocks past the end. */
#define LOG_SEGMENT_SLACK_BYTES (32 << 10)

static void log_segment_release_tail(int fd, const struct stat *st)
{
	int64_t used = ((int64_t)st->st_size + 4095) & ~(int64_t)4095;
	if ((int64_t)st->st_blocks * 512 - used > LOG_SEGMENT_SLACK_BYTES)
		(void)ftruncate(fd, st->st_size);
}

int log_segment_open(const char *dir, int64_t base, struct log_segment **out,
		     char errmsg[ERRMSG_SIZE])
{
	struct log_segment *seg = log_segment_alloc(base);
	int rc = open_file(dir, base, "log", O_RDWR, &seg->log, errmsg);
	if (rc) {
		log_segment_free(seg);
		return rc;
	}
	struct stat st;
	if (fstat(seg->log->fd, &st) < 0) {
		rc = -errno;
		err_printf(errmsg, "stat segment %020" PRId64 ".log: %s", base, strerror(errno));
		log_segment_free(seg);
		return rc;
	}
	seg->size = st.st_size;
	log_segment_release_tail(seg->log->fd, &st); /* left by a crash */
	*out = seg;
	return 0;
}

/* ------------------------------------------------- open sealed files
 * A sealed, synced segment's .log is only read, and mostly the newest ones
 * are. Their files are kept open up to a process-wide limit, the least
 * recently used closed first and reopened (read-only) when read again; a
 * closed file stays open underneath while reads and sendfiles hold
 * references. The active segment's file and those of segments not synced yet
 * stay open: their writes and fdatasyncs need the fd that wrote them.
 * file_cache_mu guards the list and seg->log of cached segments; it is taken
 * under part->mu or append_mu, never the other way round. */
static pthread_mutex_t file_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct log_segment *file_cache_head, *file_cache_tail; /* most recent first */
static size_t file_cache_n, file_cache_max = LOG_SEALED_FILES_MAX;

static void file_cache_unlink(struct log_segment *seg)
{
	if (seg->cache_prev)
		seg->cache_prev->cache_next = seg->cache_next;
	else
		file_cache_head = seg->cache_next;
	if (seg->cache_next)
		seg->cache_next->cache_prev = seg->cache_prev;
	else
		file_cache_tail = seg->cache_prev;
	seg->cache_prev = seg->cache_next = NULL;
	file_cache_n--;
}

static void file_cache_push(struct log_segment *seg)
{
	seg->cache_prev = NULL;
	seg->cache_next = file_cache_head;
	if (file_cache_head)
		file_cache_head->cache_prev = seg;
	else
		file_cache_tail = seg;
	file_cache_head = seg;
	file_cache_n++;
}

/* Closes the least recently used files beyond the limit. */
static void file_cache_trim(void)
{
	while (file_cache_n > file_cache_max) {
		struct log_segment *old = file_cache_tail;
		file_cache_unlink(old);
		file_ref_put(old->log);
		old->log = NULL;
	}
}

void log_segment_file_cache_limit(size_t max)
{
	pthread_mutex_lock(&file_cache_mu);
	file_cache_max = max;
	file_cache_trim();
	pthread_mutex_unlock(&file_cache_mu);
}

struct file_ref *log_segment_file(struct log_segment *seg, const char *dir)
{
	pthread_mutex_lock(&file_cache_mu);
	if (seg->log) {
		if (seg->file_cached && file_cache_head != seg) {
			file_cache_unlink(seg);
			file_cache_push(seg);
		}
		struct file_ref *f = file_ref_get(seg->log);
		pthread_mutex_unlock(&file_cache_mu);
		return f;
	}
	pthread_mutex_unlock(&file_cache_mu);
	/* Only a cached segment's file is ever closed. */
	char path[4096];
	log_segment_path(path, sizeof(path), dir, seg->base_offset, "log");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct file_ref *f = file_ref_new(fd);
	pthread_mutex_lock(&file_cache_mu);
	if (!seg->log && seg->file_cached) {
		seg->log = file_ref_get(f);
		file_cache_push(seg);
		file_cache_trim();
	}
	pthread_mutex_unlock(&file_cache_mu);
	return f;
}

void log_segment_cache_file(struct log_segment *seg)
{
	pthread_mutex_lock(&file_cache_mu);
	if (!seg->file_cached) {
		seg->file_cached = true;
		file_cache_push(seg);
		file_cache_trim();
	}
	pthread_mutex_unlock(&file_cache_mu);
}

int log_segment_pin_file(struct log_segment *seg, const char *dir)
{
	struct file_ref *f = log_segment_file(seg, dir);
	if (!f)
		return -errno;
	pthread_mutex_lock(&file_cache_mu);
	if (seg->file_cached) {
		if (seg->log)
			file_cache_unlink(seg);
		else
			seg->log = file_ref_get(f);
		seg->file_cached = false;
	}
	pthread_mutex_unlock(&file_cache_mu);
	file_ref_put(f);
	return 0;
}

void log_segment_free(struct log_segment *seg)
{
	if (!seg)
		return;
	if (seg->file_cached) {
		pthread_mutex_lock(&file_cache_mu);
		if (seg->log)
			file_cache_unlink(seg);
		seg->file_cached = false;
		pthread_mutex_unlock(&file_cache_mu);
	}
	struct stat st;
	if (seg->log && !seg->sealed && fstat(seg->log->fd, &st) == 0)
		log_segment_release_tail(seg->log->fd, &st); /* the active one's preallocation */
	file_ref_put(seg->log);
	file_ref_put(seg->idx_file);
	file_ref_put(seg->tidx_file);
	file_ref_put(seg->txn_file);
	free(seg->aborted);
	log_index_fini(&seg->oidx);
	log_index_fini(&seg->tidx);
	free(seg);
}

static void log_segment_time_entry(struct log_segment *seg)
{
	struct log_index *tidx = &seg->tidx;
	if (seg->max_ts < 0)
		return;
	if (tidx->count && log_time_index_ts(tidx, tidx->count - 1) >= seg->max_ts)
		return;
	log_time_index_push(tidx, seg->max_ts, (uint32_t)(seg->max_ts_offset - seg->base_offset));
}

void log_segment_track_batch(struct log_segment *seg, int64_t pos, int64_t last_offset,
			     int64_t max_ts, int64_t batch_size, int32_t interval)
{
	if (max_ts > seg->max_ts) {
		seg->max_ts = max_ts;
		seg->max_ts_offset = last_offset;
	}
	if (seg->bytes_since_index > interval) {
		log_offset_index_push(&seg->oidx, (uint32_t)(last_offset - seg->base_offset),
				      (uint32_t)pos);
		log_segment_time_entry(seg);
		seg->bytes_since_index = 0;
	}
	seg->bytes_since_index += batch_size;
}

void log_segment_finish_time_index(struct log_segment *seg)
{
	if (!seg->tidx.loaded)
		return;
	log_segment_time_entry(seg);
}

int log_segment_open_indexes(struct log_segment *seg, const char *dir)
{
	static const char *const exts[] = {"index", "timeindex"};
	struct file_ref **files[] = {&seg->idx_file, &seg->tidx_file};
	for (int i = 0; i < 2; i++) {
		if (*files[i])
			continue;
		char errmsg[ERRMSG_SIZE];
		int rc = open_file(dir, seg->base_offset, exts[i], O_RDWR | O_CREAT, files[i], errmsg);
		if (rc)
			return rc;
	}
	return 0;
}

static bool log_index_pending(const struct log_index *idx)
{
	return idx->loaded && idx->written < idx->count;
}

int log_segment_write_indexes(struct log_segment *seg, const char *dir)
{
	if (!log_index_pending(&seg->oidx) && !log_index_pending(&seg->tidx))
		return 0;
	/* Files not held (the active segment's) are opened for this write only. */
	bool held_o = seg->idx_file, held_t = seg->tidx_file;
	int rc = log_segment_open_indexes(seg, dir);
	if (!rc)
		rc = log_index_write(&seg->oidx, seg->idx_file->fd);
	if (!rc)
		rc = log_index_write(&seg->tidx, seg->tidx_file->fd);
	if (!held_o) {
		file_ref_put(seg->idx_file);
		seg->idx_file = NULL;
	}
	if (!held_t) {
		file_ref_put(seg->tidx_file);
		seg->tidx_file = NULL;
	}
	return rc;
}

void log_segment_load_indexes(struct log_segment *seg, const char *dir)
{
	char path[4096];
	if (!seg->oidx.loaded) {
		log_segment_path(path, sizeof(path), dir, seg->base_offset, "index");
		int rc = log_index_map(&seg->oidx, path);
		if (rc)
			log_warn(LOG_MODULE, "%s: cannot map offset index: %s (reads scan the segment)",
				 path, strerror(-rc));
	}
	if (!seg->tidx.loaded) {
		log_segment_path(path, sizeof(path), dir, seg->base_offset, "timeindex");
		int rc = log_index_map(&seg->tidx, path);
		if (rc)
			log_warn(LOG_MODULE, "%s: cannot map time index: %s", path, strerror(-rc));
	}
}

int64_t log_segment_lookup(struct log_segment *seg, const char *dir, int64_t offset)
{
	if (offset <= seg->base_offset)
		return 0;
	log_segment_load_indexes(seg, dir);
	int64_t rel = offset - seg->base_offset;
	if (rel > UINT32_MAX)
		rel = UINT32_MAX;
	ssize_t i = log_offset_index_floor(&seg->oidx, (uint32_t)rel);
	if (i < 0)
		return 0;
	int64_t pos = log_offset_index_pos(&seg->oidx, (size_t)i);
	return pos < seg->size ? pos : 0;
}

/* ------------------------------------------------------------------ scan */

void log_scan_init(struct log_scan *scan, int fd, int64_t limit, uint8_t *buf, size_t cap)
{
	scan->fd = fd;
	scan->limit = limit;
	scan->buf = buf;
	scan->cap = cap;
	scan->buf_pos = 0;
	scan->buf_len = 0;
}

const uint8_t *log_scan_get(struct log_scan *scan, int64_t pos, size_t n, int *err)
{
	if (pos < 0 || n > scan->cap || pos + (int64_t)n > scan->limit) {
		*err = -SAMSA_ECORRUPT;
		return NULL;
	}
	if (pos >= scan->buf_pos && pos + (int64_t)n <= scan->buf_pos + (int64_t)scan->buf_len)
		return scan->buf + (pos - scan->buf_pos);
	size_t want = scan->cap;
	if ((int64_t)want > scan->limit - pos)
		want = (size_t)(scan->limit - pos);
	size_t got = 0;
	while (got < want) {
		ssize_t r = pread(scan->fd, scan->buf + got, want - got, (off_t)(pos + (int64_t)got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*err = -errno;
			scan->buf_len = 0;
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	scan->buf_pos = pos;
	scan->buf_len = got;
	if (got < n) {
		*err = -SAMSA_ECORRUPT; /* the file is shorter than we were told */
		return NULL;
	}
	return scan->buf;
}

int log_segment_rebuild_indexes(struct log_segment *seg, int32_t interval,
				char errmsg[ERRMSG_SIZE])
{
	log_index_unload(&seg->oidx);
	log_index_unload(&seg->tidx);
	seg->oidx.loaded = seg->tidx.loaded = true;
	seg->max_ts = seg->max_ts_offset = -1;
	seg->bytes_since_index = 0;
	uint8_t buf[16384];
	struct log_scan scan;
	log_scan_init(&scan, seg->log->fd, seg->size, buf, sizeof(buf));
	int64_t pos = 0;
	int64_t end = seg->base_offset;
	while (pos < seg->size) {
		int err = 0;
		const uint8_t *h = log_scan_get(&scan, pos, RECORDS_BATCH_HEADER_SIZE, &err);
		if (!h) {
			err_printf(errmsg, "segment %020" PRId64 ": unreadable batch header at %" PRId64,
				   seg->base_offset, pos);
			return err;
		}
		int64_t total = (int64_t)(int32_t)log_be32(h + LOG_BATCH_LENGTH_AT) +
				RECORDS_LOG_OVERHEAD;
		int64_t base = (int64_t)log_be64(h);
		int64_t last = base + (int32_t)log_be32(h + LOG_BATCH_LAST_DELTA_AT);
		if (total < RECORDS_BATCH_HEADER_SIZE || pos + total > seg->size ||
		    base < seg->base_offset || last < base || last - seg->base_offset > UINT32_MAX) {
			err_printf(errmsg, "segment %020" PRId64 ": bad batch header at %" PRId64,
				   seg->base_offset, pos);
			return -SAMSA_ECORRUPT;
		}
		log_segment_track_batch(seg, pos, last, (int64_t)log_be64(h + LOG_BATCH_MAX_TS_AT),
					total, interval);
		end = last + 1;
		pos += total;
	}
	seg->end_offset = end;
	return 0;
}

int log_pwrite_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -ENOSPC; /* a regular file that takes nothing is full */
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int log_file_replace(int dir_fd, const char *name, const void *data, size_t n)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = log_pwrite_all(fd, data, n, 0);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && renameat(dir_fd, tmp, dir_fd, name) < 0)
		rc = -errno;
	if (!rc && fsync(dir_fd) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dir_fd, tmp, 0);
	return rc;
}
