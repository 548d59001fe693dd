#!/usr/bin/python3
"""kcat: 100,000 keyed lines key<i>:value<i> produced with `kcat -P -K:` (acks=all) to a
3-partition topic, then consumed per partition with `kcat -C -e`: the same set of
lines comes back, each key on the partition librdkafka's partitioner chose
(crc32(key) % 3), in produced order within each partition, at offsets 0, 1, 2, ..."""
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, check, log, main, run  # noqa: E402
import kclient  # noqa: E402

N = 100_000
PARTS = 3
TOPIC = "kcat-keyed"


def test(t):
    lines = ["key%d:value%d" % (i, i) for i in range(N)]
    with Broker(t, mock_topics=["%s:%d" % (TOPIC, PARTS)]) as b:
        kclient.create_topic(b.bootstrap, TOPIC, PARTS)
        t0 = time.monotonic()
        run(["kcat", "-b", b.bootstrap, "-P", "-t", TOPIC, "-K:", "-X", "acks=all",
             "-X", "linger.ms=20"], input="\n".join(lines) + "\n", timeout=300)
        took = time.monotonic() - t0
        log("produced %d keyed lines with kcat -P -K: in %.1f s" % (N, took))

        seen = {}
        total = 0
        for p in range(PARTS):
            t0 = time.monotonic()
            cp = run(["kcat", "-b", b.bootstrap, "-C", "-t", TOPIC, "-p", str(p), "-o", "beginning",
                      "-e", "-q", "-f", "%o %k:%s\\n"], timeout=300)
            got = cp.stdout.splitlines()
            log("partition %d: %d lines consumed with kcat -C -e in %.1f s"
                % (p, len(got), time.monotonic() - t0))
            offsets = [int(x.split(" ", 1)[0]) for x in got]
            check(offsets == list(range(len(got))),
                  "partition %d: offsets contiguous from 0 to %d" % (p, len(got) - 1),
                  next(("offset %d at position %d" % (o, k) for k, o in enumerate(offsets) if o != k),
                       None))
            idx = []
            for x in got:
                line = x.split(" ", 1)[1]
                key, _, val = line.partition(":")
                if not (key.startswith("key") and val == "value" + key[3:]):
                    check(False, "partition %d: line well-formed" % p, line)
                i = int(key[3:])
                if i in seen:
                    check(False, "no line consumed twice", "%r on partitions %d and %d"
                          % (line, seen[i], p))
                seen[i] = p
                idx.append(i)
            bad = [(a, c) for a, c in zip(idx, idx[1:]) if c <= a]
            check(not bad, "partition %d: %d lines in produced order" % (p, len(idx)), bad[:5])
            wrong = [i for i in idx if zlib.crc32(b"key%d" % i) % PARTS != p]
            check(not wrong, "partition %d: every key is where crc32(key) %% %d puts it" % (p, PARTS),
                  wrong[:5])
            lo, hi = kclient.watermarks(b.bootstrap, TOPIC, p)
            check((lo, hi) == (0, len(got)), "partition %d: watermarks (0, %d)" % (p, len(got)),
                  (lo, hi))
            total += len(got)
        missing = [i for i in range(N) if i not in seen]
        check(not missing and total == N,
              "all %d lines came back exactly once (identical set)" % N,
              "%d missing, e.g. %s; %d consumed" % (len(missing), missing[:5], total))


main(test)
