/* Legacy message sets (magic 0 and 1, Produce v0-v2) converted to one record
 * batch v2, the only format Samsa stores.
 *
 * A legacy message set is a sequence of
 *   offset i64, message_size i32, then message_size bytes:
 *   crc u32 (CRC-32, zlib's, over magic..end), magic i8 (0 or 1),
 *   attributes i8 (codec in bits 0-2; magic 1: timestamp type in bit 3),
 *   timestamp i64 (magic 1 only), key (i32 length, -1 null), value (same).
 * A compressed message (a "wrapper") holds, in its value, the compressed bytes
 * of an inner message set of uncompressed messages of the same magic.
 *
 * The conversion keeps every message's key, value and order, and its
 * timestamp (magic 1: the message's own, or the wrapper's when the wrapper
 * says LogAppendTime; magic 0: -1, NO_TIMESTAMP), and drops the offsets
 * (the log assigns them). */
#ifndef SAMSA_PROTO_LEGACY_H
#define SAMSA_PROTO_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Decompressed bytes one call may produce, over all wrappers of the set:
 * the larger of this and 4 x max_batch_bytes. */
#define LEGACY_MAX_INFLATE ((size_t)64 << 20)

/* Converts the legacy message set in[0..len) into one record batch v2 in a new
 * malloc'ed buffer (*out, *out_len; free() it), with *record_count records.
 *
 * The batch: baseOffset 0, partitionLeaderEpoch -1, magic 2, attributes = the
 * input's compression codec (that of the first compressed wrapper; the records
 * are re-compressed with it) or none, CreateTime, lastOffsetDelta n-1,
 * baseTimestamp = the first record's timestamp, maxTimestamp = the largest,
 * producerId -1, producerEpoch -1, baseSequence -1; record i has offsetDelta
 * i, no headers. It passes records_validate(..., max_batch_bytes, ...).
 *
 * Returns 0, or
 *   -SAMSA_ECORRUPT   empty set, a message that is truncated (including a
 *                     partial last message), a length that does not fit,
 *                     a CRC mismatch, bad magic, an unknown codec, nested
 *                     compression, an inner message whose magic differs from
 *                     its wrapper's, an empty or undecodable compressed
 *                     payload;
 *   -ENOTSUP          a zstd wrapper (zstd needs magic 2: Kafka answers
 *                     UNSUPPORTED_COMPRESSION_TYPE);
 *   -SAMSA_ETOOLARGE  the converted batch exceeds max_batch_bytes (<= 0: no
 *                     limit), or decompression exceeds the bound above;
 *   -ENOMEM           a codec library could not allocate its context;
 * with errmsg (may be NULL) saying which message and why ("message 2 at byte
 * 96, inner message 0 at byte 0: CRC mismatch (...)"). out, out_len and
 * record_count must not be NULL; on error *out is NULL, *out_len and
 * *record_count 0.
 *
 * Timestamps are CreateTime as sent; magic 0 gives maxTimestamp -1. A topic
 * with message.timestamp.type=LogAppendTime is the caller's to apply, as for
 * any produced batch. */
int legacy_to_v2(const uint8_t *in, size_t len, int32_t max_batch_bytes, uint8_t **out,
		 size_t *out_len, int32_t *record_count, char errmsg[ERRMSG_SIZE]);

#endif
