#!/usr/bin/python3
"""Recovery of a damaged segment tail. For each case: a fresh broker
(log.segment.bytes=64 KiB, so several segments), 1,000 records produced in ~40 batches
with acks=all, the broker stopped (cleanly, exit 0, or with SIGKILL), the newest .log
segment damaged, the broker started again on the same data dir. Cases:
  truncate-clean   cut mid-way through the last batch, after a clean stop
  corrupt-clean    one byte flipped inside the last batch (CRC-covered), clean stop
  truncate-kill9   the same cut after SIGKILL
  corrupt-kill9    the same flip after SIGKILL
  corrupt-middle   a byte flipped in a batch in the middle of the newest segment (SIGKILL):
                   that batch and everything after it go (Kafka truncates at the first
                   invalid batch)
Each case checks: the broker starts; a WARN line names the segment file; the high
watermark is the damaged batch's base offset; every record before it reads back
identical; new records continue at that offset and read back; after a clean stop the
segment files hold only whole batches with valid CRC-32C."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
import ondisk  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

TOPIC = "recov"
N = 1000
PER_BATCH = 25


def value(i):
    return b"rec-%06d-" % i + bytes([97 + i % 26]) * 180


def produce(bootstrap, start, count, per_batch):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    offs = {}
    for i in range(start, start + count):
        p.produce(TOPIC, value(i), partition=0,
                  on_delivery=lambda err, msg, i=i: offs.__setitem__(i, (err, msg.offset())))
        if (i - start) % per_batch == per_batch - 1:
            p.flush(30)
    p.flush(30)
    errs = [(i, e) for i, (e, _) in offs.items() if e is not None]
    if len(offs) != count or errs:
        raise TestFailure("produce %d records: %d reports, errors %s" % (count, len(offs), errs[:3]))
    return offs


def run_case(t, case):
    log("=== case %s" % case)
    how = "clean" if case.endswith("clean") else "kill9"
    b = Broker(t, name="broker-" + case, config={"log.segment.bytes": 65536, "num.partitions": 1})
    try:
        b.start()
        kclient.create_topic(b.bootstrap, TOPIC, 1)
        offs = produce(b.bootstrap, 0, N, PER_BATCH)
        check(sorted(o for _, o in offs.values()) == list(range(N)), "%d records acknowledged at offsets 0..%d" % (N, N - 1))
        if how == "clean":
            b.stop()
        else:
            b.kill9()
        pdir = b.partition_dir(TOPIC, 0)
        segs = kwire.segment_files(pdir)
        check(len(segs) >= 2, "%d segments in %s" % (len(segs), pdir))
        newest = segs[-1]
        with open(newest, "rb") as f:
            data = f.read()
        hdrs = [h for h in kwire.parse_batches(data, check_crc=True) if "torn_at" not in h]
        check(hdrs and all(h["crc_ok"] for h in hdrs) and sum(h["size"] for h in hdrs) == len(data),
              "newest segment %s: %d whole batches, valid CRCs, before the damage"
              % (os.path.basename(newest), len(hdrs)))
        if case == "corrupt-middle":
            if len(hdrs) < 3:
                raise TestFailure("newest segment has only %d batches" % len(hdrs))
            victim = hdrs[len(hdrs) // 2]
        else:
            victim = hdrs[-1]
        cut_at = victim["base_offset"]
        if case.startswith("truncate"):
            size = victim["pos"] + victim["size"] // 2
            os.truncate(newest, size)
            log("cut %s from %d to %d bytes: mid-way through the batch at offset %d (%d records)"
                % (os.path.basename(newest), len(data), size, cut_at, victim["record_count"]))
        else:
            pos = victim["pos"] + victim["size"] - 10
            with open(newest, "r+b") as f:
                f.seek(pos)
                byte = f.read(1)[0]
                f.seek(pos)
                f.write(bytes([byte ^ 0x5A]))
            log("flipped the byte at %s:%d inside the batch at offset %d (of %d batches in the segment; "
                "%d records after it)" % (os.path.basename(newest), pos, cut_at, len(hdrs), N - cut_at))

        took = b.start()
        log("restarted in %.2f s" % took)
        seg_name = os.path.basename(newest)
        warns = [w for w in b.grep_log(r"WARN") if seg_name in w]
        for w in warns:
            log("broker: " + w)
        check(warns, "a WARN line names the damaged segment %s" % seg_name,
              "\n".join(b.grep_log(r"WARN|ERROR")[:10]) or "no WARN/ERROR lines")
        lo, hi = kclient.watermarks(b.bootstrap, TOPIC, 0)
        check((lo, hi) == (0, cut_at), "watermarks (0, %d): the damaged batch and all after it dropped"
              % cut_at, (lo, hi))
        recs = kclient.read_partition(b.bootstrap, TOPIC, 0, 0, cut_at)
        bad = [m.offset() for m in recs if m.value() != value(m.offset())]
        check(len(recs) == cut_at and not bad, "all %d records before the damaged batch read back identical"
              % cut_at, bad[:5])
        for start in (0, cut_at // 2, max(cut_at - 1, 0)):
            part = kclient.read_partition(b.bootstrap, TOPIC, 0, start, min(start + 3, cut_at))
            if [m.offset() for m in part] != list(range(start, min(start + 3, cut_at))):
                raise TestFailure("read from offset %d after recovery: offsets %s" % (start, [m.offset() for m in part]))
        log("ok: reads starting at offsets 0, %d, %d find their records (indexes usable)" % (cut_at // 2, cut_at - 1))
        new = produce(b.bootstrap, cut_at, 50, 10)
        new_offs = sorted(o for _, o in new.values())
        check(new_offs == list(range(cut_at, cut_at + 50)),
              "50 new records acknowledged at offsets %d..%d" % (cut_at, cut_at + 49), new_offs[:3])
        recs = kclient.read_partition(b.bootstrap, TOPIC, 0, 0)
        check(len(recs) == cut_at + 50 and all(m.value() == value(m.offset()) for m in recs),
              "the partition reads back 0..%d, old and new records identical" % (cut_at + 49))
        b.stop()
        ondisk.scan_partition(pdir, expect_records=cut_at + 50, crc="all", what=case)
    except TestFailure:
        t.failed = True
        b.dump()
        raise
    finally:
        if b.proc:
            b.kill9()


def test(t):
    if MOCK:
        log("recovery needs a real broker; nothing to check in mock mode")
        return
    t0 = time.monotonic()
    failures = []
    for case in ("truncate-clean", "corrupt-clean", "truncate-kill9", "corrupt-kill9", "corrupt-middle"):
        try:
            run_case(t, case)
            log("case %s passed" % case)
        except TestFailure as e:
            log("case %s FAILED: %s" % (case, e))
            failures.append("%s: %s" % (case, e))
    log("all cases in %.1f s" % (time.monotonic() - t0))
    if failures:
        raise TestFailure("%d of 5 cases failed:\n  %s" % (len(failures), "\n  ".join(failures)))


main(test)
