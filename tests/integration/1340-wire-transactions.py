#!/usr/bin/python3
"""Transactions at the wire level (raw sockets, python3 stdlib), with the exact answers
Kafka gives, for the paths real clients rarely show:

 1. ApiVersions lists AddPartitionsToTxn, AddOffsetsToTxn, EndTxn (up to v5),
    TxnOffsetCommit, DescribeProducers, DescribeTransactions, ListTransactions;
    FindCoordinator(key type transaction) names this broker.
 2. KIP-890 verification: a transactional batch to a partition that was not added to
    the transaction is refused with INVALID_TXN_STATE and not appended.
 3. An open transaction: ListOffsets isolation_level 1 gives the LSO (first offset of
    the open transaction) while latest (isolation 0) gives the high watermark; a
    read_committed Fetch stops below the LSO and reports it; DescribeProducers shows
    the producer with its epoch, last sequence and transaction start offset;
    DescribeTransactions and ListTransactions (state and producer id filters, an
    unknown state filter echoed back) describe it.
 4. Commit (EndTxn v3): a read_committed long poll parked at the LSO wakes on it; a
    commit control batch on every partition of the transaction, LSO = high watermark;
    a retried commit is NONE, an abort after it INVALID_TXN_STATE; a batch to the
    partition after the commit, without adding it again, INVALID_TXN_STATE (no hanging
    transaction). A non-transactional batch from a producer whose transaction is open:
    INVALID_TXN_STATE. Abort: an abort marker, and a read_committed Fetch lists the
    aborted transaction (producer id, first offset) for any fetch range that overlaps
    it, none after it.
 5. Fencing (TV1): InitProducerId for the same transactional id while a transaction is
    open aborts that transaction and bumps the epoch; the old epoch then gets
    PRODUCER_FENCED from AddPartitionsToTxn/EndTxn v3, INVALID_PRODUCER_EPOCH from their
    v1 (what older clients understand) and from Produce.
 6. Transaction version 2 (EndTxn v5): the answer carries the bumped epoch, the marker is
    written with it; a re-sent EndTxn with the old epoch for the same outcome is NONE,
    for the other outcome INVALID_TXN_STATE; once the next transaction has begun, a
    delayed EndTxn with the old epoch (commit or abort) is PRODUCER_FENCED and the new
    transaction stays open (the hanging/mixed-up transaction Jepsen found is impossible).
 7. transaction.timeout.ms = 1000 with a 200 ms abort check: the coordinator aborts the
    open transaction (epoch bumped), the LSO moves past it, read_committed lists it as
    aborted, and the producer's next AddPartitionsToTxn / EndTxn are PRODUCER_FENCED,
    its next Produce INVALID_PRODUCER_EPOCH.
 8. AddOffsetsToTxn + TxnOffsetCommit: the offset is invisible to OffsetFetch until the
    commit (require_stable gives UNSTABLE_OFFSET_COMMIT meanwhile), applied on commit,
    dropped on abort; without AddOffsetsToTxn it is INVALID_TXN_STATE. Error answers
    (INVALID_TRANSACTION_TIMEOUT, INVALID_PRODUCER_ID_MAPPING, INVALID_TXN_STATE on Empty,
    UNKNOWN_TOPIC_OR_PARTITION + OPERATION_NOT_ATTEMPTED). Two transactions interleaved
    on one partition: the LSO is the older one's first offset, then the younger's; a
    partition added but never written still gets its marker and no aborted entry.
 9. __transaction_state is durable: after a clean restart an open transaction is still
    open (same epoch and partitions, LSO still held), accepts more records and commits,
    and one whose timeout runs out after the restart is aborted; after kill -9 an open
    transaction is still open (LSO, DescribeProducers rebuilt from the log, a retry
    deduplicated) and commits, and one killed right behind its EndTxn answer is
    completed (markers on all 25 partitions, its transactional offset applied);
    pending transactional offsets survive the replay; InitProducerId keeps the producer
    id and bumps the epoch.
10. transactional.id.expiration.ms: an idle id is removed (TRANSACTIONAL_ID_NOT_FOUND,
    also after a restart; InitProducerId then gives a new producer id), one with an open
    transaction is not."""
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
from kwire import arr, carr, compact_string, i8, i16, i32, i64, string, uvarint  # noqa: E402

FETCH, LIST_OFFSETS, OFFSET_FETCH, FIND_COORDINATOR = 1, 2, 9, 10
API_VERSIONS, ADD_PARTITIONS, ADD_OFFSETS, END_TXN = 18, 24, 25, 26
TXN_OFFSET_COMMIT, DESCRIBE_PRODUCERS, DESCRIBE_TXNS, LIST_TXNS = 28, 61, 65, 66

NONE, UNKNOWN_TOPIC, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, INVALID_PID_MAPPING = 0, 3, 47, 48, 49
INVALID_TXN_TIMEOUT, CONCURRENT_TXNS, OPERATION_NOT_ATTEMPTED = 50, 51, 55
UNSTABLE_OFFSET_COMMIT, PRODUCER_FENCED, TXN_ID_NOT_FOUND = 88, 90, 105

TRANSACTIONAL, CONTROL = 0x10, 0x20
TOPIC = "tw"
MANY = 24  # partitions of twmany, all in one transaction killed mid-completion


# ---- reading responses ------------------------------------------------------------

def batches_of(data):
    """Every whole batch of a Fetch records field as a dict: base, last, attributes,
    pid, epoch, seq, records [(offset, key, value)], and for control batches
    marker = 'commit' | 'abort' and coordinator_epoch."""
    out = []
    for h in kwire.parse_batches(data or b""):
        if "torn_at" in h:
            break  # a partial batch at the end of a fetch is normal
        base, attrs = h["base_offset"], h["attributes"]
        if attrs & 0x07:
            raise TestFailure("batch at %d is compressed (attributes %#x); this test sends none" % (base, attrs))
        d = {"base": base, "last": base + h["last_offset_delta"], "attributes": attrs, "pid": h["producer_id"],
             "epoch": h["producer_epoch"], "seq": h["base_sequence"],
             "records": kwire.batch_records(data[h["pos"]:h["pos"] + h["size"]])}
        if attrs & CONTROL:
            _, key, value = d["records"][0]
            kver, ktype = struct.unpack(">hh", key[:4])
            vver, cepoch = struct.unpack(">hi", value[:6])
            d["marker"] = {0: "abort", 1: "commit"}.get(ktype, "type %d" % ktype)
            d["coordinator_epoch"] = cepoch
            d["marker_versions"] = (kver, vver)
        out.append(d)
    return out


def values(batches):
    """Data record values (control batches left out) in offset order, as str."""
    return [v.decode() for b in batches if not b["attributes"] & CONTROL for _, _, v in b["records"]]


def txn_batch(pid, epoch, seq, vals, transactional=True):
    return kwire.build_batch([v.encode() for v in vals], producer_id=pid, producer_epoch=epoch, base_seq=seq,
                             attributes=TRANSACTIONAL if transactional else 0)


# ---- the raw client ------------------------------------------------------------------

def poll(fn, done, wait=15, pause=0.05):
    """fn() again until done(its answer) or wait seconds are over; the last answer."""
    deadline = time.monotonic() + wait
    while True:
        res = fn()
        if done(res) or time.monotonic() > deadline:
            return res
        time.sleep(pause)


class Wire(kwire.Client):
    def __init__(self, broker):
        super().__init__(broker.port)
        self.b = broker

    def api_versions(self):
        r = self.call(API_VERSIONS, 0, b"")
        err = r.i16()
        out = {}
        for _ in range(r.i32()):
            k, lo, hi = r.i16(), r.i16(), r.i16()
            out[k] = (lo, hi)
        return err, out

    def find_coordinator(self, key, key_type=1):
        r = self.call(FIND_COORDINATOR, 1, string(key) + i8(key_type))
        r.i32()
        err = r.i16()
        r.str()
        return err, r.i32(), r.str(), r.i32()

    def init_pid_retry(self, txn_id, timeout_ms=60000, wait=15):
        """InitProducerId, retried while CONCURRENT_TRANSACTIONS (as clients do);
        returns (error, pid, epoch, number of CONCURRENT_TRANSACTIONS answers)."""
        answers = []

        def once():
            answers.append(self.init_pid(txn_id, timeout_ms))
            return answers[-1]

        err, pid, epoch = poll(once, lambda res: res[0] != CONCURRENT_TXNS, wait)
        return err, pid, epoch, len(answers) - 1

    def add_partitions(self, txn_id, pid, epoch, parts):
        """AddPartitionsToTxn v3 (flexible); parts {topic: [partition]} -> {(t, p): error}."""
        body = compact_string(txn_id) + i64(pid) + i16(epoch) + kwire.topic_partitions(parts, flexible=True)
        r = self.call(ADD_PARTITIONS, 3, body + uvarint(0), flexible=True)
        r.i32()
        return r.partition_errors(flexible=True)

    def add_partitions_v1(self, txn_id, pid, epoch, parts):
        """AddPartitionsToTxn v1, as kafkajs and librdkafka send it -> {(t, p): error}."""
        r = self.call(ADD_PARTITIONS, 1, string(txn_id) + i64(pid) + i16(epoch) + kwire.topic_partitions(parts))
        r.i32()
        return r.partition_errors()

    def end_txn_v1(self, txn_id, pid, epoch, commit):
        r = self.call(END_TXN, 1, string(txn_id) + i64(pid) + i16(epoch) + i8(1 if commit else 0))
        r.i32()
        return r.i16()

    def add_partitions_ok(self, txn_id, pid, epoch, parts, what):
        res = self.add_partitions(txn_id, pid, epoch, parts)
        want = {(t, p): NONE for t, ps in parts.items() for p in ps}
        check(res == want, "%s: AddPartitionsToTxn %s -> NONE" % (what, sorted(want)), res)

    def add_offsets(self, txn_id, pid, epoch, group):
        r = self.call(ADD_OFFSETS, 3, compact_string(txn_id) + i64(pid) + i16(epoch) + compact_string(group)
                      + uvarint(0), flexible=True)
        r.i32()
        return r.i16()

    def txn_offset_commit(self, txn_id, group, pid, epoch, offsets):
        """TxnOffsetCommit v3, no generation (a standalone committer); offsets {(t, p): offset}."""
        by_topic = {}
        for (t, p), o in offsets.items():
            by_topic.setdefault(t, []).append((p, o))
        body = compact_string(txn_id) + compact_string(group) + i64(pid) + i16(epoch) + i32(-1)
        body += compact_string("") + compact_string(None)
        body += carr([compact_string(t) + carr([i32(p) + i64(o) + i32(-1) + compact_string("") + uvarint(0)
                                                for p, o in ps]) + uvarint(0) for t, ps in by_topic.items()])
        r = self.call(TXN_OFFSET_COMMIT, 3, body + uvarint(0), flexible=True)
        r.i32()
        return r.partition_errors(flexible=True)

    def end_txn(self, txn_id, pid, epoch, commit, version=3):
        """EndTxn v3 or v5 -> (error, producer id, epoch) (the last two -1 below v5)."""
        body = compact_string(txn_id) + i64(pid) + i16(epoch) + i8(1 if commit else 0) + uvarint(0)
        r = self.call(END_TXN, version, body, flexible=True)
        r.i32()
        err = r.i16()
        if version >= 5:
            return err, r.i64(), r.i16()
        return err, -1, -1

    def end_txn_retry(self, txn_id, pid, epoch, commit, version=3, wait=15):
        return poll(lambda: self.end_txn(txn_id, pid, epoch, commit, version),
                    lambda res: res[0] != CONCURRENT_TXNS, wait)

    def send(self, batch, partition, txn_id=None, topic=TOPIC):
        """Produce v3, acks=all, to TOPIC unless told -> (error, base offset)."""
        return self.produce(topic, partition, batch, txn_id)

    def fetch(self, partition, offset, isolation, topic=TOPIC, max_bytes=1 << 20, max_wait=0):
        """Fetch v4 -> dict(error, hw, lso, aborted [(pid, first offset)] or None, batches)."""
        body = i32(-1) + i32(max_wait) + i32(1 if max_wait else 0) + i32(max_bytes) + i8(isolation)
        body += arr([string(topic) + arr([i32(partition) + i64(offset) + i32(max_bytes)])])
        r = self.call(FETCH, 4, body)
        r.i32()
        r.i32()
        r.str()
        r.i32()
        r.i32()
        out = {"error": r.i16(), "hw": r.i64(), "lso": r.i64()}
        n = r.i32()
        out["aborted"] = None if n < 0 else [(r.i64(), r.i64()) for _ in range(n)]
        out["batches"] = batches_of(r.bytes() or b"")
        return out

    def list_offset(self, partition, isolation, topic=TOPIC):
        """ListOffsets v2 latest -> (error, offset)."""
        body = i32(-1) + i8(isolation) + arr([string(topic) + arr([i32(partition) + i64(-1)])])
        r = self.call(LIST_OFFSETS, 2, body)
        r.i32()
        r.i32()
        r.str()
        r.i32()
        r.i32()
        err = r.i16()
        r.i64()
        return err, r.i64()

    def describe_txns(self, ids):
        r = self.call(DESCRIBE_TXNS, 0, carr([compact_string(x) for x in ids]) + uvarint(0), flexible=True)
        r.i32()
        out = {}
        for _ in range(r.carr()):
            d = {"error": r.i16()}
            tid = r.cstr()
            d.update(state=r.cstr(), timeout=r.i32(), start=r.i64(), pid=r.i64(), epoch=r.i16())
            topics = {}
            for _ in range(r.carr()):
                t = r.cstr()
                topics[t] = sorted(r.i32() for _ in range(r.carr()))
                r.tags()
            d["topics"] = topics
            r.tags()
            out[tid] = d
        return out

    def describe_txn(self, tid):
        return self.describe_txns([tid])[tid]

    def wait_state(self, tid, state, wait=15):
        return poll(lambda: self.describe_txn(tid), lambda d: d["state"] == state, wait)

    def wait_stable(self, partition, wait=10):
        """Waits until the LSO of TOPIC-partition reaches its high watermark (the markers
        of every transaction on it written)."""
        poll(lambda: (self.list_offset(partition, 1)[1], self.list_offset(partition, 0)[1]),
             lambda lso_hw: lso_hw[0] == lso_hw[1], wait)

    def list_txns(self, states=(), pids=()):
        body = carr([compact_string(s) for s in states]) + carr([i64(p) for p in pids]) + uvarint(0)
        r = self.call(LIST_TXNS, 0, body, flexible=True)
        r.i32()
        err = r.i16()
        unknown = [r.cstr() for _ in range(r.carr())]
        txns = {}
        for _ in range(r.carr()):
            tid = r.cstr()
            pid = r.i64()
            txns[tid] = (pid, r.cstr())
            r.tags()
        return err, unknown, txns

    def describe_producers(self, partition, topic=TOPIC):
        body = carr([compact_string(topic) + carr([i32(partition)]) + uvarint(0)]) + uvarint(0)
        r = self.call(DESCRIBE_PRODUCERS, 0, body, flexible=True)
        r.i32()
        out = None
        for _ in range(r.carr()):
            r.cstr()
            for _ in range(r.carr()):
                p = {"partition": r.i32(), "error": r.i16(), "message": r.cstr(), "producers": {}}
                for _ in range(r.carr()):
                    pid = r.i64()
                    p["producers"][pid] = {"epoch": r.i32(), "last_seq": r.i32(), "last_ts": r.i64(),
                                           "coordinator_epoch": r.i32(), "txn_start": r.i64()}
                    r.tags()
                r.tags()
                out = p
            r.tags()
        return out

    def offset_fetch(self, group, topic, partition, require_stable):
        """OffsetFetch v7 -> (top error, partition error, committed offset)."""
        body = compact_string(group) + carr([compact_string(topic) + carr([i32(partition)]) + uvarint(0)])
        body += i8(1 if require_stable else 0) + uvarint(0)
        r = self.call(OFFSET_FETCH, 7, body, flexible=True)
        r.i32()
        perr, off = None, None
        for _ in range(r.carr()):
            r.cstr()
            for _ in range(r.carr()):
                r.i32()
                off = r.i64()
                r.i32()
                r.cstr()
                perr = r.i16()
                r.tags()
            r.tags()
        return r.i16(), perr, off


# ---- the test --------------------------------------------------------------------------

def markers(batches, pid):
    return [(b["base"], b["marker"], b["epoch"]) for b in batches if b["attributes"] & CONTROL and b["pid"] == pid]


def check_verification_and_open_txn(w, b):
    """Sections 1-3. Returns (pid, epoch) of tx-a with its transaction still open."""
    err, apis = w.api_versions()
    want = {ADD_PARTITIONS: 3, ADD_OFFSETS: 3, END_TXN: 5, TXN_OFFSET_COMMIT: 3, DESCRIBE_PRODUCERS: 0,
            DESCRIBE_TXNS: 0, LIST_TXNS: 0}
    missing = {k: apis.get(k) for k, v in want.items() if k not in apis or apis[k][1] < v}
    log("ApiVersions: %s" % {k: apis.get(k) for k in sorted(want)})
    check(err == NONE and not missing, "ApiVersions: every transaction API, EndTxn up to v5 (TV2)", missing)
    err, node, host, port = w.find_coordinator("tx-a")
    check((err, host, port) == (NONE, "127.0.0.1", b.port),
          "FindCoordinator(transaction, tx-a): this broker (node %d)" % node, (err, host, port))

    err, pid, epoch = w.init_pid("tx-a")
    check(err == NONE and pid >= 0 and epoch == 0, "InitProducerId(tx-a): producer id %d, epoch 0" % pid,
          (err, pid, epoch))
    d = w.describe_txn("tx-a")
    check((d["error"], d["state"], d["pid"], d["epoch"], d["timeout"], d["topics"]) ==
          (NONE, "Empty", pid, 0, 60000, {}),
          "DescribeTransactions(tx-a) after InitProducerId: Empty, epoch 0, timeout 60000, no partitions", d)

    # KIP-890: nothing added yet, so a transactional batch is refused.
    check(w.send(txn_batch(pid, epoch, 0, ["early"]), 0, "tx-a")[0] == INVALID_TXN_STATE,
          "transactional Produce to %s-0 before AddPartitionsToTxn: INVALID_TXN_STATE" % TOPIC)
    check(w.list_offset(0, 0) == (NONE, 0), "... and nothing was appended (high watermark 0)")

    check(w.send(kwire.build_batch([b"plain-0"]), 0) == (NONE, 0), "a plain record at offset 0")
    w.add_partitions_ok("tx-a", pid, epoch, {TOPIC: [0, 1]}, "tx-a")
    t_begin = int(time.time() * 1000)
    check(w.send(txn_batch(pid, epoch, 0, ["a1", "a2", "a3"]), 0, "tx-a") == (NONE, 1),
          "transactional batch of 3 (seq 0) at offset 1 of partition 0")
    check(w.send(txn_batch(pid, epoch, 0, ["a4", "a5"]), 1, "tx-a") == (NONE, 0),
          "transactional batch of 2 (seq 0) at offset 0 of partition 1")
    check(w.send(kwire.build_batch([b"plain-1"]), 0) == (NONE, 4),
          "a plain record at offset 4 while the transaction is open")
    res = w.send(txn_batch(pid, epoch, 3, ["not-txn"], transactional=False), 0, "tx-a")
    check(res[0] == INVALID_TXN_STATE,
          "a non-transactional batch from the producer while its transaction is open: INVALID_TXN_STATE", res)

    # The open transaction holds the LSO at its first offset.
    check(w.list_offset(0, 0) == (NONE, 5), "ListOffsets latest, read_uncommitted: the high watermark 5")
    check(w.list_offset(0, 1) == (NONE, 1), "ListOffsets latest, read_committed: the LSO 1 (the open transaction)")
    f = w.fetch(0, 0, 1)
    check((f["error"], f["hw"], f["lso"], f["aborted"]) == (NONE, 5, 1, []),
          "Fetch read_committed: high watermark 5, last_stable_offset 1, aborted_transactions []",
          {k: f[k] for k in ("error", "hw", "lso", "aborted")})
    check(values(f["batches"]) == ["plain-0"] and all(x["last"] < 1 for x in f["batches"]),
          "... and only the batch below the LSO is returned", values(f["batches"]))
    f = w.fetch(0, 0, 0)
    check(values(f["batches"]) == ["plain-0", "a1", "a2", "a3", "plain-1"] and f["lso"] == 1,
          "Fetch read_uncommitted: all 5 records (last_stable_offset 1)", (values(f["batches"]), f["lso"]))
    check(all(x["attributes"] & TRANSACTIONAL for x in f["batches"] if x["pid"] == pid),
          "the transactional batches carry the transactional attribute")

    p = w.describe_producers(0)
    st = p and p["producers"].get(pid)
    check(p is not None and p["error"] == NONE and st is not None and list(p["producers"]) == [pid],
          "DescribeProducers %s-0: exactly one active producer, %d" % (TOPIC, pid), p)
    check((st["epoch"], st["last_seq"], st["txn_start"]) == (0, 2, 1),
          "... epoch 0, last sequence 2, current transaction start offset 1", st)
    check(abs(st["last_ts"] - t_begin) < 60000, "... last timestamp is the batch's (%d)" % st["last_ts"])

    d = w.describe_txn("tx-a")
    check((d["error"], d["state"], d["pid"], d["epoch"], d["topics"]) == (NONE, "Ongoing", pid, 0, {TOPIC: [0, 1]}),
          "DescribeTransactions(tx-a): Ongoing, epoch 0, partitions %s-0 and -1" % TOPIC, d)
    check(abs(d["start"] - t_begin) < 10000, "... transaction start time is when the first partition was added",
          (d["start"], t_begin))
    err, unknown, txns = w.list_txns(["Ongoing"])
    check(err == NONE and unknown == [] and txns.get("tx-a") == (pid, "Ongoing"),
          "ListTransactions(state Ongoing) lists tx-a", (err, unknown, txns))
    err, unknown, txns = w.list_txns(["CompleteCommit", "NoSuchState"])
    check(err == NONE and unknown == ["NoSuchState"] and "tx-a" not in txns,
          "ListTransactions(CompleteCommit, NoSuchState): tx-a not listed, NoSuchState echoed as unknown",
          (err, unknown, txns))
    err, unknown, txns = w.list_txns(pids=[pid])
    check(err == NONE and set(txns) == {"tx-a"}, "ListTransactions(producer id %d): only tx-a" % pid, txns)
    p = w.describe_producers(0, topic="no-such-topic")
    check(p is not None and p["error"] == UNKNOWN_TOPIC, "DescribeProducers of an unknown topic: "
          "UNKNOWN_TOPIC_OR_PARTITION", p)
    d = w.describe_txns(["no-such-txn"])["no-such-txn"]
    check(d["error"] == TXN_ID_NOT_FOUND, "DescribeTransactions(unknown id): TRANSACTIONAL_ID_NOT_FOUND", d)
    return pid, epoch


def check_commit_abort(w, pid, epoch):
    """Section 4: commit tx-a's open transaction, then an aborted one."""
    # A read_committed long poll at the LSO parks (nothing below it) and wakes on the commit.
    w2 = Wire(w.b)
    parked = {}

    def long_poll():
        parked["res"] = w2.fetch(0, 1, 1, max_wait=8000)
        parked["at"] = time.monotonic()

    th = threading.Thread(target=long_poll)
    th.start()
    time.sleep(0.5)
    check("res" not in parked, "a read_committed Fetch at the LSO (offset 1, max_wait 8 s) waits")
    t_end = time.monotonic()
    check(w.end_txn("tx-a", pid, epoch, True) == (NONE, -1, -1), "EndTxn v3 commit: NONE")
    th.join(15)
    w2.close()
    f = parked.get("res")
    check(f is not None and parked["at"] - t_end < 2.0 and values(f["batches"])[:3] == ["a1", "a2", "a3"],
          "... and returns the committed records %.2f s after the commit (woken, not timed out)"
          % (parked.get("at", 0) - t_end), f and values(f["batches"]))
    d = w.wait_state("tx-a", "CompleteCommit")
    check((d["state"], d["epoch"], d["topics"]) == ("CompleteCommit", 0, {}),
          "DescribeTransactions: CompleteCommit, epoch 0 (TV1), no partitions any more", d)
    check(w.end_txn("tx-a", pid, epoch, True)[0] == NONE, "EndTxn v3 commit again (a retry): NONE")
    check(w.end_txn("tx-a", pid, epoch, False)[0] == INVALID_TXN_STATE,
          "EndTxn v3 abort after the commit: INVALID_TXN_STATE")

    f = w.fetch(0, 0, 1)
    check((f["hw"], f["lso"], f["aborted"]) == (6, 6, []),
          "partition 0 after the commit: high watermark 6 (5 records + marker), LSO 6, nothing aborted",
          {k: f[k] for k in ("hw", "lso", "aborted")})
    check(values(f["batches"]) == ["plain-0", "a1", "a2", "a3", "plain-1"],
          "read_committed now returns the committed records", values(f["batches"]))
    ctl = [x for x in f["batches"] if x["attributes"] & CONTROL]
    check(len(ctl) == 1 and ctl[0]["base"] == 5 and ctl[0]["marker"] == "commit" and ctl[0]["pid"] == pid
          and ctl[0]["epoch"] == 0 and ctl[0]["attributes"] & TRANSACTIONAL and ctl[0]["seq"] == -1
          and ctl[0]["marker_versions"] == (0, 0) and ctl[0]["coordinator_epoch"] >= 0,
          "a COMMIT control batch at offset 5 (transactional|control, pid, epoch 0, sequence -1, "
          "key/value version 0)", ctl)
    f1 = w.fetch(1, 0, 1)
    check((f1["hw"], f1["lso"]) == (3, 3) and markers(f1["batches"], pid) == [(2, "commit", 0)]
          and values(f1["batches"]) == ["a4", "a5"],
          "partition 1: a4, a5 and a COMMIT marker at offset 2", (f1["hw"], f1["lso"], f1["batches"]))
    st = w.describe_producers(0)["producers"].get(pid)
    check(st is not None and st["txn_start"] == -1 and st["coordinator_epoch"] == ctl[0]["coordinator_epoch"],
          "DescribeProducers: no open transaction (start offset -1), the marker's coordinator epoch", st)
    err, _, txns = w.list_txns(["CompleteCommit"])
    check(txns.get("tx-a") == (pid, "CompleteCommit"), "ListTransactions(CompleteCommit) lists tx-a", txns)

    # KIP-890: the partition left the transaction with its marker; writing to it again
    # without adding it (a late or stray batch) must not start a hanging transaction.
    res = w.send(txn_batch(pid, epoch, 3, ["stray"]), 0, "tx-a")
    check(res[0] == INVALID_TXN_STATE, "a transactional batch after the commit, partition not added again: "
          "INVALID_TXN_STATE", res)
    check(w.list_offset(0, 0) == (NONE, 6) and w.list_offset(0, 1) == (NONE, 6),
          "... nothing appended, no transaction opened (LSO = high watermark 6)")
    # An aborted transaction on partition 0: offsets 6-7, marker at 8.
    w.add_partitions_ok("tx-a", pid, epoch, {TOPIC: [0]}, "tx-a, second transaction")
    check(w.send(txn_batch(pid, epoch, 3, ["b1", "b2"]), 0, "tx-a") == (NONE, 6),
          "transactional batch of 2 (seq 3, same epoch) at offset 6")
    check(w.end_txn("tx-a", pid, epoch, False)[0] == NONE, "EndTxn v3 abort: NONE")
    d = w.wait_state("tx-a", "CompleteAbort")
    check(d["state"] == "CompleteAbort", "DescribeTransactions: CompleteAbort", d)
    f = w.fetch(0, 0, 1)
    check((f["hw"], f["lso"], f["aborted"]) == (9, 9, [(pid, 6)]),
          "read_committed from 0: high watermark 9, LSO 9, aborted_transactions [(%d, 6)]" % pid,
          {k: f[k] for k in ("hw", "lso", "aborted")})
    check(markers(f["batches"], pid) == [(5, "commit", 0), (8, "abort", 0)],
          "an ABORT control batch at offset 8", markers(f["batches"], pid))
    f = w.fetch(0, 7, 1)
    check(f["aborted"] == [(pid, 6)], "read_committed from offset 7 (inside it): the aborted transaction listed",
          f["aborted"])
    f = w.fetch(0, 9, 1)
    check(f["aborted"] == [] and f["batches"] == [], "read_committed from offset 9 (after it): nothing aborted",
          f["aborted"])
    f = w.fetch(0, 0, 0)
    check(f["aborted"] is None or f["aborted"] == [],
          "read_uncommitted: no aborted_transactions (null)", f["aborted"])


def check_fencing_tv1(w, pid):
    """Section 5: a second InitProducerId fences the first producer's open transaction."""
    w.add_partitions_ok("tx-a", pid, 0, {TOPIC: [2]}, "tx-a, third transaction")
    check(w.send(txn_batch(pid, 0, 0, ["c1", "c2"]), 2, "tx-a") == (NONE, 0),
          "transactional batch at offset 0 of partition 2")
    err, pid2, epoch2, busy = w.init_pid_retry("tx-a")
    check(err == NONE and pid2 == pid and epoch2 == 2,
          "InitProducerId(tx-a) again: same producer id, epoch 2 (1 to fence and abort, 1 for the new "
          "producer; after %d CONCURRENT_TRANSACTIONS answers)" % busy, (err, pid2, epoch2))
    d = w.describe_txn("tx-a")
    check((d["state"], d["epoch"]) == ("Empty", epoch2), "DescribeTransactions: Empty at epoch %d" % epoch2, d)
    f = w.fetch(2, 0, 1)
    mk = markers(f["batches"], pid)
    check(f["lso"] == f["hw"] == 3 and f["aborted"] == [(pid, 0)] and mk == [(2, "abort", 1)]
          and values(f["batches"]) == ["c1", "c2"],
          "the fenced transaction was aborted: ABORT marker at offset 2 with the fencing epoch 1, listed as aborted",
          (f["lso"], f["hw"], f["aborted"], mk))
    res = w.add_partitions("tx-a", pid, 0, {TOPIC: [1]})
    check(res == {(TOPIC, 1): PRODUCER_FENCED}, "old epoch 0: AddPartitionsToTxn v3 -> PRODUCER_FENCED", res)
    check(w.end_txn("tx-a", pid, 0, True)[0] == PRODUCER_FENCED, "old epoch 0: EndTxn v3 commit -> PRODUCER_FENCED")
    # Kafka answers requests older than v2 INVALID_PRODUCER_EPOCH instead (clients then did not know 90)
    res = w.add_partitions_v1("tx-a", pid, 0, {TOPIC: [1]})
    check(res == {(TOPIC, 1): INVALID_PRODUCER_EPOCH}, "old epoch 0: AddPartitionsToTxn v1 -> INVALID_PRODUCER_EPOCH",
          res)
    check(w.end_txn_v1("tx-a", pid, 0, True) == INVALID_PRODUCER_EPOCH,
          "old epoch 0: EndTxn v1 commit -> INVALID_PRODUCER_EPOCH")
    check(w.send(txn_batch(pid, 0, 2, ["zombie"]), 2, "tx-a")[0] == INVALID_PRODUCER_EPOCH,
          "old epoch 0: Produce -> INVALID_PRODUCER_EPOCH")
    check(w.list_offset(2, 0) == (NONE, 3), "... and nothing was appended")
    return epoch2


def check_tv2(w):
    """Section 6: EndTxn v5 bumps the epoch; a delayed old-epoch EndTxn cannot end the next transaction."""
    err, q, e0 = w.init_pid("tx-v2")
    check(err == NONE and e0 == 0, "InitProducerId(tx-v2): producer id %d, epoch 0" % q, (err, e0))
    base = w.list_offset(1, 0)[1]
    w.add_partitions_ok("tx-v2", q, 0, {TOPIC: [1]}, "tx-v2")
    check(w.send(txn_batch(q, 0, 0, ["d1", "d2"]), 1, "tx-v2") == (NONE, base),
          "TV2 transaction 1 at epoch 0: 2 records at offset %d of partition 1" % base)
    res = w.end_txn("tx-v2", q, 0, True, version=5)
    check(res == (NONE, q, 1), "EndTxn v5 commit: NONE with producer id %d, epoch 1 (bumped)" % q, res)
    d = w.wait_state("tx-v2", "CompleteCommit")
    check((d["state"], d["epoch"]) == ("CompleteCommit", 1), "DescribeTransactions: CompleteCommit at epoch 1", d)
    f = w.fetch(1, base, 1)
    check(markers(f["batches"], q) == [(base + 2, "commit", 1)],
          "the COMMIT marker carries the bumped epoch 1", markers(f["batches"], q))
    res = w.end_txn("tx-v2", q, 0, True, version=5)
    check(res == (NONE, q, 1), "EndTxn v5 commit re-sent with the old epoch 0: NONE, epoch 1 (a retry)", res)
    res = w.end_txn("tx-v2", q, 0, False, version=5)
    check(res[0] == INVALID_TXN_STATE, "EndTxn v5 abort with the old epoch 0 after that commit: INVALID_TXN_STATE",
          res)

    w.add_partitions_ok("tx-v2", q, 1, {TOPIC: [1]}, "tx-v2 at epoch 1")
    check(w.send(txn_batch(q, 1, 0, ["e1"]), 1, "tx-v2") == (NONE, base + 3),
          "TV2 transaction 2 at epoch 1 (seq 0): 1 record at offset %d" % (base + 3))
    for commit in (True, False):
        res = w.end_txn("tx-v2", q, 0, commit, version=5)
        check(res[0] == PRODUCER_FENCED,
              "a delayed EndTxn v5 %s with the old epoch 0 during transaction 2: PRODUCER_FENCED"
              % ("commit" if commit else "abort"), res)
    d = w.describe_txn("tx-v2")
    check((d["state"], d["epoch"], d["topics"]) == ("Ongoing", 1, {TOPIC: [1]}),
          "... transaction 2 is still Ongoing at epoch 1", d)
    check(w.list_offset(1, 1) == (NONE, base + 3), "... and still holds the LSO at %d" % (base + 3))
    res = w.end_txn("tx-v2", q, 1, False, version=5)
    check(res == (NONE, q, 2), "EndTxn v5 abort with epoch 1: NONE, epoch 2", res)
    d = w.wait_state("tx-v2", "CompleteAbort")
    check((d["state"], d["epoch"]) == ("CompleteAbort", 2), "DescribeTransactions: CompleteAbort at epoch 2", d)
    f = w.fetch(1, base, 1)
    check(markers(f["batches"], q) == [(base + 2, "commit", 1), (base + 4, "abort", 2)]
          and f["aborted"] == [(q, base + 3)] and f["lso"] == f["hw"] == base + 5,
          "partition 1: transaction 1 committed, transaction 2 aborted (marker epoch 2), LSO = high watermark",
          (markers(f["batches"], q), f["aborted"], f["lso"], f["hw"]))
    res = w.send(txn_batch(q, 1, 1, ["late"]), 1, "tx-v2")
    check(res[0] == INVALID_PRODUCER_EPOCH, "a Produce with epoch 1 after the abort at epoch 2: INVALID_PRODUCER_EPOCH",
          res)


def check_timeout(w):
    """Section 7: the coordinator aborts a transaction left open beyond its timeout."""
    err, r, e = w.init_pid("tx-timeout", timeout_ms=1000)
    check(err == NONE and e == 0, "InitProducerId(tx-timeout, transaction timeout 1000 ms): producer id %d" % r,
          (err, e))
    base = w.list_offset(2, 0)[1]
    w.add_partitions_ok("tx-timeout", r, 0, {TOPIC: [2]}, "tx-timeout")
    t0 = time.monotonic()
    check(w.send(txn_batch(r, 0, 0, ["t1", "t2"]), 2, "tx-timeout") == (NONE, base),
          "2 records at offset %d of partition 2" % base)
    check(w.list_offset(2, 1) == (NONE, base), "the open transaction holds the LSO at %d" % base)
    d = w.wait_state("tx-timeout", "CompleteAbort", wait=15)
    took = time.monotonic() - t0
    check(d["state"] == "CompleteAbort" and d["epoch"] == 1,
          "the coordinator aborted it after %.1f s: CompleteAbort, epoch bumped to 1" % took, d)
    check(took >= 0.9, "... not before the 1000 ms timeout", took)
    w.wait_stable(2)
    f = w.fetch(2, base, 1)
    check(f["lso"] == f["hw"] == base + 3 and f["aborted"] == [(r, base)] and
          markers(f["batches"], r) == [(base + 2, "abort", 1)],
          "LSO moved past it (%d), ABORT marker at epoch 1, read_committed lists it as aborted" % (base + 3),
          (f["lso"], f["hw"], f["aborted"], markers(f["batches"], r)))
    res = w.add_partitions("tx-timeout", r, 0, {TOPIC: [2]})
    check(res == {(TOPIC, 2): PRODUCER_FENCED}, "the timed-out producer's AddPartitionsToTxn: PRODUCER_FENCED", res)
    check(w.end_txn("tx-timeout", r, 0, True)[0] == PRODUCER_FENCED,
          "the timed-out producer's EndTxn commit: PRODUCER_FENCED")
    check(w.send(txn_batch(r, 0, 2, ["t3"]), 2, "tx-timeout")[0] == INVALID_PRODUCER_EPOCH,
          "the timed-out producer's Produce: INVALID_PRODUCER_EPOCH")


def check_txn_offsets(w):
    """Section 8: offsets committed in a transaction."""
    group = "g-txn"
    err, s, e = w.init_pid("tx-offsets")
    check(err == NONE, "InitProducerId(tx-offsets): producer id %d" % s, err)
    tp = (TOPIC, 0)
    for rnd, (offset, commit) in enumerate([(5, True), (8, False)]):
        check(w.add_offsets("tx-offsets", s, e, group) == NONE, "AddOffsetsToTxn(%s): NONE" % group)
        res = w.txn_offset_commit("tx-offsets", group, s, e, {tp: offset})
        check(res == {tp: NONE}, "TxnOffsetCommit %s-0 -> %d: NONE" % (TOPIC, offset), res)
        before = 5 if rnd else -1
        check(w.offset_fetch(group, TOPIC, 0, False) == (NONE, NONE, before),
              "OffsetFetch before the end: still %d (the pending offset is invisible)" % before)
        check(w.offset_fetch(group, TOPIC, 0, True) == (NONE, UNSTABLE_OFFSET_COMMIT, -1),
              "OffsetFetch require_stable: UNSTABLE_OFFSET_COMMIT")
        check(w.end_txn_retry("tx-offsets", s, e, commit)[0] == NONE, "EndTxn %s: NONE" % ("commit" if commit else "abort"))
        w.wait_state("tx-offsets", "CompleteCommit" if commit else "CompleteAbort")
        check(w.offset_fetch(group, TOPIC, 0, True) == (NONE, NONE, 5),
              "OffsetFetch after the %s: 5" % ("commit (applied)" if commit else "abort (dropped)"))


def check_edges(w):
    """Section 8b: error answers, interleaved transactions, a marker where nothing was written."""
    err, _, _ = w.init_pid("tx-long", timeout_ms=900001)
    check(err == INVALID_TXN_TIMEOUT,
          "InitProducerId with a timeout above transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT", err)
    check(w.end_txn("no-such-txn", 1, 0, True)[0] == INVALID_PID_MAPPING,
          "EndTxn for an unknown transactional id: INVALID_PRODUCER_ID_MAPPING")
    err, x, xe = w.init_pid("tx-x")
    check(w.end_txn("tx-x", x, xe, True)[0] == INVALID_TXN_STATE,
          "EndTxn commit with no transaction begun (Empty): INVALID_TXN_STATE")
    check(w.end_txn("tx-x", x + 1000, xe, True)[0] == INVALID_PID_MAPPING,
          "EndTxn with another producer id: INVALID_PRODUCER_ID_MAPPING")
    res = w.add_partitions("tx-x", x, xe, {"tw2": [0], "no-such-topic": [0]})
    check(res == {("tw2", 0): OPERATION_NOT_ATTEMPTED, ("no-such-topic", 0): UNKNOWN_TOPIC},
          "AddPartitionsToTxn with an unknown topic: UNKNOWN_TOPIC_OR_PARTITION, the other "
          "OPERATION_NOT_ATTEMPTED", res)
    d = w.describe_txn("tx-x")
    check((d["state"], d["topics"]) == ("Empty", {}), "... and nothing was added", d)

    # two transactions interleaved on tw2-0: x at 1 and 3, y at 2
    err, y, ye = w.init_pid("tx-y")
    check(w.send(kwire.build_batch([b"plain"]), 0, topic="tw2") == (NONE, 0), "tw2-0: a plain record at 0")
    w.add_partitions_ok("tx-x", x, xe, {"tw2": [0]}, "tx-x")
    w.add_partitions_ok("tx-y", y, ye, {"tw2": [0], "tw3": [0]}, "tx-y")
    check(w.send(txn_batch(x, xe, 0, ["x1"]), 0, "tx-x", topic="tw2") == (NONE, 1), "tx-x writes offset 1")
    check(w.send(txn_batch(y, ye, 0, ["y1"]), 0, "tx-y", topic="tw2") == (NONE, 2), "tx-y writes offset 2")
    check(w.send(txn_batch(x, xe, 1, ["x2"]), 0, "tx-x", topic="tw2") == (NONE, 3), "tx-x writes offset 3")
    check(w.list_offset(0, 1, topic="tw2") == (NONE, 1), "LSO 1: the older open transaction")
    res = w.txn_offset_commit("tx-x", "g-not-added", x, xe, {("tw2", 0): 1})
    check(res == {("tw2", 0): INVALID_TXN_STATE},
          "TxnOffsetCommit without AddOffsetsToTxn for that group: INVALID_TXN_STATE (KIP-890)", res)
    check(w.end_txn("tx-x", x, xe, True)[0] == NONE, "tx-x commits")
    w.wait_state("tx-x", "CompleteCommit")
    check(w.list_offset(0, 1, topic="tw2") == (NONE, 2), "LSO 2: now tx-y's first offset")
    f = w.fetch(0, 0, 1, topic="tw2")
    check(f["lso"] == 2 and values(f["batches"]) == ["plain", "x1"] and f["aborted"] == [],
          "read_committed stops below tx-y: plain, x1", (f["lso"], values(f["batches"]), f["aborted"]))
    p = w.describe_producers(0, topic="tw2")["producers"]
    check(p.get(x, {}).get("txn_start") == -1 and p.get(y, {}).get("txn_start") == 2,
          "DescribeProducers tw2-0: tx-x has no open transaction, tx-y's starts at 2", p)
    check(w.end_txn("tx-y", y, ye, False)[0] == NONE, "tx-y aborts")
    w.wait_state("tx-y", "CompleteAbort")
    f = w.fetch(0, 0, 1, topic="tw2")
    check(f["lso"] == f["hw"] == 6 and f["aborted"] == [(y, 2)]
          and markers(f["batches"], x) == [(4, "commit", xe)] and markers(f["batches"], y) == [(5, "abort", ye)],
          "tw2-0: COMMIT of tx-x at 4, ABORT of tx-y at 5, aborted_transactions [(tx-y, 2)], LSO 6",
          (f["lso"], f["hw"], f["aborted"], markers(f["batches"], x), markers(f["batches"], y)))
    f = w.fetch(0, 0, 1, topic="tw3")
    check(f["hw"] == f["lso"] == 1 and markers(f["batches"], y) == [(0, "abort", ye)] and f["aborted"] == [],
          "tw3-0, added to tx-y but never written: an ABORT marker at 0, nothing listed as aborted",
          (f["hw"], f["lso"], f["batches"], f["aborted"]))


def check_restarts(w, b, tx_a_pid, tx_a_epoch):
    """Section 9: __transaction_state and the partitions' transaction state survive restarts."""
    err, u, e = w.init_pid("tx-open")
    check(err == NONE, "InitProducerId(tx-open): producer id %d" % u, err)
    base = w.list_offset(0, 0)[1]
    w.add_partitions_ok("tx-open", u, e, {TOPIC: [0]}, "tx-open")
    check(w.send(txn_batch(u, e, 0, ["o1", "o2"]), 0, "tx-open") == (NONE, base),
          "tx-open: 2 records at offset %d of partition 0, left open" % base)
    err, v, ve = w.init_pid("tx-prepared")
    w.add_partitions_ok("tx-prepared", v, ve, {TOPIC: [1], "twmany": list(range(MANY))}, "tx-prepared")
    base1 = w.list_offset(1, 0)[1]
    check(w.send(txn_batch(v, ve, 0, ["p1"]), 1, "tx-prepared") == (NONE, base1),
          "tx-prepared: 1 record at offset %d of partition 1" % base1)
    for p in range(MANY):
        if w.send(txn_batch(v, ve, 0, ["m%d" % p]), p, "tx-prepared", topic="twmany") != (NONE, 0):
            raise TestFailure("tx-prepared: produce to twmany-%d failed" % p)
    check(w.add_offsets("tx-prepared", v, ve, "g-prepared") == NONE, "tx-prepared: AddOffsetsToTxn(g-prepared)")
    check(w.txn_offset_commit("tx-prepared", "g-prepared", v, ve, {(TOPIC, 1): 42}) == {(TOPIC, 1): NONE},
          "tx-prepared: 1 record on each of %d partitions of twmany, TxnOffsetCommit(g-prepared, tw-1 -> 42)" % MANY)
    err, rt, rte = w.init_pid("tx-restart-timeout", timeout_ms=1500)
    base2 = w.list_offset(2, 0)[1]
    w.add_partitions_ok("tx-restart-timeout", rt, rte, {TOPIC: [2]}, "tx-restart-timeout (timeout 1500 ms)")
    check(w.send(txn_batch(rt, rte, 0, ["r1"]), 2, "tx-restart-timeout") == (NONE, base2),
          "tx-restart-timeout: 1 record at offset %d of partition 2, left open" % base2)
    w.close()
    took = b.restart()
    log("clean restart in %.2f s" % took)

    d = w.describe_txn("tx-open")
    check((d["state"], d["pid"], d["epoch"], d["topics"]) == ("Ongoing", u, e, {TOPIC: [0]}),
          "after a clean restart tx-open is still Ongoing (same producer id, epoch, partitions)", d)
    check(w.list_offset(0, 1) == (NONE, base), "... and still holds the LSO of partition 0 at %d" % base)
    st = w.describe_producers(0)["producers"].get(u)
    check(st is not None and (st["epoch"], st["last_seq"], st["txn_start"]) == (e, 1, base),
          "... DescribeProducers: its epoch, last sequence 1, transaction start offset %d" % base, st)
    check(w.send(txn_batch(u, e, 2, ["o3"]), 0, "tx-open") == (NONE, base + 2),
          "... accepts its next batch (seq 2) at offset %d" % (base + 2))
    check(w.end_txn("tx-open", u, e, True)[0] == NONE, "... and commits")
    w.wait_state("tx-open", "CompleteCommit")
    f = w.fetch(0, base, 1)
    check(values(f["batches"]) == ["o1", "o2", "o3"] and f["lso"] == f["hw"] == base + 4,
          "read_committed: o1, o2, o3 and the LSO at the high watermark", (values(f["batches"]), f["lso"], f["hw"]))

    d = w.wait_state("tx-restart-timeout", "CompleteAbort")
    check((d["state"], d["epoch"]) == ("CompleteAbort", rte + 1),
          "tx-restart-timeout, open across the restart, is aborted once its 1500 ms are over (epoch bumped)", d)
    w.wait_stable(2)
    f = w.fetch(2, base2, 1)
    check(f["aborted"] == [(rt, base2)] and markers(f["batches"], rt) == [(base2 + 1, "abort", rte + 1)]
          and f["lso"] == f["hw"] == base2 + 2,
          "... ABORT marker after its record, listed as aborted, LSO = high watermark",
          (f["aborted"], markers(f["batches"], rt), f["lso"], f["hw"]))

    # An open transaction across kill -9: the partition rebuilds it from the log.
    err, o9, o9e = w.init_pid("tx-open-kill9")
    w.add_partitions_ok("tx-open-kill9", o9, o9e, {TOPIC: [2]}, "tx-open-kill9")
    check(w.send(txn_batch(o9, o9e, 0, ["k1", "k2"]), 2, "tx-open-kill9") == (NONE, base2 + 2),
          "tx-open-kill9: 2 records at offset %d of partition 2, left open" % (base2 + 2))
    check(w.add_offsets("tx-open-kill9", o9, o9e, "g-open") == NONE and
          w.txn_offset_commit("tx-open-kill9", "g-open", o9, o9e, {(TOPIC, 2): 7}) == {(TOPIC, 2): NONE},
          "tx-open-kill9: TxnOffsetCommit(g-open, tw-2 -> 7) pending")
    # EndTxn answered, then kill -9 at once: whatever was durable, it must complete.
    check(w.end_txn("tx-prepared", v, ve, True)[0] == NONE, "tx-prepared: EndTxn commit NONE, then kill -9 at once")
    w.close()
    b.kill9()
    took = b.start()
    log("restart after kill -9 in %.2f s" % took)
    d = w.describe_txn("tx-open-kill9")
    check((d["state"], d["epoch"], d["topics"].get(TOPIC), len(d["topics"].get("__consumer_offsets", [])))
          == ("Ongoing", o9e, [2], 1),
          "after kill -9 tx-open-kill9 is still Ongoing, with tw-2 and its group's __consumer_offsets partition", d)
    check(w.list_offset(2, 1) == (NONE, base2 + 2), "... and holds the LSO of partition 2 at %d" % (base2 + 2))
    st = w.describe_producers(2)["producers"].get(o9)
    check(st is not None and (st["epoch"], st["last_seq"], st["txn_start"]) == (o9e, 1, base2 + 2),
          "... DescribeProducers: last sequence 1, transaction start offset %d (rebuilt from the log)" % (base2 + 2), st)
    check(w.offset_fetch("g-open", TOPIC, 2, True) == (NONE, UNSTABLE_OFFSET_COMMIT, -1),
          "... its pending offset survived the replay of __consumer_offsets (UNSTABLE_OFFSET_COMMIT)")
    check(w.send(txn_batch(o9, o9e, 0, ["k1", "k2"]), 2, "tx-open-kill9") == (NONE, base2 + 2),
          "... a retry of its batch is answered with the original offset")
    check(w.send(txn_batch(o9, o9e, 2, ["k3"]), 2, "tx-open-kill9") == (NONE, base2 + 4),
          "... its next batch is appended at %d" % (base2 + 4))
    check(w.end_txn("tx-open-kill9", o9, o9e, True)[0] == NONE, "... and it commits")
    w.wait_state("tx-open-kill9", "CompleteCommit")
    f = w.fetch(2, base2 + 2, 1)
    check(values(f["batches"]) == ["k1", "k2", "k3"] and f["lso"] == f["hw"] == base2 + 6,
          "read_committed: k1, k2, k3, LSO at the high watermark", (values(f["batches"]), f["lso"], f["hw"]))
    check(w.offset_fetch("g-open", TOPIC, 2, True) == (NONE, NONE, 7), "... and its offset 7 is committed")
    d = w.wait_state("tx-prepared", "CompleteCommit")
    check(d["state"] == "CompleteCommit", "after kill -9 tx-prepared is CompleteCommit", d)
    w.wait_stable(1)
    f = w.fetch(1, base1, 1)
    mk = markers(f["batches"], v)
    check(values(f["batches"]) == ["p1"] and f["lso"] == f["hw"] and mk and all(m[1] == "commit" for m in mk),
          "... its record is committed (COMMIT marker on partition 1, LSO = high watermark)",
          (values(f["batches"]), f["lso"], f["hw"], mk))
    bad = []
    for p in range(MANY):
        f = w.fetch(p, 0, 1, topic="twmany")
        mk = markers(f["batches"], v)
        if values(f["batches"]) != ["m%d" % p] or f["lso"] != f["hw"] or not mk or \
                any(m[1] != "commit" for m in mk):
            bad.append((p, values(f["batches"]), f["lso"], f["hw"], mk))
    check(not bad, "... and on all %d partitions of twmany: record committed, COMMIT marker(s) only, LSO = "
          "high watermark" % MANY, bad[:3])
    check(w.offset_fetch("g-prepared", TOPIC, 1, True) == (NONE, NONE, 42),
          "... and its TxnOffsetCommit (tw-1 -> 42) is applied")

    d = w.describe_txn("tx-a")
    check((d["pid"], d["epoch"]) == (tx_a_pid, tx_a_epoch),
          "tx-a after two restarts: producer id %d, epoch %d kept" % (tx_a_pid, tx_a_epoch), d)
    err, pid, epoch = w.init_pid("tx-a")
    check((err, pid, epoch) == (NONE, tx_a_pid, tx_a_epoch + 1),
          "InitProducerId(tx-a): the same producer id, epoch %d (so zombies stay fenced)" % (tx_a_epoch + 1),
          (err, pid, epoch))
    err, new, _ = w.init_pid("tx-new")
    check(err == NONE and new > max(tx_a_pid, u, v), "a new transactional id gets a new producer id %d" % new)


def check_expiration(t):
    """Section 10: transactional.id.expiration.ms (1000 ms, checked every 200 ms) removes
    idle ids, durably, and never one with an open transaction."""
    cfg = {"transactional.id.expiration.ms": "1000",
           "transaction.remove.expired.transaction.cleanup.interval.ms": "200",
           "transaction.state.log.num.partitions": "3"}
    with Broker(t, "expiry", config=cfg) as b:
        kclient.create_topic(b.bootstrap, TOPIC, 1)
        w = Wire(b)
        err, old, e = w.init_pid("tx-idle")
        w.add_partitions_ok("tx-idle", old, e, {TOPIC: [0]}, "tx-idle")
        check(w.send(txn_batch(old, e, 0, ["i1"]), 0, "tx-idle")[0] == NONE, "tx-idle: one record")
        check(w.end_txn("tx-idle", old, e, True)[0] == NONE, "tx-idle commits")
        err, keep, ke = w.init_pid("tx-busy")
        w.add_partitions_ok("tx-busy", keep, ke, {TOPIC: [0]}, "tx-busy (left open, timeout 60 s)")
        d = poll(lambda: w.describe_txn("tx-idle"), lambda d: d["error"] == TXN_ID_NOT_FOUND, pause=0.1)
        check(d["error"] == TXN_ID_NOT_FOUND, "tx-idle, idle for 1 s after its commit, expired: "
              "DescribeTransactions TRANSACTIONAL_ID_NOT_FOUND", d)
        time.sleep(1.5)
        d = w.describe_txn("tx-busy")
        check((d["error"], d["state"]) == (NONE, "Ongoing"), "tx-busy, with a transaction open, did not expire", d)
        err, _, txns = w.list_txns()
        check("tx-idle" not in txns and "tx-busy" in txns, "ListTransactions: tx-busy, not tx-idle", txns)
        w.close()
        b.restart()
        d = w.describe_txn("tx-idle")
        check(d["error"] == TXN_ID_NOT_FOUND, "after a restart tx-idle is still gone (a tombstone in "
              "__transaction_state)", d)
        err, new, ne = w.init_pid("tx-idle")
        check(err == NONE and new != old and ne == 0,
              "InitProducerId(tx-idle) starts afresh: producer id %d (was %d), epoch 0" % (new, old), (err, new, ne))
        check(w.end_txn("tx-busy", keep, ke, False)[0] == NONE, "tx-busy aborts")
        w.close()


def test(t):
    if MOCK:
        log("raw transaction protocol checks need a real broker; nothing to check in mock mode")
        return
    cfg = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
           "transaction.state.log.num.partitions": "5", "offsets.topic.num.partitions": "3"}
    with Broker(t, config=cfg) as b:
        kclient.create_topic(b.bootstrap, TOPIC, 3)
        kclient.create_topic(b.bootstrap, "tw2", 1)
        kclient.create_topic(b.bootstrap, "tw3", 1)
        kclient.create_topic(b.bootstrap, "twmany", MANY)
        w = Wire(b)
        pid, epoch = check_verification_and_open_txn(w, b)
        check_commit_abort(w, pid, epoch)
        epoch = check_fencing_tv1(w, pid)
        check_tv2(w)
        check_timeout(w)
        check_txn_offsets(w)
        check_edges(w)
        check_restarts(w, b, pid, epoch)
        w.close()
    check_expiration(t)


main(test)
