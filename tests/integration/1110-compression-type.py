#!/usr/bin/python3
"""Topic compression.type honoured (confluent-kafka-python / librdkafka):

- compression.type=zstd, producer sends uncompressed (and, on a second partition, an
  idempotent producer sends gzip): every batch on disk is zstd with a valid CRC-32C,
  the idempotent batches keep their producer id, epoch and contiguous base sequences;
  every record (key, value, headers, timestamp) reads back intact.
- compression.type=uncompressed, producer sends lz4: batches stored uncompressed.
- compression.type=gzip, producer sends snappy: batches stored gzip.
- compression.type=producer (the default), producer sends lz4: stored as sent.
After a restart the same records read back again."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, check, log, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

COUNT = 3000
CODEC_NUM = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

# (topic, topic compression.type, producer codec, expected on-disk codec)
CASES = [
    ("ct-zstd", "zstd", "none", "zstd"),
    ("ct-uncompressed", "uncompressed", "lz4", "none"),
    ("ct-gzip", "gzip", "snappy", "gzip"),
    ("ct-producer", "producer", "lz4", "lz4"),
]


def records(topic, partition):
    return [(("k%d" % (i % 50)).encode(), ("%s-%d-%06d " % (topic, partition, i)).encode() * 8,
             [("h", str(i).encode())], 1700000000000 + i) for i in range(COUNT)]


def produce(bootstrap, topic, partition, codec, idempotent=False):
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
            "linger.ms": 5, "batch.num.messages": 500}
    if idempotent:
        conf["enable.idempotence"] = True
    p = Producer(conf)
    errors = []
    for k, v, h, ts in records(topic, partition):
        p.produce(topic, v, key=k, headers=h, timestamp=ts, partition=partition,
                  on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    left = p.flush(60)
    check(not errors and not left, "%s-%d: %d records sent with %s%s, acknowledged"
          % (topic, partition, COUNT, codec, " (idempotent)" if idempotent else ""), errors[:3])


def read_back(bootstrap, topic, partition, what=""):
    got = kclient.read_partition(bootstrap, topic, partition)
    want = records(topic, partition)
    same = len(got) == len(want) and all(
        m.key() == k and m.value() == v and m.headers() == h and m.timestamp()[1] == ts
        for m, (k, v, h, ts) in zip(got, want))
    check(same, "%s-%d: %d records read back intact (key, value, headers, timestamp)%s"
          % (topic, partition, COUNT, what), len(got))


def on_disk(b, topic, partition, codec):
    batches = 0
    seqs = []
    for path in kwire.segment_files(b.partition_dir(topic, partition)):
        with open(path, "rb") as f:
            data = f.read()
        for h in kwire.parse_batches(data, check_crc=True):
            if "torn_at" in h:
                check(False, "%s: whole batches" % path)
            if h["attributes"] & 7 != CODEC_NUM[codec] or not h["crc_ok"]:
                check(False, "%s-%d: batch at offset %d has codec %d (want %s), CRC ok %s"
                      % (topic, partition, h["base_offset"], h["attributes"] & 7, codec, h["crc_ok"]))
            pid, epoch, seq = struct.unpack(">qhi", data[h["pos"] + 43:h["pos"] + 57])
            seqs.append((pid, epoch, seq, h["record_count"]))
            batches += 1
    check(batches > 0, "%s-%d: all %d batches on disk are %s with a valid CRC-32C"
          % (topic, partition, batches, codec))
    return seqs


def test(t):
    with Broker(t) as b:
        bs = b.bootstrap
        for topic, ctype, pcodec, _ in CASES:
            kclient.create_topic(bs, topic, 2 if topic == "ct-zstd" else 1,
                                 config={"compression.type": ctype})
            produce(bs, topic, 0, pcodec)
        produce(bs, "ct-zstd", 1, "gzip", idempotent=True)
        for topic, ctype, pcodec, _ in CASES:
            read_back(bs, topic, 0)
        read_back(bs, "ct-zstd", 1)
        b.stop()
        for topic, ctype, pcodec, want in CASES:
            on_disk(b, topic, 0, want)
        seqs = on_disk(b, "ct-zstd", 1, "zstd")
        pids = {(p, e) for p, e, _, _ in seqs}
        expect = 0
        contiguous = True
        for _, _, seq, n in seqs:
            contiguous = contiguous and seq == expect
            expect += n
        check(len(pids) == 1 and list(pids)[0][0] >= 0 and contiguous,
              "ct-zstd-1: recompressed idempotent batches keep producer id/epoch %s and base sequences "
              "0..%d" % (list(pids), expect - 1), seqs[:5])
        b.start()
        for topic, ctype, pcodec, _ in CASES:
            read_back(bs, topic, 0, " after a restart")
        log("broker RSS %d KiB" % b.rss_kb())


main(test)
