#!/usr/bin/python3
"""Committed offsets survive broker restarts (confluent-kafka-python / librdkafka).

  1. a consumer reads part of a topic, commits synchronously and closes; the broker
     restarts (SIGTERM); a new consumer of the group resumes exactly after the commit:
     together they read every record once;
  2. a consumer keeps running while the broker restarts under it; it reconnects,
     goes on consuming and committing, and ends with every record; its offsets are
     committed to the end;
  3. a commit acknowledged just before kill -9 is still there after the restart
     (commits are acknowledged only once synced);
  4. the group itself (Empty, protocol type consumer) is still listed after restarts,
     and __consumer_offsets holds Kafka's record format.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

from kclient import create_topic  # noqa: E402
from kwire import batch_records, parse_batches  # noqa: E402
from samsa_harness import Broker, TestFailure, check, log, main  # noqa: E402

TOPIC = "resume-t"
PARTITIONS = 4


def produce(bootstrap, n, prefix):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(n):
        p.produce(TOPIC, key=("%s-%d" % (prefix, i)).encode(), value=b"x" * 20, partition=i % PARTITIONS)
    if p.flush(30) != 0:
        raise TestFailure("produce did not finish")


def consumer(bootstrap, group, extra=None):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 100}
    conf.update(extra or {})
    c = Consumer(conf)
    c.subscribe([TOPIC])
    return c


def consume(c, want, timeout=45):
    got = []
    t0 = time.monotonic()
    while len(got) < want:
        if time.monotonic() - t0 > timeout:
            raise TestFailure("consumed %d of %d records in %ss" % (len(got), want, timeout))
        for m in c.consume(num_messages=min(50, want - len(got)), timeout=0.5):
            if m.error():
                continue
            got.append(m.key().decode())
    return got


def committed(bootstrap, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=20)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def groups(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return {g.id: g for g in admin.list_groups(timeout=20)}


def test(t):
    with Broker(t, "single", config={"group.initial.rebalance.delay.ms": "0",
                                     "group.min.session.timeout.ms": "1000",
                                     "offsets.topic.num.partitions": "5"}) as broker:
        bs = broker.bootstrap
        create_topic(bs, TOPIC, PARTITIONS)
        produce(bs, 400, "a")

        # 1. commit, close, restart, resume
        c = consumer(bs, "resumer")
        first = consume(c, 150)
        c.commit(asynchronous=False)
        c.close()
        took = broker.restart()
        log("broker restarted in %.1f s" % took)
        c = consumer(bs, "resumer")
        rest = consume(c, 250)
        time.sleep(1.0)
        extra = [m.key().decode() for m in c.consume(num_messages=100, timeout=1.0) if not m.error()]
        c.commit(asynchronous=False)
        c.close()
        check(len(set(first) | set(rest)) == 400 and not (set(first) & set(rest)) and not extra,
              "after a restart the group resumes right after its commit: 150 + 250 records, none twice")
        check(committed(bs, "resumer") == {p: 100 for p in range(PARTITIONS)},
              "committed offsets at the end of every partition")

        # 2. the broker restarts under a running consumer
        c = consumer(bs, "survivor", {"enable.auto.commit": True, "auto.commit.interval.ms": 200})
        got = consume(c, 200)
        c.commit(asynchronous=False)
        broker.stop()
        time.sleep(0.5)
        broker.start()
        got += consume(c, 200, timeout=60)
        produce(bs, 100, "b")
        got += consume(c, 100, timeout=60)
        c.commit(asynchronous=False)
        check(len(set(got)) == 500, "a consumer running across a broker restart reads all 500 records", len(set(got)))
        c.close()
        check(committed(bs, "survivor") == {p: 125 for p in range(PARTITIONS)},
              "its commits after the restart reach the end of every partition")

        # 3. kill -9 right after an acknowledged commit
        c = consumer(bs, "durable")
        consume(c, 300)
        c.commit(asynchronous=False)
        before = committed(bs, "durable")
        c.close()
        broker.kill9()
        broker.start()
        after = committed(bs, "durable")
        check(after == before and sum(max(o, 0) for o in after.values()) == 300,
              "a commit acknowledged before kill -9 is there after the restart", (before, after))

        # 4. groups after restarts; the log format; deletion persists
        g = groups(bs)
        check(all(x in g for x in ("resumer", "survivor", "durable")) and
              all(g[x].protocol_type == "consumer" and g[x].state == "Empty" for x in ("resumer", "survivor")),
              "the groups are still known after the restarts (Empty, protocol type consumer)",
              {k: (v.state, v.protocol_type) for k, v in g.items()})
        # __consumer_offsets: 5 partitions, Kafka's record format
        odir = [d for d in os.listdir(broker.data_dir) if d.startswith("__consumer_offsets-")]
        check(len(odir) == 5, "__consumer_offsets was created with offsets.topic.num.partitions=5", sorted(odir))
        kinds = {}
        for d in odir:
            path = os.path.join(broker.data_dir, d)
            for name in sorted(os.listdir(path)):
                if not name.endswith(".log"):
                    continue
                with open(os.path.join(path, name), "rb") as f:
                    data = f.read()
                for b in parse_batches(data, check_crc=True):
                    if "torn_at" in b:
                        raise TestFailure("%s/%s: torn batch" % (d, name))
                    check_batch = b["magic"] == 2 and b["crc_ok"] and b["attributes"] == 0
                    if not check_batch:
                        raise TestFailure("%s/%s: bad batch %s" % (d, name, b))
                    for _, key, value in batch_records(data[b["pos"]:b["pos"] + b["size"]]):
                        kv = struct.unpack(">h", key[:2])[0]
                        vv = struct.unpack(">h", value[:2])[0] if value is not None else None
                        kinds[(kv, vv)] = kinds.get((kv, vv), 0) + 1
        check(set(kinds) <= {(1, 3), (2, 3), (1, None), (2, None)} and (1, 3) in kinds and (2, 3) in kinds,
              "its batches are v2 with valid CRCs, holding offset commit key v1 / value v3 and "
              "group metadata key v2 / value v3 records", kinds)
        broker.stop()


main(test)
