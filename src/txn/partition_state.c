/* Producer state attached to every log partition, and the produce path's
 * check + append under its lock.
 *
 * Lifetime, through the log's observer hooks (log/partition.h):
 *   open        load the newest snapshot whose offset is not past the log end
 *               (a crash can cut the log below a snapshot taken of bytes that
 *               were never synced: such snapshots are deleted), then replay the
 *               headers of every batch from the snapshot's offset to the end
 *               (control batches whole: commit or abort), rebuilding the
 *               ongoing transactions and re-adding the aborts from there to
 *               the aborted-transactions index, which is first truncated at
 *               the snapshot's offset (so each abort is indexed once).
 *               Without a usable snapshot the whole log is replayed, once.
 *   checkpoint  after each recovery point (at most every 10 s while data
 *               flows, after every roll, at close): expire idle producers and
 *               write a snapshot of the state as of the current end offset if
 *               anything changed. So a restart replays about what log recovery
 *               re-validates, never the whole log.
 *   close       the same once more, then free; delete just frees.
 *
 * Snapshot files are <20-digit offset>.snapshot in the partition directory
 * (Kafka's name for the same thing; our own format, producer_state.c),
 * written tmp + fsync + rename + directory fsync. The newest two are kept.
 *
 * Consistency of a snapshot: every batch with a producer id is appended while
 * holding the state's lock and recorded (aborts indexed) before it is
 * released, so the end offset read under that lock covers exactly the
 * recorded batches; the index files are synced before the snapshot is
 * written. Batches without a producer id do not touch the state and may race
 * freely. The produce path and the transactions API are in txn_partition.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/partition.h"
#include "txn/partition_int.h"
#include "txn/producer_state.h"

#define TXN_MODULE "txn"
#define SNAPSHOT_EXT ".snapshot"
#define SNAPSHOT_TMP_EXT ".snapshot.tmp"
#define REPLAY_READ_BYTES (64 << 20)
#define REPLAY_BUF (256 << 10)

static int64_t txn_expiration_ms = 86400000;

/* ------------------------------------------------------------- files */

static void snapshot_name(char *buf, size_t n, int64_t offset, const char *ext)
{
	snprintf(buf, n, "%020" PRId64 "%s", offset, ext);
}

/* "<20 digits>.snapshot" -> offset; false for anything else. */
static bool parse_snapshot_name(const char *name, int64_t *offset)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (name[i] - '0');
	}
	if (strcmp(name + 20, SNAPSHOT_EXT) != 0)
		return false;
	*offset = v;
	return true;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int snapshot_write(const char *dir, int64_t offset, const uint8_t *data, size_t len)
{
	char name[64], tmp[64];
	snapshot_name(name, sizeof(name), offset, SNAPSHOT_EXT);
	snapshot_name(tmp, sizeof(tmp), offset, SNAPSHOT_TMP_EXT);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int rc = 0;
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (!rc && fsync(dfd) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dfd, tmp, 0);
out:
	close(dfd);
	return rc;
}

static void snapshot_remove(const char *dir, int64_t offset)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%020" PRId64 SNAPSHOT_EXT, dir, offset);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn(TXN_MODULE, "removing %s: %s", path, strerror(errno));
}

/* Reads a whole snapshot file; NULL with errmsg on failure. */
static uint8_t *snapshot_read(const char *dir, int64_t offset, size_t *len, char errmsg[ERRMSG_SIZE])
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%020" PRId64 SNAPSHOT_EXT, dir, offset);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_printf(errmsg, "open: %s", strerror(errno));
		return NULL;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0 || size > (1LL << 31)) {
		err_printf(errmsg, "size %lld", (long long)size);
		close(fd);
		return NULL;
	}
	uint8_t *buf = xmalloc(size ? (size_t)size : 1);
	size_t got = 0;
	while (got < (size_t)size) {
		ssize_t r = pread(fd, buf + got, (size_t)size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err_printf(errmsg, "read: %s", r < 0 ? strerror(errno) : "short file");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

static int cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Snapshot offsets in dir, newest first; stray temporary files are removed. */
static int list_snapshots(const char *dir, int64_t **out, int *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		size_t tl = strlen(SNAPSHOT_TMP_EXT);
		if (len > tl && strcmp(de->d_name + len - tl, SNAPSHOT_TMP_EXT) == 0) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
			continue;
		}
		int64_t off;
		if (!parse_snapshot_name(de->d_name, &off))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xrealloc(*out, (size_t)cap * sizeof(**out));
		}
		(*out)[(*n)++] = off;
	}
	closedir(d);
	if (*n)
		qsort(*out, (size_t)*n, sizeof(**out), cmp_desc);
	return 0;
}

/* ------------------------------------------------------------- replay */

struct replay_stats {
	int64_t batches;
	int64_t bytes;
};

/* Replays the headers of every batch with base offset >= from, up to the log
 * end, into tp (control batches are read whole: their marker says commit or
 * abort). */
static int replay(struct log_partition *part, struct txn_part *tp, int64_t from, int64_t now_ms,
		  struct replay_stats *st, char errmsg[ERRMSG_SIZE])
{
	const char *dir = log_partition_dir(part);
	int64_t end = log_partition_end_offset(part);
	int64_t off = from;
	uint8_t *buf = NULL;
	int rc = 0;
	while (off < end) {
		struct log_read_result res;
		rc = log_partition_read(part, off, REPLAY_READ_BYTES, false, &res);
		if (rc) {
			err_printf(errmsg, "producer state: reading %s at offset %" PRId64 ": %s", dir, off,
				   rc == -SAMSA_ECORRUPT ? "corrupt batch" : strerror(-rc));
			break;
		}
		if (res.len == 0)
			break; /* nothing at off (cannot happen below the end offset) */
		if (!buf)
			buf = xmalloc(REPLAY_BUF);
		int fd = res.file->fd;
		int64_t pos = res.file_pos, stop = res.file_pos + res.len;
		int64_t buf_pos = 0, buf_len = 0, last_total = 0;
		int64_t next = off;
		while (pos < stop) {
			if (pos < buf_pos || pos + RECORDS_BATCH_HEADER_SIZE > buf_pos + buf_len) {
				/* After a big batch read just the next header. */
				int64_t want = last_total > REPLAY_BUF / 4 ? RECORDS_BATCH_HEADER_SIZE : REPLAY_BUF;
				if (want > stop - pos)
					want = stop - pos;
				ssize_t r = pread(fd, buf, (size_t)want, (off_t)pos);
				if (r < RECORDS_BATCH_HEADER_SIZE) {
					rc = r < 0 ? -errno : -SAMSA_ECORRUPT;
					err_printf(errmsg, "producer state: reading %s at offset %" PRId64 ": %s",
						   dir, next, r < 0 ? strerror(errno) : "short batch header");
					break;
				}
				buf_pos = pos;
				buf_len = r;
			}
			struct records_batch_header hdr;
			records_header_parse(buf + (pos - buf_pos), &hdr);
			int64_t total = (int64_t)hdr.batch_length + RECORDS_LOG_OVERHEAD;
			if (total < RECORDS_BATCH_HEADER_SIZE || pos + total > stop) {
				rc = -SAMSA_ECORRUPT;
				err_printf(errmsg, "producer state: %s: bad batch length at offset %" PRId64, dir,
					   hdr.base_offset);
				break;
			}
			if (hdr.base_offset >= from && hdr.producer_id >= 0) {
				struct txn_batch b;
				txn_batch_from_header(&hdr, &b);
				bool commit = false;
				if (b.control) {
					if (pos + total > buf_pos + buf_len && total <= REPLAY_BUF) {
						ssize_t r = pread(fd, buf, (size_t)total, (off_t)pos);
						if (r != total) {
							rc = r < 0 ? -errno : -SAMSA_ECORRUPT;
							err_printf(errmsg, "producer state: reading %s at offset %"
								   PRId64 ": %s", dir, hdr.base_offset,
								   r < 0 ? strerror(errno) : "short batch");
							break;
						}
						buf_pos = pos;
						buf_len = r;
					}
					if (pos + total > buf_pos + buf_len ||
					    !txn_marker_parse(buf + (pos - buf_pos), (size_t)total, &commit,
							      &b.coordinator_epoch))
						log_warn(TXN_MODULE, "%s: control batch at offset %" PRId64 " is not "
							 "a transaction marker; taken as a commit", dir,
							 hdr.base_offset);
				}
				rc = txn_part_record(part, tp, &b, commit, hdr.base_offset, now_ms);
				if (rc) {
					err_printf(errmsg, "producer state: %s: writing the transaction index "
						   "at offset %" PRId64 ": %s", dir, hdr.base_offset,
						   strerror(-rc));
					break;
				}
				st->batches++;
			}
			next = hdr.base_offset + hdr.last_offset_delta + 1;
			last_total = total;
			pos += total;
		}
		st->bytes += res.len;
		file_ref_put(res.file);
		if (rc)
			break;
		if (next <= off) {
			rc = -SAMSA_ECORRUPT;
			err_printf(errmsg, "producer state: %s: no progress at offset %" PRId64, dir, off);
			break;
		}
		off = next;
	}
	free(buf);
	return rc;
}

/* ------------------------------------------------------------- hooks */

static int txn_part_open(struct log_partition *part, void **state, char errmsg[ERRMSG_SIZE])
{
	const char *dir = log_partition_dir(part);
	int64_t t0 = clock_mono_ms();
	int64_t now = clock_wall_ms();
	struct txn_part *tp = xcalloc(1, sizeof(*tp));
	tp->ps = txn_pstate_new();
	tp->snap_offset = tp->prev_snap_offset = -1;
	atomic_init(&tp->unstable, INT64_MAX);

	int64_t end = log_partition_end_offset(part);
	int64_t start = log_partition_start_offset(part);
	int64_t *snaps;
	int nsnaps;
	int rc = list_snapshots(dir, &snaps, &nsnaps);
	if (rc) {
		err_printf(errmsg, "producer state: listing %s: %s", dir, strerror(-rc));
		goto fail;
	}
	for (int i = 0; i < nsnaps; i++) {
		int64_t off = snaps[i];
		if (off > end) {
			/* Taken of bytes a crash did not keep: stale. */
			log_warn(TXN_MODULE, "%s: producer snapshot at offset %" PRId64 " is past the log end %"
				 PRId64 "; removing it", dir, off, end);
			snapshot_remove(dir, off);
			continue;
		}
		if (tp->snap_offset >= 0) {
			if (tp->prev_snap_offset < 0)
				tp->prev_snap_offset = off;
			else
				snapshot_remove(dir, off);
			continue;
		}
		char why[ERRMSG_SIZE];
		size_t len;
		uint8_t *data = snapshot_read(dir, off, &len, why);
		int64_t at = -1;
		if (data && txn_pstate_decode(tp->ps, data, len, &at, why) == 0 && at == off) {
			tp->snap_offset = off;
		} else {
			if (data && at >= 0 && at != off) {
				err_printf(why, "holds offset %" PRId64, at);
				txn_pstate_free(tp->ps); /* decoded, but not what its name says */
				tp->ps = txn_pstate_new();
			}
			log_warn(TXN_MODULE, "%s: producer snapshot at offset %" PRId64 " unusable (%s); "
				 "removing it", dir, off, why);
			snapshot_remove(dir, off);
		}
		free(data);
	}
	free(snaps);

	int64_t from = tp->snap_offset >= 0 ? tp->snap_offset : start;
	if (from < start)
		from = start;
	txn_part_ongoing_rebuild(tp);
	/* The replay indexes the aborts it meets: drop what the index holds
	 * from there on (written before a crash, or not), so each is there once. */
	rc = log_partition_truncate_aborted(part, from);
	if (rc) {
		err_printf(errmsg, "producer state: %s: truncating the transaction index: %s", dir,
			   strerror(-rc));
		goto fail;
	}
	struct replay_stats st = {0};
	rc = replay(part, tp, from, now, &st, errmsg);
	if (rc)
		goto fail;
	tp->snap_version = tp->snap_offset == end ? txn_pstate_version(tp->ps) : UINT64_MAX;
	size_t expired = txn_pstate_expire(tp->ps, now, txn_expiration_ms);
	/* Like log recovery: a line when the log had to be read (after a crash,
	 * or data older than snapshots), debug when a snapshot said it all. */
	if (st.batches)
		log_info(TXN_MODULE, "%s: producer state: %zu producers (snapshot at %" PRId64 ", replayed %"
			 PRId64 " batches in %" PRId64 " bytes from offset %" PRId64 ", %zu expired) in %"
			 PRId64 " ms", dir, txn_pstate_count(tp->ps), tp->snap_offset, st.batches, st.bytes,
			 from, expired, clock_mono_ms() - t0);
	else
		log_debug(TXN_MODULE, "%s: producer state: %zu producers (snapshot at %" PRId64 ", %" PRId64
			  " bytes read from offset %" PRId64 ", %zu expired)", dir, txn_pstate_count(tp->ps),
			  tp->snap_offset, st.bytes, from, expired);
	*state = tp;
	return 0;
fail:
	txn_pstate_free(tp->ps);
	free(tp->ongoing);
	free(tp);
	return rc;
}

/* Writes a snapshot as of the current end offset if the state changed. */
static void txn_part_snapshot(struct log_partition *part, struct txn_part *tp)
{
	const char *dir = log_partition_dir(part);
	int64_t now = clock_wall_ms();
	txn_pstate_lock(tp->ps);
	txn_pstate_expire(tp->ps, now, txn_expiration_ms);
	int64_t end = log_partition_end_offset(part);
	uint64_t version = txn_pstate_version(tp->ps);
	/* Unchanged since the last snapshot, or an empty log with no producers
	 * and no snapshot yet: the next open's replay has nothing to do without
	 * one (10,000 new partitions closed: 20,000 fewer fsyncs). */
	bool nothing = tp->snap_offset < 0 && txn_pstate_count(tp->ps) == 0 &&
		       end == log_partition_start_offset(part);
	if (nothing || (end == tp->snap_offset && version == tp->snap_version)) {
		txn_pstate_unlock(tp->ps);
		return;
	}
	size_t len;
	uint8_t *data = txn_pstate_encode(tp->ps, end, &len);
	txn_pstate_unlock(tp->ps);

	/* The snapshot counts on the aborts below its offset being indexed
	 * (a replay from it will not add them again). */
	int rc = log_partition_sync_aborted(part);
	if (!rc)
		rc = snapshot_write(dir, end, data, len);
	free(data);
	if (rc) {
		log_warn(TXN_MODULE, "%s: writing producer snapshot at offset %" PRId64 ": %s", dir, end,
			 strerror(-rc));
		return;
	}
	if (end != tp->snap_offset) {
		if (tp->prev_snap_offset >= 0)
			snapshot_remove(dir, tp->prev_snap_offset);
		tp->prev_snap_offset = tp->snap_offset;
		tp->snap_offset = end;
	}
	tp->snap_version = version;
}

static void txn_part_checkpoint(struct log_partition *part, void *state)
{
	if (state)
		txn_part_snapshot(part, state);
}

static void txn_part_close(struct log_partition *part, void *state, bool deleting)
{
	struct txn_part *tp = state;
	if (!tp)
		return;
	if (!deleting)
		txn_part_snapshot(part, tp);
	txn_pstate_free(tp->ps);
	free(tp->ongoing);
	free(tp);
}

static int64_t txn_part_first_unstable(struct log_partition *part, void *state)
{
	(void)part;
	struct txn_part *tp = state;
	return tp ? atomic_load(&tp->unstable) : INT64_MAX;
}

static const struct log_partition_observer txn_observer = {
	.open = txn_part_open,
	.checkpoint = txn_part_checkpoint,
	.close = txn_part_close,
	.first_unstable_offset = txn_part_first_unstable,
};

void txn_partition_state_install(int64_t expiration_ms)
{
	if (expiration_ms > 0)
		txn_expiration_ms = expiration_ms;
	log_partition_observer_set(&txn_observer);
}

void txn_partition_state_uninstall(void)
{
	log_partition_observer_set(NULL);
}

struct txn_part *txn_part_of(struct log_partition *part)
{
	return log_partition_observer_state(part);
}

struct txn_pstate *txn_pstate_of(struct log_partition *part)
{
	struct txn_part *tp = log_partition_observer_state(part);
	return tp ? tp->ps : NULL;
}
