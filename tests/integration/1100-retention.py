#!/usr/bin/python3
"""Retention (retention.ms, retention.bytes) with confluent-kafka-python, the broker
checking every 500 ms (log.retention.check.interval.ms):

1. retention.ms=2000 and segment.bytes=1024: 40 batches of 5 records (many segments);
   within seconds every sealed segment is deleted, the earliest offset (ListOffsets)
   moves to the active segment's base, the files below it are gone, one INFO line per
   deletion round names segments, bytes and the new start offset. A consumer starting
   at offset 0 with auto.offset.reset=earliest gets OFFSET_OUT_OF_RANGE and resumes at
   the new start, reading the records there intact; with auto.offset.reset=error it
   reports the error instead.
2. retention.bytes=4096: the oldest segments go until the log would drop below 4096
   bytes; the high watermark does not move; the records kept read back intact.
3. cleanup.policy=compact with the same retention.ms: nothing is deleted.
4. After a restart the earliest offsets are where retention left them (the
   log-start-offset file)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
from confluent_kafka import KafkaError, Producer, TopicPartition  # noqa: E402

BATCHES = 40
PER_BATCH = 5
SIZE = 100


def value(topic, i):
    return ("%s-%06d-" % (topic, i)).encode().ljust(SIZE, b"x")


def produce(bootstrap, topic):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                  "compression.type": "none"})
    errors = []
    n = 0
    for _ in range(BATCHES):
        for _ in range(PER_BATCH):
            p.produce(topic, value(topic, n), key=b"k%d" % n, partition=0,
                      on_delivery=lambda err, msg: err and errors.append(err))
            n += 1
        p.flush(30)  # one batch per flush: many small segments
    check(not errors and p.flush(30) == 0, "%s: %d records acknowledged" % (topic, n), errors[:3])
    return n


def files(b, topic):
    return [(int(os.path.basename(f)[:20]), os.path.getsize(f))
            for f in kwire.segment_files(b.partition_dir(topic, 0))]


def wait_low(bootstrap, topic, pred, timeout=30):
    t0 = time.monotonic()
    while True:
        low, high = kclient.watermarks(bootstrap, topic, 0)
        if pred(low, high):
            return low, high
        if time.monotonic() - t0 > timeout:
            raise TestFailure("%s: watermarks stayed at (%d, %d) for %d s" % (topic, low, high, timeout))
        time.sleep(0.2)


def first_message(bootstrap, topic, reset):
    """Assigns at offset 0 and returns the first message or error."""
    c = kclient.consumer(bootstrap, {"auto.offset.reset": reset, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            m = c.poll(0.5)
            if m is not None:
                return m
        raise TestFailure("%s: nothing consumed from offset 0 in 30 s" % topic)
    finally:
        c.close()


def test(t):
    with Broker(t, config={"log.retention.check.interval.ms": "500"}) as b:
        bs = b.bootstrap
        kclient.create_topic(bs, "ret-time", 1, config={"retention.ms": "2000", "segment.bytes": "1024"})
        kclient.create_topic(bs, "ret-bytes", 1, config={"retention.bytes": "4096", "segment.bytes": "1024"})
        kclient.create_topic(bs, "ret-compact", 1, config={"cleanup.policy": "compact", "retention.ms": "2000",
                                                           "segment.bytes": "1024"})
        total = {}
        produced = {}
        for topic in ("ret-time", "ret-bytes", "ret-compact"):
            total[topic] = produce(bs, topic)
            segs = produced[topic] = files(b, topic)
            log("%s: %d segment files after producing" % (topic, len(segs)))
            check(len(segs) >= 10, "%s: %d segments on disk" % (topic, len(segs)))

        # 1. retention.ms
        t0 = time.monotonic()
        segs_before = produced["ret-time"]
        low, high = wait_low(bs, "ret-time", lambda lo, hi: lo == segs_before[-1][0])
        log("ret-time: earliest offset %d after %.1f s" % (low, time.monotonic() - t0))
        check(high == total["ret-time"], "ret-time: high watermark still %d" % high)
        # The start offset is published before the files are unlinked; the round's
        # INFO line comes after them.
        deadline = time.monotonic() + 10
        while (not any("log start offset now %d" % low in l
                       for l in b.grep_log(r"ret-time-0: retention deleted"))
               and time.monotonic() < deadline):
            time.sleep(0.1)
        segs = files(b, "ret-time")
        check([s[0] for s in segs] == [low], "ret-time: only the active segment (base %d) is left on disk"
              % low, segs)
        lines = b.grep_log(r"ret-time-0: retention deleted \d+ segment\(s\), \d+ bytes")
        check(lines and "log start offset now %d" % low in lines[-1],
              "ret-time: INFO line per deletion round", lines[-1:] if lines else None)
        deleted = sum(int(l.split("retention deleted ")[1].split(" ")[0]) for l in lines)
        check(deleted >= len(segs_before) - 1, "ret-time: %d segments deleted in %d round(s)"
              % (deleted, len(lines)), deleted)
        m = first_message(bs, "ret-time", "earliest")
        check(m.error() is None and m.offset() == low and m.value() == value("ret-time", low),
              "ret-time: consumer at offset 0 with auto.offset.reset=earliest resumes at %d, record intact"
              % low, m.error() or m.offset())
        m = first_message(bs, "ret-time", "error")
        check(m.error() is not None and m.error().code() == KafkaError._AUTO_OFFSET_RESET,
              "ret-time: with auto.offset.reset=error the consumer reports offset out of range (%s)"
              % (m.error() and m.error().str()), m.error())

        # 2. retention.bytes
        segs_before = produced["ret-bytes"]
        size_before = sum(s[1] for s in segs_before)
        low, high = wait_low(bs, "ret-bytes", lambda lo, hi: lo > 0)
        time.sleep(1.2)  # a later round deletes nothing more
        low2, high = wait_low(bs, "ret-bytes", lambda lo, hi: True)
        check(low2 == low, "ret-bytes: one round moved the start to %d, later ones nothing" % low, low2)
        segs = files(b, "ret-bytes")
        size = sum(s[1] for s in segs)
        check(segs[0][0] == low and size >= 4096 and size - segs[0][1] < 4096,
              "ret-bytes: %d -> %d bytes in %d segments: the oldest went while >= 4096 bytes stayed"
              % (size_before, size, len(segs)), segs)
        check(high == total["ret-bytes"], "ret-bytes: high watermark still %d" % high)
        kept = kclient.read_partition(bs, "ret-bytes", 0, start=low)
        check([m.value() for m in kept] == [value("ret-bytes", i) for i in range(low, high)],
              "ret-bytes: the %d records kept read back intact" % len(kept))

        # 3. compact: never deleted by retention
        low, high = kclient.watermarks(bs, "ret-compact", 0)
        check(low == 0 and len(files(b, "ret-compact")) >= 10,
              "ret-compact: cleanup.policy=compact keeps every segment (earliest offset 0)", low)

        lows = {tp: kclient.watermarks(bs, tp, 0)[0] for tp in total}
        b.stop()
        b.start()
        after = {tp: kclient.watermarks(bs, tp, 0)[0] for tp in total}
        check(after == lows, "after a restart the earliest offsets are unchanged: %s" % after, lows)


main(test)
