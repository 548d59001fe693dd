#!/usr/bin/python3
"""librdkafka consumer groups (confluent-kafka-python) against a real samsa.

For each assignor, range, roundrobin and cooperative-sticky:
  - 3 consumers subscribe to a 6-partition topic; once the group is settled every
    partition is assigned to exactly one member;
  - 600 records are consumed exactly once; members commit synchronously, asynchronously
    and with explicit offsets; the committed offsets reach the end of every partition;
  - one member closes (LeaveGroup): the two others take over its partitions and consume
    300 more records exactly once. With cooperative-sticky the survivors keep their
    partitions (no revocation: incremental rebalancing).
Then static membership (group.instance.id): a static member restarts and gets its
partitions back without a rebalance of the group.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

from kclient import create_topic  # noqa: E402
from samsa_harness import Broker, TestFailure, check, log, main  # noqa: E402

PARTITIONS = 6


def until(cond, timeout, what):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TestFailure("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)
    return time.monotonic() - t0


def produce(bootstrap, topic, n, prefix):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=("%s-%d" % (prefix, i)).encode(), value=b"v", partition=i % PARTITIONS)
    if p.flush(30) != 0:
        raise TestFailure("produce to %s did not finish" % topic)


class Member(threading.Thread):
    """One consumer polling in its own thread; records what it gets and its assignment
    events. commit_mode: 'sync', 'async' or 'offsets'."""

    def __init__(self, bootstrap, group, topic, assignor, commit_mode, name, extra=None):
        super().__init__(daemon=True)
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "partition.assignment.strategy": assignor,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
        }
        conf.update(extra or {})
        self.c = Consumer(conf)
        self.topic = topic
        self.commit_mode = commit_mode
        self.name = name
        self.got = []
        self.assigned = set()
        self.revoked = []
        self.errors = []
        self.stop_flag = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.c.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)

    def on_assign(self, consumer, partitions):
        with self.lock:
            self.assigned |= {p.partition for p in partitions}

    def on_revoke(self, consumer, partitions):
        with self.lock:
            self.revoked.append(sorted(p.partition for p in partitions))
            self.assigned -= {p.partition for p in partitions}

    def partitions(self):
        with self.lock:
            return set(self.assigned)

    def run(self):
        try:
            while not self.stop_flag.is_set():
                msgs = self.c.consume(num_messages=100, timeout=0.2)
                for m in msgs:
                    if m.error():
                        self.errors.append(str(m.error()))
                        continue
                    with self.lock:
                        self.got.append((m.partition(), m.offset(), m.key().decode()))
                if msgs and self.commit_mode == "sync":
                    self.c.commit(asynchronous=False)
                elif msgs and self.commit_mode == "async":
                    self.c.commit(asynchronous=True)
                elif msgs:
                    last = {}
                    for m in msgs:
                        if not m.error():
                            last[m.partition()] = m.offset() + 1
                    self.c.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in last.items()],
                                  asynchronous=False)
        except Exception as e:  # surfaced by the main thread
            self.errors.append(repr(e))
        finally:
            self.c.close()
            self.closed.set()

    def stop(self):
        self.stop_flag.set()
        self.closed.wait(30)


def settled(members):
    parts = [m.partitions() for m in members]
    union = set().union(*parts)
    return all(parts) and len(union) == PARTITIONS and sum(len(p) for p in parts) == PARTITIONS


def run_assignor(t, broker, assignor):
    topic = "assign-" + assignor
    group = "group-" + assignor
    create_topic(broker.bootstrap, topic, PARTITIONS)
    modes = ["sync", "async", "offsets"]
    members = [Member(broker.bootstrap, group, topic, assignor, modes[i], "%s-%d" % (assignor, i)) for i in range(3)]
    for m in members:
        m.start()
    took = until(lambda: settled(members), 45, "%s: 3 members to share %d partitions" % (assignor, PARTITIONS))
    time.sleep(1.0)
    check(settled(members), "%s: 3 members own the 6 partitions, each exactly once (%.1f s): %s"
          % (assignor, took, [sorted(m.partitions()) for m in members]))
    produce(broker.bootstrap, topic, 600, "a")
    until(lambda: sum(len(m.got) for m in members) >= 600, 45, "%s: 600 records" % assignor)
    time.sleep(0.5)
    keys = [k for m in members for (_, _, k) in m.got]
    check(len(keys) == 600 and len(set(keys)) == 600, "%s: 600 records consumed exactly once" % assignor, len(keys))
    owners = {}
    for i, m in enumerate(members):
        for (p, _, _) in m.got:
            owners.setdefault(p, set()).add(i)
    check(all(len(o) == 1 for o in owners.values()) and len(owners) == PARTITIONS,
          "%s: each partition consumed by one member" % assignor, owners)

    def committed_all():
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
        try:
            tps = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
            return {tp.partition: tp.offset for tp in tps}
        finally:
            c.close()
    until(lambda: all(o == 100 for o in committed_all().values()), 20, "%s: committed offsets at 100" % assignor)
    check(True, "%s: commits (sync, async, explicit offsets) reached offset 100 on all partitions" % assignor)

    # one member leaves
    leaver = members.pop()
    left = leaver.partitions()
    kept = [m.partitions() for m in members]
    revoked_before = [len(m.revoked) for m in members]
    leaver.stop()
    took = until(lambda: settled(members), 45, "%s: the 2 remaining members to take over" % assignor)
    time.sleep(1.0)
    check(settled(members) and left <= set().union(*[m.partitions() for m in members]),
          "%s: after a member left, the 2 others own all 6 partitions (%.1f s): %s"
          % (assignor, took, [sorted(m.partitions()) for m in members]))
    if assignor == "cooperative-sticky":
        check(all(kept[i] <= members[i].partitions() for i in range(2)) and
              all(not [r for r in members[i].revoked[revoked_before[i]:] if r] for i in range(2)),
              "cooperative-sticky: the remaining members kept their partitions (nothing revoked)",
              [m.revoked for m in members])
    before = [len(m.got) for m in members]
    produce(broker.bootstrap, topic, 300, "b")
    until(lambda: sum(len(m.got) - before[i] for i, m in enumerate(members)) >= 300, 45,
          "%s: 300 more records" % assignor)
    time.sleep(0.5)
    later = [k for i, m in enumerate(members) for (_, _, k) in m.got[before[i]:] if k.startswith("b-")]
    check(len(later) == 300 and len(set(later)) == 300,
          "%s: the 300 later records consumed exactly once by the remaining members" % assignor, len(later))
    for m in members:
        m.stop()
    errs = [e for m in members + [leaver] for e in m.errors]
    check(not errs, "%s: no consumer errors" % assignor, errs[:3])


def group_info(bootstrap, group):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    groups = admin.list_groups(group, timeout=10)
    return groups[0] if groups else None


def run_static(t, broker):
    topic = "static-t"
    group = "static-group"
    create_topic(broker.bootstrap, topic, PARTITIONS)
    extra = {"group.instance.id": "instance-1", "session.timeout.ms": 20000}
    a = Member(broker.bootstrap, group, topic, "range", "sync", "static-a", extra)
    b = Member(broker.bootstrap, group, topic, "range", "sync", "dynamic-b")
    a.start()
    b.start()
    until(lambda: settled([a, b]), 45, "static: 2 members to share the partitions")
    time.sleep(1.5)
    a_parts = a.partitions()
    b_events = (len(b.revoked), sorted(b.partitions()))
    info = group_info(broker.bootstrap, group)
    old_ids = sorted(m.id for m in info.members)
    check(info.state == "Stable" and len(info.members) == 2, "static: group Stable with 2 members", info.state)
    a.stop()  # a static member does not leave the group when it closes
    a2 = Member(broker.bootstrap, group, topic, "range", "sync", "static-a", extra)
    a2.start()
    took = until(lambda: a2.partitions() == a_parts, 30, "static: the restarted member to get its partitions back")
    time.sleep(1.5)
    info = group_info(broker.bootstrap, group)
    new_ids = sorted(m.id for m in info.members)
    check(info.state == "Stable" and len(info.members) == 2 and new_ids != old_ids,
          "static: the restarted member replaced its old member id, group Stable (%.1f s)" % took, new_ids)
    check((len(b.revoked), sorted(b.partitions())) == b_events,
          "static: the other member saw no rebalance (no revocation, same partitions)", b.revoked)
    a2.stop()
    b.stop()


def test(t):
    with Broker(t, "single", config={"group.initial.rebalance.delay.ms": "1000",
                                     "group.min.session.timeout.ms": "1000"}) as broker:
        for assignor in ("range", "roundrobin", "cooperative-sticky"):
            t0 = time.monotonic()
            run_assignor(t, broker, assignor)
            log("%s done in %.1f s" % (assignor, time.monotonic() - t0))
        run_static(t, broker)
        bad = broker.grep_log(r"ERROR")
        check(not bad, "no ERROR lines in the broker log", bad[:3])


main(test)
