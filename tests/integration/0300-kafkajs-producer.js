#!/usr/bin/env node
// kafkajs 2.2.4 producer code as our users write it, against a real samsa:
//   1. a single keyed message with headers and a timestamp (acks=all);
//   2. a batch of keyed messages (DefaultPartitioner), a gzip batch and sendBatch to
//      two topics; acks=1 and acks=0 sends;
//   3. Partitioners.LegacyPartitioner keeping each key on one partition;
//   4. a custom partitioner routing by a header to a fixed partition.
// kafkajs has no consumer without groups, so the records are read back with
// confluent-kafka-python assign() (lib/read_topic.py): partition, offset, key, value,
// headers and timestamp of every record are checked, and admin.fetchTopicOffsets
// gives the per-partition counts.
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const fs = require('fs')
const path = require('path')
const { Broker, check, kafkaClient, log, main, pyJsonLines, MOCK } = require('./lib/harness')
const { Partitioners, CompressionTypes } = require('kafkajs')

const TOPICS = { 'js-single': 1, 'js-batch': 4, 'js-other': 2, 'js-legacy': 5, 'js-custom': 3, 'js-acks': 1 }

function readTopic (bootstrap, topic) {
  return pyJsonLines(path.join('read_topic.py'), [bootstrap, topic])
}

function byPartition (records) {
  const m = new Map()
  for (const r of records) {
    if (!m.has(r.partition)) m.set(r.partition, [])
    m.get(r.partition).push(r)
  }
  return m
}

// Where kafkajs's partitioner puts a key, for a topic of n partitions (the same
// function the producer calls).
function partitionFor (createPartitioner, topic, n, key) {
  const partitioner = createPartitioner()
  const partitionMetadata = []
  for (let p = 0; p < n; p++) partitionMetadata.push({ partitionId: p, leader: 0 })
  return partitioner({ topic, partitionMetadata, message: { key } })
}

async function offsetsByPartition (admin, topic) {
  const res = await admin.fetchTopicOffsets(topic)
  const out = {}
  for (const r of res) out[r.partition] = [Number(r.low), Number(r.high)]
  return out
}

// kafkajs's warnings and errors, printed and kept: "Response without match" means the
// broker answered a request kafkajs expected no answer to (acks=0) or mixed up
// correlation ids.
const clientLog = []
function onClientLog (line) {
  clientLog.push(line)
  log(line)
}

main(async (t) => {
  const b = new Broker(t, { mockTopics: Object.entries(TOPICS).map(([k, v]) => `${k}:${v}`) })
  await b.start()
  const kafka = kafkaClient(b.bootstrap, 'samsa-itest-kafkajs', onClientLog, { retries: 3, initialRetryTime: 200 })
  const admin = kafka.admin()
  await admin.connect()
  if (!MOCK) {
    const created = await admin.createTopics({
      topics: Object.entries(TOPICS).map(([topic, numPartitions]) => ({ topic, numPartitions }))
    })
    check(created === true, `admin.createTopics ${JSON.stringify(TOPICS)}`, created)
  }

  // 1. a single keyed message with headers --------------------------------------------
  const producer = kafka.producer()
  await producer.connect()
  const ts = '1700000000123'
  let res = await producer.send({
    topic: 'js-single',
    messages: [{
      key: 'user-42',
      value: JSON.stringify({ event: 'signup', user: 42 }),
      headers: { 'trace-id': 'abc-123', source: Buffer.from('kafkajs') },
      timestamp: ts
    }]
  })
  check(res.length === 1 && res[0].errorCode === 0 && res[0].partition === 0 && res[0].baseOffset === '0',
    'single keyed message with headers: acknowledged at js-single-0 offset 0', res)
  let recs = readTopic(b.bootstrap, 'js-single')
  check(recs.length === 1, 'js-single holds 1 record', recs.length)
  const r = recs[0]
  check(r.key === 'user-42' && r.value === '{"event":"signup","user":42}',
    'read back: key and value identical', r)
  check(JSON.stringify(r.headers) === JSON.stringify([['trace-id', 'abc-123'], ['source', 'kafkajs']]),
    'read back: headers trace-id=abc-123, source=kafkajs, in order', r.headers)
  check(r.timestamp === Number(ts) && r.timestamp_type === 1, `read back: CreateTime timestamp ${ts}`,
    [r.timestamp_type, r.timestamp])

  // 2. a batch of keyed messages (DefaultPartitioner = Java's murmur2) ----------------
  const N = 2000
  const keys = 40
  const batch = []
  for (let i = 0; i < N; i++) batch.push({ key: `order-${i % keys}`, value: `payload-${i}` })
  res = await producer.send({ topic: 'js-batch', acks: -1, messages: batch.slice(0, 1000) })
  check(res.every((x) => x.errorCode === 0), `batch of 1000 keyed messages: ${res.length} partitions acknowledged`, res)
  res = await producer.send({ topic: 'js-batch', compression: CompressionTypes.GZIP, messages: batch.slice(1000) })
  check(res.every((x) => x.errorCode === 0), 'gzip batch of 1000 keyed messages acknowledged', res)
  res = await producer.sendBatch({
    topicMessages: [
      { topic: 'js-other', messages: [{ key: 'a', value: 'other-0' }, { key: 'b', value: 'other-1' }, { key: 'c', value: 'other-2' }] },
      { topic: 'js-single', messages: [{ key: 'user-43', value: 'second' }] }
    ]
  })
  check(res.every((x) => x.errorCode === 0) && res.some((x) => x.topicName === 'js-other') &&
    res.some((x) => x.topicName === 'js-single' && x.baseOffset === '1'),
  'sendBatch to js-other and js-single acknowledged (js-single at offset 1)', res)

  recs = readTopic(b.bootstrap, 'js-batch')
  check(recs.length === N, `js-batch holds ${N} records`, recs.length)
  const seen = new Set()
  const keyPart = new Map()
  for (const [p, list] of byPartition(recs)) {
    let last = -1
    for (const x of list) {
      const i = Number(x.value.split('-')[1])
      if (x.value !== `payload-${i}` || x.key !== `order-${i % keys}`) check(false, 'js-batch record intact', x)
      if (i <= last) check(false, `js-batch-${p}: records in send order`, [last, i])
      last = i
      if (seen.has(i)) check(false, 'js-batch: no record twice', x)
      seen.add(i)
      if (keyPart.has(x.key) && keyPart.get(x.key) !== p) check(false, `key ${x.key} on one partition`, [keyPart.get(x.key), p])
      keyPart.set(x.key, p)
    }
  }
  check(seen.size === N, `js-batch: all ${N} records read back once, keys and values intact, in send order per partition`)
  const wrong = [...keyPart].filter(([k, p]) => partitionFor(Partitioners.DefaultPartitioner, 'js-batch', 4, k) !== p)
  check(wrong.length === 0, `js-batch: each of ${keyPart.size} keys on one partition, the one DefaultPartitioner picks`, wrong)
  let offs = await offsetsByPartition(admin, 'js-batch')
  const counts = {}
  for (const x of recs) counts[x.partition] = (counts[x.partition] || 0) + 1
  check(Object.keys(offs).length === 4 && Object.entries(offs).every(([p, [lo, hi]]) => lo === 0 && hi === (counts[p] || 0)),
    'admin.fetchTopicOffsets(js-batch): low 0, high = records read on each partition', { offs, counts })
  recs = readTopic(b.bootstrap, 'js-other')
  check(recs.map((x) => x.value).sort().join() === 'other-0,other-1,other-2', 'js-other: the 3 sendBatch records', recs)

  // acks=1 and acks=0
  res = await producer.send({ topic: 'js-acks', acks: 1, messages: [{ key: 'k', value: 'acks-1' }] })
  check(res.length === 1 && res[0].errorCode === 0 && res[0].baseOffset === '0', 'acks=1 send acknowledged at offset 0', res)
  await producer.send({ topic: 'js-acks', acks: 0, messages: [{ key: 'k', value: 'acks-0' }] })
  res = await producer.send({ topic: 'js-acks', acks: -1, messages: [{ key: 'k', value: 'acks-all' }] })
  check(res.length === 1 && res[0].errorCode === 0 && res[0].baseOffset === '2',
    'acks=0 send then acks=all send: the acks=all one at offset 2 (responses stay in order after acks=0)', res)
  recs = readTopic(b.bootstrap, 'js-acks')
  check(recs.map((x) => x.value).join() === 'acks-1,acks-0,acks-all', 'js-acks: acks-1, acks-0, acks-all in order', recs.map((x) => x.value))
  await producer.disconnect()

  // 3. LegacyPartitioner ---------------------------------------------------------------
  const legacy = kafka.producer({ createPartitioner: Partitioners.LegacyPartitioner })
  await legacy.connect()
  const lkeys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar']
  const sent = []
  for (let round = 0; round < 10; round++) {
    const msgs = lkeys.map((k) => ({ key: k, value: `${k}-${round}` }))
    res = await legacy.send({ topic: 'js-legacy', messages: msgs })
    if (!res.every((x) => x.errorCode === 0)) check(false, 'LegacyPartitioner send acknowledged', res)
    sent.push(...msgs)
  }
  await legacy.disconnect()
  recs = readTopic(b.bootstrap, 'js-legacy')
  check(recs.length === sent.length, `js-legacy holds the ${sent.length} records sent`, recs.length)
  const lpart = new Map()
  for (const x of recs) {
    if (!lpart.has(x.key)) lpart.set(x.key, new Set())
    lpart.get(x.key).add(x.partition)
  }
  const spread = [...lpart].filter(([, s]) => s.size !== 1)
  check(spread.length === 0 && lpart.size === lkeys.length,
    `LegacyPartitioner: each of ${lkeys.length} keys on exactly one partition over 10 sends`, spread)
  const lwrong = lkeys.filter((k) => [...lpart.get(k)][0] !== partitionFor(Partitioners.LegacyPartitioner, 'js-legacy', 5, k))
  check(lwrong.length === 0, 'LegacyPartitioner: the partition is the one LegacyPartitioner computes', lwrong)
  for (const [p, list] of byPartition(recs)) {
    for (const k of lkeys) {
      const rounds = list.filter((x) => x.key === k).map((x) => Number(x.value.split('-').pop()))
      if (rounds.join() !== (rounds.length ? [...Array(10).keys()].join() : '')) {
        check(false, `js-legacy-${p}: key ${k} rounds 0..9 in order`, rounds)
      }
    }
  }
  log('ok: js-legacy: every key\'s 10 values in send order')
  log(`LegacyPartitioner placement: ${JSON.stringify([...lpart].map(([k, s]) => [k, [...s][0]]))}`)

  // 4. a custom partitioner: route by the "region" header --------------------------------
  const REGION = { eu: 0, us: 1, ap: 2 }
  const regionPartitioner = () => ({ partitionMetadata, message }) => {
    const region = message.headers && message.headers.region && message.headers.region.toString()
    const p = REGION[region]
    return p !== undefined && p < partitionMetadata.length ? p : 0
  }
  const custom = kafka.producer({ createPartitioner: regionPartitioner })
  await custom.connect()
  const regions = Object.keys(REGION)
  const cmsgs = []
  for (let i = 0; i < 90; i++) {
    const region = regions[(i * 7) % 3]
    cmsgs.push({ key: `cust-${i}`, value: `v${i}`, headers: { region } })
  }
  res = await custom.send({ topic: 'js-custom', messages: cmsgs })
  check(res.length === 3 && res.every((x) => x.errorCode === 0), 'custom partitioner: 90 messages acknowledged on 3 partitions', res)
  await custom.disconnect()
  recs = readTopic(b.bootstrap, 'js-custom')
  check(recs.length === 90, 'js-custom holds 90 records', recs.length)
  const misrouted = recs.filter((x) => {
    const h = x.headers.find(([k]) => k === 'region')
    return !h || REGION[h[1]] !== x.partition
  })
  check(misrouted.length === 0, 'custom partitioner: every record on the partition its region header names', misrouted.slice(0, 3))
  offs = await offsetsByPartition(admin, 'js-custom')
  check(JSON.stringify(offs) === JSON.stringify({ 0: [0, 30], 1: [0, 30], 2: [0, 30] }),
    'admin.fetchTopicOffsets(js-custom): 30 records on each partition', offs)
  await admin.disconnect()
  b.requireAlive('after the kafkajs producers')
  const unmatched = clientLog.filter((l) => l.includes('Response without match'))
  check(MOCK || unmatched.length === 0, 'kafkajs saw no response without a matching request (none for acks=0)', unmatched)

  // the gzip send is stored as kafkajs compressed it: batch attributes codec 1 on disk
  if (!MOCK) {
    await b.stop()
    const codecs = {}
    for (let p = 0; p < 4; p++) {
      const dir = path.join(b.dataDir, `js-batch-${p}`)
      for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.log')).sort()) {
        const data = fs.readFileSync(path.join(dir, f))
        for (let pos = 0; pos + 61 <= data.length;) {
          const size = 12 + data.readInt32BE(pos + 8)
          const codec = data.readInt16BE(pos + 21) & 7
          codecs[codec] = (codecs[codec] || 0) + data.readInt32BE(pos + 57)
          pos += size
        }
      }
    }
    check(codecs[1] === 1000 && codecs[0] === 1000, 'on disk, js-batch holds 1000 records in gzip batches (codec 1) and 1000 uncompressed', codecs)
  }
})
