#!/usr/bin/python3
"""librdkafka (clients/produce_consume.c) with compression.codec gzip, snappy, lz4 and
zstd, one topic each: 50,000 records of 100 bytes over 6 partitions, acks=all, read back
with assign() byte-identical with contiguous offsets; on disk every batch keeps its codec
(stored as produced, not recompressed or decompressed) with a valid CRC-32C, and the
compressed log is smaller than the records."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, check, itest_bin, log, main, run  # noqa: E402
import ondisk  # noqa: E402

COUNT = int(os.environ.get("SAMSA_CODEC_COUNT", 50_000))
SIZE = 100
PARTS = 6
CODECS = ["gzip", "snappy", "lz4", "zstd"]


def test(t):
    client = itest_bin("produce_consume")
    refused = []  # codecs librdkafka would not use with this broker
    with Broker(t, mock_topics=["codec-%s:%d" % (c, PARTS) for c in CODECS]) as b:
        for codec in CODECS:
            topic = "codec-" + codec
            t0 = time.monotonic()
            cp = run([client, b.bootstrap, topic, str(COUNT), str(SIZE), str(PARTS), codec,
                      "nocreate" if MOCK else "create"], timeout=300, what="produce_consume " + codec)
            log(cp.stdout.rstrip())
            log("%s: %.1f s" % (codec, time.monotonic() - t0))
            check("read back all %d records" % COUNT in cp.stdout,
                  "%s: produce_consume checked every record" % codec)
            if "does not support compression" in cp.stdout:
                refused.append(codec)
        # librdkafka <= 2.11 (Debian has 2.0.2) sends gzip, snappy and lz4 only to a broker
        # whose ApiVersions includes Produce v0, and lz4 also needs FindCoordinator v0
        # (rdkafka_msgset_writer.c, rdkafka_feature.c); zstd needs Produce v7 and Fetch v10.
        if refused:
            log("librdkafka sent %s batches uncompressed ('Broker does not support compression "
                "type'); their on-disk codec is not checked; this fails the test at the end" % refused)
        if MOCK:
            check(not refused, "librdkafka compressed with every codec")
            return
        log("broker RSS %d KiB, peak %d KiB" % (b.rss_kb(), b.rss_kb("VmHWM")))
        b.stop()
        for codec in [c for c in CODECS if c not in refused]:
            total = 0
            for p in range(PARTS):
                n = COUNT // PARTS + (1 if p < COUNT % PARTS else 0)
                s = ondisk.scan_partition(b.partition_dir("codec-" + codec, p), expect_records=n,
                                          codec=codec, crc="all")
                total += s["bytes"]
            check(total < COUNT * SIZE // 2, "%s: %d bytes on disk for %d bytes of values "
                  "(batches stored compressed)" % (codec, total, COUNT * SIZE), total)
        b.start()
        for codec in CODECS:
            cp = run([client, b.bootstrap, "codec-" + codec, str(COUNT), str(SIZE), str(PARTS), codec,
                      "consume"], timeout=300, what="produce_consume consume " + codec)
            log("after restart: " + cp.stdout.rstrip())
        check(not refused, "librdkafka compressed with every codec (it judges the broker by "
              "ApiVersions)", "sent uncompressed for %s: librdkafka logged 'Broker does not support "
              "compression type'" % refused)


main(test)
