/* Retention: see retention.h. The pass reads the segment list under part->mu
 * only long enough to pick how many leading segments go, then lets
 * log_partition_move_start() (DeleteRecords' path) write the new log start
 * offset durably and unlink them. Concurrent appends only add segments at
 * the end and DeleteRecords only moves the start up, so the chosen offset
 * stays a valid segment base meanwhile. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"
#include "log/retention.h"

/* The segment's largest timestamp; without one (legacy records, no
 * timestamps) the .log file's modification time, as Kafka does. part->mu held. */
static int64_t segment_largest_ts(const struct log_partition *part, const struct log_segment *seg)
{
	if (seg->max_ts >= 0)
		return seg->max_ts;
	char path[4096];
	log_segment_path(path, sizeof(path), part->dir, seg->base_offset, "log");
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int log_partition_apply_retention(struct log_partition *part, int64_t now_ms,
				  struct log_retention_result *res)
{
	struct log_retention_result r = {0};
	pthread_mutex_lock(&part->append_mu);
	int64_t retention_ms = part->cfg.retention_ms;
	int64_t retention_bytes = part->cfg.retention_bytes;
	pthread_mutex_unlock(&part->append_mu);

	int64_t new_start = -1;
	pthread_mutex_lock(&part->mu);
	r.start_offset = atomic_load_explicit(&part->start_offset, memory_order_relaxed);
	int k = 0;
	int64_t gone_bytes = 0;
	const int sealed = part->nsegs - 1; /* the last one is active */
	if (retention_ms >= 0) {
		while (k < sealed) {
			int64_t ts = segment_largest_ts(part, part->segs[k]);
			if (ts < 0 || now_ms - ts <= retention_ms)
				break;
			gone_bytes += part->segs[k]->size;
			k++;
		}
	}
	if (retention_bytes >= 0) {
		int64_t total = 0;
		for (int i = 0; i < part->nsegs; i++)
			total += part->segs[i]->size;
		int64_t excess = total - gone_bytes - retention_bytes;
		while (k < sealed && excess - part->segs[k]->size >= 0) {
			excess -= part->segs[k]->size;
			gone_bytes += part->segs[k]->size;
			k++;
		}
	}
	if (k > 0)
		new_start = part->segs[k]->base_offset;
	pthread_mutex_unlock(&part->mu);

	if (new_start > r.start_offset) {
		int64_t lw;
		int rc = log_partition_move_start(part, new_start, &lw);
		if (rc) {
			log_warn(LOG_MODULE, "%s: retention could not move the log start offset to %" PRId64 ": %s",
				 part->dir, new_start, strerror(-rc));
			if (res)
				*res = r;
			return rc;
		}
		r.segments = k;
		r.bytes = gone_bytes;
		r.start_offset = lw;
		log_info(LOG_MODULE, "%s: retention deleted %d segment(s), %" PRId64 " bytes "
			 "(retention.ms=%" PRId64 ", retention.bytes=%" PRId64 "); log start offset now %" PRId64,
			 part->dir, r.segments, r.bytes, retention_ms, retention_bytes, r.start_offset);
	}
	if (res)
		*res = r;
	return 0;
}

/* ------------------------------------------------------------------ thread */

struct log_retention {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool stopping;
	int64_t interval_ms;
	log_retention_pass_fn pass;
	void *arg;
};

static void *retention_main(void *arg)
{
	struct log_retention *ret = arg;
	pthread_mutex_lock(&ret->mu);
	int64_t next = clock_mono_ms() + ret->interval_ms;
	while (!ret->stopping) {
		int64_t now = clock_mono_ms();
		if (now < next) {
			clock_cond_wait_ms(&ret->wake, &ret->mu, next - now);
			continue;
		}
		pthread_mutex_unlock(&ret->mu);
		ret->pass(ret->arg, clock_wall_ms());
		pthread_mutex_lock(&ret->mu);
		next = clock_mono_ms() + ret->interval_ms;
	}
	pthread_mutex_unlock(&ret->mu);
	return NULL;
}

struct log_retention *log_retention_start(int64_t interval_ms, log_retention_pass_fn pass, void *arg)
{
	struct log_retention *ret = xcalloc(1, sizeof(*ret));
	ret->interval_ms = interval_ms > 0 ? interval_ms : 1;
	if (ret->interval_ms > (int64_t)1 << 40)
		ret->interval_ms = (int64_t)1 << 40; /* no deadline overflow */
	ret->pass = pass;
	ret->arg = arg;
	pthread_mutex_init(&ret->mu, NULL);
	clock_cond_init(&ret->wake);
	int rc = pthread_create(&ret->thread, NULL, retention_main, ret);
	if (rc) {
		log_error(LOG_MODULE, "cannot start the retention thread: %s", strerror(rc));
		pthread_cond_destroy(&ret->wake);
		pthread_mutex_destroy(&ret->mu);
		free(ret);
		return NULL;
	}
	return ret;
}

void log_retention_stop(struct log_retention *ret)
{
	if (!ret)
		return;
	pthread_mutex_lock(&ret->mu);
	ret->stopping = true;
	pthread_cond_signal(&ret->wake);
	pthread_mutex_unlock(&ret->mu);
	pthread_join(ret->thread, NULL);
	pthread_cond_destroy(&ret->wake);
	pthread_mutex_destroy(&ret->mu);
	free(ret);
}
