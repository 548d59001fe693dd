#!/usr/bin/python3
"""Exactly-once consume-transform-produce with librdkafka across broker crashes.

`input` (3 partitions) is filled with 20,000 records first. clients/txn_transform.c then
runs librdkafka's documented EOS loop: a read_committed consumer of group `eos` (no
auto commit), a transactional producer writing "out:<input value>" with the input key
to the same partition of `output`, rd_kafka_send_offsets_to_transaction with
rd_kafka_consumer_group_metadata, commit_transaction; abortable errors abort and rewind
to the committed offsets, fatal ones exit 1. All traffic goes through a TCP proxy
(lib/chaos_proxy.py) that cuts every connection every 0.3-0.8 s while the loop runs, so
transactional requests (Produce, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
EndTxn) die with their answers lost and librdkafka re-sends them. While it runs the
broker is killed with
SIGKILL and restarted on the same data dir and port 4 times, once with the loop client
killed with SIGKILL too; the loop client is started again whenever it exits non-zero or
was killed (its init_transactions fences the previous instance and aborts that one's
open transaction; the group hands the partitions over once the dead member's session
expires).

Asserted at the end:
- the loop client finishes (exit 0: the group's committed offsets reached the input's
  high watermarks);
- `output` read with isolation.level=read_committed holds every input record exactly
  once (matched by payload), with its key, in its input partition, in input order;
- read_uncommitted sees at least as many records (aborted ones included; counted);
- the group's committed offsets equal the input high watermarks;
- the kills hit running transactions (commits happened between kills)."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, itest_bin, log, main  # noqa: E402
import kclient  # noqa: E402
from chaos_proxy import ChaosProxy  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

IN, OUT, GROUP, TXN_ID = "input", "output", "eos", "eos-transform"
PARTITIONS = 3
COUNT = int(os.environ.get("SAMSA_EOS_COUNT", 20000))
KILLS = 4
PER_TXN = 100
RATE = 2500  # records/s the loop client processes at most, so the kills land mid-run
BUDGET = 80  # seconds for the loop phase


def fill_input(bootstrap):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(COUNT):
        while True:
            try:
                p.produce(IN, b"in-%06d" % i, key=b"k%d" % i, partition=i % PARTITIONS)
                break
            except BufferError:
                p.poll(0.01)
    if p.flush(60):
        raise TestFailure("filling %s did not finish" % IN)


def test(t):
    if MOCK:
        log("kill -9 and transactions need a real broker; nothing to check in mock mode")
        return
    loop_bin = itest_bin("txn_transform")
    rng = t.rng
    cfg = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "3",
           "transaction.state.log.num.partitions": "5", "group.min.session.timeout.ms": "1000"}
    b = Broker(t, config=cfg)
    proxy = ChaosProxy(b.port)
    b.config["advertised.listeners"] = "PLAINTEXT://127.0.0.1:%d" % proxy.port
    bootstrap = "127.0.0.1:%d" % proxy.port
    with b:
        kclient.create_topic(bootstrap, IN, PARTITIONS)
        kclient.create_topic(bootstrap, OUT, PARTITIONS)
        fill_input(bootstrap)
        check(sum(kclient.watermarks(bootstrap, IN, p)[1] for p in range(PARTITIONS)) == COUNT,
              "%s holds %d records" % (IN, COUNT))

        out_log = open(t.log_path("txn_transform.log"), "w")
        runs = []

        def start_loop():
            left = max(5, BUDGET - (time.monotonic() - t0))
            out_log.write("=== run %d\n" % (len(runs) + 1))
            out_log.flush()
            runs.append(subprocess.Popen([loop_bin, bootstrap, IN, OUT, GROUP, TXN_ID, str(PER_TXN),
                                          "%.0f" % left, str(RATE)], stdout=out_log, stderr=subprocess.STDOUT))

        def out_hw():
            return sum(kclient.watermarks(bootstrap, OUT, p)[1] for p in range(PARTITIONS))

        stop_cuts = threading.Event()
        cuts = [0, 0]  # rounds, connections

        def cutter():
            while not stop_cuts.wait(rng.uniform(0.3, 0.8)):
                cuts[1] += proxy.drop_all()
                cuts[0] += 1

        t0 = time.monotonic()
        start_loop()
        threading.Thread(target=cutter, daemon=True).start()
        kills = []
        # kill points: random fractions of the output, each after a commit since the last kill
        targets = sorted(rng.uniform(0.1, 0.85) * COUNT for _ in range(KILLS))
        try:
            while len(kills) < KILLS and time.monotonic() - t0 < BUDGET:
                time.sleep(0.3)
                prev = kills[-1][1] if kills else 0
                waited = time.monotonic()
                while (out_hw() <= max(prev, targets[len(kills)]) and runs[-1].poll() is None
                       and time.monotonic() - waited < 30):
                    time.sleep(0.1)
                if runs[-1].poll() is not None:
                    if runs[-1].returncode == 0:
                        break
                    start_loop()
                before = out_hw()
                zombie = len(kills) == 1
                if zombie:  # the loop client dies too, in the middle of a transaction
                    runs[-1].kill()
                    runs[-1].wait()
                b.kill9()
                time.sleep(rng.uniform(0.05, 0.4))
                took = b.start()
                if zombie:
                    start_loop()
                kills.append((time.monotonic() - t0, before, took))
                log("kill %d at %.1f s: output high watermark %d before it; restarted in %.2f s%s"
                    % (len(kills), kills[-1][0], before, took, " (loop client killed too)" if zombie else ""))
            while time.monotonic() - t0 < BUDGET + 5:
                rc = runs[-1].poll()
                if rc is None:
                    time.sleep(0.1)
                    continue
                if rc == 0:
                    break
                log("loop client run %d exited %d; starting another" % (len(runs), rc))
                start_loop()
            if runs[-1].poll() is None:
                raise TestFailure("the loop client did not finish within %d s" % BUDGET)
        finally:
            stop_cuts.set()
            for r in runs:
                if r.poll() is None:
                    r.kill()
                    r.wait()
            out_log.close()
        took = time.monotonic() - t0
        log("%d connection cut rounds, %d connections cut" % tuple(cuts))
        with open(t.log_path("txn_transform.log")) as f:
            summaries = [ln.strip() for ln in f if ln.startswith("txn_transform: exit=")]
        log("loop: %d run(s) in %.1f s: %s" % (len(runs), took, "; ".join(summaries)))
        check(runs[-1].returncode == 0, "the loop client finished: committed offsets reached the input's end")
        check(len(kills) == KILLS, "the broker was killed %d times while the loop ran" % KILLS, len(kills))
        progress = [k for k in range(1, len(kills)) if kills[k][1] > kills[k - 1][1]]
        check(len(progress) == KILLS - 1, "the output grew between every two kills (they hit a running loop)",
              [k[1] for k in kills])

        # the output, read_committed: every input record exactly once, in order per partition
        dups, missing, misplaced, disorder, total = [], 0, [], [], 0
        seen = set()
        for p in range(PARTITIONS):
            ids = []
            for m in kclient.read_to_end(bootstrap, OUT, p, read_committed=True, timeout=120):
                v = m.value().decode(errors="replace")
                if not v.startswith("out:in-"):
                    misplaced.append((p, m.offset(), v))
                    continue
                i = int(v[7:])
                if i % PARTITIONS != p or m.key() != b"k%d" % i:
                    misplaced.append((p, m.offset(), v, m.key()))
                if i in seen:
                    dups.append(i)
                seen.add(i)
                ids.append(i)
            total += len(ids)
            disorder += [(p, a, c) for a, c in zip(ids, ids[1:]) if c <= a][:3]
        missing = COUNT - len(seen)
        log("read_committed: %d records, %d distinct" % (total, len(seen)))
        check(not misplaced, "read_committed: every record is a transformed input record with its key, "
              "in its input partition", misplaced[:3])
        check(not dups, "read_committed: no input record twice", "%d duplicates, e.g. %s" % (len(dups), dups[:5]))
        check(missing == 0, "read_committed: all %d input records present" % COUNT, "%d missing" % missing)
        check(not disorder, "read_committed: input order kept in every partition", disorder[:3])

        uncommitted = sum(len(kclient.read_to_end(bootstrap, OUT, p, read_committed=False))
                          for p in range(PARTITIONS))
        check(uncommitted >= COUNT, "read_uncommitted: %d records (%d from aborted transactions)"
              % (uncommitted, uncommitted - COUNT))

        c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "isolation.level": "read_committed"})
        try:
            got = {tp.partition: tp.offset for tp in
                   c.committed([TopicPartition(IN, p) for p in range(PARTITIONS)], timeout=20)}
        finally:
            c.close()
        want = {p: kclient.watermarks(bootstrap, IN, p)[1] for p in range(PARTITIONS)}
        check(got == want, "group %s committed offsets = the input's high watermarks" % GROUP, (got, want))
        log("figures: %d records through %d transactional runs, %d kill -9 and %d cut connections in "
            "%.1f s; %d aborted records in the output log"
            % (COUNT, len(runs), len(kills), cuts[1], took, uncommitted - COUNT))
    proxy.close()


main(test)
