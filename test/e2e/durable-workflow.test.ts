/**
 * A workflow of plugins/orchestrate as a durable run, with the real binary, two `tau worker`s and a
 * real PostgreSQL: `tau submit --workflow NAME --input JSON` enqueues it; each of its three agent
 * steps is a DBOS step (orchestrate's StepRunner seam). The worker running it is killed with
 * SIGKILL in the middle of the second step's tool call; the other worker recovers the run and goes
 * on from the last completed step: the first step makes no model call again, the second step's
 * session continues from its log (its tool call, which had started, is answered as interrupted and
 * not run again), the third runs once. The model calls of both attempts together are exactly the
 * uninterrupted run's, and the file the tools append to has each call exactly once.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INTERRUPTED_CALL_TEXT } from '../../plugins/agent/index.js'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type PgCluster, startPostgres } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableTestConfig,
  startWorkerProcess,
  testClient,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { cleanEnv, useProjects } from './run-tau.js'

const tag = randomBytes(3).toString('hex')
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer | undefined
const workers: WorkerProcess[] = []

beforeAll(async () => {
  cluster = await startPostgres()
}, 120_000)
afterAll(async () => {
  for (const worker of workers) if (worker.alive()) worker.child.kill('SIGKILL')
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

type Message = { role: string; content?: unknown }
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content))
/** The step a model request belongs to (its session's prompt says). */
const stepOf = (request: { body?: unknown }): number => {
  const messages = (request.body as { messages?: Message[] }).messages ?? []
  const prompt = messages.filter((m) => m.role === 'user').map((m) => text(m.content))
  return Number(/step (\d)/.exec(prompt.join(' '))?.[1] ?? 0)
}

describe('a workflow as a durable run', () => {
  it('a worker killed mid-step: the other goes on from the last completed step, nothing finished runs again', async () => {
    const p = await project()
    const calls = p.path('calls.log')
    const holds = p.path('hold')
    // Each step: one Bash call that appends `sN` to the file (step 2's then waits for a file the
    // test does not write, for at most a minute, so the kill lands inside it), then `done N`.
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const n = stepOf(request)
      const messages = (request.body as { messages?: Message[] }).messages ?? []
      if (messages.some((m) => m.role === 'tool')) return { text: `done ${n}` }
      const wait = n === 2 ? `; for i in $(seq 600); do [ -e ${holds} ] && break; sleep 0.1; done` : ''
      return {
        toolCalls: [{ id: `call_${n}`, name: 'Bash', input: { command: `echo s${n} >> ${calls}${wait}` } }],
      }
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
    workers.push(startWorkerProcess(p.dir, env), startWorkerProcess(p.dir, env))
    const output = () => workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n')

    const submitted = await p.run(['submit', '--workflow', 'three-steps', '--input', '{"topic":"tau"}'], {
      env,
      timeoutMs: 60_000,
    })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    const runId = submitted.stdout.trim()
    expect(runId).toMatch(/^run-[0-9a-f-]{36}$/)

    const lines = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [])
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
      expect(model.requests.map(stepOf)).toEqual([1, 1, 2])

      const done = await waitFor(
        'the run finishing on the other worker',
        async () => {
          const run = await client.show(runId)
          return ['SUCCESS', 'ERROR', 'CANCELLED'].includes(run.status) ? run : undefined
        },
        240_000,
        output,
      )
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
      expect(model.requests.map(stepOf)).toEqual([1, 1, 2, 2, 3, 3])
      // The interrupted call was answered from the log as interrupted, not run again.
      const resumed = (model.requests[3]!.body as { messages: Message[] }).messages
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

  it('tau submit without a prompt or a workflow says so', async () => {
    const p = await project()
    await p.write({ 'tau.config.json': JSON.stringify(durableTestConfig(cluster.url, `test-${tag}`)) })
    const result = await p.run(['submit'], { timeoutMs: 60_000 })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_CLI_USAGE')
    expect(result.stderr).toContain('--workflow')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })
})
