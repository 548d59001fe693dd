/* Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and the
 * expiry of offsets.retention.minutes.
 *
 * A commit is checked against the group (member, generation, state), written
 * as one batch of offset-commit records to the group's partition of
 * __consumer_offsets, applied to the in-memory cache in the same critical
 * section (so the cache always matches the log order), and acknowledged once
 * the flusher has synced the batch. A fetch reads the cache only.
 *
 * Expiry follows Kafka: offsets of an Empty group expire when the group has
 * been Empty for the retention period; offsets of a group that never used
 * group management expire by their commit time; a Stable consumer group
 * loses, by commit time, the offsets of topics it no longer subscribes to.
 * Expired offsets get tombstones, and an Empty group left without offsets is
 * deleted. Transactional offsets (txn_offsets.c) are kept apart until their
 * transaction commits: a fetch does not show them, a tombstone drops them,
 * expiry waits for their transaction. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "group/coordinator_int.h"
#include "proto/gen/errors.h"

/* ---- the cache ---------------------------------------------------------------- */

static char *okey_new(const char *topic, int32_t partition, size_t *len)
{
	size_t tlen = strlen(topic);
	char *key = xmalloc(tlen + 5);
	memcpy(key, topic, tlen + 1);
	uint32_t p = (uint32_t)partition;
	key[tlen + 1] = (char)(p >> 24);
	key[tlen + 2] = (char)(p >> 16);
	key[tlen + 3] = (char)(p >> 8);
	key[tlen + 4] = (char)p;
	*len = tlen + 5;
	return key;
}

void goffsets_key_split(const struct hmap_entry *e, const char **topic, int32_t *partition)
{
	const uint8_t *p = (const uint8_t *)e->key + e->key_len - 4;
	*topic = e->key;
	*partition = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

struct goffset *goffsets_get(const struct hmap *map, const char *topic, int32_t partition)
{
	size_t len;
	char *key = okey_new(topic, partition, &len);
	struct goffset *o = hmap_get(map, key, len);
	free(key);
	return o;
}

struct goffset *goffset_new(int64_t offset, int32_t leader_epoch, const char *metadata, int64_t commit_ts,
			    int64_t log_offset)
{
	struct goffset *o = xcalloc(1, sizeof(*o));
	o->offset = offset;
	o->leader_epoch = leader_epoch;
	o->metadata = xstrdup(metadata ? metadata : "");
	o->commit_ts = commit_ts;
	o->log_offset = log_offset;
	return o;
}

void goffset_free(struct goffset *o)
{
	free(o->metadata);
	free(o);
}

void goffsets_put(struct hmap *map, const char *topic, int32_t partition, struct goffset *o)
{
	size_t len;
	char *key = okey_new(topic, partition, &len);
	struct goffset *old = hmap_put(map, key, len, o);
	free(key);
	if (old)
		goffset_free(old);
}

bool goffsets_del(struct hmap *map, const char *topic, int32_t partition)
{
	size_t len;
	char *key = okey_new(topic, partition, &len);
	struct goffset *o = hmap_del(map, key, len);
	free(key);
	if (!o)
		return false;
	goffset_free(o);
	return true;
}

void goffsets_free_all(struct hmap *map)
{
	struct hmap_iter it;
	hmap_iter_init(&it, map);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		goffset_free(e->value);
	hmap_fini(map);
}

/* ---- OffsetCommit --------------------------------------------------------------- */

void goffsets_fail_all(const struct group_commit_args *a, int16_t error)
{
	for (int32_t i = 0; i < a->count; i++)
		if (a->partitions[i].error == KERR_NONE)
			a->partitions[i].error = error;
}

void goffsets_add_records(struct group_coordinator *coord, const struct group_commit_args *a, int64_t now_ms,
			  struct batch_builder *batch)
{
	struct bytebuf key, value;
	bytebuf_init(&key);
	bytebuf_init(&value);
	for (int32_t i = 0; i < a->count; i++) {
		struct group_commit_partition *p = &a->partitions[i];
		if (p->error != KERR_NONE)
			continue;
		if (p->metadata && strlen(p->metadata) > (size_t)coord->metadata_max_bytes) {
			p->error = KERR_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		if (p->commit_timestamp < 0)
			p->commit_timestamp = now_ms;
		bytebuf_reset(&key);
		bytebuf_reset(&value);
		grec_offset_key(&key, a->group_id, p->topic, p->partition);
		grec_offset_value(&value, p->offset, p->leader_epoch, p->metadata, p->commit_timestamp);
		batch_builder_add(batch, key.data, key.len, value.data, (int32_t)value.len);
	}
	bytebuf_fini(&key);
	bytebuf_fini(&value);
}

void goffsets_put_appended(struct hmap *map, const struct group_commit_args *a, int64_t base_offset)
{
	for (int32_t i = 0; i < a->count; i++) {
		const struct group_commit_partition *p = &a->partitions[i];
		if (p->error == KERR_NONE)
			goffsets_put(map, p->topic, p->partition,
				     goffset_new(p->offset, p->leader_epoch, p->metadata, p->commit_timestamp,
						 base_offset++));
	}
}

int group_commit_offsets(struct group_coordinator *coord, const struct group_commit_args *a, group_write_cb done,
			 void *arg)
{
	if (!a->group_id) {
		goffsets_fail_all(a, KERR_INVALID_GROUP_ID);
		return 0;
	}
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	int16_t err = KERR_NONE;
	struct cgroup *cg = NULL;
	if (!coord->serving) {
		err = KERR_NOT_COORDINATOR;
	} else {
		cg = coord_group_get(coord, a->group_id);
		if (!cg && a->generation < 0)
			cg = coord_group_create(coord, a->group_id, &now); /* offsets-only group */
		if (!cg)
			err = KERR_ILLEGAL_GENERATION; /* a member of a group we do not know */
		else
			err = grp_commit_check(cg->grp, a->member_id ? a->member_id : "", a->instance_id, a->generation,
					       &now);
	}
	if (err) {
		pthread_mutex_unlock(&coord->mu);
		goffsets_fail_all(a, err);
		return 0;
	}
	coord_after_op(coord, cg);

	struct batch_builder batch;
	batch_builder_init(&batch, now.wall_ms);
	goffsets_add_records(coord, a, now.wall_ms, &batch);
	struct coord_wait *wait = NULL;
	if (batch.count > 0) {
		wait = coord_wait_new(done, arg);
		int64_t base;
		int rc = coord_append(coord, a->group_id, &batch, wait, &base, NULL);
		if (rc < 0)
			goffsets_fail_all(a, group_error_from_err(rc));
		else
			goffsets_put_appended(&cg->offsets, a, base);
	}
	pthread_mutex_unlock(&coord->mu);
	batch_builder_fini(&batch);
	if (!wait)
		return 0;
	coord_wait_release(wait);
	return 1;
}

/* ---- OffsetFetch ------------------------------------------------------------------ */

static void fill_offset(struct group_offset *out, const struct goffset *o, bool unstable, struct arena *arena)
{
	out->error = unstable ? KERR_UNSTABLE_OFFSET_COMMIT : KERR_NONE;
	if (!o || unstable) {
		out->offset = -1;
		out->leader_epoch = -1;
		out->metadata = "";
		return;
	}
	out->offset = o->offset;
	out->leader_epoch = o->leader_epoch;
	out->metadata = arena_strndup(arena, o->metadata, strlen(o->metadata));
}

/* Kafka's requireStable: a partition with offsets pending in a transaction
 * has no stable offset yet (the client retries). */
static bool unstable(const struct cgroup *cg, bool require_stable, const char *topic, int32_t partition)
{
	return require_stable && gtxn_has_pending(cg, topic, partition);
}

int16_t group_fetch_offsets(struct group_coordinator *coord, const char *group_id, bool require_stable,
			    int32_t count, struct group_offset *offsets, struct arena *arena)
{
	if (!group_id)
		return KERR_INVALID_GROUP_ID;
	pthread_mutex_lock(&coord->mu);
	if (!coord->serving) {
		pthread_mutex_unlock(&coord->mu);
		return KERR_NOT_COORDINATOR;
	}
	struct cgroup *cg = coord_group_get(coord, group_id);
	for (int32_t i = 0; i < count; i++) {
		struct group_offset *o = &offsets[i];
		if (cg)
			fill_offset(o, goffsets_get(&cg->offsets, o->topic, o->partition),
				    unstable(cg, require_stable, o->topic, o->partition), arena);
		else
			fill_offset(o, NULL, false, arena);
	}
	pthread_mutex_unlock(&coord->mu);
	return KERR_NONE;
}

static int offset_cmp(const void *a, const void *b)
{
	const struct group_offset *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	if (c)
		return c;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

int16_t group_fetch_all_offsets(struct group_coordinator *coord, const char *group_id, bool require_stable,
				struct arena *arena, struct group_offset **out, int32_t *count)
{
	*out = NULL;
	*count = 0;
	if (!group_id)
		return KERR_INVALID_GROUP_ID;
	pthread_mutex_lock(&coord->mu);
	if (!coord->serving) {
		pthread_mutex_unlock(&coord->mu);
		return KERR_NOT_COORDINATOR;
	}
	struct cgroup *cg = coord_group_get(coord, group_id);
	if (cg && cg->offsets.count) {
		struct group_offset *list = arena_alloc(arena, sizeof(*list) * cg->offsets.count);
		int32_t n = 0;
		struct hmap_iter it;
		hmap_iter_init(&it, &cg->offsets);
		struct hmap_entry *e;
		while ((e = hmap_iter_next(&it))) {
			const char *topic;
			goffsets_key_split(e, &topic, &list[n].partition);
			list[n].topic = arena_strndup(arena, topic, strlen(topic));
			fill_offset(&list[n], e->value, unstable(cg, require_stable, topic, list[n].partition), arena);
			n++;
		}
		qsort(list, (size_t)n, sizeof(*list), offset_cmp);
		*out = list;
		*count = n;
	}
	pthread_mutex_unlock(&coord->mu);
	return KERR_NONE;
}

/* ---- OffsetDelete ------------------------------------------------------------------ */

int group_delete_offsets(struct group_coordinator *coord, const char *group_id, int32_t count,
			 struct group_offset_delete *parts, int16_t *group_error, group_write_cb done, void *arg)
{
	*group_error = KERR_NONE;
	if (!group_id || !*group_id) {
		*group_error = KERR_INVALID_GROUP_ID;
		return 0;
	}
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	struct cgroup *cg = coord->serving ? coord_group_get(coord, group_id) : NULL;
	if (!coord->serving)
		*group_error = KERR_NOT_COORDINATOR;
	else if (!cg || grp_state(cg->grp) == GRP_DEAD)
		*group_error = KERR_GROUP_ID_NOT_FOUND;
	if (*group_error) {
		pthread_mutex_unlock(&coord->mu);
		return 0;
	}
	enum grp_state state = grp_state(cg->grp);
	const char *ptype = grp_protocol_type(cg->grp);
	bool consumer = ptype && strcmp(ptype, "consumer") == 0;
	if (state != GRP_EMPTY && !consumer) {
		pthread_mutex_unlock(&coord->mu);
		*group_error = KERR_NON_EMPTY_GROUP;
		return 0;
	}
	struct batch_builder batch;
	struct bytebuf key;
	batch_builder_init(&batch, now.wall_ms);
	bytebuf_init(&key);
	for (int32_t i = 0; i < count; i++) {
		struct group_offset_delete *p = &parts[i];
		if (p->error != KERR_NONE)
			continue;
		if (state != GRP_EMPTY && grp_subscribed_to(cg->grp, p->topic)) {
			p->error = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
			continue;
		}
		if (!goffsets_get(&cg->offsets, p->topic, p->partition) && !gtxn_has_pending(cg, p->topic, p->partition))
			continue;
		bytebuf_reset(&key);
		grec_offset_key(&key, group_id, p->topic, p->partition);
		batch_builder_add(&batch, key.data, key.len, NULL, -1);
	}
	struct coord_wait *wait = NULL;
	if (batch.count > 0) {
		wait = coord_wait_new(done, arg);
		int rc = coord_append(coord, group_id, &batch, wait, NULL, NULL);
		for (int32_t i = 0; i < count; i++) {
			struct group_offset_delete *p = &parts[i];
			if (p->error != KERR_NONE)
				continue;
			if (rc < 0) {
				p->error = group_error_from_err(rc);
			} else {
				goffsets_del(&cg->offsets, p->topic, p->partition);
				gtxn_drop_partition(cg, p->topic, p->partition);
			}
		}
		if (rc == 0)
			log_info("group", "group %s: deleted %d committed offsets", group_id, batch.count);
	}
	pthread_mutex_unlock(&coord->mu);
	batch_builder_fini(&batch);
	bytebuf_fini(&key);
	if (!wait)
		return 0;
	coord_wait_release(wait);
	return 1;
}

/* ---- expiry --------------------------------------------------------------------------- */

enum expiry_rule {
	EXPIRE_NONE,
	EXPIRE_BY_STATE_TIME,     /* Empty group: all offsets, once Empty for the retention period */
	EXPIRE_UNSUBSCRIBED,      /* Stable consumer group: unsubscribed topics, by commit time */
	EXPIRE_BY_COMMIT_TIME,    /* never used group management: by commit time */
};

static enum expiry_rule expiry_rule(const struct grp *grp)
{
	const char *ptype = grp_protocol_type(grp);
	enum grp_state state = grp_state(grp);
	if (!ptype)
		return state == GRP_EMPTY ? EXPIRE_BY_COMMIT_TIME : EXPIRE_NONE;
	if (state == GRP_EMPTY)
		return EXPIRE_BY_STATE_TIME;
	if (strcmp(ptype, "consumer") == 0 && state == GRP_STABLE && grp_subscriptions_known(grp))
		return EXPIRE_UNSUBSCRIBED;
	return EXPIRE_NONE;
}

/* Expires one group's offsets; true if the group should be deleted. */
static bool expire_group(struct group_coordinator *coord, struct cgroup *cg, const struct grp_now *now,
			 int64_t *expired)
{
	const struct grp *grp = cg->grp;
	enum expiry_rule rule = expiry_rule(grp);
	struct batch_builder batch;
	struct bytebuf key;
	batch_builder_init(&batch, now->wall_ms);
	bytebuf_init(&key);
	if (rule != EXPIRE_NONE) {
		struct hmap_iter it;
		hmap_iter_init(&it, &cg->offsets);
		struct hmap_entry *e;
		while ((e = hmap_iter_next(&it))) {
			struct goffset *o = e->value;
			const char *topic;
			int32_t partition;
			goffsets_key_split(e, &topic, &partition);
			if (rule == EXPIRE_UNSUBSCRIBED && grp_subscribed_to(grp, topic))
				continue;
			if (gtxn_has_pending(cg, topic, partition))
				continue; /* an open transaction may still commit it */
			int64_t base = rule == EXPIRE_BY_STATE_TIME ? grp_state_timestamp(grp) : o->commit_ts;
			if (now->wall_ms - base < coord->retention_ms)
				continue;
			bytebuf_reset(&key);
			grec_offset_key(&key, grp_id(grp), topic, partition);
			batch_builder_add(&batch, key.data, key.len, NULL, -1);
			hmap_del(&cg->offsets, e->key, e->key_len); /* the current entry: allowed */
			goffset_free(o);
			(*expired)++;
		}
	}
	bool remove = grp_state(grp) == GRP_EMPTY && cg->offsets.count == 0 && cg->pending.count == 0;
	if (remove) {
		bytebuf_reset(&key);
		grec_group_key(&key, grp_id(grp));
		batch_builder_add(&batch, key.data, key.len, NULL, -1);
	}
	if (batch.count > 0) {
		int rc = coord_append(coord, grp_id(grp), &batch, NULL, NULL, NULL);
		if (rc < 0)
			log_warn("group", "cannot write tombstones for group %s: %s", grp_id(grp), strerror(-rc));
	}
	batch_builder_fini(&batch);
	bytebuf_fini(&key);
	return remove;
}

void coord_expire_offsets(struct group_coordinator *coord, const struct grp_now *now)
{
	int64_t expired = 0;
	int32_t removed = 0;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct cgroup *cg = e->value;
		if (expire_group(coord, cg, now, &expired)) {
			grp_set_dead(cg->grp, now);
			coord_group_remove(coord, cg); /* the current entry: allowed */
			removed++;
		}
	}
	if (expired || removed)
		log_info("group", "offset expiry: removed %lld expired offsets and %d empty groups", (long long)expired,
			 removed);
}
