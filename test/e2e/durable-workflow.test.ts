/**
 * Workflows of plugins/orchestrate as durable runs, with the real binary, `tau worker`s and a real
 * PostgreSQL; in each, the worker running the workflow is killed with SIGKILL in the middle of
 * its second step's tool call and another worker finishes it:
 * - `tau submit --workflow NAME --input JSON` enqueues a three-step workflow; each agent step is
 *   a DBOS step (orchestrate's StepRunner seam). The other worker goes on from the last completed
 *   step: the first step makes no model call again, the second step's session continues from its
 *   log (its tool call, which had started, is answered as interrupted and not run again), the
 *   third runs once. The model calls of both attempts together are exactly the uninterrupted
 *   run's, and the file the tools append to has each call exactly once.
 * - A recovered run gets the state and usage of the steps the dead worker completed, not only
 *   their outputs: a workflow whose function steps update its typed state and whose agent steps
 *   report usage ends with exactly the state and total usage of the same workflow run without a
 *   kill. Before, the recovered run started with an empty state and zero usage (orchestrate
 *   restored them from the dead worker's local log), so budgets counted from zero again.
 * - A worker whose event loop is blocked for longer than workerTtlMs (a step's Atomics.wait, as a
 *   workflow's first compile or a long GC stall it on a loaded host) is not taken for dead: its
 *   heartbeat has a thread of its own, so no other worker runs its run a second time. With the
 *   heartbeat on the main thread's timers, the other worker claimed it and the step ran twice.
 * The cases share the cluster, the project and the worker left by the first kill (the second
 * starts one more, so two run again); each workflow's model requests are told apart by prompt.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INTERRUPTED_CALL_TEXT } from '../../plugins/agent/index.js'
import type { DurableClient } from '../../plugins/durable-dbos/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type PgCluster, startPostgres } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableProjectConfig,
  durableTestConfig,
  scriptedModelEnv,
  startWorkerProcess,
  testClient,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { type Project, useProjects } from './run-tau.js'

const tag = randomBytes(3).toString('hex')
const version = `test-${tag}`
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer
let p: Project
let env: Record<string, string>
const workers: WorkerProcess[] = []
const output = () => workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n')

const THREE_STEPS = `import { z } from 'zod'
import { agent, chain, defineWorkflow } from 'tau'

export default defineWorkflow({
  name: 'three-steps',
  input: z.object({ topic: z.string() }),
  run: chain([
    agent({ agent: 'worker', name: 'one', prompt: (i: { topic: string }) => 'step 1 of ' + i.topic }),
    agent({ agent: 'worker', name: 'two', prompt: (x: string) => 'step 2 after ' + x }),
    agent({ agent: 'worker', name: 'three', prompt: (x: string) => 'step 3 after ' + x }),
  ]),
})
`

// Its agent prompts say `stateful`: the model answers its requests apart from three-steps'.
const STATEFUL = `import { z } from 'zod'
import { agent, chain, defineWorkflow, step } from 'tau'

const note = (name: string) =>
  step(name, (x: string, ctx) => {
    ctx.update({ seen: [...(ctx.state.seen as string[]), name], count: (ctx.state.count as number) + 1 })
    return x
  })

export default defineWorkflow({
  name: 'stateful',
  input: z.object({ topic: z.string() }),
  state: z.object({ seen: z.array(z.string()).default([]), count: z.number().default(0) }),
  run: chain([
    agent({ agent: 'worker', name: 'one', prompt: (i: { topic: string }) => 'stateful step 1 of ' + i.topic }),
    note('after-one'),
    agent({ agent: 'worker', name: 'two', prompt: (x: string) => 'stateful step 2 after ' + x }),
    note('after-two'),
    agent({ agent: 'worker', name: 'three', prompt: (x: string) => 'stateful step 3 after ' + x }),
    step('final', (x: string, ctx) => ({ answer: x, state: ctx.state })),
  ]),
})
`

// One function step that blocks its worker's event loop (Atomics.wait: no CPU) for well over
// the tests' workerTtlMs (3 s), as a workflow's first compile or a long GC does on a loaded host.
const BLOCK_MS = 7000
const blocking = (log: string) => `import { appendFileSync } from 'node:fs'
import { z } from 'zod'
import { chain, defineWorkflow, step } from 'tau'

export default defineWorkflow({
  name: 'blocking',
  input: z.object({ topic: z.string() }),
  run: chain([
    step('block', () => {
      appendFileSync(${JSON.stringify(log)}, 'ran\\n')
      const start = Date.now()
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${BLOCK_MS})
      return { blockedMs: Date.now() - start }
    }),
  ]),
})
`

type Message = { role: string; content?: unknown }
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content))
const promptOf = (request: { body?: unknown }): string =>
  ((request.body as { messages?: Message[] }).messages ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => text(m.content))
    .join(' ')
/** The step a model request belongs to (its session's prompt says). */
const stepOf = (request: { body?: unknown }): number => Number(/step (\d)/.exec(promptOf(request))?.[1] ?? 0)
const stateful = (request: { body?: unknown }) => promptOf(request).includes('stateful step')
/** The model requests of one workflow, in order. */
const requestsOf = (workflow: 'three-steps' | 'stateful') =>
  model.requests.filter((r) => stateful(r) === (workflow === 'stateful'))
const linesOf = (file: string) => () =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []

/**
 * Each step of either workflow: one Bash call that appends `sN` to its workflow's file, then
 * `done N`. three-steps' step 2 then waits for a file the test does not write, for at most a
 * minute, so the kill lands inside it; stateful's step 2 waits for the hold file, which the test
 * writes only after the kill. Each stateful call reports its own usage (step n, call k: 100n + 10k
 * in, nk out): a call lost or counted twice changes the total.
 */
function respond(request: { body?: unknown }): ScriptTurn {
  const n = stepOf(request)
  const messages = (request.body as { messages?: Message[] }).messages ?? []
  const answered = messages.some((m) => m.role === 'tool')
  if (!stateful(request)) {
    if (answered) return { text: `done ${n}` }
    const holds = p.path('never-written')
    const wait = n === 2 ? `; for i in $(seq 600); do [ -e ${holds} ] && break; sleep 0.1; done` : ''
    return {
      toolCalls: [
        { id: `call_${n}`, name: 'Bash', input: { command: `echo s${n} >> ${p.path('calls.log')}${wait}` } },
      ],
    }
  }
  const k = answered ? 2 : 1
  const usage = { inputTokens: 100 * n + 10 * k, outputTokens: n * k }
  if (k === 2) return { text: `done ${n}`, usage }
  const hold = p.path('hold')
  const wait = n === 2 ? `; for i in $(seq 600); do [ -e ${hold} ] && break; sleep 0.1; done` : ''
  return {
    toolCalls: [
      { id: `call_${n}`, name: 'Bash', input: { command: `echo s${n} >> ${p.path('stateful.log')}${wait}` } },
    ],
    usage,
  }
}

beforeAll(async () => {
  cluster = await startPostgres({ schema: 'durable' })
  model = await startScriptedServer({ format: 'openai', script: [], respond })
  p = await project()
  await p.write({
    'tau.config.json': durableProjectConfig(cluster.url, version, {
      orchestrate: { agents: { worker: { description: 'Works', prompt: 'You work.', tools: ['Bash'] } } },
    }),
    '.tau/workflows/three-steps.ts': THREE_STEPS,
    '.tau/workflows/stateful.ts': STATEFUL,
    '.tau/workflows/blocking.ts': blocking(p.path('blocking.log')),
  })
  env = scriptedModelEnv(p, model.url)
}, 120_000)
afterAll(async () => {
  for (const worker of workers) if (worker.alive()) worker.child.kill('SIGKILL')
  await model?.close()
  await cluster?.stop()
})

/** Waits for the run to end (SUCCESS, ERROR or CANCELLED); gives its `show`. */
const finished = (client: DurableClient, runId: string) =>
  waitFor(
    `run ${runId} finishing`,
    async () => {
      const run = await client.show(runId)
      return ['SUCCESS', 'ERROR', 'CANCELLED'].includes(run.status) ? run : undefined
    },
    240_000,
    output,
  )

/** Two workers running: those alive, and new ones up to two. */
function twoWorkers(): void {
  while (workers.filter((w) => w.alive()).length < 2) workers.push(startWorkerProcess(p.dir, env))
}

describe('a workflow as a durable run', () => {
  it('a worker killed mid-step: the other goes on from the last completed step, nothing finished runs again', async () => {
    twoWorkers()
    const submitted = await p.run(['submit', '--workflow', 'three-steps', '--input', '{"topic":"tau"}'], {
      env,
      timeoutMs: 60_000,
    })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    expect(runId).toMatch(/^run-[0-9a-f-]{36}$/)

    const lines = linesOf(p.path('calls.log'))
    await waitFor(
      'step 2 running its tool',
      () => (lines().includes('s2') ? true : undefined),
      180_000,
      output,
    )
    const client = await testClient(cluster.url, version)
    try {
      const running = await client.show(runId)
      const victim = workers.find((w) => running.executor?.includes(`-${w.child.pid}-`))
      expect(victim, `executor ${running.executor}`).toBeDefined()
      victim!.child.kill('SIGKILL')
      expect(requestsOf('three-steps').map(stepOf)).toEqual([1, 1, 2])

      const done = await finished(client, runId)
      expect(done.status, output()).toBe('SUCCESS')
      expect(done.result).toMatchObject({
        workflow: 'three-steps',
        isError: false,
        output: 'done 3',
        recovered: true,
      })
      expect(done.result?.executor).not.toBe(running.executor)
      // Each step's model calls, over both attempts: exactly those of an uninterrupted run (a
      // call and an answer each); step 1 was not run again, step 2 went on from its log.
      expect(requestsOf('three-steps').map(stepOf)).toEqual([1, 1, 2, 2, 3, 3])
      // The interrupted call was answered from the log as interrupted, not run again.
      const resumed = (requestsOf('three-steps')[3]!.body as { messages: Message[] }).messages
      expect(text(resumed.find((m) => m.role === 'tool')?.content)).toContain(INTERRUPTED_CALL_TEXT)
      expect(lines()).toEqual(['s1', 's2', 's3'])
      // Each agent step is a DBOS step, named by its path, all recorded.
      const steps = done.steps.filter((s) => s.name.startsWith('step:'))
      expect(steps.map((s) => s.name.split('/').at(-1))).toEqual(['one', 'two', 'three'])
      expect(steps.every((s) => s.done)).toBe(true)
    } finally {
      await client.close()
    }

    const listed = await p.run(['runs', 'list'], { env, timeoutMs: 60_000 })
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+SUCCESS\\s+\\S+\\s+workflow three-steps`))
  }, 600_000)

  it("recovered on another worker, it has the completed steps' state and usage: the outcome equals an uninterrupted run's", async () => {
    twoWorkers()
    const lines = linesOf(p.path('stateful.log'))

    const client = await testClient(cluster.url, version)
    try {
      const killed = await client.submitWorkflow('stateful', { topic: 'tau' })
      await waitFor(
        'step 2 running its tool',
        () => (lines().includes('s2') ? true : undefined),
        180_000,
        output,
      )
      const running = await client.show(killed)
      const victim = workers.find((w) => w.alive() && running.executor?.includes(`-${w.child.pid}-`))
      expect(victim, `executor ${running.executor}`).toBeDefined()
      victim!.child.kill('SIGKILL')
      const recovered = await finished(client, killed)
      expect(recovered.status, output()).toBe('SUCCESS')
      expect(recovered.result?.recovered).toBe(true)
      expect(recovered.result?.executor).not.toBe(running.executor)
      expect(lines()).toEqual(['s1', 's2', 's3'])
      expect(requestsOf('stateful').map(stepOf)).toEqual([1, 1, 2, 2, 3, 3])

      // The same workflow without a kill, on the worker left (step 2's wait ends at once).
      await writeFile(p.path('hold'), '')
      const plain = await finished(client, await client.submitWorkflow('stateful', { topic: 'tau' }))
      expect(plain.status, output()).toBe('SUCCESS')
      expect(plain.result?.recovered).toBe(false)

      const expectedState = { seen: ['after-one', 'after-two'], count: 2 }
      expect(plain.result?.output).toEqual({ answer: 'done 3', state: expectedState })
      expect(recovered.result?.output).toEqual(plain.result?.output)
      // 6 calls: in 100n+10k summed = 2*(100+200+300) + 3*(10+20) = 1290; out nk = 3*(1+2) = 18.
      expect(plain.result?.usage).toMatchObject({ inputTokens: 1290, outputTokens: 18 })
      expect(recovered.result?.usage).toEqual(plain.result?.usage)
    } finally {
      await client.close()
    }
  }, 600_000)

  it('a worker whose event loop is blocked past workerTtlMs still beats: no other worker takes its run', async () => {
    twoWorkers()
    const client = await testClient(cluster.url, version)
    try {
      const runId = await client.submitWorkflow('blocking', { topic: 'tau' })
      const done = await finished(client, runId)
      expect(done.status, output()).toBe('SUCCESS')
      // The step did block its worker for longer than the TTL (Atomics.wait returns no earlier).
      const blocked = (done.result?.output as { blockedMs?: number } | undefined)?.blockedMs
      expect(blocked, output()).toBeGreaterThanOrEqual(BLOCK_MS)
      // It ran once, on the worker that took it; no other worker claimed that one as dead.
      expect(linesOf(p.path('blocking.log'))()).toEqual(['ran'])
      expect(done.result?.recovered).toBe(false)
      expect(output()).not.toContain(`worker ${done.result?.executor} stopped sending heartbeats`)
    } finally {
      await client.close()
    }
  }, 600_000)

  it('tau submit without a prompt or a workflow says so', async () => {
    const other = await project()
    await other.write({ 'tau.config.json': JSON.stringify(durableTestConfig(cluster.url, version)) })
    const result = await other.run(['submit'], { timeoutMs: 60_000 })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_CLI_USAGE')
    expect(result.stderr).toContain('--workflow')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })
})
