#!/usr/bin/env node
// kafkajs 2.2.4 idempotent producer, as our users turn it on:
//   producer({ idempotent: true, maxInFlightRequests: 5 })
// (kafkajs sends InitProducerId v1 to the controller, then Produce with its producer
// id, epoch and per-partition sequences).
//   1. 40 concurrent send() calls of 50 keyed records over 3 partitions;
//   2. sends keep going while the broker is killed with SIGKILL twice and restarted on
//      the same data dir and port: kafkajs retries the requests that were in flight with
//      the same sequences, and the broker, having rebuilt its producer state from the
//      log, must answer those it had already stored with their original offsets.
//      These sends come from one loop: kafkajs 2.2.4 gives a failed request's sequence
//      numbers back to whichever send() takes the broker lock next, so with concurrent
//      send() calls a retry after a lost response carries other records under the
//      stored sequences (acknowledged as duplicates, never written) and the first
//      records are re-sent under new ones. Any broker that deduplicates, Kafka included,
//      shows that; it is the client's flaw, not something a broker can repair.
// Read back with confluent-kafka-python (lib/read_topic.py), every partition must hold
// each acknowledged record exactly once, at the offset kafkajs was told, in the order
// of its send; nothing that was not sent; no gap in the offsets.
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Broker, check, kafkaClient, log, main, pyJsonLines, sleep, MOCK } = require('./lib/harness')

const TOPIC = 'idem-js'
const PARTITIONS = 3

const clientLog = []

// Sends msgs (each {i, partition}) in one send(); resolves to the per-partition
// base offsets kafkajs got back, keyed by partition.
async function sendBatch (producer, msgs) {
  const res = await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: msgs.map((m) => ({ key: `k${m.i}`, value: `m${m.i}`, partition: m.partition }))
  })
  const base = {}
  for (const r of res) {
    if (r.errorCode !== 0) throw new Error(`send: partition ${r.partition} error ${r.errorCode}`)
    base[r.partition] = Number(r.baseOffset)
  }
  return base
}

async function test (t) {
  const broker = new Broker(t, { config: { 'num.partitions': PARTITIONS }, mockTopics: [`${TOPIC}:${PARTITIONS}`] })
  await broker.start()
  const kafka = kafkaClient(broker.bootstrap, 'idem-js', (line) => clientLog.push(line),
    { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 })
  const admin = kafka.admin()
  await admin.connect()
  if (!MOCK) await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] })
  await admin.disconnect()

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 })
  await producer.connect()
  let next = 0
  const acked = [] // {i, partition, offset}
  const sendOne = async (n) => {
    const msgs = []
    for (let k = 0; k < n; k++, next++) msgs.push({ i: next, partition: next % PARTITIONS })
    const base = await sendBatch(producer, msgs)
    const seen = {}
    for (const m of msgs) {
      const off = base[m.partition] + (seen[m.partition] || 0)
      seen[m.partition] = (seen[m.partition] || 0) + 1
      acked.push({ i: m.i, partition: m.partition, offset: off })
    }
  }

  // 1. concurrent sends
  const t0 = Date.now()
  const first = []
  for (let s = 0; s < 40; s++) first.push(sendOne(50))
  await Promise.all(first)
  log(`phase 1: ${acked.length} records in 40 concurrent sends in ${Date.now() - t0} ms`)
  check(acked.length === 2000, '2000 records acknowledged by the idempotent producer')

  // 2. sends across two SIGKILLs of the broker
  let stop = false
  let failures = 0
  const loops = []
  for (let w = 0; w < 1; w++) {
    loops.push((async () => {
      while (!stop) {
        try {
          await sendOne(20)
        } catch (e) {
          failures++
          log(`send failed: ${e.message}`)
        }
      }
    })())
  }
  const kills = MOCK ? 0 : 2
  for (let k = 1; k <= kills; k++) {
    await sleep(700 + Math.floor(Math.random() * 800))
    const before = acked.length
    broker.kill()
    await sleep(200)
    const took = await broker.start()
    log(`kill ${k}: ${before} records acknowledged before it; restarted in ${took.toFixed(2)} s`)
    await sleep(300)
  }
  const target = acked.length + 2000
  const deadline = Date.now() + 60000
  while (acked.length < target && Date.now() < deadline) await sleep(50)
  stop = true
  await Promise.all(loops)
  await producer.disconnect()
  log(`phase 2: ${acked.length} records acknowledged in all, ${failures} failed sends`)
  check(failures === 0, 'no send failed (kafkajs retried through the restarts)', failures)
  check(acked.length >= target, `progress after the restarts (${acked.length} records)`)

  // Read back and compare.
  const records = pyJsonLines('read_topic.py', [broker.bootstrap, TOPIC])
  const byOffset = new Map() // "p:offset" -> value
  const counts = new Map()
  for (const r of records) {
    byOffset.set(`${r.partition}:${r.offset}`, r.value)
    counts.set(r.value, (counts.get(r.value) || 0) + 1)
  }
  const dups = [...counts.entries()].filter(([, n]) => n > 1)
  check(dups.length === 0, 'no record appears twice in the log', dups.slice(0, 5))
  const sentValues = new Set()
  for (let i = 0; i < next; i++) sentValues.add(`m${i}`)
  const strangers = records.filter((r) => !sentValues.has(r.value))
  check(strangers.length === 0, 'every record in the log was sent', strangers.slice(0, 3))
  const misplaced = acked.filter((a) => byOffset.get(`${a.partition}:${a.offset}`) !== `m${a.i}`)
  check(misplaced.length === 0,
    `all ${acked.length} acknowledged records are in the log at the offsets kafkajs was given`,
    misplaced.slice(0, 3).map((a) => [a, byOffset.get(`${a.partition}:${a.offset}`)]))
  check(records.length === acked.length, `the log holds exactly the acknowledged records (${records.length})`)
  for (let p = 0; p < PARTITIONS; p++) {
    const inPart = records.filter((r) => r.partition === p).map((r) => r.offset)
    check(inPart.every((o, k) => o === k), `partition ${p}: offsets 0..${inPart.length - 1} dense`)
  }
  if (!MOCK) {
    const whole = require('fs').readFileSync(broker.logPath, 'utf8').split('\n')
    const dupLines = whole.filter((l) => /duplicate batch/.test(l)).length
    const stateLines = broker.runLog().split('\n').filter((l) => /producer state: \d+ producers/.test(l))
    log(`figures: ${records.length} records, ${dupLines} retried batches answered as duplicates ` +
      `over the run; state after the last restart: ${stateLines.map((l) => l.replace(/.*producer state: /, '')).join('; ')}`)
  }
  const errors = clientLog.filter((l) => /ERROR/.test(l) && !/Connection|ECONNREFUSED|connect|ECONNRESET|closed/i.test(l))
  if (errors.length) log(errors.slice(0, 5).join('\n'))
}

main(test)
