/* The aborted-transactions index (partition.h): Kafka's <base>.txnindex
 * files, one per segment that holds abort markers, entries of 34 bytes
 * (version i16 0, producer id i64, first offset i64, last offset i64, last
 * stable offset i64), in marker order.
 *
 * Every entry is also kept in memory in its segment (aborts are rare), so
 * fetches collect them under part->mu without I/O. Writes happen under
 * append_mu: the entry is pwritten at its place in the file and then
 * published under mu. The file is opened on the first write to a segment
 * (creating it) and fdatasynced by the partition's next sync, which also
 * drops the descriptor once the segment is sealed and synced.
 *
 * At open, after recovery: each segment's file is read and cut at the first
 * entry that is malformed, out of order, outside its segment or past the
 * recovered end offset (the marker it describes was lost with the tail). The
 * layer above then truncates from where its own replay starts and adds those
 * aborts again, so each one is indexed exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

#define TXN_ENTRY_SIZE 34
#define TXN_INDEX_EXT "txnindex"
/* A sanity cap on a file read at open (about 2 million aborts per segment). */
#define TXN_INDEX_MAX_BYTES (64 << 20)


static void entry_encode(uint8_t *p, const struct log_aborted_txn *t)
{
	p[0] = 0; /* version */
	p[1] = 0;
	log_put_be64(p + 2, (uint64_t)t->producer_id);
	log_put_be64(p + 10, (uint64_t)t->first_offset);
	log_put_be64(p + 18, (uint64_t)t->last_offset);
	log_put_be64(p + 26, (uint64_t)t->last_stable_offset);
}

static bool entry_decode(const uint8_t *p, struct log_aborted_txn *t)
{
	if (p[0] != 0 || p[1] != 0)
		return false;
	t->producer_id = (int64_t)log_be64(p + 2);
	t->first_offset = (int64_t)log_be64(p + 10);
	t->last_offset = (int64_t)log_be64(p + 18);
	t->last_stable_offset = (int64_t)log_be64(p + 26);
	return t->producer_id >= 0 && t->first_offset >= 0 && t->first_offset <= t->last_offset;
}

/* Appends t to seg's in-memory list. mu held (readers index the array). */
static void seg_push(struct log_segment *seg, const struct log_aborted_txn *t)
{
	if (seg->naborted == seg->aborted_cap) {
		seg->aborted_cap = seg->aborted_cap ? seg->aborted_cap * 2 : 4;
		seg->aborted = xrealloc(seg->aborted, seg->aborted_cap * sizeof(*seg->aborted));
	}
	seg->aborted[seg->naborted++] = *t;
}

/* Opens seg's file for writing if it is not open (it stays open until the
 * sync that makes the write durable, log_partition_sync_internal). append_mu
 * held. */
static int seg_open_file(struct log_partition *part, struct log_segment *seg)
{
	if (seg->txn_file)
		return 0;
	char path[4096];
	log_segment_path(path, sizeof(path), part->dir, seg->base_offset, TXN_INDEX_EXT);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	seg->txn_file = file_ref_new(fd);
	if (!seg->naborted)
		part->dir_dirty = true; /* maybe a new directory entry */
	return 0;
}

/* The newest entry's last offset in the partition, or -1. mu or append_mu held. */
static int64_t newest_last_offset(struct log_partition *part)
{
	for (int i = part->nsegs - 1; i >= 0; i--) {
		struct log_segment *seg = part->segs[i];
		if (seg->naborted)
			return seg->aborted[seg->naborted - 1].last_offset;
	}
	return -1;
}

int log_partition_add_aborted(struct log_partition *part, const struct log_aborted_txn *t)
{
	pthread_mutex_lock(&part->append_mu);
	int rc = 0;
	int64_t end = atomic_load_explicit(&part->end_offset, memory_order_relaxed);
	if (t->last_offset >= end || t->last_offset < part->segs[0]->base_offset) {
		rc = -ERANGE;
		goto out;
	}
	if (t->last_offset <= newest_last_offset(part))
		goto out; /* already indexed */
	struct log_segment *seg = part->segs[log_partition_find_segment(part, t->last_offset)];
	if ((rc = seg_open_file(part, seg)) != 0)
		goto fail;
	uint8_t e[TXN_ENTRY_SIZE];
	entry_encode(e, t);
	rc = log_pwrite_all(seg->txn_file->fd, e, sizeof(e), (off_t)(seg->naborted * TXN_ENTRY_SIZE));
	if (rc)
		goto fail;
	pthread_mutex_lock(&part->mu);
	seg_push(seg, t);
	pthread_mutex_unlock(&part->mu);
	seg->txn_dirty = true;
	goto out;
fail:
	/* A lost entry would show aborted records to read_committed readers:
	 * stop appends like any failed write (a restart replays the abort). */
	part->io_error = rc;
	log_error(LOG_MODULE, "%s: writing the transaction index of segment %020" PRId64 ": %s; "
		  "partition is read-only until restart", part->dir, seg->base_offset, strerror(-rc));
out:
	pthread_mutex_unlock(&part->append_mu);
	return rc;
}

int log_partition_truncate_aborted(struct log_partition *part, int64_t offset)
{
	int rc = 0;
	pthread_mutex_lock(&part->append_mu);
	for (int i = part->nsegs - 1; i >= 0 && !rc; i--) {
		struct log_segment *seg = part->segs[i];
		size_t keep = seg->naborted;
		while (keep && seg->aborted[keep - 1].last_offset >= offset)
			keep--;
		if (keep == seg->naborted) {
			if (keep)
				break; /* everything before is older still */
			continue;
		}
		rc = seg_open_file(part, seg);
		if (!rc && ftruncate(seg->txn_file->fd, (off_t)(keep * TXN_ENTRY_SIZE)) < 0)
			rc = -errno;
		if (rc) {
			log_error(LOG_MODULE, "%s: truncating the transaction index of segment %020" PRId64
				  ": %s", part->dir, seg->base_offset, strerror(-rc));
			break;
		}
		pthread_mutex_lock(&part->mu);
		seg->naborted = keep;
		pthread_mutex_unlock(&part->mu);
		seg->txn_dirty = true;
	}
	pthread_mutex_unlock(&part->append_mu);
	return rc;
}

struct file_ref **log_txn_index_dirty(struct log_partition *part, int *n)
{
	struct file_ref **files = NULL;
	*n = 0;
	for (int i = 0; i < part->nsegs; i++) {
		struct log_segment *seg = part->segs[i];
		if (!seg->txn_dirty || !seg->txn_file)
			continue;
		if (!files)
			files = xmalloc((size_t)part->nsegs * sizeof(*files));
		files[(*n)++] = file_ref_get(seg->txn_file);
		seg->txn_dirty = false;
	}
	return files;
}

int log_partition_sync_aborted(struct log_partition *part)
{
	int n, rc = 0;
	pthread_mutex_lock(&part->append_mu);
	struct file_ref **files = log_txn_index_dirty(part, &n);
	pthread_mutex_unlock(&part->append_mu);
	for (int i = 0; i < n; i++) {
		if (!rc && fdatasync(files[i]->fd) < 0)
			rc = -errno;
		file_ref_put(files[i]);
	}
	free(files);
	if (rc) {
		pthread_mutex_lock(&part->append_mu);
		part->io_error = rc; /* as for any failed sync: the pages may be gone */
		pthread_mutex_unlock(&part->append_mu);
		log_error(LOG_MODULE, "%s: syncing the transaction index: %s; partition is read-only "
			  "until restart", part->dir, strerror(-rc));
	}
	return rc;
}

int log_partition_collect_aborted(struct log_partition *part, int64_t from, int64_t to,
				  log_aborted_fn fn, void *arg)
{
	int n = 0;
	pthread_mutex_lock(&part->mu);
	for (int i = log_partition_find_segment(part, from); i < part->nsegs; i++) {
		struct log_segment *seg = part->segs[i];
		for (size_t k = 0; k < seg->naborted; k++) {
			const struct log_aborted_txn *t = &seg->aborted[k];
			if (t->last_offset >= from && t->first_offset < to) {
				fn(arg, t);
				n++;
			}
			if (t->last_stable_offset >= to)
				goto done;
		}
	}
done:
	pthread_mutex_unlock(&part->mu);
	return n;
}

void log_txn_index_move(struct log_segment *dst, struct log_segment *src)
{
	dst->aborted = src->aborted;
	dst->naborted = src->naborted;
	dst->aborted_cap = src->aborted_cap;
	dst->txn_file = src->txn_file;
	dst->txn_dirty = src->txn_dirty;
	src->aborted = NULL;
	src->naborted = src->aborted_cap = 0;
	src->txn_file = NULL;
}

/* Reads seg's file, keeping the valid prefix; cuts the file when more
 * followed. */
static void seg_load(struct log_partition *part, struct log_segment *seg, int64_t end)
{
	char name[4096];
	log_segment_path(name, sizeof(name), part->dir, seg->base_offset, TXN_INDEX_EXT);
	int fd = open(name, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn(LOG_MODULE, "opening %s: %s", name, strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size > TXN_INDEX_MAX_BYTES) {
		log_warn(LOG_MODULE, "%s is unreadable or too large; ignoring it", name);
		close(fd);
		return;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = xmalloc(size ? size : 1);
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int64_t limit = seg->end_offset < end ? seg->end_offset : end;
	int64_t prev = -1;
	size_t n = got / TXN_ENTRY_SIZE;
	for (size_t k = 0; k < n; k++) {
		struct log_aborted_txn t;
		if (!entry_decode(buf + k * TXN_ENTRY_SIZE, &t) || t.last_offset <= prev ||
		    t.last_offset < seg->base_offset || t.last_offset >= limit)
			break;
		seg_push(seg, &t);
		prev = t.last_offset;
	}
	free(buf);
	size_t keep = seg->naborted * TXN_ENTRY_SIZE;
	if (keep == size) {
		close(fd);
		return;
	}
	log_warn(LOG_MODULE, "recovery: %s: keeping %zu of %zu bytes (entries past the log end "
		 "or damaged)", name, keep, size);
	if (ftruncate(fd, (off_t)keep) < 0)
		log_warn(LOG_MODULE, "truncating %s: %s", name, strerror(errno));
	seg->txn_file = file_ref_new(fd);
	seg->txn_dirty = true;
}

void log_txn_index_load(struct log_partition *part)
{
	int64_t end = atomic_load(&part->end_offset);
	for (int i = 0; i < part->nsegs; i++)
		seg_load(part, part->segs[i], end);
}
