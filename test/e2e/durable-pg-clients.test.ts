/**
 * A worker and `tau submit` never run two queries at once on one pg client: pg 8 warns (a
 * DeprecationWarning, "Calling client.query() when the client is already executing a query") and
 * pg 9 rejects it. DBOS sent an un-awaited `SET idle_in_transaction_session_timeout` on each new
 * connection of its pool, ahead of the borrower's query; tau now gives that setting in the URL
 * (engine.ts, dbosDatabaseUrl). The real binary, with --trace-deprecation, runs a run with a tool
 * call to its end; neither process prints the warning.
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
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { useProjects } from './run-tau.js'

const CONCURRENT_QUERY = 'already executing a query'
const tag = randomBytes(3).toString('hex')
const project = useProjects()
let cluster: PgCluster
let model: ScriptedServer | undefined
let worker: WorkerProcess | undefined

beforeAll(async () => {
  cluster = await startPostgres({ schema: 'durable' })
}, 120_000)
afterAll(async () => {
  if (worker?.alive()) worker.child.kill('SIGKILL')
  await model?.close()
  await cluster?.stop()
})

describe('pg clients of the durable engine', () => {
  it('a worker and tau submit run a run without queueing a query behind another on one client', async () => {
    const p = await project()
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const messages = (request.body as { messages?: Array<{ role: string }> }).messages
      if (messages?.some((m) => m.role === 'tool')) return { text: 'all done' }
      return { toolCalls: [{ id: 'call_1', name: 'Bash', input: { command: 'echo hi' } }] }
    }
    model = await startScriptedServer({ format: 'openai', script: [], respond })
    const version = `test-${tag}`
    await p.write({ 'tau.config.json': durableProjectConfig(cluster.url, version) })
    // Every deprecation with its stack, on stderr.
    const env = scriptedModelEnv(p, model.url, { NODE_OPTIONS: '--trace-deprecation' })
    worker = startWorkerProcess(p.dir, env)
    const output = () => worker?.output() ?? ''
    await waitFor(
      'the worker joining',
      () => (output().includes('is running') ? true : undefined),
      120_000,
      output,
    )

    const submitted = await p.run(['submit', 'say hi', '--wait'], { env, timeoutMs: 120_000 })
    expect(submitted.code, `${submitted.stderr}\n${output()}`).toBe(0)
    expect(submitted.stdout).toContain('all done')
    expect(submitted.stderr).not.toContain(CONCURRENT_QUERY)

    worker.child.kill('SIGTERM')
    await waitFor('the worker stopping', () => (worker?.alive() ? undefined : true), 60_000, output)
    expect(output()).toContain('worker stopping')
    expect(output()).not.toContain(CONCURRENT_QUERY)
  }, 300_000)
})
