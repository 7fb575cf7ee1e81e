/**
 * `tau serve` in enqueue mode, through the real binary: a `tau serve` process and a `tau worker`
 * process on one real PostgreSQL. A prompt is a durable run (202 with its id) that the worker
 * runs; the SSE stream is the session's log from the store (ids are seqs, Last-Event-ID resumes);
 * a second prompt continues the same conversation; abort is the durable cancel; a permission ask
 * on the worker gets the headless answer (nobody is asked); what needs the agent in the server's
 * process is refused by name. Without `durable`, enqueue mode is a config error.
 *
 * A durable run's text as it streams, on another host's view: `tau runs logs -f` and the SSE of
 * `tau serve` in enqueue mode show the worker's text deltas while the model is still answering.
 * The model holds the rest of such an answer until the test has seen the first half arrive
 * through PostgreSQL: no delay, a condition.
 *
 * One cluster, one worker, one `tau serve` and one model server for both (they were two files,
 * serve-enqueue and durable-deltas, each paying its own boots and migrations).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { deltaChannel } from '../../plugins/durable-dbos/deltas.js'
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
import { cleanEnv, type Project, useProjects } from './run-tau.js'
import { type Serving, startServe } from './serve-process.js'

const tag = randomBytes(3).toString('hex')
const project = useProjects()
const cluster = usePgCluster({ schema: 'durable' })
const closers: Array<() => unknown> = []
let scriptedServer: ScriptedServer | undefined
let worker: WorkerProcess | undefined

afterAll(async () => {
  for (const close of closers.reverse()) await close()
  if (worker?.alive()) worker.child.kill('SIGKILL')
  await scriptedServer?.close()
})

type Body = { messages?: Array<{ role: string; content?: unknown }> }
const userTexts = (body: unknown) =>
  ((body as Body).messages ?? []).filter((m) => m.role === 'user').map((m) => JSON.stringify(m.content))

/** The prompts whose answers the model server holds (the live-delta tests'). */
const HELD = ['say something', 'say it again']

/** True once a connection LISTENs on the session's delta channel (its last statement). */
const listening = (sessionId: string) =>
  cluster
    .sql(`SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN "${deltaChannel(sessionId)}"'`)
    .trim() !== '0'
    ? true
    : undefined

/** Passes a request on to `url` and its answer back, chunk by chunk as it comes. */
async function forward(url: string, body: Buffer, res: ServerResponse): Promise<void> {
  try {
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(body),
    })
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
    if (answer.body) for await (const part of answer.body) res.write(part)
    res.end()
  } catch (error) {
    res.destroy(error as Error)
  }
}

/**
 * The one model server of the file, on the OpenAI wire: a request whose last user message names
 * one of HELD gets a chat-completions stream held twice (`first` goes out at releaseFirst(),
 * `second` and the end at release()); every other request goes on to the scripted server at
 * `fallback`, whose answer it passes back as it comes.
 */
async function heldModel(first: string, second: string, fallback: string) {
  let firsts: Array<() => void> = []
  let releases: Array<() => void> = []
  let requests = 0
  // One chunk of the stream: its choices (a delta, or none with the usage at the end).
  const frame = (res: ServerResponse, fields: Record<string, unknown>) =>
    res.write(
      `data: ${JSON.stringify({
        id: 'chatcmpl-held',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'held-model',
        ...fields,
      })}\n\n`,
    )
  const chunk = (res: ServerResponse, delta: Record<string, unknown>, finish: string | null = null) =>
    frame(res, { choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no route"}}')
      return
    }
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      const last = ((JSON.parse(body.toString('utf8')) as Body).messages ?? [])
        .filter((m) => m.role === 'user')
        .at(-1)
      if (!HELD.some((text) => JSON.stringify(last?.content ?? '').includes(text))) {
        void forward(`${fallback}${req.url}`, body, res)
        return
      }
      requests++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      chunk(res, { role: 'assistant', content: '' })
      firsts.push(() => chunk(res, { content: first }))
      releases.push(() => {
        chunk(res, { content: second })
        chunk(res, {}, 'stop')
        frame(res, { choices: [], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } })
        res.end('data: [DONE]\n\n')
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    releaseFirst() {
      const pending = firsts
      firsts = []
      for (const release of pending) release()
    },
    release() {
      const pending = releases
      releases = []
      for (const release of pending) release()
    },
  }
}

interface Shared {
  readonly p: Project
  readonly env: Record<string, string>
  readonly version: string
  /** The held answers' side of the model server. */
  readonly model: Awaited<ReturnType<typeof heldModel>>
  /** The scripted side: every request that is not held. */
  readonly scripted: ScriptedServer
  readonly serve: Serving
  readonly marker: string
  readonly started: string
  output(): string
}

let sharing: Promise<Shared> | undefined

/** The project, model server, worker and `tau serve` of the tests below, made by the first to ask. */
function shared(): Promise<Shared> {
  sharing ??= (async () => {
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
    const scripted = await startScriptedServer({ format: 'openai', script: [], respond })
    scriptedServer = scripted
    const model = await heldModel('streamed-part-one ', 'and part two', scripted.url)
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
    return { p, env, version, model, scripted, serve, marker, started, output }
  })()
  return sharing
}

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
    const { p, scripted: model, serve, output, marker, started, version } = await shared()

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

describe('live text deltas of durable runs', () => {
  it('tau runs logs -f and the enqueue-mode SSE show text before the run ends', async () => {
    const { p, env, model, serve, output } = await shared()

    // tau runs logs -f
    const submitted = await p.run(['submit', 'say something'], { env })
    expect(submitted.code, submitted.stderr).toBe(0)
    const runId = submitted.stdout.trim()
    const logs = p.spawn(['runs', 'logs', runId, '-f'], { env })
    closers.push(() => {
      if (!logs.exited) logs.child.kill('SIGKILL')
    })
    // The deltas go out once the follower listens (what it was not connected for, it does not get).
    await waitFor(
      'the run calling the model',
      () => (model.requests() === 1 ? true : undefined),
      180_000,
      output,
    )
    await waitFor('tau runs logs -f listening', () => listening(runId), 120_000, logs.output)
    model.releaseFirst()
    const lines = () =>
      logs
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string; text?: string; seq?: number; runId?: string })
    const seen = await waitFor(
      'a text delta in tau runs logs -f',
      () => {
        const all = lines()
        return all.some((l) => l.type === 'text-delta') ? all : undefined
      },
      180_000,
      () => `${logs.output()}\n${output()}`,
    )
    const delta = seen.find((l) => l.type === 'text-delta')!
    expect(delta.text).toBe('streamed-part-one ')
    expect(delta.runId).toBe(runId)
    // The model holds the rest of its answer: the run has not ended, its answer is not in the log.
    expect(seen.some((l) => l.type === 'run-end')).toBe(false)
    expect(seen.some((l) => l.type === 'message' && JSON.stringify(l).includes('part two'))).toBe(false)
    // Seqs go up: the delta has its place in the session's one sequence.
    const seqs = seen.map((l) => l.seq ?? -1)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    model.release()
    const ended = await logs.result
    expect(ended.code, ended.stderr).toBe(0)
    const all = lines()
    expect(all.at(-1)?.type).toBe('run-end')
    expect(JSON.stringify(all.filter((l) => l.type === 'message'))).toContain(
      'streamed-part-one and part two',
    )

    // tau serve in enqueue mode: the SSE stream's `agent` text-delta, before the run-end record.
    const created = await serve.call('POST', '/sessions', {})
    const id = String(created.body.id)
    const stream = await serve.stream(`/sessions/${id}/events`)
    await waitFor('the SSE stream listening', () => listening(id), 120_000, serve.proc.output)
    const prompt = await serve.call('POST', `/sessions/${id}/prompt`, { text: 'say it again' })
    expect(prompt.status, JSON.stringify(prompt.body)).toBe(202)
    await waitFor(
      'the run calling the model',
      () => (model.requests() === 2 ? true : undefined),
      180_000,
      output,
    )
    model.releaseFirst()
    const live = await stream.waitFor(
      (e) => e.event === 'agent' && e.data.type === 'text-delta',
      'a text delta on the SSE stream',
      180_000,
    )
    expect(live.data.text).toBe('streamed-part-one ')
    expect(live.id).toBe(String(live.data.seq))
    expect(stream.events.some((e) => e.event === 'record' && e.data.type === 'run-end')).toBe(false)
    model.release()
    const end = await stream.waitFor(
      (e) => e.event === 'record' && e.data.type === 'run-end',
      'the run-end record',
      120_000,
    )
    const ids = stream.events.filter((e) => e.id !== undefined).map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(Number(end.id)).toBeGreaterThan(Number(live.id))
    expect(model.requests()).toBe(2)
    stream.close()
  }, 600_000)
})
