/* The records of the internal topic __consumer_offsets, in Kafka's formats,
 * so the topic reads the same as Kafka's (and tools that decode it work).
 *
 * Keys start with an int16 version that names the record type:
 *   0, 1  offset commit   {group string, topic string, partition int32}
 *   2     group metadata  {group string}
 * Values start with their own int16 version:
 *   offset commit v3   {offset int64, leader_epoch int32, metadata string,
 *                       commit_timestamp int64}   (v0-v4 are read)
 *   group metadata v3  {protocol_type string, generation int32,
 *                       protocol string?, leader string?,
 *                       current_state_timestamp int64,
 *                       members [{member_id, group_instance_id?, client_id,
 *                                 client_host, rebalance_timeout int32,
 *                                 session_timeout int32, subscription bytes,
 *                                 assignment bytes}]}   (v0-v4 are read)
 * A null value is a tombstone: the offset, or the group, is deleted.
 *
 * Records are written in record batches v2 (proto/batch.h; the log stores
 * them byte for byte, like a produce); TxnOffsetCommit's are transactional
 * batches of the producer, ended by the transaction's marker (a control
 * batch). */
#ifndef SAMSA_GROUP_RECORDS_H
#define SAMSA_GROUP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/bytebuf.h"
#include "proto/types.h"

#define GREC_KEY_OFFSET_COMMIT 1 /* key version we write (0 reads the same) */
#define GREC_KEY_GROUP_METADATA 2
#define GREC_OFFSET_VALUE_VERSION 3
#define GREC_GROUP_VALUE_VERSION 3

/* ---- encoding ------------------------------------------------------------- */

void grec_offset_key(struct bytebuf *b, const char *group, const char *topic, int32_t partition);
/* metadata NULL is written as "" (as Kafka does). */
void grec_offset_value(struct bytebuf *b, int64_t offset, int32_t leader_epoch, const char *metadata,
		       int64_t commit_timestamp);
void grec_group_key(struct bytebuf *b, const char *group);

struct grec_member {
	const char *member_id;
	const char *instance_id; /* NULL: dynamic */
	const char *client_id;
	const char *client_host;
	int32_t rebalance_timeout_ms;
	int32_t session_timeout_ms;
	const uint8_t *subscription;
	int32_t subscription_len;
	const uint8_t *assignment;
	int32_t assignment_len;
};

struct grec_group {
	const char *protocol_type;
	int32_t generation;
	const char *protocol; /* NULL: none */
	const char *leader;   /* NULL: none */
	int64_t state_timestamp;
	int32_t member_count;
	struct grec_member *members;
};

void grec_group_value(struct bytebuf *b, const struct grec_group *g);

/* ---- decoding (start-up replay) ------------------------------------------ */

enum grec_key_type { GREC_OFFSET, GREC_GROUP, GREC_OTHER };

struct grec_key {
	enum grec_key_type type;
	struct kstr group;
	struct kstr topic;     /* offsets only */
	int32_t partition;     /* offsets only */
};

/* Returns 0, or -SAMSA_ECORRUPT. Unknown key versions give GREC_OTHER. The
 * slices point into p. */
int grec_parse_key(const uint8_t *p, size_t len, struct grec_key *out);

struct grec_offset {
	int64_t offset;
	int32_t leader_epoch;  /* -1 if the version has none */
	struct kstr metadata;
	int64_t commit_timestamp;
};

int grec_parse_offset_value(const uint8_t *p, size_t len, struct grec_offset *out);
/* Strings and bytes are slices into p; members come from arena. */
int grec_parse_group_value(const uint8_t *p, size_t len, struct arena *arena, struct grec_group *out);

#endif
