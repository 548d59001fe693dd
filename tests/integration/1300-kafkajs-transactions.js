#!/usr/bin/env node
// kafkajs 2.2.4 transactions as our users write them:
//   producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
//   const txn = await producer.transaction(); await txn.send(...); await txn.commit()
// (kafkajs: FindCoordinator(transaction), InitProducerId, AddPartitionsToTxn v1 before
// the first record to a partition, AddOffsetsToTxn + TxnOffsetCommit for sendOffsets,
// EndTxn v1.)
//   1. transaction 1 sends keyed records with headers to 3 partitions, plain and GZIP,
//      and sendOffsets(group js-eos, src-0 -> 10), then commits; transaction 2 sends
//      more records (also GZIP) and sendOffsets(src-0 -> 20), then aborts;
//      transaction 3 commits a few more (it can only begin once the abort is done).
//   2. a read_committed consumer (kafkajs' default) receives exactly the records of
//      transactions 1 and 3, each once, at the offsets the producer was given, with
//      keys and headers intact, in order per partition; a read_uncommitted consumer
//      (readUncommitted: true) receives those and the aborted ones; neither sees a
//      control record.
//   3. admin.fetchOffsets(js-eos): 10 after the commit, still 10 after the abort.
//   4. a second producer with the same transactionalId fences the first while the
//      first has a transaction open: the first's next send and its commit fail with
//      INVALID_PRODUCER_EPOCH (what Kafka answers v1 requests), its open records are
//      aborted (never visible read_committed), and the second producer commits.
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Broker, TestFailure, check, kafkaClient, log, main, sleep, until, MOCK } = require('./lib/harness')
const { CompressionTypes } = require('kafkajs')

const TOPIC = 'txn-js'
const SRC = 'txn-js-src'
const PARTITIONS = 3
const GROUP = 'js-eos'
const TXN_ID = 'js-tx'

const clientLog = []
// Every error type in an error chain (kafkajs wraps protocol errors in retry errors).
function errorTypes (e, out = []) {
  if (!e || out.length > 20) return out
  if (e.type) out.push(e.type)
  if (e.name) out.push(e.name)
  errorTypes(e.originalError, out)
  errorTypes(e.cause, out)
  for (const x of e.errors || []) errorTypes(x, out)
  return out
}

// Messages {i, tag, partition} -> kafkajs messages with key, value and headers.
function toMessages (msgs) {
  return msgs.map((m) => ({
    key: `k${m.i}`,
    value: `${m.tag}${m.i}`,
    partition: m.partition,
    headers: { tag: m.tag, n: String(m.i) }
  }))
}

// Records each message's offset from a send() answer (base offset per partition;
// the records of one partition are consecutive in the order given).
function noteOffsets (res, msgs, into) {
  const base = {}
  for (const r of res) {
    if (r.errorCode !== 0) throw new TestFailure(`send: partition ${r.partition} error ${r.errorCode}`)
    base[r.partition] = Number(r.baseOffset)
  }
  const seen = {}
  for (const m of msgs) {
    into.push({ ...m, offset: base[m.partition] + (seen[m.partition] || 0) })
    seen[m.partition] = (seen[m.partition] || 0) + 1
  }
}

let nextI = 0
function batch (tag, n) {
  const out = []
  for (let k = 0; k < n; k++, nextI++) out.push({ i: nextI, tag, partition: nextI % PARTITIONS })
  return out
}

// One transaction: plain send, GZIP sendBatch, optional sendOffsets, then commit or abort.
async function runTxn (producer, tag, n, offsets, commit, sent) {
  const txn = await producer.transaction()
  const a = batch(tag, n)
  const b = batch(tag, n)
  const mine = []
  noteOffsets(await txn.send({ topic: TOPIC, acks: -1, messages: toMessages(a) }), a, mine)
  const res = await txn.sendBatch({
    acks: -1,
    compression: CompressionTypes.GZIP,
    topicMessages: [{ topic: TOPIC, messages: toMessages(b) }]
  })
  noteOffsets(res, b, mine)
  if (offsets !== null) {
    await txn.sendOffsets({ consumerGroupId: GROUP, topics: [{ topic: SRC, partitions: [{ partition: 0, offset: String(offsets) }] }] })
  }
  if (commit) await txn.commit()
  else await txn.abort()
  for (const m of mine) sent.push({ ...m, committed: commit })
  return mine
}

async function consumeAll (kafka, groupId, readUncommitted, want) {
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200, heartbeatInterval: 500, sessionTimeout: 10000 })
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      got.push({
        partition,
        offset: Number(message.offset),
        key: message.key && message.key.toString(),
        value: message.value && message.value.toString(),
        headers: Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, v.toString()]))
      })
    }
  })
  await until(() => got.length >= want, 30000, `${groupId}: ${want} records (have ${got.length})`)
  await sleep(1500) // anything beyond `want` would arrive now
  await consumer.disconnect()
  return got
}

// The consumed records must be exactly `expect` (sent records), each once, at the offset
// the producer was given, with key and headers intact, in offset order per partition.
function checkConsumed (what, got, expect) {
  const byValue = new Map(expect.map((m) => [`${m.tag}${m.i}`, m]))
  const seen = new Set()
  const problems = []
  for (const r of got) {
    const m = byValue.get(r.value)
    if (!m) problems.push(['unexpected', r])
    else if (seen.has(r.value)) problems.push(['twice', r])
    else if (r.partition !== m.partition || r.offset !== m.offset) problems.push(['moved', r, m.offset])
    else if (r.key !== `k${m.i}` || r.headers.tag !== m.tag || r.headers.n !== String(m.i)) problems.push(['mangled', r])
    seen.add(r.value)
  }
  check(problems.length === 0, `${what}: every record is one of the ${expect.length} expected, once, at its offset, key and headers intact`, problems.slice(0, 5))
  const missing = expect.filter((m) => !seen.has(`${m.tag}${m.i}`))
  check(missing.length === 0, `${what}: all ${expect.length} expected records received`, missing.slice(0, 5))
  for (let p = 0; p < PARTITIONS; p++) {
    const offs = got.filter((r) => r.partition === p).map((r) => r.offset)
    check(offs.every((o, k) => k === 0 || o > offs[k - 1]), `${what}: partition ${p} in offset order`)
  }
}

async function committedOffset (admin) {
  const res = await admin.fetchOffsets({ groupId: GROUP, topics: [SRC] })
  const t = res.find((x) => x.topic === SRC)
  return t ? Number(t.partitions.find((p) => p.partition === 0).offset) : NaN
}

async function test (t) {
  if (MOCK) {
    log('the mock cluster is not what this test is about; nothing to check in mock mode')
    return
  }
  const broker = new Broker(t, { config: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 3 } })
  await broker.start()
  const kafka = kafkaClient(broker.bootstrap, 'txn-js', (line) => clientLog.push(line),
    { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }, { topic: SRC, numPartitions: 1 }] })
  const plain = kafka.producer()
  await plain.connect()
  await plain.send({ topic: SRC, messages: Array.from({ length: 30 }, (_, i) => ({ value: `src${i}` })) })
  await plain.disconnect()

  // 1. commit, abort, commit
  const producer = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const sent = []
  const t0 = Date.now()
  await runTxn(producer, 'c', 15, 10, true, sent)
  check(true, 'transaction 1 committed: 30 records (15 plain, 15 GZIP) over 3 partitions, sendOffsets(src-0 -> 10)')
  await until(async () => (await committedOffset(admin)) === 10, 10000, 'the committed offset 10')
  check(true, 'admin.fetchOffsets: js-eos at 10 on src-0 after the commit')
  await runTxn(producer, 'a', 10, 20, false, sent)
  check(true, 'transaction 2 aborted: 20 records (10 plain, 10 GZIP), sendOffsets(src-0 -> 20)')
  await runTxn(producer, 'c', 5, null, true, sent)
  check(true, 'transaction 3 committed: 10 more records')
  log(`three transactions in ${Date.now() - t0} ms`)
  const offsetAfterAbort = await committedOffset(admin)
  check(offsetAfterAbort === 10, 'admin.fetchOffsets: still 10 after the aborted transaction\'s sendOffsets(20)', offsetAfterAbort)

  const committed = sent.filter((m) => m.committed)
  const rc = await consumeAll(kafka, 'rc-reader', false, committed.length)
  checkConsumed('read_committed consumer', rc, committed)
  const ru = await consumeAll(kafka, 'ru-reader', true, sent.length)
  checkConsumed('read_uncommitted consumer', ru, sent)
  const markerGaps = []
  for (let p = 0; p < PARTITIONS; p++) {
    const offs = ru.filter((r) => r.partition === p).map((r) => r.offset)
    for (let k = 1; k < offs.length; k++) if (offs[k] !== offs[k - 1] + 1) markerGaps.push([p, offs[k - 1], offs[k]])
  }
  // each partition holds 3 transactions' records with a control batch after each
  check(markerGaps.length === 2 * PARTITIONS && markerGaps.every(([, a, b]) => b === a + 2),
    'read_uncommitted: offsets skip exactly one control record between transactions on each partition', markerGaps)

  // 4. fencing
  const p1 = producer
  const zombie = await p1.transaction()
  const z = batch('z', 2)
  const zSent = []
  noteOffsets(await zombie.send({ topic: TOPIC, acks: -1, messages: toMessages(z) }), z, zSent)
  check(true, 'producer 1 opened transaction 4 with 2 records')
  const p2 = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1 })
  await p2.connect()
  const fresh = await p2.transaction() // InitProducerId: fences producer 1, aborts its transaction
  const n = batch('n', 3)
  const nSent = []
  noteOffsets(await fresh.send({ topic: TOPIC, acks: -1, messages: toMessages(n) }), n, nSent)
  await fresh.commit()
  check(true, 'producer 2 with the same transactionalId initialised and committed 3 records')

  let sendErr = null
  try {
    const more = z.slice(0, 1).map((m) => ({ ...m, i: nextI++ }))
    await zombie.send({ topic: TOPIC, acks: -1, messages: toMessages(more) })
  } catch (e) {
    sendErr = e
  }
  check(sendErr && errorTypes(sendErr).includes('INVALID_PRODUCER_EPOCH'), 'producer 1\'s next send fails: INVALID_PRODUCER_EPOCH', sendErr && errorTypes(sendErr))
  let commitErr = null
  try {
    await zombie.commit()
  } catch (e) {
    commitErr = e
  }
  check(commitErr && errorTypes(commitErr).includes('INVALID_PRODUCER_EPOCH'), 'producer 1\'s commit fails: INVALID_PRODUCER_EPOCH', commitErr && errorTypes(commitErr))
  await p1.disconnect().catch(() => {})
  await p2.disconnect()

  const expectRc = committed.concat(nSent.map((m) => ({ ...m, committed: true })))
  const rc2 = await consumeAll(kafka, 'rc-reader-2', false, expectRc.length)
  checkConsumed('read_committed after the fencing', rc2, expectRc)
  check(!rc2.some((r) => r.value.startsWith('z')), 'the fenced producer\'s records are not visible read_committed')
  await admin.disconnect()

  const errors = clientLog.filter((l) => /ERROR/.test(l) && !/INVALID_PRODUCER_EPOCH|epoch/i.test(l))
  if (errors.length) log(errors.slice(0, 10).join('\n'))
}

main(test)
