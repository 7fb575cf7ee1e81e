/**
 * Durable runs across hosts, with the real `tau` binary: three hosts made by the test as network
 * namespaces on one bridge (`ip netns`, veth) — PostgreSQL on one, a `tau worker` on each of the two
 * others — and 20 runs submitted whose model (a real OpenAI-wire server, answering each run from
 * its own messages) makes two Bash calls that append to one file. One worker is killed with
 * SIGKILL in the middle; every run still finishes (on the other worker), and the file shows each
 * tool call exactly once. Where namespaces cannot be made (not root, no `ip`), the three hosts are
 * three loopback ports of this one (the same test otherwise; CI runs as root, with namespaces).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INTERRUPTED_CALL_TEXT, UNSTARTED_CALL_TEXT } from '../../plugins/agent/index.js'
import { TOOL_ERROR_PREFIX } from '../../plugins/provider-openai/request.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type PgCluster, startPostgres } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableProjectConfig,
  scriptedModelEnv,
  startWorkerProcess,
  testClient,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { runTau, useProjects } from './run-tau.js'

const RUNS = 20
const tag = randomBytes(3).toString('hex')

interface Hosts {
  /** Address of the test's own side (the model server listens there). */
  readonly here: string
  readonly db: { readonly address: string; readonly netns?: string }
  readonly workers: ReadonlyArray<{ readonly netns?: string }>
  teardown(): void
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`)
}

/** Three hosts on a bridge, or three ports of loopback where namespaces cannot be made. */
function makeHosts(): Hosts {
  const canNetns =
    process.getuid?.() === 0 &&
    spawnSync('ip', ['netns', 'add', `tauprobe${tag}`]).status === 0 &&
    spawnSync('ip', ['netns', 'del', `tauprobe${tag}`]).status === 0
  if (!canNetns) {
    return { here: '127.0.0.1', db: { address: '127.0.0.1' }, workers: [{}, {}], teardown() {} }
  }
  // A subnet no route has yet: a bridge another run left behind (killed before its teardown)
  // would otherwise take this run's connections to its own, empty, namespaces.
  const start = Number.parseInt(tag.slice(0, 2), 16)
  let octet = -1
  for (let i = 0; i < 256 && octet < 0; i++) {
    const candidate = (start + i) % 256
    const routes = spawnSync('ip', ['-4', 'route', 'show', `10.213.${candidate}.0/24`], { encoding: 'utf8' })
    if (routes.status === 0 && routes.stdout.trim() === '') octet = candidate
  }
  if (octet < 0) throw new Error('no free 10.213.N.0/24 subnet for the test hosts')
  const net = `10.213.${octet}`
  const bridge = `taubr${tag}`
  const names = ['db', 'w1', 'w2'].map((n) => `tau${n}${tag}`)
  const cleanup = () => {
    for (const ns of names) spawnSync('ip', ['netns', 'del', ns])
    spawnSync('ip', ['link', 'del', bridge])
  }
  try {
    ip('link', 'add', bridge, 'type', 'bridge')
    ip('addr', 'add', `${net}.1/24`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    names.forEach((ns, i) => {
      const inside = `tv${i}${tag}`
      const outside = `tb${i}${tag}`
      ip('netns', 'add', ns)
      ip('link', 'add', inside, 'type', 'veth', 'peer', 'name', outside)
      ip('link', 'set', outside, 'master', bridge)
      ip('link', 'set', outside, 'up')
      ip('link', 'set', inside, 'netns', ns)
      ip('-n', ns, 'addr', 'add', `${net}.${i + 2}/24`, 'dev', inside)
      ip('-n', ns, 'link', 'set', inside, 'up')
      ip('-n', ns, 'link', 'set', 'lo', 'up')
    })
  } catch (error) {
    cleanup()
    throw error
  }
  return {
    here: `${net}.1`,
    db: { address: `${net}.2`, netns: names[0]! },
    workers: [{ netns: names[1]! }, { netns: names[2]! }],
    teardown: cleanup,
  }
}

/** A chat message as the model sees it on the OpenAI wire. */
interface WireMessage {
  readonly role: string
  readonly content?: unknown
  readonly tool_calls?: ReadonlyArray<{ readonly id: string }>
  readonly tool_call_id?: string
}

const textOf = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content))

/**
 * The model: each run's prompt is `job N`; it appends N-a, then N-b, to the file, then answers.
 * It decides from what it sees, step by step: the results tau gives it for each call (matched by
 * call id, whose name carries the step) and the file. A step is done when a call of it has a
 * result (Bash's output, not an error: the command ran) or was interrupted while running and its
 * line is in the file (as the interrupted call's text asks, it checks the effect). A call answered
 * "not run", or interrupted without its line, is made again. Anything else is a product bug, and
 * the run's answer says which (a result of a step whose line is not in the file, a call with two
 * results or a result for a call never made, an error the test's commands cannot give), so the
 * test fails on the runs' answers naming it rather than on a line missing or written twice.
 */
function respond(logFile: string) {
  return (request: { body?: unknown }): ScriptTurn | undefined => {
    const messages = (request.body as { messages?: WireMessage[] } | undefined)?.messages ?? []
    const prompt = messages.find((m) => m.role === 'user')
    const job = /job (\d+)/.exec(textOf(prompt?.content))?.[1]
    if (!job) return { text: 'no job' }
    const steps = ['a', 'b']
    // The calls it made (their ids name the step), and the result tau gives for each.
    const stepOf = new Map<string, string>()
    for (const m of messages)
      for (const call of m.role === 'assistant' ? (m.tool_calls ?? []) : [])
        stepOf.set(call.id, /^call_\d+_([ab])_\d+$/.exec(call.id)?.[1] ?? '?')
    const results = messages.filter((m) => m.role === 'tool')
    const answered = new Set<string>()
    for (const result of results) {
      const id = result.tool_call_id ?? '(none)'
      if (!stepOf.has(id)) return { text: `job ${job}: a result for a call never made (${id})` }
      if (answered.has(id)) return { text: `job ${job}: two results for the call ${id}` }
      answered.add(id)
    }
    const written = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n') : []
    for (const step of steps) {
      const line = `${job}-${step}`
      const texts = results
        .filter((r) => stepOf.get(r.tool_call_id ?? '') === step)
        .map((r) => textOf(r.content))
      const unstarted = (text: string) => text.includes(UNSTARTED_CALL_TEXT)
      const interrupted = (text: string) => text.includes(INTERRUPTED_CALL_TEXT)
      // Bash's output (the command ran; an error would start "Error: ").
      const ran = (text: string) => !text.startsWith(TOOL_ERROR_PREFIX)
      const odd = texts.find((text) => !ran(text) && !unstarted(text) && !interrupted(text))
      if (odd !== undefined)
        return { text: `job ${job}: a result of ${line} the test cannot explain: ${odd}` }
      if (texts.some(ran)) {
        if (!written.includes(line))
          return { text: `job ${job}: ${line} has a result, not its line in the file` }
        continue
      }
      if (texts.some(interrupted) && written.includes(line)) continue
      // Not called yet, answered "not run", or interrupted before its effect: called (again).
      return {
        toolCalls: [
          {
            id: `call_${job}_${step}_${results.length}`,
            name: 'Bash',
            // The effect first, then a pause: a kill lands mid-run with some calls done.
            input: { command: `echo ${line} >> ${logFile}; sleep 0.3` },
          },
        ],
      }
    }
    return { text: `finished ${job}` }
  }
}

const project = useProjects()
let hosts: Hosts
let cluster: PgCluster
let model: ScriptedServer
const workers: WorkerProcess[] = []

beforeAll(async () => {
  hosts = makeHosts()
  cluster = await startPostgres({
    schema: 'durable',
    host: hosts.db.address,
    ...(hosts.db.netns ? { netns: hosts.db.netns } : {}),
  })
})
afterAll(async () => {
  for (const worker of workers) if (worker.alive()) worker.child.kill('SIGKILL')
  await model?.close()
  await cluster?.stop()
  hosts?.teardown()
})

describe('durable runs on two workers', () => {
  it('20 runs, one worker killed mid-way: all finish on the other, each tool call exactly once', async () => {
    const p = await project()
    const logFile = p.path('calls.log')
    model = await startScriptedServer({
      format: 'openai',
      script: [],
      host: hosts.here,
      respond: respond(logFile),
    })
    const database = cluster.url
    await p.write({ 'tau.config.json': durableProjectConfig(database, `test-${tag}`) })
    const env = scriptedModelEnv(p, model.url)
    const start = (i: number) => {
      const netns = hosts.workers[i]!.netns
      const worker = startWorkerProcess(p.dir, env, netns ? { netns } : {})
      workers.push(worker)
      return worker
    }
    const [w1, w2] = [start(0), start(1)]
    const output = () => [w1, w2].map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n')

    // One run through the command, the rest through the client (the same enqueue).
    const submitted = await runTau(['submit', 'job 0'], {
      cwd: p.dir,
      tauHome: p.tauHome,
      home: p.home,
      env,
    })
    expect(submitted.code, `${submitted.stdout}\n${submitted.stderr}\n${output()}`).toBe(0)
    const first = submitted.stdout.trim()
    expect(first).toMatch(/^run-[0-9a-f-]{36}$/)
    const client = await testClient(database, `test-${tag}`)
    const ids = [first]
    for (let n = 1; n < RUNS; n++) ids.push(await client.submit({ prompt: `job ${n}` }))

    const lines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [])
    // Mid-way: a quarter of the calls made and worker 1 inside a run (its prompt and a call of it
    // logged), then worker 1 dies without a word. (Waiting for the calls alone, worker 1 could be
    // killed still starting, or between runs, with nothing to take over.)
    const isWorker1 = (executor: string | undefined) =>
      executor !== undefined &&
      (executor.includes(`-${w1.child.pid}-`) || w1.output().includes(`durable worker ${executor} joined`))
    await waitFor(
      'a quarter of the tool calls, and worker 1 inside a run',
      async () => {
        const seen = lines()
        if (seen.length < RUNS / 2) return undefined
        const running = (await client.list(100)).filter(
          (r) => ids.includes(r.runId) && r.status === 'PENDING' && isWorker1(r.executor),
        )
        return running.some((r) => seen.includes(`${/job (\d+)/.exec(r.prompt)?.[1]}-a`)) ? true : undefined
      },
      180_000,
      output,
    )
    w1.child.kill('SIGKILL')

    const runs = await waitFor(
      'every run finishing',
      async () => {
        const all = await client.list(100)
        const mine = all.filter((r) => ids.includes(r.runId))
        return mine.length === RUNS && mine.every((r) => r.status === 'SUCCESS') ? mine : undefined
      },
      240_000,
      output,
    )
    await client.close()
    expect(runs.map((r) => r.output?.text).sort()).toEqual(ids.map((_, n) => `finished ${n}`).sort())
    // Some runs were taken over from the killed worker, and finished on the other one.
    expect(runs.some((r) => r.output?.recovered)).toBe(true)
    // Each tool call exactly once: every job's two lines, none twice.
    const seen = lines()
    expect([...seen].sort()).toEqual(ids.flatMap((_, n) => [`${n}-a`, `${n}-b`]).sort())

    const show = await runTau(['runs', 'show', first], {
      cwd: p.dir,
      tauHome: p.tauHome,
      home: p.home,
      env,
    })
    expect(show.code, show.stderr).toBe(0)
    expect(JSON.parse(show.stdout)).toMatchObject({
      runId: first,
      status: 'SUCCESS',
      output: { text: 'finished 0' },
    })
  }, 600_000)
})

describe('durable commands without a database', () => {
  it('tau submit says what to set, without a stack trace', async () => {
    const p = await project()
    const result = await runTau(['submit', 'job x'], {
      cwd: p.dir,
      tauHome: p.tauHome,
      home: p.home,
    })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_DURABLE_NOT_CONFIGURED')
    expect(result.stderr).toContain('TAU_DATABASE_URL')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })
})
