/**
 * A durable workflow run recovered on another worker gets the state and usage of the steps the
 * dead worker completed, not only their outputs: with the real binary, two `tau worker`s and a
 * real PostgreSQL, a workflow whose function steps update its typed state and whose agent steps
 * report usage is killed (SIGKILL) in step 2's tool call; the other worker finishes it. Its final
 * state (which its last step returns) and its total usage are exactly those of the same workflow
 * run without a kill. Before, the recovered run started with an empty state and zero usage
 * (orchestrate restored them from the dead worker's local log), so its state lacked the first
 * step's change and its usage the first step's tokens: budgets counted from zero again.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
    agent({ agent: 'worker', name: 'one', prompt: (i: { topic: string }) => 'step 1 of ' + i.topic }),
    note('after-one'),
    agent({ agent: 'worker', name: 'two', prompt: (x: string) => 'step 2 after ' + x }),
    note('after-two'),
    agent({ agent: 'worker', name: 'three', prompt: (x: string) => 'step 3 after ' + x }),
    step('final', (x: string, ctx) => ({ answer: x, state: ctx.state })),
  ]),
})
`

type Message = { role: string; content?: unknown }
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content))
const stepOf = (request: { body?: unknown }): number => {
  const messages = (request.body as { messages?: Message[] }).messages ?? []
  const prompt = messages.filter((m) => m.role === 'user').map((m) => text(m.content))
  return Number(/step (\d)/.exec(prompt.join(' '))?.[1] ?? 0)
}

describe('a durable workflow recovered on another worker', () => {
  it("has the completed steps' state and usage: the outcome equals an uninterrupted run's", async () => {
    const p = await project()
    const calls = p.path('calls.log')
    const hold = p.path('hold')
    // Each agent step: a Bash call appending `sN` (step 2's then waits for the hold file, which
    // the test writes only after the kill, for at most a minute), then `done N`. Each model call
    // reports its own usage (step n, call k: 100n + 10k in, nk out): a call lost or counted
    // twice changes the total.
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const n = stepOf(request)
      const messages = (request.body as { messages?: Message[] }).messages ?? []
      const k = messages.some((m) => m.role === 'tool') ? 2 : 1
      const usage = { inputTokens: 100 * n + 10 * k, outputTokens: n * k }
      if (k === 2) return { text: `done ${n}`, usage }
      const wait = n === 2 ? `; for i in $(seq 600); do [ -e ${hold} ] && break; sleep 0.1; done` : ''
      return {
        toolCalls: [{ id: `call_${n}`, name: 'Bash', input: { command: `echo s${n} >> ${calls}${wait}` } }],
        usage,
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
      '.tau/workflows/stateful.ts': WORKFLOW,
    })
    const env = cleanEnv(p.tauHome, p.home, {
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    })
    workers.push(startWorkerProcess(p.dir, env), startWorkerProcess(p.dir, env))
    const output = () => workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n')
    const lines = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [])
    const finished = (client: Awaited<ReturnType<typeof testClient>>, runId: string) =>
      waitFor(
        `run ${runId} finishing`,
        async () => {
          const run = await client.show(runId)
          return ['SUCCESS', 'ERROR', 'CANCELLED'].includes(run.status) ? run : undefined
        },
        240_000,
        output,
      )

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
      const victim = workers.find((w) => running.executor?.includes(`-${w.child.pid}-`))
      expect(victim, `executor ${running.executor}`).toBeDefined()
      victim!.child.kill('SIGKILL')
      const recovered = await finished(client, killed)
      expect(recovered.status, output()).toBe('SUCCESS')
      expect(recovered.result?.recovered).toBe(true)
      expect(recovered.result?.executor).not.toBe(running.executor)
      expect(lines()).toEqual(['s1', 's2', 's3'])
      expect(model.requests.map(stepOf)).toEqual([1, 1, 2, 2, 3, 3])

      // The same workflow without a kill, on the worker left (step 2's wait ends at once).
      await writeFile(hold, '')
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
})
