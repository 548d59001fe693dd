/* Writes of Kafka's wire primitives into a buf_chain, and their sizes (see
 * writer.h). Fixed-size values reserve their bytes in the chain's tail
 * segment and store them big-endian in place. */
#include "proto/writer.h"

#include <string.h>

static void pw_be(struct pwriter *w, uint64_t v, size_t n)
{
	uint8_t *p = buf_chain_reserve(w->out, n);
	for (size_t i = n; i-- > 0;) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void pw_raw(struct pwriter *w, const void *data, size_t n)
{
	if (n)
		buf_chain_append(w->out, data, n);
}

void pw_int8(struct pwriter *w, int8_t v)
{
	pw_be(w, (uint8_t)v, 1);
}

void pw_int16(struct pwriter *w, int16_t v)
{
	pw_be(w, (uint16_t)v, 2);
}

void pw_int32(struct pwriter *w, int32_t v)
{
	pw_be(w, (uint32_t)v, 4);
}

void pw_int64(struct pwriter *w, int64_t v)
{
	pw_be(w, (uint64_t)v, 8);
}

void pw_uint16(struct pwriter *w, uint16_t v)
{
	pw_be(w, v, 2);
}

void pw_uint32(struct pwriter *w, uint32_t v)
{
	pw_be(w, v, 4);
}

void pw_float64(struct pwriter *w, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	pw_be(w, bits, 8);
}

void pw_bool(struct pwriter *w, bool v)
{
	pw_be(w, v ? 1 : 0, 1);
}

void pw_uuid(struct pwriter *w, const uint8_t v[16])
{
	buf_chain_append(w->out, v, 16);
}

void pw_uvarlong(struct pwriter *w, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	buf_chain_append(w->out, tmp, n);
}

void pw_uvarint(struct pwriter *w, uint32_t v)
{
	pw_uvarlong(w, v);
}

void pw_varint(struct pwriter *w, int32_t v)
{
	pw_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void pw_varlong(struct pwriter *w, int64_t v)
{
	pw_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t ps_uvarlong(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t ps_uvarint(uint32_t v)
{
	return ps_uvarlong(v);
}

size_t ps_varint(int32_t v)
{
	return ps_uvarlong(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t ps_varlong(int64_t v)
{
	return ps_uvarlong(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Length as it goes on the wire: null becomes empty where not nullable. */
static int32_t wire_len(bool nullable, int32_t len)
{
	if (len < 0)
		return nullable ? -1 : 0;
	return len;
}

static int32_t str_len(bool nullable, struct kstr s)
{
	int32_t len = wire_len(nullable, s.len);
	return len > INT16_MAX ? INT16_MAX : len;
}

/* A length or count prefix: classic int16/int32 or compact uvarint len+1. */
static void pw_len(struct pwriter *w, bool flex, size_t width, int32_t len)
{
	if (flex)
		pw_uvarint(w, (uint32_t)len + 1);
	else
		pw_be(w, (uint32_t)len, width);
}

static size_t ps_len(bool flex, size_t width, int32_t len)
{
	return flex ? ps_uvarint((uint32_t)len + 1) : width;
}

void pw_string(struct pwriter *w, bool flex, bool nullable, struct kstr s)
{
	int32_t len = str_len(nullable, s);
	pw_len(w, flex, 2, len);
	if (len > 0)
		pw_raw(w, s.ptr, (size_t)len);
}

size_t ps_string(bool flex, bool nullable, struct kstr s)
{
	int32_t len = str_len(nullable, s);
	return ps_len(flex, 2, len) + (len > 0 ? (size_t)len : 0);
}

void pw_bytes(struct pwriter *w, bool flex, bool nullable, struct kbytes b)
{
	int32_t len = wire_len(nullable, b.len);
	pw_len(w, flex, 4, len);
	if (len > 0)
		pw_raw(w, b.ptr, (size_t)len);
}

size_t ps_bytes(bool flex, bool nullable, struct kbytes b)
{
	int32_t len = wire_len(nullable, b.len);
	return ps_len(flex, 4, len) + (len > 0 ? (size_t)len : 0);
}

void pw_records(struct pwriter *w, bool flex, bool nullable, const struct krecords *rec)
{
	int32_t len = wire_len(nullable, rec->len);
	pw_len(w, flex, 4, len);
	if (len <= 0)
		return;
	if (rec->file)
		buf_chain_append_file(w->out, rec->file, (off_t)rec->file_pos, (size_t)len);
	else
		pw_raw(w, rec->ptr, (size_t)len);
}

size_t ps_records(bool flex, bool nullable, const struct krecords *rec)
{
	int32_t len = wire_len(nullable, rec->len);
	return ps_len(flex, 4, len) + (len > 0 ? (size_t)len : 0);
}

void pw_array(struct pwriter *w, bool flex, bool nullable, int32_t count)
{
	pw_len(w, flex, 4, wire_len(nullable, count));
}

size_t ps_array(bool flex, bool nullable, int32_t count)
{
	return ps_len(flex, 4, wire_len(nullable, count));
}

size_t ps_array_fixed(bool flex, bool nullable, int32_t count, size_t elem)
{
	return ps_array(flex, nullable, count) + (count > 0 ? (size_t)count * elem : 0);
}

#define PW_ARRAY_FN(NAME, T, WRITE)                                                      \
	void pw_array_##NAME(struct pwriter *w, bool flex, bool nullable, int32_t count, \
			     const T *v)                                                 \
	{                                                                                \
		pw_array(w, flex, nullable, count);                                      \
		for (int32_t i = 0; i < count; i++)                                      \
			WRITE;                                                           \
	}

PW_ARRAY_FN(int8, int8_t, pw_int8(w, v[i]))
PW_ARRAY_FN(int16, int16_t, pw_int16(w, v[i]))
PW_ARRAY_FN(int32, int32_t, pw_int32(w, v[i]))
PW_ARRAY_FN(int64, int64_t, pw_int64(w, v[i]))
PW_ARRAY_FN(string, struct kstr, pw_string(w, flex, false, v[i]))

void pw_array_uuid(struct pwriter *w, bool flex, bool nullable, int32_t count,
		   const uint8_t (*v)[16])
{
	pw_array(w, flex, nullable, count);
	for (int32_t i = 0; i < count; i++)
		pw_uuid(w, v[i]);
}

size_t ps_array_string(bool flex, bool nullable, int32_t count, const struct kstr *v)
{
	size_t n = ps_array(flex, nullable, count);
	for (int32_t i = 0; i < count; i++)
		n += ps_string(flex, false, v[i]);
	return n;
}

void pw_tag(struct pwriter *w, uint32_t tag, size_t size)
{
	pw_uvarint(w, tag);
	pw_uvarint(w, (uint32_t)size);
}

size_t ps_tag(uint32_t tag, size_t size)
{
	return ps_uvarint(tag) + ps_uvarint((uint32_t)size) + size;
}
