/* Opening a partition directory: find the segments, trust what the recovery
 * point says is durable, validate everything after it, cut off a torn or
 * corrupt tail, and rebuild the indexes of what was scanned.
 *
 * The recovery point ("recovery-point", written tmp + fsync + rename + dir
 * fsync by log_checkpoint_write) records an offset below which every byte was
 * fsynced, together with the segment and byte position where that offset's
 * batch starts and that segment's max timestamp so far. So after a clean
 * shutdown (recovery point == end offset) nothing is read at all, and after a
 * crash only the bytes written since the last checkpoint are scanned:
 *   - segments entirely below the recovery point are trusted: their index
 *     files get a cheap sanity check (and are rebuilt if it fails);
 *   - the segment holding the recovery point is trusted up to its position;
 *   - everything after is validated batch by batch: header sanity, CRC-32C,
 *     offsets increasing. At the first bad batch the segment is truncated
 *     there and every later segment deleted, with a WARN line saying what was
 *     dropped. Kafka does the same; the dropped bytes were never acknowledged
 *     as durable (acks=all waits for the fsync that would have covered them).
 * The active segment's last indexed stretch is validated even when trusted,
 * so damage found there after a clean shutdown is caught too (then the whole
 * segment is validated). Stray index files without a .log are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

#define RECOVERY_BUF (1 << 20)

/* --------------------------------------------------------- recovery point */

int log_checkpoint_read(int dir_fd, struct log_checkpoint *cp)
{
	int fd = openat(dir_fd, LOG_CHECKPOINT_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	long long v[5];
	int version, used = 0;
	if (sscanf(buf, "%d %lld %lld %lld %lld %lld\n%n", &version, &v[0], &v[1], &v[2], &v[3],
		   &v[4], &used) != 6 ||
	    version != 1 || used != n)
		return -SAMSA_ECORRUPT;
	cp->offset = v[0];
	cp->segment_base = v[1];
	cp->position = v[2];
	cp->max_ts = v[3];
	cp->max_ts_offset = v[4];
	if (cp->offset < 0 || cp->segment_base < 0 || cp->segment_base > cp->offset ||
	    cp->position < 0)
		return -SAMSA_ECORRUPT;
	return 0;
}

int log_checkpoint_write(int dir_fd, const struct log_checkpoint *cp)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "1 %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
			 " %" PRId64 "\n", cp->offset, cp->segment_base, cp->position, cp->max_ts,
			 cp->max_ts_offset);
	return log_file_replace(dir_fd, LOG_CHECKPOINT_FILE, buf, (size_t)n);
}

/* -------------------------------------------------------------- listing */

struct seg_list {
	int64_t *v;
	int n, cap;
};

static void seg_list_push(struct seg_list *l, int64_t base)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = base;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* l must be sorted. */
static bool seg_list_has(const struct seg_list *l, int64_t base)
{
	return l->n && bsearch(&base, l->v, (size_t)l->n, sizeof(int64_t), cmp_i64) != NULL;
}

/* "<20 digits>.<ext>" -> base and ext; false for anything else. */
static bool parse_segment_name(const char *name, int64_t *base, const char **ext)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (name[i] - '0');
	}
	if (name[20] != '.')
		return false;
	*base = v;
	*ext = name + 21;
	return true;
}

static int list_dir(struct log_partition *part, struct seg_list *logs, struct seg_list *idx,
		    char errmsg[ERRMSG_SIZE])
{
	DIR *d = opendir(part->dir);
	if (!d) {
		int err = errno;
		err_printf(errmsg, "list %s: %s", part->dir, strerror(err));
		return -err;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int64_t base;
		const char *ext;
		if (!strcmp(de->d_name, LOG_CHECKPOINT_FILE ".tmp")) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!parse_segment_name(de->d_name, &base, &ext))
			continue;
		if (!strcmp(ext, "log"))
			seg_list_push(logs, base);
		else if (!strcmp(ext, "index") || !strcmp(ext, "timeindex") || !strcmp(ext, "txnindex"))
			seg_list_push(idx, base);
	}
	closedir(d);
	if (logs->n)
		qsort(logs->v, (size_t)logs->n, sizeof(int64_t), cmp_i64);
	if (idx->n)
		qsort(idx->v, (size_t)idx->n, sizeof(int64_t), cmp_i64);
	return 0;
}

static void remove_segment_files(struct log_partition *part, int64_t base)
{
	static const char *const exts[] = {"log", "index", "timeindex", "txnindex"};
	for (int i = 0; i < 4; i++) {
		char path[4096];
		log_segment_path(path, sizeof(path), part->dir, base, exts[i]);
		unlink(path);
	}
	part->dir_dirty = true;
}

/* ----------------------------------------------------------- validation */

/* Validates the batch at pos: header sanity, CRC-32C, offsets after
 * expect_offset and below limit_offset. Returns NULL if good (with *total,
 * *last, *max_ts set), or why not. May return an I/O error through *err. */
static const char *check_batch(struct log_scan *scan, int64_t pos, int64_t seg_base,
			       int64_t expect_offset, int64_t limit_offset, int64_t *total,
			       int64_t *last, int64_t *max_ts, int *err)
{
	int64_t left = scan->limit - pos;
	if (left < RECORDS_BATCH_HEADER_SIZE)
		return "torn batch header";
	const uint8_t *h = log_scan_get(scan, pos, RECORDS_BATCH_HEADER_SIZE, err);
	if (!h)
		return *err == -SAMSA_ECORRUPT ? "short read" : "read error";
	struct records_batch_header hdr;
	records_header_parse(h, &hdr);
	if (hdr.magic != 2)
		return "bad magic";
	if (hdr.batch_length < RECORDS_BATCH_HEADER_SIZE - RECORDS_LOG_OVERHEAD)
		return "batchLength too small";
	int64_t t = (int64_t)hdr.batch_length + RECORDS_LOG_OVERHEAD;
	if (t > left)
		return "torn batch (extends past the end of the file)";
	if (hdr.last_offset_delta < 0 || hdr.record_count != hdr.last_offset_delta + 1)
		return "record count does not match lastOffsetDelta";
	int64_t l = hdr.base_offset + hdr.last_offset_delta;
	if (hdr.base_offset < expect_offset || hdr.base_offset < seg_base)
		return "offset not above the previous batch";
	if (l >= limit_offset || l - seg_base > INT32_MAX)
		return "offset beyond the next segment";
	/* CRC over attributes..end, streaming when the batch exceeds the buffer. */
	uint32_t crc = 0;
	int64_t at = pos + LOG_BATCH_ATTR_AT, stop = pos + t;
	while (at < stop) {
		size_t n = (size_t)(stop - at) < scan->cap ? (size_t)(stop - at) : scan->cap;
		const uint8_t *p = log_scan_get(scan, at, n, err);
		if (!p)
			return "read error";
		crc = crc32c(crc, p, n);
		at += (int64_t)n;
	}
	if (crc != hdr.crc)
		return "CRC mismatch";
	*total = t;
	*last = l;
	*max_ts = hdr.max_timestamp;
	return NULL;
}

/* Validates seg from pos (a trusted batch start) to its end. Returns the
 * position of the first invalid batch, or seg->size if all are good; tracks
 * index entries and the end offset as it goes. */
static int64_t scan_segment(struct log_partition *part, struct log_segment *seg, int64_t pos,
			    int64_t limit_offset, uint8_t *buf, const char **why, int *err)
{
	struct log_scan scan;
	log_scan_init(&scan, seg->log->fd, seg->size, buf, RECOVERY_BUF);
	int64_t expect = seg->end_offset;
	*why = NULL;
	while (pos < seg->size) {
		int64_t total, last, max_ts;
		*why = check_batch(&scan, pos, seg->base_offset, expect, limit_offset, &total, &last,
				   &max_ts, err);
		if (*why)
			return pos;
		log_segment_track_batch(seg, pos, last, max_ts, total,
					part->cfg.index_interval_bytes);
		if (seg->first_append_ms < 0)
			seg->first_append_ms = max_ts;
		expect = last + 1;
		seg->end_offset = expect;
		pos += total;
	}
	return pos;
}

/* After a clean shutdown the recovery point is the end of the log, so nothing
 * would be validated and a batch damaged on disk since would be served as is.
 * The active segment's last indexed stretch (at most index.interval.bytes plus
 * one batch) is therefore always re-validated; true if it is intact. */
static bool trusted_tail_intact(struct log_segment *seg, int64_t position, uint8_t *buf)
{
	int64_t pos = seg->oidx.count ? log_offset_index_pos(&seg->oidx, seg->oidx.count - 1) : 0;
	struct log_scan scan;
	log_scan_init(&scan, seg->log->fd, position, buf, RECOVERY_BUF);
	while (pos < position) {
		int64_t total, last, max_ts;
		int err = 0;
		if (check_batch(&scan, pos, seg->base_offset, seg->base_offset, INT64_MAX, &total, &last, &max_ts,
				&err))
			return false;
		pos += total;
	}
	return pos == position;
}

/* ------------------------------------------------------- index handling */

/* Replaces seg's index files with the in-memory entries. */
static int rewrite_indexes(struct log_partition *part, struct log_segment *seg)
{
	int rc = log_segment_open_indexes(seg, part->dir);
	if (!rc)
		rc = log_index_rewrite(&seg->oidx, seg->idx_file->fd);
	if (!rc)
		rc = log_index_rewrite(&seg->tidx, seg->tidx_file->fd);
	return rc;
}

static ssize_t pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Cheap sanity check of a trusted sealed segment's index files (Kafka checks
 * the same: whole entries, last entry inside the segment). Sets the
 * segment's max timestamp from the time index's last entry. */
static bool indexes_look_sane(struct log_partition *part, struct log_segment *seg)
{
	char path[4096];
	uint8_t e[12];
	struct stat st;
	int64_t span = seg->end_offset - seg->base_offset;

	log_segment_path(path, sizeof(path), part->dir, seg->base_offset, "index");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = fstat(fd, &st) == 0 && st.st_size % LOG_OFFSET_ENTRY_SIZE == 0;
	if (ok && st.st_size > 0) {
		ok = pread_full(fd, e, 8, st.st_size - 8) == 8 && log_be32(e) < span &&
		     log_be32(e + 4) < seg->size;
	}
	if (ok && seg->size > 4 * (int64_t)part->cfg.index_interval_bytes && st.st_size == 0) {
		/* A big segment with an empty index is rebuilt, unless it is one
		 * batch (the first batch never gets an entry). */
		uint8_t h[RECORDS_LOG_OVERHEAD];
		ok = pread_full(seg->log->fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		     (int64_t)(int32_t)log_be32(h + LOG_BATCH_LENGTH_AT) + RECORDS_LOG_OVERHEAD == seg->size;
	}
	close(fd);
	if (!ok)
		return false;

	log_segment_path(path, sizeof(path), part->dir, seg->base_offset, "timeindex");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && st.st_size % LOG_TIME_ENTRY_SIZE == 0;
	seg->max_ts = seg->max_ts_offset = -1;
	if (ok && st.st_size > 0) {
		ok = pread_full(fd, e, 12, st.st_size - 12) == 12 && log_be32(e + 8) < span;
		if (ok) {
			seg->max_ts = (int64_t)log_be64(e);
			seg->max_ts_offset = seg->base_offset + log_be32(e + 8);
		}
	}
	close(fd);
	return ok;
}

/* Loads the active segment's index files, keeping only entries below the
 * trusted position and offset, and only while they increase. */
static void load_trusted_indexes(struct log_partition *part, struct log_segment *seg,
				 int64_t position, int64_t offset)
{
	if (log_segment_open_indexes(seg, part->dir) != 0) {
		seg->oidx.loaded = seg->tidx.loaded = true;
		return;
	}
	log_index_read_file(&seg->oidx, seg->idx_file->fd);
	log_index_read_file(&seg->tidx, seg->tidx_file->fd);
	int64_t span = offset - seg->base_offset;
	size_t keep = 0;
	for (size_t i = 0; i < seg->oidx.count; i++) {
		uint32_t rel = log_offset_index_rel(&seg->oidx, i);
		uint32_t pos = log_offset_index_pos(&seg->oidx, i);
		if (rel >= span || pos >= position || pos == 0)
			break;
		if (i && (rel <= log_offset_index_rel(&seg->oidx, i - 1) ||
			  pos <= log_offset_index_pos(&seg->oidx, i - 1)))
			break;
		keep = i + 1;
	}
	log_index_truncate(&seg->oidx, keep);
	keep = 0;
	for (size_t i = 0; i < seg->tidx.count; i++) {
		uint32_t rel = log_time_index_rel(&seg->tidx, i);
		int64_t ts = log_time_index_ts(&seg->tidx, i);
		if (rel >= span || ts > seg->max_ts)
			break;
		if (i && (ts <= log_time_index_ts(&seg->tidx, i - 1) ||
			  rel < log_time_index_rel(&seg->tidx, i - 1)))
			break;
		keep = i + 1;
	}
	log_index_truncate(&seg->tidx, keep);
	int64_t last_pos = seg->oidx.count ? log_offset_index_pos(&seg->oidx, seg->oidx.count - 1) : 0;
	seg->bytes_since_index = position - last_pos;
}

/* ------------------------------------------------------------- recovery */

static void drop_tail(struct log_partition *part, struct seg_list *logs, int i, int64_t pos,
		      const char *why, bool *repaired)
{
	struct log_segment *seg = part->segs[i];
	int64_t dropped = seg->size - pos;
	if (ftruncate(seg->log->fd, (off_t)pos) < 0)
		log_error(LOG_MODULE, "%s: truncating %020" PRId64 ".log: %s", part->dir,
			  seg->base_offset, strerror(errno));
	seg->size = pos;
	int64_t later = 0;
	for (int j = i + 1; j < part->nsegs; j++) {
		later += part->segs[j]->size;
		remove_segment_files(part, part->segs[j]->base_offset);
		log_segment_free(part->segs[j]);
	}
	int removed = part->nsegs - i - 1;
	part->nsegs = i + 1;
	logs->n = i + 1;
	log_warn(LOG_MODULE,
		 "recovery: %s/%020" PRId64 ".log: %s at position %" PRId64 "; truncated, dropping %"
		 PRId64 " bytes; end offset now %" PRId64,
		 part->dir, seg->base_offset, why, pos, dropped, seg->end_offset);
	if (removed)
		log_warn(LOG_MODULE, "recovery: %s: deleted %d later segment(s), %" PRId64 " bytes",
			 part->dir, removed, later);
	part->dir_dirty = true;
	*repaired = true;
}

int log_recover(struct log_partition *part, bool *repaired, char errmsg[ERRMSG_SIZE])
{
	*repaired = false;
	struct seg_list logs = {0}, idx = {0};
	int rc = list_dir(part, &logs, &idx, errmsg);
	if (rc)
		goto out;

	for (int i = 0; i < idx.n; i++) {
		if ((i && idx.v[i] == idx.v[i - 1]) || seg_list_has(&logs, idx.v[i]))
			continue;
		log_warn(LOG_MODULE, "recovery: %s: removing index files of missing segment %020"
			 PRId64, part->dir, idx.v[i]);
		remove_segment_files(part, idx.v[i]);
	}

	if (logs.n == 0) {
		struct log_segment *seg;
		rc = log_segment_create(part->dir, 0, &seg, errmsg);
		if (rc)
			goto out;
		part->segs = xmalloc(8 * sizeof(*part->segs));
		part->segs_cap = 8;
		part->segs[0] = seg;
		part->nsegs = 1;
		int dir_fd = log_partition_dir_open(part);
		if (dir_fd < 0 || fsync(dir_fd) < 0) {
			rc = dir_fd < 0 ? dir_fd : -errno;
			err_printf(errmsg, "fsync %s: %s", part->dir, strerror(-rc));
			if (dir_fd >= 0)
				close(dir_fd);
			goto out;
		}
		close(dir_fd);
		part->dir_dirty = false;
		/* What a recovery point of this empty log would say: none is
		 * written until there is something to recover (a new topic of
		 * many partitions closes without a file write each). */
		part->checkpoint = (struct log_checkpoint){.max_ts = seg->max_ts,
							   .max_ts_offset = seg->max_ts_offset};
		atomic_store(&part->end_offset, 0);
		atomic_store(&part->start_offset, 0);
		atomic_store(&part->flushed_offset, 0);
		goto out;
	}

	struct log_checkpoint cp;
	int dir_fd = log_partition_dir_open(part);
	bool have_cp = dir_fd >= 0 && log_checkpoint_read(dir_fd, &cp) == 0;
	if (dir_fd >= 0)
		close(dir_fd);
	if (have_cp)
		part->checkpoint = cp;

	part->segs_cap = logs.n < 8 ? 8 : logs.n;
	part->segs = xmalloc((size_t)part->segs_cap * sizeof(*part->segs));
	for (int i = 0; i < logs.n; i++) {
		rc = log_segment_open(part->dir, logs.v[i], &part->segs[i], errmsg);
		if (rc) {
			part->nsegs = i;
			goto out;
		}
		part->nsegs = i + 1;
	}

	uint8_t *buf = NULL;
	int64_t now = clock_wall_ms();
	for (int i = 0; i < part->nsegs; i++) {
		struct log_segment *seg = part->segs[i];
		bool last = i == part->nsegs - 1;
		int64_t next_base = last ? INT64_MAX : part->segs[i + 1]->base_offset;

		if (have_cp && !last && next_base <= cp.offset) {
			/* Entirely below the recovery point: trusted. */
			seg->end_offset = next_base;
			seg->sealed = true;
			seg->synced = true;
			if (!indexes_look_sane(part, seg)) {
				log_warn(LOG_MODULE, "recovery: %s: rebuilding indexes of segment %020"
					 PRId64, part->dir, seg->base_offset);
				rc = log_segment_rebuild_indexes(seg, part->cfg.index_interval_bytes,
								 errmsg);
				if (rc == -SAMSA_ECORRUPT) {
					/* Not what the recovery point promised: validate it. */
					have_cp = false;
					i--;
					continue;
				}
				if (rc)
					goto out_buf;
				seg->end_offset = next_base;
				log_segment_finish_time_index(seg);
				if ((rc = rewrite_indexes(part, seg)) != 0)
					goto index_err;
				seg->synced = false;
				log_index_unload(&seg->oidx);
				log_index_unload(&seg->tidx);
			}
			continue;
		}

		bool use_cp = have_cp;
		int64_t pos;
	rescan:
		pos = 0;
		seg->end_offset = seg->base_offset;
		seg->max_ts = seg->max_ts_offset = -1;
		seg->first_append_ms = -1;
		seg->bytes_since_index = 0;
		seg->sealed = seg->synced = false;
		log_index_unload(&seg->oidx);
		log_index_unload(&seg->tidx);
		if (use_cp && seg->base_offset == cp.segment_base &&
		    cp.position <= seg->size && cp.offset >= seg->base_offset &&
		    cp.offset <= next_base) {
			pos = cp.position;
			seg->end_offset = cp.offset;
			seg->max_ts = cp.max_ts;
			seg->max_ts_offset = cp.max_ts_offset;
			load_trusted_indexes(part, seg, pos, cp.offset);
			if (last) {
				if (!buf)
					buf = xmalloc(RECOVERY_BUF);
				if (!trusted_tail_intact(seg, pos, buf)) {
					log_warn(LOG_MODULE, "recovery: %s/%020" PRId64 ".log: a batch before the "
						 "recovery point is damaged; validating the whole segment",
						 part->dir, seg->base_offset);
					use_cp = false;
					goto rescan;
				}
			}
			if (pos > 0) {
				uint8_t h[RECORDS_BATCH_HEADER_SIZE];
				if (pread_full(seg->log->fd, h, sizeof(h), 0) == (ssize_t)sizeof(h))
					seg->first_append_ms = (int64_t)log_be64(h + LOG_BATCH_MAX_TS_AT);
			}
		} else {
			seg->oidx.loaded = seg->tidx.loaded = true;
		}
		if (pos < seg->size) {
			if (!buf)
				buf = xmalloc(RECOVERY_BUF);
			const char *why;
			int err = 0;
			int64_t good = scan_segment(part, seg, pos, next_base, buf, &why, &err);
			if (why && err && err != -SAMSA_ECORRUPT) {
				rc = err;
				err_printf(errmsg, "recovery: reading %s/%020" PRId64 ".log: %s", part->dir,
					   seg->base_offset, strerror(-err));
				goto out_buf;
			}
			if (why && good == pos && pos > 0) {
				/* The very first batch after the recovery point is bad:
				 * do not let a wrong checkpoint cost data, validate the
				 * whole segment instead. */
				log_warn(LOG_MODULE, "recovery: %s/%020" PRId64 ".log: %s at the recovery "
					 "point (position %" PRId64 "); rescanning the segment",
					 part->dir, seg->base_offset, why, pos);
				use_cp = false;
				goto rescan;
			}
			if (why) {
				drop_tail(part, &logs, i, good, why, repaired);
				last = true;
			}
		}
		if (seg->first_append_ms < 0 || seg->first_append_ms > now)
			seg->first_append_ms = seg->size ? now : -1;
		if ((rc = rewrite_indexes(part, seg)) != 0)
			goto index_err;
		if (!last) {
			seg->sealed = true;
			seg->synced = false;
			log_segment_finish_time_index(seg);
			if ((rc = log_segment_write_indexes(seg, part->dir)) != 0)
				goto index_err;
			log_index_unload(&seg->oidx);
			log_index_unload(&seg->tidx);
		}
	}

	for (int i = 0; i < part->nsegs - 1; i++)
		if (part->segs[i]->synced)
			log_segment_cache_file(part->segs[i]);
	struct log_segment *active = part->segs[part->nsegs - 1];
	/* The active segment's index files are opened per write from now on. */
	file_ref_put(active->idx_file);
	file_ref_put(active->tidx_file);
	active->idx_file = active->tidx_file = NULL;
	atomic_store(&part->end_offset, active->end_offset);
	atomic_store(&part->start_offset, part->segs[0]->base_offset);
	int64_t flushed = have_cp ? cp.offset : part->segs[0]->base_offset;
	if (flushed > active->end_offset) {
		flushed = active->end_offset;
		*repaired = true; /* the recovery point must come down too */
	}
	if (flushed < part->segs[0]->base_offset)
		flushed = part->segs[0]->base_offset;
	atomic_store(&part->flushed_offset, flushed);
	log_debug(LOG_MODULE, "%s: opened %d segment(s), offsets %" PRId64 "..%" PRId64
		 ", recovery point %" PRId64, part->dir, part->nsegs, part->segs[0]->base_offset,
		 active->end_offset, flushed);
	rc = 0;
	goto out_buf;

index_err:
	err_printf(errmsg, "recovery: writing indexes in %s: %s", part->dir, strerror(-rc));
out_buf:
	free(buf);
out:
	free(logs.v);
	free(idx.v);
	return rc;
}
