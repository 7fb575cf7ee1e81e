// What a durable worker's first boot costs PostgreSQL on an empty database against one already
// migrated (the test suite's migrated template, test/plugins/session-postgres/pg-cluster.ts).
// After `npm run build`, with PostgreSQL installed (a throwaway cluster is started, as the tests do):
//   node bench/pg-migrations.mjs [rounds]
// Each round makes two databases (CREATE DATABASE from template0), runs on one what a durable
// worker runs first (session-postgres's migrate(), then the durable client's DBOS migration and a
// list) and on the other what a session store runs first (migrate() only), twice each, and reports the CPU of the cluster (postmaster, its children, and the backends it reaped:
// /proc) and of this process for the first pass (from scratch) and the second (all applied).
// The same for a whole `tau worker` boot (to its 'is running' line), the worker's CPU as "this
// process". Alternating A/B inside one process; medians.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDurableClient, durableConfig } from '../dist/plugins/durable-dbos/index.js'
import { createPool, migrate } from '../dist/plugins/session-postgres/index.js'
import { startPostgres } from './pg.mjs'

const ROUNDS = Number(process.argv[2] ?? 5)
const TAU = fileURLToPath(new URL('../dist/bin/tau.js', import.meta.url))
const TICK = 100 // USER_HZ on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** CPU seconds of `pid`, its live children and the children it reaped. */
function treeCpu(pid) {
  const stat = (p) => {
    const text = readFileSync(`/proc/${p}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  }
  const own = stat(pid)
  // Fields after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === pid) continue
    try {
      const s = stat(name)
      if (Number(s[1]) === pid) ticks += Number(s[11]) + Number(s[12])
    } catch {}
  }
  return ticks / TICK
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const root = mkdtempSync(join(tmpdir(), 'tau-bench-pgmig-projects-'))
const cluster = await startPostgres({
  name: 'tau-bench-pgmig-',
  settings: { fsync: 'off', max_connections: 200 },
})
const postmaster = cluster.pid
const url = (db) => cluster.url(db)
const logger = { debug() {}, info() {}, warn() {}, error() {} }

async function tauTables(db) {
  const pool = await createPool(url(db), { max: 4 })
  try {
    await migrate(pool)
  } finally {
    await pool.end()
  }
}

async function dbosTables(db) {
  const client = await createDurableClient({
    url: url(db),
    config: durableConfig.parse({ database: url(db) }),
    applicationVersion: 'bench',
    logger,
  })
  try {
    await client.list()
  } finally {
    await client.close()
  }
}

async function firstBoot(db) {
  await tauTables(db)
  await dbosTables(db)
}

/** `tau worker` on `db` until it says it is running; its own CPU (read before it stops). */
async function workerBoot(db) {
  const dir = join(root, `project-${db}`)
  mkdirSync(join(dir, 'home'), { recursive: true })
  writeFileSync(
    join(dir, 'tau.config.json'),
    JSON.stringify({ model: 'scripted:demo', durable: { database: url(db), applicationVersion: 'bench' } }),
  )
  const env = {
    PATH: process.env.PATH,
    TAU_HOME: join(dir, 'tau-home'),
    HOME: join(dir, 'home'),
    TAU_TRUST: '1',
  }
  const worker = spawn(process.execPath, [TAU, 'worker'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise((resolve, reject) => {
    const seen = (d) => {
      output += d
      if (output.includes('is running')) resolve()
    }
    worker.stdout.on('data', seen)
    worker.stderr.on('data', seen)
    worker.once('exit', (code) => reject(new Error(`tau worker exited (${code}): ${output}`)))
  })
  const s = readFileSync(`/proc/${worker.pid}/stat`, 'utf8')
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ')
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICK
  worker.kill('SIGTERM')
  await new Promise((resolve) => worker.once('exit', resolve))
  return cpu
}

async function measured(db, boot) {
  const pg0 = treeCpu(postmaster)
  const me0 = process.cpuUsage()
  await boot(db)
  await sleep(200) // the backends exit and are reaped
  const me = process.cpuUsage(me0)
  return { pg: treeCpu(postmaster) - pg0, me: (me.user + me.system) / 1e6 + workerCpu }
}

const admin = await createPool(url('postgres'), { max: 1 })
await firstBoot('postgres') // DBOS and pg loaded, connections warm: what remains is the migrations
let workerCpu = 0
const parts = {
  'tau + DBOS': firstBoot,
  'tau only': tauTables,
  'tau worker': async (db) => {
    workerCpu = await workerBoot(db)
  },
}
const figures = {}
for (const name of Object.keys(parts))
  figures[name] = { scratch: { pg: [], me: [] }, applied: { pg: [], me: [] } }
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, boot] of Object.entries(parts)) {
    const db = `bench_${i}_${name.replace(/[^a-z]/g, '')}`
    await admin.query(`CREATE DATABASE ${db} TEMPLATE template0`)
    // A first connection builds the database's relation cache file, which a migrated copy pays too.
    const warm = await createPool(url(db), { max: 1 })
    await warm.query('SELECT 1')
    await warm.end()
    workerCpu = 0
    const a = await measured(db, boot)
    workerCpu = 0
    const b = await measured(db, boot)
    for (const [into, m] of [
      [figures[name].scratch, a],
      [figures[name].applied, b],
    ]) {
      into.pg.push(m.pg)
      into.me.push(m.me)
    }
  }
}
await admin.end()
await cluster.stop()
rmSync(root, { recursive: true, force: true })

const f = (x) => x.toFixed(2)
console.log(`a first boot's migrations on a database, ${ROUNDS} rounds, CPU seconds (median):`)
for (const [name, { scratch, applied }] of Object.entries(figures)) {
  console.log(
    `  ${name}, from scratch:    PostgreSQL ${f(median(scratch.pg))}, this process ${f(median(scratch.me))}`,
  )
  console.log(
    `  ${name}, already applied: PostgreSQL ${f(median(applied.pg))}, this process ${f(median(applied.me))}`,
  )
}
