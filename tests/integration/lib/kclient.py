"""confluent-kafka-python helpers for the integration tests (Debian python3-confluent-kafka,
so tests that import this run under /usr/bin/python3).

- create_topic(bootstrap, name, partitions): CreateTopics through the AdminClient.
- read_partition(bootstrap, topic, partition, start=0): every record from start to the
  high watermark through a consumer that assign()s (no subscribe, nothing committed).
- watermarks(bootstrap, topic, partition): (low, high) through ListOffsets.
- produce_one(...): one record, acks=all, returns (partition, offset).
- read_to_end(bootstrap, topic, partition, read_committed): every record a consumer with
  that isolation level receives from offset 0 to the end, offsets may skip (control
  records, aborted transactions).
"""

import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from samsa_harness import MOCK, TestFailure


def create_topic(bootstrap, name, partitions, replication=1, config=None, timeout=30):
    if MOCK:  # the mock cluster has no CreateTopics: Broker(mock_topics=...) made it
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(name, partitions, replication, config=config or {})],
                               operation_timeout=timeout, request_timeout=timeout)
    try:
        futs[name].result(timeout=timeout + 5)
    except Exception as e:
        raise TestFailure("CreateTopics %s (%d partitions): %s" % (name, partitions, e))


def consumer(bootstrap, extra=None):
    conf = {
        "bootstrap.servers": bootstrap,
        # librdkafka's assign() needs a group.id; no group is joined, nothing committed.
        "group.id": "samsa-itest-assign",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",
    }
    conf.update(extra or {})
    return Consumer(conf)


def watermarks(bootstrap, topic, partition, timeout=20):
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
    except Exception as e:
        raise TestFailure("ListOffsets %s-%d: %s" % (topic, partition, e))
    finally:
        c.close()


def read_partition(bootstrap, topic, partition, start=0, end=None, timeout=120, stall=30):
    """Records [start, end) of one partition (end defaults to the high watermark at the
    time of the call), as confluent_kafka Message objects, in the order fetched.
    Fails on a consume error, on a stall of `stall` s, or when offsets are not
    contiguous."""
    if end is None:
        end = watermarks(bootstrap, topic, partition)[1]
    out = []
    if end <= start:
        return out
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, start)])
        t0 = last = time.monotonic()
        expect = start
        while expect < end:
            msgs = c.consume(num_messages=1000, timeout=0.5)
            now = time.monotonic()
            if not msgs:
                if now - last > stall or now - t0 > timeout:
                    raise TestFailure("%s-%d: stalled at offset %d of [%d, %d)"
                                      % (topic, partition, expect, start, end))
                continue
            last = now
            for m in msgs:
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        if expect < end:
                            raise TestFailure("%s-%d: end of partition at offset %d, expected "
                                              "records up to %d" % (topic, partition, expect, end))
                        continue
                    raise TestFailure("%s-%d: consume error at offset %d: %s"
                                      % (topic, partition, expect, m.error()))
                if m.offset() != expect:
                    raise TestFailure("%s-%d: got offset %d where %d was expected (gap or "
                                      "reorder)" % (topic, partition, m.offset(), expect))
                if m.offset() < end:
                    out.append(m)
                expect += 1
        return out
    finally:
        c.close()


def read_to_end(bootstrap, topic, partition, read_committed, timeout=60, stall=20):
    """Records of one partition from offset 0 as a consumer with isolation.level
    read_committed (or read_uncommitted) gets them, until the end of the partition: the
    high watermark at the time of the call, which a read_committed consumer reaches only
    once no transaction below it is open. Offsets may skip (transaction markers, aborted
    records) but must increase. Fails on a consume error or a stall."""
    end = watermarks(bootstrap, topic, partition)[1]
    out = []
    c = consumer(bootstrap, {"isolation.level": "read_committed" if read_committed else "read_uncommitted"})
    try:
        c.assign([TopicPartition(topic, partition, 0)])
        t0 = last = time.monotonic()
        last_off = -1
        while True:
            msgs = c.consume(num_messages=1000, timeout=0.5)
            now = time.monotonic()
            if not msgs:
                if now - last > stall or now - t0 > timeout:
                    raise TestFailure("%s-%d: stalled after offset %d (end %d, %s)"
                                      % (topic, partition, last_off, end,
                                         "read_committed" if read_committed else "read_uncommitted"))
                continue
            last = now
            for m in msgs:
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        if m.offset() >= end:
                            return out
                        continue
                    raise TestFailure("%s-%d: consume error after offset %d: %s"
                                      % (topic, partition, last_off, m.error()))
                if m.offset() <= last_off:
                    raise TestFailure("%s-%d: offset %d after %d" % (topic, partition, m.offset(), last_off))
                last_off = m.offset()
                out.append(m)
    finally:
        c.close()


def produce_one(bootstrap, topic, value, key=None, partition=None, headers=None, timestamp=None,
                extra=None):
    conf = {"bootstrap.servers": bootstrap, "acks": "all"}
    conf.update(extra or {})
    p = Producer(conf)
    res = []
    kw = {"key": key, "on_delivery": lambda err, msg: res.append((err, msg))}
    if partition is not None:
        kw["partition"] = partition
    if headers is not None:
        kw["headers"] = headers
    if timestamp is not None:
        kw["timestamp"] = timestamp
    p.produce(topic, value, **kw)
    left = p.flush(30)
    if left or not res:
        raise TestFailure("produce to %s: no delivery report within 30 s" % topic)
    err, msg = res[0]
    if err is not None:
        raise TestFailure("produce to %s: %s" % (topic, err))
    return msg.partition(), msg.offset()


def versions():
    return "confluent-kafka-python %s, librdkafka %s" % (confluent_kafka.version()[0],
                                                          confluent_kafka.libversion()[0])
