/**
 * `tau runs cancel` in the middle of a tool call, with the real binary, one `tau worker` and a
 * real PostgreSQL, of a plain run and of a durable workflow run:
 * - a plain run: the worker aborts the agent's run at once (the tool's process tree dies, not at
 *   the run's end), DBOS records the run CANCELLED, the session log is a conversation a provider
 *   takes (the interrupted call answered, the run ended), the model is not called again;
 * - a workflow run cancelled in step 2's tool call: the worker aborts the running step's agent
 *   session at once (before, the cancel waited for the next step boundary), the step's session
 *   log is a conversation a provider takes (the call answered, the run ended `aborted`), no later
 *   step runs, DBOS records the run CANCELLED.
 * After each, the same worker goes on running other runs. The two share the cluster, the worker
 * and its project (one cluster and worker boot fewer than a file each; the worker going on after
 * a cancel is what each checks last). Each run's model requests are told apart by its prompts.
 */

import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../kernel/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type PgCluster, startPostgres } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableProjectConfig,
  scriptedModelEnv,
  startWorkerProcess,
  testClient,
  uniqueSleep,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { type Project, useProjects } from './run-tau.js'

const tag = randomBytes(3).toString('hex')
const version = `test-${tag}`
const plainSleep = uniqueSleep()
const stepSleep = uniqueSleep()
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer
let worker: WorkerProcess | undefined
let client: Awaited<ReturnType<typeof testClient>> | undefined
let p: Project
let env: Record<string, string>
const output = () => worker?.output() ?? ''

const WORKFLOW = `import { z } from 'zod'
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

type Wire = { role: string; content?: unknown }
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content))
const promptOf = (request: { body?: unknown }): string =>
  ((request.body as { messages?: Wire[] }).messages ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => text(m.content))
    .join(' ')
/** The workflow step a model request belongs to (its session's prompt says); 0 for the others. */
const stepOf = (request: { body?: unknown }): number => Number(/step (\d)/.exec(promptOf(request))?.[1] ?? 0)

/**
 * The model of both runs. `quick …`: answers at once (the worker is still good for other runs
 * after a cancel). `slow job`: a Bash call whose process (a child of the shell) would run for
 * days. A workflow step: step 2's Bash call starts such a process, steps 1 and 3 answer at once.
 */
function respond(request: { body?: unknown }): ScriptTurn {
  const prompt = promptOf(request)
  const answered = ((request.body as { messages?: Wire[] }).messages ?? []).some((m) => m.role === 'tool')
  if (prompt.includes('quick')) return { text: 'quick done' }
  const n = stepOf(request)
  if (n === 0) {
    if (answered) return { text: 'slow done' }
    const command = `sleep ${plainSleep.seconds} & echo started > ${p.path('started-plain')}; wait`
    return { toolCalls: [{ id: 'call_slow', name: 'Bash', input: { command } }] }
  }
  if (answered) return { text: `done ${n}` }
  const command =
    n === 2 ? `sleep ${stepSleep.seconds} & echo started > ${p.path('started-step')}; wait` : `echo s${n}`
  return { toolCalls: [{ id: `call_${n}`, name: 'Bash', input: { command } }] }
}

beforeAll(async () => {
  cluster = await startPostgres({ schema: 'durable' })
  model = await startScriptedServer({ format: 'openai', script: [], respond })
  p = await project()
  await p.write({
    'tau.config.json': durableProjectConfig(cluster.url, version, {
      orchestrate: { agents: { worker: { description: 'Works', prompt: 'You work.', tools: ['Bash'] } } },
    }),
    '.tau/workflows/three-steps.ts': WORKFLOW,
  })
  env = scriptedModelEnv(p, model.url)
  worker = startWorkerProcess(p.dir, env)
  client = await testClient(cluster.url, version)
}, 120_000)
afterAll(async () => {
  if (worker?.alive()) worker.child.kill('SIGKILL')
  await client?.close()
  await model?.close()
  await cluster?.stop()
})

/** The records of a session's log (`tau runs logs`), once its run has ended. */
function endedLog(id: string): Promise<Array<{ type: string; stopReason?: string; message?: Message }>> {
  return waitFor(
    "the run's end in its log",
    async () => {
      const logs = await p.run(['runs', 'logs', id], { env, timeoutMs: 60_000 })
      const lines = logs.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; stopReason?: string; message?: Message })
      return lines.some((r) => r.type === 'run-end') ? lines : undefined
    },
    60_000,
    output,
  )
}

/** The calls of the log's assistant messages, and the tool answers, by id. */
function callsAndAnswers(records: Array<{ type: string; message?: Message }>) {
  const messages = records.flatMap((r) => (r.type === 'message' && r.message ? [r.message] : []))
  const calls = messages.flatMap((m) =>
    m.role === 'assistant' && Array.isArray(m.content)
      ? m.content.filter((part) => part.type === 'tool-call').map((part) => part.id)
      : [],
  )
  const answers = messages.flatMap((m) => (m.role === 'tool' ? m.content : []))
  return { calls, answers }
}

/** Cancels a run with `tau runs cancel`, then waits for the tool's `sleep` to die. */
async function cancelAndWaitForTheTool(runId: string, sleepers: () => number[]): Promise<void> {
  const cancelled = await p.run(['runs', 'cancel', runId], { env, timeoutMs: 60_000 })
  expect(cancelled.code, cancelled.stderr).toBe(0)
  expect(cancelled.stdout).toContain(`cancelled ${runId}`)
  // The sleep would live for days: it is gone because the cancel killed the tool's tree.
  await waitFor('the tool process dying', () => (sleepers().length === 0 ? true : undefined), 60_000, output)
}

/** The worker is fine after a cancel: the next run runs to its end there. */
async function nextRunSucceeds(cancelledRun: string): Promise<void> {
  const next = await client!.submit({ prompt: 'quick job' })
  const done = await client!.wait(next, 120_000)
  expect(done.status, output()).toBe('SUCCESS')
  expect(done.output?.text).toBe('quick done')
  expect((await client!.show(cancelledRun)).status).toBe('CANCELLED')
  expect(worker!.alive()).toBe(true)
}

describe('tau runs cancel', () => {
  it('stops a run mid-tool-call at once; the run is CANCELLED and its log a valid conversation', async () => {
    const submitted = await p.run(['submit', 'slow job'], { env, timeoutMs: 60_000 })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    await waitFor(
      'the tool process starting',
      () => (p.exists('started-plain') ? true : undefined),
      120_000,
      output,
    )
    expect(plainSleep.running()).toHaveLength(1)

    await cancelAndWaitForTheTool(runId, plainSleep.running)
    const records = await endedLog(runId)
    expect(records.find((r) => r.type === 'run-end')?.stopReason).toBe('aborted')
    // Valid for a provider: the call is answered, as aborted (it may have had partial effects).
    const { calls, answers } = callsAndAnswers(records)
    expect(calls).toEqual(['call_slow'])
    expect(answers.map((a) => a.toolCallId)).toEqual(['call_slow'])
    expect(JSON.stringify(answers[0]?.content)).toMatch(/Aborted/)
    // The model was not called again for this run.
    expect(model.requests.filter((r) => promptOf(r).includes('slow job'))).toHaveLength(1)

    expect((await client!.show(runId)).status).toBe('CANCELLED')
    await nextRunSucceeds(runId)
  }, 300_000)

  it("of a workflow run aborts the running step's session at once; no later step runs; the run is CANCELLED", async () => {
    const firstRequest = model.requests.length
    const submitted = await p.run(['submit', '--workflow', 'three-steps', '--input', '{"topic":"tau"}'], {
      env,
      timeoutMs: 60_000,
    })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    await waitFor(
      "step 2's tool process starting",
      () => (existsSync(p.path('started-step')) ? true : undefined),
      180_000,
      output,
    )
    expect(stepSleep.running()).toHaveLength(1)

    await cancelAndWaitForTheTool(runId, stepSleep.running)
    // Step 2's session (recorded by path) ended, its call answered as aborted.
    const sessionId = cluster
      .sql(
        `SELECT session_id FROM tau_workflow_checkpoints WHERE run_id = '${runId}' AND step LIKE '%/two' AND session_id IS NOT NULL`,
      )
      .trim()
    expect(sessionId).not.toBe('')
    const records = await endedLog(sessionId)
    expect(records.find((r) => r.type === 'run-end')?.stopReason).toBe('aborted')
    const { calls, answers } = callsAndAnswers(records)
    expect(calls).toEqual(['call_2'])
    expect(answers.map((a) => a.toolCallId)).toEqual(['call_2'])
    expect(JSON.stringify(answers[0]?.content)).toMatch(/Aborted/)

    const run = await waitFor(
      'the run recorded cancelled',
      async () => {
        const shown = await client!.show(runId)
        return shown.status === 'PENDING' ? undefined : shown
      },
      60_000,
      output,
    )
    expect(run.status).toBe('CANCELLED')
    await nextRunSucceeds(runId)
    // Step 2 was not called again after the cancel, and step 3 never ran (0: the quick run).
    expect(model.requests.slice(firstRequest).map(stepOf)).toEqual([1, 1, 2, 0])
  }, 400_000)
})
