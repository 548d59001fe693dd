#!/usr/bin/python3
"""Crash safety: a librdkafka producer (clients/crash_producer.c: acks=all,
enable.idempotence=false, no librdkafka retries, its own re-sends with a new attempt
number) writes numbered records to one partition while the broker is killed with
SIGKILL at random moments 20 times and restarted on the same data dir and port.

What is asserted, precisely:
- after each restart the high watermark is above every offset acknowledged before the
  kill (nothing acknowledged was lost to the crash or to recovery), and every record
  acknowledged since the previous restart reads back at the offset its delivery report
  gave, with no gap in that stretch of the log;
- at the end the partition is read from offset 0 to the high watermark:
  * offsets are contiguous (no gap);
  * every acknowledged record (seq, attempt) is present exactly at the offset its
    delivery report gave, so acknowledged records are in acknowledgement order;
  * no record identity appears twice: librdkafka sent each (seq, attempt) at most once,
    so a duplicate could only come from the broker;
  * every record in the log is one the producer sent; records whose delivery failed
    may be present (they were possibly persisted) and are counted, not judged;
- the producer made progress between most kills (so the kills hit live traffic);
- a final clean stop exits 0 and the restarted broker has the same high watermark."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, itest_bin, log, main, read_ack_log  # noqa: E402
import kclient  # noqa: E402

KILLS = int(os.environ.get("SAMSA_CRASH_KILLS", 20))
TOPIC = "crash"


def test(t):
    if MOCK:
        log("kill -9 and recovery need a real broker; nothing to check in mock mode")
        return
    producer_bin = itest_bin("crash_producer")
    work = t.tmpdir("work")
    ack_path = os.path.join(work, "acks.log")
    stop_path = os.path.join(work, "stop")
    rng = t.rng
    with Broker(t, config={"num.partitions": 1}) as b:
        kclient.create_topic(b.bootstrap, TOPIC, 1)
        prod_out = open(t.log_path("producer.log"), "w")
        prod = subprocess.Popen([producer_bin, b.bootstrap, TOPIC, ack_path, stop_path, "3000"],
                                stdout=prod_out, stderr=subprocess.STDOUT)
        try:
            t_start = time.monotonic()
            progress = []
            restart_times = []
            prev_acks = 0
            checked_upto = checked_acks = 0
            for k in range(1, KILLS + 1):
                # run for a random while, at least until some traffic was acknowledged
                # after the restart (bounded), then kill
                delay = rng.uniform(0.2, 1.5)
                time.sleep(delay)
                w0 = time.monotonic()
                while len(read_ack_log(ack_path)[0]) == prev_acks and time.monotonic() - w0 < 5:
                    time.sleep(0.05)
                b.require_alive("before kill %d" % k)
                b.kill9()
                acked, failed, _ = read_ack_log(ack_path)
                progress.append(len(acked) - prev_acks)
                prev_acks = len(acked)
                max_off = max((a[2] for a in acked), default=-1)
                took = b.start()
                restart_times.append(took)
                lo, hi = kclient.watermarks(b.bootstrap, TOPIC, 0)
                log("kill %2d after %.2f s: %d acks before it (+%d), %d failed deliveries; "
                    "restarted in %.2f s; watermarks (%d, %d)"
                    % (k, delay, len(acked), progress[-1], len(failed), took, lo, hi))
                if hi <= max_off or lo != 0:
                    raise TestFailure("after kill %d: watermarks (%d, %d) but offset %d was "
                                      "acknowledged before the kill" % (k, lo, hi, max_off))
                # the records acknowledged since the previous check are where their
                # delivery reports said, and that stretch of the log has no gap
                # (read_partition fails on one); the whole log is checked at the end
                recs = kclient.read_partition(b.bootstrap, TOPIC, 0, checked_upto, max_off + 1)
                at = {m.offset(): m.value() for m in recs}
                wrong = [(s, a, o) for s, a, o in acked[checked_acks:]
                         if at.get(o) != b"seq=%09d attempt=%03d" % (s, a)]
                if wrong:
                    raise TestFailure("after kill %d: %d acknowledged records not at their offsets, "
                                      "first (seq, attempt, offset): %s; found %r"
                                      % (k, len(wrong), wrong[0], at.get(wrong[0][2])))
                checked_upto, checked_acks = max_off + 1, len(acked)
                if prod.poll() is not None:
                    raise TestFailure("producer exited early with %s" % prod.returncode)
            time.sleep(1.0)
            open(stop_path, "w").close()
            try:
                prod.wait(90)
            except subprocess.TimeoutExpired:
                raise TestFailure("producer did not finish within 90 s of the stop file")
            check(prod.returncode == 0, "producer exited 0", prod.returncode)
        finally:
            if prod.poll() is None:
                prod.kill()
                prod.wait()
            prod_out.close()
        log("%d kills in %.1f s; restarts took %.2f s on average, %.2f s at most"
            % (KILLS, time.monotonic() - t_start, sum(restart_times) / len(restart_times),
               max(restart_times)))
        acked, failed, end = read_ack_log(ack_path)
        log("producer: %s" % end)
        check(end is not None, "the producer's ack log is complete")
        busy = sum(1 for n in progress if n > 0)
        check(busy >= KILLS * 3 // 4, "acknowledgements between %d of %d kills (kills hit live traffic)"
              % (busy, KILLS), progress)
        check(len(acked) >= 1000, "%d records acknowledged in all" % len(acked))

        lo, hi = kclient.watermarks(b.bootstrap, TOPIC, 0)
        t0 = time.monotonic()
        recs = kclient.read_partition(b.bootstrap, TOPIC, 0, 0, hi, timeout=300)
        log("read back %d records (offsets 0..%d) in %.1f s" % (len(recs), hi - 1, time.monotonic() - t0))
        check(len(recs) == hi and all(m.offset() == i for i, m in enumerate(recs)),
              "offsets 0..%d contiguous, no gap" % (hi - 1))
        idents = []
        for m in recs:
            v = m.value().decode(errors="replace")
            try:
                s, a = v.split()
                idents.append((int(s[4:]), int(a[8:])))
            except ValueError:
                raise TestFailure("offset %d holds %r, not a record the producer sent" % (m.offset(), v))
        where = {}
        dups = []
        for off, ident in enumerate(idents):
            if ident in where:
                dups.append((ident, where[ident], off))
            where[ident] = off
        check(not dups, "no record identity (seq, attempt) appears twice in the log",
              "%d duplicates, first: %s at offsets %d and %d" % ((len(dups),) + dups[0]) if dups else None)
        missing = [(s, a, o) for s, a, o in acked if (s, a) not in where]
        check(not missing, "all %d acknowledged records are in the log" % len(acked),
              "%d missing, first: %s" % (len(missing), missing[:3]))
        moved = [(s, a, o, where[(s, a)]) for s, a, o in acked if where[(s, a)] != o]
        check(not moved, "every acknowledged record sits at the offset its delivery report gave",
              "%d elsewhere, first (seq, attempt, acked offset, found at): %s" % (len(moved), moved[:3]))
        offs = [o for _, _, o in acked]
        check(all(x < y for x, y in zip(offs, offs[1:])),
              "acknowledgements arrived in log order (offsets strictly increasing)")
        sent_attempts = {(s, a) for s, a, _ in acked} | {(s, a) for s, a, _ in failed}
        strangers = [i for i in idents if i not in sent_attempts]
        check(not strangers, "every record in the log is one whose delivery was reported",
              strangers[:3])
        failed_present = sum(1 for s, a, _ in failed if (s, a) in where)
        acked_seqs = {s for s, _, _ in acked}
        log("figures: %d records in the log, %d acknowledged, %d deliveries failed (%d of those "
            "were persisted anyway), %d distinct seqs acknowledged"
            % (hi, len(acked), len(failed), failed_present, len(acked_seqs)))

        b.stop()
        b.start()
        lo2, hi2 = kclient.watermarks(b.bootstrap, TOPIC, 0)
        check((lo2, hi2) == (0, hi), "after a clean stop (exit 0) and start: watermarks (0, %d)" % hi,
              (lo2, hi2))


main(test)
