/**
 * A handback through the real `tau worker`: a worker stopped with SIGTERM while its run's Bash
 * call still runs waits its grace period (--grace-ms), then kills the call, hands the run back
 * and exits (143, a signal's code); a second worker continues the run to its answer. The run's result says it was
 * recovered, names the second worker, and counts both workers' model calls (turns 2: one before
 * the handback, one after), and the continuation's model call holds the stopped call's result.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
import { useProjects } from './run-tau.js'

const tag = randomBytes(3).toString('hex')
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer | undefined
const workers: WorkerProcess[] = []

beforeAll(async () => {
  cluster = await startPostgres({ schema: 'durable' })
}, 120_000)
afterAll(async () => {
  for (const worker of workers) if (worker.alive()) worker.child.kill('SIGKILL')
  await model?.close()
  await cluster?.stop()
})

const joined = (worker: WorkerProcess) => /tau: worker (\S+) is running/.exec(worker.output())?.[1]

describe('a worker stopped past its grace period', () => {
  it('hands its run back; another worker finishes it, counting both workers’ turns', async () => {
    const p = await project()
    const sleep = uniqueSleep()
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const messages = (request.body as { messages?: Array<{ role: string }> }).messages
      if (messages?.some((m) => m.role === 'tool')) return { text: 'all done' }
      return { toolCalls: [{ id: 'call_1', name: 'Bash', input: { command: `sleep ${sleep.seconds}` } }] }
    }
    model = await startScriptedServer({ format: 'openai', script: [], respond })
    const version = `test-${tag}`
    await p.write({ 'tau.config.json': durableProjectConfig(cluster.url, version) })
    const env = scriptedModelEnv(p, model.url)
    const start = () => {
      const worker = startWorkerProcess(p.dir, env, { args: ['--grace-ms', '500'] })
      workers.push(worker)
      return worker
    }
    const w1 = start()
    const output = () => workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n')
    const first = await waitFor('worker 1 joining', () => joined(w1), 120_000, output)
    const client = await testClient(cluster.url, version)
    try {
      const runId = await client.submit({ prompt: 'sleep, then answer' })
      await waitFor(
        'the Bash call running',
        () => (sleep.running().length > 0 ? true : undefined),
        120_000,
        output,
      )

      w1.child.kill('SIGTERM')
      const code = await waitFor('worker 1 stopping', () => w1.child.exitCode ?? undefined, 60_000, output)
      // Exit 143: ended by SIGTERM, after the grace period and the handback.
      expect(code, output()).toBe(143)
      expect(w1.output()).toContain('waiting up to 500 ms for 1 running run(s)')
      expect(w1.output()).toContain('1 run(s) handed back to the queue')
      // The stopped call's process does not outlive the worker.
      await waitFor(
        'the sleep ending',
        () => (sleep.running().length === 0 ? true : undefined),
        60_000,
        output,
      )
      expect(model.requests).toHaveLength(1)

      const w2 = start()
      const second = await waitFor('worker 2 joining', () => joined(w2), 120_000, output)
      const run = await waitFor(
        'the run finishing',
        async () => (await client.list(100)).find((r) => r.runId === runId && r.status === 'SUCCESS'),
        120_000,
        output,
      )
      expect(run.output, output()).toMatchObject({
        stopReason: 'end-turn',
        isError: false,
        text: 'all done',
        turns: 2,
        recovered: true,
        executor: second,
      })
      expect(second).not.toBe(first)
      // The continuation's one model call: the stopped Bash call has its result in it.
      expect(model.requests).toHaveLength(2)
      const messages = (
        model.requests[1]!.body as { messages: Array<{ role: string; tool_call_id?: string }> }
      ).messages
      expect(messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(['call_1'])
    } finally {
      await client.close()
    }
  }, 600_000)
})
