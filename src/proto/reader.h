/* Checked reads of Kafka's wire primitives, used by the generated decoders
 * (gen/) and by hand-written parsers (request header framing, records).
 *
 * A preader walks a byte range. Every read checks the bytes that remain; the
 * first failure records its error and byte offset in the reader and moves p
 * to end, so every later read fails too (the error is sticky) and a decoder
 * may run straight on and check r->err once, or bail out early. Failed reads
 * return 0 / empty values. Lengths and array counts are checked against the
 * bytes that remain BEFORE anything is allocated: an array of n elements is
 * accepted only if n * (smallest encoding of one element) fits, so the memory
 * a decoder takes is bounded by a constant times the frame size.
 *
 * Encodings (all big-endian):
 *   classic string: int16 length (-1 null) + bytes; compact: uvarint length+1 (0 null)
 *   classic bytes:  int32 length (-1 null) + bytes; compact: uvarint length+1
 *   classic array:  int32 count (-1 null);          compact: uvarint count+1
 *   tagged fields (flexible versions): uvarint n, then n x (uvarint tag,
 *   uvarint size, size bytes). */
#ifndef SAMSA_PROTO_READER_H
#define SAMSA_PROTO_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "proto/types.h"

#define PROTO_ERR_UNDERFLOW (-1)   /* ran past the end of the input */
#define PROTO_ERR_INVALID (-2)     /* malformed: negative length, overlong varint, null where not nullable */
#define PROTO_ERR_UNSUPPORTED (-3) /* unknown api key or version (generic decoders) */

struct preader {
	const uint8_t *start;
	const uint8_t *p;
	const uint8_t *end;
	int err;        /* 0 or the first PROTO_ERR_* */
	size_t err_off; /* offset from start where the first failure happened */
};

void preader_init(struct preader *r, const void *data, size_t len);

static inline size_t preader_remaining(const struct preader *r)
{
	return (size_t)(r->end - r->p);
}

static inline size_t preader_offset(const struct preader *r)
{
	return (size_t)(r->p - r->start);
}

/* Records err at the current offset unless an error is already recorded,
 * moves p to end, and returns r->err. */
int pr_fail(struct preader *r, int err);

/* Copies the error of a sub-reader (pr_tag_next) into r; returns r->err. */
int pr_fail_sub(struct preader *r, const struct preader *sub);

/* n raw bytes (pointer into the input), or NULL on underflow. */
const uint8_t *pr_raw(struct preader *r, size_t n);

int8_t pr_int8(struct preader *r);
int16_t pr_int16(struct preader *r);
int32_t pr_int32(struct preader *r);
int64_t pr_int64(struct preader *r);
uint16_t pr_uint16(struct preader *r);
uint32_t pr_uint32(struct preader *r);
double pr_float64(struct preader *r);
bool pr_bool(struct preader *r); /* any non-zero byte is true */
void pr_uuid(struct preader *r, uint8_t out[16]);

uint32_t pr_uvarint(struct preader *r);  /* unsigned, at most 5 bytes */
uint64_t pr_uvarlong(struct preader *r); /* unsigned, at most 10 bytes */
int32_t pr_varint(struct preader *r);    /* zigzag */
int64_t pr_varlong(struct preader *r);   /* zigzag */

/* flex selects the compact encoding. A null where !nullable is INVALID.
 * Strings longer than 32767 bytes are INVALID, as in Kafka. */
void pr_string(struct preader *r, bool flex, bool nullable, struct kstr *out);
void pr_bytes(struct preader *r, bool flex, bool nullable, struct kbytes *out);
/* Like pr_bytes; out->ptr points into the input (cast to mutable: the frame
 * a request is decoded from belongs to the request). file is NULL. */
void pr_records(struct preader *r, bool flex, bool nullable, struct krecords *out);

/* An array count: >= 0, or -1 for null (0 on error). Fails with UNDERFLOW when
 * count * max(min_elem, 1) exceeds the bytes that remain. */
int32_t pr_array(struct preader *r, bool flex, bool nullable, size_t min_elem);

/* Arrays of primitives, allocated from arena: *count = -1 and *out = NULL for
 * null. */
void pr_array_int8(struct preader *r, struct arena *arena, bool flex, bool nullable,
		   int32_t *count, int8_t **out);
void pr_array_int16(struct preader *r, struct arena *arena, bool flex, bool nullable,
		    int32_t *count, int16_t **out);
void pr_array_int32(struct preader *r, struct arena *arena, bool flex, bool nullable,
		    int32_t *count, int32_t **out);
void pr_array_int64(struct preader *r, struct arena *arena, bool flex, bool nullable,
		    int32_t *count, int64_t **out);
void pr_array_uuid(struct preader *r, struct arena *arena, bool flex, bool nullable,
		   int32_t *count, uint8_t (**out)[16]);
void pr_array_string(struct preader *r, struct arena *arena, bool flex, bool nullable,
		     int32_t *count, struct kstr **out);

/* Tagged fields. Read the count with pr_uvarint(), then
 *     while (pr_tag_next(r, &ntag, &tag, &sub)) { decode from sub by tag }
 * Each call consumes one field from r and gives its bytes as the sub-reader
 * sub (offsets stay relative to r->start); unknown tags are simply ignored. */
bool pr_tag_next(struct preader *r, uint32_t *ntag, uint32_t *tag, struct preader *sub);
/* Skips a whole tagged-field section. */
void pr_tags_skip(struct preader *r);

#endif
