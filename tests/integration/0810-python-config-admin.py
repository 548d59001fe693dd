#!/usr/bin/python3
"""Topic and config admin with confluent-kafka-python (Debian python3-confluent-kafka 1.7,
librdkafka 2.0) and, for the APIs that client does not have (IncrementalAlterConfigs,
DeleteRecords, DescribeCluster) or for versions it does not send (DescribeConfigs v4),
hand-built requests:
  describe_configs of a topic (override, defaults, sources, synonyms) and of the broker;
  alter_configs of a topic replaces its overrides and takes effect at once (a record over
  the new max.message.bytes is refused, one under it passes); bad values and unknown keys
  are INVALID_CONFIG; validate_only changes nothing;
  IncrementalAlterConfigs v0 and v1: APPEND/SUBTRACT on cleanup.policy, DELETE, SET;
  APPEND on a non-list key is INVALID_CONFIG;
  broker dynamic configs: message.max.bytes for this broker, auto.create.topics.enable
  and num.partitions as cluster defaults, all live; a read-only key is refused;
  create_partitions (validate_only, grow, shrink refused), new partitions usable;
  DeleteRecords v0 and v2: low watermark moves, records below are no longer fetchable,
  -1 means the high watermark, beyond it is OFFSET_OUT_OF_RANGE;
  DescribeCluster v0 and v1;
  after a restart: topic configs, partition counts, broker dynamic configs and low
  watermarks are all kept."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
import kwire  # noqa: E402
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource,  # noqa: E402
                                   NewPartitions)

NODE_ID = 1
TOPIC = "cfg-orders"
API_DELETE_RECORDS, API_DESCRIBE_CONFIGS, API_INCREMENTAL_ALTER_CONFIGS = 21, 32, 44
API_DESCRIBE_CLUSTER = 60
ERR_NONE, ERR_OFFSET_OUT_OF_RANGE, ERR_UNKNOWN_TOPIC = 0, 1, 3
ERR_INVALID_CONFIG, ERR_INVALID_REQUEST = 40, 42
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3
TOPIC_RES, BROKER_RES = 2, 4


# ---- a small flexible-versions reader for the hand-built requests ---------------------

class Reader:
    def __init__(self, buf, flexible):
        self.b = buf
        self.p = 0
        self.flex = flexible

    def fixed(self, fmt):
        v = struct.unpack_from(">" + fmt, self.b, self.p)[0]
        self.p += struct.calcsize(">" + fmt)
        return v

    def uvarint(self):
        v, self.p = kwire.read_uvarint(self.b, self.p)
        return v

    def string(self):
        n = self.uvarint() - 1 if self.flex else self.fixed("h")
        if n < 0:
            return None
        s = self.b[self.p:self.p + n].decode()
        self.p += n
        return s

    def array(self, item):
        n = self.uvarint() - 1 if self.flex else self.fixed("i")
        return [item() for _ in range(max(n, 0))] if n >= 0 else None

    def tags(self):
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.p += self.uvarint()


def s(v, flex):
    return kwire.compact_string(v) if flex else kwire.string(v)


def arr(items, flex):
    if items is None:
        return kwire.uvarint(0) if flex else kwire.i32(-1)
    return (kwire.uvarint(len(items) + 1) if flex else kwire.i32(len(items))) + b"".join(items)


def tags(flex):
    return kwire.uvarint(0) if flex else b""


class Wire:
    """One connection; call(api, version, flexible, body) -> Reader positioned at the
    response body."""

    def __init__(self, port):
        self.conn = kwire.Conn("127.0.0.1", port)
        self.corr = 0

    def call(self, api, version, flex, body):
        self.corr += 1
        frame = (kwire.request_v2 if flex else kwire.request)(api, version, self.corr, body)
        self.conn.send(frame)
        r = Reader(self.conn.recv_frame(), flex)
        corr = r.fixed("i")
        if corr != self.corr:
            raise TestFailure("correlation id %d, expected %d" % (corr, self.corr))
        r.tags()
        return r

    def close(self):
        self.conn.close()


def incremental_alter(w, version, resources, validate_only=False):
    """resources: [(type, name, [(key, op, value)])] -> [(code, message, type, name)]"""
    flex = version >= 1
    body = arr([kwire.i8(t) + s(n, flex) +
                arr([s(k, flex) + kwire.i8(op) + s(v, flex) + tags(flex) for k, op, v in cfgs], flex)
                + tags(flex) for t, n, cfgs in resources], flex)
    body += kwire.i8(1 if validate_only else 0) + tags(flex)
    r = w.call(API_INCREMENTAL_ALTER_CONFIGS, version, flex, body)
    r.fixed("i")

    def one():
        out = (r.fixed("h"), r.string(), r.fixed("b"), r.string())
        r.tags()
        return out
    return r.array(one)


def delete_records(w, version, topic, parts):
    """parts: [(partition, offset)] -> {partition: (low_watermark, error_code)}"""
    flex = version >= 2
    body = arr([s(topic, flex) + arr([kwire.i32(p) + kwire.i64(o) + tags(flex) for p, o in parts], flex)
                + tags(flex)], flex) + kwire.i32(5000) + tags(flex)
    r = w.call(API_DELETE_RECORDS, version, flex, body)
    r.fixed("i")
    out = {}

    def part():
        p, low, err = r.fixed("i"), r.fixed("q"), r.fixed("h")
        r.tags()
        out[p] = (low, err)

    def topic_():
        r.string()
        r.array(part)
        r.tags()
    r.array(topic_)
    return out


def describe_cluster(w, version):
    body = kwire.i8(1)  # include_cluster_authorized_operations
    if version >= 1:
        body += kwire.i8(1)  # endpoint type: brokers
    body += tags(True)
    r = w.call(API_DESCRIBE_CLUSTER, version, True, body)
    out = {"throttle": r.fixed("i"), "error": r.fixed("h"), "message": r.string()}
    if version >= 1:
        out["endpoint_type"] = r.fixed("b")
    out["cluster_id"] = r.string()
    out["controller"] = r.fixed("i")

    def broker():
        b = (r.fixed("i"), r.string(), r.fixed("i"), r.string())
        r.tags()
        return b
    out["brokers"] = r.array(broker)
    out["ops"] = r.fixed("i")
    return out


def describe_configs_v4(w, rtype, name, keys=None):
    body = arr([kwire.i8(rtype) + s(name, True) +
                arr(None if keys is None else [s(k, True) for k in keys], True) + tags(True)], True)
    body += kwire.i8(1) + kwire.i8(1) + tags(True)  # include synonyms, documentation
    r = w.call(API_DESCRIBE_CONFIGS, 4, True, body)
    r.fixed("i")

    def syn():
        v = (r.string(), r.string(), r.fixed("b"))
        r.tags()
        return v

    def cfg():
        c = {"name": r.string(), "value": r.string(), "read_only": r.fixed("?"), "source": r.fixed("b"),
             "sensitive": r.fixed("?")}
        c["synonyms"] = r.array(syn)
        c["type"] = r.fixed("b")
        c["doc"] = r.string()
        r.tags()
        return c

    def result():
        res = {"error": r.fixed("h"), "message": r.string(), "type": r.fixed("b"), "name": r.string()}
        res["configs"] = {c["name"]: c for c in r.array(cfg)}
        r.tags()
        return res
    return r.array(result)[0]


# ---- confluent helpers ----------------------------------------------------------------

def describe(admin, rtype, name):
    res = ConfigResource(rtype, name)
    fut = admin.describe_configs([res], request_timeout=20)[res]
    return fut.result(timeout=30)


def alter(admin, rtype, name, configs, validate_only=False):
    res = ConfigResource(rtype, name, set_config=configs)
    fut = admin.alter_configs([res], request_timeout=20, validate_only=validate_only)[res]
    return fut.result(timeout=30)


def expect_kafka_error(fn, code, what):
    try:
        fn()
    except KafkaException as e:
        err = e.args[0]
        check(err.code() == code, "%s: %s" % (what, err.name()), err)
        return err
    raise TestFailure("%s: succeeded, expected error %d" % (what, code))


def produce(bootstrap, topic, value, partition=0):
    """Produces one record; returns None or the KafkaError."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 5000,
                  "message.max.bytes": 10_000_000, "retries": 0})
    res = []
    # keyed: the topic is compacted at times, which refuses keyless records
    p.produce(topic, value, key=b"k", partition=partition, on_delivery=lambda err, msg: res.append(err))
    p.flush(30)
    if not res:
        raise TestFailure("no delivery report for %s" % topic)
    return res[0]


def produce_many(bootstrap, topic, partition, n):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(n):
        p.produce(topic, b"v-%d" % i, key=b"k-%d" % i, partition=partition)
    if p.flush(30):
        raise TestFailure("producer did not flush")


def partition_count(admin, topic):
    md = admin.list_topics(topic=topic, timeout=20)
    return len(md.topics[topic].partitions)


def first_offset_from(bootstrap, topic, partition, start):
    """Assigns at `start` with auto.offset.reset=error: the first record's offset, or the
    consume error."""
    c = kclient.consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return m.error()
            return m.offset()
        raise TestFailure("nothing consumed from %s-%d at %d" % (topic, partition, start))
    finally:
        c.close()


def test(t):
    if MOCK:
        log("the mock cluster has no config admin; nothing to check in mock mode")
        return
    b = Broker(t, config={"node.id": NODE_ID, "auto.create.topics.enable": "false",
                          "num.partitions": "1", "log.segment.bytes": "1048576"})
    b.start()
    log(kclient.versions())
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    kclient.create_topic(b.bootstrap, TOPIC, 2, config={"retention.ms": "3600000"})

    # -- DescribeConfigs of a topic ----------------------------------------------------
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["retention.ms"].value == "3600000" and
          cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          "describe_configs: retention.ms=3600000 from DYNAMIC_TOPIC_CONFIG", cfg["retention.ms"])
    syn = [x.name for x in cfg["retention.ms"].synonyms.values()]
    check("log.retention.ms" in syn, "retention.ms synonyms include log.retention.ms", syn)
    check(cfg["segment.bytes"].value == "1048576" and
          cfg["segment.bytes"].source == ConfigSource.STATIC_BROKER_CONFIG.value,
          "segment.bytes=1048576 from STATIC_BROKER_CONFIG (log.segment.bytes)", cfg["segment.bytes"])
    check(cfg["cleanup.policy"].value == "delete" and cfg["cleanup.policy"].is_default,
          "cleanup.policy=delete, DEFAULT_CONFIG", cfg["cleanup.policy"])
    check(len(cfg) >= 30 and not any(c.is_read_only for c in cfg.values()),
          "every topic key listed (%d), none read-only" % len(cfg))

    # -- AlterConfigs of a topic: replaces the overrides, live ------------------------------
    alter(admin, ConfigResource.Type.TOPIC, TOPIC, {"max.message.bytes": "1000"}, validate_only=True)
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["max.message.bytes"].value == "1048588", "validate_only alter_configs changes nothing")
    alter(admin, ConfigResource.Type.TOPIC, TOPIC, {"max.message.bytes": "1000", "cleanup.policy": "compact"})
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["max.message.bytes"].value == "1000" and cfg["cleanup.policy"].value == "compact",
          "alter_configs: max.message.bytes=1000, cleanup.policy=compact read back")
    check(cfg["retention.ms"].value == "604800000" and cfg["retention.ms"].is_default,
          "alter_configs replaced the set: retention.ms back to the default", cfg["retention.ms"])
    err = produce(b.bootstrap, TOPIC, b"x" * 2000)
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "a 2000-byte record is refused at once (MSG_SIZE_TOO_LARGE)", err)
    check(produce(b.bootstrap, TOPIC, b"x" * 500) is None, "a 500-byte record passes")
    expect_kafka_error(lambda: alter(admin, ConfigResource.Type.TOPIC, TOPIC, {"retention.ms": "soon"}),
                       KafkaError.INVALID_CONFIG, "alter_configs retention.ms=soon")
    expect_kafka_error(lambda: alter(admin, ConfigResource.Type.TOPIC, TOPIC, {"no.such.key": "1"}),
                       KafkaError.INVALID_CONFIG, "alter_configs no.such.key")
    expect_kafka_error(lambda: alter(admin, ConfigResource.Type.TOPIC, "no-such-topic", {"retention.ms": "1"}),
                       KafkaError.UNKNOWN_TOPIC_OR_PART, "alter_configs of a missing topic")
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["max.message.bytes"].value == "1000", "failed alters changed nothing")

    # -- IncrementalAlterConfigs (hand-built, v0 and v1) ------------------------------------
    w = Wire(b.port)
    res = incremental_alter(w, 0, [(TOPIC_RES, TOPIC, [("cleanup.policy", OP_APPEND, "delete"),
                                                       ("retention.ms", OP_SET, "7200000")])])
    check(res == [(ERR_NONE, None, TOPIC_RES, TOPIC)], "IncrementalAlterConfigs v0: APPEND + SET", res)
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["cleanup.policy"].value == "compact,delete" and cfg["retention.ms"].value == "7200000" and
          cfg["max.message.bytes"].value == "1000",
          "cleanup.policy=compact,delete, retention.ms=7200000, max.message.bytes kept")
    res = incremental_alter(w, 1, [(TOPIC_RES, TOPIC, [("cleanup.policy", OP_SUBTRACT, "compact"),
                                                       ("max.message.bytes", OP_DELETE, None)])])
    check(res[0][0] == ERR_NONE, "IncrementalAlterConfigs v1: SUBTRACT + DELETE", res)
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["cleanup.policy"].value == "delete" and cfg["max.message.bytes"].is_default,
          "cleanup.policy=delete, max.message.bytes back to its default")
    check(produce(b.bootstrap, TOPIC, b"x" * 2000) is None, "a 2000-byte record passes again")
    res = incremental_alter(w, 1, [(TOPIC_RES, TOPIC, [("retention.ms", OP_APPEND, "5")])])
    check(res[0][0] == ERR_INVALID_CONFIG and "not LIST" in (res[0][1] or ""),
          "APPEND to retention.ms: INVALID_CONFIG, %r" % res[0][1])
    res = incremental_alter(w, 1, [(TOPIC_RES, TOPIC, [("segment.ms", OP_SET, "60000")])], validate_only=True)
    check(res[0][0] == ERR_NONE, "validateOnly IncrementalAlterConfigs accepted")
    check(describe(admin, ConfigResource.Type.TOPIC, TOPIC)["segment.ms"].is_default,
          "validateOnly changed nothing")

    # -- broker configs ---------------------------------------------------------------------
    bcfg = describe(admin, ConfigResource.Type.BROKER, str(NODE_ID))
    check(bcfg["message.max.bytes"].value == "1048588" and bcfg["message.max.bytes"].is_default and
          not bcfg["message.max.bytes"].is_read_only, "broker message.max.bytes=1048588, default, dynamic")
    check(bcfg["listeners"].is_read_only and bcfg["num.partitions"].value == "1" and
          bcfg["num.partitions"].source == ConfigSource.STATIC_BROKER_CONFIG.value,
          "listeners read-only; num.partitions=1 from STATIC_BROKER_CONFIG")
    alter(admin, ConfigResource.Type.BROKER, str(NODE_ID), {"message.max.bytes": "3000"})
    bcfg = describe(admin, ConfigResource.Type.BROKER, str(NODE_ID))
    check(bcfg["message.max.bytes"].value == "3000" and
          bcfg["message.max.bytes"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value,
          "broker message.max.bytes=3000 from DYNAMIC_BROKER_CONFIG")
    tcfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(tcfg["max.message.bytes"].value == "3000" and
          tcfg["max.message.bytes"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value,
          "the topic's max.message.bytes follows: 3000 from DYNAMIC_BROKER_CONFIG")
    err = produce(b.bootstrap, TOPIC, b"x" * 5000)
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "a 5000-byte record is now refused without a restart", err)
    expect_kafka_error(lambda: alter(admin, ConfigResource.Type.BROKER, str(NODE_ID), {"listeners": "x"}),
                       KafkaError.INVALID_CONFIG, "alter_configs of read-only listeners")

    err = produce(b.bootstrap, "auto-a", b"hello")
    check(err is not None, "auto.create.topics.enable=false: producing to auto-a fails (%s)" % err)
    res = incremental_alter(w, 1, [(BROKER_RES, "", [("auto.create.topics.enable", OP_SET, "true"),
                                                     ("num.partitions", OP_SET, "3")])])
    check(res[0][0] == ERR_NONE, "cluster default: auto.create.topics.enable=true, num.partitions=3", res)
    check(produce(b.bootstrap, "auto-b", b"hello") is None, "producing to auto-b now creates it")
    check(partition_count(admin, "auto-b") == 3, "auto-b has 3 partitions (the new num.partitions)")
    dcfg = describe_configs_v4(w, BROKER_RES, "")["configs"]
    check(set(dcfg) == {"auto.create.topics.enable", "num.partitions"} and
          all(c["source"] == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value for c in dcfg.values()),
          "describe of the cluster default (\"\") lists exactly those two", dcfg)
    res = incremental_alter(w, 1, [(BROKER_RES, "7", [("message.max.bytes", OP_SET, "1")])])
    check(res[0][0] == ERR_INVALID_REQUEST, "broker 7 (not this node): INVALID_REQUEST (%s)" % res[0][1])
    res = incremental_alter(w, 1, [(BROKER_RES, str(NODE_ID), [("log.retention.ms", OP_SET, "-5x")])])
    check(res[0][0] == ERR_INVALID_CONFIG, "broker log.retention.ms=-5x: INVALID_CONFIG (%s)" % res[0][1])

    # -- DescribeConfigs v4 (hand-built): types, documentation, errors ----------------------
    d = describe_configs_v4(w, TOPIC_RES, TOPIC, ["retention.ms", "cleanup.policy", "no.such.key"])
    check(d["error"] == ERR_NONE and set(d["configs"]) == {"retention.ms", "cleanup.policy"},
          "DescribeConfigs v4 with configuration_keys: just those keys", d)
    rc = d["configs"]["retention.ms"]
    check(rc["type"] == 5 and rc["doc"] is None and rc["synonyms"][0] == ("retention.ms", "7200000", 1),
          "retention.ms: type LONG, documentation null, synonyms start with the topic override", rc)
    check(d["configs"]["cleanup.policy"]["type"] == 7, "cleanup.policy: type LIST")
    d = describe_configs_v4(w, TOPIC_RES, "no-such-topic")
    check(d["error"] == ERR_UNKNOWN_TOPIC and not d["configs"], "unknown topic: UNKNOWN_TOPIC_OR_PARTITION", d)
    d = describe_configs_v4(w, BROKER_RES, "2")
    check(d["error"] == ERR_INVALID_REQUEST, "broker 2: INVALID_REQUEST (%s)" % d["message"])
    d = describe_configs_v4(w, 8, "root")
    check(d["error"] == ERR_INVALID_REQUEST, "resource type 8: INVALID_REQUEST (%s)" % d["message"])
    res = incremental_alter(w, 1, [(TOPIC_RES, TOPIC, [("retention.ms", OP_SET, "1"), ("retention.ms", OP_DELETE, None)]),
                                   (TOPIC_RES, TOPIC, [("retention.ms", 7, "1")])])
    check([r[0] for r in res] == [ERR_INVALID_REQUEST, ERR_INVALID_REQUEST],
          "IncrementalAlterConfigs: a key twice, an unknown operation: INVALID_REQUEST", res)

    # -- CreatePartitions -------------------------------------------------------------------
    fut = admin.create_partitions([NewPartitions(TOPIC, 4)], validate_only=True)[TOPIC]
    fut.result(timeout=30)
    check(partition_count(admin, TOPIC) == 2, "validate_only create_partitions: still 2 partitions")
    admin.create_partitions([NewPartitions(TOPIC, 4)])[TOPIC].result(timeout=30)
    deadline = time.monotonic() + 10
    while partition_count(admin, TOPIC) != 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    check(partition_count(admin, TOPIC) == 4, "create_partitions to 4: metadata shows 4 partitions")
    check(os.path.isdir(b.partition_dir(TOPIC, 3)), "directory %s-3 exists" % TOPIC)
    expect_kafka_error(lambda: admin.create_partitions([NewPartitions(TOPIC, 3)])[TOPIC].result(timeout=30),
                       KafkaError.INVALID_PARTITIONS, "create_partitions to 3")
    expect_kafka_error(lambda: admin.create_partitions([NewPartitions("no-such-topic", 3)])
                       ["no-such-topic"].result(timeout=30),
                       KafkaError.UNKNOWN_TOPIC_OR_PART, "create_partitions of a missing topic")
    check(produce(b.bootstrap, TOPIC, b"new partition", partition=3) is None, "produce to partition 3")

    # -- DeleteRecords (hand-built, v0 and v2) ------------------------------------------------
    produce_many(b.bootstrap, TOPIC, 1, 100)
    produce_many(b.bootstrap, TOPIC, 2, 50)
    lo, hi = kclient.watermarks(b.bootstrap, TOPIC, 1)
    check((lo, hi) == (0, 100), "partition 1 watermarks (0, 100)", (lo, hi))
    out = delete_records(w, 0, TOPIC, [(1, 40)])
    check(out == {1: (40, ERR_NONE)}, "DeleteRecords v0 to 40: low watermark 40", out)
    check(kclient.watermarks(b.bootstrap, TOPIC, 1) == (40, 100), "ListOffsets: watermarks (40, 100)")
    got = first_offset_from(b.bootstrap, TOPIC, 1, 10)
    check(isinstance(got, KafkaError), "fetching offset 10 fails now (%s)" % got)
    check(first_offset_from(b.bootstrap, TOPIC, 1, 40) == 40, "fetching from 40 returns offset 40 first")
    recs = kclient.read_partition(b.bootstrap, TOPIC, 1, start=40)
    check([m.offset() for m in recs] == list(range(40, 100)) and recs[0].value() == b"v-40",
          "records 40..99 intact")
    out = delete_records(w, 2, TOPIC, [(1, 101), (2, -1), (9, 1)])
    check(out == {1: (-1, ERR_OFFSET_OUT_OF_RANGE), 2: (50, ERR_NONE), 9: (-1, ERR_UNKNOWN_TOPIC)},
          "DeleteRecords v2: 101 out of range, -1 -> high watermark 50, partition 9 unknown", out)
    out = delete_records(w, 2, TOPIC, [(1, 20)])
    check(out == {1: (40, ERR_NONE)}, "DeleteRecords below the start offset: unchanged 40", out)

    # -- DescribeCluster (hand-built) ---------------------------------------------------------
    md = admin.list_topics(timeout=20)
    for v in (0, 1):
        dc = describe_cluster(w, v)
        check(dc["error"] == ERR_NONE and dc["cluster_id"] == md.cluster_id and dc["controller"] == NODE_ID and
              dc["brokers"] == [(NODE_ID, "127.0.0.1", b.port, None)] and dc["ops"] > 0,
              "DescribeCluster v%d: cluster id, controller %d, this broker, operations" % (v, NODE_ID), dc)
    w.close()

    # -- everything survives a restart ---------------------------------------------------------
    b.restart()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    cfg = describe(admin, ConfigResource.Type.TOPIC, TOPIC)
    check(cfg["retention.ms"].value == "7200000" and cfg["cleanup.policy"].value == "delete" and
          cfg["max.message.bytes"].value == "3000",
          "after restart: topic configs kept, broker dynamic max kept")
    check(partition_count(admin, TOPIC) == 4 and partition_count(admin, "auto-b") == 3,
          "after restart: 4 and 3 partitions")
    check(kclient.watermarks(b.bootstrap, TOPIC, 1) == (40, 100) and
          kclient.watermarks(b.bootstrap, TOPIC, 2) == (50, 50), "after restart: low watermarks 40 and 50")
    bcfg = describe(admin, ConfigResource.Type.BROKER, str(NODE_ID))
    check(bcfg["message.max.bytes"].value == "3000" and bcfg["auto.create.topics.enable"].value == "true" and
          bcfg["auto.create.topics.enable"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value,
          "after restart: broker dynamic configs kept")
    err = produce(b.bootstrap, TOPIC, b"x" * 5000)
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "after restart: 5000-byte record still refused")
    b.stop()


main(test)
