/**
 * A durable run's text as it streams, on another host's view: `tau runs logs -f` and the SSE of
 * `tau serve` in enqueue mode show the worker's text deltas while the model is still answering.
 * The model is a loopback OpenAI-wire server that sends the first half of its answer and holds the
 * rest until the test has seen that half arrive through PostgreSQL: no delay, a condition.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { deltaChannel } from '../../plugins/durable-dbos/deltas.js'
import { usePgCluster } from '../plugins/session-postgres/pg-cluster.js'
import { durableTestConfig, startWorkerProcess, type WorkerProcess, waitFor } from './durable-fixture.js'
import { cleanEnv, useProjects } from './run-tau.js'
import { startServe } from './serve-process.js'

const tag = randomBytes(3).toString('hex')
const project = useProjects()
const cluster = usePgCluster()
const closers: Array<() => unknown> = []
let worker: WorkerProcess | undefined

/** True once a connection LISTENs on the session's delta channel (its last statement). */
const listening = (sessionId: string) =>
  cluster
    .sql(`SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN "${deltaChannel(sessionId)}"'`)
    .trim() !== '0'
    ? true
    : undefined

afterAll(async () => {
  for (const close of closers.reverse()) await close()
  if (worker?.alive()) worker.child.kill('SIGKILL')
})

/**
 * An OpenAI chat-completions stream held twice: `first` goes out at releaseFirst(), `second` and
 * the end at release().
 */
async function heldModel(first: string, second: string) {
  let firsts: Array<() => void> = []
  let releases: Array<() => void> = []
  let requests = 0
  const chunk = (res: ServerResponse, delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(
      `data: ${JSON.stringify({
        id: 'chatcmpl-held',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'held-model',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      })}\n\n`,
    )
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no route"}}')
      return
    }
    req.resume()
    req.on('end', () => {
      requests++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      chunk(res, { role: 'assistant', content: '' })
      firsts.push(() => chunk(res, { content: first }))
      releases.push(() => {
        chunk(res, { content: second })
        chunk(res, {}, 'stop')
        res.write(
          `data: ${JSON.stringify({
            id: 'chatcmpl-held',
            object: 'chat.completion.chunk',
            created: 1,
            model: 'held-model',
            choices: [],
            usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
          })}\n\n`,
        )
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

describe('live text deltas of durable runs', () => {
  it('tau runs logs -f and the enqueue-mode SSE show text before the run ends', async () => {
    const model = await heldModel('streamed-part-one ', 'and part two')
    const p = await project()
    const version = `test-${tag}`
    await p.write({
      'tau.config.json': JSON.stringify({
        model: 'openai:held-model',
        serve: { mode: 'enqueue' },
        ...durableTestConfig(cluster.url, version),
      }),
    })
    const env = cleanEnv(p.tauHome, p.home, {
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    })
    worker = startWorkerProcess(p.dir, env)
    const output = () => worker?.output() ?? ''

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
    const serve = await startServe(p, closers)
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
