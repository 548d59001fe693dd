#!/usr/bin/python3
"""Idempotent producers with confluent-kafka-python, and the exact answers of
InitProducerId and Produce for producer ids, epochs and sequences on the wire.

1. confluent_kafka.Producer(enable.idempotence=True) sends 20,000 keyed records to 2
   partitions; all are acknowledged and read back once, in order; on disk every batch
   carries the producer's id and epoch 0, and sequences run 0, 1, 2, ... per partition
   without a gap (parsed from the segment files).
2. Raw InitProducerId: v1 and v4 (flexible) give fresh producer ids, epoch 0; a v4
   request carrying an existing id and epoch (KIP-360) also gets a fresh id (Kafka's
   behaviour without a transactional id); id without epoch -> INVALID_REQUEST; an
   empty transactional id -> INVALID_REQUEST, a non-empty one gets a producer id.
3. Raw Produce with a producer id (Kafka's rules): in-sequence batches are appended; a
   retry of one of the last five batches is answered NONE with its original base offset
   and not appended; a gap or a batch older than the five -> OUT_OF_ORDER_SEQUENCE_NUMBER;
   an older epoch -> INVALID_PRODUCER_EPOCH; a newer epoch must start at 0; an unknown
   producer id is accepted at any sequence (KIP-360); a transactional batch ->
   INVALID_TXN_STATE; a control batch, two batches in one partition, or a negative
   sequence -> INVALID_RECORD.
4. After a clean restart (snapshot) and after kill -9 (replay from the log), retries
   are still answered with their original offsets, sequences continue, and new producer
   ids are above every id issued before."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
from kwire import compact_string, i16, i32, i64, uvarint  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

NONE, OUT_OF_ORDER, INVALID_EPOCH, INVALID_TXN_STATE = 0, 45, 47, 48
INVALID_REQUEST, INVALID_RECORD = 42, 87


class Wire(kwire.Client):
    def __init__(self, b):
        super().__init__(b.port, timeout=15)

    def init_pid_v4(self, txn_id=None, pid=-1, epoch=-1):
        body = compact_string(txn_id) + i32(60000) + i64(pid) + i16(epoch) + uvarint(0)
        r = self.call(kwire.API_INIT_PRODUCER_ID, 4, body, flexible=True)
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()


def batch(pid, epoch, seq, n, tag, attributes=0):
    return kwire.build_batch([b"%s-%d" % (tag.encode(), k) for k in range(n)], producer_id=pid,
                             producer_epoch=epoch, base_seq=seq, attributes=attributes)


def disk_batches(pdir):
    """(base_offset, count, producer_id, epoch, base_seq) of every batch on disk."""
    out = []
    for path in kwire.segment_files(pdir):
        for h in kwire.parse_batches(open(path, "rb").read()):
            if "torn_at" in h:
                raise TestFailure("%s: a torn batch at %d" % (path, h["torn_at"]))
            out.append((h["base_offset"], h["record_count"], h["producer_id"], h["producer_epoch"],
                        h["base_sequence"]))
    return out


def test_confluent(b):
    topic = "idem-py"
    kclient.create_topic(b.bootstrap, topic, 2)
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "linger.ms": 5,
                  "batch.num.messages": 300})
    reports = []
    for i in range(20000):
        while True:
            try:
                p.produce(topic, b"v%05d" % i, key=b"k%d" % (i % 50), partition=i % 2,
                          on_delivery=lambda err, msg: reports.append((err, msg.partition(), msg.offset(),
                                                                       msg.value())))
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    left = p.flush(60)
    check(left == 0 and len(reports) == 20000, "confluent-kafka idempotent: 20000 delivery reports",
          (left, len(reports)))
    errs = [r for r in reports if r[0] is not None]
    check(not errs, "confluent-kafka idempotent: no delivery error", errs[:3])
    for part in range(2):
        recs = kclient.read_partition(b.bootstrap, topic, part)
        vals = [m.value() for m in recs]
        check(vals == [b"v%05d" % i for i in range(part, 20000, 2)],
              "partition %d: the 10000 records once each, in order" % part)
        at = {m.offset(): m.value() for m in recs}
        wrong = [r for r in reports if r[1] == part and at.get(r[2]) != r[3]]
        check(not wrong, "partition %d: every delivery report's offset holds its record" % part, wrong[:3])
        if MOCK:
            continue
        bs = disk_batches(b.partition_dir(topic, part))
        pids = {x[2] for x in bs}
        check(len(pids) == 1 and min(pids) >= 0 and {x[3] for x in bs} == {0},
              "partition %d on disk: %d batches, all with producer id %s, epoch 0" % (part, len(bs), pids))
        seq = 0
        for base, cnt, _pid, _epoch, s in bs:
            if s != seq:
                raise TestFailure("partition %d: batch at offset %d has sequence %d, expected %d"
                                  % (part, base, s, seq))
            seq += cnt
        check(seq == 10000, "partition %d on disk: sequences 0..9999 without a gap" % part)


def test(t):
    if MOCK:
        with Broker(t, mock_topics=["idem-py:2"]) as b:
            test_confluent(b)
        return
    with Broker(t) as b:
        test_confluent(b)

        w = Wire(b)
        err, p1, e1 = w.init_pid()
        check(err == NONE and p1 >= 0 and e1 == 0, "InitProducerId v1: producer id %d, epoch 0" % p1, (err, e1))
        err, p2, e2 = w.init_pid_v4()
        check(err == NONE and p2 > p1 and e2 == 0, "InitProducerId v4: a new producer id %d" % p2, (err, p2, e2))
        err, p3, e3 = w.init_pid_v4(pid=p2, epoch=0)
        check(err == NONE and p3 > p2 and e3 == 0,
              "InitProducerId v4 with the current id and epoch (KIP-360): a fresh id %d, epoch 0" % p3,
              (err, p3, e3))
        err, _, _ = w.init_pid_v4(pid=p2, epoch=-1)
        check(err == INVALID_REQUEST, "InitProducerId v4 with an id but no epoch: INVALID_REQUEST", err)
        err, pid, _ = w.init_pid("")
        check(err == INVALID_REQUEST and pid == -1, "InitProducerId with an empty transactional id: INVALID_REQUEST",
              err)
        err, pid, epoch = w.init_pid("orders-tx")
        check(err == NONE and pid > p3 and epoch == 0,
              "InitProducerId with transactional id 'orders-tx': a new producer id %d, epoch 0" % pid, (err, epoch))

        topic = "idem-wire"
        kclient.create_topic(b.bootstrap, topic, 1)
        P = p1

        def produce(epoch, seq, n, tag, pid=None, attributes=0):
            return w.produce(topic, 0, batch(P if pid is None else pid, epoch, seq, n, tag, attributes))

        check(produce(0, 0, 3, "a") == (NONE, 0), "seq 0-2 appended at offset 0")
        check(produce(0, 3, 2, "b") == (NONE, 3), "seq 3-4 appended at offset 3")
        check(produce(0, 0, 3, "a") == (NONE, 0), "a retry of seq 0-2: NONE with its original offset 0")
        check(produce(0, 7, 1, "gap")[0] == OUT_OF_ORDER, "seq 7 after 4: OUT_OF_ORDER_SEQUENCE_NUMBER")
        check(produce(0, 3, 1, "partial")[0] == OUT_OF_ORDER,
              "seq 3 alone (not a batch sent before): OUT_OF_ORDER_SEQUENCE_NUMBER")
        off = 5
        seq = 5
        for k in range(6):
            check(produce(0, seq, 1, "c%d" % k) == (NONE, off), "seq %d appended at offset %d" % (seq, off))
            seq += 1
            off += 1
        check(produce(0, 6, 1, "c1") == (NONE, 6), "a retry of the fifth-last batch: its offset 6")
        check(produce(0, 5, 1, "c0")[0] == OUT_OF_ORDER,
              "a retry of the sixth-last batch (out of the window): OUT_OF_ORDER_SEQUENCE_NUMBER")
        check(produce(0, 0, 1, "neg", attributes=0)[0] == OUT_OF_ORDER, "seq 0 again: OUT_OF_ORDER_SEQUENCE_NUMBER")
        check(produce(1, 3, 1, "e1")[0] == OUT_OF_ORDER, "a new epoch starting at seq 3: OUT_OF_ORDER_SEQUENCE_NUMBER")
        check(produce(1, 0, 2, "e1") == (NONE, 11), "a new epoch at seq 0: appended at offset 11")
        check(produce(0, 11, 1, "old")[0] == INVALID_EPOCH, "the old epoch: INVALID_PRODUCER_EPOCH")
        check(produce(0, 5, 1, "c0")[0] == INVALID_EPOCH,
              "a retry from the old epoch: INVALID_PRODUCER_EPOCH, not a duplicate")
        check(produce(0, 1234, 2, "u", pid=p3) == (NONE, 13),
              "an unknown producer id at seq 1234: accepted (KIP-360)")
        check(produce(0, 1236, 1, "u2", pid=p3) == (NONE, 15), "and continues at seq 1236")
        check(produce(1, 2, 1, "tx", attributes=0x10)[0] == INVALID_TXN_STATE,
              "a transactional batch: INVALID_TXN_STATE")
        check(produce(1, 2, 1, "ctl", attributes=0x20)[0] == INVALID_RECORD, "a control batch: INVALID_RECORD")
        two = batch(P, 1, 2, 1, "two") + batch(P, 1, 3, 1, "three")
        check(w.produce(topic, 0, two)[0] == INVALID_RECORD, "two batches in one partition: INVALID_RECORD")
        check(produce(1, -1, 1, "noseq")[0] == INVALID_RECORD, "producer id with sequence -1: INVALID_RECORD")
        check(kclient.watermarks(b.bootstrap, topic, 0)[1] == 16, "nothing refused was appended (end offset 16)")
        w.close()

        # A clean restart: the state comes back from the snapshot written at close.
        b.stop()
        snaps = [f for f in os.listdir(b.partition_dir(topic, 0)) if f.endswith(".snapshot")]
        check(snaps == ["%020d.snapshot" % 16], "clean shutdown wrote the producer snapshot at offset 16", snaps)
        b.start()
        check(not b.grep_log(r"idem-wire-0: producer state:.*replayed"),
              "restart loaded the producer state from the snapshot, replaying nothing from the log")
        check(produce(1, 0, 2, "e1") == (NONE, 11), "after a clean restart: the retry is answered with offset 11")
        check(produce(0, 1236, 1, "u2", pid=p3) == (NONE, 15), "and the other producer's retry with offset 15")
        check(produce(1, 2, 1, "d") == (NONE, 16), "and the sequence continues at offset 16")
        w.close()

        # kill -9: no new snapshot, the batches after the old one are replayed from the log.
        b.kill9()
        b.start()
        check(b.grep_log(r"idem-wire-0: producer state: 2 producers \(snapshot at 16, replayed 1 batches"),
              "after kill -9: snapshot at 16 plus 1 batch replayed from the log")
        check(produce(1, 2, 1, "d") == (NONE, 16), "after kill -9: the retry is answered with offset 16")
        check(produce(1, 3, 1, "e") == (NONE, 17), "and the sequence continues at offset 17")
        check(produce(1, 2, 1, "d") == (NONE, 16), "the earlier batch is still a duplicate")
        err, p4, _ = w.init_pid()
        check(err == NONE and p4 > p3, "a producer id after the restarts (%d) is above all earlier ones" % p4)
        w.close()
        recs = kclient.read_partition(b.bootstrap, topic, 0)
        vals = [m.value() for m in recs]
        expect = [b"a-0", b"a-1", b"a-2", b"b-0", b"b-1"] + [b"c%d-0" % k for k in range(6)]
        expect += [b"e1-0", b"e1-1", b"u-0", b"u-1", b"u2-0", b"d-0", b"e-0"]
        check(vals == expect, "the partition holds each accepted batch once, in order (18 records)", vals)


main(test)
