/* Log compaction: the latest record per key survives in sealed segments.
 *
 * One pass over a partition (log_partition_clean):
 *  1. Under the locks, take the sealed segments that are synced (so they are
 *     below the recovery point and trusted at restart), stopping at the first
 *     one younger than min.compaction.lag.ms or reaching the first unstable
 *     offset (an open transaction: the observer's first_unstable_offset).
 *  2. The dirty section runs from the cleaner checkpoint to their end; when
 *     dirty bytes / all their bytes is below min.cleanable.dirty.ratio, stop.
 *  3. Build key -> latest offset over the dirty section (full keys, no hash
 *     collisions), skipping aborted transactional batches (the aborted
 *     transactions index of the range tells which).
 *  4. Rewrite each segment that loses records: a record is kept unless its key
 *     has a later offset, it has no key, it is a tombstone whose timestamp is
 *     older than now - delete.retention.ms, or its batch was aborted. Control
 *     batches are kept as is.
 *     Each contiguous run of kept records of a batch becomes one batch (so
 *     recordCount == lastOffsetDelta + 1 holds, as recovery checks), with the
 *     batch's producer id, epoch, attributes and leader epoch, baseSequence
 *     moved by the run's start, records re-encoded with their offset delta
 *     rebased and recompressed with the same codec.
 *  5. Swap: <base>.log.cleaned written and fsynced; under append_mu the old
 *     index files are unlinked, the .cleaned file renamed over the .log, the
 *     indexes rebuilt from it and written, the segment struct replaced under
 *     mu; the directory is fsynced. A crash in between leaves either file with
 *     no index (recovery rebuilds it) and maybe a .cleaned file (removed at the
 *     next open). Readers holding the old file keep reading the old inode.
 *
 * A cleaned segment may end before the next one's base (its last records were
 * removed): its end_offset is its last stored offset + 1, so reads skip to the
 * next segment. At open (log_cleaner_after_recovery) the end offsets are set
 * again from the files, for partitions with a cleaner checkpoint file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/cleaner.h"
#include "log/log_int.h"
#include "proto/compression.h"

#define CLEANER_CHECKPOINT_FILE "cleaner-offset-checkpoint"
#define CLEANED_SUFFIX ".cleaned"
#define CLEANER_MAX_RECORDS_BYTES (256u << 20)

void log_clean_config_defaults(struct log_clean_config *cc)
{
	cc->delete_retention_ms = 86400000;
	cc->min_compaction_lag_ms = 0;
	cc->min_cleanable_ratio = 0.5;
}

/* ------------------------------------------------------------ buffers */

struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static void ob_reserve(struct obuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void ob_put(struct obuf *b, const void *p, size_t n)
{
	ob_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* ------------------------------------------------------------ key map */

struct kent {
	uint64_t h;
	int64_t off;
	size_t koff;
	int32_t klen;
	bool used;
};

struct kmap {
	struct kent *e;
	size_t cap, n;
	struct obuf keys;
};

static uint64_t key_hash(const uint8_t *k, int32_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (int32_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct kent *kmap_find(struct kmap *m, const uint8_t *k, int32_t n, uint64_t h)
{
	size_t i = h & (m->cap - 1);
	for (;;) {
		struct kent *e = &m->e[i];
		if (!e->used || (e->h == h && e->klen == n && !memcmp(m->keys.p + e->koff, k, (size_t)n)))
			return e;
		i = (i + 1) & (m->cap - 1);
	}
}

static void kmap_put(struct kmap *m, const uint8_t *k, int32_t n, int64_t off)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct kent *old = m->e;
		size_t ocap = m->cap;
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->e = xcalloc(m->cap, sizeof(*m->e));
		for (size_t i = 0; i < ocap; i++) {
			if (!old[i].used)
				continue;
			size_t j = old[i].h & (m->cap - 1);
			while (m->e[j].used)
				j = (j + 1) & (m->cap - 1);
			m->e[j] = old[i];
		}
		free(old);
	}
	uint64_t h = key_hash(k, n);
	struct kent *e = kmap_find(m, k, n, h);
	if (!e->used) {
		e->used = true;
		e->h = h;
		e->klen = n;
		e->koff = m->keys.len;
		ob_put(&m->keys, k, (size_t)n);
		e->off = off;
		m->n++;
	} else if (off > e->off) {
		e->off = off;
	}
}

/* Latest offset of key k, or -1. */
static int64_t kmap_get(struct kmap *m, const uint8_t *k, int32_t n)
{
	if (!m->cap)
		return -1;
	struct kent *e = kmap_find(m, k, n, key_hash(k, n));
	return e->used ? e->off : -1;
}

static void kmap_free(struct kmap *m)
{
	free(m->e);
	free(m->keys.p);
}

/* ------------------------------------------------------------ records */

struct rec {
	const uint8_t *body, *body_end; /* after the length varint */
	const uint8_t *ts_raw;          /* timestampDelta varint bytes */
	size_t ts_raw_len;
	const uint8_t *tail;            /* keyLength .. end of record */
	int64_t ts_delta;
	int64_t off_delta;
	const uint8_t *key;
	int64_t key_len;                /* -1: null */
	bool null_value;
};

/* Parses the record at *p; advances *p. false if malformed. */
static bool rec_parse(const uint8_t **pp, const uint8_t *end, struct rec *r)
{
	const uint8_t *p = *pp;
	int64_t len, v;
	size_t k = records_read_varlong(p, end, 5, &len);
	if (!k || len < 1 || end - (p + k) < len)
		return false;
	p += k;
	r->body = p;
	r->body_end = p + len;
	const uint8_t *q = p + 1, *e = r->body_end;
	if (!(k = records_read_varlong(q, e, 10, &r->ts_delta)))
		return false;
	r->ts_raw = q;
	r->ts_raw_len = k;
	q += k;
	if (!(k = records_read_varlong(q, e, 5, &r->off_delta)))
		return false;
	q += k;
	r->tail = q;
	if (!(k = records_read_varlong(q, e, 5, &r->key_len)))
		return false;
	q += k;
	r->key = q;
	if (r->key_len > 0) {
		if (e - q < r->key_len)
			return false;
		q += r->key_len;
	}
	if (!(k = records_read_varlong(q, e, 5, &v)))
		return false;
	r->null_value = v < 0;
	*pp = r->body_end;
	return true;
}

/* The records section of batch b (total bytes), decompressed into *owned if
 * needed. 0 or -SAMSA_ECORRUPT. */
static int batch_records(const uint8_t *b, int64_t total, uint8_t **owned, const uint8_t **rp,
			 const uint8_t **rend)
{
	*owned = NULL;
	int codec = b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_COMPRESSION_MASK;
	const uint8_t *p = b + RECORDS_BATCH_HEADER_SIZE;
	size_t n = (size_t)(total - RECORDS_BATCH_HEADER_SIZE);
	if (codec == COMPRESSION_NONE) {
		*rp = p;
		*rend = p + n;
		return 0;
	}
	size_t out_len;
	char errmsg[ERRMSG_SIZE];
	int rc = compression_decompress(codec, p, n, CLEANER_MAX_RECORDS_BYTES, owned, &out_len, errmsg);
	if (rc)
		return -SAMSA_ECORRUPT;
	*rp = *owned;
	*rend = *owned + out_len;
	return 0;
}

/* ----------------------------------------------------------- segments */

struct seg_snap {
	struct log_segment *seg;
	struct file_ref *file;
	int64_t base, end, size;
};

/* Reads a segment's batches in order through a window of at least
 * CLEANER_READ_BUF bytes (grown for a larger batch), so memory stays bounded
 * whatever the segment size. */
#define CLEANER_READ_BUF (1u << 20)

struct seg_reader {
	int fd;
	int64_t size, pos;   /* file bytes to read; next batch */
	int64_t win_pos;     /* file position of buf[0] */
	size_t win_len, cap;
	uint8_t *buf;
};

static void seg_reader_init(struct seg_reader *r, const struct seg_snap *s)
{
	memset(r, 0, sizeof(*r));
	r->fd = s->file->fd;
	r->size = s->size;
}

static int seg_reader_fill(struct seg_reader *r, int64_t pos, size_t need)
{
	if (need > r->cap) {
		r->cap = need > CLEANER_READ_BUF ? need : CLEANER_READ_BUF;
		free(r->buf);
		r->buf = xmalloc(r->cap);
	}
	size_t want = r->cap;
	if ((int64_t)want > r->size - pos)
		want = (size_t)(r->size - pos);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(r->fd, r->buf + got, want - got, (off_t)(pos + (int64_t)got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->win_pos = pos;
	r->win_len = got;
	return got < need ? -SAMSA_ECORRUPT : 0;
}

/* The next whole batch: 1 with *b and *total set, 0 at the end, or an error. */
static int seg_reader_next(struct seg_reader *r, const uint8_t **b, int64_t *total)
{
	if (r->pos >= r->size)
		return 0;
	if (r->size - r->pos < RECORDS_BATCH_HEADER_SIZE)
		return -SAMSA_ECORRUPT;
	int rc;
	if (r->pos < r->win_pos || r->pos + RECORDS_BATCH_HEADER_SIZE > r->win_pos + (int64_t)r->win_len)
		if ((rc = seg_reader_fill(r, r->pos, RECORDS_BATCH_HEADER_SIZE)) != 0)
			return rc;
	const uint8_t *h = r->buf + (r->pos - r->win_pos);
	int64_t t = (int64_t)(int32_t)log_be32(h + LOG_BATCH_LENGTH_AT) + RECORDS_LOG_OVERHEAD;
	if (t < RECORDS_BATCH_HEADER_SIZE || r->pos + t > r->size)
		return -SAMSA_ECORRUPT;
	if (r->pos + t > r->win_pos + (int64_t)r->win_len)
		if ((rc = seg_reader_fill(r, r->pos, (size_t)t)) != 0)
			return rc;
	*b = r->buf + (r->pos - r->win_pos);
	*total = t;
	r->pos += t;
	return 1;
}

static void seg_reader_fini(struct seg_reader *r)
{
	free(r->buf);
}

/* Walks the batches of a segment image; calls nothing, just checks bounds. */
static bool batch_at(const uint8_t *img, int64_t size, int64_t pos, int64_t *total)
{
	if (size - pos < RECORDS_BATCH_HEADER_SIZE)
		return false;
	int64_t t = (int64_t)(int32_t)log_be32(img + pos + LOG_BATCH_LENGTH_AT) + RECORDS_LOG_OVERHEAD;
	if (t < RECORDS_BATCH_HEADER_SIZE || pos + t > size)
		return false;
	*total = t;
	return true;
}

/* ------------------------------------------------- aborted transactions */

/* The aborted transactions of the range being cleaned, by producer id then
 * first offset: a transactional batch is aborted when its producer's latest
 * transaction starting at or before it ends (with its abort marker) at or
 * after it. */
struct aborted_set {
	struct log_aborted_txn *v;
	size_t n, cap;
};

static void aborted_collect(void *arg, const struct log_aborted_txn *t)
{
	struct aborted_set *a = arg;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *t;
}

static int aborted_cmp(const void *x, const void *y)
{
	const struct log_aborted_txn *a = x, *b = y;
	if (a->producer_id != b->producer_id)
		return a->producer_id < b->producer_id ? -1 : 1;
	return a->first_offset < b->first_offset ? -1 : a->first_offset > b->first_offset;
}

static bool batch_aborted(const struct aborted_set *a, const uint8_t *b)
{
	if (!a->n || !(b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_TRANSACTIONAL))
		return false;
	int64_t pid = (int64_t)log_be64(b + 43), base = (int64_t)log_be64(b);
	/* The last entry <= (pid, base). */
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct log_aborted_txn *t = &a->v[mid];
		if (t->producer_id < pid || (t->producer_id == pid && t->first_offset <= base))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	const struct log_aborted_txn *t = &a->v[lo - 1];
	return t->producer_id == pid && base <= t->last_offset;
}

static int map_segment(struct kmap *m, const struct aborted_set *aborted, const struct seg_snap *snap,
		       int64_t *nrec)
{
	struct seg_reader rd;
	seg_reader_init(&rd, snap);
	const uint8_t *b;
	int64_t total;
	int rc;
	while ((rc = seg_reader_next(&rd, &b, &total)) == 1) {
		if ((b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_CONTROL) || batch_aborted(aborted, b))
			continue;
		int64_t base = (int64_t)log_be64(b);
		int32_t count = (int32_t)log_be32(b + 57);
		uint8_t *owned;
		const uint8_t *p, *end;
		if (batch_records(b, total, &owned, &p, &end)) {
			rc = -SAMSA_ECORRUPT;
			break;
		}
		for (int32_t i = 0; i < count; i++) {
			struct rec r;
			if (!rec_parse(&p, end, &r)) {
				rc = -SAMSA_ECORRUPT;
				break;
			}
			if (r.key_len >= 0)
				kmap_put(m, r.key, (int32_t)(r.key_len > 0 ? r.key_len : 0), base + r.off_delta);
			(*nrec)++;
		}
		free(owned);
		if (rc < 0)
			break;
	}
	seg_reader_fini(&rd);
	return rc < 0 ? rc : 0;
}

/* Appends one batch holding records recs[from..to) of the original batch b. */
static int emit_run(struct obuf *out, const uint8_t *b, const struct rec *recs, int from, int to)
{
	int64_t d = recs[from].off_delta;
	int64_t base_ts = (int64_t)log_be64(b + LOG_BATCH_BASE_TS_AT);
	int16_t attr = (int16_t)((b[LOG_BATCH_ATTR_AT] << 8) | b[LOG_BATCH_ATTR_AT + 1]);
	int codec = attr & RECORDS_ATTR_COMPRESSION_MASK;
	struct obuf raw = {0};
	int64_t max_ts = -1;
	for (int i = from; i < to; i++) {
		const struct rec *r = &recs[i];
		uint8_t tmp[16];
		size_t od = records_write_varlong(tmp, r->off_delta - d);
		size_t blen = 1 + r->ts_raw_len + od + (size_t)(r->body_end - r->tail);
		uint8_t lb[16];
		size_t ll = records_write_varlong(lb, (int64_t)blen);
		ob_put(&raw, lb, ll);
		ob_put(&raw, r->body, 1);
		ob_put(&raw, r->ts_raw, r->ts_raw_len);
		ob_put(&raw, tmp, od);
		ob_put(&raw, r->tail, (size_t)(r->body_end - r->tail));
		if (base_ts + r->ts_delta > max_ts)
			max_ts = base_ts + r->ts_delta;
	}
	if (attr & RECORDS_ATTR_TIMESTAMP_TYPE)
		max_ts = (int64_t)log_be64(b + LOG_BATCH_MAX_TS_AT);
	uint8_t *payload = raw.p;
	size_t plen = raw.len;
	uint8_t *comp = NULL;
	if (codec != COMPRESSION_NONE) {
		char errmsg[ERRMSG_SIZE];
		int rc = compression_compress(codec, raw.p, raw.len, &comp, &plen, errmsg);
		if (rc) {
			free(raw.p);
			return rc;
		}
		payload = comp;
	}
	size_t start = out->len;
	ob_reserve(out, RECORDS_BATCH_HEADER_SIZE + plen);
	uint8_t *h = out->p + start;
	memcpy(h, b, RECORDS_BATCH_HEADER_SIZE);
	log_put_be64(h, (uint64_t)((int64_t)log_be64(b) + d));
	log_put_be32(h + LOG_BATCH_LENGTH_AT, (uint32_t)(RECORDS_BATCH_HEADER_SIZE - RECORDS_LOG_OVERHEAD + plen));
	log_put_be32(h + LOG_BATCH_LAST_DELTA_AT, (uint32_t)(recs[to - 1].off_delta - d));
	log_put_be64(h + LOG_BATCH_MAX_TS_AT, (uint64_t)max_ts);
	int32_t seq = (int32_t)log_be32(b + 53);
	if (seq >= 0) {
		int64_t s = (int64_t)seq + d;
		if (s > INT32_MAX)
			s -= (int64_t)INT32_MAX + 1;
		log_put_be32(h + 53, (uint32_t)s);
	}
	log_put_be32(h + 57, (uint32_t)(to - from));
	memcpy(h + RECORDS_BATCH_HEADER_SIZE, payload, plen);
	out->len = start + RECORDS_BATCH_HEADER_SIZE + plen;
	log_put_be32(h + LOG_BATCH_CRC_AT,
		     crc32c(0, h + LOG_BATCH_ATTR_AT, out->len - start - LOG_BATCH_ATTR_AT));
	free(comp);
	free(raw.p);
	return 0;
}

/* Filters a segment image into out. *dropped counts removed records. */
static int filter_segment(struct kmap *m, const struct aborted_set *aborted,
			  const struct log_clean_config *cc, int64_t now_ms, const struct seg_snap *snap,
			  int out_fd, int64_t *out_len, int64_t *nread, int64_t *nkept)
{
	int64_t total;
	struct rec *recs = NULL;
	bool *keep = NULL;
	int cap = 0, rc = 0;
	struct seg_reader rd;
	seg_reader_init(&rd, snap);
	struct obuf ob = {0}, *out = &ob;
	const uint8_t *b;
	while (!rc && (rc = seg_reader_next(&rd, &b, &total)) == 1) {
		rc = 0;
		if (out_fd >= 0 && ob.len >= CLEANER_READ_BUF) {
			rc = log_pwrite_all(out_fd, ob.p, ob.len, (off_t)*out_len);
			*out_len += (int64_t)ob.len;
			ob.len = 0;
			if (rc)
				break;
		}
		if (b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_CONTROL) {
			if (out_fd >= 0)
				ob_put(out, b, (size_t)total);
			continue;
		}
		int64_t base = (int64_t)log_be64(b);
		int64_t base_ts = (int64_t)log_be64(b + LOG_BATCH_BASE_TS_AT);
		bool lat = b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_TIMESTAMP_TYPE;
		int32_t count = (int32_t)log_be32(b + 57);
		uint8_t *owned;
		const uint8_t *p, *end;
		if (count < 0 || batch_records(b, total, &owned, &p, &end)) {
			rc = -SAMSA_ECORRUPT;
			break;
		}
		if (count > cap) {
			cap = count;
			recs = xrealloc(recs, (size_t)cap * sizeof(*recs));
			keep = xrealloc(keep, (size_t)cap * sizeof(*keep));
		}
		bool aborted_batch = batch_aborted(aborted, b);
		int kept = 0;
		for (int32_t i = 0; i < count; i++) {
			struct rec *r = &recs[i];
			if (!rec_parse(&p, end, r)) {
				rc = -SAMSA_ECORRUPT;
				break;
			}
			int64_t off = base + r->off_delta;
			bool k = r->key_len >= 0 && !aborted_batch;
			if (k) {
				int64_t latest = kmap_get(m, r->key, (int32_t)(r->key_len > 0 ? r->key_len : 0));
				if (latest > off)
					k = false;
			}
			if (k && r->null_value) {
				int64_t ts = lat ? (int64_t)log_be64(b + LOG_BATCH_MAX_TS_AT) : base_ts + r->ts_delta;
				if (ts < now_ms - cc->delete_retention_ms)
					k = false;
			}
			keep[i] = k;
			kept += k;
		}
		*nread += count;
		*nkept += kept;
		if (rc || out_fd < 0) {
			/* counting only */
		} else if (kept == count) {
			ob_put(out, b, (size_t)total);
		} else {
			for (int32_t i = 0; i < count && !rc;) {
				if (!keep[i]) {
					i++;
					continue;
				}
				int32_t j = i + 1;
				while (j < count && keep[j] && recs[j].off_delta == recs[j - 1].off_delta + 1)
					j++;
				rc = emit_run(out, b, recs, i, j);
				i = j;
			}
		}
		free(owned);
	}
	if (rc == 1)
		rc = 0;
	if (!rc && out_fd >= 0 && ob.len) {
		rc = log_pwrite_all(out_fd, ob.p, ob.len, (off_t)*out_len);
		*out_len += (int64_t)ob.len;
	}
	free(ob.p);
	seg_reader_fini(&rd);
	free(recs);
	free(keep);
	return rc;
}

bool log_records_have_null_key(const uint8_t *batches, size_t len)
{
	int64_t total;
	for (int64_t pos = 0; pos < (int64_t)len; pos += total) {
		if (!batch_at(batches, (int64_t)len, pos, &total))
			return false; /* records_validate() already refused it */
		const uint8_t *b = batches + pos;
		if (b[LOG_BATCH_ATTR_AT + 1] & RECORDS_ATTR_CONTROL)
			continue;
		int32_t count = (int32_t)log_be32(b + 57);
		uint8_t *owned;
		const uint8_t *p, *end;
		if (batch_records(b, total, &owned, &p, &end))
			return false;
		bool found = false;
		for (int32_t i = 0; i < count && !found; i++) {
			struct rec r;
			if (!rec_parse(&p, end, &r))
				break;
			found = r.key_len < 0;
		}
		free(owned);
		if (found)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ files */

static int checkpoint_write(int dir_fd, int64_t offset)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "1 %" PRId64 "\n", offset);
	return log_file_replace(dir_fd, CLEANER_CHECKPOINT_FILE, buf, (size_t)n);
}

static int checkpoint_read(int dir_fd, int64_t *offset)
{
	int fd = openat(dir_fd, CLEANER_CHECKPOINT_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -SAMSA_ECORRUPT;
	buf[n] = '\0';
	int version;
	long long v;
	if (sscanf(buf, "%d %lld", &version, &v) != 2 || version != 1 || v < 0)
		return -SAMSA_ECORRUPT;
	*offset = v;
	return 0;
}

static void seg_name(char *buf, size_t n, int64_t base, const char *ext)
{
	snprintf(buf, n, "%020" PRId64 ".%s", base, ext);
}

/* Replaces old (still in the list?) with the cleaned file. dir_fd: part->dir. */
static int swap_segment(struct log_partition *part, int dir_fd, struct log_segment *old, int64_t base,
			bool empty)
{
	char cleaned[80], name[80], errmsg[ERRMSG_SIZE];
	seg_name(cleaned, sizeof(cleaned), base, "log" CLEANED_SUFFIX);
	int rc = 0;
	pthread_mutex_lock(&part->append_mu);
	bool present = false;
	int k = 0;
	pthread_mutex_lock(&part->mu);
	for (k = 0; k < part->nsegs - 1; k++)
		if (part->segs[k] == old && old->base_offset == base && old->sealed) {
			present = true;
			break;
		}
	pthread_mutex_unlock(&part->mu);
	if (!present) {
		pthread_mutex_unlock(&part->append_mu);
		unlinkat(dir_fd, cleaned, 0);
		return 0;
	}
	if (empty && k > 0) {
		/* Nothing left: the segment goes (the first one stays, it gives
		 * the log start offset at open). Reads of offsets in the gap fall
		 * through the previous segment's end offset to the next one. */
		pthread_mutex_lock(&part->mu);
		memmove(part->segs + k, part->segs + k + 1, (size_t)(part->nsegs - k - 1) * sizeof(*part->segs));
		part->nsegs--;
		pthread_mutex_unlock(&part->mu);
		static const char *const exts[] = {"log", "index", "timeindex", "txnindex",
						   "log" CLEANED_SUFFIX};
		for (int i = 0; i < 5; i++) {
			seg_name(name, sizeof(name), base, exts[i]);
			unlinkat(dir_fd, name, 0);
		}
		part->dir_dirty = true;
		pthread_mutex_unlock(&part->append_mu);
		if (fsync(dir_fd) < 0)
			log_warn(LOG_MODULE, "%s: fsync after cleaning: %s", part->dir, strerror(errno));
		log_segment_free(old);
		return 0;
	}
	/* Reads of old until it leaves the list must keep getting the old file. */
	if ((rc = log_segment_pin_file(old, part->dir)) != 0) {
		log_error(LOG_MODULE, "%s: opening segment %020" PRId64 ": %s", part->dir, base,
			  strerror(-rc));
		unlinkat(dir_fd, cleaned, 0);
		pthread_mutex_unlock(&part->append_mu);
		return rc;
	}
	seg_name(name, sizeof(name), base, "index");
	unlinkat(dir_fd, name, 0);
	seg_name(name, sizeof(name), base, "timeindex");
	unlinkat(dir_fd, name, 0);
	seg_name(name, sizeof(name), base, "log");
	if (renameat(dir_fd, cleaned, dir_fd, name) < 0) {
		rc = -errno;
		log_error(LOG_MODULE, "%s: renaming %s: %s", part->dir, cleaned, strerror(errno));
		unlinkat(dir_fd, cleaned, 0);
		/* The old segment stays in use; its indexes are rebuilt at the next open. */
		part->dir_dirty = true;
		pthread_mutex_unlock(&part->append_mu);
		return rc;
	}
	struct log_segment *seg;
	rc = log_segment_open(part->dir, base, &seg, errmsg);
	if (!rc)
		rc = log_segment_rebuild_indexes(seg, part->cfg.index_interval_bytes, errmsg);
	if (rc) {
		/* The file on disk is the cleaned one and good; readers keep the old
		 * struct until restart (its file ref still reads the old inode). */
		log_error(LOG_MODULE, "%s: reopening cleaned segment: %s", part->dir, errmsg);
		part->dir_dirty = true;
		pthread_mutex_unlock(&part->append_mu);
		return rc;
	}
	log_segment_finish_time_index(seg);
	/* The old index files were unlinked above: these are new. */
	if (!log_segment_open_indexes(seg, part->dir)) {
		if (log_segment_write_indexes(seg, part->dir) || fdatasync(seg->idx_file->fd) < 0 ||
		    fdatasync(seg->tidx_file->fd) < 0)
			log_warn(LOG_MODULE, "%s: writing indexes of cleaned segment %020" PRId64
				 " (rebuilt at the next open)", part->dir, base);
	}
	file_ref_put(seg->idx_file);
	file_ref_put(seg->tidx_file);
	seg->idx_file = seg->tidx_file = NULL;
	seg->sealed = seg->synced = true;
	log_segment_cache_file(seg);
	pthread_mutex_lock(&part->mu);
	log_txn_index_move(seg, old);
	part->segs[k] = seg;
	pthread_mutex_unlock(&part->mu);
	part->dir_dirty = true;
	pthread_mutex_unlock(&part->append_mu);
	if (fsync(dir_fd) < 0)
		log_warn(LOG_MODULE, "%s: fsync after cleaning: %s", part->dir, strerror(errno));
	log_segment_free(old);
	return 0;
}

/* ------------------------------------------------------------ cleaning */

int log_partition_clean(struct log_partition *part, const struct log_clean_config *cc, int64_t now_ms,
			bool force, struct log_clean_stats *st)
{
	struct log_clean_stats dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));

	/* Never past an ongoing transaction: whether its records stay is not
	 * known yet (Kafka's first unstable offset bounds cleaning too). */
	int64_t unstable = INT64_MAX;
	if (part->observer && part->observer->first_unstable_offset)
		unstable = part->observer->first_unstable_offset(part, part->observer_state);
	pthread_mutex_lock(&part->append_mu);
	pthread_mutex_lock(&part->mu);
	int n = 0;
	struct seg_snap *snaps = xcalloc((size_t)(part->nsegs ? part->nsegs : 1), sizeof(*snaps));
	for (int i = 0; i < part->nsegs - 1; i++) {
		struct log_segment *seg = part->segs[i];
		if (!seg->sealed || !seg->synced || seg->end_offset > unstable)
			break;
		if (cc->min_compaction_lag_ms > 0 && seg->max_ts > now_ms - cc->min_compaction_lag_ms)
			break;
		struct file_ref *file = log_segment_file(seg, part->dir);
		if (!file)
			break;
		snaps[n++] = (struct seg_snap){seg, file, seg->base_offset, seg->end_offset, seg->size};
	}
	int64_t start = atomic_load_explicit(&part->start_offset, memory_order_relaxed);
	pthread_mutex_unlock(&part->mu);
	pthread_mutex_unlock(&part->append_mu);

	int rc = 0;
	int64_t first_dirty = part->cleaner_checkpoint > start ? part->cleaner_checkpoint : start;
	int64_t dirty = 0, all = 0;
	for (int i = 0; i < n; i++) {
		all += snaps[i].size;
		if (snaps[i].end > first_dirty)
			dirty += snaps[i].size;
	}
	if (n == 0 || all == 0 ||
	    (!force && (dirty == 0 || (double)dirty / (double)all < cc->min_cleanable_ratio)))
		goto out;

	int dir_fd = log_partition_dir_open(part);
	if (dir_fd < 0) {
		rc = dir_fd;
		log_warn(LOG_MODULE, "%s: cleaning failed: %s", part->dir, strerror(-rc));
		goto out;
	}
	int64_t clean_to = snaps[n - 1].end;
	struct aborted_set aborted = {0};
	log_partition_collect_aborted(part, snaps[0].base, clean_to, aborted_collect, &aborted);
	if (aborted.n > 1)
		qsort(aborted.v, aborted.n, sizeof(*aborted.v), aborted_cmp);
	struct kmap map = {0};
	int64_t mapped = 0;
	for (int i = 0; i < n && !rc; i++)
		if (snaps[i].end > first_dirty)
			rc = map_segment(&map, &aborted, &snaps[i], &mapped);
	if (!rc)
		rc = checkpoint_write(dir_fd, clean_to);
	for (int i = 0; i < n && !rc; i++) {
		/* First only count: a segment that loses nothing is not rewritten. */
		int64_t nread = 0, nkept = 0, out_len = 0;
		rc = filter_segment(&map, &aborted, cc, now_ms, &snaps[i], -1, &out_len, &nread, &nkept);
		if (rc || nkept == nread)
			continue;
		char name[80];
		seg_name(name, sizeof(name), snaps[i].base, "log" CLEANED_SUFFIX);
		int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = -errno;
			break;
		}
		nread = nkept = 0;
		rc = filter_segment(&map, &aborted, cc, now_ms, &snaps[i], fd, &out_len, &nread, &nkept);
		if (!rc && fsync(fd) < 0)
			rc = -errno;
		close(fd);
		if (rc) {
			unlinkat(dir_fd, name, 0);
			break;
		}
		rc = swap_segment(part, dir_fd, snaps[i].seg, snaps[i].base, out_len == 0);
		if (!rc) {
			st->segments_rewritten++;
			st->records_read += nread;
			st->records_kept += nkept;
			st->bytes_before += snaps[i].size;
			st->bytes_after += out_len;
		}
	}
	kmap_free(&map);
	free(aborted.v);
	close(dir_fd);
	if (!rc) {
		part->cleaner_checkpoint = clean_to;
		if (st->segments_rewritten)
			log_info(LOG_MODULE, "%s: cleaned %d segment(s) up to offset %" PRId64 ": %" PRId64
				 " of %" PRId64 " records kept, %" PRId64 " -> %" PRId64 " bytes", part->dir,
				 st->segments_rewritten, clean_to, st->records_kept, st->records_read,
				 st->bytes_before, st->bytes_after);
	} else {
		log_warn(LOG_MODULE, "%s: cleaning failed: %s", part->dir,
			 rc == -SAMSA_ECORRUPT ? "unreadable batch" : strerror(-rc));
	}
out:
	for (int i = 0; i < n; i++)
		file_ref_put(snaps[i].file);
	free(snaps);
	return rc;
}

/* --------------------------------------------------------------- open */

void log_cleaner_after_recovery(struct log_partition *part)
{
	DIR *d = opendir(part->dir);
	if (!d)
		return;
	struct dirent *de;
	size_t sl = strlen(CLEANED_SUFFIX);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l > sl && !strcmp(de->d_name + l - sl, CLEANED_SUFFIX)) {
			log_info(LOG_MODULE, "%s: removing leftover %s", part->dir, de->d_name);
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	int64_t cp = 0;
	int rc = checkpoint_read(dirfd(d), &cp);
	closedir(d);
	if (rc != 0)
		return;
	part->cleaner_checkpoint = cp;
	/* Sealed segments may end before the next base: set their end offsets
	 * from their last batch (open is single-threaded). */
	uint8_t buf[16384];
	for (int i = 0; i < part->nsegs - 1; i++) {
		struct log_segment *seg = part->segs[i];
		struct file_ref *file = log_segment_file(seg, part->dir);
		if (!file)
			continue;
		struct log_scan scan;
		log_scan_init(&scan, file->fd, seg->size, buf, sizeof(buf));
		int64_t pos = 0, end = seg->base_offset;
		while (pos < seg->size) {
			int err = 0;
			const uint8_t *h = log_scan_get(&scan, pos, RECORDS_BATCH_HEADER_SIZE, &err);
			if (!h)
				break;
			int64_t total = (int64_t)(int32_t)log_be32(h + LOG_BATCH_LENGTH_AT) + RECORDS_LOG_OVERHEAD;
			if (total < RECORDS_BATCH_HEADER_SIZE)
				break;
			end = (int64_t)log_be64(h) + (int32_t)log_be32(h + LOG_BATCH_LAST_DELTA_AT) + 1;
			pos += total;
		}
		file_ref_put(file);
		if (pos == seg->size && end < seg->end_offset)
			seg->end_offset = end;
	}
}

/* ------------------------------------------------------------- thread */

struct log_cleaner {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	atomic_bool stop;
	int64_t backoff_ms;
	log_cleaner_round_fn round;
	void *arg;
};

static void *log_cleaner_main(void *p)
{
	struct log_cleaner *c = p;
	while (!atomic_load(&c->stop)) {
		c->round(c->arg, &c->stop);
		int64_t until = clock_mono_ms() + c->backoff_ms;
		pthread_mutex_lock(&c->mu);
		while (!atomic_load(&c->stop) &&
		       clock_cond_wait_ms(&c->cond, &c->mu, until - clock_mono_ms()) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

struct log_cleaner *log_cleaner_start(int64_t backoff_ms, log_cleaner_round_fn round, void *arg)
{
	struct log_cleaner *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	clock_cond_init(&c->cond);
	atomic_init(&c->stop, false);
	c->backoff_ms = backoff_ms > 0 ? backoff_ms : 1;
	c->round = round;
	c->arg = arg;
	if (pthread_create(&c->thread, NULL, log_cleaner_main, c) != 0) {
		log_error(LOG_MODULE, "cannot start the log cleaner thread");
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	return c;
}

void log_cleaner_stop(struct log_cleaner *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->stop, true);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
