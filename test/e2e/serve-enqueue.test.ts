/**
 * `tau serve` in enqueue mode, through the real binary: a `tau serve` process and a `tau worker`
 * process on one real PostgreSQL. A prompt is a durable run (202 with its id) that the worker
 * runs; the SSE stream is the session's log from the store (ids are seqs, Last-Event-ID resumes);
 * a second prompt continues the same conversation; abort is the durable cancel; a permission ask
 * on the worker gets the headless answer (nobody is asked); what needs the agent in the server's
 * process is refused by name. Without `durable`, enqueue mode is a config error.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { usePgCluster } from '../plugins/session-postgres/pg-cluster.js'
import {
  durableTestConfig,
  startWorkerProcess,
  testClient,
  type WorkerProcess,
  waitFor,
} from './durable-fixture.js'
import { cleanEnv, useProjects } from './run-tau.js'
import { startServe } from './serve-process.js'

const tag = randomBytes(3).toString('hex')
const project = useProjects()
const cluster = usePgCluster()
const closers: Array<() => unknown> = []
let model: ScriptedServer | undefined
let worker: WorkerProcess | undefined

afterAll(async () => {
  for (const close of closers.reverse()) await close()
  if (worker?.alive()) worker.child.kill('SIGKILL')
  await model?.close()
})

type Body = { messages?: Array<{ role: string; content?: unknown }> }
const userTexts = (body: unknown) =>
  ((body as Body).messages ?? []).filter((m) => m.role === 'user').map((m) => JSON.stringify(m.content))

describe('tau serve, serve.mode enqueue', () => {
  it('is a config error without durable', async () => {
    const p = await project({
      'tau.config.json': JSON.stringify({ model: 'openai:scripted-model', serve: { mode: 'enqueue' } }),
    })
    const result = await p.run(['serve', '--port', '0'], { env: { OPENAI_API_KEY: 'sk-test' } })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_SERVE_ENQUEUE_NOT_DURABLE')
    expect(result.stderr).toContain('durable.database')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('enqueues prompts as durable runs a worker runs; SSE streams the log from PostgreSQL', async () => {
    const p = await project()
    const marker = p.path('ran.txt')
    const started = p.path('slow-started')
    const respond = (request: { body?: unknown }): ScriptTurn => {
      const users = userTexts(request.body)
      const messages = (request.body as Body).messages ?? []
      const last = messages.at(-1)
      const prompt = users.at(-1) ?? ''
      if (last?.role === 'tool') return { text: `done: ${prompt.includes('second') ? 'second' : 'other'}` }
      if (prompt.includes('first'))
        return { toolCalls: [{ id: 'call_1', name: 'Bash', input: { command: `echo first >> ${marker}` } }] }
      if (prompt.includes('second'))
        // Write is not allowed: the worker is headless, so the ask gets its fail-closed answer.
        return {
          toolCalls: [
            { id: 'call_2', name: 'Write', input: { file_path: p.path('nope.txt'), content: 'x' } },
          ],
        }
      if (prompt.includes('slow'))
        return {
          toolCalls: [{ id: 'call_3', name: 'Bash', input: { command: `touch ${started}; sleep 300` } }],
        }
      return { text: 'ok' }
    }
    model = await startScriptedServer({ format: 'openai', script: [], respond })
    const version = `test-${tag}`
    await p.write({
      'tau.config.json': JSON.stringify({
        model: 'openai:scripted-model',
        permissions: { allow: ['Bash'] },
        serve: { mode: 'enqueue' },
        ...durableTestConfig(cluster.url, version),
      }),
    })
    const env = cleanEnv(p.tauHome, p.home, {
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    })
    worker = startWorkerProcess(p.dir, env)
    const serve = await startServe(p, closers)
    const output = () => `${serve.proc.output()}\n${worker?.output() ?? ''}`

    // What needs the agent in this process is refused, by name.
    const refused = await serve.call('POST', '/sessions', { permissionMode: 'plan' })
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({ error: { code: 'TAU_SERVE_ENQUEUE_UNSUPPORTED' } })
    expect(JSON.stringify(refused.body)).toContain('permissionMode')

    const created = await serve.call('POST', '/sessions', {})
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = String(created.body.id)
    const command = await serve.call('POST', `/sessions/${id}/prompt`, { text: '/compact' })
    expect(command.body).toMatchObject({ error: { code: 'TAU_SERVE_ENQUEUE_UNSUPPORTED' } })

    const stream = await serve.stream(`/sessions/${id}/events`)
    const first = await serve.call('POST', `/sessions/${id}/prompt`, { text: 'first task' })
    expect(first.status, JSON.stringify(first.body)).toBe(202)
    const runId = String(first.body.runId)
    expect(runId).toMatch(/^run-/)
    const isEnd = (runOf: string) => (e: { event: string; data: Record<string, unknown> }) =>
      e.event === 'record' && e.data.type === 'run-end' && e.data.runId === runOf
    await stream.waitFor(isEnd(runId), 'the first run-end record', 180_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${output()}`)
    })
    // Every record once, in order, its SSE id its seq.
    const records = stream.events.filter((e) => e.event === 'record')
    expect(records.map((e) => e.id)).toEqual(records.map((e) => String(e.data.seq)))
    const seqs = records.map((e) => Number(e.id))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(records.find((e) => e.data.type === 'run-start')?.data.runId).toBe(runId)
    expect(existsSync(marker)).toBe(true)

    const client = await testClient(cluster.url, version)
    closers.push(() => client.close())
    const done = await client.wait(runId, 120_000)
    expect(done.status, output()).toBe('SUCCESS')
    expect(done.output?.sessionId).toBe(id)

    // Resume after an id seen: exactly what came after it.
    const middle = seqs[Math.floor(seqs.length / 2)]!
    const resumed = await serve.stream(`/sessions/${id}/events`, { 'last-event-id': String(middle) })
    await resumed.waitFor(isEnd(runId), 'the run-end again, after Last-Event-ID')
    const again = resumed.events.filter((e) => e.event === 'record').map((e) => Number(e.id))
    expect(again).toEqual(seqs.filter((s) => s > middle))
    resumed.close()

    // A second prompt continues the same conversation, on whichever worker takes it.
    const second = await serve.call('POST', `/sessions/${id}/prompt`, { text: 'second task' })
    expect(second.status, JSON.stringify(second.body)).toBe(202)
    const secondRun = String(second.body.runId)
    expect(secondRun).not.toBe(runId)
    await stream.waitFor(isEnd(secondRun), 'the second run-end record', 180_000)
    const secondRequest = model.requests.find((r) => userTexts(r.body).some((t) => t.includes('second')))
    const texts = userTexts(secondRequest?.body)
    expect(texts.some((t) => t.includes('first task'))).toBe(true)
    expect(texts.some((t) => t.includes('second task'))).toBe(true)
    // The worker asked nobody: Write was denied with the headless answer, and not run.
    const denied = stream.events.find(
      (e) =>
        e.event === 'record' &&
        e.data.type === 'message' &&
        JSON.stringify(e.data).includes('call_2') &&
        (e.data.message as { role: string }).role === 'tool',
    )
    expect(JSON.stringify(denied?.data)).toContain('non-interactive (headless), so nobody can approve it')
    expect(existsSync(p.path('nope.txt'))).toBe(false)

    // Abort is the durable cancel: the worker aborts the run mid-tool-call.
    const slow = await serve.call('POST', `/sessions/${id}/prompt`, { text: 'slow task' })
    // At once after the run-end record: the run is over (DBOS records it a moment later).
    expect(slow.status, JSON.stringify(slow.body)).toBe(202)
    const slowRun = String(slow.body.runId)
    await waitFor('the slow tool starting', () => (existsSync(started) ? true : undefined), 180_000, output)
    const busy = await serve.call('POST', `/sessions/${id}/prompt`, { text: 'meanwhile' })
    expect(busy.status).toBe(409)
    expect((await serve.call('GET', `/sessions/${id}`)).body.status).toBe('running')
    const aborted = await serve.call('POST', `/sessions/${id}/abort`)
    expect(aborted.body).toMatchObject({ aborted: true })
    const end = await stream.waitFor(isEnd(slowRun), 'the slow run-end record', 120_000)
    expect(end.data.stopReason).toBe('aborted')
    expect((await client.show(slowRun)).status).toBe('CANCELLED')
    expect((await serve.call('GET', `/sessions/${id}`)).body.status).toBe('idle')
    stream.close()
  }, 600_000)
})
