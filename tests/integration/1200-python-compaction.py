#!/usr/bin/python3
"""confluent-kafka-python against cleanup.policy=compact with small segments:
100,000 updates over 1,000 keys (50 keys deleted by a tombstone halfway,
delete.retention.ms=0) with the cleaner every 200 ms; once it has cleaned, a
consumer from offset 0 sees, below the active segment, exactly the latest value
of every key that was not deleted, at the offset it was produced at (offsets
keep their gaps), and everything in the active segment; the same after a
restart; a keyless record is refused with INVALID_RECORD ("Compacted topic
cannot accept message without key"). __consumer_offsets (compacted, small
segments here): 300 commits of one group and partition are cleaned to one
record, and after a restart the group coordinator's replay of the cleaned log
gives the last committed offset."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
from confluent_kafka import KafkaError, Producer, TopicPartition  # noqa: E402

TOPIC = "compacted"
KEYS = 1000
N = 100_000
DELETED = 50  # keys deleted by a tombstone halfway
COMMITS = 300


def produce_all(bootstrap):
    prod = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20})
    offsets = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets[msg.offset()] = (msg.key(), msg.value())

    for i in range(N):
        k = i % KEYS
        if k < DELETED and i >= N // 2:
            continue  # deleted halfway through, never written again
        value = None if (k < DELETED and i >= N // 2 - KEYS) else b"v%d-%d" % (k, i)
        while True:
            try:
                prod.produce(TOPIC, value, key=b"k%d" % k, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                prod.poll(0.1)
        prod.poll(0)
    left = prod.flush(60)
    want = N - DELETED * (N // 2) // KEYS
    check(left == 0 and not errors and len(offsets) == want,
          "%d updates of %d keys acknowledged" % (want, KEYS),
          "left %d, errors %s, reports %d" % (left, errors[:3], len(offsets)))
    return offsets


def consume_all(bootstrap):
    """(offset, key, value) from offset 0 to the end, gaps allowed."""
    c = kclient.consumer(bootstrap)
    out = []
    try:
        c.assign([TopicPartition(TOPIC, 0, 0)])
        deadline = time.monotonic() + 120
        while True:
            if time.monotonic() > deadline:
                raise TestFailure("consumer did not reach the end (%d records)" % len(out))
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        return out
                    raise TestFailure("consume error: %s" % m.error())
                if out and m.offset() <= out[-1][0]:
                    raise TestFailure("offset %d after %d" % (m.offset(), out[-1][0]))
                out.append((m.offset(), m.key(), m.value()))
    finally:
        c.close()


def segment_bases(b):
    d = b.partition_dir(TOPIC, 0)
    return sorted(int(f[:20]) for f in os.listdir(d) if f.endswith(".log"))


def verify(b, produced, what):
    active = segment_bases(b)[-1]
    got = consume_all(b.bootstrap)
    latest = {}  # below the active segment, which the cleaner never touches
    for off in sorted(produced):
        if off < active:
            latest[produced[off][0]] = off
    want = []
    for off in sorted(produced):
        key, value = produced[off]
        if off >= active:
            want.append((off, key, value))
        elif latest[key] == off and value is not None:
            want.append((off, key, value))
    if got != want:
        extra = [r for r in got if r not in set(want)][:5]
        missing = [r for r in want if r not in set(got)][:5]
        raise TestFailure("%s: %d records read, %d expected; extra %s, missing %s"
                          % (what, len(got), len(want), extra, missing))
    below = sum(1 for r in got if r[0] < active)
    check(below == KEYS - DELETED,
          "%s: %d records from offset 0: the latest value of each of the %d live keys below the "
          "active segment (base %d), no tombstone, plus the %d records in it, at their produced "
          "offsets" % (what, len(got), below, active, len(got) - below))


def test(t):
    with Broker(t, config={"log.cleaner.backoff.ms": 200, "offsets.topic.num.partitions": 1,
                           "offsets.topic.segment.bytes": 4096}) as b:
        log(kclient.versions())
        kclient.create_topic(b.bootstrap, TOPIC, 1, config={
            "cleanup.policy": "compact", "segment.bytes": "65536", "delete.retention.ms": "0"})
        t0 = time.monotonic()
        produced = produce_all(b.bootstrap)
        log("produced in %.1f s" % (time.monotonic() - t0))

        # The cleaner runs every 200 ms; wait until a pass covered every sealed segment.
        deadline = time.monotonic() + 60
        while True:
            bases = segment_bases(b)
            hits = b.grep_log(r"compacted-0: cleaned .* up to offset %d:" % bases[-1])
            if hits:
                break
            if time.monotonic() > deadline:
                raise TestFailure("the cleaner did not clean up to the active segment (%d) in 60 s"
                                  % bases[-1])
            time.sleep(0.2)
        d = b.partition_dir(TOPIC, 0)
        bases = segment_bases(b)
        sealed = sum(os.path.getsize(os.path.join(d, "%020d.log" % x)) for x in bases[:-1])
        check(sealed <= KEYS * 100, "cleaned: the %d sealed segment file(s) hold %d bytes for %d keys "
              "(about %d bytes were produced)" % (len(bases) - 1, sealed, KEYS, N * 25))
        verify(b, produced, "after cleaning")

        # Keyless records are refused.
        prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "retries": 0})
        res = []
        prod.produce(TOPIC, b"no key", partition=0, on_delivery=lambda err, msg: res.append(err))
        prod.flush(30)
        check(len(res) == 1 and res[0] is not None and res[0].code() == KafkaError.INVALID_RECORD,
              "a keyless record is refused with INVALID_RECORD (%s)" % (res[0] if res else None),
              "got %s" % res)

        # __consumer_offsets is compacted too: 300 commits of one group and partition.
        c = kclient.consumer(b.bootstrap, {"group.id": "compaction-group"})
        for i in range(1, COMMITS + 1):
            c.commit(offsets=[TopicPartition(TOPIC, 0, i)], asynchronous=False)
        c.close()
        deadline = time.monotonic() + 60
        while not b.grep_log(r"__consumer_offsets-0: cleaned"):
            if time.monotonic() > deadline:
                raise TestFailure("__consumer_offsets-0 was not cleaned in 60 s")
            time.sleep(0.2)
        check(True, "__consumer_offsets-0 cleaned: %s" % b.grep_log(r"__consumer_offsets-0: cleaned")[-1]
              .split("cleaned ", 1)[1])

        b.stop()
        b.start()
        c = kclient.consumer(b.bootstrap, {"group.id": "compaction-group"})
        got = c.committed([TopicPartition(TOPIC, 0)], timeout=30)
        c.close()
        check(got[0].offset == COMMITS, "after a restart the group coordinator replays the cleaned "
              "__consumer_offsets: committed offset %d" % got[0].offset)
        verify(b, produced, "after a restart")
        check(not [f for f in os.listdir(b.partition_dir(TOPIC, 0)) if f.endswith(".cleaned")],
              "no .cleaned file left")


if __name__ == "__main__":
    main(test)
