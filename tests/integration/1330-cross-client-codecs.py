#!/usr/bin/python3
"""Every codec produced by one client is consumed intact by the others.

Producers (400 keyed records with two headers each, over 2 partitions, one topic per
producer and codec):
  - librdkafka (confluent-kafka-python): gzip, snappy, lz4, zstd;
  - kafka-python 2.0.2 (record batch v2): gzip, snappy, lz4 (Debian ships no zstandard
    module for it);
  - kafkajs 2.2.4: gzip (its only built-in codec).
Consumers, each reading every topic it can decode:
  - librdkafka: all of them;
  - kafka-python: gzip, snappy, lz4;
  - kafkajs: gzip.
Each consumer must get exactly the records produced (key, value, both headers), in
order per partition, at the same offsets the other consumers saw. On disk every
topic's batches are stored with the producer's codec (valid CRCs), as produced."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, TestFailure, check, log, main, run  # noqa: E402
import kclient  # noqa: E402
import ondisk  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

N = 400
PARTS = 2
HERE = os.path.dirname(os.path.abspath(__file__))

PRODUCERS = [("rdk", c) for c in ("gzip", "snappy", "lz4", "zstd")] + \
            [("kpy", c) for c in ("gzip", "snappy", "lz4")] + [("kjs", "gzip")]
CAN_READ = {"rdk": {"gzip", "snappy", "lz4", "zstd"}, "kpy": {"gzip", "snappy", "lz4"}, "kjs": {"gzip"}}


def record(client, codec, i):
    # repetitive enough to compress, distinct enough to catch a mix-up
    return ("k%d" % i, "%s-%s-%05d-%s" % (client, codec, i, "payload " * 8),
            [("client", client), ("i", str(i))])


def topic_of(client, codec):
    return "xc-%s-%s" % (client, codec)


KPY_PRODUCE = r"""
import sys
from kafka import KafkaProducer
bs, topic, codec, n, parts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
p = KafkaProducer(bootstrap_servers=bs, compression_type=codec, acks='all', linger_ms=20, batch_size=65536)
for i in range(n):
    p.send(topic, key=b'k%d' % i, value=('kpy-%s-%05d-%s' % (codec, i, 'payload ' * 8)).encode(),
           headers=[('client', b'kpy'), ('i', str(i).encode())], partition=i % parts)
p.flush(30)
p.close()
"""

KPY_CONSUME = r"""
import json, sys
from kafka import KafkaConsumer, TopicPartition
bs, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, auto_offset_reset='earliest',
                  consumer_timeout_ms=3000)
tps = [TopicPartition(topic, p) for p in range(parts)]
c.assign(tps)
c.seek_to_beginning()
end = c.end_offsets(tps)
out = []
for m in c:
    out.append({"partition": m.partition, "offset": m.offset, "key": m.key.decode(), "value": m.value.decode(),
                "headers": [[k, v.decode()] for k, v in m.headers]})
    if all(c.position(tp) >= end[tp] for tp in tps):
        break
c.close()
for r in out:
    print(json.dumps(r))
"""

KJS = r"""
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')
const [mode, bs, topic, n, parts] = process.argv.slice(1)
const kafka = new Kafka({ brokers: [bs], logLevel: logLevel.NOTHING })
async function produce () {
  const p = kafka.producer()
  await p.connect()
  const messages = []
  for (let i = 0; i < Number(n); i++) {
    messages.push({ key: `k${i}`, value: `kjs-gzip-${String(i).padStart(5, '0')}-${'payload '.repeat(8)}`,
      partition: i % Number(parts), headers: { client: 'kjs', i: String(i) } })
  }
  for (let k = 0; k < messages.length; k += 100) {
    await p.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: messages.slice(k, k + 100) })
  }
  await p.disconnect()
}
async function consume () {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const want = ends.reduce((s, e) => s + Number(e.high), 0)
  const c = kafka.consumer({ groupId: `kjs-read-${topic}`, maxWaitTimeInMs: 200 })
  const out = []
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${want} records in 30 s`)), 30000)
    c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        out.push({ partition, offset: Number(message.offset), key: message.key.toString(), value: message.value.toString(),
          headers: Object.entries(message.headers).map(([k, v]) => [k, v.toString()]) })
        if (out.length >= want) { clearTimeout(timer); resolve() }
      }
    }).catch(reject)
  })
  await c.disconnect()
  for (const r of out) process.stdout.write(JSON.stringify(r) + '\n')
}
(mode === 'produce' ? produce() : consume()).catch((e) => { console.error(e); process.exit(1) })
"""


def node(args, timeout=60):
    env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"), KAFKAJS_NO_PARTITIONER_WARNING="1")
    return run(["node", "-e", KJS, "--"] + args, timeout=timeout, env=env, what="kafkajs " + args[0])


def produce(bs, client, codec, topic):
    if client == "rdk":
        p = Producer({"bootstrap.servers": bs, "compression.type": codec, "linger.ms": 20, "acks": "all"})
        for i in range(N):
            k, v, h = record(client, codec, i)
            p.produce(topic, v.encode(), key=k.encode(), partition=i % PARTS, headers=[(a, b.encode()) for a, b in h])
        if p.flush(30):
            raise TestFailure("librdkafka %s: records not delivered" % codec)
    elif client == "kpy":
        run(["/usr/bin/python3", "-c", KPY_PRODUCE, bs, topic, codec, str(N), str(PARTS)], timeout=60,
            what="kafka-python produce " + codec)
    else:
        node(["produce", bs, topic, str(N), str(PARTS)])


def consume(bs, client, topic):
    """[(partition, offset, key, value, headers)] sorted by partition, offset."""
    if client == "rdk":
        out = []
        for p in range(PARTS):
            for m in kclient.read_partition(bs, topic, p):
                out.append((p, m.offset(), m.key().decode(), m.value().decode(),
                            [(k, v.decode()) for k, v in (m.headers() or [])]))
        return out
    if client == "kpy":
        cp = run(["/usr/bin/python3", "-c", KPY_CONSUME, bs, topic, str(PARTS)], timeout=60,
                 what="kafka-python consume " + topic)
    else:
        cp = node(["consume", bs, topic, str(N), str(PARTS)])
    rows = [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]
    got = [(r["partition"], r["offset"], r["key"], r["value"], [tuple(h) for h in r["headers"]]) for r in rows]
    for p in range(PARTS):
        offs = [r[1] for r in got if r[0] == p]
        if offs != sorted(offs):
            raise TestFailure("%s consumer: %s-%d delivered out of offset order" % (client, topic, p))
    return sorted(got)


def test(t):
    if MOCK:
        log("kafka-python and kafkajs against the mock cluster prove nothing here; nothing to check in mock mode")
        return
    with Broker(t, config={"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "3"}) as b:
        bs = b.bootstrap
        for client, codec in PRODUCERS:
            topic = topic_of(client, codec)
            kclient.create_topic(bs, topic, PARTS)
            produce(bs, client, codec, topic)
            for p in range(PARTS):
                ondisk.scan_partition(b.partition_dir(topic, p), expect_records=N // PARTS, codec=codec, crc="all",
                                      what="%s-%d" % (topic, p))
            check(True, "%s produced %d %s records to %s (stored %s, CRCs valid)" % (client, N, codec, topic, codec))

        for client, codec in PRODUCERS:
            topic = topic_of(client, codec)
            want = []
            per_part = {}
            for i in range(N):
                k, v, h = record(client, codec, i)
                p = i % PARTS
                want.append((p, per_part.get(p, 0), k, v, h))
                per_part[p] = per_part.get(p, 0) + 1
            want.sort()
            for reader in ("rdk", "kpy", "kjs"):
                if codec not in CAN_READ[reader]:
                    continue
                got = consume(bs, reader, topic)
                bad = [(g, w) for g, w in zip(got, want) if g != w]
                check(len(got) == N and not bad,
                      "%s %s read by %s: %d records, keys, values, headers, offsets intact" % (client, codec, reader, N),
                      (len(got), bad[:2]))


main(test)
