/* Value types shared by the protocol primitives (reader.h, writer.h) and the
 * generated codecs (gen/).
 *
 * Strings and bytes are (ptr, len) slices. A decoded slice points into the
 * request frame, so it lives as long as the frame and is NOT NUL-terminated;
 * use kstr_dup() for a C string. len == -1 means null (Kafka's nullable
 * strings, bytes and records); {NULL, 0} and {"", 0} are both the empty value. */
#ifndef SAMSA_PROTO_TYPES_H
#define SAMSA_PROTO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"

struct file_ref;

struct kstr {
	const char *ptr;
	int32_t len; /* -1: null */
};

struct kbytes {
	const uint8_t *ptr;
	int32_t len; /* -1: null */
};

/* A record set (the `records` schema type). Decoding sets ptr/len to the bytes
 * inside the (mutable) request frame, so produce can patch baseOffset in place.
 * Encoding writes len, then the bytes: from file at file_pos when file is set
 * (a zero-copy file range in the output chain; the chain takes its own
 * reference), else from ptr. */
struct krecords {
	uint8_t *ptr;
	int32_t len; /* -1: null */
	struct file_ref *file;
	int64_t file_pos;
};

#define KSTR_NULL ((struct kstr){NULL, -1})
/* A kstr for a string literal: KSTR_LIT("abc"). */
#define KSTR_LIT(s) ((struct kstr){"" s, (int32_t)(sizeof(s) - 1)})
#define KBYTES_NULL ((struct kbytes){NULL, -1})
#define KRECORDS_NULL ((struct krecords){NULL, -1, NULL, 0})

/* printf helpers: printf("topic " KSTR_FMT "\n", KSTR_ARG(name)). Null prints as "". */
#define KSTR_FMT "%.*s"
#define KSTR_ARG(s) (int)((s).len > 0 ? (s).len : 0), ((s).ptr ? (s).ptr : "")

static inline bool kstr_is_null(struct kstr s)
{
	return s.len < 0;
}

/* A slice of a NUL-terminated string, or null for NULL. Does not copy. */
static inline struct kstr kstr_from_cstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

static inline struct kstr kstr_from_buf(const char *p, size_t len)
{
	struct kstr k = {p, (int32_t)len};
	return k;
}

/* Equal values: both null, or same bytes. */
static inline bool kstr_eq(struct kstr a, struct kstr b)
{
	if (a.len != b.len)
		return false;
	return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

/* s == NULL matches only null; otherwise a non-null kstr with the same bytes. */
static inline bool kstr_eq_cstr(struct kstr a, const char *s)
{
	return kstr_eq(a, kstr_from_cstr(s));
}

/* NUL-terminated copy in the arena, or NULL for a null kstr. */
static inline char *kstr_dup(struct arena *arena, struct kstr s)
{
	if (s.len < 0)
		return NULL;
	return arena_strndup(arena, s.len ? s.ptr : "", (size_t)s.len);
}

static inline struct kbytes kbytes_from_buf(const void *p, size_t len)
{
	struct kbytes b = {p, (int32_t)len};
	return b;
}

static inline bool kbytes_eq(struct kbytes a, struct kbytes b)
{
	if (a.len != b.len)
		return false;
	return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

/* Kafka's UUIDs are 16 raw bytes; the all-zero UUID means "none". */
static inline bool kuuid_is_zero(const uint8_t u[16])
{
	static const uint8_t zero[16];
	return memcmp(u, zero, 16) == 0;
}

#endif
