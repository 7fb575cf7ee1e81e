// Durable runs, a smoke benchmark (the lead records figures in docs/benchmarks.md). After
// `npm run build`, with PostgreSQL installed (a throwaway cluster is started, as the tests do):
//   node bench/durable.mjs
// 1. Engine overhead: wall time of `tau submit --wait` (a warm worker runs it) against
//    `tau start -p` (in-process) for the same one-turn run; both include the command's start.
// 2. Throughput: 20 one-turn runs submitted at once, with 1 worker and with 2 workers.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDurableClient, durableConfig } from '../dist/plugins/durable-dbos/index.js'
import { startScriptedServer } from '../dist/plugins/provider-scripted/server.js'
import { startPostgres } from './pg.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TAU = join(ROOT, 'dist', 'bin', 'tau.js')
const RUNS = 20

const pg = await startPostgres({ settings: { fsync: 'off' } })
const pgUrl = pg.url()
const model = await startScriptedServer({ format: 'openai', script: [], respond: () => ({ text: 'done' }) })
const dir = mkdtempSync(join(tmpdir(), 'tau-bench-durable-'))
const home = join(dir, 'home')
mkdirSync(home)
const version = `bench-${Date.now()}`
writeFileSync(
  join(dir, 'tau.config.json'),
  JSON.stringify({
    model: 'openai:scripted-model',
    durable: { database: pgUrl, workerConcurrency: 4, pollIntervalMs: 100, applicationVersion: version },
  }),
)
const env = {
  PATH: process.env.PATH,
  TAU_HOME: join(dir, 'tau-home'),
  HOME: home,
  TAU_TRUST: '1',
  OPENAI_BASE_URL: `${model.url}/v1`,
  OPENAI_API_KEY: 'bench',
}
// Asynchronous: the model server answers from this process, so the command must not block it.
const tau = (args) =>
  new Promise((resolve, reject) => {
    const t = performance.now()
    const child = spawn(process.execPath, [TAU, ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t) : reject(new Error(`tau ${args.join(' ')}: ${err}`)),
    )
  })
const workers = []
const startWorker = () => {
  const w = spawn(process.execPath, [TAU, 'worker'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
  workers.push(w)
  return new Promise((resolve) => w.stderr.on('data', (d) => String(d).includes('is running') && resolve()))
}
const client = await createDurableClient({
  url: pgUrl,
  config: durableConfig.parse({ database: pgUrl }),
  applicationVersion: version,
  logger: { debug() {}, info() {}, warn() {}, error() {} },
})
async function throughput(label) {
  const t = performance.now()
  const ids = []
  for (let i = 0; i < RUNS; i++) ids.push(await client.submit({ prompt: `run ${i}` }))
  for (const id of ids) await client.wait(id, 120_000)
  const s = (performance.now() - t) / 1000
  console.log(`${label}: ${RUNS} one-turn runs in ${s.toFixed(2)} s (${(RUNS / s).toFixed(1)} runs/s)`)
}
try {
  await startWorker()
  await tau(['submit', '--wait', 'warm up'])
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const local = []
  const durable = []
  for (let i = 0; i < 3; i++) local.push(await tau(['start', '-p', 'hello']))
  for (let i = 0; i < 3; i++) durable.push(await tau(['submit', '--wait', 'hello']))
  console.log(
    `one-turn run, wall time with the command's start: in-process ${median(local).toFixed(0)} ms, durable ${median(durable).toFixed(0)} ms (overhead ${(median(durable) - median(local)).toFixed(0)} ms)`,
  )
  await throughput('1 worker')
  await startWorker()
  await throughput('2 workers')
} finally {
  for (const w of workers) w.kill('SIGTERM')
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.on('exit', r)))))
  await client.close()
  await model.close()
  await pg.stop()
  rmSync(dir, { recursive: true, force: true })
}
