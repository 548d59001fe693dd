#!/usr/bin/python3
"""Smoke test of the benchmark tool bench/kbench: every mode once, at tiny sizes,
against the test broker and against librdkafka's mock cluster, checking that each
prints its JSON result line(s) and succeeds. Keeps the benchmarks working; times
nothing (BENCHMARKS.md and `make bench` do that)."""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import REPO, SAMSA, Broker, check, free_port, log, main  # noqa: E402

KBENCH = os.path.join(REPO, "build", "itest", "kbench")


def build():
    """bench/kbench.c into build/itest (the tree's bench/kbench may be in use)."""
    src = os.path.join(REPO, "bench", "kbench.c")
    if os.path.exists(KBENCH) and os.path.getmtime(KBENCH) >= os.path.getmtime(src):
        return
    os.makedirs(os.path.dirname(KBENCH), exist_ok=True)
    subprocess.run(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
                    "-Wno-missing-field-initializers", "-pthread", "-o", KBENCH + ".tmp", src,
                    "-lrdkafka", "-pthread", "-lm"], check=True)
    os.replace(KBENCH + ".tmp", KBENCH)


def kb(*args, timeout=60):
    """Runs kbench; returns (exit code, its JSON lines)."""
    r = subprocess.run([KBENCH, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        log("kbench %s: exit %d\n%s" % (" ".join(map(str, args)), r.returncode, r.stderr[-2000:]))
    return r.returncode, [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]


def result(what, args, mode, **want):
    """Runs kbench with args, requires exit 0 and a JSON line of mode whose fields
    equal want; returns that line."""
    rc, lines = kb(*args)
    got = [x for x in lines if x.get("mode") == mode]
    check(rc == 0 and got and all(got[-1].get(k) == v for k, v in want.items()),
          "%s: a %s line%s" % (what, mode, "".join(", %s=%s" % kv for kv in want.items())), lines)
    return got[-1]


def start_mock(*topics):
    proc = subprocess.Popen([KBENCH, "mock", *sum((["--topic", t] for t in topics), [])],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    check(line.startswith("bootstrap="), "kbench mock prints its bootstrap address", line)
    return proc, line.split("=", 1)[1]


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def test(t):
    build()
    mock, mbs = start_mock("m:2")
    try:
        with Broker(t, "single") as broker:
            bs, pid = broker.bootstrap, broker.pid
            result("produce acks=1", ["produce", "-b", bs, "-t", "p", "--partitions", 2, "--records", 2000,
                                      "--size", 100, "--acks", 1], "produce", acked=2000, errors=0, partitions=2)
            result("produce acks=all, keyed", ["produce", "-b", bs, "-t", "p", "--records", 500, "--size", 100,
                                               "--acks", "all", "--keys", 10], "produce", acked=500, errors=0)
            result("produce --idempotent", ["produce", "-b", bs, "-t", "p", "--records", 500, "--size", 100,
                                            "--idempotent"], "produce", acked=500, acks="all", idempotent=True)
            result("consume, one pass", ["consume", "-b", bs, "-t", "p"], "consume", records=3000, gaps=0,
                   passes=1)
            result("consume, re-read", ["consume", "-b", bs, "-t", "p", "--records", 7000], "consume",
                   records=9000, passes=3)
            lat = result("latency", ["latency", "-b", bs, "-t", "lat", "--rate", 200, "--duration", 1,
                                     "--size", 64], "latency", records=200, received=200)
            check(0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"], "latency percentiles are ordered", lat)
            c = result("conns", ["conns", "-b", bs, "--count", 50, "--pid", pid, "--settle-ms", 50], "conns",
                       opened=50, alive=50, fresh_ok=True)
            check(c["rss_open_kb"] > 0, "conns reads the broker's RSS", c)
            m = result("metadata", ["metadata", "-b", bs, "--count", 3, "--partitions", 2, "--pid", pid,
                                    "--repeat", 3, "--prefix", "md-"], "metadata", created=3)
            check(m["partitions"] >= 6 and m["topics"] >= 4, "metadata lists every topic and partition", m)
            result("ping", ["ping", "-b", bs, "--timeout", 5], "ping", ok=True)
            result("produce --against the mock", ["produce", "-b", bs, "-t", "ag", "--records", 1000,
                                                  "--size", 100, "--partitions", 2, "--against", "mock",
                                                  "--reps", 1], "compare", failures=0, peer="mock")
            result("consume --against the mock", ["consume", "-b", bs, "-t", "agc", "--partitions", 2,
                                                  "--size", 1000, "--records", 10000, "--against", "mock",
                                                  "--reps", 1], "compare", failures=0)
            rc, _ = kb("delete", "-b", bs, "-t", "p", "-t", "lat")
            check(rc == 0, "delete two topics")

        result("produce to the mock", ["produce", "-b", mbs, "-t", "m", "--partitions", 2, "--records", 1000,
                                       "--size", 100, "--no-create"], "produce", acked=1000, partitions=2)
        result("consume from the mock", ["consume", "-b", mbs, "-t", "m"], "consume", records=1000)
        result("latency on the mock", ["latency", "-b", mbs, "-t", "m", "--rate", 100, "--duration", 1,
                                       "--no-create"], "latency", received=100)
        result("metadata of the mock", ["metadata", "-b", mbs, "--repeat", 2], "metadata", topics=1,
               partitions=2)
        result("pump", ["pump", "--bytes", 20000000], "pump", bytes=20000000)
    finally:
        stop(mock)

    # spawn: start-up, RSS on SIGUSR1, clean shutdown on SIGTERM.
    port = free_port()
    data = tempfile.mkdtemp(prefix="samsa-bench-smoke-")
    t.tmpdirs.append(data)
    cmd = [KBENCH, "spawn", "-b", "127.0.0.1:%d" % port, "--settle-ms", 50, "--timeout", 30,
           "--log", t.log_path("spawned.log"), "--", SAMSA, "serve",
           "--set", "listeners=PLAINTEXT://127.0.0.1:%d" % port, "--set", "log.dirs=" + data]
    sp = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.PIPE, text=True)
    first = json.loads(sp.stdout.readline())
    check(first["mode"] == "startup" and first["ok"] and first["rss_kb"] > 0, "spawn: startup line", first)
    sp.send_signal(signal.SIGUSR1)
    rss = json.loads(sp.stdout.readline())
    check(rss["mode"] == "rss" and rss["rss_kb"] > 0, "spawn: SIGUSR1 prints the RSS", rss)
    sp.send_signal(signal.SIGTERM)
    down = json.loads(sp.stdout.readline())
    sp.wait(timeout=40)
    check(down["mode"] == "shutdown" and down["status"] == "exit 0", "spawn: clean shutdown on SIGTERM", down)


main(test)
