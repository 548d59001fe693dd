/* The consumer group state machine (group/group.h), stepped by hand: every
 * timeout is reached by moving a fake clock, never by sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/log.h"
#include "group/group.h"
#include "proto/gen/errors.h"

#define SESSION_MS 10000
#define REBALANCE_MS 30000

/* A parked request: records the answer it gets. */
struct tw {
	struct grp_waiter w;
	struct grp_result *res;
	int calls;
};

static void tw_done(struct grp_waiter *w, struct grp_result *res)
{
	struct tw *t = (struct tw *)w;
	t->calls++;
	grp_result_free(t->res);
	t->res = res;
}

static void tw_init(struct tw *t)
{
	memset(t, 0, sizeof(*t));
	t->w.done = tw_done;
}

static void tw_fini(struct tw *t)
{
	grp_result_free(t->res);
	t->res = NULL;
}

struct fixture {
	struct grp *grp;
	struct grp_config cfg;
	struct grp_now now;
	struct grp_effects fx;
};

static struct fixture *fixture_new(int32_t initial_delay_ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->cfg = (struct grp_config){initial_delay_ms, 1000, 300000, 100};
	f->now = (struct grp_now){1000000, 1700000000000};
	grp_effects_init(&f->fx);
	f->grp = grp_new("g", &f->cfg, &f->now);
	return f;
}

static void fixture_free(struct fixture *f)
{
	grp_fail_waiters(f->grp, KERR_NOT_COORDINATOR, &f->fx);
	grp_effects_deliver(&f->fx);
	grp_free(f->grp);
	free(f);
}

static int setup(void **state)
{
	log_set_level(LOG_WARN);
	(void)state;
	return 0;
}

/* Moves the clock and runs what fell due. */
static void advance(struct fixture *f, int64_t ms)
{
	f->now.mono_ms += ms;
	f->now.wall_ms += ms;
	if (grp_next_deadline(f->grp) <= f->now.mono_ms)
		grp_tick(f->grp, &f->now, &f->fx);
	grp_effects_deliver(&f->fx);
}

/* Protocols as "name" or "name:metadata" strings. */
static void join_full(struct fixture *f, struct tw *t, const char *member_id, const char *instance_id,
		      const char *new_id, bool require_known, int32_t session_ms, int nproto, const char **protos)
{
	struct grp_protocol p[8];
	char names[8][32];
	for (int i = 0; i < nproto; i++) {
		const char *colon = strchr(protos[i], ':');
		size_t n = colon ? (size_t)(colon - protos[i]) : strlen(protos[i]);
		snprintf(names[i], sizeof(names[i]), "%.*s", (int)n, protos[i]);
		p[i].name = names[i];
		p[i].metadata = (const uint8_t *)(colon ? colon + 1 : "m");
		p[i].metadata_len = (int32_t)strlen((const char *)p[i].metadata);
	}
	struct grp_join_args a = {
		.member_id = member_id,
		.instance_id = instance_id,
		.new_member_id = new_id,
		.client_id = "client",
		.client_host = "/127.0.0.1",
		.session_timeout_ms = session_ms,
		.rebalance_timeout_ms = REBALANCE_MS,
		.protocol_type = "consumer",
		.protocol_count = nproto,
		.protocols = p,
		.require_known_member_id = require_known,
	};
	grp_join(f->grp, &a, &t->w, &f->now, &f->fx);
	grp_effects_deliver(&f->fx);
}

static void join(struct fixture *f, struct tw *t, const char *member_id, const char *new_id)
{
	const char *protos[] = {"range"};
	join_full(f, t, member_id, NULL, new_id, false, SESSION_MS, 1, protos);
}

static void sync_group(struct fixture *f, struct tw *t, const char *member_id, int32_t generation, int n,
		       const char **members, const char **assignments)
{
	struct grp_assignment asg[8];
	for (int i = 0; i < n; i++)
		asg[i] = (struct grp_assignment){members[i], (const uint8_t *)assignments[i],
						 (int32_t)strlen(assignments[i])};
	struct grp_sync_args a = {.member_id = member_id, .generation = generation, .assignment_count = n,
				  .assignments = asg};
	grp_sync(f->grp, &a, &t->w, &f->now, &f->fx);
	grp_effects_deliver(&f->fx);
}

static int16_t heartbeat(struct fixture *f, const char *member_id, int32_t generation)
{
	int16_t err = grp_heartbeat(f->grp, member_id, NULL, generation, &f->now, &f->fx);
	grp_effects_deliver(&f->fx);
	return err;
}

static void assert_join_ok(const struct tw *t, int32_t generation, const char *member_id, const char *leader,
			   int32_t members)
{
	assert_int_equal(t->calls, 1);
	assert_non_null(t->res);
	assert_int_equal(t->res->kind, GRP_RESULT_JOIN);
	assert_int_equal(t->res->error, KERR_NONE);
	assert_int_equal(t->res->generation, generation);
	assert_string_equal(t->res->member_id, member_id);
	assert_string_equal(t->res->leader, leader);
	assert_int_equal(t->res->member_count, members);
	assert_string_equal(t->res->protocol_type, "consumer");
}

static void assert_assignment(const struct tw *t, const char *expect)
{
	assert_int_equal(t->calls, 1);
	assert_int_equal(t->res->kind, GRP_RESULT_SYNC);
	assert_int_equal(t->res->error, KERR_NONE);
	assert_int_equal(t->res->assignment_len, (int32_t)strlen(expect));
	assert_memory_equal(t->res->assignment, expect, strlen(expect));
}

/* A (leader) and B joined and synced: a Stable group at generation 1. */
static void stable_two(struct fixture *f)
{
	struct tw ja, jb, sa, sb;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&sa);
	tw_init(&sb);
	join(f, &ja, "", "A");
	join(f, &jb, "", "B");
	advance(f, 0);
	assert_join_ok(&ja, 1, "A", "A", 2);
	assert_join_ok(&jb, 1, "B", "A", 0);
	sync_group(f, &sb, "B", 1, 0, NULL, NULL);
	assert_int_equal(sb.calls, 0);
	const char *members[] = {"A", "B"};
	const char *asg[] = {"pa", "pb"};
	sync_group(f, &sa, "A", 1, 2, members, asg);
	assert_assignment(&sa, "pa");
	assert_assignment(&sb, "pb");
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	assert_true(grp_take_dirty(f->grp));
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&sa);
	tw_fini(&sb);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_member_id_required_join_sync_heartbeat(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct tw j1, j2, s;
	tw_init(&j1);
	tw_init(&j2);
	tw_init(&s);
	const char *protos[] = {"range"};
	join_full(f, &j1, "", NULL, "client-1", true, SESSION_MS, 1, protos);
	assert_int_equal(j1.calls, 1);
	assert_int_equal(j1.res->error, KERR_MEMBER_ID_REQUIRED);
	assert_string_equal(j1.res->member_id, "client-1");
	assert_int_equal(grp_state(f->grp), GRP_EMPTY);

	join_full(f, &j2, "client-1", NULL, "unused", true, SESSION_MS, 1, protos);
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	assert_int_equal(j2.calls, 0); /* parked until the (zero) initial delay runs out */
	advance(f, 0);
	assert_join_ok(&j2, 1, "client-1", "client-1", 1);
	assert_string_equal(j2.res->protocol_name, "range");
	assert_int_equal(grp_state(f->grp), GRP_COMPLETING_REBALANCE);

	const char *members[] = {"client-1"};
	const char *asg[] = {"p0"};
	sync_group(f, &s, "client-1", 1, 1, members, asg);
	assert_assignment(&s, "p0");
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	assert_int_equal(heartbeat(f, "client-1", 1), KERR_NONE);
	assert_int_equal(heartbeat(f, "client-1", 0), KERR_ILLEGAL_GENERATION);
	assert_int_equal(heartbeat(f, "nobody", 1), KERR_UNKNOWN_MEMBER_ID);
	tw_fini(&j1);
	tw_fini(&j2);
	tw_fini(&s);
	fixture_free(f);
}

static void test_initial_delay_extends_for_new_members(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(3000);
	struct tw ja, jb;
	tw_init(&ja);
	tw_init(&jb);
	join(f, &ja, "", "A");
	advance(f, 1000);
	join(f, &jb, "", "B");
	advance(f, 1999);
	assert_int_equal(ja.calls, 0);
	advance(f, 1); /* 3000 ms: B arrived meanwhile, so wait another delay */
	assert_int_equal(ja.calls, 0);
	assert_int_equal(jb.calls, 0);
	advance(f, 2999);
	assert_int_equal(ja.calls, 0);
	advance(f, 1); /* 6000 ms: nobody new, the join phase ends */
	assert_join_ok(&ja, 1, "A", "A", 2);
	assert_join_ok(&jb, 1, "B", "A", 0);
	tw_fini(&ja);
	tw_fini(&jb);
	fixture_free(f);
}

static void test_initial_delay_bounded_by_rebalance_timeout(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(20000); /* rebalance timeout 30000: at most 30 s in all */
	struct tw ja, jb, jc;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&jc);
	join(f, &ja, "", "A");
	advance(f, 10000);
	join(f, &jb, "", "B");
	advance(f, 10000); /* 20 s: extend by min(20000, remaining 10000) */
	assert_int_equal(ja.calls, 0);
	join(f, &jc, "", "C");
	advance(f, 10000); /* 30 s: remaining is 0 now, complete */
	assert_join_ok(&ja, 1, "A", "A", 3);
	assert_int_equal(jc.calls, 1);
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&jc);
	fixture_free(f);
}

static void test_new_member_triggers_rebalance(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	struct tw jc, ja, jb, sa, sb, sc;
	tw_init(&jc);
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&sa);
	tw_init(&sb);
	tw_init(&sc);
	join(f, &jc, "", "C");
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	assert_int_equal(jc.calls, 0);
	assert_int_equal(heartbeat(f, "A", 1), KERR_REBALANCE_IN_PROGRESS);
	join(f, &ja, "A", "x");
	assert_int_equal(ja.calls, 0);
	join(f, &jb, "B", "x"); /* everyone is in: the join phase ends now */
	assert_join_ok(&ja, 2, "A", "A", 3);
	assert_join_ok(&jb, 2, "B", "A", 0);
	assert_join_ok(&jc, 2, "C", "A", 0);
	/* a stale SyncGroup */
	struct tw stale;
	tw_init(&stale);
	sync_group(f, &stale, "B", 1, 0, NULL, NULL);
	assert_int_equal(stale.res->error, KERR_ILLEGAL_GENERATION);
	tw_fini(&stale);
	sync_group(f, &sb, "B", 2, 0, NULL, NULL);
	sync_group(f, &sc, "C", 2, 0, NULL, NULL);
	const char *members[] = {"A", "B", "C"};
	const char *asg[] = {"1", "2", "3"};
	sync_group(f, &sa, "A", 2, 3, members, asg);
	assert_assignment(&sa, "1");
	assert_assignment(&sb, "2");
	assert_assignment(&sc, "3");
	tw_fini(&jc);
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&sa);
	tw_fini(&sb);
	tw_fini(&sc);
	fixture_free(f);
}

static void test_rebalance_timeout_drops_members_that_do_not_rejoin(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	struct tw jc, ja;
	tw_init(&jc);
	tw_init(&ja);
	join(f, &jc, "", "C");
	join(f, &ja, "A", "x");
	/* B keeps heartbeating but never rejoins; A waits in its JoinGroup without
	 * heartbeats, which is allowed while the rebalance lasts */
	for (int i = 0; i < 5; i++) {
		advance(f, 5000);
		assert_int_equal(heartbeat(f, "B", 1), KERR_REBALANCE_IN_PROGRESS);
	}
	assert_int_equal(ja.calls, 0);
	advance(f, 5000); /* 30 s: the rebalance timeout */
	assert_join_ok(&ja, 2, "A", "A", 2);
	assert_join_ok(&jc, 2, "C", "A", 0);
	assert_int_equal(heartbeat(f, "B", 2), KERR_UNKNOWN_MEMBER_ID);
	tw_fini(&jc);
	tw_fini(&ja);
	fixture_free(f);
}

static void test_session_timeout_removes_member(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	advance(f, 6000);
	assert_int_equal(heartbeat(f, "A", 1), KERR_NONE);
	advance(f, 3999);
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	advance(f, 1); /* B's session (10 s) is over */
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	assert_int_equal(grp_member_count(f->grp), 1);
	assert_int_equal(heartbeat(f, "A", 1), KERR_REBALANCE_IN_PROGRESS);
	struct tw ja;
	tw_init(&ja);
	join(f, &ja, "A", "x");
	assert_join_ok(&ja, 2, "A", "A", 1);
	tw_fini(&ja);
	fixture_free(f);
}

static void test_leave_and_empty(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	assert_int_equal(grp_leave(f->grp, "B", NULL, "bye", &f->now, &f->fx), KERR_NONE);
	assert_int_equal(grp_leave(f->grp, "B", NULL, "bye", &f->now, &f->fx), KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	struct tw ja;
	tw_init(&ja);
	join(f, &ja, "A", "x");
	assert_join_ok(&ja, 2, "A", "A", 1);
	assert_int_equal(grp_leave(f->grp, "A", NULL, NULL, &f->now, &f->fx), KERR_NONE);
	grp_effects_deliver(&f->fx);
	assert_int_equal(grp_state(f->grp), GRP_EMPTY);
	assert_int_equal(grp_generation(f->grp), 3);
	assert_null(grp_protocol_name(f->grp));
	/* an Empty group takes commits from outside group management */
	assert_int_equal(grp_commit_check(f->grp, "", NULL, -1, &f->now), KERR_NONE);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, -1, &f->now), KERR_NONE);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 3, &f->now), KERR_UNKNOWN_MEMBER_ID);
	assert_true(grp_set_dead(f->grp, &f->now));
	assert_int_equal(grp_state(f->grp), GRP_DEAD);
	tw_fini(&ja);
	fixture_free(f);
}

static void test_leave_while_join_parked(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(5000);
	struct tw ja;
	tw_init(&ja);
	join(f, &ja, "", "A");
	assert_int_equal(grp_leave(f->grp, "A", NULL, NULL, &f->now, &f->fx), KERR_NONE);
	grp_effects_deliver(&f->fx);
	assert_int_equal(ja.calls, 1);
	assert_int_equal(ja.res->error, KERR_UNKNOWN_MEMBER_ID);
	advance(f, 5000);
	assert_int_equal(grp_state(f->grp), GRP_EMPTY);
	tw_fini(&ja);
	fixture_free(f);
}

static void test_static_member_rejoin_keeps_generation(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	const char *protos[] = {"range"};
	struct tw j1, s1, j2, s2;
	tw_init(&j1);
	tw_init(&s1);
	tw_init(&j2);
	tw_init(&s2);
	join_full(f, &j1, "", "inst-a", "inst-a-1", true, SESSION_MS, 1, protos);
	advance(f, 0);
	assert_join_ok(&j1, 1, "inst-a-1", "inst-a-1", 1);
	const char *members[] = {"inst-a-1"};
	const char *asg[] = {"all"};
	sync_group(f, &s1, "inst-a-1", 1, 1, members, asg);
	assert_assignment(&s1, "all");
	assert_true(grp_take_dirty(f->grp));

	/* the process restarts: same instance id, no member id */
	join_full(f, &j2, "", "inst-a", "inst-a-2", true, SESSION_MS, 1, protos);
	assert_int_equal(j2.calls, 1);
	assert_int_equal(j2.res->error, KERR_NONE);
	assert_int_equal(j2.res->generation, 1);
	assert_string_equal(j2.res->member_id, "inst-a-2");
	assert_string_equal(j2.res->leader, "inst-a-1"); /* the old id: no new assignment */
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	assert_true(grp_take_dirty(f->grp));
	assert_string_equal(grp_leader(f->grp), "inst-a-2");
	sync_group(f, &s2, "inst-a-2", 1, 0, NULL, NULL);
	assert_assignment(&s2, "all");
	/* the old id is fenced */
	assert_int_equal(grp_heartbeat(f->grp, "inst-a-1", "inst-a", 1, &f->now, &f->fx), KERR_FENCED_INSTANCE_ID);
	assert_int_equal(grp_heartbeat(f->grp, "inst-a-2", "inst-a", 1, &f->now, &f->fx), KERR_NONE);
	assert_int_equal(grp_commit_check(f->grp, "inst-a-1", "inst-a", 1, &f->now), KERR_FENCED_INSTANCE_ID);
	assert_int_equal(grp_txn_commit_check(f->grp, "inst-a-1", "inst-a", 1), KERR_FENCED_INSTANCE_ID);
	tw_fini(&j1);
	tw_fini(&s1);
	tw_fini(&j2);
	tw_fini(&s2);
	fixture_free(f);
}

static void test_static_member_survives_rebalance_timeout(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	const char *protos[] = {"range"};
	struct tw js, jd, sd, ss, jn, jd2;
	tw_init(&js);
	tw_init(&jd);
	tw_init(&sd);
	tw_init(&ss);
	tw_init(&jn);
	tw_init(&jd2);
	join_full(f, &js, "", "static", "S", false, SESSION_MS, 1, protos);
	join(f, &jd, "", "D");
	advance(f, 0);
	assert_join_ok(&js, 1, "S", "S", 2);
	sync_group(f, &sd, "D", 1, 0, NULL, NULL);
	sync_group(f, &ss, "S", 1, 0, NULL, NULL);
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	/* N joins; D rejoins; S is away but heartbeats */
	join(f, &jn, "", "N");
	join(f, &jd2, "D", "x");
	for (int i = 0; i < 6; i++) {
		advance(f, 5000);
		grp_heartbeat(f->grp, "S", "static", 1, &f->now, &f->fx);
	}
	/* the join phase ended without S, which stays (static members are kept) */
	assert_int_equal(grp_generation(f->grp), 2);
	assert_int_equal(grp_member_count(f->grp), 3);
	assert_join_ok(&jd2, 2, "D", "D", 3);
	tw_fini(&js);
	tw_fini(&jd);
	tw_fini(&sd);
	tw_fini(&ss);
	tw_fini(&jn);
	tw_fini(&jd2);
	fixture_free(f);
}

static void test_protocol_selection_by_vote(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct tw ja, jb, jc, jd;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&jc);
	tw_init(&jd);
	const char *pa[] = {"range", "roundrobin"};
	const char *pb[] = {"roundrobin", "range"};
	const char *pc[] = {"roundrobin", "range"};
	const char *pd[] = {"sticky"};
	join_full(f, &ja, "", NULL, "A", false, SESSION_MS, 2, pa);
	join_full(f, &jb, "", NULL, "B", false, SESSION_MS, 2, pb);
	join_full(f, &jc, "", NULL, "C", false, SESSION_MS, 2, pc);
	join_full(f, &jd, "", NULL, "D", false, SESSION_MS, 1, pd);
	assert_int_equal(jd.res->error, KERR_INCONSISTENT_GROUP_PROTOCOL);
	advance(f, 0);
	assert_string_equal(ja.res->protocol_name, "roundrobin");
	assert_string_equal(grp_protocol_name(f->grp), "roundrobin");
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&jc);
	tw_fini(&jd);
	fixture_free(f);
}

static void test_pending_sync_timeout(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct tw ja, jb, sa;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&sa);
	join(f, &ja, "", "A");
	join(f, &jb, "", "B");
	advance(f, 0);
	const char *members[] = {"A", "B"};
	const char *asg[] = {"x", "y"};
	sync_group(f, &sa, "A", 1, 2, members, asg);
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	/* B never sends SyncGroup (but heartbeats): it is removed after the rebalance timeout */
	for (int i = 0; i < 5; i++) {
		advance(f, 5000);
		assert_int_equal(heartbeat(f, "A", 1), KERR_NONE);
		assert_int_equal(heartbeat(f, "B", 1), KERR_NONE);
	}
	advance(f, 5000);
	assert_int_equal(grp_member_count(f->grp), 1);
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&sa);
	fixture_free(f);
}

static void test_pending_member_expires(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	const char *protos[] = {"range"};
	struct tw jn, ja, jb;
	tw_init(&jn);
	tw_init(&ja);
	tw_init(&jb);
	join_full(f, &jn, "", NULL, "N", true, SESSION_MS, 1, protos);
	assert_int_equal(jn.res->error, KERR_MEMBER_ID_REQUIRED);
	/* A leader rejoin starts a rebalance that waits for the pending member */
	join(f, &ja, "A", "x");
	join(f, &jb, "B", "x");
	assert_int_equal(ja.calls, 0);
	advance(f, SESSION_MS);
	assert_join_ok(&ja, 2, "A", "A", 2);
	tw_fini(&jn);
	tw_fini(&ja);
	tw_fini(&jb);
	fixture_free(f);
}

static void test_commit_checks(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	stable_two(f);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 1, &f->now), KERR_NONE);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 0, &f->now), KERR_ILLEGAL_GENERATION);
	assert_int_equal(grp_commit_check(f->grp, "Z", NULL, 1, &f->now), KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(grp_commit_check(f->grp, "", NULL, -1, &f->now), KERR_UNKNOWN_MEMBER_ID);
	/* TxnOffsetCommit v0-2 name no member: allowed in any state */
	assert_int_equal(grp_txn_commit_check(f->grp, "", NULL, -1), KERR_NONE);
	assert_int_equal(grp_txn_commit_check(f->grp, "A", NULL, 1), KERR_NONE);
	assert_int_equal(grp_txn_commit_check(f->grp, "A", NULL, 0), KERR_ILLEGAL_GENERATION);
	assert_int_equal(grp_txn_commit_check(f->grp, "Z", NULL, 1), KERR_UNKNOWN_MEMBER_ID);
	struct tw jc;
	tw_init(&jc);
	join(f, &jc, "", "C");
	/* PreparingRebalance still takes commits of the current generation */
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 1, &f->now), KERR_NONE);
	struct tw ja, jb;
	tw_init(&ja);
	tw_init(&jb);
	join(f, &ja, "A", "x");
	join(f, &jb, "B", "x");
	assert_int_equal(grp_state(f->grp), GRP_COMPLETING_REBALANCE);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 2, &f->now), KERR_REBALANCE_IN_PROGRESS);
	assert_int_equal(grp_commit_check(f->grp, "A", NULL, 1, &f->now), KERR_ILLEGAL_GENERATION);
	/* a transactional commit does not wait for the rebalance to complete */
	assert_int_equal(grp_txn_commit_check(f->grp, "A", NULL, 2), KERR_NONE);
	assert_int_equal(grp_txn_commit_check(f->grp, "A", NULL, 1), KERR_ILLEGAL_GENERATION);
	tw_fini(&jc);
	tw_fini(&ja);
	tw_fini(&jb);
	fixture_free(f);
}

static void test_sync_errors_and_leader_leave_during_sync(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct tw ja, jb, sb;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&sb);
	join(f, &ja, "", "A");
	join(f, &jb, "", "B");
	advance(f, 0);
	sync_group(f, &sb, "B", 1, 0, NULL, NULL);
	assert_int_equal(sb.calls, 0);
	/* the leader leaves instead of assigning: B's SyncGroup must not hang */
	assert_int_equal(grp_leave(f->grp, "A", NULL, NULL, &f->now, &f->fx), KERR_NONE);
	grp_effects_deliver(&f->fx);
	assert_int_equal(sb.calls, 1);
	assert_int_equal(sb.res->error, KERR_REBALANCE_IN_PROGRESS);
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	assert_string_equal(grp_leader(f->grp), "B");
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&sb);
	fixture_free(f);
}

static void test_fail_waiters_answers_everyone(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(5000);
	struct tw ja, jb;
	tw_init(&ja);
	tw_init(&jb);
	join(f, &ja, "", "A");
	join(f, &jb, "", "B");
	grp_fail_waiters(f->grp, KERR_NOT_COORDINATOR, &f->fx);
	grp_effects_deliver(&f->fx);
	assert_int_equal(ja.res->error, KERR_NOT_COORDINATOR);
	assert_int_equal(jb.res->error, KERR_NOT_COORDINATOR);
	tw_fini(&ja);
	tw_fini(&jb);
	fixture_free(f);
}

static void test_max_size_and_session_bounds(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	f->cfg.max_size = 1;
	grp_free(f->grp);
	f->grp = grp_new("g", &f->cfg, &f->now);
	struct tw ja, jb, jc;
	tw_init(&ja);
	tw_init(&jb);
	tw_init(&jc);
	join(f, &ja, "", "A");
	advance(f, 0);
	join(f, &jb, "", "B");
	assert_int_equal(jb.res->error, KERR_GROUP_MAX_SIZE_REACHED);
	const char *protos[] = {"range"};
	join_full(f, &jc, "", NULL, "C", false, 500, 1, protos);
	assert_int_equal(jc.res->error, KERR_INVALID_SESSION_TIMEOUT);
	tw_fini(&ja);
	tw_fini(&jb);
	tw_fini(&jc);
	fixture_free(f);
}

/* ConsumerProtocolSubscription v0 with the given topics. */
static size_t subscription(uint8_t *out, int n, const char **topics)
{
	size_t o = 0;
	out[o++] = 0;
	out[o++] = 0; /* version 0 */
	out[o++] = 0;
	out[o++] = 0;
	out[o++] = 0;
	out[o++] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(topics[i]);
		out[o++] = 0;
		out[o++] = (uint8_t)len;
		memcpy(out + o, topics[i], len);
		o += len;
	}
	for (int i = 0; i < 4; i++) /* user data: null */
		out[o++] = 0xff;
	return o;
}

static void test_subscribed_topics(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	uint8_t md[128];
	const char *topics[] = {"orders", "payments"};
	size_t len = subscription(md, 2, topics);
	struct grp_protocol p = {"range", md, (int32_t)len};
	struct grp_join_args a = {.member_id = "", .new_member_id = "A", .client_id = "c", .client_host = "h",
				  .session_timeout_ms = SESSION_MS, .rebalance_timeout_ms = REBALANCE_MS,
				  .protocol_type = "consumer", .protocol_count = 1, .protocols = &p};
	struct tw ja;
	tw_init(&ja);
	grp_join(f->grp, &a, &ja.w, &f->now, &f->fx);
	advance(f, 0);
	assert_true(grp_subscriptions_known(f->grp));
	assert_true(grp_subscribed_to(f->grp, "orders"));
	assert_true(grp_subscribed_to(f->grp, "payments"));
	assert_false(grp_subscribed_to(f->grp, "other"));
	tw_fini(&ja);
	fixture_free(f);
}

static void test_restore(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct grp_restore_member m[2] = {
		{"A", NULL, "c", "/h", REBALANCE_MS, SESSION_MS, (const uint8_t *)"s", 1, (const uint8_t *)"pa", 2},
		{"B", "inst", "c", "/h", REBALANCE_MS, SESSION_MS, (const uint8_t *)"s", 1, (const uint8_t *)"pb", 2},
	};
	grp_restore(f->grp, 7, "consumer", "range", "B", 1234, 2, m, &f->now);
	assert_int_equal(grp_state(f->grp), GRP_STABLE);
	assert_int_equal(grp_generation(f->grp), 7);
	assert_string_equal(grp_leader(f->grp), "B");
	struct tw sa;
	tw_init(&sa);
	sync_group(f, &sa, "A", 7, 0, NULL, NULL);
	assert_assignment(&sa, "pa");
	/* A keeps heartbeating, B is gone: after its session B is removed */
	advance(f, 5000);
	assert_int_equal(heartbeat(f, "A", 7), KERR_NONE);
	advance(f, 5000);
	assert_int_equal(grp_member_count(f->grp), 1);
	assert_int_equal(grp_state(f->grp), GRP_PREPARING_REBALANCE);
	tw_fini(&sa);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_id_required_join_sync_heartbeat),
		cmocka_unit_test(test_initial_delay_extends_for_new_members),
		cmocka_unit_test(test_initial_delay_bounded_by_rebalance_timeout),
		cmocka_unit_test(test_new_member_triggers_rebalance),
		cmocka_unit_test(test_rebalance_timeout_drops_members_that_do_not_rejoin),
		cmocka_unit_test(test_session_timeout_removes_member),
		cmocka_unit_test(test_leave_and_empty),
		cmocka_unit_test(test_leave_while_join_parked),
		cmocka_unit_test(test_static_member_rejoin_keeps_generation),
		cmocka_unit_test(test_static_member_survives_rebalance_timeout),
		cmocka_unit_test(test_protocol_selection_by_vote),
		cmocka_unit_test(test_pending_sync_timeout),
		cmocka_unit_test(test_pending_member_expires),
		cmocka_unit_test(test_commit_checks),
		cmocka_unit_test(test_sync_errors_and_leader_leave_during_sync),
		cmocka_unit_test(test_fail_waiters_answers_everyone),
		cmocka_unit_test(test_max_size_and_session_bounds),
		cmocka_unit_test(test_subscribed_topics),
		cmocka_unit_test(test_restore),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
