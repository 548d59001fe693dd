#!/usr/bin/python3
"""A group of two consumers that commit and resume, with both Python clients:
kafka-python (its own protocol code: older API versions) and confluent-kafka-python.
  - two kafka-python consumers in one group share a 4-partition topic and read 200
    records once; they commit and close; a new consumer of the group reads only the 50
    records produced afterwards;
  - the same with confluent-kafka-python, whose group then resumes where the
    kafka-python group's offsets would not apply (separate group), and kafka-python's
    admin client lists and describes the groups.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from confluent_kafka import Consumer, Producer  # noqa: E402
from kafka import KafkaConsumer  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402

from kclient import create_topic  # noqa: E402
from samsa_harness import Broker, TestFailure, check, main  # noqa: E402

TOPIC = "py-group"
PARTITIONS = 4


def produce(bootstrap, n, prefix):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(n):
        p.produce(TOPIC, key=("%s-%d" % (prefix, i)).encode(), value=b"v", partition=i % PARTITIONS)
    if p.flush(30) != 0:
        raise TestFailure("produce did not finish")


def kp_consumer(bootstrap, group):
    return KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=500,
                         fetch_max_wait_ms=100, consumer_timeout_ms=200)


class KpMember(threading.Thread):
    """A kafka-python consumer polling in its own thread (its poll() blocks while the
    group rebalances, so consumers of one group cannot share a thread)."""

    def __init__(self, bootstrap, group):
        super().__init__(daemon=True)
        self.c = kp_consumer(bootstrap, group)
        self.keys = []
        self.parts = set()
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop_flag.is_set():
                recs = self.c.poll(timeout_ms=100)
                with self.lock:
                    for batch in recs.values():
                        self.keys += [r.key.decode() for r in batch]
                    self.parts = {tp.partition for tp in self.c.assignment()}
            self.c.commit()
            self.c.close()
        except Exception as e:  # reported by the main thread
            self.error = repr(e)
        finally:
            self.done.set()

    def count(self):
        with self.lock:
            return len(self.keys)

    def partitions(self):
        with self.lock:
            return set(self.parts)

    def stop(self):
        self.stop_flag.set()
        self.done.wait(30)
        if self.error:
            raise TestFailure("kafka-python consumer: %s" % self.error)


def until(cond, timeout, what):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TestFailure("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


def ck_consumer(bootstrap, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                  "fetch.wait.max.ms": 100})
    c.subscribe([TOPIC])
    return c


def ck_poll(consumers, want, timeout=60):
    got = [[] for _ in consumers]
    t0 = time.monotonic()
    while sum(len(g) for g in got) < want:
        if time.monotonic() - t0 > timeout:
            raise TestFailure("confluent-kafka: %d of %d records in %ss" % (sum(len(g) for g in got), want, timeout))
        for i, c in enumerate(consumers):
            got[i] += [m.key().decode() for m in c.consume(num_messages=100, timeout=0.1) if not m.error()]
    return got


def settle_ck(consumers, got, timeout=45):
    """Polls until the consumers share the partitions; what they read meanwhile goes to got."""
    t0 = time.monotonic()
    while True:
        for i, c in enumerate(consumers):
            got[i] += [m.key().decode() for m in c.consume(num_messages=100, timeout=0.05) if not m.error()]
        parts = [set(tp.partition for tp in c.assignment()) for c in consumers]
        if all(parts) and len(set().union(*parts)) == PARTITIONS and sum(len(p) for p in parts) == PARTITIONS:
            return parts
        if time.monotonic() - t0 > timeout:
            raise TestFailure("confluent-kafka consumers did not settle: %s" % parts)


def test(t):
    with Broker(t, "single", config={"group.initial.rebalance.delay.ms": "500",
                                     "group.min.session.timeout.ms": "1000"}) as broker:
        bs = broker.bootstrap
        create_topic(bs, TOPIC, PARTITIONS)

        # kafka-python
        kp = [KpMember(bs, "kp-group"), KpMember(bs, "kp-group")]
        for m in kp:
            m.start()

        def kp_settled(members):
            parts = [m.partitions() for m in members]
            return all(parts) and len(set().union(*parts)) == PARTITIONS and sum(len(p) for p in parts) == PARTITIONS
        until(lambda: kp_settled(kp), 45, "two kafka-python consumers to share the partitions")
        check(True, "kafka-python: two consumers share the 4 partitions: %s" % [sorted(m.partitions()) for m in kp])
        produce(bs, 200, "a")
        until(lambda: sum(m.count() for m in kp) >= 200, 45, "kafka-python: 200 records")
        time.sleep(0.5)
        keys = kp[0].keys + kp[1].keys
        check(len(keys) == 200 and len(set(keys)) == 200 and kp[0].keys and kp[1].keys,
              "kafka-python: 200 records read once by the group, split %d/%d" % (len(kp[0].keys), len(kp[1].keys)))
        for m in kp:
            m.stop()
        produce(bs, 50, "b")
        again = KpMember(bs, "kp-group")
        again.start()
        until(lambda: again.count() >= 50, 45, "kafka-python: the new consumer to read 50 records")
        time.sleep(1.0)
        check(sorted(again.keys) == sorted("b-%d" % i for i in range(50)),
              "kafka-python: a new consumer of the group resumes after the commits (50 new records only)", len(again.keys))
        again.stop()

        # confluent-kafka-python
        ck = [ck_consumer(bs, "ck-group"), ck_consumer(bs, "ck-group")]
        early = [[], []]
        parts = settle_ck(ck, early)
        check(True, "confluent-kafka: two consumers share the 4 partitions: %s" % [sorted(p) for p in parts])
        got = ck_poll(ck, 250 - len(early[0]) - len(early[1]))
        got = [early[0] + got[0], early[1] + got[1]]
        keys = got[0] + got[1]
        check(len(keys) == 250 and len(set(keys)) == 250 and all(got),
              "confluent-kafka: 250 records read once by the group, split %d/%d" % (len(got[0]), len(got[1])))
        for c in ck:
            c.commit(asynchronous=False)
            c.close()
        produce(bs, 50, "c")
        again = ck_consumer(bs, "ck-group")
        more = ck_poll([again], 50)[0]
        extra = [m for m in again.consume(num_messages=100, timeout=1.0) if not m.error()]
        check(sorted(more) == sorted("c-%d" % i for i in range(50)) and not extra,
              "confluent-kafka: a new consumer of the group resumes after the commits (50 new records only)")
        again.commit(asynchronous=False)
        again.close()

        # kafka-python's admin client on the groups
        admin = KafkaAdminClient(bootstrap_servers=bs)
        listed = dict(admin.list_consumer_groups())
        check(listed.get("kp-group") == "consumer" and listed.get("ck-group") == "consumer",
              "KafkaAdminClient.list_consumer_groups lists both groups", listed)
        offsets = admin.list_consumer_group_offsets("kp-group")
        check(sum(o.offset for o in offsets.values()) == 250,
              "KafkaAdminClient.list_consumer_group_offsets: committed up to the end (250 records)",
              {tp.partition: o.offset for tp, o in offsets.items()})
        desc = admin.describe_consumer_groups(["ck-group"])
        check(desc[0].state == "Empty" and desc[0].protocol_type == "consumer",
              "KafkaAdminClient.describe_consumer_groups: Empty consumer group", desc[0])
        admin.close()


main(test)
