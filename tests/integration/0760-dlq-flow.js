#!/usr/bin/env node
// The dead-letter flow of issue 4, with kafkajs 2.2.4 as our users write it:
//   - `order-processor` (consumer.run eachMessage) handles `orders`; its handler
//     throws for poison records, and kafkajs redelivers a record whose handler threw;
//     on the third failure the handler sends the record to `orders.dlq` (same key and
//     value, its own headers kept) with headers naming the original topic,
//     partition and offset, the error and the attempt count, and moves on;
//   - a record that fails twice and then succeeds is processed once, not dead-lettered;
//   - every good record is processed exactly once, in order per partition;
//   - `dlq-auditor`, a second group, reads `orders.dlq` and sees those headers;
//   - both groups end with their offsets committed at the log end (admin.fetchOffsets,
//     and `samsa group describe` decoding kafkajs's assignments: lag 0).
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const path = require('path')
const { execFileSync } = require('child_process')
const { Broker, TestFailure, check, kafkaClient, log, main, sleep, until, REPO } = require('./lib/harness')

const SAMSA = process.env.SAMSA || path.join(REPO, 'build', 'asan', 'samsa')
const TOPIC = 'orders'
const DLQ = 'orders.dlq'
const PARTITIONS = 3
const ORDERS = 60
const POISON = new Set([7, 23, 42, 58]) // fail every time
const TRANSIENT = new Set([11, 30]) // fail twice, then succeed
const MAX_ATTEMPTS = 3

function onClientLog (line) {
  // the handler's own failures (kafkajs logs them, then redelivers) and the
  // rebalance notices are expected
  if (!/Error when calling eachMessage|rebalancing|Restarting the consumer/i.test(line)) log(line)
}

const headersToStrings = (headers) =>
  Object.fromEntries(Object.entries(headers || {}).map(([k, v]) => [k, v === undefined || v === null ? null : v.toString()]))

// The business logic: a poison order cannot be handled; a transient one fails
// on its first two attempts.
function handleOrder (order, attempt) {
  if (order.poison) throw new Error(`order ${order.id}: total is not a number`)
  if (TRANSIENT.has(order.id) && attempt < 3) throw new Error(`order ${order.id}: inventory service timed out`)
}

async function test (t) {
  const b = new Broker(t, { config: { 'group.initial.rebalance.delay.ms': '0' } })
  await b.start()
  const kafka = kafkaClient(b.bootstrap, 'dlq-test', onClientLog)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: TOPIC, numPartitions: PARTITIONS }, { topic: DLQ, numPartitions: 1 }]
  })
  const producer = kafka.producer()
  await producer.connect()

  // Where each order landed, from the producer's acknowledgements.
  const placed = new Map() // id -> { partition, offset }
  async function produceOrders (from, to) {
    for (let id = from; id < to; id++) {
      const [md] = await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: [{
          key: `order-${id}`,
          value: JSON.stringify({ id, total: POISON.has(id) ? 'lots' : id * 10, poison: POISON.has(id) }),
          headers: { 'trace-id': `trace-${id}` }
        }]
      })
      placed.set(id, { partition: md.partition, offset: Number(md.baseOffset) })
    }
  }
  await produceOrders(0, ORDERS / 2)

  // ---- the processing group, with its dead-letter handling
  const attempts = new Map() // "partition/offset" -> handler calls
  const processed = [] // { id, partition, offset }
  const deadLettered = []
  const processor = kafka.consumer({
    groupId: 'order-processor',
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 500 }
  })
  await processor.connect()
  await processor.subscribe({ topics: [TOPIC], fromBeginning: true })
  await processor.run({
    eachMessage: async ({ topic, partition, message }) => {
      const key = `${partition}/${message.offset}`
      const attempt = (attempts.get(key) || 0) + 1
      attempts.set(key, attempt)
      const order = JSON.parse(message.value.toString())
      try {
        handleOrder(order, attempt)
      } catch (err) {
        if (attempt < MAX_ATTEMPTS) throw err // kafkajs delivers the record again
        await producer.send({
          topic: DLQ,
          acks: -1,
          messages: [{
            key: message.key,
            value: message.value,
            headers: {
              ...message.headers,
              'dlq-original-topic': topic,
              'dlq-original-partition': String(partition),
              'dlq-original-offset': message.offset,
              'dlq-error': err.message,
              'dlq-attempts': String(attempt)
            }
          }]
        })
        deadLettered.push(order.id)
        return // handled: the offset moves past it
      }
      processed.push({ id: order.id, partition, offset: Number(message.offset) })
    }
  })

  // ---- the auditing group on the dead-letter topic
  const audited = []
  const auditor = kafka.consumer({ groupId: 'dlq-auditor', sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  await auditor.connect()
  await auditor.subscribe({ topics: [DLQ], fromBeginning: true })
  await auditor.run({
    eachMessage: async ({ topic, partition, message }) => {
      audited.push({
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key.toString(),
        value: message.value.toString(),
        headers: headersToStrings(message.headers)
      })
    }
  })

  await produceOrders(ORDERS / 2, ORDERS)
  const good = ORDERS - POISON.size
  const took = await until(() => processed.length >= good && audited.length >= POISON.size, 90000,
    `${good} processed and ${POISON.size} dead-lettered records (have ${processed.length} and ${audited.length})`)
  log(`all ${ORDERS} orders handled in ${took.toFixed(1)} s`)
  await sleep(1500) // time for a duplicate to show up, if there were one

  // ---- the processing group
  const ids = processed.map((p) => p.id)
  const want = [...Array(ORDERS).keys()].filter((id) => !POISON.has(id))
  check(ids.length === good && new Set(ids).size === good && want.every((id) => ids.includes(id)),
    `every good record processed exactly once (${good})`, { count: ids.length, distinct: new Set(ids).size })
  for (let p = 0; p < PARTITIONS; p++) {
    const offs = processed.filter((r) => r.partition === p).map((r) => r.offset)
    if (!offs.every((o, i) => i === 0 || o > offs[i - 1])) throw new TestFailure(`partition ${p} processed out of order: ${offs}`)
  }
  check(true, 'in offset order within each partition')
  check(processed.every((r) => placed.get(r.id).partition === r.partition && placed.get(r.id).offset === r.offset),
    'each at the partition and offset the producer was given')
  const attemptsOf = (id) => attempts.get(`${placed.get(id).partition}/${placed.get(id).offset}`)
  check([...POISON].every((id) => attemptsOf(id) === MAX_ATTEMPTS), 'each poison record was tried 3 times',
    [...POISON].map(attemptsOf))
  check([...TRANSIENT].every((id) => attemptsOf(id) === 3 && ids.includes(id) && !deadLettered.includes(id)),
    'a record that failed twice succeeded on its third try and was not dead-lettered', [...TRANSIENT].map(attemptsOf))
  check(want.filter((id) => !TRANSIENT.has(id)).every((id) => attemptsOf(id) === 1), 'every other good record: one try')
  check(deadLettered.length === POISON.size && new Set(deadLettered).size === POISON.size,
    'each poison record was sent to orders.dlq once', deadLettered)

  // ---- the dead-letter topic, as the second group saw it
  check(audited.length === POISON.size, `dlq-auditor read ${POISON.size} dead letters`, audited.length)
  for (const rec of audited) {
    const order = JSON.parse(rec.value)
    const at = placed.get(order.id)
    const h = rec.headers
    check(POISON.has(order.id) && rec.key === `order-${order.id}` && order.total === 'lots',
      `dead letter ${rec.offset}: order ${order.id}, key and value as produced`)
    check(h['dlq-original-topic'] === TOPIC && h['dlq-original-partition'] === String(at.partition) &&
      h['dlq-original-offset'] === String(at.offset),
      `  headers name its origin ${TOPIC}/${at.partition}/${at.offset}`, h)
    check(h['dlq-error'] === `order ${order.id}: total is not a number` && h['dlq-attempts'] === '3',
      '  and the error and the 3 attempts', h)
    check(h['trace-id'] === `trace-${order.id}`, '  and its original headers', h)
  }

  // ---- both groups committed everything
  await processor.disconnect()
  await auditor.disconnect()
  const ends = await admin.fetchTopicOffsets(TOPIC)
  const offsets = await admin.fetchOffsets({ groupId: 'order-processor', topics: [TOPIC] })
  const committed = Object.fromEntries(offsets[0].partitions.map((p) => [p.partition, p.offset]))
  check(ends.every((e) => committed[e.partition] === e.high), 'order-processor committed the log end of every partition',
    { committed, ends })
  const dlqOffsets = await admin.fetchOffsets({ groupId: 'dlq-auditor', topics: [DLQ] })
  check(dlqOffsets[0].partitions[0].offset === String(POISON.size), 'dlq-auditor committed the end of orders.dlq',
    dlqOffsets[0].partitions)
  const describe = execFileSync(SAMSA, ['group', 'describe', 'order-processor', '--bootstrap-server', b.bootstrap],
    { timeout: 60000 }).toString()
  const lags = describe.split('\n').map((l) => l.split(/\s+/)).filter((f) => f[0] === 'order-processor' && f[1] === TOPIC)
  check(lags.length === PARTITIONS && lags.every((f) => f[5] === '0'), 'samsa group describe: lag 0 on every partition',
    describe)

  await producer.disconnect()
  await admin.disconnect()
}

main(test)
