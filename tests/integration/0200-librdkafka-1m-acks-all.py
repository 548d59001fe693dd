#!/usr/bin/python3
"""librdkafka (C, clients/produce_consume.c): 1,000,000 records of 100 bytes over 6
partitions with acks=all; every delivery report successful with offset i / 6 on
partition i % 6; read back with assign() from offset 0: every record byte-identical,
offsets contiguous from 0 on each partition. Then the files on disk (Kafka's layout,
contiguous batches, CRC-32C), and after a clean restart the watermarks and a full
second read-back."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, check, itest_bin, log, main, run  # noqa: E402
import kclient  # noqa: E402
import ondisk  # noqa: E402

COUNT = int(os.environ.get("SAMSA_1M_COUNT", 1_000_000))
SIZE = 100
PARTS = 6
TOPIC = "rdk-1m"


def test(t):
    client = itest_bin("produce_consume")
    with Broker(t, mock_topics=["%s:%d" % (TOPIC, PARTS)]) as b:
        rss0 = b.rss_kb()
        t0 = time.monotonic()
        cp = run([client, b.bootstrap, TOPIC, str(COUNT), str(SIZE), str(PARTS), "none",
                  "nocreate" if MOCK else "create"], timeout=600, what="produce_consume")
        log(cp.stdout.rstrip())
        log("produce + consume %d records: %.1f s; broker RSS %d KiB before, %d KiB after, peak %d KiB"
            % (COUNT, time.monotonic() - t0, rss0, b.rss_kb(), b.rss_kb("VmHWM")))
        check("read back all %d records" % COUNT in cp.stdout, "produce_consume checked every record")
        for p in range(PARTS):
            lo, hi = kclient.watermarks(b.bootstrap, TOPIC, p)
            n = COUNT // PARTS + (1 if p < COUNT % PARTS else 0)
            check((lo, hi) == (0, n), "%s-%d watermarks (0, %d)" % (TOPIC, p, n), (lo, hi))
        if MOCK:
            return
        b.stop()
        for p in range(PARTS):
            n = COUNT // PARTS + (1 if p < COUNT % PARTS else 0)
            ondisk.scan_partition(b.partition_dir(TOPIC, p), expect_records=n, codec="none")
        took = b.start()
        log("restart after clean stop: serving after %.2f s" % took)
        for p in range(PARTS):
            lo, hi = kclient.watermarks(b.bootstrap, TOPIC, p)
            n = COUNT // PARTS + (1 if p < COUNT % PARTS else 0)
            check((lo, hi) == (0, n), "after restart: %s-%d watermarks (0, %d)" % (TOPIC, p, n),
                  (lo, hi))
        t0 = time.monotonic()
        cp = run([client, b.bootstrap, TOPIC, str(COUNT), str(SIZE), str(PARTS), "none", "consume"],
                 timeout=600, what="produce_consume consume")
        log(cp.stdout.rstrip())
        log("second read-back after restart: %.1f s" % (time.monotonic() - t0))


main(test)
