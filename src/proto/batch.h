/* Record batches v2 built and walked record by record: what the
 * coordinators write to and replay from their internal topics
 * (__consumer_offsets, __transaction_state). The batches are uncompressed,
 * with baseOffset 0 for the log to assign, as a producer would send them.
 * Clients' batches are never decoded this way (records.h validates them). */
#ifndef SAMSA_PROTO_BATCH_H
#define SAMSA_PROTO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytebuf.h"

struct batch_builder {
	struct bytebuf buf;
	int32_t count;
	int64_t timestamp;
	int64_t producer_id;    /* -1, or a transactional batch's producer */
	int16_t producer_epoch; /* -1 unless producer_id is set */
};

/* A plain batch (no producer); batch_builder_set_producer() makes it
 * transactional. */
void batch_builder_init(struct batch_builder *b, int64_t timestamp);
/* The batch becomes transactional, written by producer_id/epoch with base
 * sequence -1 (a coordinator's batch, never sequence-checked). */
void batch_builder_set_producer(struct batch_builder *b, int64_t producer_id, int16_t epoch);
void batch_builder_fini(struct batch_builder *b);
/* value NULL with value_len -1: a tombstone. */
void batch_builder_add(struct batch_builder *b, const uint8_t *key, size_t key_len, const uint8_t *value,
		       int32_t value_len);
/* Writes the header and CRC-32C: b->buf then holds one whole batch. */
void batch_builder_finish(struct batch_builder *b);

/* What a replay needs of the batch a record is in. */
struct batch_info {
	int64_t producer_id; /* -1: none */
	bool transactional;
	bool control;        /* a transaction marker: key {version int16, type int16: 0 abort, 1 commit} */
};

/* Calls fn for each record of the v2 batches in data[0..len): its batch,
 * key, value (NULL/-1 for a tombstone) and the record's offset; control
 * batches included. Compressed and legacy batches are skipped with *skipped
 * counted. A callback returning non-zero stops the walk with that value.
 * Returns 0, or -SAMSA_ECORRUPT when a batch does not parse. */
typedef int (*batch_record_fn)(void *arg, const struct batch_info *batch, const uint8_t *key, int32_t key_len,
			       const uint8_t *value, int32_t value_len, int64_t offset);
int batches_foreach_record(const uint8_t *data, size_t len, batch_record_fn fn, void *arg, int *skipped);

/* The offset after the last whole batch in data[0..len), or -1 if none. */
int64_t batches_next_offset(const uint8_t *data, size_t len);

#endif
