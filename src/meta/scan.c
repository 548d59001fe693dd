/* Whole-topic reads for start-up replays; see scan.h. */
#include "meta/scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "log/partition.h"
#include "meta/topics.h"
#include "proto/batch.h"

static int pread_full(int fd, uint8_t *buf, size_t len, int64_t pos)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)(pos + (int64_t)got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

static int partition_scan(const struct meta_topic *topic, int32_t p, int32_t chunk_bytes, meta_scan_fn fn,
			  void *arg, char errmsg[ERRMSG_SIZE])
{
	struct log_partition *part = topic->partitions[p];
	int64_t off = log_partition_start_offset(part);
	int64_t end = log_partition_end_offset(part);
	while (off < end) {
		struct log_read_result rr;
		int rc = log_partition_read(part, off, chunk_bytes, false, &rr);
		if (rc < 0) {
			err_printf(errmsg, "%s-%d: cannot read at offset %lld: %s", topic->name, p, (long long)off,
				   strerror(rc <= -1000 ? EIO : -rc));
			return rc;
		}
		if (rr.len <= 0) {
			file_ref_put(rr.file);
			break;
		}
		uint8_t *buf = xmalloc((size_t)rr.len);
		rc = pread_full(rr.file->fd, buf, (size_t)rr.len, rr.file_pos);
		file_ref_put(rr.file);
		if (rc < 0) {
			free(buf);
			err_printf(errmsg, "%s-%d: read failed: %s", topic->name, p, strerror(-rc));
			return rc;
		}
		int64_t next = batches_next_offset(buf, (size_t)rr.len);
		rc = fn(arg, p, buf, (size_t)rr.len);
		free(buf);
		if (rc == -SAMSA_ECORRUPT)
			err_printf(errmsg, "%s-%d: a record in the batches from offset %lld does not parse", topic->name,
				   p, (long long)off);
		if (rc)
			return rc;
		if (next <= off)
			break;
		off = next;
	}
	return 0;
}

int meta_topic_scan(const struct meta_topic *topic, int32_t chunk_bytes, meta_scan_fn fn, void *arg,
		    char errmsg[ERRMSG_SIZE])
{
	for (int32_t p = 0; p < topic->partition_count; p++) {
		int rc = partition_scan(topic, p, chunk_bytes, fn, arg, errmsg);
		if (rc)
			return rc;
	}
	return 0;
}
