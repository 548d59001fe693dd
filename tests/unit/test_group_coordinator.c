/* The group coordinator over a real data directory: commits written to
 * __consumer_offsets and replayed after a reopen, commit validation, group
 * and offset deletion with tombstones, offset expiry, group metadata that
 * survives a reopen, and parked requests answered at stop. Time comes from a
 * fake clock; there is no timer thread (group_coordinator_tick). */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/log.h"
#include "group/coordinator.h"
#include "group/records.h"
#include "log/flusher.h"
#include "meta/internal_topics.h"
#include "meta/topics.h"
#include "proto/batch.h"
#include "proto/gen/errors.h"
#include "testutil_group.h"

static int setup(void **state)
{
	log_set_level(LOG_WARN);
	static const char *const extra[] = {"group.initial.rebalance.delay.ms", "0",
					    "group.min.session.timeout.ms", "1000", NULL};
	*state = fixture_new("samsa-group", extra);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

static int16_t commit(struct fixture *fx, const char *group, const char *member, int32_t generation, int32_t partition,
		      int64_t offset, const char *metadata)
{
	struct group_commit_partition p = {"t", partition, offset, 3, metadata, -1, KERR_NONE};
	struct group_commit_args a = {group, member, NULL, generation, 1, &p};
	struct done_flag d = {0};
	if (group_commit_offsets(fx->coord, &a, on_done, &d))
		wait_done(&d);
	return p.error;
}

static int64_t fetch(struct fixture *fx, const char *group, int32_t partition, const char **metadata)
{
	struct arena *arena = arena_new(1024);
	struct group_offset o = {.topic = "t", .partition = partition};
	assert_int_equal(group_fetch_offsets(fx->coord, group, false, 1, &o, arena), KERR_NONE);
	if (metadata) {
		static char copy[128];
		snprintf(copy, sizeof(copy), "%s", o.metadata);
		*metadata = copy;
	}
	arena_free(arena);
	return o.offset;
}

struct tw {
	struct grp_waiter w;
	struct grp_result *res;
	atomic_int calls;
};

static void tw_done(struct grp_waiter *w, struct grp_result *res)
{
	struct tw *t = (struct tw *)w;
	grp_result_free(t->res);
	t->res = res;
	atomic_fetch_add(&t->calls, 1);
}

/* A one-member group "g", Stable at generation 1; returns the member id. */
static char *join_stable(struct fixture *fx, const char *group)
{
	struct tw j = {.w.done = tw_done}, s = {.w.done = tw_done};
	struct grp_protocol p = {"range", (const uint8_t *)"meta", 4};
	struct grp_join_args a = {.member_id = "", .client_id = "c1", .client_host = "/127.0.0.1",
				  .session_timeout_ms = 10000, .rebalance_timeout_ms = 20000,
				  .protocol_type = "consumer", .protocol_count = 1, .protocols = &p};
	group_join(fx->coord, group, &a, &j.w);
	group_coordinator_tick(fx->coord);
	assert_int_equal(atomic_load(&j.calls), 1);
	assert_int_equal(j.res->error, KERR_NONE);
	char *member = strdup(j.res->member_id);
	assert_true(strncmp(member, "c1-", 3) == 0);
	struct grp_assignment asg = {member, (const uint8_t *)"assigned", 8};
	struct grp_sync_args sa = {.member_id = member, .generation = 1, .assignment_count = 1, .assignments = &asg};
	group_sync(fx->coord, group, &sa, &s.w);
	assert_int_equal(atomic_load(&s.calls), 1);
	assert_int_equal(s.res->error, KERR_NONE);
	grp_result_free(j.res);
	grp_result_free(s.res);
	return member;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_commit_fetch_and_replay(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(fetch(fx, "g", 0, NULL), -1);
	assert_int_equal(commit(fx, "g", "", -1, 0, 42, "hello"), KERR_NONE);
	assert_int_equal(commit(fx, "g", "", -1, 1, 7, NULL), KERR_NONE);
	assert_int_equal(commit(fx, "g", "", -1, 0, 43, "again"), KERR_NONE);
	const char *md;
	assert_int_equal(fetch(fx, "g", 0, &md), 43);
	assert_string_equal(md, "again");
	struct meta_topic *ot = meta_topic_get(fx->topics, META_OFFSETS_TOPIC);
	assert_non_null(ot);
	assert_int_equal(ot->partition_count, 3);
	int32_t p = meta_internal_partition_for("g", 3);
	assert_int_equal(log_partition_end_offset(ot->partitions[p]), 3);
	meta_topic_put(fx->topics, ot);

	reopen(fx);
	assert_int_equal(fetch(fx, "g", 0, &md), 43);
	assert_string_equal(md, "again");
	assert_int_equal(fetch(fx, "g", 1, &md), 7);
	assert_string_equal(md, "");
	struct arena *arena = arena_new(1024);
	struct group_offset *all;
	int32_t n;
	assert_int_equal(group_fetch_all_offsets(fx->coord, "g", false, arena, &all, &n), KERR_NONE);
	assert_int_equal(n, 2);
	assert_int_equal(all[0].partition, 0);
	assert_int_equal(all[0].leader_epoch, 3);
	assert_int_equal(all[1].partition, 1);
	arena_free(arena);
}

static void test_commit_validation(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(commit(fx, "unknown", "m", 5, 0, 1, NULL), KERR_ILLEGAL_GENERATION);
	char *member = join_stable(fx, "g");
	assert_int_equal(commit(fx, "g", member, 1, 0, 10, NULL), KERR_NONE);
	assert_int_equal(commit(fx, "g", member, 0, 0, 11, NULL), KERR_ILLEGAL_GENERATION);
	assert_int_equal(commit(fx, "g", "someone-else", 1, 0, 11, NULL), KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(commit(fx, "g", "", -1, 0, 11, NULL), KERR_UNKNOWN_MEMBER_ID);
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(commit(fx, "g", member, 1, 0, 12, big), KERR_OFFSET_METADATA_TOO_LARGE);
	assert_int_equal(fetch(fx, "g", 0, NULL), 10);
	free(member);
}

static void test_delete_groups_and_offsets(void **state)
{
	struct fixture *fx = *state;
	char *member = join_stable(fx, "g");
	assert_int_equal(commit(fx, "g", member, 1, 0, 5, NULL), KERR_NONE);
	assert_int_equal(commit(fx, "simple", "", -1, 0, 9, NULL), KERR_NONE);
	assert_int_equal(commit(fx, "simple", "", -1, 1, 9, NULL), KERR_NONE);

	const char *ids[] = {"g", "nope"};
	int16_t errors[2];
	struct done_flag d = {0};
	assert_int_equal(group_delete_groups(fx->coord, 2, ids, errors, on_done, &d), 0);
	assert_int_equal(errors[0], KERR_NON_EMPTY_GROUP);
	assert_int_equal(errors[1], KERR_GROUP_ID_NOT_FOUND);

	/* OffsetDelete on a Stable consumer group: its subscriptions are unknown
	 * ("meta" is not a subscription), so every topic counts as subscribed */
	struct group_offset_delete od = {"t", 0, KERR_NONE};
	int16_t gerr;
	assert_int_equal(group_delete_offsets(fx->coord, "g", 1, &od, &gerr, on_done, &d), 0);
	assert_int_equal(gerr, KERR_NONE);
	assert_int_equal(od.error, KERR_GROUP_SUBSCRIBED_TO_TOPIC);

	/* the simple group is Empty: its offset goes */
	od = (struct group_offset_delete){"t", 1, KERR_NONE};
	struct done_flag d2 = {0};
	if (group_delete_offsets(fx->coord, "simple", 1, &od, &gerr, on_done, &d2))
		wait_done(&d2);
	assert_int_equal(od.error, KERR_NONE);
	assert_int_equal(fetch(fx, "simple", 1, NULL), -1);
	assert_int_equal(fetch(fx, "simple", 0, NULL), 9);

	struct group_leave_member lm = {member, NULL, "test", 0};
	assert_int_equal(group_leave(fx->coord, "g", 1, &lm), KERR_NONE);
	assert_int_equal(lm.error, KERR_NONE);
	struct done_flag d3 = {0};
	if (group_delete_groups(fx->coord, 1, ids, errors, on_done, &d3))
		wait_done(&d3);
	assert_int_equal(errors[0], KERR_NONE);
	assert_int_equal(fetch(fx, "g", 0, NULL), -1);

	reopen(fx);
	assert_int_equal(fetch(fx, "g", 0, NULL), -1);
	assert_int_equal(fetch(fx, "simple", 1, NULL), -1);
	assert_int_equal(fetch(fx, "simple", 0, NULL), 9);
	struct arena *arena = arena_new(1024);
	struct group_description desc;
	group_describe(fx->coord, "g", arena, &desc);
	assert_string_equal(desc.state, "Dead");
	arena_free(arena);
	free(member);
}

static void test_offsets_expire(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(commit(fx, "simple", "", -1, 0, 9, NULL), KERR_NONE);
	fake_wall += 30000;
	assert_int_equal(commit(fx, "simple", "", -1, 1, 9, NULL), KERR_NONE);
	fake_mono += 2000;
	fake_wall += 31000; /* partition 0's commit is 61 s old, partition 1's 31 s */
	group_coordinator_tick(fx->coord);
	assert_int_equal(fetch(fx, "simple", 0, NULL), -1);
	assert_int_equal(fetch(fx, "simple", 1, NULL), 9);
	fake_mono += 2000;
	fake_wall += 30000;
	group_coordinator_tick(fx->coord);
	assert_int_equal(fetch(fx, "simple", 1, NULL), -1);
	struct arena *arena = arena_new(1024);
	struct group_listing *list;
	int32_t n;
	assert_int_equal(group_list(fx->coord, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 0); /* Empty and without offsets: removed */
	arena_free(arena);
	reopen(fx);
	assert_int_equal(fetch(fx, "simple", 0, NULL), -1);
	assert_int_equal(fetch(fx, "simple", 1, NULL), -1);
}

static void test_group_metadata_survives_reopen(void **state)
{
	struct fixture *fx = *state;
	char *member = join_stable(fx, "g");
	reopen(fx);
	struct arena *arena = arena_new(1024);
	struct group_description desc;
	group_describe(fx->coord, "g", arena, &desc);
	assert_string_equal(desc.state, "Stable");
	assert_string_equal(desc.protocol_type, "consumer");
	assert_string_equal(desc.protocol, "range");
	assert_int_equal(desc.member_count, 1);
	assert_string_equal(desc.members[0].member_id, member);
	assert_string_equal(desc.members[0].client_host, "/127.0.0.1");
	assert_int_equal(desc.members[0].assignment_len, 8);
	assert_memory_equal(desc.members[0].assignment, "assigned", 8);
	arena_free(arena);
	/* the member carries on without a rebalance */
	assert_int_equal(group_heartbeat(fx->coord, "g", member, NULL, 1), KERR_NONE);
	assert_int_equal(commit(fx, "g", member, 1, 0, 3, NULL), KERR_NONE);
	/* a member that does not come back expires after its session */
	fake_mono += 11000;
	group_coordinator_tick(fx->coord);
	assert_int_equal(group_heartbeat(fx->coord, "g", member, NULL, 1), KERR_UNKNOWN_MEMBER_ID);
	free(member);
}

static void test_stop_answers_parked_requests(void **state)
{
	struct fixture *fx = *state;
	struct tw j = {.w.done = tw_done};
	struct grp_protocol p = {"range", (const uint8_t *)"m", 1};
	struct grp_join_args a = {.member_id = "", .client_id = "c", .client_host = "/h", .session_timeout_ms = 10000,
				  .rebalance_timeout_ms = 20000, .protocol_type = "consumer", .protocol_count = 1,
				  .protocols = &p};
	group_join(fx->coord, "g", &a, &j.w);
	group_coordinator_tick(fx->coord);
	/* a second member keeps the group in PreparingRebalance: parked */
	struct tw j2 = {.w.done = tw_done};
	group_join(fx->coord, "g", &a, &j2.w);
	assert_int_equal(atomic_load(&j2.calls), 0);
	group_coordinator_stop(fx->coord);
	assert_int_equal(atomic_load(&j2.calls), 1);
	assert_int_equal(j2.res->error, KERR_NOT_COORDINATOR);
	assert_int_equal(group_heartbeat(fx->coord, "g", j.res->member_id, NULL, 1), KERR_NOT_COORDINATOR);
	grp_result_free(j.res);
	grp_result_free(j2.res);
}

static void test_invalid_group_ids(void **state)
{
	struct fixture *fx = *state;
	struct tw j = {.w.done = tw_done};
	struct grp_protocol p = {"range", (const uint8_t *)"m", 1};
	struct grp_join_args a = {.member_id = "", .client_id = "c", .session_timeout_ms = 10000,
				  .rebalance_timeout_ms = 20000, .protocol_type = "consumer", .protocol_count = 1,
				  .protocols = &p};
	group_join(fx->coord, "", &a, &j.w);
	assert_int_equal(j.res->error, KERR_INVALID_GROUP_ID);
	a.member_id = "ghost";
	group_join(fx->coord, "nogroup", &a, &j.w);
	assert_int_equal(j.res->error, KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(group_heartbeat(fx->coord, "nogroup", "ghost", NULL, 1), KERR_UNKNOWN_MEMBER_ID);
	grp_result_free(j.res);
}

static void test_records_roundtrip(void **state)
{
	(void)state;
	struct bytebuf key, value;
	bytebuf_init(&key);
	bytebuf_init(&value);
	grec_offset_key(&key, "grp", "topic", 7);
	grec_offset_value(&value, 1234, 5, "md", 99);
	struct batch_builder batch;
	batch_builder_init(&batch, 1000);
	batch_builder_add(&batch, key.data, key.len, value.data, (int32_t)value.len);
	batch_builder_add(&batch, key.data, key.len, NULL, -1);
	batch_builder_finish(&batch);
	struct grec_key k;
	assert_int_equal(grec_parse_key(key.data, key.len, &k), 0);
	assert_int_equal(k.type, GREC_OFFSET);
	assert_true(kstr_eq_cstr(k.group, "grp"));
	assert_true(kstr_eq_cstr(k.topic, "topic"));
	assert_int_equal(k.partition, 7);
	struct grec_offset o;
	assert_int_equal(grec_parse_offset_value(value.data, value.len, &o), 0);
	assert_int_equal(o.offset, 1234);
	assert_int_equal(o.leader_epoch, 5);
	assert_true(kstr_eq_cstr(o.metadata, "md"));
	assert_int_equal(o.commit_timestamp, 99);
	assert_int_equal(batches_next_offset(batch.buf.data, batch.buf.len), 2);
	/* Java's String.hashCode of "grp" */
	assert_int_equal(meta_internal_partition_for("grp", 50), (103 * 31 * 31 + 114 * 31 + 112) % 50);
	assert_int_equal(meta_internal_partition_for("", 50), 0);
	batch_builder_fini(&batch);
	bytebuf_fini(&key);
	bytebuf_fini(&value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_roundtrip),
		cmocka_unit_test_setup_teardown(test_commit_fetch_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_groups_and_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offsets_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_metadata_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_answers_parked_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_group_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
