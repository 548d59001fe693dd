/* Test helper: a group coordinator over a fresh data directory with a fake
 * clock and no timer thread (group_coordinator_tick steps it), the topic "t"
 * with 2 partitions, and a completion flag for its durable writes.
 * Header-only because the build links each tests/unit/test_*.c on its own;
 * include <cmocka.h> (and what it needs) first. */
#ifndef SAMSA_TESTS_TESTUTIL_GROUP_H
#define SAMSA_TESTS_TESTUTIL_GROUP_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "group/coordinator.h"
#include "log/flusher.h"
#include "meta/topics.h"

static int64_t fake_mono = 5000000;
static int64_t fake_wall = 1700000000000;

static inline int64_t fake_mono_ms(void)
{
	return fake_mono;
}

static inline int64_t fake_wall_ms(void)
{
	return fake_wall;
}

static const struct group_clock fake_clock = {fake_mono_ms, fake_wall_ms};

struct fixture {
	char dir[64];
	struct config *cfg;
	struct log_flusher *flusher;
	struct meta_topics *topics;
	struct group_coordinator *coord;
};

static inline void open_coordinator(struct fixture *fx)
{
	char errmsg[ERRMSG_SIZE];
	fx->topics = meta_topics_open(fx->dir, fx->cfg, fx->flusher, errmsg);
	assert_non_null(fx->topics);
	struct group_coordinator_options opts = {.clock = &fake_clock, .no_thread = true};
	fx->coord = group_coordinator_open(fx->cfg, fx->topics, fx->flusher, &opts, errmsg);
	assert_non_null(fx->coord);
}

static inline void close_coordinator(struct fixture *fx)
{
	group_coordinator_close(fx->coord);
	meta_topics_close(fx->topics);
	fx->coord = NULL;
	fx->topics = NULL;
}

static inline void reopen(struct fixture *fx)
{
	close_coordinator(fx);
	open_coordinator(fx);
}

/* A fixture in a new directory /tmp/<dir_prefix>-XXXXXX, with 3 offsets
 * partitions, offsets.retention.minutes=1 checked every second, and the
 * key/value pairs of extra_config (NULL-terminated) set. */
static inline struct fixture *fixture_new(const char *dir_prefix, const char *const *extra_config)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/%s-XXXXXX", dir_prefix);
	assert_non_null(mkdtemp(fx->dir));
	fx->cfg = config_new();
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(config_set(fx->cfg, "offsets.topic.num.partitions", "3", errmsg), 0);
	for (const char *const *kv = extra_config; kv && kv[0]; kv += 2)
		assert_int_equal(config_set(fx->cfg, kv[0], kv[1], errmsg), 0);
	assert_int_equal(config_set(fx->cfg, "offsets.retention.minutes", "1", errmsg), 0);
	assert_int_equal(config_set(fx->cfg, "offsets.retention.check.interval.ms", "1000", errmsg), 0);
	fx->flusher = log_flusher_start();
	open_coordinator(fx);
	assert_int_equal(meta_topic_create(fx->topics, "t", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	return fx;
}

static inline void fixture_free(struct fixture *fx)
{
	close_coordinator(fx);
	log_flusher_stop(fx->flusher);
	config_free(fx->cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
}

/* Completion of a durable write (group_write_cb). */
struct done_flag {
	atomic_int calls;
	atomic_int err;
};

static inline void on_done(void *arg, int err)
{
	struct done_flag *d = arg;
	atomic_store(&d->err, err);
	atomic_fetch_add(&d->calls, 1);
}

/* Waits up to 5 s for exactly one successful completion. */
static inline void wait_done(struct done_flag *d)
{
	for (int i = 0; i < 5000 && atomic_load(&d->calls) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&d->calls), 1);
	assert_int_equal(atomic_load(&d->err), 0);
}

#endif
