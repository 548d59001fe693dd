#!/usr/bin/env python3
"""The group APIs at the wire level (raw sockets, python3 stdlib), for the versions and
error paths real clients rarely take:
  - JoinGroup v5: MEMBER_ID_REQUIRED round trip; INVALID_GROUP_ID,
    INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL; JoinGroup v0 (no member id
    round trip, the session timeout as rebalance timeout);
  - SyncGroup v3, Heartbeat v3 (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID);
  - OffsetCommit v7 (unknown topic, stale generation), OffsetFetch v8 for two groups at
    once (one with null topics: everything committed);
  - ListGroups v4 with a states filter, DescribeGroups v4;
  - DeleteGroups v1 (NON_EMPTY_GROUP, then deleted), OffsetDelete v0
    (GROUP_SUBSCRIBED_TO_TOPIC for a subscribed topic);
  - LeaveGroup v3 with a batch of members; static membership (group.instance.id):
    a rejoin fences the old member id (FENCED_INSTANCE_ID), LeaveGroup by instance id.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import kwire  # noqa: E402
from kwire import arr, carr, compact_string, i16, i32, i64, nbytes, string, uvarint  # noqa: E402
from samsa_harness import Broker, check, main  # noqa: E402

JOIN, SYNC, HEARTBEAT, LEAVE = 11, 14, 12, 13
COMMIT, FETCH, LIST, DESCRIBE, DELETE_GROUPS, OFFSET_DELETE, CREATE_TOPICS = 8, 9, 16, 15, 42, 47, 19

NONE, UNKNOWN_TOPIC, ILLEGAL_GENERATION, INCONSISTENT_PROTOCOL, INVALID_GROUP_ID = 0, 3, 22, 23, 24
UNKNOWN_MEMBER, INVALID_SESSION_TIMEOUT, NON_EMPTY_GROUP = 25, 26, 68
MEMBER_ID_REQUIRED, FENCED_INSTANCE_ID, SUBSCRIBED_TO_TOPIC = 79, 82, 86


def subscription(topics):
    """ConsumerProtocolSubscription v0."""
    return i16(0) + arr([string(t) for t in topics]) + i32(-1)


class Client(kwire.Client):
    def join(self, group, member="", instance=None, session=10000, protocol_type="consumer",
             protocols=(("range", b"m"),), version=5):
        body = string(group) + i32(session)
        if version >= 1:
            body += i32(30000)
        body += string(member)
        if version >= 5:
            body += string(instance)
        body += string(protocol_type) + arr([string(n) + nbytes(m) for n, m in protocols])
        r = self.call(JOIN, version, body)
        if version >= 2:
            r.i32()
        out = {"error": r.i16(), "generation": r.i32(), "protocol": r.str(), "leader": r.str(),
               "member": r.str()}
        members = []
        for _ in range(r.i32()):
            mid = r.str()
            if version >= 5:
                r.str()
            members.append((mid, r.bytes()))
        out["members"] = members
        return out

    def sync(self, group, generation, member, assignments=(), instance=None):
        body = string(group) + i32(generation) + string(member) + string(instance)
        body += arr([string(m) + nbytes(a) for m, a in assignments])
        r = self.call(SYNC, 3, body)
        r.i32()
        return r.i16(), r.bytes()

    def heartbeat(self, group, generation, member, instance=None):
        r = self.call(HEARTBEAT, 3, string(group) + i32(generation) + string(member) + string(instance))
        r.i32()
        return r.i16()

    def leave(self, group, members):
        body = string(group) + arr([string(m) + string(i) for m, i in members])
        r = self.call(LEAVE, 3, body)
        r.i32()
        top = r.i16()
        out = []
        for _ in range(r.i32()):
            out.append((r.str(), r.str(), r.i16()))
        return top, out

    def commit(self, group, generation, member, offsets):
        """offsets: {topic: {partition: offset}}"""
        body = string(group) + i32(generation) + string(member) + string(None)
        body += arr([string(t) + arr([i32(p) + i64(o) + i32(-1) + string("md") for p, o in ps.items()])
                     for t, ps in offsets.items()])
        r = self.call(COMMIT, 7, body)
        r.i32()
        return r.partition_errors()

    def fetch_v8(self, groups):
        """groups: [(group, None | {topic: [partitions]})] -> {group: (error, {(t, p): (offset, md, err)})}"""
        items = []
        for g, topics in groups:
            tb = uvarint(0) if topics is None else kwire.topic_partitions(topics, flexible=True)
            items.append(compact_string(g) + tb + uvarint(0))
        r = self.call(FETCH, 8, carr(items) + b"\x00" + uvarint(0), flexible=True)
        r.i32()
        out = {}
        for _ in range(r.carr()):
            g = r.cstr()
            offs = {}
            for _ in range(r.carr()):
                t = r.cstr()
                for _ in range(r.carr()):
                    p = r.i32()
                    o = r.i64()
                    r.i32()
                    md = r.cstr()
                    e = r.i16()
                    r.tags()
                    offs[(t, p)] = (o, md, e)
                r.tags()
            err = r.i16()
            r.tags()
            out[g] = (err, offs)
        return out

    def list_groups_v4(self, states):
        r = self.call(LIST, 4, carr([compact_string(s) for s in states]) + uvarint(0), flexible=True)
        r.i32()
        err = r.i16()
        out = {}
        for _ in range(r.carr()):
            g = r.cstr()
            ptype = r.cstr()
            state = r.cstr()
            r.tags()
            out[g] = (ptype, state)
        return err, out

    def describe_v4(self, groups):
        r = self.call(DESCRIBE, 4, arr([string(g) for g in groups]) + b"\x01")
        r.i32()
        out = {}
        for _ in range(r.i32()):
            err = r.i16()
            g = r.str()
            state = r.str()
            ptype = r.str()
            proto = r.str()
            members = []
            for _ in range(r.i32()):
                mid = r.str()
                inst = r.str()
                cid = r.str()
                host = r.str()
                md = r.bytes()
                asg = r.bytes()
                members.append((mid, inst, cid, host, md, asg))
            ops = r.i32()
            out[g] = {"error": err, "state": state, "ptype": ptype, "protocol": proto, "members": members, "ops": ops}
        return out

    def delete_groups(self, groups):
        r = self.call(DELETE_GROUPS, 1, arr([string(g) for g in groups]))
        r.i32()
        return {r.str(): r.i16() for _ in range(r.i32())}

    def offset_delete(self, group, topics):
        r = self.call(OFFSET_DELETE, 0, string(group) + kwire.topic_partitions(topics))
        err = r.i16()
        r.i32()
        return err, r.partition_errors()

    def create_topic(self, name, partitions):
        body = arr([string(name) + i32(partitions) + i16(1) + arr([]) + arr([])]) + i32(10000)
        r = self.call(CREATE_TOPICS, 1, body + b"\x00")
        r.i32()
        r.str()
        return r.i16()


def test(t):
    with Broker(t, "single", config={"group.initial.rebalance.delay.ms": "0",
                                     "group.min.session.timeout.ms": "1000"}) as broker:
        a = Client(broker.port)
        check(a.create_topic("wt", 2) == NONE and a.create_topic("wt2", 1) == NONE, "topics wt (2) and wt2 (1) created")
        sub = subscription(["wt"])

        # JoinGroup v5: the member id round trip, then the join phase
        r = a.join("g1", protocols=(("range", sub),))
        check(r["error"] == MEMBER_ID_REQUIRED and r["member"].startswith("samsa-itest-"),
              "JoinGroup v5 without member id: MEMBER_ID_REQUIRED with a member id", r)
        me = r["member"]
        r = a.join("g1", member=me, protocols=(("range", sub),))
        check(r["error"] == NONE and r["generation"] == 1 and r["leader"] == me and r["protocol"] == "range" and
              r["members"] == [(me, sub)], "JoinGroup v5 with the id: generation 1, leader, metadata back", r)
        b = Client(broker.port)
        check(b.join("", member="")["error"] == INVALID_GROUP_ID, "JoinGroup with an empty group id: INVALID_GROUP_ID")
        check(b.join("g1", session=10)["error"] == INVALID_SESSION_TIMEOUT, "session timeout 10 ms: INVALID_SESSION_TIMEOUT")
        check(b.join("g1", protocol_type="connect")["error"] == INCONSISTENT_PROTOCOL,
              "another protocol type: INCONSISTENT_GROUP_PROTOCOL")
        check(b.join("g1", member="ghost")["error"] == UNKNOWN_MEMBER, "an unknown member id: UNKNOWN_MEMBER_ID")

        # SyncGroup v3, Heartbeat v3
        err, asg = a.sync("g1", 1, me, [(me, b"my-assignment")])
        check(err == NONE and asg == b"my-assignment", "SyncGroup v3: the leader gets its assignment", (err, asg))
        check(a.heartbeat("g1", 1, me) == NONE, "Heartbeat v3: NONE")
        check(a.heartbeat("g1", 0, me) == ILLEGAL_GENERATION, "Heartbeat with an old generation: ILLEGAL_GENERATION")
        check(a.heartbeat("g1", 1, "ghost") == UNKNOWN_MEMBER, "Heartbeat of an unknown member: UNKNOWN_MEMBER_ID")

        # OffsetCommit v7, OffsetFetch v8
        res = a.commit("g1", 1, me, {"wt": {0: 10, 1: 11}, "wt2": {0: 5}, "nope": {0: 1}})
        check(res == {("wt", 0): NONE, ("wt", 1): NONE, ("wt2", 0): NONE, ("nope", 0): UNKNOWN_TOPIC},
              "OffsetCommit v7: committed, unknown topic gets UNKNOWN_TOPIC_OR_PARTITION", res)
        res = a.commit("g1", 0, me, {"wt": {0: 12}})
        check(res == {("wt", 0): ILLEGAL_GENERATION}, "OffsetCommit with a stale generation: ILLEGAL_GENERATION", res)
        res = a.fetch_v8([("g1", None), ("other", {"wt": [0]})])
        check(res["g1"] == (NONE, {("wt", 0): (10, "md", 0), ("wt", 1): (11, "md", 0), ("wt2", 0): (5, "md", 0)}) and
              res["other"] == (NONE, {("wt", 0): (-1, "", 0)}),
              "OffsetFetch v8, two groups: every offset of g1 (null topics), -1 for a group without", res)

        # ListGroups v4, DescribeGroups v4
        err, groups = a.list_groups_v4(["stable"])
        check(err == NONE and groups.get("g1") == ("consumer", "Stable"), "ListGroups v4 states filter [stable] lists g1", groups)
        err, groups = a.list_groups_v4(["Empty"])
        check("g1" not in groups, "ListGroups v4 states filter [Empty] does not", groups)
        d = a.describe_v4(["g1", "unknown"])
        g1 = d["g1"]
        check(g1["state"] == "Stable" and g1["protocol"] == "range" and len(g1["members"]) == 1 and
              g1["members"][0][0] == me and g1["members"][0][3] == "/127.0.0.1" and
              g1["members"][0][4] == sub and g1["members"][0][5] == b"my-assignment" and g1["ops"] == 328,
              "DescribeGroups v4: member, host, metadata, assignment, authorized operations", g1)
        check(d["unknown"]["state"] == "Dead" and d["unknown"]["error"] == NONE, "DescribeGroups of an unknown group: Dead")

        # DeleteGroups v1 and OffsetDelete v0 on a live group
        check(a.delete_groups(["g1"]) == {"g1": NON_EMPTY_GROUP}, "DeleteGroups of a live group: NON_EMPTY_GROUP")
        err, res = a.offset_delete("g1", {"wt": [0], "wt2": [0]})
        check(err == NONE and res == {("wt", 0): SUBSCRIBED_TO_TOPIC, ("wt2", 0): NONE},
              "OffsetDelete v0: GROUP_SUBSCRIBED_TO_TOPIC for the subscribed topic, the other deleted", res)
        res = a.fetch_v8([("g1", {"wt2": [0], "wt": [0]})])
        check(res["g1"][1][("wt2", 0)][0] == -1 and res["g1"][1][("wt", 0)][0] == 10, "the deleted offset is gone", res)

        # LeaveGroup v3 with two members
        top, members = a.leave("g1", [(me, None), ("ghost", None)])
        check(top == NONE and members == [(me, None, NONE), ("ghost", None, UNKNOWN_MEMBER)],
              "LeaveGroup v3: per-member errors", (top, members))
        err, groups = a.list_groups_v4(["Empty"])
        check(groups.get("g1") == ("consumer", "Empty"), "after the leave the group is Empty", groups)
        check(a.delete_groups(["g1", "never"]) == {"g1": NONE, "never": 69}, "DeleteGroups v1: deleted; unknown: GROUP_ID_NOT_FOUND")
        res = a.fetch_v8([("g1", None)])
        check(res["g1"] == (NONE, {}), "a deleted group has no offsets", res)

        # JoinGroup v0: no MEMBER_ID_REQUIRED
        c = Client(broker.port)
        r = c.join("g0", version=0)
        check(r["error"] == NONE and r["generation"] == 1 and r["member"] == r["leader"],
              "JoinGroup v0 joins at once (no member id round trip)", r)

        # static membership
        s1 = Client(broker.port)
        r = s1.join("gs", instance="inst-1")
        check(r["error"] == NONE and r["member"].startswith("inst-1-"), "static member joins with a member id from its instance id", r)
        old = r["member"]
        check(s1.sync("gs", 1, old, [(old, b"x")], instance="inst-1") == (NONE, b"x"), "static member synced")
        s2 = Client(broker.port)
        r = s2.join("gs", instance="inst-1")
        check(r["error"] == NONE and r["generation"] == 1 and r["member"] != old,
              "a rejoin with the same instance id takes over without a rebalance (same generation)", r)
        check(s1.heartbeat("gs", 1, old, instance="inst-1") == FENCED_INSTANCE_ID, "the old member id is fenced: FENCED_INSTANCE_ID")
        check(s2.heartbeat("gs", 1, r["member"], instance="inst-1") == NONE, "the new one heartbeats")
        top, members = s2.leave("gs", [("", "inst-1")])
        check(top == NONE and members[0][2] == NONE, "LeaveGroup by instance id alone removes the static member", members)
        err, groups = s2.list_groups_v4([])
        check(groups.get("gs") == ("consumer", "Empty"), "the group is Empty afterwards", groups)
        for cl in (a, b, c, s1, s2):
            cl.close()


main(test)
