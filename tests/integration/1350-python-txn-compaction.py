#!/usr/bin/python3
"""Compaction keeps transactions correct (confluent-kafka-python, cleanup.policy=compact,
2 KiB segments, delete.retention.ms=0, the cleaner every 200 ms):

1. On one partition: transaction T1 commits k0..k49 = c1-*; T2 writes a-* for k0..k49
   and tombstones for k30..k34, then aborts; T3 commits c2-* for k0..k24 and tombstones
   for k45..k49; a plain producer writes p-* for k40..k44; filler records roll the
   segments. Once the cleaner has cleaned up to the active segment, a consumer from
   offset 0 (read_uncommitted and read_committed alike) sees below the active segment
   exactly: c2-* for k0..k24, c1-* for k25..k39 (the aborted tombstones deleted
   nothing), p-* for k40..k44, nothing for k45..k49, the latest filler values, and no
   record of the aborted transaction (Kafka's cleaner discards aborted data and never
   lets it shadow committed data).
2. T4 writes open-* for k0..k9 and stays open while more filler rolls segments: the
   cleaner does not clean past the LSO (every record from T4's first offset on is still
   there) and read_committed does not return open-*. T4 aborts; after the next
   cleaning k0..k9 still read c2-* and open-* is gone.
3. After a restart the cleaned log reads the same."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
from confluent_kafka import KafkaError, Producer, TopicPartition  # noqa: E402

TOPIC = "txc"


class Writer:
    def __init__(self, bootstrap, txn_id=None):
        conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0}
        if txn_id:
            conf["transactional.id"] = txn_id
        self.p = Producer(conf)
        self.offsets = {}  # (key, value) -> offset
        self.errors = []
        if txn_id:
            self.p.init_transactions(30)

    def put(self, key, value):
        def dr(err, m):
            if err is not None:
                self.errors.append(err)
            else:
                self.offsets[(key, value)] = m.offset()
        self.p.produce(TOPIC, value, key=key, partition=0, on_delivery=dr)

    def flush(self):
        if self.p.flush(30) or self.errors:
            raise TestFailure("produce failed: %s" % self.errors[:3])


def txn(w, puts, end):
    """One transaction of w writing puts [(key, value)], then ended: "commit", "abort"
    (once its records are written) or None (left open, its records written)."""
    w.p.begin_transaction()
    for key, value in puts:
        w.put(key, value)
    if end == "commit":
        w.p.commit_transaction(30)
        return
    w.flush()
    if end == "abort":
        w.p.abort_transaction(30)


def with_value(recs, prefix):
    """The records (offset, key, value) whose value starts with prefix."""
    return [r for r in recs if r[2] is not None and r[2].startswith(prefix)]


def k(i):
    return b"k%d" % i


def filler(w, n, tag):
    """n records over 20 keys, in batches of 10 (so that 2 KiB segments roll often)."""
    for i in range(n):
        w.put(b"f%d" % (i % 20), b"%s-%04d-%s" % (tag.encode(), i, b"x" * 40))
        if i % 10 == 9:
            w.flush()
    w.flush()


def segment_bases(b):
    d = b.partition_dir(TOPIC, 0)
    return sorted(int(f[:20]) for f in os.listdir(d) if f.endswith(".log"))


def read(b, committed):
    return [(m.offset(), m.key(), m.value()) for m in
            kclient.read_to_end(b.bootstrap, TOPIC, 0, read_committed=committed)]


def latest(recs, below):
    """{key: value} of the records below an offset, last one winning."""
    out = {}
    for off, key, value in recs:
        if off < below:
            out[key] = value
    return out


def wait_cleaned(b, what, timeout=40):
    """Waits until a cleaner pass reached the active segment's base offset."""
    deadline = time.monotonic() + timeout
    while True:
        active = segment_bases(b)[-1]
        if b.grep_log(r"%s-0: cleaned .* up to offset %d:" % (TOPIC, active)):
            return active
        if time.monotonic() > deadline:
            raise TestFailure("%s: no cleaner pass up to the active segment (%d) in %d s"
                              % (what, active, timeout))
        time.sleep(0.2)


def expect_below(active_base, filler_latest):
    want = {}
    for i in range(50):
        if i < 25:
            want[k(i)] = b"c2-%d" % i
        elif i < 40:
            want[k(i)] = b"c1-%d" % i
        elif i < 45:
            want[k(i)] = b"p-%d" % i
    want.update(filler_latest)
    return want


def test(t):
    if MOCK:
        log("compaction needs a real broker; nothing to check in mock mode")
        return
    cfg = {"log.cleaner.backoff.ms": "200", "transaction.state.log.num.partitions": "3",
           "offsets.topic.num.partitions": "1"}
    with Broker(t, config=cfg) as b:
        kclient.create_topic(b.bootstrap, TOPIC, 1, config={
            "cleanup.policy": "compact", "segment.bytes": "2048", "delete.retention.ms": "0",
            "min.cleanable.dirty.ratio": "0.01"})
        tx = Writer(b.bootstrap, "txc-tx")
        plain = Writer(b.bootstrap)

        txn(tx, [(k(i), b"c1-%d" % i) for i in range(50)], "commit")
        txn(tx, [(k(i), b"a-%d" % i) for i in range(50)] + [(k(i), None) for i in range(30, 35)], "abort")
        txn(tx, [(k(i), b"c2-%d" % i) for i in range(25)] + [(k(i), None) for i in range(45, 50)], "commit")
        for i in range(40, 45):
            plain.put(k(i), b"p-%d" % i)
        plain.flush()
        filler(plain, 300, "f1")
        check(True, "T1 committed, T2 (with tombstones) aborted, T3 (with tombstones) committed, plain "
              "updates, 300 filler records")

        active = wait_cleaned(b, "phase 1")
        check(active > 400, "segments rolled: the active segment starts at %d" % active)
        for committed in (False, True):
            recs = read(b, committed)
            below = [r for r in recs if r[0] < active]
            got = latest(recs, active)
            fl = {key: v for key, v in latest(sorted((o, kk, v) for (kk, v), o in plain.offsets.items()),
                                              active).items() if key.startswith(b"f")}
            want = expect_below(active, fl)
            what = "read_committed" if committed else "read_uncommitted"
            aborted = with_value(below, b"a-")
            check(not aborted, "%s: no record of the aborted transaction below the active segment (%d)"
                  % (what, active), aborted[:5])
            check(got == want, "%s: below the active segment exactly the latest committed value of each key "
                  "(k30..k34 kept despite the aborted tombstones, k45..k49 deleted)" % what,
                  {kk: (got.get(kk), want.get(kk)) for kk in set(got) | set(want) if got.get(kk) != want.get(kk)})
            check(len(below) == len(set(r[1] for r in below)), "%s: one record per key below the active segment"
                  % what, len(below))

        # 2. an open transaction bounds the cleaner
        txn(tx, [(k(i), b"open-%d" % i) for i in range(10)], None)
        open_offsets = sorted(o for (kk, v), o in tx.offsets.items() if v is not None and v.startswith(b"open-"))
        filler(plain, 300, "f2")
        after = sorted(o for (kk, v), o in plain.offsets.items() if v.startswith(b"f2-"))
        time.sleep(2.0)  # ten cleaner rounds
        recs = read(b, False)
        present = {r[0] for r in recs}
        gone = [o for o in after if o not in present]
        check(not gone and all(o in present for o in open_offsets),
              "the cleaner left everything from the open transaction's first offset %d on (%d records)"
              % (open_offsets[0], len(after) + 10), gone[:5])
        check(not with_value(read_committed_no_wait(b), b"open-"),
              "read_committed does not return the open transaction's records")
        tx.p.abort_transaction(30)
        filler(plain, 200, "f3")
        active = wait_cleaned(b, "phase 2")
        recs = read(b, True)
        got = latest(recs, active)
        check(all(got.get(k(i)) == b"c2-%d" % i for i in range(10)) and
              not [r for r in with_value(recs, b"open-") if r[0] < active],
              "after the abort and cleaning: k0..k9 read c2-*, no open-* record below the active segment",
              {i: got.get(k(i)) for i in range(10)})
        before = read(b, False)

        tx = plain = None
        b.restart()
        check(read(b, False) == before, "after a restart the cleaned log reads the same (%d records)" % len(before))


def read_committed_no_wait(b):
    """read_committed records up to the LSO (the open transaction holds it below the end)."""
    c = kclient.consumer(b.bootstrap, {"isolation.level": "read_committed"})
    out = []
    try:
        c.assign([TopicPartition(TOPIC, 0, 0)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        return out
                    raise TestFailure("consume error: %s" % m.error())
                out.append((m.offset(), m.key(), m.value()))
        raise TestFailure("read_committed reached no end in 30 s")
    finally:
        c.close()


main(test)
