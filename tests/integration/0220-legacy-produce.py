#!/usr/bin/python3
"""Old clients' message formats are converted, not lost: kcat with
broker.version.fallback=0.9.0 (Produce v1, magic 0 message sets, no ApiVersions)
and kafka-python pinned to api_version 0.10 (Produce v2, magic 1) produce plain,
gzip, snappy and lz4 messages; a modern consumer reads every one back, keys and
values intact and in order, and the stored batches are record batch v2."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, check, log, main, run  # noqa: E402
import ondisk  # noqa: E402

CODECS = ["none", "gzip", "snappy", "lz4"]


def consume(b, topic):
    cp = run(["kcat", "-b", b.bootstrap, "-t", topic, "-p", "0", "-C", "-e", "-q", "-f", "%k=%s\\n"], timeout=60)
    return cp.stdout.splitlines()


def test(t):
    with Broker(t) as b:
        for codec in CODECS:
            topic = "legacy-kcat-" + codec
            lines = ["k%d:%s-value-%d" % (i, codec, i) for i in range(200)]
            run(["kcat", "-b", b.bootstrap, "-t", topic, "-P", "-K:", "-z", codec,
                 "-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"],
                input="\n".join(lines) + "\n", timeout=60)
            got = consume(b, topic)
            check(got == [line.replace(":", "=", 1) for line in lines],
                  "kcat v0.9 %s: 200 magic-0 messages read back in order" % codec, got[:3])
            ondisk.scan_partition(b.partition_dir(topic, 0), expect_records=200,
                                  codec=codec, crc="all", what="kcat v0.9 " + codec)

        py = """
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], api_version=(0, 10, 0),
                  compression_type=None if sys.argv[3] == 'none' else sys.argv[3])
for i in range(50):
    p.send(sys.argv[2], key=b'k%d' % i, value=b'v%d' % i, partition=0, timestamp_ms=1700000000000 + i)
p.flush(); p.close()
"""
        for codec in ["none", "gzip", "snappy", "lz4"]:
            topic = "legacy-kp-" + codec
            run(["/usr/bin/python3", "-c", py, b.bootstrap, topic, codec], timeout=60)
            got = consume(b, topic)
            check(got == ["k%d=v%d" % (i, i) for i in range(50)],
                  "kafka-python 0.10 %s: 50 magic-1 messages read back in order" % codec, got[:3])
            cp = run(["kcat", "-b", b.bootstrap, "-t", topic, "-p", "0", "-C", "-e", "-q", "-c", "1", "-f", "%T"],
                     timeout=60)
            check(cp.stdout.strip() == "1700000000000", "magic-1 timestamps kept (%s)" % codec, cp.stdout)
    log("legacy message sets from kcat and kafka-python are converted and read back intact")


main(test)
