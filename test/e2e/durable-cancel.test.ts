/**
 * `tau runs cancel` of a run in the middle of a tool call, with the real binary and a real
 * PostgreSQL: the worker aborts the agent's run at once (the tool's process tree dies, not at the
 * run's end), DBOS records the run CANCELLED, the session log is a conversation a provider takes
 * (the interrupted call answered, the run ended), the model is not called again, and the worker
 * goes on running other runs.
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

describe('tau runs cancel', () => {
  it('stops a run mid-tool-call at once; the run is CANCELLED and its log a valid conversation', async () => {
    const p = await project()
    const started = p.path('started')
    // `slow`: a Bash call whose process (a child of the shell) would run for days;
    // `quick`: answers at once (the worker is still good for other runs after a cancel).
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const messages = (request.body as { messages?: Array<{ role: string; content?: unknown }> }).messages
      const prompt = JSON.stringify(messages?.find((m) => m.role === 'user')?.content)
      if (prompt.includes('quick')) return { text: 'quick done' }
      if (messages?.some((m) => m.role === 'tool')) return { text: 'slow done' }
      return {
        toolCalls: [
          {
            id: 'call_slow',
            name: 'Bash',
            input: { command: `sleep ${seconds} & echo started > ${started}; wait` },
          },
        ],
      }
    }
    model = await startScriptedServer({ format: 'openai', script: [], respond })
    const version = `test-${tag}`
    await p.write({
      'tau.config.json': JSON.stringify({
        model: 'openai:scripted-model',
        permissions: { allow: ['Bash'] },
        ...durableTestConfig(cluster.url, version),
      }),
    })
    const env = cleanEnv(p.tauHome, p.home, {
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    })
    worker = startWorkerProcess(p.dir, env)
    const output = () => worker?.output() ?? ''

    const submitted = await p.run(['submit', 'slow job'], { env, timeoutMs: 60_000 })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    await waitFor(
      'the tool process starting',
      () => (existsSync(started) ? true : undefined),
      120_000,
      output,
    )
    expect(sleepers()).toHaveLength(1)

    const cancelled = await p.run(['runs', 'cancel', runId], { env, timeoutMs: 60_000 })
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toContain(`cancelled ${runId}`)
    // The sleep would live for days: it is gone because the cancel killed the tool's tree.
    await waitFor(
      'the tool process dying',
      () => (sleepers().length === 0 ? true : undefined),
      60_000,
      output,
    )

    const records = await waitFor(
      "the run's end in its log",
      async () => {
        const logs = await p.run(['runs', 'logs', runId], { env, timeoutMs: 60_000 })
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
    // Valid for a provider: the call is answered, as aborted (it may have had partial effects).
    const calls = messages.flatMap((m) =>
      m.role === 'assistant' && Array.isArray(m.content)
        ? m.content.filter((part) => part.type === 'tool-call').map((part) => part.id)
        : [],
    )
    const answers = messages.flatMap((m) => (m.role === 'tool' ? m.content : []))
    expect(calls).toEqual(['call_slow'])
    expect(answers.map((a) => a.toolCallId)).toEqual(['call_slow'])
    expect(JSON.stringify(answers[0]?.content)).toMatch(/Aborted/)
    expect(model.requests).toHaveLength(1)

    const client = await testClient(cluster.url, version)
    try {
      expect((await client.show(runId)).status).toBe('CANCELLED')
      // The worker is fine: the next run runs to its end.
      const next = await client.submit({ prompt: 'quick job' })
      const done = await client.wait(next, 120_000)
      expect(done.status, output()).toBe('SUCCESS')
      expect(done.output?.text).toBe('quick done')
      expect((await client.show(runId)).status).toBe('CANCELLED')
    } finally {
      await client.close()
    }
    expect(worker.alive()).toBe(true)
  }, 300_000)
})
