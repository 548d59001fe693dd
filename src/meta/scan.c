/* Whole-partition reads for start-up replays; see scan.h. */
#include "meta/scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "log/partition.h"
#include "proto/records.h"

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

/* The offset after the last whole batch in data[0..len), or -1 if none. */
static int64_t next_offset(const uint8_t *data, size_t len)
{
	int64_t next = -1;
	size_t pos = 0;
	while (pos + RECORDS_BATCH_HEADER_SIZE <= len) {
		struct records_batch_header hdr;
		records_header_parse(data + pos, &hdr);
		if (hdr.batch_length < 0 || pos + RECORDS_LOG_OVERHEAD + (size_t)hdr.batch_length > len)
			break;
		next = hdr.base_offset + hdr.last_offset_delta + 1;
		pos += RECORDS_LOG_OVERHEAD + (size_t)hdr.batch_length;
	}
	return next;
}

int meta_partition_scan(struct log_partition *part, int32_t chunk_bytes, meta_scan_fn fn, void *arg,
			const char *label, char errmsg[ERRMSG_SIZE])
{
	int64_t off = log_partition_start_offset(part);
	int64_t end = log_partition_end_offset(part);
	while (off < end) {
		struct log_read_result rr;
		int rc = log_partition_read(part, off, chunk_bytes, false, &rr);
		if (rc < 0) {
			err_printf(errmsg, "%s: cannot read at offset %lld: %s", label, (long long)off,
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
			err_printf(errmsg, "%s: read failed: %s", label, strerror(-rc));
			return rc;
		}
		int64_t next = next_offset(buf, (size_t)rr.len);
		rc = fn(arg, buf, (size_t)rr.len);
		free(buf);
		if (rc)
			return rc;
		if (next <= off)
			break;
		off = next;
	}
	return 0;
}
