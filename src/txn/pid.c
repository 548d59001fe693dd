/* Producer id allocation in durable blocks (see pid.h).
 *
 * State: ids in [next, limit) are reserved on disk and not yet issued. When
 * fewer than a tenth of a block remain, one background thread writes
 * limit + TXN_PID_BLOCK as the new high-water mark and then raises limit
 * (blocks are contiguous). A caller that finds the block empty waits for
 * that thread, or, with none running (the last write failed), reserves
 * synchronously. A failed background write is retried by the next call that
 * finds the block low. */
#include "txn/pid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/xalloc.h"

#define PID_MODULE "txn"
#define PID_META_DIR "__samsa_meta"

struct txn_pids {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	char *dir;          /* <data dir>/__samsa_meta */
	int64_t next;       /* next id to issue */
	int64_t limit;      /* reserved on disk up to here (exclusive) */
	bool reserving;     /* a background reservation is running */
	bool have_thread;   /* thread is joinable (running or finished) */
	pthread_t thread;
};

/* Makes limit the durable high-water mark. */
static int pids_write(const char *dir, int64_t limit)
{
	char path[4096], tmp[4096], line[64];
	snprintf(path, sizeof(path), "%s/" TXN_PID_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/" TXN_PID_FILE ".tmp", dir);
	int n = snprintf(line, sizeof(line), "1 %" PRId64 "\n", limit);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (write(fd, line, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		rc = fs_fsync_dir(dir);
	if (rc)
		unlink(tmp);
	return rc;
}

/* Reads the high-water mark: 0 with *limit, 0 with *limit = 0 when there is
 * no file yet, or an error. */
static int pids_read(const char *dir, int64_t *limit, char errmsg[ERRMSG_SIZE])
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/" TXN_PID_FILE, dir);
	*limit = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		err_printf(errmsg, "cannot read %.200s: %s", path, strerror(errno));
		return -errno;
	}
	char buf[128];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = errno;
	close(fd);
	if (n < 0) {
		err_printf(errmsg, "cannot read %.200s: %s", path, strerror(err));
		return -err;
	}
	buf[n] = '\0';
	int version, used = 0;
	long long v;
	if (sscanf(buf, "%d %lld\n%n", &version, &v, &used) != 2 || version != 1 || used != n || v < 0 ||
	    v > INT64_MAX - 2 * TXN_PID_BLOCK) {
		err_printf(errmsg, "%.120s is corrupt; refusing to risk re-issuing producer ids "
			   "(write \"1 <id above every issued one>\" into it to go on)", path);
		return -SAMSA_ECORRUPT;
	}
	*limit = v;
	return 0;
}

struct txn_pids *txn_pids_open(const char *data_dir, char errmsg[ERRMSG_SIZE])
{
	char *dir;
	if (asprintf(&dir, "%s/" PID_META_DIR, data_dir) < 0)
		abort();
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err_printf(errmsg, "cannot create %.200s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	int64_t start;
	if (pids_read(dir, &start, errmsg) < 0) {
		free(dir);
		return NULL;
	}
	int rc = pids_write(dir, start + TXN_PID_BLOCK);
	if (rc) {
		err_printf(errmsg, "cannot write %.200s/" TXN_PID_FILE ": %s", dir, strerror(-rc));
		free(dir);
		return NULL;
	}
	struct txn_pids *pids = xcalloc(1, sizeof(*pids));
	pthread_mutex_init(&pids->mu, NULL);
	pthread_cond_init(&pids->cond, NULL);
	pids->dir = dir;
	pids->next = start;
	pids->limit = start + TXN_PID_BLOCK;
	log_info(PID_MODULE, "producer ids from %" PRId64 " (reserved up to %" PRId64 ")", start,
		 pids->limit);
	return pids;
}

void txn_pids_close(struct txn_pids *pids)
{
	if (!pids)
		return;
	pthread_mutex_lock(&pids->mu);
	while (pids->reserving)
		pthread_cond_wait(&pids->cond, &pids->mu);
	pthread_mutex_unlock(&pids->mu);
	if (pids->have_thread)
		pthread_join(pids->thread, NULL);
	pthread_mutex_destroy(&pids->mu);
	pthread_cond_destroy(&pids->cond);
	free(pids->dir);
	free(pids);
}

static void *pids_reserve_thread(void *arg)
{
	struct txn_pids *pids = arg;
	pthread_mutex_lock(&pids->mu);
	int64_t want = pids->limit + TXN_PID_BLOCK;
	pthread_mutex_unlock(&pids->mu);
	int rc = pids_write(pids->dir, want); /* only this thread writes meanwhile */
	pthread_mutex_lock(&pids->mu);
	if (!rc)
		pids->limit = want;
	else
		log_error(PID_MODULE, "reserving producer ids up to %" PRId64 ": %s", want, strerror(-rc));
	pids->reserving = false;
	pthread_cond_broadcast(&pids->cond);
	pthread_mutex_unlock(&pids->mu);
	return NULL;
}

int txn_pids_next(struct txn_pids *pids, int64_t *producer_id)
{
	pthread_mutex_lock(&pids->mu);
	int rc = 0;
	while (pids->next >= pids->limit) {
		if (pids->reserving) {
			pthread_cond_wait(&pids->cond, &pids->mu);
			continue;
		}
		/* No reservation running (the last one failed): do it here. */
		int64_t want = pids->limit + TXN_PID_BLOCK;
		pids->reserving = true;
		pthread_mutex_unlock(&pids->mu);
		rc = pids_write(pids->dir, want);
		pthread_mutex_lock(&pids->mu);
		pids->reserving = false;
		pthread_cond_broadcast(&pids->cond);
		if (rc) {
			log_error(PID_MODULE, "reserving producer ids up to %" PRId64 ": %s", want,
				  strerror(-rc));
			pthread_mutex_unlock(&pids->mu);
			return rc;
		}
		pids->limit = want;
	}
	*producer_id = pids->next++;
	if (pids->limit - pids->next <= TXN_PID_BLOCK / 10 && !pids->reserving) {
		/* The previous reservation thread is done with the lock (it
		 * cleared reserving under it): joining cannot wait on us. */
		if (pids->have_thread)
			pthread_join(pids->thread, NULL);
		pids->reserving = true;
		pids->have_thread = pthread_create(&pids->thread, NULL, pids_reserve_thread, pids) == 0;
		if (!pids->have_thread)
			pids->reserving = false; /* the caller that empties the block reserves */
	}
	pthread_mutex_unlock(&pids->mu);
	return rc;
}
