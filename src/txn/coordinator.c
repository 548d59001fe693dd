/* The transaction coordinator: the map of transactional ids, the lock, the
 * writes to __transaction_state and their replay, the markers, the thread.
 * See coordinator.h for the threading contract.
 *
 * A change goes through a struct txn_op: prepared under the lock (the id's
 * transition becomes pending, txn/txn_meta.h), its record appended, and the
 * op handed to the flusher. The flusher's callback only queues the op; the
 * coordinator's thread takes it from the queue, applies the transition under
 * the lock and answers the request after dropping it. Ending a transaction
 * continues with an OP_MARKERS op on the same thread: a marker on every
 * partition (no coordinator lock held: the pending Complete* transition
 * keeps every other request away from the id), the flusher's callbacks count
 * them down, and the last one queues the op again to write Complete*.
 * Requests arriving for an id with a transition pending are parked on it
 * (struct waitlist) and run again, in order, when the transition ends.
 *
 * The queue has a lock of its own (qmu) that is never held while taking
 * another: flusher callbacks may run on any thread, including one that holds
 * the coordinator lock (a partition deleted by the last meta_topic_put()). */
#include "txn/coordinator.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/flusher.h"
#include "log/partition.h"
#include "meta/internal_topics.h"
#include "meta/scan.h"
#include "meta/topics.h"
#include "proto/batch.h"
#include "proto/gen/errors.h"
#include "txn/pid.h"
#include "txn/txn_log.h"
#include "txn/txn_partition.h"

#define TXN_MAX_SLEEP_MS 3600000
#define TXN_MARKER_RETRY_MS 1000

static const struct txn_clock real_clock = {clock_mono_ms, clock_wall_ms};

enum op_kind { OP_INIT, OP_ADD, OP_END, OP_DEAD, OP_MARKERS };

enum { MK_TODO, MK_WAIT, MK_DONE };

struct txn_op;

/* One partition of an OP_MARKERS op. */
struct marker_slot {
	struct txn_op *op;
	atomic_int state; /* MK_* */
};

struct txn_op {
	struct txn_op *next;          /* in the queue or the retry list */
	struct txn_coordinator *coord;
	enum op_kind kind;
	char *id;
	struct txn_transit transit;   /* the record written; OP_MARKERS: the Complete* to write after */
	int err;                      /* of the append's sync */
	bool fence;                   /* OP_END: an abort forced by the coordinator */
	bool answer_concurrent;       /* OP_END for an InitProducerId: CONCURRENT_TRANSACTIONS */
	txn_done_fn done;             /* NULL: nobody waits */
	void *arg;
	/* OP_MARKERS */
	bool ran;                     /* queued again by the last marker's sync */
	int64_t producer_id;
	int16_t epoch;
	bool commit;
	struct txn_tps parts;
	struct marker_slot *slots;
	atomic_int pending;           /* marker syncs outstanding, + 1 while they are being written */
	int64_t retry_at;             /* mono ms, in the retry list */
	int64_t started;              /* mono ms, for the log */
};

/* InitProducerId, AddPartitionsToTxn or EndTxn, parked while a transition
 * of its id is in flight. */
enum req_kind { REQ_INIT, REQ_ADD, REQ_END };

#define REQ_PARK 2

struct txn_request {
	struct txn_request *next;
	enum req_kind kind;
	char *id;                    /* owned once parked */
	int32_t timeout_ms;          /* REQ_INIT */
	int64_t producer_id;         /* REQ_INIT: the expected one, -1 if none */
	int16_t epoch;
	const struct txn_tps *parts; /* REQ_ADD; once parked: &own_parts */
	struct txn_tps own_parts;
	int16_t client_tv;
	bool commit;                 /* REQ_END */
	txn_done_fn done;
	void *arg;
	struct txn_result res;       /* the answer, once answered while parked */
};

/* The requests parked on one id. */
struct waitlist {
	struct txn_request *head, *tail;
	bool retrying; /* its markers wait for a retry: answer, do not park */
};

/* Answers collected under the lock, delivered after it. */
struct answers {
	struct txn_request *head, *tail;
};

static void rerun_parked(struct txn_coordinator *coord, const char *id, struct answers *out);
static void answers_add(struct answers *out, struct txn_request *rq, int16_t error);
static void answers_deliver(struct answers *out);
static struct waitlist *waitlist_get(struct txn_coordinator *coord, const char *id, bool create);

struct txn_coordinator {
	pthread_mutex_t mu; /* txns, their states, parked requests, appends to __transaction_state, ttopic */
	struct hmap txns;  /* transactional id -> struct txn_meta */
	struct hmap parked; /* transactional id -> struct waitlist */
	bool serving;
	struct meta_topic *ttopic;  /* __transaction_state, referenced; NULL until it exists */
	int32_t topic_partitions;   /* transaction.state.log.num.partitions (or the topic's count) */

	int32_t max_timeout_ms;     /* transaction.max.timeout.ms */
	int64_t abort_interval_ms;  /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
	int64_t expire_interval_ms; /* transaction.remove.expired.transaction.cleanup.interval.ms */
	int64_t id_expiration_ms;   /* transactional.id.expiration.ms */
	int64_t segment_bytes;      /* transaction.state.log.segment.bytes */
	int32_t load_buffer;        /* transaction.state.log.load.buffer.size */

	struct txn_clock clock;
	struct meta_topics *topics;
	struct log_flusher *flusher;
	struct txn_pids *pids;
	struct txn_pid_source pid_source;
	struct txn_hooks hooks;

	pthread_mutex_t qmu; /* the queue; see the top of the file */
	pthread_cond_t qcond;
	struct txn_op *qhead, *qtail;
	int inflight;        /* ops alive: waiting for a sync, queued or retrying */
	bool stopping;
	pthread_t thread;
	bool thread_started;

	/* the processing thread's own (the coordinator thread, or a test's) */
	struct txn_op *retry;
	int retrying;
	bool recovered;
	int64_t next_abort_check;
	int64_t next_expire_check;
};

static const char *err_text(int err)
{
	if (err > -1000)
		return strerror(-err);
	return err == -SAMSA_ETOOLARGE ? "record too large" : err == -SAMSA_ERANGE ? "offset never appended"
											 : "internal error";
}

/* An append's error as Kafka's appendTransactionToLog answers it. */
static int16_t txn_error_from_err(int err)
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
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

static int pid_next(void *arg, int64_t *producer_id)
{
	struct txn_coordinator *coord = arg;
	return coord->pids ? txn_pids_next(coord->pids, producer_id) : -ENODEV;
}

static struct txn_meta *meta_get(struct txn_coordinator *coord, const char *id)
{
	return hmap_get(&coord->txns, id, strlen(id));
}

static void meta_put(struct txn_coordinator *coord, struct txn_meta *meta)
{
	txn_meta_free(hmap_put(&coord->txns, meta->id, strlen(meta->id), meta));
}

static void meta_remove(struct txn_coordinator *coord, const char *id)
{
	txn_meta_free(hmap_del(&coord->txns, id, strlen(id)));
}

/* ---- ops and the queue ------------------------------------------------------------ */

static struct txn_op *op_new(struct txn_coordinator *coord, enum op_kind kind, const char *id)
{
	struct txn_op *op = xcalloc(1, sizeof(*op));
	op->coord = coord;
	op->kind = kind;
	op->id = xstrdup(id);
	pthread_mutex_lock(&coord->qmu);
	coord->inflight++;
	pthread_mutex_unlock(&coord->qmu);
	return op;
}

static void op_free(struct txn_op *op)
{
	struct txn_coordinator *coord = op->coord;
	txn_transit_free(&op->transit);
	txn_tps_free(&op->parts);
	free(op->slots);
	free(op->id);
	free(op);
	pthread_mutex_lock(&coord->qmu);
	coord->inflight--;
	pthread_cond_broadcast(&coord->qcond);
	pthread_mutex_unlock(&coord->qmu);
}

static void queue_push(struct txn_op *op)
{
	struct txn_coordinator *coord = op->coord;
	pthread_mutex_lock(&coord->qmu);
	op->next = NULL;
	if (coord->qtail)
		coord->qtail->next = op;
	else
		coord->qhead = op;
	coord->qtail = op;
	pthread_cond_broadcast(&coord->qcond);
	pthread_mutex_unlock(&coord->qmu);
}

/* Flusher callback (any thread): the op's record is durable, or not. */
static void op_synced(void *arg, int err)
{
	struct txn_op *op = arg;
	op->err = err;
	queue_push(op);
}

/* ---- writing to __transaction_state --------------------------------------------- */

static int ensure_topic(struct txn_coordinator *coord)
{
	if (coord->ttopic)
		return 0;
	struct meta_topic *topic;
	int rc = meta_internal_topic_open(coord->topics, META_TXN_STATE_TOPIC, coord->topic_partitions,
					  coord->segment_bytes, "uncompressed", "txn", &topic);
	if (rc < 0)
		return rc;
	coord->ttopic = topic;
	coord->topic_partitions = topic->partition_count;
	return 0;
}

/* Appends id's record (t NULL: a tombstone). Under mu. Returns 0 with the
 * partition and the offset after the record, or -errno. */
static int append_record(struct txn_coordinator *coord, const char *id, const struct txn_transit *t,
			 struct log_partition **part, int64_t *end)
{
	int rc = ensure_topic(coord);
	if (rc < 0)
		return rc;
	size_t klen, vlen = 0;
	uint8_t *key = txn_log_key(id, &klen);
	uint8_t *value = t ? txn_log_value(t, &vlen) : NULL;
	int64_t now = coord->clock.wall_ms();
	struct batch_builder batch;
	batch_builder_init(&batch, now);
	batch_builder_add(&batch, key, klen, value, value ? (int32_t)vlen : -1);
	batch_builder_finish(&batch);
	free(key);
	free(value);
	int32_t p = meta_internal_partition_for(id, coord->topic_partitions);
	*part = coord->ttopic->partitions[p];
	struct log_append_result res;
	if (batch.buf.len > (size_t)coord->ttopic->log_config.max_message_bytes)
		rc = -SAMSA_ETOOLARGE;
	else
		rc = log_partition_append(*part, batch.buf.data, batch.buf.len, batch.count, now, &res);
	batch_builder_fini(&batch);
	if (rc < 0) {
		log_error("txn", "append to %s-%d for transactional id %s failed: %s", META_TXN_STATE_TOPIC, p, id,
			  err_text(rc));
		return rc;
	}
	*end = res.last_offset + 1;
	return 0;
}

/* Appends op's record (a tombstone for OP_DEAD) and hands op to the
 * flusher. Under mu. Returns 0 (op now belongs to the queue), or -errno
 * (op untouched). */
static int op_write(struct txn_coordinator *coord, struct txn_op *op)
{
	struct log_partition *part;
	int64_t end;
	int rc = append_record(coord, op->id, op->kind == OP_DEAD ? NULL : &op->transit, &part, &end);
	if (rc < 0)
		return rc;
	if (coord->flusher)
		log_flusher_wait(coord->flusher, part, end, op_synced, op);
	else
		op_synced(op, log_partition_sync(part));
	return 0;
}

/* Prepares nothing: op carries a transition already pending on meta. On an
 * append error the transition is dropped and *res gets the error. Under mu.
 * Returns 0 (answered in *res) or 1 (op queued). */
static int op_submit(struct txn_coordinator *coord, struct txn_meta *meta, struct txn_op *op, struct txn_result *res)
{
	int rc = op_write(coord, op);
	if (rc == 0)
		return 1;
	txn_meta_abandon(meta, op->fence);
	*res = (struct txn_result){txn_error_from_err(rc), -1, -1};
	op_free(op);
	return 0;
}

/* ---- markers -------------------------------------------------------------------- */

static bool is_offsets_topic(const char *topic)
{
	return strcmp(topic, META_OFFSETS_TOPIC) == 0;
}

/* meta's Prepare* record is durable: its markers go out, then Complete*.
 * Under mu. */
static void markers_start(struct txn_coordinator *coord, struct txn_meta *meta)
{
	struct txn_op *mk = op_new(coord, OP_MARKERS, meta->id);
	mk->producer_id = meta->producer_id;
	mk->epoch = meta->epoch;
	mk->commit = meta->state == TXN_PREPARE_COMMIT;
	txn_tps_copy(&mk->parts, &meta->partitions);
	mk->slots = xcalloc((size_t)mk->parts.n + 1, sizeof(*mk->slots));
	for (int32_t i = 0; i < mk->parts.n; i++) {
		mk->slots[i].op = mk;
		atomic_init(&mk->slots[i].state, MK_TODO);
	}
	txn_meta_prepare_complete(meta, coord->clock.wall_ms(), &mk->transit);
	mk->started = coord->clock.mono_ms();
	queue_push(mk);
}

static void markers_release(struct txn_op *mk)
{
	if (atomic_fetch_sub(&mk->pending, 1) == 1)
		queue_push(mk);
}

/* Flusher callback (any thread): one marker is durable, or not. A partition
 * deleted meanwhile needs no marker any more. */
static void marker_synced(void *arg, int err)
{
	struct marker_slot *slot = arg;
	struct txn_op *mk = slot->op;
	if (err && err != -ENOENT)
		log_warn("txn", "marker of transactional id %s (producer %lld) not synced: %s; retrying", mk->id,
			 (long long)mk->producer_id, err_text(err));
	atomic_store(&slot->state, err && err != -ENOENT ? MK_TODO : MK_DONE);
	markers_release(mk);
}

/* Writes the markers still to do (no lock held). */
static void markers_run(struct txn_coordinator *coord, struct txn_op *mk)
{
	mk->ran = true;
	atomic_store(&mk->pending, 1);
	int64_t now = coord->clock.wall_ms();
	for (int32_t i = 0; i < mk->parts.n; i++) {
		struct marker_slot *slot = &mk->slots[i];
		if (atomic_load(&slot->state) != MK_TODO)
			continue;
		const struct txn_tp *tp = &mk->parts.v[i];
		struct meta_topic *topic = meta_topic_get(coord->topics, tp->topic);
		if (!topic || tp->partition < 0 || tp->partition >= topic->partition_count) {
			log_info("txn", "%s-%d is gone: no marker for transactional id %s", tp->topic, tp->partition,
				 mk->id);
			atomic_store(&slot->state, MK_DONE);
			meta_topic_put(coord->topics, topic);
			continue;
		}
		struct log_partition *part = topic->partitions[tp->partition];
		int64_t offset;
		int rc;
		if (is_offsets_topic(tp->topic) && coord->hooks.offsets_marker)
			rc = coord->hooks.offsets_marker(coord->hooks.arg, tp->partition, mk->producer_id, mk->epoch,
							 mk->commit, TXN_COORDINATOR_EPOCH, &offset);
		else
			rc = txn_partition_write_marker(part, mk->producer_id, mk->epoch, mk->commit,
							TXN_COORDINATOR_EPOCH, now, &offset);
		if (rc == 0) {
			atomic_store(&slot->state, MK_WAIT);
			atomic_fetch_add(&mk->pending, 1);
			if (coord->flusher)
				log_flusher_wait(coord->flusher, part, offset + 1, marker_synced, slot);
			else
				marker_synced(slot, log_partition_sync(part));
		} else if (rc == -ESTALE || rc == -ENOTSUP) {
			/* a newer epoch wrote there (a later transaction ended it), or
			 * the partition keeps no producer state */
			log_warn("txn", "%s-%d refused the marker of transactional id %s (producer %lld, epoch %d): %s",
				 tp->topic, tp->partition, mk->id, (long long)mk->producer_id, mk->epoch,
				 err_text(rc));
			atomic_store(&slot->state, MK_DONE);
		} else {
			log_warn("txn", "cannot write the marker of transactional id %s to %s-%d: %s; retrying", mk->id,
				 tp->topic, tp->partition, err_text(rc));
		}
		meta_topic_put(coord->topics, topic);
	}
	markers_release(mk);
}

/* Every marker came back: retry the failed ones later, or write Complete*. */
static void markers_done(struct txn_coordinator *coord, struct txn_op *mk)
{
	bool todo = false;
	for (int32_t i = 0; i < mk->parts.n && !todo; i++)
		todo = atomic_load(&mk->slots[i].state) == MK_TODO;
	struct answers answers = {0};
	if (todo) {
		mk->retry_at = coord->clock.mono_ms() + TXN_MARKER_RETRY_MS;
		mk->next = coord->retry;
		coord->retry = mk;
		coord->retrying++;
		/* this may last: the id's requests are told to retry meanwhile */
		pthread_mutex_lock(&coord->mu);
		struct waitlist *wl = waitlist_get(coord, mk->id, true);
		wl->retrying = true;
		while (wl->head) {
			struct txn_request *rq = wl->head;
			wl->head = rq->next;
			answers_add(&answers, rq, KERR_CONCURRENT_TRANSACTIONS);
		}
		wl->tail = NULL;
		pthread_mutex_unlock(&coord->mu);
		answers_deliver(&answers);
		return;
	}
	log_debug("txn", "transactional id %s: %s markers on %d partitions written in %lld ms", mk->id,
		  mk->commit ? "commit" : "abort", mk->parts.n, (long long)(coord->clock.mono_ms() - mk->started));
	if (coord->hooks.markers_written)
		coord->hooks.markers_written(coord->hooks.arg);
	/* Complete* applies at once, without waiting for its sync: nobody waits
	 * for it, a crash before the sync leaves Prepare* (completed again at
	 * start-up), and any later record of the id is behind it in the same
	 * partition, so durable only with it. */
	pthread_mutex_lock(&coord->mu);
	struct txn_meta *meta = meta_get(coord, mk->id);
	struct log_partition *part;
	int64_t end;
	if (!coord->serving || !meta || meta->pending != mk->transit.state) {
		/* stopped meanwhile */
	} else if (append_record(coord, mk->id, &mk->transit, &part, &end) < 0) {
		/* the recovery pass starts the completion over */
		txn_meta_abandon(meta, false);
	} else {
		if (coord->flusher)
			log_flusher_kick(coord->flusher, part);
		else
			log_partition_sync(part);
		if (txn_meta_complete(meta, &mk->transit) < 0) {
			log_error("txn", "transactional id %s: cannot apply %s", mk->id,
				  txn_state_name(mk->transit.state));
			txn_meta_abandon(meta, false);
		}
	}
	struct waitlist *wl = waitlist_get(coord, mk->id, false);
	if (wl)
		wl->retrying = false;
	rerun_parked(coord, mk->id, &answers);
	pthread_mutex_unlock(&coord->mu);
	answers_deliver(&answers);
	op_free(mk);
}

/* ---- completing writes ----------------------------------------------------------- */

/* Declares the transaction ongoing at each partition of parts. */
static void begin_partitions(struct txn_coordinator *coord, int64_t producer_id, int16_t epoch,
			     const struct txn_tps *parts)
{
	for (int32_t i = 0; i < parts->n; i++) {
		struct meta_topic *topic = meta_topic_get(coord->topics, parts->v[i].topic);
		if (topic && parts->v[i].partition >= 0 && parts->v[i].partition < topic->partition_count)
			txn_partition_begin(topic->partitions[parts->v[i].partition], producer_id, epoch);
		meta_topic_put(coord->topics, topic);
	}
}

/* The record of a write op is durable (or failed): apply it, answer. */
static void op_complete(struct txn_coordinator *coord, struct txn_op *op)
{
	struct txn_result res = {KERR_NONE, -1, -1};
	pthread_mutex_lock(&coord->mu);
	struct txn_meta *meta = meta_get(coord, op->id);
	if (!meta || meta->pending != op->transit.state) {
		log_error("txn", "transactional id %s: a write completed for a transition that is not pending", op->id);
		res.error = KERR_UNKNOWN_SERVER_ERROR;
	} else if (op->err) {
		log_warn("txn", "transactional id %s: the %s record was not synced: %s", op->id,
			 txn_state_name(op->transit.state), err_text(op->err));
		txn_meta_abandon(meta, op->fence);
		res.error = txn_error_from_err(op->err);
	} else if (op->kind == OP_DEAD) {
		log_info("txn", "transactional id %s expired", op->id);
		meta_remove(coord, op->id);
	} else {
		struct txn_tps added = {0};
		if (op->kind == OP_ADD)
			for (int32_t i = 0; i < op->transit.partitions.n; i++)
				if (!txn_tps_contains(&meta->partitions, op->transit.partitions.v[i].topic,
						      op->transit.partitions.v[i].partition))
					txn_tps_add(&added, op->transit.partitions.v[i].topic,
						    op->transit.partitions.v[i].partition);
		if (txn_meta_complete(meta, &op->transit) < 0) {
			log_error("txn", "transactional id %s: cannot apply %s (producer %lld epoch %d) to %s "
					 "(producer %lld epoch %d)",
				  op->id, txn_state_name(op->transit.state), (long long)op->transit.producer_id,
				  op->transit.epoch, txn_state_name(meta->state), (long long)meta->producer_id,
				  meta->epoch);
			txn_meta_abandon(meta, false);
			res.error = KERR_UNKNOWN_SERVER_ERROR;
		} else if (op->kind == OP_INIT) {
			res.producer_id = meta->producer_id;
			res.producer_epoch = meta->epoch;
			log_info("txn", "transactional id %s: producer id %lld, epoch %d", op->id,
				 (long long)meta->producer_id, meta->epoch);
		} else if (op->kind == OP_ADD) {
			begin_partitions(coord, meta->producer_id, meta->epoch, &added);
		} else if (op->kind == OP_END) {
			if (op->answer_concurrent) {
				res.error = KERR_CONCURRENT_TRANSACTIONS;
			} else if (meta->client_tv >= TXN_TV2) {
				bool rotate = meta->next_producer_id != -1;
				res.producer_id = rotate ? meta->next_producer_id : meta->producer_id;
				res.producer_epoch = rotate ? 0 : meta->epoch;
			}
			if (coord->serving)
				markers_start(coord, meta);
		}
		txn_tps_free(&added);
	}
	struct answers answers = {0};
	rerun_parked(coord, op->id, &answers);
	pthread_mutex_unlock(&coord->mu);
	if (op->done)
		op->done(op->arg, &res);
	answers_deliver(&answers);
	op_free(op);
}

static void op_process(struct txn_coordinator *coord, struct txn_op *op)
{
	if (op->kind != OP_MARKERS) {
		op_complete(coord, op);
		return;
	}
	pthread_mutex_lock(&coord->mu);
	bool serving = coord->serving;
	pthread_mutex_unlock(&coord->mu);
	if (!serving) /* stopped: the next start-up writes the markers */
		op_free(op);
	else if (!op->ran)
		markers_run(coord, op);
	else
		markers_done(coord, op);
}

/* ---- timers ------------------------------------------------------------------- */

/* The coordinator's abort of an ongoing transaction (its timeout passed, or
 * InitProducerId came): fence the epoch, then PrepareAbort. Under mu.
 * Returns the error before any write, or 0/1 as op_submit. */
static int abort_fenced(struct txn_coordinator *coord, struct txn_meta *meta, bool answer_concurrent,
			struct txn_result *res, txn_done_fn done, void *arg)
{
	struct txn_transit fence;
	int16_t err = txn_meta_prepare_fence(meta, &fence);
	struct txn_transit end;
	bool write = false;
	int64_t rpid;
	int16_t repoch;
	if (err == KERR_NONE)
		err = txn_meta_prepare_end(meta, fence.producer_id, fence.epoch, false, false, meta->client_tv,
					   coord->clock.wall_ms(), &coord->pid_source, &end, &write, &rpid, &repoch);
	txn_transit_free(&fence);
	if (err != KERR_NONE || !write) {
		if (meta->pending == TXN_PREPARE_EPOCH_FENCE)
			meta->pending = TXN_NONE;
		*res = (struct txn_result){err != KERR_NONE ? err : KERR_UNKNOWN_SERVER_ERROR, -1, -1};
		return 0;
	}
	struct txn_op *op = op_new(coord, OP_END, meta->id);
	op->transit = end;
	op->fence = true;
	op->answer_concurrent = answer_concurrent;
	op->done = done;
	op->arg = arg;
	return op_submit(coord, meta, op, res);
}

/* Aborts transactions open longer than their timeout; starts over the
 * completion of Prepare* ids with nothing pending (start-up recovery, a
 * failed Complete* write). Under mu. */
static void abort_and_recover(struct txn_coordinator *coord)
{
	int64_t now = coord->clock.wall_ms();
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txns);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct txn_meta *meta = e->value;
		if (meta->pending != TXN_NONE)
			continue;
		if (meta->state == TXN_PREPARE_COMMIT || meta->state == TXN_PREPARE_ABORT) {
			log_info("txn", "transactional id %s: completing its %s", meta->id, txn_state_name(meta->state));
			markers_start(coord, meta);
		} else if (meta->state == TXN_ONGOING && meta->start_ms + meta->timeout_ms < now) {
			log_info("txn", "transactional id %s (producer %lld, epoch %d): aborting the transaction open "
					"for %lld ms, longer than its timeout of %d ms",
				 meta->id, (long long)meta->producer_id, meta->epoch, (long long)(now - meta->start_ms),
				 meta->timeout_ms);
			struct txn_result res;
			if (abort_fenced(coord, meta, false, &res, NULL, NULL) == 0)
				log_warn("txn", "transactional id %s: the timeout abort failed with error %d", meta->id,
					 res.error);
		}
	}
}

/* transactional.id.expiration.ms: tombstones for ids idle that long. Under mu. */
static void expire_ids(struct txn_coordinator *coord)
{
	int64_t now = coord->clock.wall_ms();
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txns);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct txn_meta *meta = e->value;
		bool idle_state = meta->state == TXN_EMPTY || meta->state == TXN_COMPLETE_COMMIT ||
				  meta->state == TXN_COMPLETE_ABORT;
		if (meta->pending != TXN_NONE || !idle_state || meta->update_ms > now - coord->id_expiration_ms)
			continue;
		struct txn_op *op = op_new(coord, OP_DEAD, meta->id);
		txn_meta_prepare_dead(meta, &op->transit);
		struct txn_result res;
		if (op_submit(coord, meta, op, &res) == 0)
			log_warn("txn", "cannot expire transactional id %s: error %d", meta->id, res.error);
	}
}

/* Runs what is due; returns when the next thing is (mono ms). */
static int64_t run_timers(struct txn_coordinator *coord)
{
	int64_t now = coord->clock.mono_ms();
	if (!coord->recovered || now >= coord->next_abort_check || now >= coord->next_expire_check) {
		pthread_mutex_lock(&coord->mu);
		if (coord->serving && (!coord->recovered || now >= coord->next_abort_check)) {
			abort_and_recover(coord);
			coord->next_abort_check = now + coord->abort_interval_ms;
		}
		if (coord->serving && now >= coord->next_expire_check) {
			expire_ids(coord);
			coord->next_expire_check = now + coord->expire_interval_ms;
		}
		coord->recovered = true;
		pthread_mutex_unlock(&coord->mu);
	}
	int64_t next = coord->next_abort_check < coord->next_expire_check ? coord->next_abort_check
									   : coord->next_expire_check;
	struct txn_op **pp = &coord->retry;
	while (*pp) {
		struct txn_op *mk = *pp;
		if (mk->retry_at <= now) {
			*pp = mk->next;
			coord->retrying--;
			markers_run(coord, mk);
		} else {
			if (mk->retry_at < next)
				next = mk->retry_at;
			pp = &mk->next;
		}
	}
	return next;
}

/* One pass: every queued op, then what is due (unless stopping, when
 * marker retries are dropped: the next start-up does them). Returns when
 * the next timer is due. */
static int64_t coord_pass(struct txn_coordinator *coord)
{
	pthread_mutex_lock(&coord->qmu);
	struct txn_op *list = coord->qhead;
	coord->qhead = coord->qtail = NULL;
	bool stopping = coord->stopping;
	pthread_mutex_unlock(&coord->qmu);
	while (list) {
		struct txn_op *next = list->next;
		op_process(coord, list);
		list = next;
	}
	if (!stopping)
		return run_timers(coord);
	while (coord->retry) {
		struct txn_op *mk = coord->retry;
		coord->retry = mk->next;
		coord->retrying--;
		op_free(mk);
	}
	return INT64_MAX;
}


static void *coord_thread_main(void *arg)
{
	struct txn_coordinator *coord = arg;
	for (;;) {
		int64_t next = coord_pass(coord);
		pthread_mutex_lock(&coord->qmu);
		if (!coord->qhead) {
			if (coord->stopping && coord->inflight == 0) {
				pthread_mutex_unlock(&coord->qmu);
				break;
			}
			int64_t delay = next - coord->clock.mono_ms();
			if (coord->stopping || delay > TXN_MAX_SLEEP_MS)
				delay = TXN_MAX_SLEEP_MS;
			clock_cond_wait_ms(&coord->qcond, &coord->qmu, delay);
		}
		pthread_mutex_unlock(&coord->qmu);
	}
	return NULL;
}

void txn_coordinator_tick(struct txn_coordinator *coord)
{
	coord_pass(coord);
}

void txn_coordinator_settle(struct txn_coordinator *coord)
{
	for (;;) {
		coord_pass(coord);
		pthread_mutex_lock(&coord->qmu);
		bool idle = !coord->qhead && coord->inflight == coord->retrying;
		if (!idle && !coord->qhead)
			clock_cond_wait_ms(&coord->qcond, &coord->qmu, 10);
		pthread_mutex_unlock(&coord->qmu);
		if (idle)
			return;
	}
}

/* ---- start-up replay ------------------------------------------------------------ */

struct replay {
	struct txn_coordinator *coord;
	int64_t records;
	int skipped;
};

static int replay_record(void *arg, const struct batch_info *batch, const uint8_t *key, int32_t key_len,
			 const uint8_t *value, int32_t value_len, int64_t offset)
{
	(void)offset;
	struct replay *rp = arg;
	if (batch->control)
		return 0;
	rp->records++;
	char *id;
	int rc = key ? txn_log_parse_key(key, (size_t)key_len, &id) : -SAMSA_ECORRUPT;
	if (rc)
		return rc < 0 ? rc : 0;
	struct txn_transit t;
	if (!value) {
		meta_remove(rp->coord, id);
	} else if ((rc = txn_log_parse_value(value, (size_t)value_len, &t)) == 0) {
		if (t.state == TXN_DEAD || t.state == TXN_PREPARE_EPOCH_FENCE)
			meta_remove(rp->coord, id); /* never written by Kafka either */
		else
			meta_put(rp->coord, txn_meta_from_transit(id, &t));
		txn_transit_free(&t);
	}
	free(id);
	return rc;
}

static int replay_batches(void *arg, int32_t partition, const uint8_t *data, size_t len)
{
	(void)partition;
	struct replay *rp = arg;
	return batches_foreach_record(data, len, replay_record, rp, &rp->skipped);
}

static int coord_replay(struct txn_coordinator *coord, char errmsg[ERRMSG_SIZE])
{
	struct meta_topic *topic = meta_topic_get(coord->topics, META_TXN_STATE_TOPIC);
	if (!topic)
		return 0;
	coord->ttopic = topic;
	coord->topic_partitions = topic->partition_count;
	int64_t t0 = clock_mono_ms();
	struct replay rp = {.coord = coord};
	int rc = meta_topic_scan(topic, coord->load_buffer, replay_batches, &rp, errmsg);
	if (rc)
		return rc < 0 ? rc : -SAMSA_ECORRUPT;
	int ongoing = 0, prepared = 0;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txns);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct txn_meta *meta = e->value;
		if (meta->state == TXN_ONGOING) {
			ongoing++;
			begin_partitions(coord, meta->producer_id, meta->epoch, &meta->partitions);
		} else if (meta->state == TXN_PREPARE_COMMIT || meta->state == TXN_PREPARE_ABORT) {
			prepared++;
		}
	}
	log_info("txn", "loaded %zu transactional ids (%d ongoing, %d to complete) from %lld records of %s in %lld ms",
		 coord->txns.count, ongoing, prepared, (long long)rp.records, META_TXN_STATE_TOPIC,
		 (long long)(clock_mono_ms() - t0));
	if (rp.skipped)
		log_warn("txn", "%s: skipped %d compressed or legacy batches", META_TXN_STATE_TOPIC, rp.skipped);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------- */

struct txn_coordinator *txn_coordinator_open(const struct config *cfg, struct meta_topics *topics,
					     struct log_flusher *flusher, struct txn_pids *pids,
					     const struct txn_hooks *hooks, const struct txn_coordinator_options *opts,
					     char errmsg[ERRMSG_SIZE])
{
	struct txn_coordinator *coord = xcalloc(1, sizeof(*coord));
	pthread_mutex_init(&coord->mu, NULL);
	pthread_mutex_init(&coord->qmu, NULL);
	clock_cond_init(&coord->qcond);
	hmap_init(&coord->txns);
	hmap_init(&coord->parked);
	coord->clock = opts && opts->clock ? *opts->clock : real_clock;
	coord->max_timeout_ms = (int32_t)config_get_int(cfg, "transaction.max.timeout.ms");
	coord->abort_interval_ms = config_get_int(cfg, "transaction.abort.timed.out.transaction.cleanup.interval.ms");
	coord->expire_interval_ms = config_get_int(cfg, "transaction.remove.expired.transaction.cleanup.interval.ms");
	coord->id_expiration_ms = config_get_int(cfg, "transactional.id.expiration.ms");
	coord->topic_partitions = (int32_t)config_get_int(cfg, "transaction.state.log.num.partitions");
	coord->segment_bytes = config_get_int(cfg, "transaction.state.log.segment.bytes");
	coord->load_buffer = (int32_t)config_get_int(cfg, "transaction.state.log.load.buffer.size");
	coord->topics = topics;
	coord->flusher = flusher;
	coord->pids = pids;
	coord->pid_source = (struct txn_pid_source){pid_next, coord};
	if (hooks)
		coord->hooks = *hooks;
	coord->serving = true;
	int64_t now = coord->clock.mono_ms();
	coord->next_abort_check = now + coord->abort_interval_ms;
	coord->next_expire_check = now + coord->expire_interval_ms;

	if (coord_replay(coord, errmsg) < 0) {
		txn_coordinator_close(coord);
		return NULL;
	}
	if (!(opts && opts->no_thread)) {
		int rc = pthread_create(&coord->thread, NULL, coord_thread_main, coord);
		if (rc != 0) {
			err_printf(errmsg, "cannot start the transaction coordinator thread: %s", strerror(rc));
			txn_coordinator_close(coord);
			return NULL;
		}
		coord->thread_started = true;
	}
	return coord;
}

void txn_coordinator_stop(struct txn_coordinator *coord)
{
	struct answers answers = {0};
	pthread_mutex_lock(&coord->mu);
	coord->serving = false;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->parked);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		struct waitlist *wl = e->value;
		while (wl->head) {
			struct txn_request *rq = wl->head;
			wl->head = rq->next;
			answers_add(&answers, rq, KERR_NOT_COORDINATOR);
		}
		hmap_del(&coord->parked, e->key, e->key_len);
		free(wl);
	}
	pthread_mutex_unlock(&coord->mu);
	answers_deliver(&answers);
	pthread_mutex_lock(&coord->qmu);
	coord->stopping = true;
	pthread_cond_broadcast(&coord->qcond);
	pthread_mutex_unlock(&coord->qmu);
	if (coord->thread_started) {
		pthread_join(coord->thread, NULL);
		coord->thread_started = false;
		return;
	}
	for (;;) { /* no thread: drain here */
		coord_pass(coord);
		pthread_mutex_lock(&coord->qmu);
		bool done = !coord->qhead && coord->inflight == 0;
		if (!done && !coord->qhead)
			clock_cond_wait_ms(&coord->qcond, &coord->qmu, TXN_MAX_SLEEP_MS);
		pthread_mutex_unlock(&coord->qmu);
		if (done)
			break;
	}
}

void txn_coordinator_close(struct txn_coordinator *coord)
{
	if (!coord)
		return;
	txn_coordinator_stop(coord);
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txns);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it)))
		meta_remove(coord, ((struct txn_meta *)e->value)->id);
	hmap_fini(&coord->txns);
	hmap_fini(&coord->parked);
	if (coord->ttopic)
		meta_topic_put(coord->topics, coord->ttopic);
	pthread_cond_destroy(&coord->qcond);
	pthread_mutex_destroy(&coord->qmu);
	pthread_mutex_destroy(&coord->mu);
	free(coord);
}

/* ---- requests --------------------------------------------------------------------- */

static int answer(struct txn_result *res, int16_t error)
{
	*res = (struct txn_result){error, -1, -1};
	return 0;
}

static struct waitlist *waitlist_get(struct txn_coordinator *coord, const char *id, bool create)
{
	struct waitlist *wl = hmap_get(&coord->parked, id, strlen(id));
	if (!wl && create) {
		wl = xcalloc(1, sizeof(*wl));
		hmap_put(&coord->parked, id, strlen(id), wl);
	}
	return wl;
}

static void waitlist_drop_if_idle(struct txn_coordinator *coord, const char *id, struct waitlist *wl)
{
	if (!wl->head && !wl->retrying) {
		hmap_del(&coord->parked, id, strlen(id));
		free(wl);
	}
}

static void request_free(struct txn_request *rq)
{
	txn_tps_free(&rq->own_parts);
	free(rq->id);
	free(rq);
}

/* Queues rq's answer: error, or (NONE) the one already in rq->res. */
static void answers_add(struct answers *out, struct txn_request *rq, int16_t error)
{
	if (error != KERR_NONE)
		rq->res = (struct txn_result){error, -1, -1};
	rq->next = NULL;
	if (out->tail)
		out->tail->next = rq;
	else
		out->head = rq;
	out->tail = rq;
}

/* Calls the answers collected under the lock (after dropping it). */
static void answers_deliver(struct answers *out)
{
	struct txn_request *rq = out->head;
	while (rq) {
		struct txn_request *next = rq->next;
		rq->done(rq->arg, &rq->res);
		request_free(rq);
		rq = next;
	}
	out->head = out->tail = NULL;
}

/* One request against the id's state. Under mu. Returns 0 (answered in
 * *res), 1 (a write is queued: rq->done follows), or REQ_PARK: a transition
 * of the id is in flight, so the request waits for it instead of making the
 * client retry (Kafka answers CONCURRENT_TRANSACTIONS there; librdkafka can
 * turn that into a fatal error when it races an abort). */
static int request_run(struct txn_coordinator *coord, struct txn_request *rq, struct txn_result *res)
{
	if (!coord->serving)
		return answer(res, KERR_NOT_COORDINATOR);
	struct txn_meta *meta = meta_get(coord, rq->id);
	if (meta && meta->pending != TXN_NONE) {
		struct waitlist *wl = waitlist_get(coord, rq->id, false);
		if (!wl || !wl->retrying)
			return REQ_PARK;
	}
	int64_t now = coord->clock.wall_ms();
	struct txn_transit t;
	bool write = false;
	enum op_kind kind;
	if (rq->kind == REQ_INIT) {
		if (!meta) {
			int64_t pid;
			if (pid_next(coord, &pid) < 0)
				return answer(res, KERR_COORDINATOR_NOT_AVAILABLE);
			meta = txn_meta_new(rq->id, pid, rq->timeout_ms, now);
			meta_put(coord, meta);
		}
		answer(res, txn_meta_prepare_init(meta, rq->timeout_ms, rq->producer_id != -1, rq->producer_id,
						  rq->epoch, now, &coord->pid_source, &t));
		if (res->error == KERR_NONE && t.state == TXN_PREPARE_EPOCH_FENCE) {
			/* abort the ongoing transaction first; the client retries */
			txn_meta_abandon(meta, false);
			txn_transit_free(&t);
			log_info("txn", "transactional id %s initialized again during a transaction: aborting it",
				 rq->id);
			return abort_fenced(coord, meta, true, res, rq->done, rq->arg);
		}
		write = res->error == KERR_NONE;
		kind = OP_INIT;
	} else if (!meta) {
		return answer(res, KERR_INVALID_PRODUCER_ID_MAPPING);
	} else if (rq->kind == REQ_ADD) {
		answer(res, txn_meta_prepare_add(meta, rq->producer_id, rq->epoch, rq->parts, rq->client_tv, now, &t,
						 &write));
		kind = OP_ADD;
	} else {
		int64_t rpid;
		int16_t repoch;
		answer(res, txn_meta_prepare_end(meta, rq->producer_id, rq->epoch, rq->commit, true, rq->client_tv,
						 now, &coord->pid_source, &t, &write, &rpid, &repoch));
		res->producer_id = rpid;
		res->producer_epoch = repoch;
		if (res->error != KERR_NONE)
			log_info("txn", "EndTxn(%s) of transactional id %s (producer %lld, epoch %d): error %d in state %s",
				 rq->commit ? "commit" : "abort", rq->id, (long long)rq->producer_id, rq->epoch,
				 res->error, txn_state_name(meta->state));
		kind = OP_END;
	}
	if (!write)
		return 0;
	struct txn_op *op = op_new(coord, kind, rq->id);
	op->transit = t;
	op->done = rq->done;
	op->arg = rq->arg;
	return op_submit(coord, meta, op, res);
}

/* A transition of id ended: the requests parked on it run, in order, until
 * one starts another. Under mu; answers go to *out. */
static void rerun_parked(struct txn_coordinator *coord, const char *id, struct answers *out)
{
	struct waitlist *wl = waitlist_get(coord, id, false);
	if (!wl)
		return;
	char *key = xstrdup(id); /* id may belong to a meta a request removes */
	while (wl->head) {
		struct txn_meta *meta = meta_get(coord, key);
		if (meta && meta->pending != TXN_NONE)
			break;
		struct txn_request *rq = wl->head;
		wl->head = rq->next;
		if (!wl->head)
			wl->tail = NULL;
		struct txn_result res;
		int rc = request_run(coord, rq, &res);
		if (rc == 0) {
			rq->res = res;
			answers_add(out, rq, KERR_NONE);
		} else {
			request_free(rq); /* its op answers */
		}
	}
	waitlist_drop_if_idle(coord, key, wl);
	free(key);
}

/* Runs rq (the caller's, on its stack), parking a copy when it must wait. */
static int request_submit(struct txn_coordinator *coord, struct txn_request *rq, struct txn_result *res)
{
	if (!rq->id || !*rq->id)
		return answer(res, KERR_INVALID_REQUEST);
	if (rq->kind == REQ_INIT && (rq->timeout_ms <= 0 || rq->timeout_ms > coord->max_timeout_ms))
		return answer(res, KERR_INVALID_TRANSACTION_TIMEOUT);
	pthread_mutex_lock(&coord->mu);
	int rc = request_run(coord, rq, res);
	if (rc == REQ_PARK) {
		struct txn_request *copy = xmalloc(sizeof(*copy));
		*copy = *rq;
		copy->next = NULL;
		copy->id = xstrdup(rq->id);
		memset(&copy->own_parts, 0, sizeof(copy->own_parts));
		if (rq->parts)
			txn_tps_copy(&copy->own_parts, rq->parts);
		copy->parts = &copy->own_parts;
		struct waitlist *wl = waitlist_get(coord, rq->id, true);
		if (wl->tail)
			wl->tail->next = copy;
		else
			wl->head = copy;
		wl->tail = copy;
		rc = 1;
	}
	pthread_mutex_unlock(&coord->mu);
	return rc;
}

int txn_init_producer_id(struct txn_coordinator *coord, const char *transactional_id, int32_t timeout_ms,
			 int64_t expected_pid, int16_t expected_epoch, struct txn_result *res, txn_done_fn done,
			 void *arg)
{
	struct txn_request rq = {
		.kind = REQ_INIT,
		.id = (char *)transactional_id,
		.timeout_ms = timeout_ms,
		.producer_id = expected_pid,
		.epoch = expected_epoch,
		.done = done,
		.arg = arg,
	};
	return request_submit(coord, &rq, res);
}

int txn_add_partitions(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id,
		       int16_t epoch, const struct txn_tps *parts, int16_t client_tv, struct txn_result *res,
		       txn_done_fn done, void *arg)
{
	struct txn_request rq = {
		.kind = REQ_ADD,
		.id = (char *)transactional_id,
		.producer_id = producer_id,
		.epoch = epoch,
		.parts = parts,
		.client_tv = client_tv,
		.done = done,
		.arg = arg,
	};
	return request_submit(coord, &rq, res);
}

void txn_verify_partitions(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id,
			   int16_t epoch, const struct txn_tps *parts, int16_t *errors)
{
	pthread_mutex_lock(&coord->mu);
	struct txn_meta *meta = coord->serving && transactional_id ? meta_get(coord, transactional_id) : NULL;
	for (int32_t i = 0; i < parts->n; i++) {
		if (!transactional_id || !*transactional_id)
			errors[i] = KERR_INVALID_REQUEST;
		else if (!coord->serving)
			errors[i] = KERR_NOT_COORDINATOR;
		else if (!meta)
			errors[i] = KERR_INVALID_PRODUCER_ID_MAPPING;
		else
			errors[i] = txn_meta_verify(meta, producer_id, epoch, parts->v[i].topic, parts->v[i].partition);
	}
	pthread_mutex_unlock(&coord->mu);
}

int txn_end(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id, int16_t epoch,
	    bool commit, int16_t client_tv, struct txn_result *res, txn_done_fn done, void *arg)
{
	struct txn_request rq = {
		.kind = REQ_END,
		.id = (char *)transactional_id,
		.producer_id = producer_id,
		.epoch = epoch,
		.commit = commit,
		.client_tv = client_tv,
		.done = done,
		.arg = arg,
	};
	return request_submit(coord, &rq, res);
}

/* ---- admin ---------------------------------------------------------------------- */

static bool visible(const struct txn_meta *meta)
{
	return meta->state != TXN_DEAD && meta->pending != TXN_DEAD;
}

void txn_describe(struct txn_coordinator *coord, const char *transactional_id, struct arena *arena,
		  struct txn_description *out)
{
	memset(out, 0, sizeof(*out));
	out->state = "";
	out->producer_id = -1;
	out->producer_epoch = -1;
	out->start_ms = -1;
	if (!transactional_id || !*transactional_id) {
		out->error = KERR_INVALID_REQUEST;
		return;
	}
	pthread_mutex_lock(&coord->mu);
	struct txn_meta *meta = coord->serving ? meta_get(coord, transactional_id) : NULL;
	if (!coord->serving) {
		out->error = KERR_COORDINATOR_NOT_AVAILABLE;
	} else if (!meta || !visible(meta)) {
		out->error = KERR_TRANSACTIONAL_ID_NOT_FOUND;
	} else {
		out->state = txn_state_name(meta->state);
		out->timeout_ms = meta->timeout_ms;
		out->start_ms = meta->start_ms;
		out->producer_id = meta->producer_id;
		out->producer_epoch = meta->epoch;
		int32_t n = meta->partitions.n;
		out->partition_count = n;
		out->topics = arena_alloc(arena, sizeof(*out->topics) * (size_t)(n + 1));
		out->partitions = arena_alloc(arena, sizeof(*out->partitions) * (size_t)(n + 1));
		for (int32_t i = 0; i < n; i++) {
			const char *topic = meta->partitions.v[i].topic;
			out->topics[i] = arena_strndup(arena, topic, strlen(topic));
			out->partitions[i] = meta->partitions.v[i].partition;
		}
	}
	pthread_mutex_unlock(&coord->mu);
}

static int listing_cmp(const void *a, const void *b)
{
	return strcmp(((const struct txn_listing *)a)->transactional_id,
		      ((const struct txn_listing *)b)->transactional_id);
}

int16_t txn_list(struct txn_coordinator *coord, int32_t state_count, const enum txn_state *states,
		 int32_t pid_count, const int64_t *pids, int64_t min_duration_ms, struct arena *arena,
		 struct txn_listing **out, int32_t *count)
{
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&coord->mu);
	if (!coord->serving) {
		pthread_mutex_unlock(&coord->mu);
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	int64_t now = coord->clock.wall_ms();
	struct txn_listing *list = arena_alloc(arena, sizeof(*list) * (coord->txns.count + 1));
	int32_t n = 0;
	struct hmap_iter it;
	hmap_iter_init(&it, &coord->txns);
	struct hmap_entry *e;
	while ((e = hmap_iter_next(&it))) {
		const struct txn_meta *meta = e->value;
		if (!visible(meta))
			continue;
		bool match = state_count == 0;
		for (int32_t i = 0; i < state_count && !match; i++)
			match = states[i] == meta->state;
		if (!match)
			continue;
		match = pid_count == 0;
		for (int32_t i = 0; i < pid_count && !match; i++)
			match = pids[i] == meta->producer_id;
		if (!match || (min_duration_ms >= 0 && now - meta->start_ms <= min_duration_ms))
			continue;
		list[n].transactional_id = arena_strndup(arena, meta->id, strlen(meta->id));
		list[n].producer_id = meta->producer_id;
		list[n].state = txn_state_name(meta->state);
		n++;
	}
	pthread_mutex_unlock(&coord->mu);
	qsort(list, (size_t)n, sizeof(*list), listing_cmp);
	*out = list;
	*count = n;
	return KERR_NONE;
}
