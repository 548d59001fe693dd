/* Encoding and decoding of __consumer_offsets records; see
 * records.h for the formats. Decoding reads every version Kafka has written
 * (so a data directory holding Kafka-written records would load), encoding
 * writes the versions Kafka 3.x writes. */
#include "group/records.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "proto/reader.h"

/* ---- writers -------------------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void put_i16(struct bytebuf *b, int16_t v)
{
	put_be(bytebuf_grow(b, 2), (uint16_t)v, 2);
}

static void put_i32(struct bytebuf *b, int32_t v)
{
	put_be(bytebuf_grow(b, 4), (uint32_t)v, 4);
}

static void put_i64(struct bytebuf *b, int64_t v)
{
	put_be(bytebuf_grow(b, 8), (uint64_t)v, 8);
}

/* Classic (non-flexible) string: int16 length, -1 for null. */
static void put_str(struct bytebuf *b, const char *s, bool nullable)
{
	if (!s && nullable) {
		put_i16(b, -1);
		return;
	}
	size_t len = s ? strlen(s) : 0;
	if (len > INT16_MAX)
		len = INT16_MAX;
	put_i16(b, (int16_t)len);
	bytebuf_append(b, s, len);
}

static void put_bytes(struct bytebuf *b, const uint8_t *p, int32_t len)
{
	if (len < 0)
		len = 0;
	put_i32(b, len);
	bytebuf_append(b, p, (size_t)len);
}

/* ---- keys and values -------------------------------------------------------- */

void grec_offset_key(struct bytebuf *b, const char *group, const char *topic, int32_t partition)
{
	put_i16(b, GREC_KEY_OFFSET_COMMIT);
	put_str(b, group, false);
	put_str(b, topic, false);
	put_i32(b, partition);
}

void grec_offset_value(struct bytebuf *b, int64_t offset, int32_t leader_epoch, const char *metadata,
		       int64_t commit_timestamp)
{
	put_i16(b, GREC_OFFSET_VALUE_VERSION);
	put_i64(b, offset);
	put_i32(b, leader_epoch);
	put_str(b, metadata ? metadata : "", false);
	put_i64(b, commit_timestamp);
}

void grec_group_key(struct bytebuf *b, const char *group)
{
	put_i16(b, GREC_KEY_GROUP_METADATA);
	put_str(b, group, false);
}

void grec_group_value(struct bytebuf *b, const struct grec_group *g)
{
	put_i16(b, GREC_GROUP_VALUE_VERSION);
	put_str(b, g->protocol_type ? g->protocol_type : "", false);
	put_i32(b, g->generation);
	put_str(b, g->protocol, true);
	put_str(b, g->leader, true);
	put_i64(b, g->state_timestamp);
	put_i32(b, g->member_count);
	for (int32_t i = 0; i < g->member_count; i++) {
		const struct grec_member *m = &g->members[i];
		put_str(b, m->member_id, false);
		put_str(b, m->instance_id, true);
		put_str(b, m->client_id, false);
		put_str(b, m->client_host, false);
		put_i32(b, m->rebalance_timeout_ms);
		put_i32(b, m->session_timeout_ms);
		put_bytes(b, m->subscription, m->subscription_len);
		put_bytes(b, m->assignment, m->assignment_len);
	}
}

int grec_parse_key(const uint8_t *p, size_t len, struct grec_key *out)
{
	struct preader r;
	preader_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	int16_t version = pr_int16(&r);
	if (r.err)
		return -SAMSA_ECORRUPT;
	switch (version) {
	case 0:
	case 1:
		out->type = GREC_OFFSET;
		pr_string(&r, false, false, &out->group);
		pr_string(&r, false, false, &out->topic);
		out->partition = pr_int32(&r);
		break;
	case 2:
		out->type = GREC_GROUP;
		pr_string(&r, false, false, &out->group);
		break;
	default:
		out->type = GREC_OTHER;
		return 0;
	}
	return r.err ? -SAMSA_ECORRUPT : 0;
}

int grec_parse_offset_value(const uint8_t *p, size_t len, struct grec_offset *out)
{
	struct preader r;
	preader_init(&r, p, len);
	int16_t version = pr_int16(&r);
	if (r.err || version < 0 || version > 4)
		return -SAMSA_ECORRUPT;
	bool flex = version >= 4;
	out->offset = pr_int64(&r);
	out->leader_epoch = version >= 3 ? pr_int32(&r) : -1;
	pr_string(&r, flex, false, &out->metadata);
	out->commit_timestamp = pr_int64(&r);
	if (version == 1)
		(void)pr_int64(&r); /* expire timestamp: the broker's retention rules instead */
	if (flex)
		pr_tags_skip(&r);
	return r.err ? -SAMSA_ECORRUPT : 0;
}

static const char *arena_cstr(struct arena *arena, struct kstr s)
{
	return kstr_dup(arena, s);
}

int grec_parse_group_value(const uint8_t *p, size_t len, struct arena *arena, struct grec_group *out)
{
	struct preader r;
	preader_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	int16_t version = pr_int16(&r);
	if (r.err || version < 0 || version > 4)
		return -SAMSA_ECORRUPT;
	bool flex = version >= 4;
	struct kstr s;
	pr_string(&r, flex, false, &s);
	out->protocol_type = arena_cstr(arena, s);
	out->generation = pr_int32(&r);
	pr_string(&r, flex, true, &s);
	out->protocol = arena_cstr(arena, s);
	pr_string(&r, flex, true, &s);
	out->leader = arena_cstr(arena, s);
	out->state_timestamp = version >= 2 ? pr_int64(&r) : -1;
	int32_t n = pr_array(&r, flex, false, 8);
	if (r.err || n < 0)
		return -SAMSA_ECORRUPT;
	out->member_count = n;
	out->members = n ? arena_alloc(arena, sizeof(*out->members) * (size_t)n) : NULL;
	for (int32_t i = 0; i < n && !r.err; i++) {
		struct grec_member *m = &out->members[i];
		struct kbytes bytes;
		pr_string(&r, flex, false, &s);
		m->member_id = arena_cstr(arena, s);
		if (version >= 3) {
			pr_string(&r, flex, true, &s);
			m->instance_id = arena_cstr(arena, s);
		}
		pr_string(&r, flex, false, &s);
		m->client_id = arena_cstr(arena, s);
		pr_string(&r, flex, false, &s);
		m->client_host = arena_cstr(arena, s);
		m->rebalance_timeout_ms = -1;
		if (version >= 1)
			m->rebalance_timeout_ms = pr_int32(&r);
		m->session_timeout_ms = pr_int32(&r);
		if (version < 1)
			m->rebalance_timeout_ms = m->session_timeout_ms;
		pr_bytes(&r, flex, false, &bytes);
		m->subscription = bytes.ptr;
		m->subscription_len = bytes.len > 0 ? bytes.len : 0;
		pr_bytes(&r, flex, false, &bytes);
		m->assignment = bytes.ptr;
		m->assignment_len = bytes.len > 0 ? bytes.len : 0;
		if (flex)
			pr_tags_skip(&r);
	}
	if (flex)
		pr_tags_skip(&r);
	return r.err ? -SAMSA_ECORRUPT : 0;
}
