/* The read side of a partition: fetch ranges, offsets by timestamp, and the
 * largest timestamp.
 *
 * A read holds the partition mutex only to pick the segment, search its
 * in-memory or mmapped index and take a file reference plus the segment's
 * visible size. The batch headers between the index hit and the wanted
 * offset are then pread without the lock: bytes below that size never change,
 * so a concurrent append (which only writes past it) cannot disturb the scan,
 * and a reader never sees a batch whose write had not finished. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

#define READ_SCAN_BUF 8192

/* What a reader took from a segment under the lock. */
struct log_segment_view {
	struct file_ref *file;
	int64_t base_offset;
	int64_t size;
	int64_t start_pos; /* index hint: a batch start at or before the wanted batch */
	int64_t cand_pos;  /* maybe the wanted batch itself (see log_partition_read), or -1 */
	int64_t end_hint;  /* a batch start <= start_pos + max_bytes, or -1 */
	int64_t end_offset; /* the segment's end offset (with size) */
	int64_t safe_pos;  /* batches wholly before it end below the read's max offset */
};

static int scan_corrupt(struct log_partition *part, struct log_segment_view *v, int64_t pos)
{
	log_error(LOG_MODULE, "%s: segment %020" PRId64 " has an unreadable batch at %" PRId64,
		  part->dir, v->base_offset, pos);
	return -SAMSA_ECORRUPT;
}

static int64_t batch_total(const uint8_t *h)
{
	return (int64_t)(int32_t)log_be32(h + LOG_BATCH_LENGTH_AT) + RECORDS_LOG_OVERHEAD;
}

static int64_t batch_last_offset(const uint8_t *h)
{
	return (int64_t)log_be64(h) + (int32_t)log_be32(h + LOG_BATCH_LAST_DELTA_AT);
}

int log_partition_read(struct log_partition *part, int64_t offset, int32_t max_bytes,
		       bool strict_max, struct log_read_result *res)
{
	return log_partition_read_upto(part, offset, max_bytes, strict_max, INT64_MAX, res);
}

int log_partition_read_upto(struct log_partition *part, int64_t offset, int32_t max_bytes,
			    bool strict_max, int64_t max_offset, struct log_read_result *res)
{
	memset(res, 0, sizeof(*res));
	if (max_bytes < 0)
		max_bytes = 0;
	struct log_segment_view v = {.cand_pos = -1, .end_hint = -1};

	pthread_mutex_lock(&part->mu);
	int64_t start = atomic_load_explicit(&part->start_offset, memory_order_relaxed);
	int64_t end = atomic_load_explicit(&part->end_offset, memory_order_relaxed);
	res->log_start_offset = start;
	res->high_watermark = end;
	if (offset < start || offset > end) {
		pthread_mutex_unlock(&part->mu);
		return -SAMSA_ERANGE;
	}
	if (offset == end || offset >= max_offset) {
		pthread_mutex_unlock(&part->mu);
		return 0;
	}
	int i = log_partition_find_segment(part, offset);
	while (i < part->nsegs && offset >= part->segs[i]->end_offset)
		i++; /* an empty segment or a gap */
	if (i == part->nsegs) {
		pthread_mutex_unlock(&part->mu);
		return 0;
	}
	struct log_segment *seg = part->segs[i];
	v.file = log_segment_file(seg, part->dir);
	if (!v.file) {
		int err = -errno;
		pthread_mutex_unlock(&part->mu);
		return err;
	}
	v.base_offset = seg->base_offset;
	v.size = seg->size;
	v.end_offset = seg->end_offset;
	log_segment_load_indexes(seg, part->dir);
	v.start_pos = log_segment_lookup(seg, part->dir, offset);
	/* A batch start at or before the batch holding max_offset: everything
	 * before it ends below max_offset; past it each header is checked. */
	v.safe_pos = max_offset < seg->end_offset ? log_segment_lookup(seg, part->dir, max_offset) : v.size;
	/* Index entries are keyed by a batch's last offset, so the floor entry
	 * is a batch before the wanted one, and reaching the wanted one means
	 * reading that batch's header first. The next entry is the first batch
	 * ending at or past offset; when it starts at or below offset it is the
	 * wanted batch, which its own header tells. With batches larger than
	 * index.interval.bytes every batch has an entry, so a consumer reading
	 * on where its last fetch stopped saves a pread; tried only when the
	 * scan from the floor entry would need another read to get there. */
	if (seg->oidx.loaded && offset > seg->base_offset) {
		int64_t rel = offset - seg->base_offset;
		if (rel > UINT32_MAX)
			rel = UINT32_MAX;
		ssize_t k = log_offset_index_floor(&seg->oidx, (uint32_t)rel);
		if (k < 0 || log_offset_index_rel(&seg->oidx, (size_t)k) < (uint32_t)rel) {
			size_t c = (size_t)(k + 1);
			int64_t cand = -1;
			if (c < seg->oidx.count)
				cand = log_offset_index_pos(&seg->oidx, c);
			if (cand < v.size && cand - v.start_pos > READ_SCAN_BUF - RECORDS_BATCH_HEADER_SIZE)
				v.cand_pos = cand;
		}
	}
	int64_t target = (v.cand_pos >= 0 ? v.cand_pos : v.start_pos) + max_bytes;
	if (target > UINT32_MAX)
		target = UINT32_MAX;
	if (seg->oidx.loaded) {
		ssize_t k = log_offset_index_floor_pos(&seg->oidx, (uint32_t)target);
		if (k >= 0) {
			int64_t hint = log_offset_index_pos(&seg->oidx, (size_t)k);
			if (hint > v.start_pos && hint < v.size)
				v.end_hint = hint;
		}
	}
	pthread_mutex_unlock(&part->mu);

	uint8_t buf[READ_SCAN_BUF];
	struct log_scan scan;
	log_scan_init(&scan, v.file->fd, v.size, buf, sizeof(buf));
	int rc = 0;
	int64_t pos = v.start_pos, first_total = 0;
	if (v.cand_pos >= 0) {
		const uint8_t *h = log_scan_get(&scan, v.cand_pos, RECORDS_BATCH_HEADER_SIZE, &rc);
		if (h && (int64_t)log_be64(h) <= offset && batch_last_offset(h) >= offset &&
		    batch_total(h) >= RECORDS_BATCH_HEADER_SIZE && v.cand_pos + batch_total(h) <= v.size) {
			pos = v.cand_pos;
			first_total = batch_total(h);
		}
		rc = 0; /* otherwise the scan below finds it (or the error) */
	}
	/* Find the batch holding offset (the first whose last offset >= it). */
	while (!first_total) {
		if (pos >= v.size) {
			/* Not in this segment after all (cannot happen with a
			 * consistent end offset): nothing to return. */
			goto done;
		}
		const uint8_t *h = log_scan_get(&scan, pos, RECORDS_BATCH_HEADER_SIZE, &rc);
		if (!h) {
			rc = rc == -SAMSA_ECORRUPT ? scan_corrupt(part, &v, pos) : rc;
			goto done;
		}
		int64_t total = batch_total(h);
		if (total < RECORDS_BATCH_HEADER_SIZE || pos + total > v.size) {
			rc = scan_corrupt(part, &v, pos);
			goto done;
		}
		if (batch_last_offset(h) >= offset) {
			first_total = total;
			break;
		}
		pos += total;
	}
	int64_t begin = pos;
	const uint8_t *first = log_scan_get(&scan, begin, RECORDS_BATCH_HEADER_SIZE, &rc);
	if (!first) {
		rc = rc == -SAMSA_ECORRUPT ? scan_corrupt(part, &v, begin) : rc;
		goto done;
	}
	if (batch_last_offset(first) >= max_offset)
		goto done;
	if (first_total > max_bytes) {
		if (strict_max)
			goto done;
		res->len = (int32_t)first_total;
		res->next_offset = batch_last_offset(first) + 1;
	} else {
		/* Whole batches up to max_bytes; jump to the index hint when it is
		 * past the first batch (everything before it fits), but not past
		 * safe_pos. */
		int64_t stop = begin + first_total;
		res->next_offset = batch_last_offset(first) + 1;
		if (v.safe_pos - begin <= max_bytes && v.safe_pos > stop)
			stop = v.safe_pos; /* up to there it all fits: whole batches */
		else if (v.end_hint > stop && v.end_hint <= v.safe_pos && v.end_hint - begin <= max_bytes)
			stop = v.end_hint;
		while (stop < v.size) {
			const uint8_t *h = log_scan_get(&scan, stop, RECORDS_BATCH_HEADER_SIZE, &rc);
			if (!h) {
				rc = rc == -SAMSA_ECORRUPT ? scan_corrupt(part, &v, stop) : rc;
				goto done;
			}
			int64_t total = batch_total(h);
			if (total < RECORDS_BATCH_HEADER_SIZE || stop + total > v.size) {
				rc = scan_corrupt(part, &v, stop);
				goto done;
			}
			if (stop + total - begin > max_bytes || batch_last_offset(h) >= max_offset) {
				res->next_offset = (int64_t)log_be64(h);
				break;
			}
			stop += total;
		}
		if (stop == v.size)
			res->next_offset = v.end_offset;
		res->len = (int32_t)(stop - begin);
	}
	res->file = v.file;
	res->file_pos = begin;
	v.file = NULL;
done:
	file_ref_put(v.file);
	if (rc)
		res->len = 0;
	return rc;
}

/* ------------------------------------------------------------- timestamps */

/* Within one uncompressed CreateTime batch (whole, in memory), the offset and
 * timestamp of the first record with timestamp >= ts. Returns false if the
 * records cannot be walked or none qualifies. */
static bool batch_find_record(const uint8_t *b, int64_t total, int64_t ts, int64_t *offset,
			      int64_t *timestamp)
{
	int64_t base = (int64_t)log_be64(b);
	int64_t base_ts = (int64_t)log_be64(b + LOG_BATCH_BASE_TS_AT);
	int32_t count = (int32_t)log_be32(b + 57);
	const uint8_t *p = b + RECORDS_BATCH_HEADER_SIZE, *end = b + total;
	for (int32_t i = 0; i < count; i++) {
		int64_t len, ts_delta, off_delta;
		size_t k = records_read_varlong(p, end, 5, &len);
		if (!k || len <= 0 || end - (p + k) < len)
			return false;
		p += k;
		const uint8_t *rend = p + len;
		const uint8_t *q = p + 1;
		if (q >= rend || !(k = records_read_varlong(q, rend, 10, &ts_delta)))
			return false;
		q += k;
		if (!(k = records_read_varlong(q, rend, 5, &off_delta)))
			return false;
		if (base_ts + ts_delta >= ts) {
			*offset = base + off_delta;
			*timestamp = base_ts + ts_delta;
			return true;
		}
		p = rend;
	}
	return false;
}

/* Scans seg from pos for the first batch with maxTimestamp >= ts and resolves
 * the record. Returns 1 found, 0 not in this segment, or a negative error. */
static int segment_find_time(struct log_partition *part, struct log_segment_view *v, int64_t ts,
			     int64_t *offset, int64_t *timestamp)
{
	uint8_t buf[READ_SCAN_BUF];
	struct log_scan scan;
	log_scan_init(&scan, v->file->fd, v->size, buf, sizeof(buf));
	int64_t pos = v->start_pos;
	int rc = 0;
	while (pos < v->size) {
		const uint8_t *h = log_scan_get(&scan, pos, RECORDS_BATCH_HEADER_SIZE, &rc);
		if (!h)
			return rc == -SAMSA_ECORRUPT ? scan_corrupt(part, v, pos) : rc;
		int64_t total = batch_total(h);
		if (total < RECORDS_BATCH_HEADER_SIZE || pos + total > v->size)
			return scan_corrupt(part, v, pos);
		int64_t max_ts = (int64_t)log_be64(h + LOG_BATCH_MAX_TS_AT);
		if (max_ts < ts) {
			pos += total;
			continue;
		}
		*offset = (int64_t)log_be64(h);
		*timestamp = max_ts;
		uint16_t attr = (uint16_t)(h[LOG_BATCH_ATTR_AT] << 8 | h[LOG_BATCH_ATTR_AT + 1]);
		if ((attr & RECORDS_ATTR_COMPRESSION_MASK) || (attr & RECORDS_ATTR_TIMESTAMP_TYPE))
			return 1; /* LogAppendTime: every record has maxTimestamp */
		uint8_t *whole = xmalloc((size_t)total);
		size_t got = 0;
		while ((int64_t)got < total) {
			ssize_t r = pread(v->file->fd, whole + got, (size_t)total - got,
					  (off_t)(pos + (int64_t)got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if ((int64_t)got == total) {
			int64_t o, t;
			if (batch_find_record(whole, total, ts, &o, &t)) {
				*offset = o;
				*timestamp = t;
			}
		}
		free(whole);
		return 1;
	}
	return 0;
}

/* Takes a view of segment i positioned for timestamp ts (under part->mu).
 * 0 or -errno (its file cannot be opened). */
static int segment_view_for_time(struct log_partition *part, int i, int64_t ts,
				 struct log_segment_view *v)
{
	struct log_segment *seg = part->segs[i];
	v->file = log_segment_file(seg, part->dir);
	if (!v->file)
		return -errno;
	v->base_offset = seg->base_offset;
	v->size = seg->size;
	v->start_pos = 0;
	v->end_hint = -1;
	log_segment_load_indexes(seg, part->dir);
	ssize_t k = log_time_index_below(&seg->tidx, ts);
	if (k >= 0) {
		int64_t off = seg->base_offset + log_time_index_rel(&seg->tidx, (size_t)k);
		v->start_pos = log_segment_lookup(seg, part->dir, off);
	}
	return 0;
}

int log_partition_offset_for_time(struct log_partition *part, int64_t ts, int64_t *offset,
				  int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	for (int64_t from = INT64_MIN;;) {
		struct log_segment_view v = {0};
		pthread_mutex_lock(&part->mu);
		int i = 0;
		if (from != INT64_MIN) {
			i = log_partition_find_segment(part, from);
			if (part->segs[i]->base_offset < from)
				i++;
		}
		while (i < part->nsegs && part->segs[i]->max_ts < ts)
			i++;
		if (i == part->nsegs) {
			pthread_mutex_unlock(&part->mu);
			return 0;
		}
		int rc = segment_view_for_time(part, i, ts, &v);
		int64_t next = i + 1 < part->nsegs ? part->segs[i + 1]->base_offset : INT64_MAX;
		pthread_mutex_unlock(&part->mu);
		if (rc)
			return rc;

		rc = segment_find_time(part, &v, ts, offset, timestamp);
		file_ref_put(v.file);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		if (next == INT64_MAX)
			return 0;
		from = next;
	}
}

void log_partition_max_timestamp(struct log_partition *part, int64_t *timestamp, int64_t *offset)
{
	*timestamp = -1;
	*offset = -1;
	pthread_mutex_lock(&part->mu);
	int64_t best = -1;
	for (int i = 0; i < part->nsegs; i++)
		if (part->segs[i]->max_ts > best)
			best = part->segs[i]->max_ts;
	pthread_mutex_unlock(&part->mu);
	if (best < 0)
		return;
	int64_t off, ts;
	if (log_partition_offset_for_time(part, best, &off, &ts) == 0 && off >= 0) {
		*timestamp = ts;
		*offset = off;
	}
}
