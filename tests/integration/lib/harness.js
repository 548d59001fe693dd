// Node twin of lib/samsa_harness.py for the kafkajs tests: starts a real samsa on a
// free port with a fresh data dir, waits for "serving on", stops it with SIGTERM and
// requires exit code 0; the broker log goes to $SAMSA_TEST_LOGS/integration/<test>.<name>.log
// and its tail is printed when the test fails. SAMSA_TEST_MOCK=1 runs
// build/itest/mockbroker instead (client-side checks only).
'use strict'

const fs = require('fs')
const os = require('os')
const net = require('net')
const path = require('path')
const { spawn, execFileSync } = require('child_process')

const REPO = path.resolve(__dirname, '..', '..', '..')
const LOGS = process.env.SAMSA_TEST_LOGS || path.join(REPO, 'build', 'test-logs')
const SAMSA = process.env.SAMSA || path.join(REPO, 'build', 'asan', 'samsa')
const MOCK = !['', '0', undefined].includes(process.env.SAMSA_TEST_MOCK)
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/

class TestFailure extends Error {}

function log (msg) {
  process.stdout.write(msg + '\n')
}

function check (cond, what, detail) {
  if (!cond) {
    throw new TestFailure(what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''))
  }
  log('ok: ' + what)
}

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

class Broker {
  constructor (t, { name = 'broker', config = {}, mockTopics = [] } = {}) {
    this.t = t
    this.name = name
    this.config = config
    this.mockTopics = mockTopics
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `samsa-${t.name}-data-`))
    t.tmpdirs.push(this.dataDir)
    this.logPath = path.join(LOGS, 'integration', `${t.name}.${name}.log`)
    fs.writeFileSync(this.logPath, '')
    this.proc = null
    this.exit = null
    this.starts = 0
    this.logOffset = 0
    t.brokers.push(this)
  }

  get bootstrap () {
    return `127.0.0.1:${this.port}`
  }

  command () {
    const sets = []
    for (const [k, v] of Object.entries(this.config)) sets.push('--set', `${k}=${v}`)
    if (MOCK) {
      const cmd = [path.join(REPO, 'build', 'itest', 'mockbroker'), ...sets]
      for (const tp of this.mockTopics) cmd.push('--topic', tp)
      return cmd
    }
    return [SAMSA, 'serve', '--set', `listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      '--set', `log.dirs=${this.dataDir}`, ...sets]
  }

  runLog () {
    try {
      const buf = fs.readFileSync(this.logPath)
      return buf.subarray(this.logOffset).toString()
    } catch (e) {
      return ''
    }
  }

  async start (timeoutMs = 30000) {
    if (!this.port) this.port = await freePort()
    const cmd = this.command()
    this.starts++
    fs.appendFileSync(this.logPath, `=== harness: start #${this.starts}: ${cmd.join(' ')}\n`)
    this.logOffset = fs.statSync(this.logPath).size
    const fd = fs.openSync(this.logPath, 'a')
    const t0 = Date.now()
    this.exit = null
    this.proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', fd, fd], cwd: MOCK ? this.dataDir : undefined })
    fs.closeSync(fd)
    this.proc.on('exit', (code, signal) => { this.exit = { code, signal } })
    this.proc.on('error', (e) => { this.exit = { code: null, signal: null, error: e } })
    for (;;) {
      const m = /serving on\s*(\S*)/.exec(this.runLog())
      if (m) {
        if (MOCK) this.port = Number(m[1].split(':').pop())
        break
      }
      if (this.exit) {
        const e = this.exit
        this.proc = null
        throw new TestFailure(`${this.name}: exited (${e.error || e.code || e.signal}) before 'serving on'`)
      }
      if (Date.now() - t0 > timeoutMs) throw new TestFailure(`${this.name}: no 'serving on' within ${timeoutMs} ms`)
      await sleep(20)
    }
    return (Date.now() - t0) / 1000
  }

  async stop (timeoutMs = 30000) {
    if (!this.proc) return
    const proc = this.proc
    if (!this.exit) proc.kill('SIGTERM')
    const t0 = Date.now()
    while (!this.exit && Date.now() - t0 < timeoutMs) await sleep(20)
    this.proc = null
    if (!this.exit) {
      proc.kill('SIGKILL')
      throw new TestFailure(`${this.name}: still running ${timeoutMs} ms after SIGTERM (killed)`)
    }
    this.checkSanitizers()
    if (this.exit.code !== 0) {
      throw new TestFailure(`${this.name}: exit ${JSON.stringify(this.exit)} after SIGTERM, expected code 0`)
    }
  }

  kill () {
    if (this.proc && !this.exit) this.proc.kill('SIGKILL')
    this.proc = null
  }

  requireAlive (what = '') {
    if (!this.proc || this.exit) throw new TestFailure(`${this.name}: not running ${what} ${JSON.stringify(this.exit)}`)
  }

  checkSanitizers () {
    const bad = this.runLog().split('\n').find((l) => SANITIZER.test(l))
    if (bad) throw new TestFailure(`${this.name}: sanitizer report in broker log: ${bad}`)
  }

  dump (n = 60) {
    let text = ''
    try { text = fs.readFileSync(this.logPath, 'utf8') } catch (e) {}
    log(`---- ${this.name} broker log tail (${this.logPath}) ----`)
    log(text.split('\n').slice(-n).join('\n'))
    log(`---- end of ${this.name} broker log ----`)
  }
}

// Runs a python helper (Debian python3, which has confluent_kafka) and parses its
// stdout as JSON lines.
function pyJsonLines (script, args, timeoutMs = 120000) {
  const out = execFileSync('/usr/bin/python3', [path.join(__dirname, script), ...args],
    { timeout: timeoutMs, maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] })
  return out.toString().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
}

async function main (testFn) {
  const name = path.basename(process.argv[1]).replace(/\.[^.]+$/, '')
  fs.mkdirSync(path.join(LOGS, 'integration'), { recursive: true })
  const t = { name, brokers: [], tmpdirs: [] }
  log(`${name}: broker ${SAMSA}${MOCK ? ' [MOCK]' : ''}, node ${process.version}`)
  const t0 = Date.now()
  let ok = false
  try {
    await testFn(t)
    for (const b of t.brokers) await b.stop()
    ok = true
  } catch (e) {
    if (e instanceof TestFailure) log(`FAIL: ${e.message}`)
    else log(`FAIL: unexpected exception: ${e && e.stack ? e.stack : e}`)
    if (e && e.stderr) log('stderr: ' + e.stderr.toString().split('\n').slice(-15).join('\n'))
    for (const b of t.brokers) b.dump()
  } finally {
    for (const b of t.brokers) b.kill()
  }
  const took = ((Date.now() - t0) / 1000).toFixed(1)
  if (ok) {
    for (const d of t.tmpdirs) fs.rmSync(d, { recursive: true, force: true })
    log(`PASS ${name} (${took} s)`)
    process.exit(0)
  }
  for (const d of t.tmpdirs) log(`kept for inspection: ${d}`)
  log(`FAILED ${name} (${took} s)`)
  process.exit(1)
}

// Polls cond() (may be async) every 50 ms until it holds; resolves to the seconds that
// took, or fails the test after timeoutMs.
async function until (cond, timeoutMs, what) {
  const t0 = Date.now()
  for (;;) {
    if (await cond()) return (Date.now() - t0) / 1000
    if (Date.now() - t0 > timeoutMs) throw new TestFailure(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

// A kafkajs client logging at WARN: each of its log entries goes to onLine as
// "kafkajs ERROR|WARN [namespace] message {extra}".
function kafkaClient (bootstrap, clientId, onLine, retry = { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 }) {
  const { Kafka, logLevel } = require('kafkajs')
  const logCreator = () => ({ namespace, level, log: entry }) => {
    const { message, ...extra } = entry
    onLine(`kafkajs ${level === logLevel.ERROR ? 'ERROR' : 'WARN'} [${namespace}] ${message} ${JSON.stringify(extra)}`)
  }
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.WARN, logCreator, retry })
}

module.exports = { Broker, TestFailure, check, log, main, sleep, until, kafkaClient, pyJsonLines, MOCK, REPO }
