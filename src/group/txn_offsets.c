/* Transactional offsets (KIP-98): TxnOffsetCommit and the transaction
 * markers that end them, as Kafka's group coordinator keeps them.
 *
 * TxnOffsetCommit writes its offset records as one transactional batch of
 * the producer (through the partition's producer state, which checks that
 * the transaction coordinator began the producer's transaction on that
 * __consumer_offsets partition: AddOffsetsToTxn) and keeps them pending in
 * the group, per producer id, invisible to OffsetFetch. The transaction
 * coordinator's marker (group_txn_end) commits them, each replacing the
 * committed offset unless that one's record is later in the log (a plain
 * OffsetCommit after the transactional one wins, whatever the order of the
 * marker), or drops them. Start-up replay does the same from the log:
 * transactional batches become pending, control batches end them, and what
 * has no marker yet stays pending for the transaction coordinator's recovery
 * to end. A tombstone (OffsetDelete, DeleteGroups, expiry) drops the pending
 * offsets of its partition too. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "group/coordinator_int.h"
#include "meta/topics.h"
#include "proto/gen/errors.h"
#include "txn/txn_partition.h"

/* The groups one producer left pending offsets in, on one partition. */
struct gtxn_groups {
	int32_t count;
	int32_t cap;
	char **ids;
};

/* Map keys: the producer id, then (coord->txn_groups) the partition, as
 * their bytes. */
static void txn_key(uint8_t key[12], int64_t producer_id, int32_t partition)
{
	memcpy(key, &producer_id, 8);
	memcpy(key + 8, &partition, 4);
}

/* ---- the pending offsets ------------------------------------------------------- */

static struct hmap *pending_of(const struct cgroup *cg, int64_t producer_id)
{
	return hmap_get(&cg->pending, &producer_id, sizeof(producer_id));
}

static void index_add(struct group_coordinator *coord, int64_t producer_id, const char *group_id)
{
	uint8_t key[12];
	txn_key(key, producer_id, meta_internal_partition_for(group_id, coord->topic_partitions));
	struct gtxn_groups *g = hmap_get(&coord->txn_groups, key, sizeof(key));
	if (!g) {
		g = xcalloc(1, sizeof(*g));
		hmap_put(&coord->txn_groups, key, sizeof(key), g);
	}
	for (int32_t i = 0; i < g->count; i++)
		if (strcmp(g->ids[i], group_id) == 0)
			return;
	if (g->count == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 2;
		g->ids = xrealloc(g->ids, sizeof(*g->ids) * (size_t)g->cap);
	}
	g->ids[g->count++] = xstrdup(group_id);
}

static void groups_free(struct gtxn_groups *g)
{
	for (int32_t i = 0; i < g->count; i++)
		free(g->ids[i]);
	free(g->ids);
	free(g);
}

struct hmap *gtxn_pending(struct group_coordinator *coord, struct cgroup *cg, int64_t producer_id)
{
	struct hmap *map = pending_of(cg, producer_id);
	if (!map) {
		map = xcalloc(1, sizeof(*map));
		hmap_init(map);
		hmap_put(&cg->pending, &producer_id, sizeof(producer_id), map);
		index_add(coord, producer_id, grp_id(cg->grp));
	}
	return map;
}

/* Moves the pending offsets into the committed ones, except where the
 * committed record is the later one (Kafka keeps the most recent record:
 * after a compaction of __consumer_offsets only that order is right). */
static void commit_pending(struct cgroup *cg, struct hmap *map)
{
	struct hmap_iter it;
	hmap_iter_init(&it, map);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct goffset *o = e->value;
		struct goffset *cur = hmap_get(&cg->offsets, e->key, e->key_len);
		if (cur && cur->log_offset > o->log_offset) {
			goffset_free(o);
			continue;
		}
		hmap_put(&cg->offsets, e->key, e->key_len, o);
		if (cur)
			goffset_free(cur);
	}
	hmap_fini(map);
	free(map);
}

void gtxn_complete(struct group_coordinator *coord, int32_t partition, int64_t producer_id, bool commit)
{
	uint8_t key[12];
	txn_key(key, producer_id, partition);
	struct gtxn_groups *g = hmap_del(&coord->txn_groups, key, sizeof(key));
	if (!g)
		return;
	for (int32_t i = 0; i < g->count; i++) {
		struct cgroup *cg = coord_group_get(coord, g->ids[i]);
		struct hmap *map = cg ? hmap_del(&cg->pending, &producer_id, sizeof(producer_id)) : NULL;
		if (!map)
			continue; /* the group was deleted meanwhile */
		if (commit) {
			commit_pending(cg, map);
		} else {
			goffsets_free_all(map);
			free(map);
		}
	}
	groups_free(g);
}

bool gtxn_has_pending(const struct cgroup *cg, const char *topic, int32_t partition)
{
	if (cg->pending.count == 0)
		return false;
	struct hmap_iter it;
	hmap_iter_init(&it, &cg->pending);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		if (goffsets_get(e->value, topic, partition))
			return true;
	return false;
}

void gtxn_drop_partition(struct cgroup *cg, const char *topic, int32_t partition)
{
	struct hmap_iter it;
	hmap_iter_init(&it, &cg->pending);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		goffsets_del(e->value, topic, partition);
}

void gtxn_free_group(struct cgroup *cg)
{
	struct hmap_iter it;
	hmap_iter_init(&it, &cg->pending);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		goffsets_free_all(e->value);
		free(e->value);
	}
	hmap_fini(&cg->pending);
}

void gtxn_free_index(struct group_coordinator *coord)
{
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txn_groups);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		groups_free(e->value);
	hmap_fini(&coord->txn_groups);
}

/* ---- TxnOffsetCommit ------------------------------------------------------------------ */

/* Kafka's answers when the partition refuses the batch (its verification
 * errors as AddPartitionsToTxnManager passes them to TxnOffsetCommit). */
static int16_t verdict_error(enum txn_verdict verdict, bool abortable_known)
{
	switch (verdict) {
	case TXN_NO_TXN:
		return abortable_known ? KERR_TRANSACTION_ABORTABLE : KERR_INVALID_TXN_STATE;
	case TXN_INVALID_EPOCH:
		return KERR_INVALID_PRODUCER_EPOCH;
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

int group_txn_commit_offsets(struct group_coordinator *coord, const struct group_txn_commit_args *txn,
			     group_write_cb done, void *arg)
{
	const struct group_commit_args *a = &txn->commit;
	if (!a->group_id || !*a->group_id) {
		goffsets_fail_all(a, KERR_INVALID_GROUP_ID);
		return 0;
	}
	if (txn->producer_id < 0 || txn->producer_epoch < 0) { /* what the transaction coordinator's check answers */
		goffsets_fail_all(a, txn->producer_id < 0 ? KERR_INVALID_PRODUCER_ID_MAPPING
							  : KERR_INVALID_PRODUCER_EPOCH);
		return 0;
	}
	pthread_mutex_lock(&coord->mu);
	struct grp_now now = coord_now(coord);
	int16_t err = KERR_NONE;
	struct cgroup *cg = NULL;
	bool created = false;
	if (!coord->serving) {
		err = KERR_NOT_COORDINATOR;
	} else {
		cg = coord_group_get(coord, a->group_id);
		if (!cg && a->generation < 0) {
			cg = coord_group_create(coord, a->group_id, &now); /* offsets-only group */
			created = true;
		}
		if (!cg)
			err = KERR_ILLEGAL_GENERATION;
		else
			err = grp_txn_commit_check(cg->grp, a->member_id ? a->member_id : "", a->instance_id,
						   a->generation);
	}
	if (err) {
		pthread_mutex_unlock(&coord->mu);
		goffsets_fail_all(a, err);
		return 0;
	}

	struct batch_builder batch;
	batch_builder_init(&batch, now.wall_ms);
	batch_builder_set_producer(&batch, txn->producer_id, txn->producer_epoch);
	goffsets_add_records(coord, a, now.wall_ms, &batch);
	struct coord_wait *wait = NULL;
	if (batch.count > 0) {
		wait = coord_wait_new(done, arg);
		int64_t base = -1;
		enum txn_verdict verdict = TXN_OK;
		int rc = coord_append(coord, a->group_id, &batch, wait, &base, &verdict);
		if (rc < 0)
			goffsets_fail_all(a, group_error_from_err(rc));
		else if (verdict != TXN_OK)
			goffsets_fail_all(a, verdict_error(verdict, txn->abortable_known));
		else
			goffsets_put_appended(gtxn_pending(coord, cg, txn->producer_id), a, base);
	}
	if (created && cg->offsets.count == 0 && cg->pending.count == 0)
		coord_group_remove(coord, cg); /* nothing was written for it */
	pthread_mutex_unlock(&coord->mu);
	batch_builder_fini(&batch);
	if (!wait)
		return 0;
	coord_wait_release(wait);
	return 1;
}

/* ---- the transaction coordinator's side ------------------------------------------------ */

int32_t group_offsets_partition(struct group_coordinator *coord, const char *group_id)
{
	pthread_mutex_lock(&coord->mu);
	int rc = coord_ensure_topic(coord);
	int32_t p = rc < 0 ? rc : meta_internal_partition_for(group_id, coord->topic_partitions);
	pthread_mutex_unlock(&coord->mu);
	return p;
}

int group_txn_end(struct group_coordinator *coord, int32_t partition, int64_t producer_id, int16_t epoch,
		  bool commit, int32_t coordinator_epoch, int64_t *marker_offset)
{
	pthread_mutex_lock(&coord->mu);
	int rc = coord_ensure_topic(coord);
	if (rc == 0 && (partition < 0 || partition >= coord->topic_partitions))
		rc = -EINVAL;
	if (rc == 0)
		rc = txn_partition_write_marker(coord->otopic->partitions[partition], producer_id, epoch, commit,
						coordinator_epoch, clock_wall_ms(), marker_offset);
	if (rc == 0)
		gtxn_complete(coord, partition, producer_id, commit);
	pthread_mutex_unlock(&coord->mu);
	if (rc < 0)
		log_warn("group", "cannot write the %s marker of producer %lld to %s-%d: %s", commit ? "commit" : "abort",
			 (long long)producer_id, META_OFFSETS_TOPIC, partition, strerror(-rc));
	return rc;
}
