/* The classic consumer group state machine, following Kafka's group
 * coordinator: the same states, transitions, errors and timeouts, so clients
 * written against Kafka see the same group behaviour.
 *
 * Rebalance in short. A join from a new member (or a changed one, or the
 * leader) moves the group to PreparingRebalance. The join phase ends when
 * every known member has sent JoinGroup again (and no member id handed out
 * by MEMBER_ID_REQUIRED is still outstanding), or when the largest rebalance
 * timeout of the members runs out; dynamic members that did not rejoin are
 * dropped then. A group that was Empty waits group.initial.rebalance.delay.ms
 * first, and again for each member arriving meanwhile (up to the rebalance
 * timeout), so a fleet starting together rebalances once. The next
 * generation then picks the protocol every member supports with the most
 * first-choice votes, answers every JoinGroup (the leader gets the members'
 * metadata) and waits in CompletingRebalance for the leader's SyncGroup,
 * whose assignments go out to every member; the group is Stable. Members
 * that do not send SyncGroup within the rebalance timeout are removed.
 *
 * Liveness. Each member has a session deadline, pushed back by heartbeats,
 * commits and rebalance steps; a member that misses it is removed and the
 * rest rebalance. Members waiting in a JoinGroup or SyncGroup do not need to
 * heartbeat (the rebalance timeout governs them), except new members, whose
 * first JoinGroup times out after five minutes as in Kafka.
 *
 * Static members (group.instance.id) keep their place across restarts: a
 * JoinGroup with a known instance id and no member id takes over the old
 * member (fencing the old id with FENCED_INSTANCE_ID) and, when nothing about
 * its subscription changed, gets the current generation without a rebalance.
 * Static members are never dropped for not rejoining, only by session expiry
 * or LeaveGroup.
 *
 * Cooperative rebalancing needs nothing more here: clients that use it
 * simply join again after revoking, and each round is an ordinary rebalance. */
#include "group/group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "proto/gen/consumer_protocol_subscription.h"
#include "proto/gen/errors.h"
#include "proto/reader.h"

#define GRP_NO_DEADLINE INT64_MAX
/* Kafka's NewMemberJoinTimeoutMs: how long a brand-new member's first
 * JoinGroup may wait before the member is dropped. */
#define GRP_NEW_MEMBER_JOIN_TIMEOUT_MS (5 * 60 * 1000)
#define GRP_SUBSCRIPTION_MAX_VERSION 3

/* A member id handed out with MEMBER_ID_REQUIRED, not yet used to join. */
struct grp_pending {
	char *member_id;
	int64_t deadline;
};

enum grp_join_wait {
	GRP_JOIN_NONE,
	GRP_JOIN_INITIAL, /* group.initial.rebalance.delay.ms: ends only at the deadline */
	GRP_JOIN_DELAYED, /* ends when everyone joined, or at the rebalance timeout */
};

struct grp {
	char *id;
	struct grp_config cfg;
	enum grp_state state;
	int64_t state_ts; /* wall ms */
	int32_t generation;
	char *protocol_type;
	char *protocol_name;
	char *leader;
	struct grp_member **members; /* join order */
	int32_t member_count;
	int32_t member_cap;
	struct grp_pending *pending;
	int32_t pending_count;
	int32_t pending_cap;
	/* the join phase */
	enum grp_join_wait join_wait;
	int64_t join_deadline;
	int32_t join_delay_ms;     /* the current initial-delay step */
	int32_t join_remaining_ms; /* what is left of the rebalance timeout for more steps */
	bool new_member_added;     /* a member arrived during the initial delay */
	/* members of the current generation that have not sent SyncGroup */
	int64_t sync_deadline;
	int32_t sync_generation;
	/* topics the current generation subscribes to ("consumer" groups) */
	char **topics;
	int32_t topic_count;
	bool topics_known;
	bool dirty;
};

static const char *const state_names[] = {
	[GRP_EMPTY] = "Empty",
	[GRP_PREPARING_REBALANCE] = "PreparingRebalance",
	[GRP_COMPLETING_REBALANCE] = "CompletingRebalance",
	[GRP_STABLE] = "Stable",
	[GRP_DEAD] = "Dead",
};

const char *grp_state_name(enum grp_state state)
{
	return state >= GRP_EMPTY && state <= GRP_DEAD ? state_names[state] : "Unknown";
}

int grp_state_parse(const char *name)
{
	for (int s = GRP_EMPTY; s <= GRP_DEAD; s++)
		if (strcasecmp(name, state_names[s]) == 0)
			return s;
	return -1;
}

/* ---- small helpers ------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static uint8_t *dup_bytes(const uint8_t *p, int32_t len)
{
	if (len <= 0 || !p)
		return NULL;
	uint8_t *q = xmalloc((size_t)len);
	memcpy(q, p, (size_t)len);
	return q;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---- results and effects ------------------------------------------------ */

void grp_effects_init(struct grp_effects *fx)
{
	fx->head = NULL;
	fx->tail = &fx->head;
}

static void fx_push(struct grp_effects *fx, struct grp_waiter *waiter, struct grp_result *res)
{
	struct grp_effect *e = xmalloc(sizeof(*e));
	e->next = NULL;
	e->waiter = waiter;
	e->res = res;
	*fx->tail = e;
	fx->tail = &e->next;
}

void grp_effects_deliver(struct grp_effects *fx)
{
	struct grp_effect *e = fx->head;
	grp_effects_init(fx);
	while (e) {
		struct grp_effect *next = e->next;
		e->waiter->done(e->waiter, e->res);
		free(e);
		e = next;
	}
}

void grp_result_free(struct grp_result *res)
{
	if (!res)
		return;
	free(res->protocol_type);
	free(res->protocol_name);
	free(res->leader);
	free(res->member_id);
	for (int32_t i = 0; i < res->member_count; i++) {
		free(res->members[i].member_id);
		free(res->members[i].instance_id);
		free(res->members[i].metadata);
	}
	free(res->members);
	free(res->assignment);
	free(res);
}

static struct grp_result *result_new(enum grp_result_kind kind, int16_t error)
{
	struct grp_result *res = xcalloc(1, sizeof(*res));
	res->kind = kind;
	res->error = error;
	res->generation = -1;
	res->leader = xstrdup("");
	res->member_id = xstrdup("");
	return res;
}

static struct grp_result *join_error(const char *member_id, int16_t error)
{
	struct grp_result *res = result_new(GRP_RESULT_JOIN, error);
	free(res->member_id);
	res->member_id = xstrdup(member_id ? member_id : "");
	return res;
}

static struct grp_result *sync_error(int16_t error)
{
	return result_new(GRP_RESULT_SYNC, error);
}

struct grp_result *grp_result_error(enum grp_result_kind kind, const char *member_id, int16_t error)
{
	return kind == GRP_RESULT_JOIN ? join_error(member_id, error) : sync_error(error);
}

/* ---- members ------------------------------------------------------------ */

static bool is_leader(const struct grp *grp, const struct grp_member *m)
{
	return grp->leader && strcmp(grp->leader, m->member_id) == 0;
}

static struct grp_member *member_get(const struct grp *grp, const char *member_id)
{
	for (int32_t i = 0; i < grp->member_count; i++)
		if (strcmp(grp->members[i]->member_id, member_id) == 0)
			return grp->members[i];
	return NULL;
}

static int32_t member_index(const struct grp *grp, const struct grp_member *m)
{
	for (int32_t i = 0; i < grp->member_count; i++)
		if (grp->members[i] == m)
			return i;
	return -1;
}

static struct grp_member *static_member(const struct grp *grp, const char *instance_id)
{
	for (int32_t i = 0; i < grp->member_count; i++)
		if (grp->members[i]->instance_id && strcmp(grp->members[i]->instance_id, instance_id) == 0)
			return grp->members[i];
	return NULL;
}

static int32_t pending_index(const struct grp *grp, const char *member_id)
{
	for (int32_t i = 0; i < grp->pending_count; i++)
		if (strcmp(grp->pending[i].member_id, member_id) == 0)
			return i;
	return -1;
}

static void pending_remove_at(struct grp *grp, int32_t i)
{
	free(grp->pending[i].member_id);
	memmove(&grp->pending[i], &grp->pending[i + 1], sizeof(grp->pending[0]) * (size_t)(grp->pending_count - i - 1));
	grp->pending_count--;
}

static void pending_remove(struct grp *grp, const char *member_id)
{
	int32_t i = pending_index(grp, member_id);
	if (i >= 0)
		pending_remove_at(grp, i);
}

static void pending_add(struct grp *grp, const char *member_id, int64_t deadline)
{
	if (grp->pending_count == grp->pending_cap) {
		grp->pending_cap = grp->pending_cap ? grp->pending_cap * 2 : 4;
		grp->pending = xrealloc(grp->pending, sizeof(grp->pending[0]) * (size_t)grp->pending_cap);
	}
	grp->pending[grp->pending_count++] = (struct grp_pending){xstrdup(member_id), deadline};
}

static int32_t awaiting_join_count(const struct grp *grp)
{
	int32_t n = 0;
	for (int32_t i = 0; i < grp->member_count; i++)
		if (grp->members[i]->join_waiter)
			n++;
	return n;
}

static bool all_joined(const struct grp *grp)
{
	return awaiting_join_count(grp) == grp->member_count && grp->pending_count == 0;
}

static const struct grp_member_protocol *member_protocol(const struct grp_member *m, const char *name)
{
	if (!name)
		return NULL;
	for (int32_t i = 0; i < m->protocol_count; i++)
		if (strcmp(m->protocols[i].name, name) == 0)
			return &m->protocols[i];
	return NULL;
}

/* Members supporting protocol name. */
static int32_t supporters(const struct grp *grp, const char *name)
{
	int32_t n = 0;
	for (int32_t i = 0; i < grp->member_count; i++)
		if (member_protocol(grp->members[i], name))
			n++;
	return n;
}

static bool is_candidate(const struct grp *grp, const char *name)
{
	return supporters(grp, name) == grp->member_count;
}

/* Kafka's supportsProtocols: any protocol type and protocol for an empty
 * group; otherwise the group's type and a protocol every member supports. */
static bool supports_protocols(const struct grp *grp, const struct grp_join_args *a)
{
	if (!a->protocol_type || !*a->protocol_type || a->protocol_count <= 0)
		return false;
	if (grp->state == GRP_EMPTY || grp->member_count == 0)
		return true;
	if (!str_eq(a->protocol_type, grp->protocol_type))
		return false;
	for (int32_t i = 0; i < a->protocol_count; i++)
		if (is_candidate(grp, a->protocols[i].name))
			return true;
	return false;
}

/* The protocol of the next generation: among those every member supports,
 * the one most members list first (ties: the first member's preference). */
static const char *select_protocol(const struct grp *grp)
{
	const struct grp_member *first = grp->members[0];
	const char *best = NULL;
	int32_t best_votes = -1;
	for (int32_t p = 0; p < first->protocol_count; p++) {
		const char *name = first->protocols[p].name;
		if (!is_candidate(grp, name))
			continue;
		int32_t votes = 0;
		for (int32_t i = 0; i < grp->member_count; i++) {
			const struct grp_member *m = grp->members[i];
			for (int32_t k = 0; k < m->protocol_count; k++) {
				if (is_candidate(grp, m->protocols[k].name)) {
					if (strcmp(m->protocols[k].name, name) == 0)
						votes++;
					break;
				}
			}
		}
		if (votes > best_votes) {
			best = name;
			best_votes = votes;
		}
	}
	return best ? best : first->protocols[0].name;
}

static void member_set_protocols(struct grp_member *m, int32_t count, const struct grp_protocol *protocols)
{
	for (int32_t i = 0; i < m->protocol_count; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	m->protocol_count = count > 0 ? count : 0;
	m->protocols = m->protocol_count ? xcalloc((size_t)m->protocol_count, sizeof(*m->protocols)) : NULL;
	for (int32_t i = 0; i < m->protocol_count; i++) {
		m->protocols[i].name = xstrdup(protocols[i].name ? protocols[i].name : "");
		m->protocols[i].metadata = dup_bytes(protocols[i].metadata, protocols[i].metadata_len);
		m->protocols[i].metadata_len = m->protocols[i].metadata ? protocols[i].metadata_len : 0;
	}
}

static bool member_matches(const struct grp_member *m, const struct grp_join_args *a)
{
	if (m->protocol_count != a->protocol_count)
		return false;
	for (int32_t i = 0; i < m->protocol_count; i++) {
		const struct grp_member_protocol *mp = &m->protocols[i];
		const struct grp_protocol *ap = &a->protocols[i];
		int32_t alen = ap->metadata_len > 0 ? ap->metadata_len : 0;
		if (!str_eq(mp->name, ap->name ? ap->name : "") || mp->metadata_len != alen)
			return false;
		if (alen && memcmp(mp->metadata, ap->metadata, (size_t)alen) != 0)
			return false;
	}
	return true;
}

static void member_set_assignment(struct grp_member *m, const uint8_t *data, int32_t len)
{
	free(m->assignment);
	m->assignment = dup_bytes(data, len);
	m->assignment_len = m->assignment ? len : 0;
}

static void member_free(struct grp_member *m)
{
	member_set_protocols(m, 0, NULL);
	free(m->member_id);
	free(m->instance_id);
	free(m->client_id);
	free(m->client_host);
	free(m->assignment);
	free(m);
}

static void schedule_heartbeat(struct grp_member *m, const struct grp_now *now, int32_t timeout_ms)
{
	m->hb_deadline = now->mono_ms + timeout_ms;
}

static void answer_join(struct grp_member *m, struct grp_result *res, struct grp_effects *fx)
{
	if (m->join_waiter) {
		fx_push(fx, m->join_waiter, res);
		m->join_waiter = NULL;
	} else {
		grp_result_free(res);
	}
}

static void answer_sync(struct grp_member *m, struct grp_result *res, struct grp_effects *fx)
{
	if (m->sync_waiter) {
		fx_push(fx, m->sync_waiter, res);
		m->sync_waiter = NULL;
	} else {
		grp_result_free(res);
	}
}

/* Takes member m out of the member list (leadership passes to the first
 * remaining member), answers its parked requests with UNKNOWN_MEMBER_ID so
 * that a live client joins again, and frees it. */
static void member_drop(struct grp *grp, struct grp_member *m, struct grp_effects *fx)
{
	int32_t i = member_index(grp, m);
	if (i < 0)
		return;
	memmove(&grp->members[i], &grp->members[i + 1], sizeof(grp->members[0]) * (size_t)(grp->member_count - i - 1));
	grp->member_count--;
	if (is_leader(grp, m)) {
		free(grp->leader);
		grp->leader = grp->member_count ? xstrdup(grp->members[0]->member_id) : NULL;
	}
	if (m->join_waiter)
		answer_join(m, join_error("", KERR_UNKNOWN_MEMBER_ID), fx);
	if (m->sync_waiter)
		answer_sync(m, sync_error(KERR_UNKNOWN_MEMBER_ID), fx);
	member_free(m);
}

static void member_append(struct grp *grp, struct grp_member *m)
{
	if (grp->member_count == grp->member_cap) {
		grp->member_cap = grp->member_cap ? grp->member_cap * 2 : 4;
		grp->members = xrealloc(grp->members, sizeof(grp->members[0]) * (size_t)grp->member_cap);
	}
	grp->members[grp->member_count++] = m;
}

static int32_t rebalance_timeout(const struct grp *grp)
{
	int32_t t = 0;
	for (int32_t i = 0; i < grp->member_count; i++)
		if (grp->members[i]->rebalance_timeout_ms > t)
			t = grp->members[i]->rebalance_timeout_ms;
	return t;
}

/* Kafka's validateCurrentMember: the instance id, if any, must map to
 * member_id; the member must exist. */
static int16_t validate_member(const struct grp *grp, const char *member_id, const char *instance_id)
{
	if (instance_id) {
		const struct grp_member *m = static_member(grp, instance_id);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
		if (strcmp(m->member_id, member_id) != 0) {
			log_info("group", "group %s: member %s with group.instance.id %s is fenced by current member %s",
				 grp->id, member_id, instance_id, m->member_id);
			return KERR_FENCED_INSTANCE_ID;
		}
		return KERR_NONE;
	}
	return member_get(grp, member_id) ? KERR_NONE : KERR_UNKNOWN_MEMBER_ID;
}

/* ---- the group ---------------------------------------------------------- */

struct grp *grp_new(const char *group_id, const struct grp_config *cfg, const struct grp_now *now)
{
	struct grp *grp = xcalloc(1, sizeof(*grp));
	grp->id = xstrdup(group_id);
	grp->cfg = *cfg;
	grp->state = GRP_EMPTY;
	grp->state_ts = now->wall_ms;
	grp->join_deadline = GRP_NO_DEADLINE;
	grp->sync_deadline = GRP_NO_DEADLINE;
	return grp;
}

static void topics_clear(struct grp *grp)
{
	for (int32_t i = 0; i < grp->topic_count; i++)
		free(grp->topics[i]);
	free(grp->topics);
	grp->topics = NULL;
	grp->topic_count = 0;
	grp->topics_known = false;
}

static void members_clear(struct grp *grp)
{
	for (int32_t i = 0; i < grp->member_count; i++)
		member_free(grp->members[i]);
	grp->member_count = 0;
	for (int32_t i = 0; i < grp->pending_count; i++)
		free(grp->pending[i].member_id);
	grp->pending_count = 0;
}

void grp_free(struct grp *grp)
{
	if (!grp)
		return;
	members_clear(grp);
	free(grp->members);
	free(grp->pending);
	topics_clear(grp);
	free(grp->id);
	free(grp->protocol_type);
	free(grp->protocol_name);
	free(grp->leader);
	free(grp);
}

const char *grp_id(const struct grp *grp)
{
	return grp->id;
}

enum grp_state grp_state(const struct grp *grp)
{
	return grp->state;
}

int32_t grp_generation(const struct grp *grp)
{
	return grp->generation;
}

const char *grp_protocol_type(const struct grp *grp)
{
	return grp->protocol_type;
}

const char *grp_protocol_name(const struct grp *grp)
{
	return grp->protocol_name;
}

const char *grp_leader(const struct grp *grp)
{
	return grp->leader;
}

int64_t grp_state_timestamp(const struct grp *grp)
{
	return grp->state_ts;
}

int32_t grp_member_count(const struct grp *grp)
{
	return grp->member_count;
}

const struct grp_member *grp_member_at(const struct grp *grp, int32_t i)
{
	return grp->members[i];
}

const uint8_t *grp_member_metadata(const struct grp *grp, const struct grp_member *member, int32_t *len)
{
	const struct grp_member_protocol *p = member_protocol(member, grp->protocol_name);
	*len = p ? p->metadata_len : 0;
	return p ? p->metadata : NULL;
}

bool grp_take_dirty(struct grp *grp)
{
	bool dirty = grp->dirty;
	grp->dirty = false;
	return dirty;
}

static void transition(struct grp *grp, enum grp_state state, const struct grp_now *now)
{
	grp->state = state;
	grp->state_ts = now->wall_ms;
}

/* ---- subscriptions ------------------------------------------------------- */

static void topics_add(struct grp *grp, struct kstr topic)
{
	for (int32_t i = 0; i < grp->topic_count; i++)
		if (kstr_eq_cstr(topic, grp->topics[i]))
			return;
	grp->topics = xrealloc(grp->topics, sizeof(grp->topics[0]) * (size_t)(grp->topic_count + 1));
	grp->topics[grp->topic_count++] = xstrndup(topic.len > 0 ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0);
}

/* Reads each member's ConsumerProtocolSubscription (int16 version, then the
 * struct; newer versions only append fields, so they parse as the newest we
 * know). Any member that does not parse leaves the topics unknown. */
static void compute_topics(struct grp *grp)
{
	topics_clear(grp);
	if (!grp->protocol_type || strcmp(grp->protocol_type, "consumer") != 0 || !grp->protocol_name ||
	    grp->member_count == 0)
		return;
	struct arena *arena = arena_new(4096);
	bool ok = true;
	for (int32_t i = 0; i < grp->member_count && ok; i++) {
		int32_t len;
		const uint8_t *md = grp_member_metadata(grp, grp->members[i], &len);
		if (!md || len < 2) {
			ok = false;
			break;
		}
		struct preader r;
		preader_init(&r, md, (size_t)len);
		int16_t version = pr_int16(&r);
		if (r.err || version < 0) {
			ok = false;
			break;
		}
		if (version > GRP_SUBSCRIPTION_MAX_VERSION)
			version = GRP_SUBSCRIPTION_MAX_VERSION;
		struct consumer_protocol_subscription sub;
		consumer_protocol_subscription_init(&sub);
		if (consumer_protocol_subscription_decode(&r, arena, version, &sub) != 0) {
			ok = false;
			break;
		}
		for (int32_t t = 0; t < sub.topics_count; t++)
			topics_add(grp, sub.topics[t]);
	}
	arena_free(arena);
	if (!ok)
		topics_clear(grp);
	grp->topics_known = ok;
}

bool grp_subscriptions_known(const struct grp *grp)
{
	return grp->topics_known;
}

bool grp_subscribed_to(const struct grp *grp, const char *topic)
{
	if (!grp->topics_known)
		return true;
	for (int32_t i = 0; i < grp->topic_count; i++)
		if (strcmp(grp->topics[i], topic) == 0)
			return true;
	return false;
}

/* ---- rebalance ------------------------------------------------------------ */

static void complete_join(struct grp *grp, const struct grp_now *now, struct grp_effects *fx);

/* Answers every member's parked SyncGroup with its assignment (or error),
 * and restarts their sessions. */
static void propagate_assignment(struct grp *grp, int16_t error, const struct grp_now *now, struct grp_effects *fx)
{
	for (int32_t i = 0; i < grp->member_count; i++) {
		struct grp_member *m = grp->members[i];
		if (!m->sync_waiter)
			continue;
		struct grp_result *res = sync_error(error);
		if (error == KERR_NONE) {
			res->protocol_type = dup_or_null(grp->protocol_type);
			res->protocol_name = dup_or_null(grp->protocol_name);
			res->assignment = dup_bytes(m->assignment, m->assignment_len);
			res->assignment_len = res->assignment ? m->assignment_len : 0;
		}
		answer_sync(m, res, fx);
		schedule_heartbeat(m, now, m->session_timeout_ms);
	}
}

static void reset_and_propagate_error(struct grp *grp, int16_t error, const struct grp_now *now,
				      struct grp_effects *fx)
{
	for (int32_t i = 0; i < grp->member_count; i++)
		member_set_assignment(grp->members[i], NULL, 0);
	propagate_assignment(grp, error, now, fx);
}

static void try_complete_join(struct grp *grp, const struct grp_now *now, struct grp_effects *fx)
{
	if (grp->state == GRP_PREPARING_REBALANCE && grp->join_wait == GRP_JOIN_DELAYED && all_joined(grp))
		complete_join(grp, now, fx);
}

static void prepare_rebalance(struct grp *grp, const char *reason, const struct grp_now *now, struct grp_effects *fx)
{
	if (grp->state == GRP_COMPLETING_REBALANCE)
		reset_and_propagate_error(grp, KERR_REBALANCE_IN_PROGRESS, now, fx);
	grp->sync_deadline = GRP_NO_DEADLINE;
	int32_t timeout = rebalance_timeout(grp);
	if (grp->state == GRP_EMPTY) {
		int32_t delay = grp->cfg.initial_rebalance_delay_ms;
		grp->join_wait = GRP_JOIN_INITIAL;
		grp->join_delay_ms = delay;
		grp->join_remaining_ms = timeout > delay ? timeout - delay : 0;
		grp->join_deadline = now->mono_ms + delay;
	} else {
		grp->join_wait = GRP_JOIN_DELAYED;
		grp->join_deadline = now->mono_ms + timeout;
	}
	log_info("group", "preparing to rebalance group %s in state %s with old generation %d (reason: %s)", grp->id,
		 grp_state_name(grp->state), grp->generation, reason ? reason : "");
	transition(grp, GRP_PREPARING_REBALANCE, now);
	try_complete_join(grp, now, fx);
}

static void maybe_prepare_rebalance(struct grp *grp, const char *reason, const struct grp_now *now,
				    struct grp_effects *fx)
{
	if (grp->state == GRP_STABLE || grp->state == GRP_COMPLETING_REBALANCE || grp->state == GRP_EMPTY)
		prepare_rebalance(grp, reason, now, fx);
}

static void remove_member_and_update(struct grp *grp, struct grp_member *m, const char *reason,
				     const struct grp_now *now, struct grp_effects *fx)
{
	log_info("group", "group %s: removing member %s (%s)", grp->id, m->member_id, reason);
	member_drop(grp, m, fx);
	switch (grp->state) {
	case GRP_STABLE:
	case GRP_COMPLETING_REBALANCE:
		maybe_prepare_rebalance(grp, reason, now, fx);
		break;
	case GRP_PREPARING_REBALANCE:
		try_complete_join(grp, now, fx);
		break;
	case GRP_EMPTY:
	case GRP_DEAD:
		break;
	}
}

static void clear_pending_sync(struct grp *grp, struct grp_member *m)
{
	m->pending_sync = false;
	for (int32_t i = 0; i < grp->member_count; i++)
		if (grp->members[i]->pending_sync)
			return;
	grp->sync_deadline = GRP_NO_DEADLINE;
}

static void init_next_generation(struct grp *grp, const struct grp_now *now)
{
	grp->generation++;
	free(grp->protocol_name);
	grp->protocol_name = NULL;
	if (grp->member_count > 0) {
		grp->protocol_name = xstrdup(select_protocol(grp));
		compute_topics(grp);
		transition(grp, GRP_COMPLETING_REBALANCE, now);
	} else {
		compute_topics(grp);
		transition(grp, GRP_EMPTY, now);
	}
	for (int32_t i = 0; i < grp->member_count; i++)
		grp->members[i]->pending_sync = false;
}

static struct grp_result *join_ok(const struct grp *grp, const struct grp_member *m, bool with_members,
				  const char *leader)
{
	struct grp_result *res = join_error(m->member_id, KERR_NONE);
	res->generation = grp->generation;
	res->protocol_type = dup_or_null(grp->protocol_type);
	res->protocol_name = dup_or_null(grp->protocol_name);
	free(res->leader);
	res->leader = xstrdup(leader ? leader : "");
	if (with_members && grp->member_count > 0) {
		res->member_count = grp->member_count;
		res->members = xcalloc((size_t)grp->member_count, sizeof(*res->members));
		for (int32_t i = 0; i < grp->member_count; i++) {
			const struct grp_member *o = grp->members[i];
			int32_t len;
			const uint8_t *md = grp_member_metadata(grp, o, &len);
			res->members[i].member_id = xstrdup(o->member_id);
			res->members[i].instance_id = dup_or_null(o->instance_id);
			res->members[i].metadata = dup_bytes(md, len);
			res->members[i].metadata_len = res->members[i].metadata ? len : 0;
		}
	}
	return res;
}

/* The end of the join phase (Kafka's onCompleteJoin). */
static void complete_join(struct grp *grp, const struct grp_now *now, struct grp_effects *fx)
{
	grp->join_wait = GRP_JOIN_NONE;
	grp->join_deadline = GRP_NO_DEADLINE;
	for (int32_t i = 0; i < grp->member_count;) {
		struct grp_member *m = grp->members[i];
		if (!m->join_waiter && !m->instance_id) {
			log_info("group", "group %s: removing member %s, which did not rejoin in time", grp->id,
				 m->member_id);
			member_drop(grp, m, fx);
		} else {
			i++;
		}
	}
	if (grp->state == GRP_DEAD)
		return;
	if (grp->member_count > 0) {
		struct grp_member *leader = grp->leader ? member_get(grp, grp->leader) : NULL;
		if (!leader || !leader->join_waiter) {
			leader = NULL;
			for (int32_t i = 0; i < grp->member_count && !leader; i++)
				if (grp->members[i]->join_waiter)
					leader = grp->members[i];
			if (!leader) {
				/* Only static members that have not rejoined are left: wait
				 * again, until they rejoin or their sessions expire. */
				log_warn("group", "group %s could not complete rebalance because no members rejoined",
					 grp->id);
				grp->join_wait = GRP_JOIN_DELAYED;
				grp->join_deadline = now->mono_ms + rebalance_timeout(grp);
				return;
			}
			free(grp->leader);
			grp->leader = xstrdup(leader->member_id);
		}
	}
	init_next_generation(grp, now);
	if (grp->state == GRP_EMPTY) {
		log_info("group", "group %s with generation %d is now empty", grp->id, grp->generation);
		grp->dirty = true;
		return;
	}
	log_info("group", "stabilized group %s generation %d (protocol %s) with %d members", grp->id, grp->generation,
		 grp->protocol_name, grp->member_count);
	for (int32_t i = 0; i < grp->member_count; i++) {
		struct grp_member *m = grp->members[i];
		if (m->join_waiter)
			answer_join(m, join_ok(grp, m, is_leader(grp, m), grp->leader), fx);
		schedule_heartbeat(m, now, m->session_timeout_ms);
		m->is_new = false;
		m->pending_sync = true;
	}
	grp->sync_deadline = now->mono_ms + rebalance_timeout(grp);
	grp->sync_generation = grp->generation;
}

/* ---- JoinGroup ------------------------------------------------------------ */

static void update_member(struct grp_member *m, const struct grp_join_args *a, struct grp_waiter *waiter,
			  struct grp_effects *fx)
{
	member_set_protocols(m, a->protocol_count, a->protocols);
	m->session_timeout_ms = a->session_timeout_ms;
	m->rebalance_timeout_ms = a->rebalance_timeout_ms;
	if (m->join_waiter && m->join_waiter != waiter)
		answer_join(m, join_error(m->member_id, KERR_REBALANCE_IN_PROGRESS), fx);
	m->join_waiter = waiter;
}

static void update_member_and_rebalance(struct grp *grp, struct grp_member *m, const struct grp_join_args *a,
					struct grp_waiter *waiter, const char *reason, const struct grp_now *now,
					struct grp_effects *fx)
{
	update_member(m, a, waiter, fx);
	maybe_prepare_rebalance(grp, reason, now, fx);
}

static void add_member_and_rebalance(struct grp *grp, const struct grp_join_args *a, const char *member_id,
				     struct grp_waiter *waiter, const struct grp_now *now, struct grp_effects *fx)
{
	struct grp_member *m = xcalloc(1, sizeof(*m));
	m->member_id = xstrdup(member_id);
	m->instance_id = dup_or_null(a->instance_id);
	m->client_id = xstrdup(a->client_id ? a->client_id : "");
	m->client_host = xstrdup(a->client_host ? a->client_host : "");
	m->session_timeout_ms = a->session_timeout_ms;
	m->rebalance_timeout_ms = a->rebalance_timeout_ms;
	member_set_protocols(m, a->protocol_count, a->protocols);
	m->is_new = true;
	m->join_waiter = waiter;
	if (grp->state == GRP_PREPARING_REBALANCE && grp->generation == 0)
		grp->new_member_added = true;
	if (grp->member_count == 0) {
		free(grp->protocol_type);
		grp->protocol_type = xstrdup(a->protocol_type);
	}
	if (!grp->leader)
		grp->leader = xstrdup(member_id);
	member_append(grp, m);
	pending_remove(grp, member_id);
	schedule_heartbeat(m, now, GRP_NEW_MEMBER_JOIN_TIMEOUT_MS);
	char reason[512];
	snprintf(reason, sizeof(reason), "adding new member %s%s%s", member_id,
		 a->instance_id ? " with group.instance.id " : "", a->instance_id ? a->instance_id : "");
	maybe_prepare_rebalance(grp, reason, now, fx);
}

/* A JoinGroup without a member id but with a group.instance.id. */
static void static_member_join(struct grp *grp, const struct grp_join_args *a, const char *new_id,
			       struct grp_waiter *waiter, const struct grp_now *now, struct grp_effects *fx)
{
	struct grp_member *m = static_member(grp, a->instance_id);
	if (!m) {
		add_member_and_rebalance(grp, a, new_id, waiter, now, fx);
		return;
	}
	/* Replace the old member id; whoever still waits with it is fenced. */
	char *old_leader = dup_or_null(grp->leader);
	if (m->join_waiter)
		answer_join(m, join_error(m->member_id, KERR_FENCED_INSTANCE_ID), fx);
	if (m->sync_waiter)
		answer_sync(m, sync_error(KERR_FENCED_INSTANCE_ID), fx);
	log_info("group", "group %s: static member %s (group.instance.id %s) rejoins as %s", grp->id, m->member_id,
		 a->instance_id, new_id);
	if (is_leader(grp, m)) {
		free(grp->leader);
		grp->leader = xstrdup(new_id);
	}
	free(m->member_id);
	m->member_id = xstrdup(new_id);
	update_member(m, a, waiter, fx);
	schedule_heartbeat(m, now, m->session_timeout_ms);

	switch (grp->state) {
	case GRP_STABLE: {
		const char *next = select_protocol(grp);
		if (str_eq(grp->protocol_name, next)) {
			/* Nothing changes for the assignment: the member gets the current
			 * generation. The old leader id is returned so that a rejoining
			 * leader does not assign again (a Stable group would not pass its
			 * assignment on). */
			grp->dirty = true;
			answer_join(m, join_ok(grp, m, false, old_leader), fx);
		} else {
			maybe_prepare_rebalance(grp, "static member rejoined with a change of protocol", now, fx);
		}
		break;
	}
	case GRP_COMPLETING_REBALANCE:
		/* The leader may be assigning with the old member id: start over. */
		prepare_rebalance(grp, "static member rejoined during CompletingRebalance", now, fx);
		break;
	case GRP_PREPARING_REBALANCE:
	case GRP_EMPTY:
	case GRP_DEAD:
		break;
	}
	free(old_leader);
}

static void new_member_join(struct grp *grp, const struct grp_join_args *a, struct grp_waiter *waiter,
			    const struct grp_now *now, struct grp_effects *fx)
{
	const char *new_id = a->new_member_id;
	if (a->instance_id) {
		static_member_join(grp, a, new_id, waiter, now, fx);
	} else if (a->require_known_member_id) {
		/* KIP-394: hand out the id first; the member joins with it, so a
		 * client that times out and retries does not leave ghost members. */
		pending_add(grp, new_id, now->mono_ms + a->session_timeout_ms);
		fx_push(fx, waiter, join_error(new_id, KERR_MEMBER_ID_REQUIRED));
	} else {
		add_member_and_rebalance(grp, a, new_id, waiter, now, fx);
	}
}

static void current_member_join(struct grp *grp, const struct grp_join_args *a, struct grp_waiter *waiter,
				const struct grp_now *now, struct grp_effects *fx)
{
	const char *mid = a->member_id;
	if (pending_index(grp, mid) >= 0) {
		add_member_and_rebalance(grp, a, mid, waiter, now, fx);
		return;
	}
	int16_t err = validate_member(grp, mid, a->instance_id);
	if (err) {
		fx_push(fx, waiter, join_error(mid, err));
		return;
	}
	struct grp_member *m = member_get(grp, mid);
	switch (grp->state) {
	case GRP_PREPARING_REBALANCE:
		update_member_and_rebalance(grp, m, a, waiter, "member rejoining", now, fx);
		break;
	case GRP_COMPLETING_REBALANCE:
		if (member_matches(m, a)) /* e.g. it missed the JoinGroup response */
			fx_push(fx, waiter, join_ok(grp, m, is_leader(grp, m), grp->leader));
		else
			update_member_and_rebalance(grp, m, a, waiter, "member changed its metadata", now, fx);
		break;
	case GRP_STABLE:
		if (is_leader(grp, m))
			update_member_and_rebalance(grp, m, a, waiter, "leader rejoining", now, fx);
		else if (!member_matches(m, a))
			update_member_and_rebalance(grp, m, a, waiter, "member changed its metadata", now, fx);
		else
			fx_push(fx, waiter, join_ok(grp, m, false, grp->leader));
		break;
	case GRP_EMPTY:
	case GRP_DEAD:
		fx_push(fx, waiter, join_error(mid, KERR_UNKNOWN_MEMBER_ID));
		break;
	}
}

/* Kafka's acceptJoiningMember (group.max.size). */
static bool accept_joining(const struct grp *grp, const char *member_id)
{
	const struct grp_member *m = member_id ? member_get(grp, member_id) : NULL;
	switch (grp->state) {
	case GRP_EMPTY:
	case GRP_DEAD:
		return true;
	case GRP_PREPARING_REBALANCE:
		return (m && m->join_waiter) || awaiting_join_count(grp) < grp->cfg.max_size;
	case GRP_COMPLETING_REBALANCE:
	case GRP_STABLE:
		return m || grp->member_count < grp->cfg.max_size;
	}
	return false;
}

void grp_join(struct grp *grp, const struct grp_join_args *a, struct grp_waiter *waiter, const struct grp_now *now,
	      struct grp_effects *fx)
{
	const char *mid = a->member_id ? a->member_id : "";
	if (a->session_timeout_ms < grp->cfg.min_session_timeout_ms ||
	    a->session_timeout_ms > grp->cfg.max_session_timeout_ms) {
		fx_push(fx, waiter, join_error(mid, KERR_INVALID_SESSION_TIMEOUT));
		return;
	}
	if (grp->state == GRP_DEAD) {
		fx_push(fx, waiter, join_error(mid, KERR_COORDINATOR_NOT_AVAILABLE));
		return;
	}
	bool unknown = mid[0] == '\0';
	if (!accept_joining(grp, unknown ? NULL : mid)) {
		struct grp_member *m = unknown ? NULL : member_get(grp, mid);
		if (m)
			remove_member_and_update(grp, m, "the group is at group.max.size", now, fx);
		log_info("group", "group %s is full (group.max.size %d): refusing a join", grp->id, grp->cfg.max_size);
		fx_push(fx, waiter, join_error("", KERR_GROUP_MAX_SIZE_REACHED));
		return;
	}
	if (!supports_protocols(grp, a)) {
		fx_push(fx, waiter, join_error(mid, KERR_INCONSISTENT_GROUP_PROTOCOL));
		return;
	}
	if (unknown)
		new_member_join(grp, a, waiter, now, fx);
	else
		current_member_join(grp, a, waiter, now, fx);
	if (grp->state == GRP_PREPARING_REBALANCE)
		try_complete_join(grp, now, fx);
}

/* ---- SyncGroup ------------------------------------------------------------ */

static const struct grp_assignment *find_assignment(const struct grp_sync_args *a, const char *member_id)
{
	for (int32_t i = 0; i < a->assignment_count; i++)
		if (a->assignments[i].member_id && strcmp(a->assignments[i].member_id, member_id) == 0)
			return &a->assignments[i];
	return NULL;
}

void grp_sync(struct grp *grp, const struct grp_sync_args *a, struct grp_waiter *waiter, const struct grp_now *now,
	      struct grp_effects *fx)
{
	if (grp->state == GRP_DEAD) {
		fx_push(fx, waiter, sync_error(KERR_COORDINATOR_NOT_AVAILABLE));
		return;
	}
	int16_t err = validate_member(grp, a->member_id, a->instance_id);
	if (!err && a->generation != grp->generation)
		err = KERR_ILLEGAL_GENERATION;
	if (!err && a->protocol_type && !str_eq(a->protocol_type, grp->protocol_type))
		err = KERR_INCONSISTENT_GROUP_PROTOCOL;
	if (!err && a->protocol_name && !str_eq(a->protocol_name, grp->protocol_name))
		err = KERR_INCONSISTENT_GROUP_PROTOCOL;
	if (err) {
		fx_push(fx, waiter, sync_error(err));
		return;
	}
	struct grp_member *m = member_get(grp, a->member_id);
	switch (grp->state) {
	case GRP_EMPTY:
	case GRP_DEAD:
		fx_push(fx, waiter, sync_error(KERR_UNKNOWN_MEMBER_ID));
		break;
	case GRP_PREPARING_REBALANCE:
		fx_push(fx, waiter, sync_error(KERR_REBALANCE_IN_PROGRESS));
		break;
	case GRP_COMPLETING_REBALANCE:
		if (m->sync_waiter && m->sync_waiter != waiter)
			answer_sync(m, sync_error(KERR_REBALANCE_IN_PROGRESS), fx);
		m->sync_waiter = waiter;
		clear_pending_sync(grp, m);
		if (is_leader(grp, m)) {
			int32_t missing = 0;
			for (int32_t i = 0; i < grp->member_count; i++) {
				struct grp_member *o = grp->members[i];
				const struct grp_assignment *asg = find_assignment(a, o->member_id);
				if (!asg)
					missing++;
				member_set_assignment(o, asg ? asg->data : NULL, asg ? asg->len : 0);
			}
			log_info("group", "group %s generation %d: assignment received from leader %s for %d members%s",
				 grp->id, grp->generation, m->member_id, grp->member_count,
				 missing ? " (some without an assignment)" : "");
			propagate_assignment(grp, KERR_NONE, now, fx);
			transition(grp, GRP_STABLE, now);
			grp->dirty = true;
		}
		break;
	case GRP_STABLE: {
		clear_pending_sync(grp, m);
		struct grp_result *res = sync_error(KERR_NONE);
		res->protocol_type = dup_or_null(grp->protocol_type);
		res->protocol_name = dup_or_null(grp->protocol_name);
		res->assignment = dup_bytes(m->assignment, m->assignment_len);
		res->assignment_len = res->assignment ? m->assignment_len : 0;
		fx_push(fx, waiter, res);
		schedule_heartbeat(m, now, m->session_timeout_ms);
		break;
	}
	}
}

/* ---- Heartbeat, LeaveGroup, commits --------------------------------------- */

int16_t grp_heartbeat(struct grp *grp, const char *member_id, const char *instance_id, int32_t generation,
		      const struct grp_now *now, struct grp_effects *fx)
{
	(void)fx;
	if (grp->state == GRP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	int16_t err = validate_member(grp, member_id, instance_id);
	if (err)
		return err;
	if (generation != grp->generation)
		return KERR_ILLEGAL_GENERATION;
	struct grp_member *m = member_get(grp, member_id);
	switch (grp->state) {
	case GRP_EMPTY:
	case GRP_DEAD:
		return KERR_UNKNOWN_MEMBER_ID;
	case GRP_PREPARING_REBALANCE:
		schedule_heartbeat(m, now, m->session_timeout_ms);
		return KERR_REBALANCE_IN_PROGRESS;
	case GRP_COMPLETING_REBALANCE:
	case GRP_STABLE:
		schedule_heartbeat(m, now, m->session_timeout_ms);
		return KERR_NONE;
	}
	return KERR_NONE;
}

int16_t grp_leave(struct grp *grp, const char *member_id, const char *instance_id, const char *reason,
		  const struct grp_now *now, struct grp_effects *fx)
{
	if (grp->state == GRP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	char why[256];
	snprintf(why, sizeof(why), "member left the group%s%s", reason && *reason ? ": " : "", reason ? reason : "");
	if (!member_id || !*member_id) {
		struct grp_member *m = instance_id ? static_member(grp, instance_id) : NULL;
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
		remove_member_and_update(grp, m, why, now, fx);
		return KERR_NONE;
	}
	int32_t p = pending_index(grp, member_id);
	if (p >= 0) {
		pending_remove_at(grp, p);
		if (grp->state == GRP_PREPARING_REBALANCE)
			try_complete_join(grp, now, fx);
		return KERR_NONE;
	}
	int16_t err = validate_member(grp, member_id, instance_id);
	if (err)
		return err;
	remove_member_and_update(grp, member_get(grp, member_id), why, now, fx);
	return KERR_NONE;
}

/* The membership part of Kafka's validateOffsetCommit. */
static int16_t commit_member_check(const struct grp *grp, const char *member_id, const char *instance_id,
				   int32_t generation, bool transactional)
{
	if (grp->state == GRP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (generation < 0 && grp->state == GRP_EMPTY)
		return KERR_NONE; /* an admin client, or a consumer without group management */
	if (generation >= 0 || (member_id && *member_id) || instance_id) {
		int16_t err = validate_member(grp, member_id ? member_id : "", instance_id);
		if (err)
			return err;
		if (generation != grp->generation)
			return KERR_ILLEGAL_GENERATION;
	} else if (!transactional && grp->state != GRP_EMPTY) {
		/* only members may commit to a group that has members */
		return KERR_UNKNOWN_MEMBER_ID;
	}
	return KERR_NONE;
}

int16_t grp_txn_commit_check(const struct grp *grp, const char *member_id, const char *instance_id,
			     int32_t generation)
{
	return commit_member_check(grp, member_id, instance_id, generation, true);
}

int16_t grp_commit_check(struct grp *grp, const char *member_id, const char *instance_id, int32_t generation,
			 const struct grp_now *now)
{
	int16_t err = commit_member_check(grp, member_id, instance_id, generation, false);
	if (err)
		return err;
	switch (grp->state) {
	case GRP_EMPTY:
		return KERR_NONE;
	case GRP_STABLE:
	case GRP_PREPARING_REBALANCE: {
		/* a commit during PreparingRebalance is still allowed: the member
		 * learns of the rebalance from its next heartbeat */
		struct grp_member *m = member_get(grp, member_id);
		if (m)
			schedule_heartbeat(m, now, m->session_timeout_ms);
		return KERR_NONE;
	}
	case GRP_COMPLETING_REBALANCE:
		return KERR_REBALANCE_IN_PROGRESS;
	case GRP_DEAD:
		break;
	}
	return KERR_COORDINATOR_NOT_AVAILABLE;
}

/* ---- time --------------------------------------------------------------- */

/* Removes the first member whose session has expired; false if none. */
static bool expire_one_member(struct grp *grp, const struct grp_now *now, struct grp_effects *fx)
{
	for (int32_t i = 0; i < grp->member_count; i++) {
		struct grp_member *m = grp->members[i];
		if (now->mono_ms < m->hb_deadline)
			continue;
		if (!m->is_new && (m->join_waiter || m->sync_waiter)) {
			/* waiting in a rebalance counts as alive; the rebalance and
			 * pending-sync timeouts govern it, and completing the rebalance
			 * starts a new session */
			m->hb_deadline = GRP_NO_DEADLINE;
			continue;
		}
		log_info("group", "group %s: member %s has failed (no heartbeat within %d ms)", grp->id, m->member_id,
			 m->is_new ? GRP_NEW_MEMBER_JOIN_TIMEOUT_MS : m->session_timeout_ms);
		remove_member_and_update(grp, m, "session timeout expired", now, fx);
		return true;
	}
	return false;
}

static void tick_once(struct grp *grp, const struct grp_now *now, struct grp_effects *fx)
{
	while (expire_one_member(grp, now, fx))
		;
	for (int32_t i = 0; i < grp->pending_count;) {
		if (now->mono_ms >= grp->pending[i].deadline) {
			log_info("group", "group %s: pending member %s expired before joining", grp->id,
				 grp->pending[i].member_id);
			pending_remove_at(grp, i);
			if (grp->state == GRP_PREPARING_REBALANCE)
				try_complete_join(grp, now, fx);
			i = 0;
		} else {
			i++;
		}
	}
	if (grp->join_wait != GRP_JOIN_NONE && now->mono_ms >= grp->join_deadline) {
		if (grp->join_wait == GRP_JOIN_INITIAL && grp->new_member_added && grp->join_remaining_ms > 0) {
			/* members are still arriving: wait one more step */
			int32_t delay = grp->cfg.initial_rebalance_delay_ms < grp->join_remaining_ms
						? grp->cfg.initial_rebalance_delay_ms
						: grp->join_remaining_ms;
			grp->new_member_added = false;
			grp->join_remaining_ms =
				grp->join_remaining_ms > grp->join_delay_ms ? grp->join_remaining_ms - grp->join_delay_ms : 0;
			grp->join_delay_ms = delay;
			grp->join_deadline = now->mono_ms + delay;
		} else {
			complete_join(grp, now, fx);
		}
	}
	if (grp->sync_deadline != GRP_NO_DEADLINE && now->mono_ms >= grp->sync_deadline) {
		grp->sync_deadline = GRP_NO_DEADLINE;
		if (grp->generation == grp->sync_generation &&
		    (grp->state == GRP_COMPLETING_REBALANCE || grp->state == GRP_STABLE)) {
			bool removed = false;
			for (int32_t i = 0; i < grp->member_count;) {
				struct grp_member *m = grp->members[i];
				if (m->pending_sync) {
					log_info("group", "group %s: removing member %s, which did not send SyncGroup in time",
						 grp->id, m->member_id);
					member_drop(grp, m, fx);
					removed = true;
				} else {
					i++;
				}
			}
			if (removed)
				prepare_rebalance(grp, "members removed on pending SyncGroup expiration", now, fx);
		}
	}
}

void grp_tick(struct grp *grp, const struct grp_now *now, struct grp_effects *fx)
{
	/* A step can set a deadline that is already due (a zero initial delay
	 * extended by zero): run until nothing is due, boundedly. */
	for (int round = 0; round < 8 && grp->state != GRP_DEAD && grp_next_deadline(grp) <= now->mono_ms; round++)
		tick_once(grp, now, fx);
}

int64_t grp_next_deadline(const struct grp *grp)
{
	if (grp->state == GRP_DEAD)
		return GRP_NO_DEADLINE;
	int64_t t = GRP_NO_DEADLINE;
	for (int32_t i = 0; i < grp->member_count; i++)
		t = min64(t, grp->members[i]->hb_deadline);
	for (int32_t i = 0; i < grp->pending_count; i++)
		t = min64(t, grp->pending[i].deadline);
	if (grp->join_wait != GRP_JOIN_NONE)
		t = min64(t, grp->join_deadline);
	return min64(t, grp->sync_deadline);
}

void grp_fail_waiters(struct grp *grp, int16_t error, struct grp_effects *fx)
{
	for (int32_t i = 0; i < grp->member_count; i++) {
		struct grp_member *m = grp->members[i];
		if (m->join_waiter)
			answer_join(m, join_error(m->member_id, error), fx);
		if (m->sync_waiter)
			answer_sync(m, sync_error(error), fx);
	}
}

bool grp_set_dead(struct grp *grp, const struct grp_now *now)
{
	if (grp->state != GRP_EMPTY)
		return false;
	transition(grp, GRP_DEAD, now);
	grp->join_wait = GRP_JOIN_NONE;
	grp->sync_deadline = GRP_NO_DEADLINE;
	return true;
}

void grp_restore(struct grp *grp, int32_t generation, const char *protocol_type, const char *protocol_name,
		 const char *leader, int64_t state_timestamp, int32_t member_count,
		 const struct grp_restore_member *members, const struct grp_now *now)
{
	members_clear(grp);
	grp->generation = generation;
	free(grp->protocol_type);
	grp->protocol_type = protocol_type && *protocol_type ? xstrdup(protocol_type) : NULL;
	free(grp->protocol_name);
	grp->protocol_name = member_count > 0 ? xstrdup(protocol_name ? protocol_name : "") : NULL;
	free(grp->leader);
	grp->leader = NULL;
	grp->join_wait = GRP_JOIN_NONE;
	grp->join_deadline = GRP_NO_DEADLINE;
	grp->sync_deadline = GRP_NO_DEADLINE;
	grp->new_member_added = false;
	for (int32_t i = 0; i < member_count; i++) {
		const struct grp_restore_member *r = &members[i];
		struct grp_member *m = xcalloc(1, sizeof(*m));
		m->member_id = xstrdup(r->member_id);
		m->instance_id = dup_or_null(r->instance_id);
		m->client_id = xstrdup(r->client_id ? r->client_id : "");
		m->client_host = xstrdup(r->client_host ? r->client_host : "");
		m->rebalance_timeout_ms = r->rebalance_timeout_ms;
		m->session_timeout_ms = r->session_timeout_ms;
		struct grp_protocol p = {grp->protocol_name, r->subscription, r->subscription_len};
		member_set_protocols(m, 1, &p);
		member_set_assignment(m, r->assignment, r->assignment_len);
		schedule_heartbeat(m, now, m->session_timeout_ms);
		member_append(grp, m);
	}
	if (member_count > 0)
		grp->leader = xstrdup(leader && member_get(grp, leader) ? leader : members[0].member_id);
	grp->state = member_count > 0 ? GRP_STABLE : GRP_EMPTY;
	grp->state_ts = state_timestamp >= 0 ? state_timestamp : now->wall_ms;
	compute_topics(grp);
}
