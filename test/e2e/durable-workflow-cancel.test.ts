/**
 * `tau runs cancel` of a durable workflow run in the middle of a step's tool call, with the real
 * binary, a `tau worker` and a real PostgreSQL: the worker aborts the running step's agent session
 * at once (the tool's process tree dies; before, the cancel waited for the next step boundary),
 * the step's session log is a conversation a provider takes (the call answered, the run ended
 * `aborted`), no later step runs, DBOS records the run CANCELLED, and the worker goes on.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../kernel/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type PgCluster, startPostgres } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableTestConfig,
  startWorkerProcess,
  testClient,
  uniqueSleep,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { cleanEnv, useProjects } from './run-tau.js'

const tag = randomBytes(3).toString('hex')
const { seconds, running: sleepers } = uniqueSleep()
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer | undefined
let worker: WorkerProcess | undefined

beforeAll(async () => {
  cluster = await startPostgres()
}, 120_000)
afterAll(async () => {
  if (worker?.alive()) worker.child.kill('SIGKILL')
  await model?.close()
  await cluster?.stop()
})

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
/** The step a model request belongs to (its session's prompt says); 0 for the quick run. */
const stepOf = (request: { body?: unknown }): number => {
  const messages = (request.body as { messages?: Wire[] }).messages ?? []
  const prompt = messages.filter((m) => m.role === 'user').map((m) => text(m.content))
  return Number(/step (\d)/.exec(prompt.join(' '))?.[1] ?? 0)
}

describe('tau runs cancel of a workflow run', () => {
  it("aborts the running step's session at once; no later step runs; the run is CANCELLED", async () => {
    const p = await project()
    const started = p.path('started')
    // Step 2's Bash call starts a process that would run for days; steps 1 and 3 answer at once.
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const n = stepOf(request)
      const messages = (request.body as { messages?: Wire[] }).messages ?? []
      if (n === 0) return { text: 'quick done' }
      if (messages.some((m) => m.role === 'tool')) return { text: `done ${n}` }
      const command = n === 2 ? `sleep ${seconds} & echo started > ${started}; wait` : `echo s${n}`
      return { toolCalls: [{ id: `call_${n}`, name: 'Bash', input: { command } }] }
    }
    model = await startScriptedServer({ format: 'openai', script: [], respond })
    const version = `test-${tag}`
    await p.write({
      'tau.config.json': JSON.stringify({
        model: 'openai:scripted-model',
        permissions: { allow: ['Bash'] },
        orchestrate: {
          agents: { worker: { description: 'Works', prompt: 'You work.', tools: ['Bash'] } },
        },
        ...durableTestConfig(cluster.url, version),
      }),
      '.tau/workflows/three-steps.ts': WORKFLOW,
    })
    const env = cleanEnv(p.tauHome, p.home, {
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    })
    worker = startWorkerProcess(p.dir, env)
    const output = () => worker?.output() ?? ''

    const submitted = await p.run(['submit', '--workflow', 'three-steps', '--input', '{"topic":"tau"}'], {
      env,
      timeoutMs: 60_000,
    })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    await waitFor(
      "step 2's tool process starting",
      () => (existsSync(started) ? true : undefined),
      180_000,
      output,
    )
    expect(sleepers()).toHaveLength(1)

    const cancelled = await p.run(['runs', 'cancel', runId], { env, timeoutMs: 60_000 })
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toContain(`cancelled ${runId}`)
    // The sleep would live for days: it is gone because the cancel aborted the step's session.
    await waitFor(
      'the tool process dying',
      () => (sleepers().length === 0 ? true : undefined),
      60_000,
      output,
    )

    // Step 2's session (recorded by path) ended, its call answered as aborted.
    const sessionId = cluster
      .sql(
        `SELECT session_id FROM tau_workflow_checkpoints WHERE run_id = '${runId}' AND step LIKE '%/two' AND session_id IS NOT NULL`,
      )
      .trim()
    expect(sessionId).not.toBe('')
    const records = await waitFor(
      "the step session's end in its log",
      async () => {
        const logs = await p.run(['runs', 'logs', sessionId], { env, timeoutMs: 60_000 })
        const lines = logs.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { type: string; stopReason?: string; message?: Message })
        return lines.some((r) => r.type === 'run-end') ? lines : undefined
      },
      60_000,
      output,
    )
    expect(records.find((r) => r.type === 'run-end')?.stopReason).toBe('aborted')
    const messages = records.flatMap((r) => (r.type === 'message' && r.message ? [r.message] : []))
    const calls = messages.flatMap((m) =>
      m.role === 'assistant' && Array.isArray(m.content)
        ? m.content.filter((part) => part.type === 'tool-call').map((part) => part.id)
        : [],
    )
    const answers = messages.flatMap((m) => (m.role === 'tool' ? m.content : []))
    expect(calls).toEqual(['call_2'])
    expect(answers.map((a) => a.toolCallId)).toEqual(['call_2'])
    expect(JSON.stringify(answers[0]?.content)).toMatch(/Aborted/)

    const client = await testClient(cluster.url, version)
    try {
      const run = await waitFor(
        'the run recorded cancelled',
        async () => {
          const shown = await client.show(runId)
          return shown.status === 'PENDING' ? undefined : shown
        },
        60_000,
        output,
      )
      expect(run.status).toBe('CANCELLED')
      // The worker is fine: the next run runs to its end there.
      const next = await client.submit({ prompt: 'quick job' })
      const done = await client.wait(next, 120_000)
      expect(done.status, output()).toBe('SUCCESS')
      expect(done.output?.text).toBe('quick done')
      expect((await client.show(runId)).status).toBe('CANCELLED')
    } finally {
      await client.close()
    }
    // Step 2 was not called again after the cancel, and step 3 never ran.
    expect(model.requests.map(stepOf)).toEqual([1, 1, 2, 0])
    expect(worker.alive()).toBe(true)
  }, 400_000)
})
