/* Checked reads of Kafka's wire primitives (see reader.h for the contract).
 *
 * All length checks compare against the bytes that remain before touching
 * memory or allocating, and the first failure is sticky: p jumps to end so the
 * generated decoders never need a check after every field. */
#include "proto/reader.h"

#include <string.h>

void preader_init(struct preader *r, const void *data, size_t len)
{
	r->start = r->p = data;
	r->end = r->p + len;
	r->err = 0;
	r->err_off = 0;
}

int pr_fail(struct preader *r, int err)
{
	if (!r->err) {
		r->err = err;
		r->err_off = preader_offset(r);
	}
	r->p = r->end;
	return r->err;
}

int pr_fail_sub(struct preader *r, const struct preader *sub)
{
	if (!r->err) {
		r->err = sub->err;
		r->err_off = sub->err_off;
	}
	r->p = r->end;
	return r->err;
}

const uint8_t *pr_raw(struct preader *r, size_t n)
{
	if (preader_remaining(r) < n) {
		pr_fail(r, PROTO_ERR_UNDERFLOW);
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static uint64_t pr_be(struct preader *r, size_t n)
{
	const uint8_t *p = pr_raw(r, n);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int8_t pr_int8(struct preader *r)
{
	return (int8_t)(uint8_t)pr_be(r, 1);
}

int16_t pr_int16(struct preader *r)
{
	return (int16_t)(uint16_t)pr_be(r, 2);
}

int32_t pr_int32(struct preader *r)
{
	return (int32_t)(uint32_t)pr_be(r, 4);
}

int64_t pr_int64(struct preader *r)
{
	return (int64_t)pr_be(r, 8);
}

uint16_t pr_uint16(struct preader *r)
{
	return (uint16_t)pr_be(r, 2);
}

uint32_t pr_uint32(struct preader *r)
{
	return (uint32_t)pr_be(r, 4);
}

double pr_float64(struct preader *r)
{
	uint64_t bits = pr_be(r, 8);
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

bool pr_bool(struct preader *r)
{
	return pr_be(r, 1) != 0;
}

void pr_uuid(struct preader *r, uint8_t out[16])
{
	const uint8_t *p = pr_raw(r, 16);
	if (p)
		memcpy(out, p, 16);
	else
		memset(out, 0, 16);
}

/* Unsigned LEB128 of at most max_bytes; the last byte may only carry the bits
 * that fit in width bits. */
static uint64_t pr_leb(struct preader *r, unsigned max_bytes, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < max_bytes; i++) {
		if (r->p >= r->end) {
			pr_fail(r, PROTO_ERR_UNDERFLOW);
			return 0;
		}
		uint8_t b = *r->p++;
		unsigned shift = 7 * i;
		if (i == max_bytes - 1 && (b >> (width - shift)) != 0) {
			r->p--;
			pr_fail(r, PROTO_ERR_INVALID);
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0; /* not reached: the last byte has no continuation bit */
}

uint32_t pr_uvarint(struct preader *r)
{
	return (uint32_t)pr_leb(r, 5, 32);
}

uint64_t pr_uvarlong(struct preader *r)
{
	return pr_leb(r, 10, 64);
}

int32_t pr_varint(struct preader *r)
{
	uint32_t v = pr_uvarint(r);
	return (int32_t)((v >> 1) ^ (0u - (v & 1)));
}

int64_t pr_varlong(struct preader *r)
{
	uint64_t v = pr_uvarlong(r);
	return (int64_t)((v >> 1) ^ (0ull - (v & 1)));
}

/* Reads a length prefix: classic int16/int32 (width 2 or 4) or compact uvarint
 * length+1. Returns the length, -1 for null, or -2 after a failure. Checks that
 * a non-null length fits in what remains, and null against nullable. */
static int64_t pr_len(struct preader *r, bool flex, bool nullable, int width, int64_t max)
{
	size_t at = preader_offset(r);
	int64_t len;
	if (flex)
		len = (int64_t)pr_uvarint(r) - 1;
	else
		len = width == 2 ? pr_int16(r) : pr_int32(r);
	if (r->err)
		return -2;
	if (len < -1 || len > max || (len == -1 && !nullable)) {
		r->p = r->start + at;
		pr_fail(r, PROTO_ERR_INVALID);
		return -2;
	}
	if (len > 0 && (size_t)len > preader_remaining(r)) {
		pr_fail(r, PROTO_ERR_UNDERFLOW);
		return -2;
	}
	return len;
}

void pr_string(struct preader *r, bool flex, bool nullable, struct kstr *out)
{
	int64_t len = pr_len(r, flex, nullable, 2, INT16_MAX);
	out->ptr = NULL;
	out->len = len == -1 ? -1 : 0;
	if (len > 0) {
		out->ptr = (const char *)r->p;
		out->len = (int32_t)len;
		r->p += len;
	}
}

void pr_bytes(struct preader *r, bool flex, bool nullable, struct kbytes *out)
{
	int64_t len = pr_len(r, flex, nullable, 4, INT32_MAX);
	out->ptr = NULL;
	out->len = len == -1 ? -1 : 0;
	if (len > 0) {
		out->ptr = r->p;
		out->len = (int32_t)len;
		r->p += len;
	}
}

void pr_records(struct preader *r, bool flex, bool nullable, struct krecords *out)
{
	struct kbytes b;
	pr_bytes(r, flex, nullable, &b);
	out->ptr = (uint8_t *)(uintptr_t)b.ptr;
	out->len = b.len;
	out->file = NULL;
	out->file_pos = 0;
}

int32_t pr_array(struct preader *r, bool flex, bool nullable, size_t min_elem)
{
	int64_t n = pr_len(r, flex, nullable, 4, INT32_MAX);
	if (n == -2)
		return 0;
	if (min_elem < 1)
		min_elem = 1;
	/* n * min_elem <= remaining, written so it cannot overflow */
	if (n > 0 && (size_t)n > preader_remaining(r) / min_elem) {
		pr_fail(r, PROTO_ERR_UNDERFLOW);
		return 0;
	}
	return (int32_t)n;
}

#define PR_ARRAY_FN(NAME, T, SIZE, READ)                                                    \
	void pr_array_##NAME(struct preader *r, struct arena *arena, bool flex, bool nullable, \
			     int32_t *count, T **out)                                          \
	{                                                                                      \
		int32_t n = pr_array(r, flex, nullable, SIZE);                                 \
		*count = n;                                                                    \
		*out = NULL;                                                                   \
		if (n <= 0)                                                                    \
			return;                                                                \
		T *v = arena_alloc(arena, (size_t)n * sizeof(*v));                             \
		for (int32_t i = 0; i < n; i++)                                                \
			READ;                                                                  \
		*out = v;                                                                      \
	}

PR_ARRAY_FN(int8, int8_t, 1, v[i] = pr_int8(r))
PR_ARRAY_FN(int16, int16_t, 2, v[i] = pr_int16(r))
PR_ARRAY_FN(int32, int32_t, 4, v[i] = pr_int32(r))
PR_ARRAY_FN(int64, int64_t, 8, v[i] = pr_int64(r))
PR_ARRAY_FN(string, struct kstr, flex ? 1 : 2, pr_string(r, flex, false, &v[i]))

void pr_array_uuid(struct preader *r, struct arena *arena, bool flex, bool nullable,
		   int32_t *count, uint8_t (**out)[16])
{
	int32_t n = pr_array(r, flex, nullable, 16);
	*count = n;
	*out = NULL;
	if (n <= 0)
		return;
	uint8_t(*v)[16] = arena_alloc(arena, (size_t)n * 16);
	for (int32_t i = 0; i < n; i++)
		pr_uuid(r, v[i]);
	*out = v;
}

bool pr_tag_next(struct preader *r, uint32_t *ntag, uint32_t *tag, struct preader *sub)
{
	if (*ntag == 0 || r->err)
		return false;
	(*ntag)--;
	*tag = pr_uvarint(r);
	uint32_t size = pr_uvarint(r);
	if (r->err)
		return false;
	if (size > preader_remaining(r)) {
		pr_fail(r, PROTO_ERR_UNDERFLOW);
		return false;
	}
	sub->start = r->start;
	sub->p = r->p;
	sub->end = r->p + size;
	sub->err = 0;
	sub->err_off = 0;
	r->p += size;
	return true;
}

void pr_tags_skip(struct preader *r)
{
	uint32_t ntag = pr_uvarint(r), tag;
	struct preader sub;
	while (pr_tag_next(r, &ntag, &tag, &sub))
		;
}
