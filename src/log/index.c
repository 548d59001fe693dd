/* Sparse offset and time indexes, in Kafka's file formats:
 *   .index      8-byte entries: offset - base (u32 BE), file position (u32 BE)
 *   .timeindex 12-byte entries: timestamp (i64 BE), offset - base (u32 BE)
 *
 * Entries are kept in memory exactly as on disk, so the one binary search
 * works on the active segment's heap array and on a sealed segment's mmap.
 * Appending an entry is an amortized array push; the file is written in bulk
 * (flush, roll, close), never once per batch. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "log/log_int.h"

void log_index_init(struct log_index *idx, unsigned entry_size)
{
	memset(idx, 0, sizeof(*idx));
	idx->entry_size = entry_size;
}

void log_index_unload(struct log_index *idx)
{
	if (idx->mapped)
		munmap(idx->data, idx->map_len);
	else
		free(idx->data);
	idx->data = NULL;
	idx->count = idx->cap = idx->written = idx->map_len = 0;
	idx->mapped = false;
	idx->loaded = false;
}

void log_index_fini(struct log_index *idx)
{
	log_index_unload(idx);
}

void log_index_truncate(struct log_index *idx, size_t count)
{
	if (count < idx->count)
		idx->count = count;
	if (idx->written > idx->count)
		idx->written = idx->count;
}

/* Turns a mapped or unloaded index into a heap one (for appending). */
static void log_index_to_heap(struct log_index *idx)
{
	if (idx->mapped) {
		size_t bytes = idx->count * idx->entry_size;
		uint8_t *copy = xmalloc(bytes ? bytes : 1);
		memcpy(copy, idx->data, bytes);
		munmap(idx->data, idx->map_len);
		idx->data = copy;
		idx->cap = idx->count;
		idx->mapped = false;
		idx->map_len = 0;
	}
	idx->loaded = true;
}

static uint8_t *log_index_slot(struct log_index *idx)
{
	if (!idx->loaded || idx->mapped)
		log_index_to_heap(idx);
	if (idx->count == idx->cap) {
		idx->cap = idx->cap ? idx->cap * 2 : 64;
		idx->data = xrealloc(idx->data, idx->cap * idx->entry_size);
	}
	return idx->data + idx->count++ * idx->entry_size;
}

void log_offset_index_push(struct log_index *idx, uint32_t rel, uint32_t pos)
{
	uint8_t *e = log_index_slot(idx);
	log_put_be32(e, rel);
	log_put_be32(e + 4, pos);
}

void log_time_index_push(struct log_index *idx, int64_t ts, uint32_t rel)
{
	uint8_t *e = log_index_slot(idx);
	log_put_be64(e, (uint64_t)ts);
	log_put_be32(e + 8, rel);
}

ssize_t log_offset_index_floor(const struct log_index *idx, uint32_t rel)
{
	ssize_t lo = 0, hi = (ssize_t)idx->count - 1, found = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (log_offset_index_rel(idx, (size_t)mid) <= rel) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

ssize_t log_offset_index_floor_pos(const struct log_index *idx, uint32_t pos)
{
	ssize_t lo = 0, hi = (ssize_t)idx->count - 1, found = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (log_offset_index_pos(idx, (size_t)mid) <= pos) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

ssize_t log_time_index_below(const struct log_index *idx, int64_t ts)
{
	ssize_t lo = 0, hi = (ssize_t)idx->count - 1, found = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (log_time_index_ts(idx, (size_t)mid) < ts) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

int log_index_write(struct log_index *idx, int fd)
{
	if (!idx->loaded || idx->written >= idx->count)
		return 0;
	size_t es = idx->entry_size;
	int rc = log_pwrite_all(fd, idx->data + idx->written * es, (idx->count - idx->written) * es,
			    (off_t)(idx->written * es));
	if (rc == 0)
		idx->written = idx->count;
	return rc;
}

int log_index_rewrite(struct log_index *idx, int fd)
{
	size_t bytes = idx->loaded ? idx->count * idx->entry_size : 0;
	if (ftruncate(fd, (off_t)bytes) < 0)
		return -errno;
	idx->written = 0;
	if (!bytes)
		return 0;
	return log_index_write(idx, fd);
}

int log_index_read_file(struct log_index *idx, int fd)
{
	log_index_unload(idx);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	size_t n = (size_t)st.st_size / idx->entry_size;
	idx->loaded = true;
	if (!n)
		return 0;
	idx->data = xmalloc(n * idx->entry_size);
	idx->cap = n;
	size_t bytes = n * idx->entry_size, got = 0;
	while (got < bytes) {
		ssize_t r = pread(fd, idx->data + got, bytes - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	idx->count = idx->written = got / idx->entry_size;
	return 0;
}

int log_index_map(struct log_index *idx, const char *path)
{
	log_index_unload(idx);
	idx->loaded = true;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
	} else {
		size_t n = (size_t)st.st_size / idx->entry_size;
		if (n) {
			void *map = mmap(NULL, n * idx->entry_size, PROT_READ, MAP_SHARED, fd, 0);
			if (map == MAP_FAILED) {
				rc = -errno;
			} else {
				idx->data = map;
				idx->map_len = n * idx->entry_size;
				idx->mapped = true;
				idx->count = idx->written = n;
			}
		}
	}
	close(fd);
	return rc;
}
