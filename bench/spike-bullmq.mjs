// The engine spike of issue 19, not part of the test suite or `npm run bench`: the kill test on
// BullMQ + Redis and on tau's DBOS engine, the same shape on both. N runs, each making two
// "tool calls" that append `<run>:<call>` to one file (each call then takes 0.4 s, so a kill lands
// inside runs); two workers with concurrency 2; `kill -9` of the worker holding running work once
// a third of the runs have started; then every run must finish on the other worker. Counted: how
// often each tool effect is in the file (exactly once, duplicated, missing), runs finished, and
// the recovery time (from the kill to the last recovered run's end).
//
//   apt-get install redis-server; npm install --no-save bullmq@6.7.0; npm run build
//   node bench/spike-bullmq.mjs [--runs 20] [--only bullmq|dbos] [--backend redis|postgres]
//
// BullMQ variants: `naive` (the job does its calls; a stalled job runs again from its start) and
// `checkpointed` (each call's intent and completion are kept in the job's data, as tau's log
// keeps tool intents and results: a retried job skips the calls it finished or had started). Their stall detection is tuned to the DBOS
// side's failure detection (3 s lock / stalled check against tau's 3 s worker TTL and lease).
// The DBOS side is tau itself: `tau worker` processes of the real binary, runs from `tau submit`,
// a scripted model (a real OpenAI-wire server) whose Bash calls do the appends.
import { spawn, spawnSync } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { freePort, startPostgres } from './pg.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TAU = join(ROOT, 'dist', 'bin', 'tau.js')
const argv = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : fallback
}
const RUNS = Number(flag('--runs', '20'))
const CALL_MS = 400
const STALL_MS = 3000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it gives a value (a deadline, not a fixed wait). */
async function until(what, check, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(50)
  }
}

const lines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])

/** Each expected effect's count in the file. */
function count(file) {
  const seen = new Map()
  for (const line of lines(file)) seen.set(line, (seen.get(line) ?? 0) + 1)
  let once = 0
  let duplicated = 0
  let missing = 0
  for (let run = 0; run < RUNS; run++) {
    for (const call of [1, 2]) {
      const n = seen.get(`${run}:${call}`) ?? 0
      if (n === 1) once++
      else if (n === 0) missing++
      else duplicated += n - 1
    }
  }
  return { effects: RUNS * 2, once, duplicated, missing }
}

function report(label, result) {
  const { effects, once, duplicated, missing } = result.count
  const exact = once === effects && duplicated === 0
  console.log(
    `${label}: ${result.finished}/${RUNS} runs finished; tool effects ${once}/${effects} exactly once, ` +
      `${duplicated} duplicated, ${missing} missing -> ${exact ? 'EXACTLY ONCE' : 'NOT exactly once'}; ` +
      `killed worker had ${result.interrupted} runs running; recovery ${(result.recoveryMs / 1000).toFixed(1)} s ` +
      `(kill to the last of them done); all ${RUNS} done ${(result.totalMs / 1000).toFixed(1)} s after submit`,
  )
}

// --- BullMQ worker process: `node spike-bullmq.mjs --bullmq-worker BACKEND PORT|URL QUEUE FILE MODE`
if (argv[0] === '--bullmq-worker') {
  const [, backend, target, queueName, file, mode] = argv
  const { Worker, createPostgresBackend } = await import('bullmq')
  const connection =
    backend === 'postgres'
      ? { connectionString: target, migrate: true }
      : { host: '127.0.0.1', port: Number(target), maxRetriesPerRequest: null }
  const worker = new Worker(
    queueName,
    async (job) => {
      const done = new Set(job.data.done ?? [])
      for (const call of [1, 2]) {
        if (mode === 'checkpointed') {
          // A finished call is not run again; one that had started (its intent kept, no result)
          // is not either: tau answers it to the model as interrupted. The intent is stored
          // before the effect, as tau's log stores a tool call's intent before the tool starts.
          if (done.has(call) || job.data.intent === call) continue
          await job.updateData({ ...job.data, done: [...done], intent: call })
        }
        appendFileSync(file, `${job.data.run}:${call}\n`)
        await sleep(CALL_MS)
        if (mode === 'checkpointed') {
          done.add(call)
          await job.updateData({ ...job.data, done: [...done], intent: undefined })
        }
      }
      return { run: job.data.run, pid: process.pid }
    },
    {
      connection,
      concurrency: 2,
      lockDuration: STALL_MS,
      stalledInterval: STALL_MS,
      maxStalledCount: 5,
    },
    ...(backend === 'postgres' ? [createPostgresBackend] : []),
  )
  worker.on('active', (job) => process.stdout.write(`active ${job.id}\n`))
  await worker.waitUntilReady()
  process.stdout.write('ready\n')
  await new Promise(() => {})
}

// --- BullMQ, on Redis or on PostgreSQL -------------------------------------------------------
async function bullmq(mode, backend) {
  const { Queue, QueueEvents, createPostgresBackend } = await import('bullmq')
  const dir = mkdtempSync(join(tmpdir(), 'tau-spike-bullmq-'))
  const file = join(dir, 'effects.log')
  let redis
  let pg
  let target
  let connection
  if (backend === 'postgres') {
    // BullMQ 6's PostgreSQL backend (no Redis): the one service tau needs anyway.
    pg = await startPostgres({ name: 'tau-spike-pg-' })
    target = pg.url()
    connection = { connectionString: target, migrate: true }
  } else {
    const port = await freePort()
    // appendonly: Redis keeps the queue on disk as a deployment would (fsync each second).
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
      { stdio: 'ignore' },
    )
    target = String(port)
    connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null }
    const pong = () => spawnSync('redis-cli', ['-p', target, 'ping']).stdout?.toString().includes('PONG')
    await until('redis up', pong, 30_000)
  }
  const factory = backend === 'postgres' ? [createPostgresBackend] : []
  const workers = []
  const queueName = `spike-${mode}`
  let queue
  let events
  try {
    queue = new Queue(queueName, { connection }, ...factory)
    await queue.waitUntilReady()
    events = new QueueEvents(queueName, { connection }, ...factory)
    await events.waitUntilReady()
    const finishedAt = new Map()
    events.on('completed', ({ jobId }) => finishedAt.set(jobId, Date.now()))
    const active = new Map()
    for (let i = 0; i < 2; i++) {
      const child = spawn(
        process.execPath,
        [fileURLToPath(import.meta.url), '--bullmq-worker', backend, target, queueName, file, mode],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d) => {
        out += d
        for (const m of d.matchAll(/active (\S+)/g)) active.set(m[1], child.pid)
      })
      workers.push(child)
      await until('bullmq worker ready', () => out.includes('ready'), 60_000)
    }
    const started = Date.now()
    // jobId = the run's id: enqueueing a run twice is one job (BullMQ's idempotency key).
    for (let run = 0; run < RUNS; run++) await queue.add('run', { run }, { jobId: `run-${run}` })
    await until('a third of the runs started', () => active.size >= Math.ceil(RUNS / 3))
    const victim = workers[0]
    const interrupted = [...active].filter(([id, pid]) => pid === victim.pid && !finishedAt.has(id))
    victim.kill('SIGKILL')
    const killedAt = Date.now()
    await until(
      'every run finished',
      async () => (await queue.getJobCounts('completed')).completed === RUNS,
      240_000,
    )
    const recoveredEnds = interrupted.map(([id]) => finishedAt.get(id) ?? Date.now())
    return {
      finished: (await queue.getJobCounts('completed')).completed,
      count: count(file),
      interrupted: interrupted.length,
      recoveryMs: Math.max(0, ...recoveredEnds.map((t) => t - killedAt)),
      totalMs: Date.now() - started,
    }
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
    await events?.close()
    await queue?.close()
    if (redis) {
      redis.kill('SIGTERM')
      await new Promise((r) => (redis.exitCode !== null ? r() : redis.on('exit', r)))
    }
    await pg?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

// --- tau's DBOS engine ------------------------------------------------------------------------
async function dbos() {
  const { createDurableClient, durableConfig } = await import('../dist/plugins/durable-dbos/index.js')
  const { startScriptedServer } = await import('../dist/plugins/provider-scripted/server.js')
  const pg = await startPostgres({ name: 'tau-spike-pg-' })
  const dir = mkdtempSync(join(tmpdir(), 'tau-spike-dbos-'))
  const file = join(dir, 'effects.log')
  const runOf = (body) => {
    const user = body.messages?.find((m) => m.role === 'user')
    return Number(/run (\d+)/.exec(JSON.stringify(user?.content))?.[1])
  }
  // Run i: two Bash calls appending `i:1` and `i:2`, then its answer.
  const model = await startScriptedServer({
    format: 'openai',
    script: [],
    respond: ({ body }) => {
      const run = runOf(body)
      const call = (body.messages ?? []).filter((m) => m.role === 'tool').length + 1
      if (call > 2) return { text: `run ${run} done` }
      const command = `echo ${run}:${call} >> ${file}; sleep ${CALL_MS / 1000}`
      return { toolCalls: [{ id: `call_${run}_${call}`, name: 'Bash', input: { command } }] }
    },
  })
  const version = `spike-${Date.now()}`
  mkdirSync(join(dir, 'home'))
  writeFileSync(
    join(dir, 'tau.config.json'),
    JSON.stringify({
      model: 'openai:scripted-model',
      permissions: { allow: ['Bash'] },
      durable: {
        database: pg.url(),
        workerConcurrency: 2,
        workerTtlMs: STALL_MS,
        pollIntervalMs: 200,
        applicationVersion: version,
      },
      'session-postgres': { leaseTtlMs: STALL_MS },
    }),
  )
  const env = {
    PATH: process.env.PATH,
    TAU_HOME: join(dir, 'tau-home'),
    HOME: join(dir, 'home'),
    TAU_TRUST: '1',
    OPENAI_BASE_URL: `${model.url}/v1`,
    OPENAI_API_KEY: 'spike',
  }
  const workers = []
  const client = await createDurableClient({
    url: pg.url(),
    config: durableConfig.parse({ database: pg.url() }),
    applicationVersion: version,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  })
  try {
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [TAU, 'worker'], {
        cwd: dir,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let err = ''
      child.stderr.setEncoding('utf8').on('data', (d) => {
        err += d
      })
      workers.push(child)
      await until('tau worker running', () => err.includes('is running'), 120_000)
    }
    const started = Date.now()
    const ids = []
    for (let run = 0; run < RUNS; run++) ids.push(await client.submit({ prompt: `run ${run}` }))
    await until('a third of the runs started', () => {
      const runs = new Set(lines(file).map((l) => l.split(':')[0]))
      return runs.size >= Math.ceil(RUNS / 3) || undefined
    })
    const list = await client.list(RUNS * 2)
    const pending = list.filter((r) => r.status === 'PENDING' && r.executor)
    const victim = workers.find((w) => pending.some((r) => r.executor.includes(`-${w.pid}-`))) ?? workers[0]
    const interrupted = pending.filter((r) => r.executor.includes(`-${victim.pid}-`)).map((r) => r.runId)
    victim.kill('SIGKILL')
    const killedAt = Date.now()
    const ends = new Map()
    await until(
      'every run finished',
      async () => {
        for (const id of ids) {
          if (ends.has(id)) continue
          const run = await client.show(id)
          if (['SUCCESS', 'ERROR', 'CANCELLED'].includes(run.status)) ends.set(id, { at: Date.now(), run })
        }
        return ends.size === RUNS || undefined
      },
      300_000,
    )
    return {
      finished: [...ends.values()].filter((e) => e.run.status === 'SUCCESS').length,
      count: count(file),
      interrupted: interrupted.length,
      recoveryMs: Math.max(0, ...interrupted.map((id) => (ends.get(id)?.at ?? Date.now()) - killedAt)),
      totalMs: Date.now() - started,
    }
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
    await client.close()
    await model.close()
    await pg.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

// BullMQ's closed PostgreSQL backend leaves idle pg clients without an error handler; the
// cluster's shutdown at a variant's end (57P01) reaches them. Anything else still ends the spike.
process.on('uncaughtException', (error) => {
  if (error?.code === '57P01') return
  console.error(error)
  process.exit(1)
})
const only = flag('--only', undefined)
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log(
  `kill test: ${RUNS} runs x 2 tool calls, 2 workers x concurrency 2, kill -9 mid-way; load ${load()}`,
)
if (only !== 'dbos') {
  for (const backend of ['redis', 'postgres']) {
    if (flag('--backend', backend) !== backend) continue
    for (const mode of ['naive', 'checkpointed'])
      report(`BullMQ 6.7.0 ${backend} ${mode}`.padEnd(34), await bullmq(mode, backend))
  }
}
if (only !== 'bullmq') report("tau's DBOS engine".padEnd(34), await dbos())
console.log(`load after: ${load()}`)
