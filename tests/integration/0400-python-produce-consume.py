#!/usr/bin/python3
"""confluent-kafka-python (Debian python3-confluent-kafka): Producer with keys, values,
headers and explicit timestamps (null key, null value, empty value, binary bytes,
repeated header names and empty header values included); Consumer with assign() at OFFSET_BEGINNING reads
every record back identical; assign() at a middle offset; get_watermark_offsets;
offsets_for_times (before, inside and after batches, past the end); a consumer parked at
OFFSET_END receives a record produced later (long-poll fetch); message.max.bytes
enforced by the broker (MSG_SIZE_TOO_LARGE) while a record just under it passes; a record
larger than fetch.max.bytes still arrives whole (KIP-74); a fetch past the end gets
OFFSET_OUT_OF_RANGE."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME,  # noqa: E402
                             KafkaError, Producer, TopicPartition)

TOPIC = "py-roundtrip"
PARTS = 2
N = 600
BASE_TS = 1_700_000_000_000
MAX_BYTES = 200_000


def record(i):
    """The i-th record: (partition, key, value, headers, timestamp)."""
    p = i % PARTS
    key = b"key-%d" % i
    value = b"value-%d-" % i + bytes(range(256)) * (i % 3)
    headers = [("seq", str(i).encode()), ("kind", b"test"), ("kind", b"repeated")]
    if i % 50 == 7:
        key = None
    if i % 50 == 11:
        value = None  # a tombstone
    if i % 50 == 13:
        value = b""
    if i % 50 == 17:
        # no null header value: Debian's confluent-kafka 1.7.0 drops a reference to
        # None for each one it reads and aborts at exit ("none_dealloc")
        headers = [("empty", b"")]
    if i % 50 == 19:
        headers = []
    return p, key, value, headers, BASE_TS + i * 1000


def collect(consumer, want, timeout=60):
    """Messages until `want` records per partition (dict) or timeout."""
    got = {p: [] for p in want}
    deadline = time.monotonic() + timeout
    while any(len(got[p]) < want[p] for p in want):
        if time.monotonic() > deadline:
            raise TestFailure("consumer: %s records after %d s, wanted %s"
                              % ({p: len(v) for p, v in got.items()}, timeout, want))
        for m in consumer.consume(num_messages=500, timeout=0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise TestFailure("consume error: %s" % m.error())
            got[m.partition()].append(m)
    return got


def test(t):
    with Broker(t, config={"message.max.bytes": MAX_BYTES},
                mock_topics=["%s:%d" % (TOPIC, PARTS), "py-tail:1", "py-big:1"]) as b:
        log(kclient.versions())
        kclient.create_topic(b.bootstrap, TOPIC, PARTS)
        kclient.create_topic(b.bootstrap, "py-tail", 1)
        kclient.create_topic(b.bootstrap, "py-big", 1)

        prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 100})
        reports = {}

        def on_delivery(err, msg, i):
            reports[i] = (err, msg.partition(), msg.offset(), msg.timestamp())

        for i in range(N):
            p, key, value, headers, ts = record(i)
            prod.produce(TOPIC, value, key, partition=p, headers=headers, timestamp=ts,
                         on_delivery=lambda err, msg, i=i: on_delivery(err, msg, i))
            if i % 200 == 199:
                prod.flush(30)  # three rounds of batches
        left = prod.flush(30)
        check(left == 0 and len(reports) == N, "%d records delivered (acks=all)" % N, (left, len(reports)))
        errs = [(i, r[0]) for i, r in reports.items() if r[0] is not None]
        check(not errs, "every delivery report successful", errs[:3])
        bad = [i for i in range(N) if reports[i][1] != i % PARTS or reports[i][2] != i // PARTS]
        check(not bad, "delivery offsets: record i at partition i%%%d, offset i//%d" % (PARTS, PARTS),
              [(i, reports[i]) for i in bad[:3]])

        c = kclient.consumer(b.bootstrap)
        c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTS)])
        got = collect(c, {p: N // PARTS for p in range(PARTS)})
        diffs = []
        for p in range(PARTS):
            for k, m in enumerate(got[p]):
                i = k * PARTS + p
                _, key, value, headers, ts = record(i)
                have = (m.offset(), m.key(), m.value(), m.headers() or [], m.timestamp())
                want = (k, key, value, headers, (TIMESTAMP_CREATE_TIME, ts))
                if have != want:
                    diffs.append((p, k, have, want))
        check(not diffs, "assign(OFFSET_BEGINNING): %d records back with identical offset, key, "
              "value (null, empty, binary), headers (order, repeats, empty) and CreateTime" % N,
              diffs[:2])
        c.close()

        for p in range(PARTS):
            lo, hi = c2w = kclient.watermarks(b.bootstrap, TOPIC, p)
            check((lo, hi) == (0, N // PARTS), "get_watermark_offsets %s-%d = (0, %d)" % (TOPIC, p, N // PARTS), c2w)

        c = kclient.consumer(b.bootstrap)
        c.assign([TopicPartition(TOPIC, 1, 123)])
        m = collect(c, {1: 1})[1][0]
        check(m.offset() == 123 and m.key() == record(123 * PARTS + 1)[1],
              "assign() at offset 123 starts with that record", (m.offset(), m.key()))

        # offsets_for_times: first offset whose timestamp >= the one asked for (Kafka's
        # ListOffsets by timestamp, record by record within a batch)
        probes = [(BASE_TS - 5000, 0), (BASE_TS, 0), (BASE_TS + 1, 1), (BASE_TS + 2000, 1),
                  (BASE_TS + 2001 * 2, 3), (BASE_TS + 101 * 2000 - 1, 101),
                  (BASE_TS + 250 * 2000 + 500, 251), (BASE_TS + 299 * 2000, 299),
                  (BASE_TS + 299 * 2000 + 1, -1), (BASE_TS + 10 ** 9, -1)]
        # partition 0 holds records 0, 2, 4, ...: offset k has timestamp BASE_TS + 2000 k
        # one call per probe: a partition may appear only once per ListOffsets request
        res = [c.offsets_for_times([TopicPartition(TOPIC, 0, ts)], timeout=20)[0] for ts, _ in probes]
        got_offs = [r.offset for r in res]
        want_offs = [o for _, o in probes]
        errs = [r.error for r in res if r.error]
        check(MOCK or (not errs and got_offs == want_offs),
              "offsets_for_times on %s-0: %s" % (TOPIC, list(zip([ts - BASE_TS for ts, _ in probes], want_offs))),
              {"got": got_offs, "errors": errs})
        c.close()

        # a consumer waiting at the end gets a record produced later (long-poll fetch)
        c = kclient.consumer(b.bootstrap, {"fetch.wait.max.ms": 5000})
        c.assign([TopicPartition("py-tail", 0, OFFSET_END)])
        c.consume(num_messages=1, timeout=2.0)  # let it reach the end and park in a fetch
        sent_at = []
        tail_prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
        tail_prod.list_topics("py-tail", timeout=10)  # connected before the clock starts

        def later():
            time.sleep(1.0)
            sent_at.append(time.monotonic())
            tail_prod.produce("py-tail", b"late", b"tail")
            tail_prod.flush(10)

        th = threading.Thread(target=later)
        th.start()
        msgs = []
        deadline = time.monotonic() + 20
        while not msgs and time.monotonic() < deadline:
            # num_messages=1: consume() waits for num_messages or the timeout
            msgs = [m for m in c.consume(num_messages=1, timeout=0.05) if not m.error()]
        got_at = time.monotonic()
        th.join()
        check(msgs and msgs[0].value() == b"late" and msgs[0].offset() == 0,
              "consumer parked at OFFSET_END receives the record produced 1 s later",
              [(m.offset(), m.value()) for m in msgs])
        lat = got_at - (sent_at[0] if sent_at else got_at)
        log("long-poll latency, produce() to the consumer having the record: %.2f s" % lat)
        check(MOCK or lat < 1.0, "it arrives well before fetch.wait.max.ms=5000 ends (%.2f s)" % lat)
        c.close()

        # message.max.bytes (broker side: the client limit is higher)
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "message.max.bytes": 5_000_000,
                      "compression.codec": "none", "message.send.max.retries": 0})
        out = []
        p.produce("py-big", b"x" * (MAX_BYTES - 1000), on_delivery=lambda e, m: out.append(("small", e, m.offset())))
        p.flush(30)
        p.produce("py-big", b"y" * (MAX_BYTES * 2), on_delivery=lambda e, m: out.append(("big", e, m.offset())))
        p.flush(30)
        log("deliveries: %s" % out)
        check(len(out) == 2 and out[0][1] is None and out[0][2] == 0,
              "a %d-byte record under message.max.bytes=%d is accepted" % (MAX_BYTES - 1000, MAX_BYTES), out)
        if not MOCK:
            check(out[1][1] is not None and out[1][1].code() == KafkaError.MSG_SIZE_TOO_LARGE,
                  "a %d-byte record gets MESSAGE_TOO_LARGE from the broker" % (MAX_BYTES * 2),
                  out[1][1])
            lo, hi = kclient.watermarks(b.bootstrap, "py-big", 0)
            check(hi == 1, "the refused record was not appended (high watermark 1)", (lo, hi))
            recs = kclient.read_partition(b.bootstrap, "py-big", 0)
            check(len(recs) == 1 and recs[0].value() == b"x" * (MAX_BYTES - 1000),
                  "the accepted large record reads back identical")

        # fetch limits smaller than the record: the whole record still comes back (KIP-74)
        c = kclient.consumer(b.bootstrap, {"fetch.max.bytes": 1024, "max.partition.fetch.bytes": 1024,
                                           "message.max.bytes": 1000,
                                           "receive.message.max.bytes": 1024 * 1024})
        c.assign([TopicPartition("py-big", 0, 0)])
        m = collect(c, {0: 1}, timeout=30)[0][0]
        check(m.offset() == 0 and len(m.value()) == MAX_BYTES - 1000,
              "fetch.max.bytes=1024: the %d-byte record still arrives whole (KIP-74)" % (MAX_BYTES - 1000))
        c.close()

        # a fetch past the end: OFFSET_OUT_OF_RANGE (auto.offset.reset=error surfaces it)
        c = kclient.consumer(b.bootstrap)
        c.assign([TopicPartition(TOPIC, 0, 5000)])
        err = None
        deadline = time.monotonic() + 20
        while err is None and time.monotonic() < deadline:
            for m in c.consume(num_messages=1, timeout=0.5):
                if m.error() and m.error().code() != KafkaError._PARTITION_EOF:
                    err = m.error()
        c.close()
        check(err is not None and "out of range" in err.str().lower(),
              "assign() at offset 5000 of a 300-record partition: Offset out of range", err)
        b.require_alive()


main(test)
