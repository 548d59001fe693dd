/* The group coordinator: the map of groups, the lock, the timer thread, the
 * persistence of group metadata in __consumer_offsets and its replay at
 * start-up, and the membership and admin entry points. Committed offsets
 * are in offsets.c, transactional ones in txn_offsets.c.
 *
 * One mutex guards everything (groups are small, every operation is short);
 * answers to parked requests are collected in a grp_effects list while it is
 * held and delivered after it is dropped, so a waiter's callback may take
 * other locks (the reactor's post queue) freely.
 *
 * The timer thread sleeps on a condition variable until the earliest group
 * deadline (or the next offset-expiry pass); an operation that creates an
 * earlier deadline signals it. */
#include "group/coordinator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "group/coordinator_int.h"
#include "log/flusher.h"
#include "log/partition.h"
#include "meta/internal_topics.h"
#include "meta/scan.h"
#include "meta/topics.h"
#include "proto/gen/errors.h"
#include "txn/txn_partition.h"

#define COORD_REPLAY_READ_BYTES (1 << 20)
#define COORD_MAX_SLEEP_MS 3600000

static const struct group_clock real_clock = {clock_mono_ms, clock_wall_ms};

/* A config value as an integer, for keys the config table may not know yet
 * (their defaults are Kafka's). */
static int64_t cfg_int(const struct config *cfg, const char *key, int64_t def)
{
	const char *v = cfg ? config_get(cfg, key) : NULL;
	if (!v || !*v)
		return def;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || *end) {
		log_warn("group", "%s=%s is not a number; using %lld", key, v, (long long)def);
		return def;
	}
	return x;
}

struct grp_now coord_now(const struct group_coordinator *coord)
{
	return (struct grp_now){coord->clock.mono_ms(), coord->clock.wall_ms()};
}

int16_t group_error_from_err(int err)
{
	switch (-err) {
	case 0:
		return KERR_NONE;
	case ENOENT:
	case ESHUTDOWN:
	case SAMSA_ENOTFOUND:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	case EIO:
	case ENOSPC:
	case EROFS:
	case EDQUOT:
		return KERR_NOT_COORDINATOR;
	case SAMSA_ETOOLARGE:
		return KERR_INVALID_COMMIT_OFFSET_SIZE;
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

static bool group_id_ok(const char *group_id, bool allow_empty)
{
	return group_id && (allow_empty || *group_id);
}

/* ---- groups -------------------------------------------------------------------- */

struct cgroup *coord_group_get(struct group_coordinator *coord, const char *group_id)
{
	return hmap_get(&coord->groups, group_id, strlen(group_id));
}

struct cgroup *coord_group_create(struct group_coordinator *coord, const char *group_id, const struct grp_now *now)
{
	struct cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->grp = grp_new(group_id, &coord->gcfg, now);
	hmap_init(&cg->offsets);
	hmap_init(&cg->pending);
	hmap_put(&coord->groups, group_id, strlen(group_id), cg);
	return cg;
}

void coord_group_remove(struct group_coordinator *coord, struct cgroup *cg)
{
	const char *id = grp_id(cg->grp);
	hmap_del(&coord->groups, id, strlen(id));
	goffsets_free_all(&cg->offsets);
	gtxn_free_group(cg);
	grp_free(cg->grp);
	free(cg);
}

static void coord_wake(struct group_coordinator *coord, int64_t deadline)
{
	if (deadline < coord->wake_at) {
		coord->wake_at = deadline;
		pthread_cond_signal(&coord->cond);
	}
}

/* ---- writing to __consumer_offsets ------------------------------------------- */

int coord_ensure_topic(struct group_coordinator *coord)
{
	if (coord->otopic)
		return 0;
	struct meta_topic *topic;
	int rc = meta_internal_topic_open(coord->topics, META_OFFSETS_TOPIC, coord->topic_partitions,
					  coord->topic_segment_bytes, NULL, "group", &topic);
	if (rc < 0)
		return rc;
	coord->otopic = topic;
	coord->topic_partitions = topic->partition_count;
	return 0;
}

static void coord_wait_cb(void *arg, int err)
{
	struct coord_wait *wait = arg;
	if (err) {
		int none = 0;
		atomic_compare_exchange_strong(&wait->err, &none, err);
	}
	coord_wait_release(wait);
}

struct coord_wait *coord_wait_new(group_write_cb done, void *arg)
{
	struct coord_wait *wait = xcalloc(1, sizeof(*wait));
	atomic_init(&wait->pending, 1);
	atomic_init(&wait->err, 0);
	wait->done = done;
	wait->arg = arg;
	return wait;
}

void coord_wait_release(struct coord_wait *wait)
{
	if (atomic_fetch_sub(&wait->pending, 1) == 1) {
		wait->done(wait->arg, atomic_load(&wait->err));
		free(wait);
	}
}

int coord_append(struct group_coordinator *coord, const char *group_id, struct batch_builder *batch,
		 struct coord_wait *wait, int64_t *base_offset, enum txn_verdict *verdict)
{
	int rc = coord_ensure_topic(coord);
	if (rc < 0)
		return rc;
	batch_builder_finish(batch);
	if (batch->buf.len > (size_t)coord->otopic->log_config.max_message_bytes)
		return -SAMSA_ETOOLARGE;
	int32_t p = meta_internal_partition_for(group_id, coord->topic_partitions);
	struct log_partition *part = coord->otopic->partitions[p];
	struct log_append_result res;
	if (batch->producer_id >= 0) {
		char why[ERRMSG_SIZE];
		rc = txn_partition_append_from_coordinator(part, batch->buf.data, batch->buf.len, batch->count,
							   clock_wall_ms(), &res, verdict, why);
		if (rc == 0 && *verdict != TXN_OK) {
			log_info("group", "transactional offsets of producer %lld for group %s refused: %s",
				 (long long)batch->producer_id, group_id, why);
			return 0;
		}
	} else {
		rc = log_partition_append(part, batch->buf.data, batch->buf.len, batch->count, clock_wall_ms(), &res);
	}
	if (rc < 0) {
		log_error("group", "append to %s-%d for group %s failed: %s", META_OFFSETS_TOPIC, p, group_id,
			  strerror(-rc));
		return rc;
	}
	if (base_offset)
		*base_offset = res.base_offset;
	if (wait) {
		atomic_fetch_add(&wait->pending, 1);
		if (coord->flusher)
			log_flusher_wait(coord->flusher, part, res.last_offset + 1, coord_wait_cb, wait);
		else
			coord_wait_cb(wait, log_partition_sync(part));
	} else if (coord->flusher) {
		log_flusher_kick(coord->flusher, part);
	}
	return 0;
}

/* Writes the group's metadata record (generation, protocol, members and
 * their assignments), so a restarted broker knows the group as it was. Not
 * waited for: losing it in a crash only costs the members a rejoin. */
static void coord_store_group(struct group_coordinator *coord, struct cgroup *cg)
{
	const struct grp *grp = cg->grp;
	int32_t n = grp_member_count(grp);
	struct grec_member *members = n ? xcalloc((size_t)n, sizeof(*members)) : NULL;
	for (int32_t i = 0; i < n; i++) {
		const struct grp_member *m = grp_member_at(grp, i);
		members[i] = (struct grec_member){
			.member_id = m->member_id,
			.instance_id = m->instance_id,
			.client_id = m->client_id,
			.client_host = m->client_host,
			.rebalance_timeout_ms = m->rebalance_timeout_ms,
			.session_timeout_ms = m->session_timeout_ms,
			.assignment = m->assignment,
			.assignment_len = m->assignment_len,
		};
		members[i].subscription = grp_member_metadata(grp, m, &members[i].subscription_len);
	}
	struct grec_group rec = {
		.protocol_type = grp_protocol_type(grp) ? grp_protocol_type(grp) : "",
		.generation = grp_generation(grp),
		.protocol = grp_protocol_name(grp),
		.leader = n ? grp_leader(grp) : NULL,
		.state_timestamp = grp_state_timestamp(grp),
		.member_count = n,
		.members = members,
	};
	struct bytebuf key, value;
	bytebuf_init(&key);
	bytebuf_init(&value);
	grec_group_key(&key, grp_id(grp));
	grec_group_value(&value, &rec);
	struct batch_builder batch;
	batch_builder_init(&batch, clock_wall_ms());
	batch_builder_add(&batch, key.data, key.len, value.data, (int32_t)value.len);
	int rc = coord_append(coord, grp_id(grp), &batch, NULL, NULL, NULL);
	if (rc < 0)
		log_warn("group", "cannot store the metadata of group %s: %s", grp_id(grp), strerror(-rc));
	batch_builder_fini(&batch);
	bytebuf_fini(&key);
	bytebuf_fini(&value);
	free(members);
}

void coord_after_op(struct group_coordinator *coord, struct cgroup *cg)
{
	if (grp_take_dirty(cg->grp))
		coord_store_group(coord, cg);
	coord_wake(coord, grp_next_deadline(cg->grp));
}

/* ---- timers ------------------------------------------------------------------ */

/* Runs what is due; returns the next deadline. */
static int64_t coord_tick_locked(struct group_coordinator *coord, const struct grp_now *now, struct grp_effects *fx)
{
	int64_t next = INT64_MAX;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct cgroup *cg = e->value;
		if (grp_next_deadline(cg->grp) <= now->mono_ms)
			grp_tick(cg->grp, now, fx);
		if (grp_take_dirty(cg->grp))
			coord_store_group(coord, cg);
		int64_t d = grp_next_deadline(cg->grp);
		if (d < next)
			next = d;
	}
	if (now->mono_ms >= coord->next_retention_check) {
		coord_expire_offsets(coord, now);
		coord->next_retention_check = now->mono_ms + coord->retention_check_ms;
	}
	return next < coord->next_retention_check ? next : coord->next_retention_check;
}

void group_coordinator_tick(struct group_coordinator *coord)
{
	struct grp_effects fx;
	grp_effects_init(&fx);
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	if (coord->serving)
		coord_tick_locked(coord, &now, &fx);
	pthread_mutex_unlock(&coord->mu);
	grp_effects_deliver(&fx);
}

static void *coord_thread_main(void *arg)
{
	struct group_coordinator *coord = arg;
	pthread_mutex_lock(&coord->mu);
	while (!coord->stopping) {
		struct grp_effects fx;
		grp_effects_init(&fx);
		struct grp_now now = coord_now(coord);
		int64_t next = coord_tick_locked(coord, &now, &fx);
		if (fx.head) {
			pthread_mutex_unlock(&coord->mu);
			grp_effects_deliver(&fx);
			pthread_mutex_lock(&coord->mu);
			continue;
		}
		if (next > now.mono_ms + COORD_MAX_SLEEP_MS)
			next = now.mono_ms + COORD_MAX_SLEEP_MS;
		coord->wake_at = next;
		clock_cond_wait_ms(&coord->cond, &coord->mu, next - now.mono_ms);
		coord->wake_at = INT64_MIN; /* awake: nobody needs to signal */
	}
	pthread_mutex_unlock(&coord->mu);
	return NULL;
}

/* ---- start-up replay ------------------------------------------------------------- */

struct replay {
	struct group_coordinator *coord;
	struct grp_now now;
	struct arena *arena;
	int32_t partition; /* of __consumer_offsets, being replayed */
	int64_t records;
	int64_t bad;
};

static void replay_group(struct replay *rp, struct cgroup *cg, const uint8_t *value, int32_t len)
{
	struct grec_group g;
	if (grec_parse_group_value(value, (size_t)len, rp->arena, &g) < 0) {
		rp->bad++;
		return;
	}
	struct grp_restore_member *members =
		g.member_count ? xcalloc((size_t)g.member_count, sizeof(*members)) : NULL;
	for (int32_t i = 0; i < g.member_count; i++) {
		const struct grec_member *m = &g.members[i];
		members[i] = (struct grp_restore_member){
			.member_id = m->member_id,
			.instance_id = m->instance_id,
			.client_id = m->client_id,
			.client_host = m->client_host,
			.rebalance_timeout_ms = m->rebalance_timeout_ms,
			.session_timeout_ms = m->session_timeout_ms,
			.subscription = m->subscription,
			.subscription_len = m->subscription_len,
			.assignment = m->assignment,
			.assignment_len = m->assignment_len,
		};
	}
	grp_restore(cg->grp, g.generation, g.protocol_type, g.protocol, g.leader, g.state_timestamp, g.member_count,
		    members, &rp->now);
	free(members);
}

/* A transaction marker (key: version int16, type int16) ends its producer's
 * pending offsets on this partition; other control records do not concern
 * groups. */
static void replay_marker(struct replay *rp, const struct batch_info *batch, const uint8_t *key,
			  int32_t key_len)
{
	if (!key || key_len < 4) {
		rp->bad++;
		return;
	}
	int16_t type = (int16_t)((uint16_t)key[2] << 8 | key[3]);
	if (type == 0 || type == 1)
		gtxn_complete(rp->coord, rp->partition, batch->producer_id, type == 1);
}

static void replay_offset(struct replay *rp, const struct batch_info *batch, struct cgroup *cg,
			  const char *group, const struct grec_key *k, const uint8_t *value, int32_t value_len,
			  int64_t offset)
{
	struct group_coordinator *coord = rp->coord;
	char *topic = xstrndup(k->topic.len > 0 ? k->topic.ptr : "", k->topic.len > 0 ? (size_t)k->topic.len : 0);
	if (value) {
		struct grec_offset o;
		if (grec_parse_offset_value(value, (size_t)value_len, &o) < 0) {
			rp->bad++;
		} else {
			if (!cg)
				cg = coord_group_create(coord, group, &rp->now);
			char *md = xstrndup(o.metadata.len > 0 ? o.metadata.ptr : "",
					    o.metadata.len > 0 ? (size_t)o.metadata.len : 0);
			struct goffset *g = goffset_new(o.offset, o.leader_epoch, md, o.commit_timestamp, offset);
			free(md);
			if (batch->transactional && batch->producer_id >= 0)
				goffsets_put(gtxn_pending(coord, cg, batch->producer_id), topic, k->partition, g);
			else
				goffsets_put(&cg->offsets, topic, k->partition, g);
		}
	} else if (cg) {
		goffsets_del(&cg->offsets, topic, k->partition);
		gtxn_drop_partition(cg, topic, k->partition);
	}
	free(topic);
}

static int replay_record(void *arg, const struct batch_info *batch, const uint8_t *key, int32_t key_len,
			 const uint8_t *value, int32_t value_len, int64_t offset)
{
	struct replay *rp = arg;
	struct group_coordinator *coord = rp->coord;
	rp->records++;
	if (batch->control) {
		replay_marker(rp, batch, key, key_len);
		return 0;
	}
	struct grec_key k;
	if (!key || grec_parse_key(key, (size_t)key_len, &k) < 0) {
		rp->bad++;
		return 0;
	}
	if (k.type == GREC_OTHER)
		return 0;
	char *group = xstrndup(k.group.len > 0 ? k.group.ptr : "", k.group.len > 0 ? (size_t)k.group.len : 0);
	struct cgroup *cg = coord_group_get(coord, group);
	if (k.type == GREC_OFFSET) {
		replay_offset(rp, batch, cg, group, &k, value, value_len, offset);
	} else if (value) {
		if (!cg)
			cg = coord_group_create(coord, group, &rp->now);
		replay_group(rp, cg, value, value_len);
	} else if (cg) {
		coord_group_remove(coord, cg);
	}
	free(group);
	return 0;
}

/* A chunk of partition `partition`'s batches. */
static int replay_batches(void *arg, int32_t partition, const uint8_t *data, size_t len)
{
	struct replay *rp = arg;
	rp->partition = partition;
	int skipped = 0;
	int rc = batches_foreach_record(data, len, replay_record, rp, &skipped);
	if (skipped)
		log_warn("group", "%s-%d: skipped %d compressed or legacy batches", META_OFFSETS_TOPIC, partition,
			 skipped);
	return rc;
}

static int coord_replay(struct group_coordinator *coord, char errmsg[ERRMSG_SIZE])
{
	struct meta_topic *topic = meta_topic_get(coord->topics, META_OFFSETS_TOPIC);
	if (!topic)
		return 0;
	coord->otopic = topic;
	coord->topic_partitions = topic->partition_count;
	int64_t t0 = clock_mono_ms();
	struct replay rp = {.coord = coord, .now = coord_now(coord), .arena = arena_new(4096)};
	int rc = meta_topic_scan(topic, COORD_REPLAY_READ_BYTES, replay_batches, &rp, errmsg);
	arena_free(rp.arena);
	if (rc < 0)
		return rc;
	int64_t offsets = 0, open_txns = 0;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		offsets += (int64_t)((struct cgroup *)e->value)->offsets.count;
		open_txns += (int64_t)((struct cgroup *)e->value)->pending.count;
	}
	log_info("group", "loaded %zu groups and %lld committed offsets from %lld records of %s in %lld ms",
		 coord->groups.count, (long long)offsets, (long long)rp.records, META_OFFSETS_TOPIC,
		 (long long)(clock_mono_ms() - t0));
	if (open_txns)
		log_info("group", "%lld (group, producer) pairs hold transactional offsets waiting for their marker",
			 (long long)open_txns);
	if (rp.bad)
		log_warn("group", "%s: %lld records could not be read and were ignored", META_OFFSETS_TOPIC,
			 (long long)rp.bad);
	return 0;
}

/* ---- life cycle ---------------------------------------------------------------- */

struct group_coordinator *group_coordinator_open(const struct config *cfg, struct meta_topics *topics,
						 struct log_flusher *flusher,
						 const struct group_coordinator_options *opts,
						 char errmsg[ERRMSG_SIZE])
{
	struct group_coordinator *coord = xcalloc(1, sizeof(*coord));
	pthread_mutex_init(&coord->mu, NULL);
	clock_cond_init(&coord->cond);
	coord->clock = opts && opts->clock ? *opts->clock : real_clock;
	coord->gcfg = (struct grp_config){
		.initial_rebalance_delay_ms = (int32_t)cfg_int(cfg, "group.initial.rebalance.delay.ms", 3000),
		.min_session_timeout_ms = (int32_t)cfg_int(cfg, "group.min.session.timeout.ms", 6000),
		.max_session_timeout_ms = (int32_t)cfg_int(cfg, "group.max.session.timeout.ms", 1800000),
		.max_size = (int32_t)cfg_int(cfg, "group.max.size", INT32_MAX),
	};
	coord->retention_ms = cfg_int(cfg, "offsets.retention.minutes", 10080) * 60000;
	coord->retention_check_ms = cfg_int(cfg, "offsets.retention.check.interval.ms", 600000);
	if (coord->retention_check_ms <= 0)
		coord->retention_check_ms = 600000;
	coord->metadata_max_bytes = (int32_t)cfg_int(cfg, "offset.metadata.max.bytes", 4096);
	coord->topic_partitions = (int32_t)cfg_int(cfg, "offsets.topic.num.partitions", 50);
	coord->topic_segment_bytes = cfg_int(cfg, "offsets.topic.segment.bytes", 104857600);
	coord->topics = topics;
	coord->flusher = flusher;
	coord->serving = true;
	coord->wake_at = INT64_MIN;
	hmap_init(&coord->groups);
	hmap_init(&coord->txn_groups);
	coord->next_retention_check = coord->clock.mono_ms() + coord->retention_check_ms;

	if (coord_replay(coord, errmsg) < 0) {
		group_coordinator_close(coord);
		return NULL;
	}
	if (!(opts && opts->no_thread)) {
		int rc = pthread_create(&coord->thread, NULL, coord_thread_main, coord);
		if (rc != 0) {
			err_printf(errmsg, "cannot start the group coordinator thread: %s", strerror(rc));
			group_coordinator_close(coord);
			return NULL;
		}
		coord->thread_started = true;
	}
	return coord;
}

void group_coordinator_stop(struct group_coordinator *coord)
{
	struct grp_effects fx;
	grp_effects_init(&fx);
	pthread_mutex_lock(&coord->mu);
	if (coord->serving) {
		coord->serving = false;
		struct hmap_iter it;
		hmap_iter_init(&it, &coord->groups);
		struct hmap_entry *e;
		while ((e = hmap_iter_next(&it)))
			grp_fail_waiters(((struct cgroup *)e->value)->grp, KERR_NOT_COORDINATOR, &fx);
	}
	coord->stopping = true;
	pthread_cond_signal(&coord->cond);
	pthread_mutex_unlock(&coord->mu);
	grp_effects_deliver(&fx);
	if (coord->thread_started) {
		pthread_join(coord->thread, NULL);
		coord->thread_started = false;
	}
}

void group_coordinator_close(struct group_coordinator *coord)
{
	if (!coord)
		return;
	group_coordinator_stop(coord);
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		coord_group_remove(coord, e->value);
	hmap_fini(&coord->groups);
	gtxn_free_index(coord);
	if (coord->otopic)
		meta_topic_put(coord->topics, coord->otopic);
	pthread_cond_destroy(&coord->cond);
	pthread_mutex_destroy(&coord->mu);
	free(coord);
}

/* ---- membership ------------------------------------------------------------------ */

/* Kafka's member ids: "<client id or group.instance.id>-<random UUID>". */
static char *make_member_id(const char *prefix)
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		uint64_t x = (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 16; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			b[i] = (uint8_t)(x >> 56);
		}
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	size_t size = strlen(prefix) + 40;
	char *id = xmalloc(size);
	snprintf(id, size, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix, b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return id;
}

void group_join(struct group_coordinator *coord, const char *group_id, const struct grp_join_args *args,
		struct grp_waiter *waiter)
{
	const char *member_id = args->member_id ? args->member_id : "";
	if (!group_id_ok(group_id, false)) {
		waiter->done(waiter, grp_result_error(GRP_RESULT_JOIN, member_id, KERR_INVALID_GROUP_ID));
		return;
	}
	char *new_id = make_member_id(args->instance_id ? args->instance_id : args->client_id ? args->client_id : "");
	struct grp_join_args a = *args;
	a.member_id = member_id;
	a.new_member_id = new_id;
	struct grp_effects fx;
	grp_effects_init(&fx);
	struct grp_result *immediate = NULL;
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	if (!coord->serving) {
		immediate = grp_result_error(GRP_RESULT_JOIN, member_id, KERR_NOT_COORDINATOR);
	} else {
		struct cgroup *cg = coord_group_get(coord, group_id);
		if (!cg && *member_id)
			immediate = grp_result_error(GRP_RESULT_JOIN, member_id, KERR_UNKNOWN_MEMBER_ID);
		else if (!cg)
			cg = coord_group_create(coord, group_id, &now);
		if (cg) {
			grp_join(cg->grp, &a, waiter, &now, &fx);
			coord_after_op(coord, cg);
		}
	}
	pthread_mutex_unlock(&coord->mu);
	free(new_id);
	if (immediate)
		waiter->done(waiter, immediate);
	grp_effects_deliver(&fx);
}

void group_sync(struct group_coordinator *coord, const char *group_id, const struct grp_sync_args *args,
		struct grp_waiter *waiter)
{
	if (!group_id_ok(group_id, false)) {
		waiter->done(waiter, grp_result_error(GRP_RESULT_SYNC, NULL, KERR_INVALID_GROUP_ID));
		return;
	}
	struct grp_effects fx;
	grp_effects_init(&fx);
	struct grp_result *immediate = NULL;
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	struct cgroup *cg = coord->serving ? coord_group_get(coord, group_id) : NULL;
	if (!coord->serving) {
		immediate = grp_result_error(GRP_RESULT_SYNC, NULL, KERR_NOT_COORDINATOR);
	} else if (!cg) {
		immediate = grp_result_error(GRP_RESULT_SYNC, NULL, KERR_UNKNOWN_MEMBER_ID);
	} else {
		grp_sync(cg->grp, args, waiter, &now, &fx);
		coord_after_op(coord, cg);
	}
	pthread_mutex_unlock(&coord->mu);
	if (immediate)
		waiter->done(waiter, immediate);
	grp_effects_deliver(&fx);
}

int16_t group_heartbeat(struct group_coordinator *coord, const char *group_id, const char *member_id,
			const char *instance_id, int32_t generation)
{
	if (!group_id_ok(group_id, false))
		return KERR_INVALID_GROUP_ID;
	struct grp_effects fx;
	grp_effects_init(&fx);
	int16_t err;
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	struct cgroup *cg = coord->serving ? coord_group_get(coord, group_id) : NULL;
	if (!coord->serving) {
		err = KERR_NOT_COORDINATOR;
	} else if (!cg) {
		err = KERR_UNKNOWN_MEMBER_ID;
	} else {
		err = grp_heartbeat(cg->grp, member_id ? member_id : "", instance_id, generation, &now, &fx);
		coord_after_op(coord, cg);
	}
	pthread_mutex_unlock(&coord->mu);
	grp_effects_deliver(&fx);
	return err;
}

int16_t group_leave(struct group_coordinator *coord, const char *group_id, int32_t count,
		    struct group_leave_member *members)
{
	if (!group_id_ok(group_id, false))
		return KERR_INVALID_GROUP_ID;
	struct grp_effects fx;
	grp_effects_init(&fx);
	int16_t err = KERR_NONE;
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	struct cgroup *cg = coord->serving ? coord_group_get(coord, group_id) : NULL;
	if (!coord->serving) {
		err = KERR_NOT_COORDINATOR;
	} else {
		for (int32_t i = 0; i < count; i++) {
			struct group_leave_member *m = &members[i];
			m->error = cg ? grp_leave(cg->grp, m->member_id ? m->member_id : "", m->instance_id, m->reason,
						  &now, &fx)
				      : KERR_UNKNOWN_MEMBER_ID;
		}
		if (cg)
			coord_after_op(coord, cg);
	}
	pthread_mutex_unlock(&coord->mu);
	grp_effects_deliver(&fx);
	return err;
}

/* ---- admin ------------------------------------------------------------------------ */

static const char *arena_str(struct arena *arena, const char *s)
{
	return s ? arena_strndup(arena, s, strlen(s)) : NULL;
}

static const uint8_t *arena_bytes(struct arena *arena, const uint8_t *p, int32_t len)
{
	if (len <= 0 || !p)
		return NULL;
	uint8_t *q = arena_alloc(arena, (size_t)len);
	memcpy(q, p, (size_t)len);
	return q;
}

int16_t group_list(struct group_coordinator *coord, struct arena *arena, struct group_listing **out, int32_t *count)
{
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&coord->mu);
	if (!coord->serving) {
		pthread_mutex_unlock(&coord->mu);
		return KERR_NOT_COORDINATOR;
	}
	struct group_listing *list = arena_alloc(arena, sizeof(*list) * (coord->groups.count + 1));
	int32_t n = 0;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		const struct grp *grp = ((struct cgroup *)e->value)->grp;
		if (grp_state(grp) == GRP_DEAD)
			continue;
		list[n].group_id = arena_str(arena, grp_id(grp));
		list[n].protocol_type = arena_str(arena, grp_protocol_type(grp) ? grp_protocol_type(grp) : "");
		list[n].state = grp_state_name(grp_state(grp));
		n++;
	}
	pthread_mutex_unlock(&coord->mu);
	*out = list;
	*count = n;
	return KERR_NONE;
}

void group_describe(struct group_coordinator *coord, const char *group_id, struct arena *arena,
		    struct group_description *out)
{
	memset(out, 0, sizeof(*out));
	out->state = grp_state_name(GRP_DEAD);
	out->protocol_type = "";
	out->protocol = "";
	if (!group_id) {
		out->error = KERR_INVALID_GROUP_ID;
		return;
	}
	pthread_mutex_lock(&coord->mu);
	struct cgroup *cg = coord->serving ? coord_group_get(coord, group_id) : NULL;
	if (!coord->serving) {
		out->error = KERR_NOT_COORDINATOR;
		out->state = "";
	} else if (cg) {
		const struct grp *grp = cg->grp;
		bool stable = grp_state(grp) == GRP_STABLE;
		out->state = grp_state_name(grp_state(grp));
		out->protocol_type = arena_str(arena, grp_protocol_type(grp) ? grp_protocol_type(grp) : "");
		out->protocol = stable && grp_protocol_name(grp) ? arena_str(arena, grp_protocol_name(grp)) : "";
		int32_t n = grp_member_count(grp);
		out->member_count = n;
		out->members = n ? arena_alloc(arena, sizeof(*out->members) * (size_t)n) : NULL;
		for (int32_t i = 0; i < n; i++) {
			const struct grp_member *m = grp_member_at(grp, i);
			struct group_member_description *d = &out->members[i];
			d->member_id = arena_str(arena, m->member_id);
			d->instance_id = arena_str(arena, m->instance_id);
			d->client_id = arena_str(arena, m->client_id);
			d->client_host = arena_str(arena, m->client_host);
			if (stable) {
				int32_t len;
				const uint8_t *md = grp_member_metadata(grp, m, &len);
				d->metadata = arena_bytes(arena, md, len);
				d->metadata_len = d->metadata ? len : 0;
				d->assignment = arena_bytes(arena, m->assignment, m->assignment_len);
				d->assignment_len = d->assignment ? m->assignment_len : 0;
			}
		}
	}
	pthread_mutex_unlock(&coord->mu);
}

static void tombstone_offsets(const struct cgroup *cg, const struct hmap *offsets, bool skip_committed,
			      struct bytebuf *key, struct batch_builder *batch)
{
	struct hmap_iter it;
	hmap_iter_init(&it, offsets);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		const char *topic;
		int32_t partition;
		goffsets_key_split(e, &topic, &partition);
		if (skip_committed && hmap_get(&cg->offsets, e->key, e->key_len))
			continue;
		bytebuf_reset(key);
		grec_offset_key(key, grp_id(cg->grp), topic, partition);
		batch_builder_add(batch, key->data, key->len, NULL, -1);
	}
}

/* Tombstones for every offset of the group, committed or pending in a
 * transaction (Kafka's deleteAllOffsets: the pending ones must not come back
 * when the transaction commits, nor at a replay), and for the group itself. */
static void tombstone_group(struct cgroup *cg, struct batch_builder *batch)
{
	struct bytebuf key;
	bytebuf_init(&key);
	tombstone_offsets(cg, &cg->offsets, false, &key, batch);
	struct hmap_iter it;
	hmap_iter_init(&it, &cg->pending);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		tombstone_offsets(cg, e->value, true, &key, batch);
	bytebuf_reset(&key);
	grec_group_key(&key, grp_id(cg->grp));
	batch_builder_add(batch, key.data, key.len, NULL, -1);
	bytebuf_fini(&key);
}

int group_delete_groups(struct group_coordinator *coord, int32_t count, const char *const *group_ids,
			int16_t *errors, group_write_cb done, void *arg)
{
	struct coord_wait *wait = NULL;
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	for (int32_t i = 0; i < count; i++) {
		const char *id = group_ids[i];
		struct cgroup *cg = coord->serving && id ? coord_group_get(coord, id) : NULL;
		if (!coord->serving) {
			errors[i] = KERR_NOT_COORDINATOR;
		} else if (!group_id_ok(id, true)) {
			errors[i] = KERR_INVALID_GROUP_ID;
		} else if (!cg) {
			errors[i] = KERR_GROUP_ID_NOT_FOUND;
		} else if (grp_state(cg->grp) != GRP_EMPTY) {
			errors[i] = KERR_NON_EMPTY_GROUP;
		} else {
			struct batch_builder batch;
			batch_builder_init(&batch, now.wall_ms);
			tombstone_group(cg, &batch);
			if (!wait)
				wait = coord_wait_new(done, arg);
			int rc = coord_append(coord, id, &batch, wait, NULL, NULL);
			batch_builder_fini(&batch);
			if (rc < 0) {
				errors[i] = group_error_from_err(rc);
			} else {
				log_info("group", "group %s deleted (%zu committed offsets)", id, cg->offsets.count);
				grp_set_dead(cg->grp, &now);
				coord_group_remove(coord, cg);
				errors[i] = KERR_NONE;
			}
		}
	}
	pthread_mutex_unlock(&coord->mu);
	if (!wait)
		return 0;
	coord_wait_release(wait);
	return 1;
}
