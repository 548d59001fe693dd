/* The producer state machine of one partition (see producer_state.h): a hash
 * table of producer entries keyed by producer id, the sequence/epoch checks
 * Kafka applies to a client's batch, the update after an append or during
 * replay, expiry, and the snapshot encoding.
 *
 * The table is open addressing with linear probing and backward-shift
 * deletion (no tombstones), kept at most half full. Producer ids come from
 * our own allocator and are dense, so they are mixed (splitmix64) before
 * use as a hash.
 *
 * Snapshot blob, all big-endian:
 *   "SMSAPSN1"  magic (8)        u32 count       i64 offset
 *   count x { i64 producer id, i16 epoch, i32 coordinator epoch,
 *             i64 txn first offset, i64 last update ms, u8 nbatches,
 *             nbatches x { i32 first seq, i32 last seq, i64 first offset,
 *                          i32 offset delta, i64 append time } }
 *   u32 CRC-32C of everything before it. */
#include "txn/producer_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "txn/partition_int.h"

#define PSTATE_MAGIC "SMSAPSN1"
#define PSTATE_MAGIC_LEN 8
#define PSTATE_HEADER (PSTATE_MAGIC_LEN + 4 + 8)
#define PSTATE_PRODUCER_BYTES (8 + 2 + 4 + 8 + 8 + 1)
#define PSTATE_BATCH_BYTES (4 + 4 + 8 + 4 + 8)

struct txn_pstate {
	pthread_mutex_t mu;
	struct txn_producer *slots; /* producer_id -1: empty */
	size_t cap;                 /* power of two, or 0 */
	size_t count;
	uint64_t version;
};

/* ------------------------------------------------------------ batch view */

void txn_batch_from_header(const struct records_batch_header *hdr, struct txn_batch *b)
{
	b->producer_id = hdr->producer_id;
	b->epoch = hdr->producer_epoch;
	b->first_seq = hdr->base_sequence;
	b->offset_delta = hdr->last_offset_delta;
	b->transactional = (hdr->attributes & RECORDS_ATTR_TRANSACTIONAL) != 0;
	b->control = (hdr->attributes & RECORDS_ATTR_CONTROL) != 0;
	b->coordinator_epoch = -1;
	b->append_time = (hdr->attributes & RECORDS_ATTR_TIMESTAMP_TYPE) ? hdr->max_timestamp : -1;
}

int32_t txn_seq_add(int32_t seq, int32_t delta)
{
	if (seq > INT32_MAX - delta)
		return delta - (INT32_MAX - seq) - 1;
	return seq + delta;
}

/* Kafka's inSequence: next follows last, INT32_MAX wrapping to 0. */
static bool in_sequence(int32_t last, int32_t next)
{
	return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

const char *txn_verdict_name(enum txn_verdict v)
{
	switch (v) {
	case TXN_OK:
		return "OK";
	case TXN_DUPLICATE:
		return "DUPLICATE";
	case TXN_OUT_OF_ORDER:
		return "OUT_OF_ORDER_SEQUENCE";
	case TXN_INVALID_EPOCH:
		return "INVALID_PRODUCER_EPOCH";
	case TXN_INVALID:
		return "INVALID_RECORD";
	case TXN_NO_TXN:
		return "INVALID_TXN_STATE";
	}
	return "?";
}

/* ------------------------------------------------------------ hash table */

static size_t pid_hash(int64_t pid)
{
	uint64_t z = (uint64_t)pid + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (size_t)(z ^ (z >> 31));
}

struct txn_pstate *txn_pstate_new(void)
{
	struct txn_pstate *ps = xcalloc(1, sizeof(*ps));
	pthread_mutex_init(&ps->mu, NULL);
	return ps;
}

void txn_pstate_free(struct txn_pstate *ps)
{
	if (!ps)
		return;
	pthread_mutex_destroy(&ps->mu);
	free(ps->slots);
	free(ps);
}

void txn_pstate_lock(struct txn_pstate *ps)
{
	pthread_mutex_lock(&ps->mu);
}

void txn_pstate_unlock(struct txn_pstate *ps)
{
	pthread_mutex_unlock(&ps->mu);
}

size_t txn_pstate_count(const struct txn_pstate *ps)
{
	return ps->count;
}

uint64_t txn_pstate_version(const struct txn_pstate *ps)
{
	return ps->version;
}

static struct txn_producer *slot_find(const struct txn_pstate *ps, int64_t pid)
{
	if (!ps->cap)
		return NULL;
	size_t mask = ps->cap - 1;
	for (size_t i = pid_hash(pid) & mask;; i = (i + 1) & mask) {
		struct txn_producer *p = &ps->slots[i];
		if (p->producer_id == pid)
			return p;
		if (p->producer_id < 0)
			return NULL;
	}
}

const struct txn_producer *txn_pstate_find(const struct txn_pstate *ps, int64_t producer_id)
{
	return producer_id < 0 ? NULL : slot_find(ps, producer_id);
}

static void slots_alloc(struct txn_pstate *ps, size_t cap)
{
	ps->slots = xmalloc(cap * sizeof(*ps->slots));
	for (size_t i = 0; i < cap; i++)
		ps->slots[i].producer_id = -1;
	ps->cap = cap;
}

static struct txn_producer *slot_insert_new(struct txn_pstate *ps, int64_t pid)
{
	size_t mask = ps->cap - 1;
	size_t i = pid_hash(pid) & mask;
	while (ps->slots[i].producer_id >= 0)
		i = (i + 1) & mask;
	ps->count++;
	return &ps->slots[i];
}

static void table_grow(struct txn_pstate *ps)
{
	struct txn_producer *old = ps->slots;
	size_t old_cap = ps->cap;
	slots_alloc(ps, old_cap ? old_cap * 2 : 16);
	ps->count = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].producer_id >= 0)
			*slot_insert_new(ps, old[i].producer_id) = old[i];
	free(old);
}

static struct txn_producer *slot_get_or_add(struct txn_pstate *ps, int64_t pid, bool *added)
{
	struct txn_producer *p = slot_find(ps, pid);
	*added = false;
	if (p)
		return p;
	if ((ps->count + 1) * 2 > ps->cap)
		table_grow(ps);
	p = slot_insert_new(ps, pid);
	memset(p, 0, sizeof(*p));
	p->producer_id = pid;
	p->epoch = -1;
	p->coordinator_epoch = -1;
	p->txn_first_offset = -1;
	p->begun_epoch = -1;
	*added = true;
	return p;
}

/* Backward-shift deletion: later entries of the probe run move up so every
 * entry stays reachable from its home slot. */
static void slot_remove(struct txn_pstate *ps, size_t i)
{
	size_t mask = ps->cap - 1;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (ps->slots[j].producer_id < 0)
			break;
		size_t home = pid_hash(ps->slots[j].producer_id) & mask;
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			ps->slots[i] = ps->slots[j];
			i = j;
		}
	}
	ps->slots[i].producer_id = -1;
	ps->count--;
}

/* ---------------------------------------------------------------- checks */

enum txn_verdict txn_pstate_check(const struct txn_pstate *ps, const struct txn_batch *b,
				  struct txn_batch_meta *dup, char why[ERRMSG_SIZE])
{
	if (b->control) {
		err_printf(why, "Clients are not allowed to write control records (producer %" PRId64 ")",
			   b->producer_id);
		return TXN_INVALID;
	}
	if (b->first_seq < 0 || b->epoch < 0) {
		err_printf(why, "Invalid sequence number %d or epoch %d in record batch with producerId %"
			   PRId64, (int)b->first_seq, (int)b->epoch, b->producer_id);
		return TXN_INVALID;
	}
	int32_t last_seq = txn_seq_add(b->first_seq, b->offset_delta);
	const struct txn_producer *p = txn_pstate_find(ps, b->producer_id);
	if (!p || p->epoch < 0)
		return TXN_OK; /* unknown producer: any sequence (KIP-360) */

	if (b->epoch == p->epoch) {
		for (int i = 0; i < p->nbatches; i++) {
			const struct txn_batch_meta *m = &p->batches[i];
			if (m->first_seq == b->first_seq && m->last_seq == last_seq) {
				*dup = *m;
				return TXN_DUPLICATE;
			}
		}
	}
	if (b->epoch < p->epoch) {
		err_printf(why, "Epoch of producer %" PRId64 " is %d, which is smaller than the last seen "
			   "epoch %d", b->producer_id, (int)b->epoch, (int)p->epoch);
		return TXN_INVALID_EPOCH;
	}
	if (b->epoch != p->epoch) {
		if (b->first_seq != 0) {
			err_printf(why, "Invalid sequence number for new epoch of producer %" PRId64 ": %d "
				   "(request epoch), %d (seq. number), %d (current producer epoch)",
				   b->producer_id, (int)b->epoch, (int)b->first_seq, (int)p->epoch);
			return TXN_OUT_OF_ORDER;
		}
		return TXN_OK;
	}
	int32_t current_last = p->nbatches ? p->batches[p->nbatches - 1].last_seq : -1;
	if (!in_sequence(current_last, b->first_seq)) {
		err_printf(why, "Out of order sequence number for producer %" PRId64 ": %d (incoming seq. "
			   "number), %d (current end sequence number)", b->producer_id, (int)b->first_seq,
			   (int)current_last);
		return TXN_OUT_OF_ORDER;
	}
	return TXN_OK;
}

void txn_pstate_begin(struct txn_pstate *ps, int64_t producer_id, int16_t epoch, int64_t now_ms)
{
	if (producer_id < 0 || epoch < 0)
		return;
	bool added;
	struct txn_producer *p = slot_get_or_add(ps, producer_id, &added);
	p->begun_epoch = epoch;
	if (added) {
		p->last_update_ms = now_ms;
		ps->version++;
	}
}

enum txn_verdict txn_pstate_check_txn(const struct txn_pstate *ps, const struct txn_batch *b,
				      char why[ERRMSG_SIZE])
{
	const struct txn_producer *p = txn_pstate_find(ps, b->producer_id);
	bool ongoing = p && p->txn_first_offset >= 0;
	if (!b->transactional) {
		if (!ongoing)
			return TXN_OK;
		err_printf(why, "Expected transactional write from producer %" PRId64 " at offset %"
			   PRId64, b->producer_id, p->txn_first_offset);
		return TXN_NO_TXN;
	}
	if (ongoing && b->epoch == p->epoch)
		return TXN_OK;
	if (p && p->begun_epoch >= 0) {
		if (b->epoch == p->begun_epoch)
			return TXN_OK;
		if (b->epoch < p->begun_epoch) {
			err_printf(why, "Epoch of producer %" PRId64 " is %d, which is smaller than the "
				   "epoch %d of its ongoing transaction", b->producer_id, (int)b->epoch,
				   (int)p->begun_epoch);
			return TXN_INVALID_EPOCH;
		}
	}
	err_printf(why, "Transactional batch from producer %" PRId64 " with epoch %d but the partition "
		   "was not added to a transaction of that producer and epoch", b->producer_id,
		   (int)b->epoch);
	return TXN_NO_TXN;
}

int txn_pstate_check_marker(const struct txn_pstate *ps, int64_t producer_id, int16_t epoch,
			    int32_t coordinator_epoch, char why[ERRMSG_SIZE])
{
	const struct txn_producer *p = txn_pstate_find(ps, producer_id);
	if (!p)
		return 0;
	if (epoch < p->epoch || epoch < p->begun_epoch) {
		err_printf(why, "Epoch of producer %" PRId64 " is %d, which is smaller than the last seen "
			   "epoch %d", producer_id, (int)epoch,
			   (int)(p->epoch > p->begun_epoch ? p->epoch : p->begun_epoch));
		return -ESTALE;
	}
	if (coordinator_epoch < p->coordinator_epoch) {
		err_printf(why, "End transaction marker for producer %" PRId64 " has coordinator epoch %d, "
			   "which is smaller than the last seen %d", producer_id, (int)coordinator_epoch,
			   (int)p->coordinator_epoch);
		return -ESTALE;
	}
	return 0;
}

void txn_pstate_update(struct txn_pstate *ps, const struct txn_batch *b, int64_t first_offset,
		       int64_t now_ms)
{
	if (b->producer_id < 0)
		return;
	bool added;
	struct txn_producer *p = slot_get_or_add(ps, b->producer_id, &added);
	if (b->epoch != p->epoch) {
		p->epoch = b->epoch;
		p->nbatches = 0;
	}
	if (b->control) {
		/* A commit or abort marker ends the ongoing transaction. */
		p->txn_first_offset = -1;
		p->begun_epoch = -1;
		if (b->coordinator_epoch >= 0)
			p->coordinator_epoch = b->coordinator_epoch;
	} else {
		if (b->first_seq >= 0) {
			if (p->nbatches == TXN_MAX_BATCHES) {
				memmove(&p->batches[0], &p->batches[1],
					(TXN_MAX_BATCHES - 1) * sizeof(p->batches[0]));
				p->nbatches--;
			}
			struct txn_batch_meta *m = &p->batches[p->nbatches++];
			m->first_seq = b->first_seq;
			m->last_seq = txn_seq_add(b->first_seq, b->offset_delta);
			m->first_offset = first_offset;
			m->offset_delta = b->offset_delta;
			m->append_time = b->append_time;
		}
		if (b->transactional && p->txn_first_offset < 0)
			p->txn_first_offset = first_offset;
	}
	p->last_update_ms = now_ms;
	ps->version++;
}

size_t txn_pstate_expire(struct txn_pstate *ps, int64_t now_ms, int64_t expiration_ms)
{
	size_t removed = 0;
	for (size_t i = 0; i < ps->cap;) {
		struct txn_producer *p = &ps->slots[i];
		if (p->producer_id >= 0 && p->txn_first_offset < 0 && p->begun_epoch < 0 &&
		    now_ms - p->last_update_ms >= expiration_ms) {
			slot_remove(ps, i);
			removed++;
			continue; /* slot i now holds a shifted entry (or is empty) */
		}
		i++;
	}
	if (removed)
		ps->version++;
	return removed;
}

void txn_pstate_foreach(const struct txn_pstate *ps,
			void (*fn)(void *arg, const struct txn_producer *p), void *arg)
{
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->slots[i].producer_id >= 0)
			fn(arg, &ps->slots[i]);
}

/* --------------------------------------------------------------- snapshot */

uint8_t *txn_put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

uint64_t txn_get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

uint8_t *txn_pstate_encode(const struct txn_pstate *ps, int64_t offset, size_t *len)
{
	size_t n = PSTATE_HEADER + 4;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->slots[i].producer_id >= 0)
			n += PSTATE_PRODUCER_BYTES + (size_t)ps->slots[i].nbatches * PSTATE_BATCH_BYTES;
	uint8_t *buf = xmalloc(n);
	uint8_t *w = buf;
	memcpy(w, PSTATE_MAGIC, PSTATE_MAGIC_LEN);
	w += PSTATE_MAGIC_LEN;
	w = txn_put_be(w, ps->count, 4);
	w = txn_put_be(w, (uint64_t)offset, 8);
	for (size_t i = 0; i < ps->cap; i++) {
		const struct txn_producer *p = &ps->slots[i];
		if (p->producer_id < 0)
			continue;
		w = txn_put_be(w, (uint64_t)p->producer_id, 8);
		w = txn_put_be(w, (uint16_t)p->epoch, 2);
		w = txn_put_be(w, (uint32_t)p->coordinator_epoch, 4);
		w = txn_put_be(w, (uint64_t)p->txn_first_offset, 8);
		w = txn_put_be(w, (uint64_t)p->last_update_ms, 8);
		*w++ = (uint8_t)p->nbatches;
		for (int k = 0; k < p->nbatches; k++) {
			const struct txn_batch_meta *m = &p->batches[k];
			w = txn_put_be(w, (uint32_t)m->first_seq, 4);
			w = txn_put_be(w, (uint32_t)m->last_seq, 4);
			w = txn_put_be(w, (uint64_t)m->first_offset, 8);
			w = txn_put_be(w, (uint32_t)m->offset_delta, 4);
			w = txn_put_be(w, (uint64_t)m->append_time, 8);
		}
	}
	w = txn_put_be(w, crc32c(0, buf, (size_t)(w - buf)), 4);
	*len = (size_t)(w - buf);
	return buf;
}

static void pstate_clear(struct txn_pstate *ps)
{
	free(ps->slots);
	ps->slots = NULL;
	ps->cap = ps->count = 0;
	ps->version++;
}

int txn_pstate_decode(struct txn_pstate *ps, const uint8_t *data, size_t len, int64_t *offset,
		      char errmsg[ERRMSG_SIZE])
{
	pstate_clear(ps);
	if (len < PSTATE_HEADER + 4 || memcmp(data, PSTATE_MAGIC, PSTATE_MAGIC_LEN) != 0) {
		err_printf(errmsg, "not a producer state snapshot (%zu bytes, bad magic or too short)", len);
		return -SAMSA_ECORRUPT;
	}
	uint32_t crc = (uint32_t)txn_get_be(data + len - 4, 4);
	if (crc32c(0, data, len - 4) != crc) {
		err_printf(errmsg, "producer state snapshot CRC mismatch");
		return -SAMSA_ECORRUPT;
	}
	uint32_t count = (uint32_t)txn_get_be(data + PSTATE_MAGIC_LEN, 4);
	int64_t off = (int64_t)txn_get_be(data + PSTATE_MAGIC_LEN + 4, 8);
	size_t body = len - 4;
	if (off < 0 || count > body / PSTATE_PRODUCER_BYTES) {
		err_printf(errmsg, "producer state snapshot header out of range (offset %" PRId64
			   ", %u producers)", off, count);
		return -SAMSA_ECORRUPT;
	}
	const uint8_t *r = data + PSTATE_HEADER;
	for (uint32_t i = 0; i < count; i++) {
		if ((size_t)(r - data) + PSTATE_PRODUCER_BYTES > body)
			goto short_blob;
		int64_t pid = (int64_t)txn_get_be(r, 8);
		int nb = r[PSTATE_PRODUCER_BYTES - 1];
		if (pid < 0 || nb > TXN_MAX_BATCHES || txn_pstate_find(ps, pid)) {
			err_printf(errmsg, "producer state snapshot: bad entry %u (producer %" PRId64
				   ", %d batches)", i, pid, nb);
			pstate_clear(ps);
			return -SAMSA_ECORRUPT;
		}
		if ((size_t)(r - data) + PSTATE_PRODUCER_BYTES + (size_t)nb * PSTATE_BATCH_BYTES > body)
			goto short_blob;
		bool added;
		struct txn_producer *p = slot_get_or_add(ps, pid, &added);
		p->epoch = (int16_t)txn_get_be(r + 8, 2);
		p->coordinator_epoch = (int32_t)txn_get_be(r + 10, 4);
		p->txn_first_offset = (int64_t)txn_get_be(r + 14, 8);
		p->last_update_ms = (int64_t)txn_get_be(r + 22, 8);
		p->nbatches = nb;
		r += PSTATE_PRODUCER_BYTES;
		for (int k = 0; k < nb; k++) {
			struct txn_batch_meta *m = &p->batches[k];
			m->first_seq = (int32_t)txn_get_be(r, 4);
			m->last_seq = (int32_t)txn_get_be(r + 4, 4);
			m->first_offset = (int64_t)txn_get_be(r + 8, 8);
			m->offset_delta = (int32_t)txn_get_be(r + 16, 4);
			m->append_time = (int64_t)txn_get_be(r + 20, 8);
			r += PSTATE_BATCH_BYTES;
		}
	}
	if ((size_t)(r - data) != body) {
		err_printf(errmsg, "producer state snapshot: %zu trailing bytes", body - (size_t)(r - data));
		pstate_clear(ps);
		return -SAMSA_ECORRUPT;
	}
	*offset = off;
	ps->version++;
	return 0;
short_blob:
	err_printf(errmsg, "producer state snapshot is truncated");
	pstate_clear(ps);
	return -SAMSA_ECORRUPT;
}
