/* Record batch v2 (magic 2) validation, without decoding records into structs:
 * the bytes stay opaque and are stored as produced.
 *
 * Layout (big-endian): baseOffset i64, batchLength i32, partitionLeaderEpoch i32,
 * magic i8, crc u32 (CRC-32C over attributes..end), attributes i16,
 * lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64, producerId i64,
 * producerEpoch i16, baseSequence i32, records count i32, records... */
#ifndef SAMSA_PROTO_RECORDS_H
#define SAMSA_PROTO_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define RECORDS_BATCH_HEADER_SIZE 61
#define RECORDS_LOG_OVERHEAD 12 /* baseOffset + batchLength */

struct records_batch_header {
	int64_t base_offset;
	int32_t batch_length; /* bytes after the batchLength field */
	int32_t partition_leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t record_count;
};

#define RECORDS_ATTR_COMPRESSION_MASK 0x07
#define RECORDS_ATTR_TIMESTAMP_TYPE 0x08
#define RECORDS_ATTR_TRANSACTIONAL 0x10
#define RECORDS_ATTR_CONTROL 0x20

/* Parses the fixed header at p (len >= RECORDS_BATCH_HEADER_SIZE). No checks. */
void records_header_parse(const uint8_t *p, struct records_batch_header *hdr);

/* Summary of a produced record set. */
struct records_info {
	int32_t batch_count;
	int32_t record_count;   /* sum over batches of lastOffsetDelta + 1 */
	int64_t max_timestamp;
	int32_t largest_batch;  /* bytes, including the 12-byte log overhead */
	int8_t magic;           /* magic of the first batch */
};

/* Validates a produced record set: one or more whole v2 batches, each with
 * magic 2, a batchLength that fits, a CRC-32C that matches, record count ==
 * lastOffsetDelta + 1 and, for uncompressed batches, records whose varint
 * lengths add up to the batch. Returns 0, or -SAMSA_ECORRUPT with errmsg saying
 * which check failed, or -SAMSA_ETOOLARGE if a batch exceeds max_batch_bytes.
 * A set whose first batch has magic 0 or 1 gives -EPROTONOSUPPORT (legacy
 * message format), with info->magic set. */
int records_validate(const uint8_t *data, size_t len, int32_t max_batch_bytes,
		     struct records_info *info, char errmsg[ERRMSG_SIZE]);

/* Reads a zigzag varint of at most max_bytes bytes (5 for int32, 10 for
 * int64) from [p, end). Returns the bytes consumed, or 0 if truncated or
 * overlong. */
size_t records_read_varlong(const uint8_t *p, const uint8_t *end, int max_bytes, int64_t *out);

/* Writes v as a zigzag varint at p (room for 10 bytes); returns its length. */
size_t records_write_varlong(uint8_t *p, int64_t v);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
