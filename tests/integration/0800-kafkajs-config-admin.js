#!/usr/bin/env node
// kafkajs 2.2.4 admin, topic and config administration against a real samsa:
//   createPartitions: validateOnly changes nothing; 2 -> 5 partitions, seen in
//   fetchTopicMetadata and usable at once by a producer; fewer -> INVALID_PARTITIONS;
//   describeConfigs of a topic (override from TOPIC_CONFIG, defaults, synonyms with
//   includeSynonyms, configNames filter) and of the broker (node id);
//   alterConfigs of a topic replaces its overrides and applies them live (a record over
//   the new max.message.bytes is refused); bad values -> INVALID_CONFIG;
//   alterConfigs of the broker: message.max.bytes as a DYNAMIC_BROKER_CONFIG, live;
//   deleteTopicRecords: low watermark moves (fetchTopicOffsets), records below it can no
//   longer be read (confluent-kafka-python), -1 means the high watermark;
//   after a restart every change is still there.
'use strict'
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')
const { Broker, check, log, main, MOCK } = require('./lib/harness')
const { Kafka, logLevel, ConfigResourceTypes, ConfigSource } = require('kafkajs')

const NODE_ID = 1
const TOPIC = 'js-config'

// Reads partition `partition` from `start` with confluent-kafka-python assign()
// (auto.offset.reset=error): the offsets read, or the error text.
function pyRead (bootstrap, topic, partition, start) {
  const code = [
    'import sys, json',
    `sys.path.insert(0, ${JSON.stringify(path.join(__dirname, 'lib'))})`,
    'import kclient',
    'try:',
    `    ms = kclient.read_partition(${JSON.stringify(bootstrap)}, ${JSON.stringify(topic)}, ${partition}, start=${start}, stall=10)`,
    '    print(json.dumps([m.offset() for m in ms]))',
    'except Exception as e:',
    '    print(json.dumps(str(e)))'
  ].join('\n')
  const out = execFileSync('/usr/bin/python3', ['-c', code], { timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] })
  return JSON.parse(out.toString().trim().split('\n').pop())
}

async function expectError (fn, type, what) {
  try {
    await fn()
  } catch (e) {
    const types = []
    for (let x = e; x; x = x.cause) {
      types.push(x.type, ...(x.errors || []).map((y) => y.type), ...(x.partitions || []).map((y) => y.error && y.error.type))
    }
    check(types.includes(type), `${what}: ${type}`, { name: e.name, message: e.message, types })
    return e
  }
  check(false, what, `succeeded instead of failing with ${type}`)
}

function entriesOf (res) {
  check(res.resources.length === 1 && res.resources[0].errorCode === 0, 'describeConfigs: one resource, no error', res.resources)
  return Object.fromEntries(res.resources[0].configEntries.map((e) => [e.configName, e]))
}

async function describeTopic (admin, configNames) {
  return entriesOf(await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames }],
    includeSynonyms: true
  }))
}

async function describeBroker (admin) {
  return entriesOf(await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(NODE_ID) }],
    includeSynonyms: false
  }))
}

async function partitionCount (admin) {
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  return md.topics[0].partitions.length
}

main(async (t) => {
  if (MOCK) {
    log('the mock cluster has no config admin APIs; nothing to check in mock mode')
    return
  }
  const b = new Broker(t, { config: { 'node.id': NODE_ID, 'auto.create.topics.enable': 'false' } })
  await b.start()
  const kafka = new Kafka({
    clientId: 'samsa-itest-config-admin',
    brokers: [b.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  let admin = kafka.admin()
  await admin.connect()
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } })
  await producer.connect()

  check(await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }]
  }) === true, `createTopics ${TOPIC} (2 partitions, retention.ms=3600000)`)

  // -- createPartitions -------------------------------------------------------------------
  await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: TOPIC, count: 5 }] })
  check(await partitionCount(admin) === 2, 'createPartitions validateOnly: still 2 partitions')
  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 5 }] })
  check(await partitionCount(admin) === 5, 'createPartitions to 5: fetchTopicMetadata shows 5 partitions')
  check(fs.existsSync(path.join(b.dataDir, `${TOPIC}-4`)), `${TOPIC}-4 directory exists`)
  await expectError(() => admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 3 }] }),
    'INVALID_PARTITIONS', 'createPartitions to 3')
  await expectError(() => admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 5 }] }),
    'INVALID_PARTITIONS', 'createPartitions to the same 5')
  const sent = await producer.send({ topic: TOPIC, messages: [{ partition: 4, key: 'k', value: 'on partition 4' }] })
  check(sent[0].partition === 4 && sent[0].errorCode === 0, 'producer.send to the new partition 4', sent)

  // -- describeConfigs ----------------------------------------------------------------------
  let cfg = await describeTopic(admin)
  check(cfg['retention.ms'].configValue === '3600000' && cfg['retention.ms'].configSource === ConfigSource.TOPIC_CONFIG,
    'describeConfigs: retention.ms=3600000 from TOPIC_CONFIG', cfg['retention.ms'])
  check(cfg['retention.ms'].configSynonyms.map((s) => s.configName).includes('log.retention.ms'),
    'retention.ms synonyms include log.retention.ms', cfg['retention.ms'].configSynonyms)
  check(cfg['cleanup.policy'].configValue === 'delete' && cfg['cleanup.policy'].configSource === ConfigSource.DEFAULT_CONFIG &&
    cfg['max.message.bytes'].configValue === '1048588',
  'cleanup.policy=delete and max.message.bytes=1048588 are DEFAULT_CONFIG')
  cfg = await describeTopic(admin, ['cleanup.policy', 'segment.bytes'])
  check(Object.keys(cfg).sort().join() === 'cleanup.policy,segment.bytes', 'configNames narrows the answer', Object.keys(cfg))

  let bcfg = await describeBroker(admin)
  check(bcfg['message.max.bytes'].configValue === '1048588' && !bcfg['message.max.bytes'].readOnly &&
    bcfg['node.id'].configValue === String(NODE_ID) && bcfg['node.id'].readOnly &&
    bcfg['node.id'].configSource === ConfigSource.STATIC_BROKER_CONFIG,
  'describeConfigs broker: message.max.bytes dynamic, node.id read-only from STATIC_BROKER_CONFIG')

  // -- alterConfigs: topic -------------------------------------------------------------------
  await admin.alterConfigs({
    validateOnly: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]
  })
  check((await describeTopic(admin))['cleanup.policy'].configValue === 'delete', 'alterConfigs validateOnly changes nothing')
  await admin.alterConfigs({
    resources: [{
      type: ConfigResourceTypes.TOPIC,
      name: TOPIC,
      configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'max.message.bytes', value: '1000' }]
    }]
  })
  cfg = await describeTopic(admin)
  check(cfg['cleanup.policy'].configValue === 'compact,delete' && cfg['max.message.bytes'].configValue === '1000' &&
    cfg['max.message.bytes'].configSource === ConfigSource.TOPIC_CONFIG,
  'alterConfigs: cleanup.policy=compact,delete, max.message.bytes=1000 read back')
  check(cfg['retention.ms'].configValue === '604800000' && cfg['retention.ms'].configSource === ConfigSource.DEFAULT_CONFIG,
    'alterConfigs replaced the overrides: retention.ms is back to its default', cfg['retention.ms'])
  await expectError(() => producer.send({ topic: TOPIC, messages: [{ partition: 0, value: 'x'.repeat(2000) }] }),
    'MESSAGE_TOO_LARGE', 'a 2000-byte record after max.message.bytes=1000')
  await producer.send({ topic: TOPIC, messages: [{ partition: 0, key: 'k', value: 'x'.repeat(300) }] }) // compacted: keyed
  log('ok: a 300-byte record passes')
  await expectError(() => admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'cleanup.policy', value: 'forever' }] }]
  }), 'INVALID_CONFIG', 'alterConfigs cleanup.policy=forever')
  await expectError(() => admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.mss', value: '1' }] }]
  }), 'INVALID_CONFIG', 'alterConfigs of an unknown key')
  await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '7200000' }] }]
  })
  cfg = await describeTopic(admin)
  check(cfg['retention.ms'].configValue === '7200000' && cfg['max.message.bytes'].configValue === '1048588',
    'alterConfigs retention.ms=7200000 alone: max.message.bytes back to 1048588')
  await producer.send({ topic: TOPIC, messages: [{ partition: 0, value: 'x'.repeat(2000) }] })
  log('ok: the 2000-byte record passes again')

  // -- alterConfigs: broker ------------------------------------------------------------------
  await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(NODE_ID), configEntries: [{ name: 'message.max.bytes', value: '4000' }] }]
  })
  bcfg = await describeBroker(admin)
  check(bcfg['message.max.bytes'].configValue === '4000' && bcfg['message.max.bytes'].configSource === ConfigSource.DYNAMIC_BROKER_CONFIG,
    'broker message.max.bytes=4000 from DYNAMIC_BROKER_CONFIG', bcfg['message.max.bytes'])
  await expectError(() => producer.send({ topic: TOPIC, messages: [{ partition: 1, value: 'x'.repeat(6000) }] }),
    'MESSAGE_TOO_LARGE', 'a 6000-byte record is refused without a restart')
  await expectError(() => admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(NODE_ID), configEntries: [{ name: 'log.dirs', value: '/tmp/x' }] }]
  }), 'INVALID_CONFIG', 'alterConfigs of read-only log.dirs')

  // -- deleteTopicRecords ----------------------------------------------------------------------
  await producer.send({ topic: TOPIC, messages: Array.from({ length: 50 }, (_, i) => ({ partition: 2, key: `k${i}`, value: `v${i}` })) })
  await producer.send({ topic: TOPIC, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 3, value: `w${i}` })) })
  let offsets = await admin.fetchTopicOffsets(TOPIC)
  let p2 = offsets.find((o) => o.partition === 2)
  check(p2.low === '0' && p2.high === '50', 'partition 2 holds offsets 0..49', p2)
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 2, offset: '30' }, { partition: 3, offset: '-1' }] })
  offsets = await admin.fetchTopicOffsets(TOPIC)
  p2 = offsets.find((o) => o.partition === 2)
  const p3 = offsets.find((o) => o.partition === 3)
  check(p2.low === '30' && p2.high === '50' && p3.low === '20' && p3.high === '20',
    'deleteTopicRecords: partition 2 low watermark 30, partition 3 (offset -1) emptied to 20', offsets)
  const below = pyRead(b.bootstrap, TOPIC, 2, 0)
  check(typeof below === 'string' && /out of range/i.test(below), 'reading partition 2 from offset 0 fails: out of range', below)
  const rest = pyRead(b.bootstrap, TOPIC, 2, 30)
  check(Array.isArray(rest) && rest.join() === Array.from({ length: 20 }, (_, i) => 30 + i).join(),
    'reading from 30 returns offsets 30..49', rest)
  await expectError(() => admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 2, offset: '51' }] }),
    'OFFSET_OUT_OF_RANGE', 'deleteTopicRecords beyond the high watermark')

  // -- restart ------------------------------------------------------------------------------------
  await producer.disconnect()
  await admin.disconnect()
  await b.stop()
  await b.start()
  admin = kafka.admin()
  await admin.connect()
  check(await partitionCount(admin) === 5, 'after restart: 5 partitions')
  cfg = await describeTopic(admin)
  check(cfg['retention.ms'].configValue === '7200000' && cfg['max.message.bytes'].configValue === '4000' &&
    cfg['max.message.bytes'].configSource === ConfigSource.DYNAMIC_BROKER_CONFIG,
  'after restart: topic override and broker dynamic default kept', [cfg['retention.ms'], cfg['max.message.bytes']])
  offsets = await admin.fetchTopicOffsets(TOPIC)
  p2 = offsets.find((o) => o.partition === 2)
  check(p2.low === '30' && p2.high === '50', 'after restart: partition 2 low watermark still 30', p2)
  await admin.disconnect()
})
