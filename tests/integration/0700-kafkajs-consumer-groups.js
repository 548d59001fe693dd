#!/usr/bin/env node
// kafkajs 2.2.4 consumer groups as our users write them, against a real samsa:
//   1. consumer.run({ eachMessage }) reads key, value and headers intact;
//      subscribe({ fromBeginning: true }) replays everything;
//   2. fromBeginning: false only sees records produced after it joined;
//   3. three groups (email-service, inventory-service, analytics-service) each
//      receive every record of `orders`;
//   4. one group of 3 consumers over 6 partitions: each partition assigned to
//      exactly one member, every record consumed exactly once;
//   5. a member leaves: the other two take over its partitions;
//   6. autoCommit: false with consumer.commitOffsets; the consumer process is
//      killed (SIGKILL) and started again: it resumes right after the last
//      committed offset.
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { spawn } = require('child_process')
const { Broker, check, kafkaClient, log, main, sleep, until } = require('./lib/harness')

const clientLog = []
function onClientLog (line) {
  clientLog.push(line)
  // a heartbeat answered REBALANCE_IN_PROGRESS is how members learn of a
  // rebalance; kafkajs logs it at ERROR level
  if (process.argv[2] !== 'child' && !/rebalancing/.test(line)) log(line)
}

// A consumer whose received records and latest assignment are recorded.
async function startConsumer (kafka, groupId, topics, opts = {}) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10000,
    rebalanceTimeout: 15000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  const st = { consumer, groupId, messages: [], assignment: null, joins: 0, memberId: null }
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    st.assignment = e.payload.memberAssignment
    st.memberId = e.payload.memberId
    st.joins++
  })
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: opts.fromBeginning !== false })
  await consumer.run({
    autoCommit: opts.autoCommit !== false,
    eachMessage: async ({ topic, partition, message }) => {
      const rec = {
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key ? message.key.toString() : null,
        value: message.value ? message.value.toString() : null,
        headers: Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, v.toString()]))
      }
      st.messages.push(rec)
      if (opts.onMessage) await opts.onMessage(rec)
    }
  })
  return st
}

function assigned (st, topic) {
  return (st.assignment && st.assignment[topic]) || []
}

async function produce (producer, topic, n, prefix, partitions) {
  const messages = []
  for (let i = 0; i < n; i++) {
    const m = { key: `${prefix}-${i}`, value: `value of ${prefix}-${i}`, headers: { seq: String(i), src: prefix } }
    if (partitions) m.partition = i % partitions
    messages.push(m)
  }
  await producer.send({ topic, acks: -1, messages })
  return messages
}

// ---- child mode: a consumer process that commits at offset 20 and waits to be killed
async function child () {
  const [, , , bootstrap, topic] = process.argv
  const kafka = kafkaClient(bootstrap, 'manual-child', onClientLog)
  let committed = false
  const st = await startConsumer(kafka, 'manual', [topic], {
    autoCommit: false,
    onMessage: async (rec) => {
      if (rec.offset === 19 && !committed) {
        await st.consumer.commitOffsets([{ topic, partition: rec.partition, offset: '20' }])
        committed = true
        process.stdout.write('COMMITTED\n')
      }
    }
  })
  for (;;) await sleep(1000)
}

async function test (t) {
  const b = new Broker(t, { config: { 'group.initial.rebalance.delay.ms': '300' } })
  await b.start()
  const kafka = kafkaClient(b.bootstrap, 'samsa-itest-groups', onClientLog)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 3 },
      { topic: 'jobs', numPartitions: 6 },
      { topic: 'ledger', numPartitions: 1 }
    ]
  })
  const producer = kafka.producer()
  await producer.connect()

  // 1. eachMessage, key/value/headers, fromBeginning: true ------------------------------
  const first = await produce(producer, 'orders', 50, 'first')
  const reader = await startConsumer(kafka, 'reader', ['orders'])
  let took = await until(() => reader.messages.length >= 50, 30000, 'group reader to read 50 records')
  await sleep(300)
  check(reader.messages.length === 50, `fromBeginning: true replays all 50 records (${took.toFixed(1)} s)`, reader.messages.length)
  const byKey = new Map(reader.messages.map((m) => [m.key, m]))
  check(first.every((m) => byKey.has(m.key) && byKey.get(m.key).value === m.value &&
    byKey.get(m.key).headers.seq === m.headers.seq && byKey.get(m.key).headers.src === 'first'),
  'every record read back with its key, value and headers intact')
  const perPartition = {}
  for (const m of reader.messages) (perPartition[m.partition] = perPartition[m.partition] || []).push(m.offset)
  check(Object.values(perPartition).every((offs) => offs.every((o, i) => i === 0 || o === offs[i - 1] + 1)),
    'records of each partition arrive in offset order', perPartition)

  // 2. fromBeginning: false ---------------------------------------------------------------
  const late = await startConsumer(kafka, 'late', ['orders'], { fromBeginning: false })
  await until(() => assigned(late, 'orders').length === 3, 30000, 'group late to get its assignment')
  await sleep(1000) // its fetch positions are resolved to the log end
  const second = await produce(producer, 'orders', 10, 'second')
  await until(() => late.messages.length >= 10, 30000, 'group late to read 10 new records')
  await sleep(500)
  check(late.messages.length === 10 && late.messages.every((m) => m.key.startsWith('second-')),
    'fromBeginning: false sees only the 10 records produced after it joined', late.messages.map((m) => m.key))
  await until(() => reader.messages.length >= 60, 30000, 'group reader to read the new records too')

  // 3. three groups each receive every record --------------------------------------------
  const services = ['email-service', 'inventory-service', 'analytics-service']
  const svc = []
  for (const g of services) svc.push(await startConsumer(kafka, g, ['orders']))
  took = await until(() => svc.every((s) => s.messages.length >= 60), 45000, 'three groups to read 60 records each')
  await sleep(500)
  for (const s of svc) {
    const keys = new Set(s.messages.map((m) => m.key))
    check(s.messages.length === 60 && [...first, ...second].every((m) => keys.has(m.key)),
      `group ${s.groupId} received every one of the 60 records of orders exactly once`, s.messages.length)
  }
  log(`three groups read everything in ${took.toFixed(1)} s`)
  const listed = await admin.listGroups()
  const ids = listed.groups.map((g) => g.groupId)
  check([...services, 'reader', 'late'].every((g) => ids.includes(g)) &&
    listed.groups.every((g) => g.protocolType === 'consumer'), 'admin.listGroups lists the five groups', ids)
  for (const s of [...svc, reader, late]) await s.consumer.disconnect()

  // 4. one group of 3 consumers over 6 partitions ----------------------------------------
  const workers = []
  for (let i = 0; i < 3; i++) workers.push(await startConsumer(kafka, 'workers', ['jobs']))
  const balanced = (members) => {
    const all = members.flatMap((w) => assigned(w, 'jobs'))
    return members.every((w) => assigned(w, 'jobs').length > 0) && all.length === 6 && new Set(all).size === 6
  }
  took = await until(() => balanced(workers), 45000, '3 workers to share the 6 partitions')
  await sleep(1500)
  check(balanced(workers), `3 consumers share 6 partitions, each partition assigned to exactly one (${took.toFixed(1)} s)`,
    workers.map((w) => assigned(w, 'jobs')))
  const desc = await admin.describeGroups(['workers'])
  const dg = desc.groups[0]
  check(dg.state === 'Stable' && dg.members.length === 3 && dg.protocolType === 'consumer' &&
    dg.members.every((m) => m.memberAssignment.length > 0 && m.memberMetadata.length > 0),
  'admin.describeGroups: Stable, 3 members with metadata and assignments', { state: dg.state, members: dg.members.length })
  const jobs = await produce(producer, 'jobs', 600, 'job', 6)
  took = await until(() => workers.reduce((n, w) => n + w.messages.length, 0) >= 600, 45000, '600 jobs to be consumed')
  await sleep(500)
  const seen = new Map()
  const owner = new Map()
  let ownerConflicts = 0
  workers.forEach((w, wi) => {
    for (const m of w.messages) {
      seen.set(m.key, (seen.get(m.key) || 0) + 1)
      if (owner.has(m.partition) && owner.get(m.partition) !== wi) ownerConflicts++
      owner.set(m.partition, wi)
    }
  })
  check(seen.size === 600 && [...seen.values()].every((c) => c === 1) && jobs.every((m) => seen.has(m.key)),
    `600 records consumed exactly once by the group (${took.toFixed(1)} s)`, { distinct: seen.size })
  check(ownerConflicts === 0 && owner.size === 6, 'each partition consumed by exactly one member', [...owner.entries()])

  // 5. a member leaves; the others take over ----------------------------------------------
  const leaver = workers.pop()
  const leftPartitions = assigned(leaver, 'jobs')
  await leaver.consumer.disconnect()
  took = await until(() => balanced(workers) && workers.every((w) => w.joins >= 2), 45000,
    'the 2 remaining workers to take over all 6 partitions')
  await sleep(1000)
  check(balanced(workers), `after a member left, 2 members own all 6 partitions (${took.toFixed(1)} s)`,
    workers.map((w) => assigned(w, 'jobs')))
  const before = workers.map((w) => w.messages.length)
  await produce(producer, 'jobs', 300, 'more', 6)
  await until(() => workers.reduce((n, w, i) => n + w.messages.length - before[i], 0) >= 300, 45000,
    '300 more jobs to be consumed')
  await sleep(500)
  const more = new Map()
  workers.forEach((w, i) => w.messages.slice(before[i]).filter((m) => m.key.startsWith('more-'))
    .forEach((m) => more.set(m.key, (more.get(m.key) || 0) + 1)))
  check(more.size === 300 && [...more.values()].every((c) => c === 1),
    'the 300 later records are consumed exactly once by the remaining members', more.size)
  const takenOver = workers.flatMap((w) => w.messages.slice(0).filter((m) => m.key.startsWith('more-')).map((m) => m.partition))
  check(leftPartitions.every((p) => takenOver.includes(p)), `partitions ${leftPartitions} of the leaver are consumed by the others`)
  for (const w of workers) await w.consumer.disconnect()

  // 6. autoCommit: false, commitOffsets, SIGKILL, resume ----------------------------------
  await produce(producer, 'ledger', 40, 'ledger')
  const proc = spawn(process.execPath, [__filename, 'child', b.bootstrap, 'ledger'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout.on('data', (d) => { out += d.toString() })
  await until(() => out.includes('COMMITTED'), 30000, 'the child consumer to commit offset 20')
  await sleep(500)
  proc.kill('SIGKILL')
  await new Promise((resolve) => proc.on('exit', resolve))
  log('child consumer killed with SIGKILL after committing offset 20')
  const offs = await admin.fetchOffsets({ groupId: 'manual', topics: ['ledger'] })
  check(offs[0].partitions[0].offset === '20', 'admin.fetchOffsets shows the committed offset 20', offs[0].partitions)
  const t0 = Date.now()
  const resumed = await startConsumer(kafka, 'manual', ['ledger'], { autoCommit: false })
  await until(() => resumed.messages.length >= 20, 45000, 'the restarted consumer to read the rest')
  check(resumed.messages[0].offset === 20 && resumed.messages.length === 20 && resumed.messages[0].key === 'ledger-20',
    `restarted consumer resumes right after the last committed offset (first offset ${resumed.messages[0].offset}, ` +
    `${((Date.now() - t0) / 1000).toFixed(1)} s incl. the dead member's session timeout)`)
  await resumed.consumer.disconnect()

  await producer.disconnect()
  await admin.disconnect()
  const errors = clientLog.filter((l) => l.includes('ERROR') && !l.includes('The coordinator is not aware of this member') &&
    !l.includes('rebalancing'))
  if (errors.length) log(`note: ${errors.length} kafkajs error lines (first: ${errors[0]})`)
  const brokerLog = b.runLog()
  check(!/ERROR|runtime error|AddressSanitizer/.test(brokerLog), 'broker log has no ERROR lines')
}

if (process.argv[2] === 'child') {
  child().catch((e) => { console.error(e); process.exit(1) })
} else {
  main(test)
}
