#!/usr/bin/python3
"""librdkafka's idempotent producer (clients/idempotent_producer.c: enable.idempotence=true,
5 requests in flight per connection, librdkafka's own retries only) writes 200,000 numbered
records over 3 partitions while its connections are cut and the broker is killed:

- all traffic goes through a TCP proxy in this test (the broker advertises the proxy's
  port), which closes every open connection every 0.3-0.8 s, so produce requests die
  with their responses lost after the broker appended them, and librdkafka re-sends them
  with the same producer id, epoch and sequences;
- three times the broker is killed with SIGKILL and restarted on the same data dir and
  port, so requests die before or after the append, and the producer state the
  retries are checked against has to be rebuilt from the log (and snapshots).

Read back afterwards, each partition must hold records n = 0, 1, 2, ... of that
partition exactly once each and in that order (no duplicate, no gap, order kept), every
delivery report's offset must hold its record, and librdkafka must report no failed
delivery and no fatal (idempotence) error, and the broker must have answered some
retried batches as duplicates (else the chaos missed and nothing was shown). Figures:
connections cut, kills, retried batches answered as duplicates, producer state rebuilt."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, itest_bin, log, main, read_ack_log  # noqa: E402
import kclient  # noqa: E402
from chaos_proxy import ChaosProxy  # noqa: E402

TOPIC = "idem-chaos"
PARTITIONS = 3
COUNT = int(os.environ.get("SAMSA_IDEM_COUNT", 200000))
RATE = 10000
KILLS = 3


def test(t):
    if MOCK:
        log("connection chaos and kill -9 need a real broker; nothing to check in mock mode")
        return
    producer_bin = itest_bin("idempotent_producer")
    work = t.tmpdir("work")
    ack_path = os.path.join(work, "acks.log")
    rng = t.rng
    b = Broker(t)
    proxy = ChaosProxy(b.port)
    b.config["advertised.listeners"] = "PLAINTEXT://127.0.0.1:%d" % proxy.port
    bootstrap = "127.0.0.1:%d" % proxy.port
    with b:
        kclient.create_topic(bootstrap, TOPIC, PARTITIONS)
        prod_out = open(t.log_path("producer.log"), "w")
        t0 = time.monotonic()
        prod = subprocess.Popen([producer_bin, bootstrap, TOPIC, str(PARTITIONS), str(COUNT), ack_path,
                                 str(RATE)], stdout=prod_out, stderr=subprocess.STDOUT)
        drops = dropped_conns = 0
        restarts = []
        try:
            chaos_for = COUNT / RATE
            kill_at = sorted(rng.uniform(0.15, 0.85) * chaos_for for _ in range(KILLS))
            while prod.poll() is None and time.monotonic() - t0 < chaos_for:
                time.sleep(rng.uniform(0.3, 0.8))
                dropped_conns += proxy.drop_all()
                drops += 1
                if kill_at and time.monotonic() - t0 >= kill_at[0]:
                    kill_at.pop(0)
                    b.kill9()
                    time.sleep(rng.uniform(0.05, 0.5))
                    restarts.append(b.start())
            while len(restarts) < KILLS and prod.poll() is None:
                b.kill9()
                restarts.append(b.start())
            log("chaos over after %.1f s: %d drop rounds (%d connections cut), %d kill -9 "
                "(restarts took %s s)" % (time.monotonic() - t0, drops, dropped_conns, len(restarts),
                                          ", ".join("%.2f" % r for r in restarts)))
            try:
                prod.wait(300)
            except subprocess.TimeoutExpired:
                raise TestFailure("producer did not finish within 300 s after the chaos")
            check(prod.returncode == 0, "producer exited 0", prod.returncode)
        finally:
            if prod.poll() is None:
                prod.kill()
                prod.wait()
            prod_out.close()
        took = time.monotonic() - t0
        acked, failed, end = read_ack_log(ack_path)
        log("producer: %s in %.1f s" % (end, took))
        check(end is not None, "the producer's ack log is complete")
        check(end["fatal"] == "none", "no fatal idempotence error in librdkafka", end["fatal"])
        check(not failed, "no failed delivery", failed[:3])
        check(len(acked) == COUNT, "all %d records acknowledged" % COUNT, len(acked))

        by_off = {}
        for p in range(PARTITIONS):
            recs = kclient.read_partition(bootstrap, TOPIC, p, timeout=300)
            ns = []
            for m in recs:
                v = m.value().decode(errors="replace")
                try:
                    vp, vn = v.split()
                    if int(vp[2:]) != p:
                        raise ValueError
                    ns.append(int(vn[2:]))
                except ValueError:
                    raise TestFailure("%s-%d offset %d holds %r, not a record sent there"
                                      % (TOPIC, p, m.offset(), v))
                by_off[(p, m.offset())] = ns[-1]
            expect = COUNT // PARTITIONS + (1 if p < COUNT % PARTITIONS else 0)
            dups = len(ns) - len(set(ns))
            check(dups == 0, "partition %d: no record twice" % p, "%d duplicates" % dups)
            check(ns == list(range(expect)),
                  "partition %d: records 0..%d exactly once, in order, no gap (offsets 0..%d dense)"
                  % (p, expect - 1, len(ns) - 1),
                  "first difference at index %s" % next((i for i, (x, y) in enumerate(zip(ns, range(expect)))
                                                         if x != y), min(len(ns), expect)))
        wrong = [a for a in acked if by_off.get((a[0], a[2])) != a[1]]
        check(not wrong, "every delivery report's offset holds its record", wrong[:3])

        whole = b.full_log()
        dup_lines = whole.count("duplicate batch (a retry)")
        rebuilt = [ln.split("producer state: ", 1)[1] for ln in b.grep_log(r"producer state: \d+ producers")]
        log("figures: %d records in %.1f s through %d cut connections and %d kill -9; the broker "
            "answered %d retried batches as duplicates; producer state after the last restart: %s"
            % (COUNT, took, dropped_conns, len(restarts), dup_lines, "; ".join(rebuilt)))
        check(dup_lines > 0, "the broker answered %d retried batches with their original offsets "
              "(the chaos hit appended batches)" % dup_lines)
    proxy.close()


main(test)
