/* `samsa group list|describe|delete|reset-offsets`: consumer group
 * administration over the Kafka protocol, like Kafka's
 * kafka-consumer-groups.sh, so it works against any Kafka broker too.
 *
 * Group requests go to the group's coordinator, found with FindCoordinator
 * through the bootstrap broker; ListGroups goes to every broker (each lists
 * the groups it coordinates); ListOffsets goes to each partition's leader,
 * found with Metadata. Retriable coordinator errors (COORDINATOR_NOT_AVAILABLE,
 * COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR) are retried until --timeout.
 *
 * Exit codes: 0 done, 1 an error from the broker or the connection, 2 usage. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "proto/gen/api_table.h"
#include "proto/gen/consumer_protocol_assignment.h"
#include "proto/gen/delete_groups_request.h"
#include "proto/gen/delete_groups_response.h"
#include "proto/gen/describe_groups_request.h"
#include "proto/gen/describe_groups_response.h"
#include "proto/gen/errors.h"
#include "proto/gen/find_coordinator_request.h"
#include "proto/gen/find_coordinator_response.h"
#include "proto/gen/list_groups_request.h"
#include "proto/gen/list_groups_response.h"
#include "proto/gen/list_offsets_request.h"
#include "proto/gen/list_offsets_response.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"
#include "proto/gen/offset_commit_request.h"
#include "proto/gen/offset_commit_response.h"
#include "proto/gen/offset_fetch_request.h"
#include "proto/gen/offset_fetch_response.h"

#define GROUP_MAX_CONNS 64
#define GROUP_RETRY_MS 100
#define TS_EARLIEST (-2)
#define TS_LATEST (-1)

enum reset_mode { RESET_NONE, RESET_EARLIEST, RESET_LATEST, RESET_OFFSET, RESET_DATETIME };

struct group_opts {
	const char *bootstrap;
	int timeout_ms;
	int name_count; /* positional arguments: group ids */
	char **names;
	int topic_count; /* --topic T or T:P,P */
	char **topics;
	int partition_count; /* --partition P, for every --topic without its own list */
	int32_t *partitions;
	bool all_topics;
	enum reset_mode mode;
	int64_t to_offset;
	int64_t to_ts; /* --to-datetime, ms since the epoch */
	bool dry_run, execute;
	const char *state; /* list --state */
};

/* One topic-partition of a group: its committed offset, log end offset, the
 * member it is assigned to, and for reset-offsets the offset to commit. */
struct tp {
	struct kstr topic;
	int32_t partition;
	int64_t committed; /* -1: none */
	int64_t leo;       /* -1: unknown */
	int64_t low;       /* log start offset, -1: unknown */
	int64_t target;    /* reset-offsets: new offset */
	int member;        /* index into the described group's members, -1: none */
	int16_t err;       /* ListOffsets error */
};

struct tplist {
	int count, cap;
	struct tp *v;
};

/* Connections by "host:port", opened on first use, and the deadline every
 * retry loop honours. */
struct cluster {
	const char *bootstrap;
	int timeout_ms;
	struct timespec deadline;
	struct arena *arena;
	struct kclient *boot;
	int conn_count;
	char *conn_addr[GROUP_MAX_CONNS];
	struct kclient *conn[GROUP_MAX_CONNS];
};

static void group_usage(FILE *out)
{
	fprintf(out,
		"usage: samsa group list [--state STATE]\n"
		"       samsa group describe <group>...\n"
		"       samsa group delete <group>...\n"
		"       samsa group reset-offsets <group> (--topic T[:P,P...] [--partition P]... | --all-topics)\n"
		"             (--to-earliest | --to-latest | --to-offset N | --to-datetime YYYY-MM-DDTHH:MM:SS[.sss][Z|+hh:mm])\n"
		"             [--dry-run | --execute]\n"
		"common options: --bootstrap-server host:port (default localhost:9092), --timeout MS (default 30000)\n"
		"reset-offsets commits only with --execute (the default is a dry run), and only while the\n"
		"group has no active members; --to-offset is clamped to the partition's offset range, and\n"
		"--to-datetime takes the first offset at or after the time (the log end when there is none).\n");
}

/* ---------------------------------------------------------------- helpers */

static char *aprintf(struct arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *aprintf(struct arena *arena, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = arena_alloc(arena, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static char *offset_str(struct arena *arena, int64_t v)
{
	return v < 0 ? "-" : aprintf(arena, "%lld", (long long)v);
}

static int group_fail(const char *what, int16_t code, const char *explain)
{
	fprintf(stderr, "samsa: %s: %s", what, kerr_name(code));
	if (explain)
		fprintf(stderr, ": %s", explain);
	fputc('\n', stderr);
	return 1;
}

static bool coordinator_retriable(int16_t code)
{
	return code == KERR_COORDINATOR_NOT_AVAILABLE || code == KERR_COORDINATOR_LOAD_IN_PROGRESS ||
	       code == KERR_NOT_COORDINATOR;
}

static bool past_deadline(const struct cluster *c)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > c->deadline.tv_sec ||
	       (now.tv_sec == c->deadline.tv_sec && now.tv_nsec >= c->deadline.tv_nsec);
}

static void retry_sleep(void)
{
	struct timespec ts = {0, GROUP_RETRY_MS * 1000000L};
	nanosleep(&ts, NULL);
}

/* A simple column printer: a header row, then rows of strings. */
struct table {
	int cols, rows, cap;
	const char **cells;
};

static void table_row(struct table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = xrealloc(t->cells, sizeof(*t->cells) * (size_t)t->cap * (size_t)t->cols);
	}
	memcpy(&t->cells[(size_t)t->rows * (size_t)t->cols], cells, sizeof(*cells) * (size_t)t->cols);
	t->rows++;
}

static void table_print(struct table *t)
{
	int width[16] = {0};
	for (int r = 0; r < t->rows; r++)
		for (int c = 0; c < t->cols && c < 16; c++) {
			int n = (int)strlen(t->cells[r * t->cols + c]);
			if (n > width[c])
				width[c] = n;
		}
	for (int r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->cols; c++) {
			const char *cell = t->cells[r * t->cols + c];
			if (c == t->cols - 1)
				printf("%s\n", cell);
			else
				printf("%-*s  ", width[c], cell);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->rows = t->cap = 0;
}

static struct tp *tplist_find(struct tplist *l, struct kstr topic, int32_t partition)
{
	for (int i = 0; i < l->count; i++)
		if (l->v[i].partition == partition && kstr_eq(l->v[i].topic, topic))
			return &l->v[i];
	return NULL;
}

/* Finds (topic, partition), or appends it with nothing known. */
static struct tp *tplist_add(struct tplist *l, struct kstr topic, int32_t partition)
{
	struct tp *tp = tplist_find(l, topic, partition);
	if (tp)
		return tp;
	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)l->cap);
	}
	tp = &l->v[l->count++];
	*tp = (struct tp){.topic = topic, .partition = partition, .committed = -1, .leo = -1, .low = -1,
			  .target = -1, .member = -1};
	return tp;
}

static int kstr_cmp(struct kstr a, struct kstr b)
{
	int la = a.len > 0 ? a.len : 0, lb = b.len > 0 ? b.len : 0;
	int n = memcmp(a.ptr ? a.ptr : "", b.ptr ? b.ptr : "", (size_t)(la < lb ? la : lb));
	return n ? n : la - lb;
}

static int tp_cmp(const void *pa, const void *pb)
{
	const struct tp *a = pa, *b = pb;
	int n = kstr_cmp(a->topic, b->topic);
	return n ? n : (a->partition > b->partition) - (a->partition < b->partition);
}

/* The distinct topics of l, in order of first appearance. */
static int tplist_topics(const struct tplist *l, struct arena *arena, struct kstr **out)
{
	struct kstr *names = arena_alloc(arena, sizeof(*names) * (size_t)(l->count + 1));
	int n = 0;
	for (int i = 0; i < l->count; i++) {
		int j = 0;
		while (j < n && !kstr_eq(names[j], l->v[i].topic))
			j++;
		if (j == n)
			names[n++] = l->v[i].topic;
	}
	*out = names;
	return n;
}

/* ---------------------------------------------------------------- connections */

static struct kclient *cluster_node(struct cluster *c, struct kstr host, int32_t port)
{
	char *addr = aprintf(c->arena, KSTR_FMT ":%d", KSTR_ARG(host), port);
	if (strcmp(addr, c->bootstrap) == 0)
		return c->boot;
	for (int i = 0; i < c->conn_count; i++)
		if (strcmp(c->conn_addr[i], addr) == 0)
			return c->conn[i];
	if (c->conn_count == GROUP_MAX_CONNS) {
		fprintf(stderr, "samsa: more than %d brokers\n", GROUP_MAX_CONNS);
		return NULL;
	}
	char errmsg[ERRMSG_SIZE];
	struct kclient *client = kclient_connect(addr, c->timeout_ms, errmsg);
	if (!client) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		return NULL;
	}
	c->conn_addr[c->conn_count] = addr;
	c->conn[c->conn_count++] = client;
	return client;
}

static int call(struct kclient *client, int16_t api_key, const void *req, struct arena *arena, void *resp,
		int16_t *version)
{
	char errmsg[ERRMSG_SIZE];
	if (kclient_call(client, api_key, req, arena, (void **)resp, version, errmsg) < 0) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		return -1;
	}
	return 0;
}

/* The coordinator of group, connected. Retries while the coordinator is not
 * yet available (Kafka answers so until __consumer_offsets is ready). */
static struct kclient *find_coordinator(struct cluster *c, const char *group)
{
	for (;;) {
		struct find_coordinator_request req;
		find_coordinator_request_init(&req);
		req.key_type = 0; /* a group */
		if (kclient_version(c->boot, PROTO_API_FIND_COORDINATOR) >= 4) {
			req.coordinator_keys_count = 1;
			req.coordinator_keys = arena_alloc(c->arena, sizeof(*req.coordinator_keys));
			req.coordinator_keys[0] = kstr_from_cstr(group);
		} else {
			req.key = kstr_from_cstr(group);
		}
		struct find_coordinator_response *resp;
		int16_t version;
		if (call(c->boot, PROTO_API_FIND_COORDINATOR, &req, c->arena, &resp, &version) < 0)
			return NULL;
		int16_t code = resp->error_code;
		struct kstr message = resp->error_message, host = resp->host;
		int32_t port = resp->port;
		if (version >= 4) {
			if (resp->coordinators_count < 1) {
				fprintf(stderr, "samsa: FindCoordinator for group '%s': empty response\n", group);
				return NULL;
			}
			code = resp->coordinators[0].error_code;
			message = resp->coordinators[0].error_message;
			host = resp->coordinators[0].host;
			port = resp->coordinators[0].port;
		}
		if (code == KERR_NONE)
			return cluster_node(c, host, port);
		if (!coordinator_retriable(code) || past_deadline(c)) {
			fprintf(stderr, "samsa: cannot find the coordinator of group '%s': %s", group, kerr_name(code));
			if (message.len > 0)
				fprintf(stderr, ": " KSTR_FMT, KSTR_ARG(message));
			fputc('\n', stderr);
			return NULL;
		}
		retry_sleep();
	}
}

/* Metadata for the given topics (none: brokers only). */
static struct metadata_response *cluster_metadata(struct cluster *c, int count, const struct kstr *names)
{
	struct metadata_request req;
	metadata_request_init(&req);
	req.allow_auto_topic_creation = false;
	req.topics_count = count;
	req.topics = arena_alloc(c->arena, sizeof(*req.topics) * (size_t)(count + 1));
	for (int i = 0; i < count; i++)
		req.topics[i].name = names[i];
	struct metadata_response *resp;
	if (call(c->boot, PROTO_API_METADATA, &req, c->arena, &resp, NULL) < 0)
		return NULL;
	return resp;
}

static const struct metadata_response_metadata_response_topic *metadata_topic(const struct metadata_response *md,
									     struct kstr name)
{
	for (int32_t i = 0; i < md->topics_count; i++)
		if (kstr_eq(md->topics[i].name, name))
			return &md->topics[i];
	return NULL;
}

static const struct metadata_response_metadata_response_partition *
metadata_partition(const struct metadata_response_metadata_response_topic *t, int32_t partition)
{
	for (int32_t i = 0; t && i < t->partitions_count; i++)
		if (t->partitions[i].partition_index == partition)
			return &t->partitions[i];
	return NULL;
}

static const struct metadata_response_metadata_response_broker *metadata_broker(const struct metadata_response *md,
									       int32_t node_id)
{
	for (int32_t i = 0; i < md->brokers_count; i++)
		if (md->brokers[i].node_id == node_id)
			return &md->brokers[i];
	return NULL;
}

/* ---------------------------------------------------------------- ListOffsets */

/* Sets the field at `which` (leo or low) of every tp in l, by asking each
 * partition's leader for the offset at timestamp ts (TS_LATEST, TS_EARLIEST or
 * ms since the epoch; -1 comes back when no record is that recent). Partitions
 * that fail get err set. Returns 0, or -1 when a request could not be made. */
static int list_offsets(struct cluster *c, struct tplist *l, int64_t ts, bool to_low)
{
	if (l->count == 0)
		return 0;
	struct kstr *names;
	int topic_count = tplist_topics(l, c->arena, &names);
	struct metadata_response *md = cluster_metadata(c, topic_count, names);
	if (!md)
		return -1;
	int32_t *leader = arena_alloc(c->arena, sizeof(*leader) * (size_t)l->count);
	bool *done = arena_alloc(c->arena, sizeof(*done) * (size_t)l->count);
	for (int i = 0; i < l->count; i++) {
		struct tp *tp = &l->v[i];
		const struct metadata_response_metadata_response_topic *t = metadata_topic(md, tp->topic);
		const struct metadata_response_metadata_response_partition *p = metadata_partition(t, tp->partition);
		if (!t || t->error_code != KERR_NONE || !p) {
			tp->err = t && t->error_code != KERR_NONE ? t->error_code : KERR_UNKNOWN_TOPIC_OR_PARTITION;
			done[i] = true;
		} else if (p->leader_id < 0) {
			tp->err = p->error_code != KERR_NONE ? p->error_code : KERR_LEADER_NOT_AVAILABLE;
			done[i] = true;
		}
		leader[i] = p ? p->leader_id : -1;
	}
	/* one request per leader, covering every partition it leads */
	for (int first = 0; first < l->count; first++) {
		if (done[first])
			continue;
		int32_t node = leader[first];
		const struct metadata_response_metadata_response_broker *b = metadata_broker(md, node);
		struct kclient *client = b ? cluster_node(c, b->host, b->port) : NULL;
		if (!b)
			fprintf(stderr, "samsa: leader %d of " KSTR_FMT "-%d is not in the metadata\n", node,
				KSTR_ARG(l->v[first].topic), l->v[first].partition);
		struct list_offsets_request req;
		list_offsets_request_init(&req);
		req.replica_id = -1;
		req.isolation_level = 0;
		req.timeout_ms = c->timeout_ms;
		req.topics = arena_alloc(c->arena, sizeof(*req.topics) * (size_t)l->count);
		for (int i = first; i < l->count; i++) {
			if (done[i] || leader[i] != node)
				continue;
			done[i] = true;
			if (!client) {
				l->v[i].err = KERR_BROKER_NOT_AVAILABLE;
				continue;
			}
			struct list_offsets_request_list_offsets_topic *t = NULL;
			for (int32_t k = 0; k < req.topics_count && !t; k++)
				if (kstr_eq(req.topics[k].name, l->v[i].topic))
					t = &req.topics[k];
			if (!t) {
				t = &req.topics[req.topics_count++];
				list_offsets_request_list_offsets_topic_init(t);
				t->name = l->v[i].topic;
				t->partitions = arena_alloc(c->arena, sizeof(*t->partitions) * (size_t)l->count);
			}
			struct list_offsets_request_list_offsets_partition *p = &t->partitions[t->partitions_count++];
			list_offsets_request_list_offsets_partition_init(p);
			p->partition_index = l->v[i].partition;
			p->timestamp = ts;
			p->max_num_offsets = 1;
		}
		if (!client)
			continue;
		struct list_offsets_response *resp;
		int16_t version;
		if (call(client, PROTO_API_LIST_OFFSETS, &req, c->arena, &resp, &version) < 0)
			return -1;
		for (int32_t ti = 0; ti < resp->topics_count; ti++) {
			const struct list_offsets_response_list_offsets_topic_response *t = &resp->topics[ti];
			for (int32_t pi = 0; pi < t->partitions_count; pi++) {
				const struct list_offsets_response_list_offsets_partition_response *p = &t->partitions[pi];
				struct tp *tp = tplist_find(l, t->name, p->partition_index);
				if (!tp)
					continue;
				int64_t off = p->offset;
				if (version == 0)
					off = p->old_style_offsets_count > 0 ? p->old_style_offsets[0] : -1;
				tp->err = p->error_code;
				if (p->error_code == KERR_NONE) {
					if (to_low)
						tp->low = off;
					else
						tp->leo = off;
				}
			}
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- DescribeGroups, OffsetFetch */

/* DescribeGroups of one group on its coordinator. NULL after printing why. */
static struct describe_groups_response_described_group *describe_one(struct cluster *c, const char *group)
{
	for (;;) {
		struct kclient *co = find_coordinator(c, group);
		if (!co)
			return NULL;
		struct describe_groups_request req;
		describe_groups_request_init(&req);
		req.groups_count = 1;
		req.groups = arena_alloc(c->arena, sizeof(*req.groups));
		req.groups[0] = kstr_from_cstr(group);
		struct describe_groups_response *resp;
		if (call(co, PROTO_API_DESCRIBE_GROUPS, &req, c->arena, &resp, NULL) < 0)
			return NULL;
		if (resp->groups_count < 1) {
			fprintf(stderr, "samsa: DescribeGroups for '%s': empty response\n", group);
			return NULL;
		}
		struct describe_groups_response_described_group *g = &resp->groups[0];
		if (g->error_code == KERR_NONE)
			return g;
		if (!coordinator_retriable(g->error_code) || past_deadline(c)) {
			char what[300];
			snprintf(what, sizeof(what), "cannot describe group '%s'", group);
			group_fail(what, g->error_code, NULL);
			return NULL;
		}
		retry_sleep();
	}
}

static bool group_exists(const struct describe_groups_response_described_group *g)
{
	return !kstr_eq_cstr(g->group_state, "Dead");
}

/* Fills the committed offset of every tp in l; with add_all, also adds every
 * partition the group has an offset for (when the broker can list them:
 * OffsetFetch v2+). Returns 0 or 1 after printing why. */
static int offset_fetch(struct cluster *c, const char *group, struct tplist *l, bool add_all)
{
	for (;;) {
		struct kclient *co = find_coordinator(c, group);
		if (!co)
			return 1;
		int16_t v = kclient_version(co, PROTO_API_OFFSET_FETCH);
		bool all = add_all && v >= 2;
		if (!all && l->count == 0)
			return 0;
		struct kstr *names;
		int topic_count = tplist_topics(l, c->arena, &names);
		struct offset_fetch_request req;
		offset_fetch_request_init(&req);
		struct offset_fetch_request_offset_fetch_request_group *rg = NULL;
		if (v >= 8) {
			req.groups_count = 1;
			rg = arena_alloc(c->arena, sizeof(*rg));
			offset_fetch_request_offset_fetch_request_group_init(rg);
			rg->group_id = kstr_from_cstr(group);
			rg->topics_count = all ? -1 : topic_count;
			rg->topics = arena_alloc(c->arena, sizeof(*rg->topics) * (size_t)(topic_count + 1));
			req.groups = rg;
		} else {
			req.group_id = kstr_from_cstr(group);
			req.topics_count = all ? -1 : topic_count;
			req.topics = arena_alloc(c->arena, sizeof(*req.topics) * (size_t)(topic_count + 1));
		}
		for (int t = 0; !all && t < topic_count; t++) {
			int32_t *parts = arena_alloc(c->arena, sizeof(*parts) * (size_t)l->count);
			int32_t n = 0;
			for (int i = 0; i < l->count; i++)
				if (kstr_eq(l->v[i].topic, names[t]))
					parts[n++] = l->v[i].partition;
			if (rg) {
				rg->topics[t].name = names[t];
				rg->topics[t].partition_indexes_count = n;
				rg->topics[t].partition_indexes = parts;
			} else {
				req.topics[t].name = names[t];
				req.topics[t].partition_indexes_count = n;
				req.topics[t].partition_indexes = parts;
			}
		}
		struct offset_fetch_response *resp;
		if (call(co, PROTO_API_OFFSET_FETCH, &req, c->arena, &resp, NULL) < 0)
			return 1;
		int16_t code = resp->error_code;
		if (v >= 8)
			code = resp->groups_count > 0 ? resp->groups[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
		if (code == KERR_NONE) {
			/* v0-7 and v8+ carry the same partition fields under different structs */
			int32_t tcount = v >= 8 ? resp->groups[0].topics_count : resp->topics_count;
			for (int32_t t = 0; t < tcount; t++) {
				struct kstr name = v >= 8 ? resp->groups[0].topics[t].name : resp->topics[t].name;
				int32_t pcount = v >= 8 ? resp->groups[0].topics[t].partitions_count
							: resp->topics[t].partitions_count;
				for (int32_t p = 0; p < pcount; p++) {
					int32_t index;
					int64_t offset;
					int16_t perr;
					if (v >= 8) {
						const struct offset_fetch_response_offset_fetch_response_partitions *rp =
							&resp->groups[0].topics[t].partitions[p];
						index = rp->partition_index, offset = rp->committed_offset, perr = rp->error_code;
					} else {
						const struct offset_fetch_response_offset_fetch_response_partition *rp =
							&resp->topics[t].partitions[p];
						index = rp->partition_index, offset = rp->committed_offset, perr = rp->error_code;
					}
					/* v0/v1 report partition-level coordinator errors only */
					if (coordinator_retriable(perr)) {
						code = perr;
						break;
					}
					if (perr != KERR_NONE || offset < 0)
						continue;
					struct tp *tp = all ? tplist_add(l, name, index) : tplist_find(l, name, index);
					if (tp)
						tp->committed = offset;
				}
			}
			if (code == KERR_NONE)
				return 0;
		}
		if (!coordinator_retriable(code) || past_deadline(c)) {
			char what[300];
			snprintf(what, sizeof(what), "cannot fetch the committed offsets of group '%s'", group);
			return group_fail(what, code, NULL);
		}
		retry_sleep();
	}
}

/* The ConsumerProtocolAssignment in a member's assignment bytes: int16
 * version, then the body. Versions above ours keep our fields first, so they
 * are read as our latest. Some clients leave out the trailing user data; a
 * missing one reads as null. Returns 0, or -1 for bytes that do not parse. */
static int decode_assignment(struct arena *arena, struct kbytes bytes, struct consumer_protocol_assignment *out)
{
	consumer_protocol_assignment_init(out);
	if (bytes.len <= 0)
		return 0; /* no assignment yet (a rebalance in progress) */
	struct preader r;
	preader_init(&r, bytes.ptr, (size_t)bytes.len);
	int16_t version = pr_int16(&r);
	if (r.err || version < 0)
		return -1;
	if (version > 3)
		version = 3;
	if (consumer_protocol_assignment_decode(&r, arena, version, out) == 0)
		return 0;
	uint8_t *copy = arena_alloc(arena, (size_t)bytes.len + 4);
	memcpy(copy, bytes.ptr, (size_t)bytes.len);
	memset(copy + bytes.len, 0xff, 4); /* null user data */
	preader_init(&r, copy + 2, (size_t)bytes.len + 2);
	return consumer_protocol_assignment_decode(&r, arena, version, out) == 0 ? 0 : -1;
}

static char *assignment_str(struct arena *arena, const struct consumer_protocol_assignment *a)
{
	if (a->assigned_partitions_count <= 0)
		return "-";
	size_t cap = 64, len = 0;
	for (int32_t i = 0; i < a->assigned_partitions_count; i++)
		cap += (size_t)a->assigned_partitions[i].topic.len + 12 * (size_t)a->assigned_partitions[i].partitions_count + 2;
	char *s = arena_alloc(arena, cap);
	for (int32_t i = 0; i < a->assigned_partitions_count; i++) {
		const struct consumer_protocol_assignment_topic_partition *tp = &a->assigned_partitions[i];
		len += (size_t)snprintf(s + len, cap - len, "%s" KSTR_FMT ":", i ? " " : "", KSTR_ARG(tp->topic));
		for (int32_t p = 0; p < tp->partitions_count; p++)
			len += (size_t)snprintf(s + len, cap - len, "%s%d", p ? "," : "", tp->partitions[p]);
	}
	return s;
}

/* ---------------------------------------------------------------- list */

static int group_list(struct cluster *c, const struct group_opts *opts)
{
	struct metadata_response *md = cluster_metadata(c, 0, NULL);
	if (!md)
		return 1;
	struct table t = {.cols = 3};
	table_row(&t, (const char *[]){"GROUP", "STATE", "PROTOCOL-TYPE"});
	struct list_groups_response_listed_group **all = NULL;
	int count = 0, rc = 0;
	for (int32_t b = 0; b < md->brokers_count; b++) {
		struct kclient *client = cluster_node(c, md->brokers[b].host, md->brokers[b].port);
		if (!client) {
			rc = 1;
			continue;
		}
		for (;;) {
			struct list_groups_request req;
			list_groups_request_init(&req);
			if (opts->state) {
				req.states_filter_count = 1;
				req.states_filter = arena_alloc(c->arena, sizeof(*req.states_filter));
				req.states_filter[0] = kstr_from_cstr(opts->state);
			}
			struct list_groups_response *resp;
			int16_t version;
			if (call(client, PROTO_API_LIST_GROUPS, &req, c->arena, &resp, &version) < 0) {
				rc = 1;
				break;
			}
			if (resp->error_code != KERR_NONE) {
				if (coordinator_retriable(resp->error_code) && !past_deadline(c)) {
					retry_sleep();
					continue;
				}
				char what[300];
				snprintf(what, sizeof(what), "cannot list the groups of broker %d (" KSTR_FMT ":%d)",
					 md->brokers[b].node_id, KSTR_ARG(md->brokers[b].host), md->brokers[b].port);
				rc = group_fail(what, resp->error_code, NULL);
				break;
			}
			all = xrealloc(all, sizeof(*all) * (size_t)(count + resp->groups_count + 1));
			for (int32_t i = 0; i < resp->groups_count; i++) {
				struct list_groups_response_listed_group *g = &resp->groups[i];
				if (version < 4)
					g->group_state = KSTR_NULL; /* not reported: printed as "-" */
				if (opts->state && version >= 4 && !kstr_eq_cstr(g->group_state, opts->state))
					continue;
				all[count++] = g;
			}
			break;
		}
	}
	/* sorted by group id */
	for (int i = 1; i < count; i++)
		for (int j = i; j > 0 && kstr_cmp(all[j - 1]->group_id, all[j]->group_id) > 0; j--) {
			struct list_groups_response_listed_group *tmp = all[j];
			all[j] = all[j - 1];
			all[j - 1] = tmp;
		}
	for (int i = 0; i < count; i++) {
		const struct list_groups_response_listed_group *g = all[i];
		table_row(&t, (const char *[]){
				      kstr_dup(c->arena, g->group_id),
				      g->group_state.len > 0 ? kstr_dup(c->arena, g->group_state) : "-",
				      g->protocol_type.len > 0 ? kstr_dup(c->arena, g->protocol_type) : "-",
			      });
	}
	table_print(&t);
	free(all);
	return rc;
}

/* ---------------------------------------------------------------- describe */

static int describe_group(struct cluster *c, const char *group)
{
	struct describe_groups_response_described_group *g = describe_one(c, group);
	if (!g)
		return 1;
	if (!group_exists(g)) {
		fprintf(stderr, "samsa: consumer group '%s' does not exist\n", group);
		return 1;
	}
	bool consumer = kstr_eq_cstr(g->protocol_type, "consumer");
	printf("Group: %s\tState: " KSTR_FMT "\tProtocolType: %s\tProtocol: %s\tMembers: %d\n", group,
	       KSTR_ARG(g->group_state), g->protocol_type.len > 0 ? kstr_dup(c->arena, g->protocol_type) : "-",
	       g->protocol_data.len > 0 ? kstr_dup(c->arena, g->protocol_data) : "-", g->members_count);

	struct tplist l = {0};
	struct table t = {.cols = 5};
	table_row(&t, (const char *[]){"MEMBER-ID", "GROUP-INSTANCE-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"});
	for (int32_t m = 0; m < g->members_count; m++) {
		const struct describe_groups_response_described_group_member *mem = &g->members[m];
		struct consumer_protocol_assignment a;
		const char *assigned = "-";
		if (consumer) {
			if (decode_assignment(c->arena, mem->member_assignment, &a) < 0) {
				assigned = "(undecodable)";
			} else {
				assigned = assignment_str(c->arena, &a);
				for (int32_t i = 0; i < a.assigned_partitions_count; i++)
					for (int32_t p = 0; p < a.assigned_partitions[i].partitions_count; p++)
						tplist_add(&l, a.assigned_partitions[i].topic,
							   a.assigned_partitions[i].partitions[p])
							->member = m;
			}
		}
		table_row(&t, (const char *[]){
				      kstr_dup(c->arena, mem->member_id),
				      mem->group_instance_id.len > 0 ? kstr_dup(c->arena, mem->group_instance_id) : "-",
				      kstr_dup(c->arena, mem->client_id),
				      kstr_dup(c->arena, mem->client_host),
				      assigned,
			      });
	}
	printf("\n");
	if (g->members_count > 0)
		table_print(&t);
	else
		printf("Consumer group '%s' has no active members.\n", group);
	free(t.cells);

	int rc = offset_fetch(c, group, &l, true);
	if (rc == 0 && list_offsets(c, &l, TS_LATEST, false) < 0)
		rc = 1;
	if (rc == 0 && l.count > 0) {
		qsort(l.v, (size_t)l.count, sizeof(*l.v), tp_cmp);
		printf("\n");
		t = (struct table){.cols = 9};
		table_row(&t, (const char *[]){"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
					       "CONSUMER-ID", "HOST", "CLIENT-ID"});
		for (int i = 0; i < l.count; i++) {
			const struct tp *tp = &l.v[i];
			const struct describe_groups_response_described_group_member *mem =
				tp->member >= 0 ? &g->members[tp->member] : NULL;
			if (tp->err != KERR_NONE)
				fprintf(stderr, "samsa: log end offset of " KSTR_FMT "-%d: %s\n", KSTR_ARG(tp->topic),
					tp->partition, kerr_name(tp->err));
			table_row(&t, (const char *[]){
					      group,
					      kstr_dup(c->arena, tp->topic),
					      aprintf(c->arena, "%d", tp->partition),
					      offset_str(c->arena, tp->committed),
					      offset_str(c->arena, tp->leo),
					      tp->committed >= 0 && tp->leo >= 0
						      ? aprintf(c->arena, "%lld", (long long)(tp->leo - tp->committed))
						      : "-",
					      mem ? kstr_dup(c->arena, mem->member_id) : "-",
					      mem ? kstr_dup(c->arena, mem->client_host) : "-",
					      mem ? kstr_dup(c->arena, mem->client_id) : "-",
				      });
		}
		table_print(&t);
	}
	free(l.v);
	return rc;
}

/* ---------------------------------------------------------------- delete */

static int delete_group(struct cluster *c, const char *group)
{
	for (;;) {
		struct kclient *co = find_coordinator(c, group);
		if (!co)
			return 1;
		struct delete_groups_request req;
		delete_groups_request_init(&req);
		req.groups_names_count = 1;
		req.groups_names = arena_alloc(c->arena, sizeof(*req.groups_names));
		req.groups_names[0] = kstr_from_cstr(group);
		struct delete_groups_response *resp;
		if (call(co, PROTO_API_DELETE_GROUPS, &req, c->arena, &resp, NULL) < 0)
			return 1;
		int16_t code = resp->results_count > 0 ? resp->results[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
		if (code == KERR_NONE) {
			printf("Deleted consumer group '%s'.\n", group);
			return 0;
		}
		if (coordinator_retriable(code) && !past_deadline(c)) {
			retry_sleep();
			continue;
		}
		char what[300];
		snprintf(what, sizeof(what), "cannot delete group '%s'", group);
		if (code == KERR_NON_EMPTY_GROUP)
			return group_fail(what, code,
					  "the group still has active members. Stop its consumers first: a consumer "
					  "leaves the group when it closes, or is dropped after its session timeout");
		if (code == KERR_GROUP_ID_NOT_FOUND)
			return group_fail(what, code, "there is no such group");
		return group_fail(what, code, NULL);
	}
}

/* ---------------------------------------------------------------- reset-offsets */

/* ISO 8601 date and time: YYYY-MM-DDTHH:MM:SS[.fraction][Z|+hh:mm|-hh:mm|+hhmm|+hh];
 * without a zone it is local time, as in Kafka's tool. */
static int parse_datetime(const char *s, int64_t *ms_out)
{
	struct tm tm = {0};
	int n = 0, ms = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	const char *p = s + n;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	bool zoned = false;
	long zone_s = 0;
	if (*p == 'Z' || *p == 'z') {
		zoned = true;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
		p++;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
			return -1;
		hh = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
			mm = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
		if (hh > 23 || mm > 59)
			return -1;
		zoned = true;
		zone_s = sign * (hh * 3600L + mm * 60L);
	}
	if (*p)
		return -1;
	int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday, hour = tm.tm_hour, min = tm.tm_min,
	    sec = tm.tm_sec;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	time_t t = zoned ? timegm(&tm) : mktime(&tm);
	/* a normalised field means it was out of range (month 13, February 30, ...) */
	if (t == (time_t)-1 && !(year == 1969 || year == 1970))
		return -1;
	if (tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != mday || tm.tm_min != min ||
	    tm.tm_sec != sec || (zoned && tm.tm_hour != hour))
		return -1;
	*ms_out = ((int64_t)t - zone_s) * 1000 + ms;
	return 0;
}

/* The partitions named by --topic/--partition, checked against Metadata. */
static int reset_partitions(struct cluster *c, const struct group_opts *opts, struct tplist *l)
{
	struct kstr *names = arena_alloc(c->arena, sizeof(*names) * (size_t)(opts->topic_count + 1));
	const char **lists = arena_alloc(c->arena, sizeof(*lists) * (size_t)(opts->topic_count + 1));
	for (int i = 0; i < opts->topic_count; i++) {
		char *colon = strchr(opts->topics[i], ':');
		names[i] = colon ? kstr_from_buf(opts->topics[i], (size_t)(colon - opts->topics[i]))
				 : kstr_from_cstr(opts->topics[i]);
		lists[i] = colon ? colon + 1 : NULL;
	}
	struct metadata_response *md = cluster_metadata(c, opts->topic_count, names);
	if (!md)
		return 1;
	for (int i = 0; i < opts->topic_count; i++) {
		const struct metadata_response_metadata_response_topic *t = metadata_topic(md, names[i]);
		if (!t || t->error_code != KERR_NONE) {
			char what[300];
			snprintf(what, sizeof(what), "topic '" KSTR_FMT "'", KSTR_ARG(names[i]));
			return group_fail(what, t ? t->error_code : KERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
		}
		int32_t *parts = NULL;
		int32_t count = 0;
		if (lists[i]) {
			parts = arena_alloc(c->arena, sizeof(*parts) * (strlen(lists[i]) + 1));
			const char *p = lists[i];
			for (;;) {
				char *end;
				errno = 0;
				long v = strtol(p, &end, 10);
				if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
					fprintf(stderr, "samsa: --topic %s: partitions are numbers separated by commas\n",
						opts->topics[i]);
					return 2;
				}
				parts[count++] = (int32_t)v;
				if (!*end)
					break;
				p = end + 1;
			}
		} else if (opts->partition_count > 0) {
			parts = opts->partitions;
			count = opts->partition_count;
		}
		if (!parts) {
			for (int32_t p = 0; p < t->partitions_count; p++)
				tplist_add(l, t->name, t->partitions[p].partition_index);
			continue;
		}
		for (int32_t k = 0; k < count; k++) {
			if (!metadata_partition(t, parts[k])) {
				fprintf(stderr, "samsa: topic '" KSTR_FMT "' has no partition %d (it has %d)\n",
					KSTR_ARG(t->name), parts[k], t->partitions_count);
				return 1;
			}
			tplist_add(l, t->name, parts[k]);
		}
	}
	return 0;
}

static int commit_offsets(struct cluster *c, const char *group, const struct tplist *l)
{
	for (;;) {
		struct kclient *co = find_coordinator(c, group);
		if (!co)
			return 1;
		struct offset_commit_request req;
		offset_commit_request_init(&req);
		req.group_id = kstr_from_cstr(group);
		req.generation_id_or_member_epoch = -1; /* not a member: an admin commit, as Kafka's tool does */
		req.member_id = KSTR_LIT("");
		req.topics = arena_alloc(c->arena, sizeof(*req.topics) * (size_t)l->count);
		for (int i = 0; i < l->count; i++) {
			struct offset_commit_request_offset_commit_request_topic *t = NULL;
			for (int32_t k = 0; k < req.topics_count && !t; k++)
				if (kstr_eq(req.topics[k].name, l->v[i].topic))
					t = &req.topics[k];
			if (!t) {
				t = &req.topics[req.topics_count++];
				offset_commit_request_offset_commit_request_topic_init(t);
				t->name = l->v[i].topic;
				t->partitions = arena_alloc(c->arena, sizeof(*t->partitions) * (size_t)l->count);
			}
			struct offset_commit_request_offset_commit_request_partition *p = &t->partitions[t->partitions_count++];
			offset_commit_request_offset_commit_request_partition_init(p);
			p->partition_index = l->v[i].partition;
			p->committed_offset = l->v[i].target;
			p->committed_metadata = KSTR_LIT("");
		}
		struct offset_commit_response *resp;
		if (call(co, PROTO_API_OFFSET_COMMIT, &req, c->arena, &resp, NULL) < 0)
			return 1;
		int rc = 0;
		bool retry = false;
		for (int32_t t = 0; t < resp->topics_count; t++)
			for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
				int16_t code = resp->topics[t].partitions[p].error_code;
				if (code == KERR_NONE)
					continue;
				if (coordinator_retriable(code) && !past_deadline(c)) {
					retry = true;
					continue;
				}
				char what[300];
				snprintf(what, sizeof(what), "cannot commit the offset of " KSTR_FMT "-%d for group '%s'",
					 KSTR_ARG(resp->topics[t].name), resp->topics[t].partitions[p].partition_index, group);
				const char *explain = NULL;
				if (code == KERR_UNKNOWN_MEMBER_ID || code == KERR_ILLEGAL_GENERATION ||
				    code == KERR_REBALANCE_IN_PROGRESS)
					explain = "the group has active members again; stop its consumers first";
				rc = group_fail(what, code, explain);
			}
		if (retry && rc == 0) {
			retry_sleep();
			continue;
		}
		return rc;
	}
}

static int reset_offsets(struct cluster *c, const struct group_opts *opts)
{
	const char *group = opts->names[0];
	struct describe_groups_response_described_group *g = describe_one(c, group);
	if (!g)
		return 1;
	if (group_exists(g) && !kstr_eq_cstr(g->group_state, "Empty")) {
		fprintf(stderr,
			"samsa: cannot reset the offsets of group '%s': it has %d active member%s (state " KSTR_FMT
			"); offsets can only be reset while the group is inactive, so stop its consumers first\n",
			group, g->members_count, g->members_count == 1 ? "" : "s", KSTR_ARG(g->group_state));
		return 1;
	}
	struct tplist l = {0};
	int rc = 0;
	if (opts->all_topics) {
		rc = offset_fetch(c, group, &l, true);
		if (rc == 0 && l.count == 0) {
			fprintf(stderr, "samsa: group '%s' has no committed offsets; name the topics with --topic\n",
				group);
			rc = 1;
		}
	} else {
		rc = reset_partitions(c, opts, &l);
		if (rc == 0)
			rc = offset_fetch(c, group, &l, false);
	}
	bool need_low = opts->mode == RESET_EARLIEST || opts->mode == RESET_OFFSET;
	bool need_high = opts->mode != RESET_EARLIEST;
	if (rc == 0 && need_low && list_offsets(c, &l, TS_EARLIEST, true) < 0)
		rc = 1;
	if (rc == 0 && need_high && list_offsets(c, &l, TS_LATEST, false) < 0)
		rc = 1;
	for (int i = 0; rc == 0 && i < l.count; i++)
		if (l.v[i].err != KERR_NONE) {
			char what[300];
			snprintf(what, sizeof(what), "cannot read the offsets of " KSTR_FMT "-%d", KSTR_ARG(l.v[i].topic),
				 l.v[i].partition);
			rc = group_fail(what, l.v[i].err, NULL);
		}
	if (rc == 0 && opts->mode == RESET_DATETIME) {
		/* the offset of the first record at or after the time, in l.low */
		if (list_offsets(c, &l, opts->to_ts, true) < 0)
			rc = 1;
	}
	for (int i = 0; rc == 0 && i < l.count; i++) {
		struct tp *tp = &l.v[i];
		switch (opts->mode) {
		case RESET_EARLIEST:
			tp->target = tp->low;
			break;
		case RESET_LATEST:
			tp->target = tp->leo;
			break;
		case RESET_DATETIME:
			if (tp->err != KERR_NONE) {
				char what[300];
				snprintf(what, sizeof(what), "cannot look up the offset for the time in " KSTR_FMT "-%d",
					 KSTR_ARG(tp->topic), tp->partition);
				rc = group_fail(what, tp->err, NULL);
			}
			tp->target = tp->low >= 0 ? tp->low : tp->leo; /* none that recent: the log end */
			break;
		case RESET_OFFSET:
			tp->target = opts->to_offset;
			if (tp->target > tp->leo) {
				fprintf(stderr, "samsa: %lld is past the log end offset of " KSTR_FMT "-%d; using %lld\n",
					(long long)opts->to_offset, KSTR_ARG(tp->topic), tp->partition, (long long)tp->leo);
				tp->target = tp->leo;
			} else if (tp->target < tp->low) {
				fprintf(stderr, "samsa: %lld is before the log start offset of " KSTR_FMT "-%d; using %lld\n",
					(long long)opts->to_offset, KSTR_ARG(tp->topic), tp->partition, (long long)tp->low);
				tp->target = tp->low;
			}
			break;
		case RESET_NONE:
			break;
		}
	}
	if (rc == 0 && opts->execute)
		rc = commit_offsets(c, group, &l);
	if (rc == 0) {
		qsort(l.v, (size_t)l.count, sizeof(*l.v), tp_cmp);
		struct table t = {.cols = 5};
		table_row(&t, (const char *[]){"GROUP", "TOPIC", "PARTITION", "PREVIOUS-OFFSET", "NEW-OFFSET"});
		for (int i = 0; i < l.count; i++)
			table_row(&t, (const char *[]){group, kstr_dup(c->arena, l.v[i].topic),
						       aprintf(c->arena, "%d", l.v[i].partition),
						       offset_str(c->arena, l.v[i].committed),
						       offset_str(c->arena, l.v[i].target)});
		table_print(&t);
		if (opts->execute)
			printf("Committed %d offset%s for group '%s'.\n", l.count, l.count == 1 ? "" : "s", group);
		else
			fprintf(stderr, "samsa: dry run: nothing was committed (add --execute to commit these offsets)\n");
	}
	free(l.v);
	return rc;
}

/* ---------------------------------------------------------------- options */

static int parse_long(const char *s, const char *what, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "samsa: %s must be a number from %lld to %lld, got '%s'\n", what, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int set_mode(struct group_opts *opts, enum reset_mode mode)
{
	if (opts->mode != RESET_NONE && opts->mode != mode) {
		fprintf(stderr, "samsa: give only one of --to-earliest, --to-latest, --to-offset, --to-datetime\n");
		return -1;
	}
	opts->mode = mode;
	return 0;
}

enum {
	OPT_TO_EARLIEST = 256,
	OPT_TO_LATEST,
	OPT_TO_OFFSET,
	OPT_TO_DATETIME,
	OPT_DRY_RUN,
	OPT_EXECUTE,
	OPT_ALL_TOPICS,
	OPT_STATE,
	OPT_TIMEOUT,
};

static int group_parse(int argc, char **argv, struct group_opts *opts)
{
	static const struct option longopts[] = {
		{"bootstrap-server", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"partition", required_argument, NULL, 'p'},
		{"all-topics", no_argument, NULL, OPT_ALL_TOPICS},
		{"to-earliest", no_argument, NULL, OPT_TO_EARLIEST},
		{"to-latest", no_argument, NULL, OPT_TO_LATEST},
		{"to-offset", required_argument, NULL, OPT_TO_OFFSET},
		{"to-datetime", required_argument, NULL, OPT_TO_DATETIME},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"execute", no_argument, NULL, OPT_EXECUTE},
		{"state", required_argument, NULL, OPT_STATE},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(opts, 0, sizeof(*opts));
	opts->bootstrap = "localhost:9092";
	opts->timeout_ms = 30000;
	opts->names = calloc((size_t)argc + 1, sizeof(char *));
	opts->topics = calloc((size_t)argc + 1, sizeof(char *));
	opts->partitions = calloc((size_t)argc + 1, sizeof(int32_t));
	int c;
	long long v;
	optind = 2; /* argv[0] = "group", argv[1] = the action */
	while ((c = getopt_long(argc, argv, "b:t:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opts->bootstrap = optarg;
			break;
		case 't':
			opts->topics[opts->topic_count++] = optarg;
			break;
		case 'p':
			if (parse_long(optarg, "--partition", 0, INT32_MAX, &v) < 0)
				return -1;
			opts->partitions[opts->partition_count++] = (int32_t)v;
			break;
		case OPT_ALL_TOPICS:
			opts->all_topics = true;
			break;
		case OPT_TO_EARLIEST:
			if (set_mode(opts, RESET_EARLIEST) < 0)
				return -1;
			break;
		case OPT_TO_LATEST:
			if (set_mode(opts, RESET_LATEST) < 0)
				return -1;
			break;
		case OPT_TO_OFFSET:
			if (set_mode(opts, RESET_OFFSET) < 0 || parse_long(optarg, "--to-offset", 0, INT64_MAX, &v) < 0)
				return -1;
			opts->to_offset = v;
			break;
		case OPT_TO_DATETIME:
			if (set_mode(opts, RESET_DATETIME) < 0)
				return -1;
			if (parse_datetime(optarg, &opts->to_ts) < 0) {
				fprintf(stderr,
					"samsa: --to-datetime takes YYYY-MM-DDTHH:MM:SS[.sss][Z|+hh:mm|-hh:mm] "
					"(local time without a zone), got '%s'\n",
					optarg);
				return -1;
			}
			if (opts->to_ts < 0) {
				fprintf(stderr, "samsa: --to-datetime must not be before 1970\n");
				return -1;
			}
			break;
		case OPT_DRY_RUN:
			opts->dry_run = true;
			break;
		case OPT_EXECUTE:
			opts->execute = true;
			break;
		case OPT_STATE:
			opts->state = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, "--timeout", 1, 3600000, &v) < 0)
				return -1;
			opts->timeout_ms = (int)v;
			break;
		case 'h':
			group_usage(stdout);
			exit(0);
		default:
			group_usage(stderr);
			return -1;
		}
	}
	for (int i = optind; i < argc; i++)
		opts->names[opts->name_count++] = argv[i];
	return 0;
}

/* Usage errors of an action's arguments; prints why. */
static int group_check(const char *action, const struct group_opts *opts)
{
	bool reset = strcmp(action, "reset-offsets") == 0;
	if (strcmp(action, "list") == 0) {
		if (opts->name_count > 0) {
			fprintf(stderr, "samsa: group list takes no group names\n");
			return -1;
		}
	} else if (opts->name_count == 0) {
		fprintf(stderr, "samsa: group %s needs a group id\n", action);
		return -1;
	}
	if (!reset && (opts->topic_count || opts->partition_count || opts->all_topics || opts->mode != RESET_NONE ||
		       opts->dry_run || opts->execute)) {
		fprintf(stderr, "samsa: --topic, --partition, --all-topics, --to-*, --dry-run and --execute "
				"belong to reset-offsets\n");
		return -1;
	}
	if (opts->state && strcmp(action, "list") != 0) {
		fprintf(stderr, "samsa: --state belongs to list\n");
		return -1;
	}
	if (!reset)
		return 0;
	if (opts->name_count != 1) {
		fprintf(stderr, "samsa: group reset-offsets takes one group id\n");
		return -1;
	}
	if (opts->mode == RESET_NONE) {
		fprintf(stderr, "samsa: reset-offsets needs one of --to-earliest, --to-latest, --to-offset N, "
				"--to-datetime TIME\n");
		return -1;
	}
	if ((opts->topic_count > 0) == opts->all_topics) {
		fprintf(stderr, "samsa: reset-offsets needs either --topic or --all-topics\n");
		return -1;
	}
	if (opts->partition_count > 0 && opts->all_topics) {
		fprintf(stderr, "samsa: --partition goes with --topic, not --all-topics\n");
		return -1;
	}
	if (opts->dry_run && opts->execute) {
		fprintf(stderr, "samsa: give --dry-run or --execute, not both\n");
		return -1;
	}
	return 0;
}

int cli_group_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		group_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *action = argv[1];
	if (strcmp(action, "list") != 0 && strcmp(action, "describe") != 0 && strcmp(action, "delete") != 0 &&
	    strcmp(action, "reset-offsets") != 0) {
		fprintf(stderr, "samsa: unknown group action '%s'\n", action);
		group_usage(stderr);
		return 2;
	}
	struct group_opts opts;
	int rc = 2;
	if (group_parse(argc, argv, &opts) < 0 || group_check(action, &opts) < 0)
		goto out;
	char errmsg[ERRMSG_SIZE];
	struct cluster c = {.bootstrap = opts.bootstrap, .timeout_ms = opts.timeout_ms};
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += opts.timeout_ms / 1000;
	c.deadline.tv_nsec += (opts.timeout_ms % 1000) * 1000000L;
	if (c.deadline.tv_nsec >= 1000000000L) {
		c.deadline.tv_sec++;
		c.deadline.tv_nsec -= 1000000000L;
	}
	c.boot = kclient_connect(opts.bootstrap, opts.timeout_ms, errmsg);
	if (!c.boot) {
		fprintf(stderr, "samsa: %s\n", errmsg);
		rc = 1;
		goto out;
	}
	c.arena = arena_new(65536);
	rc = 0;
	if (strcmp(action, "list") == 0) {
		rc = group_list(&c, &opts);
	} else if (strcmp(action, "describe") == 0) {
		for (int i = 0; i < opts.name_count; i++) {
			if (i)
				printf("\n");
			if (describe_group(&c, opts.names[i]))
				rc = 1;
		}
	} else if (strcmp(action, "delete") == 0) {
		for (int i = 0; i < opts.name_count; i++)
			if (delete_group(&c, opts.names[i]))
				rc = 1;
	} else {
		rc = reset_offsets(&c, &opts);
	}
	for (int i = 0; i < c.conn_count; i++)
		kclient_close(c.conn[i]);
	kclient_close(c.boot);
	arena_free(c.arena);
out:
	free(opts.names);
	free(opts.topics);
	free(opts.partitions);
	return rc;
}
