#!/usr/bin/env node
// kafkajs 2.2.4: eachBatch consumers and the group admin API, against a real samsa:
//   1. eachBatch with eachBatchAutoResolve: false, resolveOffset, heartbeat and
//      commitOffsetsIfNecessary: every record once, committed offsets at the end;
//   2. admin.describeGroups of a running group: Stable, the member's client id and
//      host, its subscription and its assignment (decoded with kafkajs's own decoder);
//      admin.listGroups lists it; admin.deleteGroups refuses it (NON_EMPTY_GROUP);
//   3. after the consumer leaves: Empty; admin.resetOffsets (earliest) and
//      admin.setOffsets move the committed offsets, admin.fetchOffsets shows them and
//      a new consumer starts from them;
//   4. admin.deleteGroups deletes the group and its offsets; an unknown group is
//      GROUP_ID_NOT_FOUND.
'use strict'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Broker, check, kafkaClient, log, main, sleep, until } = require('./lib/harness')
const { AssignerProtocol } = require('kafkajs')

const TOPIC = 'admin-t'
function onClientLog (line) {
  if (!/rebalancing/.test(line)) log(line)
}

async function committed (admin, groupId) {
  const res = await admin.fetchOffsets({ groupId, topics: [TOPIC] })
  const out = {}
  for (const p of res[0].partitions) out[p.partition] = Number(p.offset)
  return out
}

// A plain eachMessage consumer that records what it reads.
async function simpleConsumer (kafka, groupId) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, offset: Number(message.offset) }) } })
  return { consumer, got }
}

main(async (t) => {
  const b = new Broker(t, { config: { 'group.initial.rebalance.delay.ms': '0' } })
  await b.start()
  const kafka = kafkaClient(b.bootstrap, 'samsa-itest-admin', onClientLog)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = 0; i < 30; i++) messages.push({ partition: i % 3, key: `k${i}`, value: `v${i}` })
  await producer.send({ topic: TOPIC, acks: -1, messages })

  // 1. eachBatch -----------------------------------------------------------------------
  const consumer = kafka.consumer({ groupId: 'batcher', sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
  const seen = new Map()
  let heartbeats = 0
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break
        seen.set(`${batch.partition}:${message.offset}`, (seen.get(`${batch.partition}:${message.offset}`) || 0) + 1)
        resolveOffset(message.offset)
        await heartbeat()
        heartbeats++
      }
      await commitOffsetsIfNecessary()
    }
  })
  await until(() => seen.size >= 30, 30000, 'eachBatch to see 30 records')
  await until(async () => Object.values(await committed(admin, 'batcher')).every((o) => o === 10), 15000,
    'the committed offsets to reach 10 on every partition')
  check(seen.size === 30 && [...seen.values()].every((n) => n === 1) && heartbeats === 30,
    'eachBatch: resolveOffset + heartbeat + commitOffsetsIfNecessary saw each of 30 records once')
  check(JSON.stringify(await committed(admin, 'batcher')) === JSON.stringify({ 0: 10, 1: 10, 2: 10 }),
    'admin.fetchOffsets: offset 10 committed on each of the 3 partitions')

  // 2. describe / list / delete refused ------------------------------------------------------
  const { groups: [g] } = await admin.describeGroups(['batcher'])
  check(g.state === 'Stable' && g.protocolType === 'consumer' && g.protocol === 'RoundRobinAssigner' &&
    g.members.length === 1, 'admin.describeGroups: Stable, protocol RoundRobinAssigner, 1 member',
  { state: g.state, protocol: g.protocol, members: g.members.length })
  const m = g.members[0]
  const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
  const subscription = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
  check(m.clientId === 'samsa-itest-admin' && m.clientHost === '/127.0.0.1' && m.memberId.startsWith('samsa-itest-admin-'),
    'the member shows its client id, client host and member id', { clientId: m.clientId, clientHost: m.clientHost, memberId: m.memberId })
  check(JSON.stringify(assignment.assignment[TOPIC].sort()) === '[0,1,2]' &&
    JSON.stringify(subscription.topics) === JSON.stringify([TOPIC]),
  'member assignment and subscription decode with kafkajs\'s own decoders', { assignment, subscription })
  const listed = await admin.listGroups()
  check(listed.groups.some((x) => x.groupId === 'batcher' && x.protocolType === 'consumer'), 'admin.listGroups lists batcher')
  let refused = null
  try {
    await admin.deleteGroups(['batcher'])
  } catch (e) {
    refused = e
  }
  check(refused && refused.groups && refused.groups[0].error.type === 'NON_EMPTY_GROUP',
    'admin.deleteGroups of a group with members fails with NON_EMPTY_GROUP', refused && refused.message)
  await consumer.disconnect()

  // 3. Empty: resetOffsets, setOffsets --------------------------------------------------------
  const { groups: [e] } = await admin.describeGroups(['batcher'])
  check(e.state === 'Empty' && e.members.length === 0, 'after the consumer left the group is Empty', e.state)
  await admin.resetOffsets({ groupId: 'batcher', topic: TOPIC, earliest: true })
  let c = await simpleConsumer(kafka, 'batcher')
  await until(() => c.got.length >= 30, 30000, 'a consumer to reread everything after resetOffsets')
  await sleep(500)
  check(c.got.length === 30, 'after admin.resetOffsets(earliest) a new consumer rereads all 30 records', c.got.length)
  await c.consumer.disconnect()
  await admin.setOffsets({ groupId: 'batcher', topic: TOPIC, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '8' }, { partition: 2, offset: '10' }] })
  const set = await committed(admin, 'batcher')
  check(set[0] === 5 && set[1] === 8 && set[2] === 10, 'admin.setOffsets then admin.fetchOffsets: 5, 8, 10', set)
  c = await simpleConsumer(kafka, 'batcher')
  await until(() => c.got.length >= 7, 30000, 'a consumer to read from the set offsets')
  await sleep(500)
  const firsts = {}
  for (const r of c.got) if (!(r.partition in firsts)) firsts[r.partition] = r.offset
  check(c.got.length === 7 && firsts[0] === 5 && firsts[1] === 8 && !(2 in firsts),
    'a new consumer starts at the offsets set (5 + 2 records)', { count: c.got.length, firsts })
  await c.consumer.disconnect()

  // 4. deleteGroups ---------------------------------------------------------------------------
  const deleted = await admin.deleteGroups(['batcher'])
  check(deleted.length === 1 && deleted[0].groupId === 'batcher' && deleted[0].errorCode === 0, 'admin.deleteGroups deletes the Empty group', deleted)
  const after = await admin.listGroups()
  check(!after.groups.some((x) => x.groupId === 'batcher'), 'the deleted group is no longer listed')
  const gone = await committed(admin, 'batcher')
  check(Object.values(gone).every((o) => o === -1), 'its committed offsets are gone (-1)', gone)
  let unknown = null
  try {
    await admin.deleteGroups(['no-such-group'])
  } catch (err) {
    unknown = err
  }
  check(unknown && unknown.groups && unknown.groups[0].error.type === 'GROUP_ID_NOT_FOUND',
    'admin.deleteGroups of an unknown group: GROUP_ID_NOT_FOUND', unknown && unknown.message)
  const { groups: [dead] } = await admin.describeGroups(['no-such-group'])
  check(dead.state === 'Dead' && dead.errorCode === 0, 'admin.describeGroups of an unknown group: Dead, no error', dead)

  await producer.disconnect()
  await admin.disconnect()
})
