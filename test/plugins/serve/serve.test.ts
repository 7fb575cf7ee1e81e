/**
 * `tau serve`'s HTTP API on a real Fastify server on loopback, over a kernel with the scripted
 * model: every route, the token refused or missing, validation errors, questions answered by id,
 * SSE ids that are the session's seq and resume after a disconnect and after the server (and its
 * hub) restarted, 20 sessions at once through one server, the OpenAPI document.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import plan from '../../../plugins/plan/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers, { providerRegistryRef } from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import type { RunningServer } from '../../../plugins/serve/index.js'
import { loadOrCreateToken, openapiPath, SessionHub, startServer } from '../../../plugins/serve/public.js'
import session, { sessionServiceRef } from '../../../plugins/session/index.js'
import sessionController, { sessionControllersRef } from '../../../plugins/session-controller/index.js'
import slashCommands from '../../../plugins/slash-commands/index.js'
import tools from '../../../plugins/tools/index.js'
import { openStream, type SseEvent, type SseStream, typeOf } from './sse-client.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const TOKEN = 'test-token-0123456789abcdef'

// The API's JSON bodies, read by the assertions below (their shapes are in the OpenAPI document).
// biome-ignore lint/suspicious/noExplicitAny: a test reads many response shapes by path
type Json = any

interface Served {
  dir: string
  kernel: TestKernel
  server: RunningServer
  hub: SessionHub
  url: string
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: Json }>
  stream(path: string, headers?: Record<string, string>): Promise<SseStream>
  restart(): Promise<void>
}

async function serve(turns: ScriptTurn[] = []): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), 'tau-serve-'))
  cleanup.push(() => rm(dir, { recursive: true, force: true }))
  const kernel = await createTestKernel({
    cwd: dir,
    tauHome: join(dir, 'home'),
    plugins: [
      providers,
      providerScripted,
      sandbox,
      tools,
      permissions,
      agent,
      plan,
      session,
      slashCommands,
      sessionController,
    ],
    config: { model: 'scripted:test', providers: { scripted: { turns } }, sandbox: { mode: 'off' } },
  })
  cleanup.push(() => kernel.stop())
  const open = async () => {
    const hub = new SessionHub({
      controllers: kernel.resolve(sessionControllersRef),
      sessions: kernel.resolve(sessionServiceRef),
      cwd: dir,
      bufferSize: 20_000,
      logger: kernel.logger,
      checkModel: (model) => {
        const registry = kernel.resolve(providerRegistryRef)
        registry.get(registry.ref(model).provider)
      },
    })
    const server = await startServer({
      hub,
      config: { host: '127.0.0.1', port: 0, corsOrigins: [], webUi: true },
      token: TOKEN,
      cwd: dir,
      logger: kernel.logger,
    })
    return { hub, server }
  }
  let current = await open()
  const close = async () => {
    await current.server.close()
    await current.hub.close()
  }
  cleanup.push(() => close())
  const served: Served = {
    dir,
    kernel,
    get server() {
      return current.server
    },
    get hub() {
      return current.hub
    },
    get url() {
      return current.server.url
    },
    async call(method, path, body, token = TOKEN) {
      const res = await fetch(`${current.server.url}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
    },
    async stream(path, headers = {}) {
      const stream = await openStream(`${current.server.url}${path}`, TOKEN, headers)
      cleanup.push(async () => stream.close())
      return stream
    },
    async restart() {
      await close()
      current = await open()
    },
  }
  return served
}

const agentOf = (type: string) => (e: SseEvent) => e.event === 'agent' && typeOf(e) === type

describe('tau serve: auth and the OpenAPI document', () => {
  it('refuses every route of the document without the token, and with a wrong one', async () => {
    const s = await serve()
    const doc = (await s.call('GET', '/openapi.json')).body
    const operations: Array<[string, string]> = []
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(methods))
        if (path !== '/') operations.push([method.toUpperCase(), path])
    expect(operations.length).toBeGreaterThanOrEqual(15)
    for (const [method, path] of operations) {
      const concrete = path.replace('{id}', 'abc').replace('{questionId}', 'q1')
      for (const token of [null, 'not-the-token']) {
        const res = await s.call(
          method,
          concrete,
          method === 'GET' || method === 'DELETE' ? undefined : {},
          token,
        )
        expect(res.status, `${method} ${path} with ${token}`).toBe(401)
        expect(res.body.error.code).toBe('TAU_SERVE_UNAUTHORIZED')
        expect(res.body.error.hint).toContain('Authorization: Bearer')
      }
    }
    // The page is served without it (it holds no data); its API calls need the token.
    const page = await fetch(`${s.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await page.text()).toContain('<title>tau</title>')
  })

  it('lists every route with its schemas, and is a valid OpenAPI 3.1 document', async () => {
    const s = await serve()
    const doc = (await s.call('GET', '/openapi.json')).body
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' })
    const ids = new Set<string>()
    for (const spec of s.server.routes) {
      const operation = doc.paths[openapiPath(spec.url)]?.[spec.method.toLowerCase()]
      expect(operation, `${spec.method} ${spec.url}`).toBeDefined()
      expect(ids.has(operation.operationId)).toBe(false)
      ids.add(operation.operationId)
      expect(operation.responses['401']).toBeDefined()
      const pathParams = [...spec.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1])
      expect(
        operation.parameters
          .filter((p: { in: string }) => p.in === 'path')
          .map((p: { name: string }) => p.name),
      ).toEqual(pathParams)
      if (spec.body) expect(operation.requestBody.content['application/json'].schema).toEqual(spec.body)
    }
    // Every schema in the document compiles (Fastify's validator compiled the same objects at start).
    for (const path of ['/sessions', '/sessions/{id}/events', '/sessions/{id}/questions/{questionId}'])
      expect(doc.paths[path]).toBeDefined()
    expect(doc.paths['/sessions/{id}/events'].get.responses['200'].content['text/event-stream']).toBeDefined()
  })

  it('creates the token file once, mode 0600, and reads it again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tau-serve-token-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'serve', 'token')
    const first = await loadOrCreateToken(file)
    expect(first.created).toBe(true)
    expect(first.token.length).toBeGreaterThanOrEqual(40)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const again = await loadOrCreateToken(file)
    expect(again).toMatchObject({ created: false, token: first.token })
    expect((await readFile(file, 'utf8')).trim()).toBe(first.token)
  })
})

describe('tau serve: sessions', () => {
  it('creates, lists, gets, forks and deletes sessions; bad bodies are 400 naming the field', async () => {
    const s = await serve([{ text: 'first answer' }])
    const work = join(s.dir, 'work')
    await mkdir(work)
    const created = await s.call('POST', '/sessions', { permissionMode: 'acceptEdits', cwd: 'work' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      status: 'idle',
      model: 'scripted:test',
      cwd: work,
      permissionMode: 'acceptEdits',
    })
    const id = created.body.id as string

    expect((await s.call('POST', '/sessions', { cwd: 'nope' })).body.error).toMatchObject({
      code: 'TAU_SERVE_BAD_REQUEST',
      message: expect.stringContaining("cwd: 'nope' is not a directory"),
    })
    const unknown = await s.call('POST', '/sessions', { mcpServer: {} })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.message).toContain("'mcpServer'")
    const badMode = await s.call('POST', '/sessions', { permissionMode: 'yolo' })
    expect(badMode.status).toBe(400)
    expect(badMode.body.error.message).toContain('permissionMode')
    const badModel = await s.call('POST', '/sessions', { model: 'nosuch:model' })
    expect(badModel.status).toBe(400)
    expect(badModel.body.error.code).toMatch(/^TAU_/)

    const events = await s.stream(`/sessions/${id}/events`)
    expect((await s.call('POST', `/sessions/${id}/prompt`, { text: 'hello' })).status).toBe(202)
    await events.waitFor((e) => e.event === 'idle', 'the run to end')
    const got = await s.call('GET', `/sessions/${id}`)
    expect(got.body).toMatchObject({ id, status: 'idle', title: 'hello', loaded: true })

    const list = await s.call('GET', '/sessions')
    expect(list.body.sessions.map((v: { id: string }) => v.id)).toContain(id)

    const fork = await s.call('POST', `/sessions/${id}/fork`)
    expect(fork.status).toBe(201)
    expect(fork.body.id).not.toBe(id)
    const forkEvents = await s.stream(`/sessions/${fork.body.id}/events`)
    // The fork starts from the parent's log: its records replay the conversation.
    await forkEvents.waitFor(
      (e) =>
        e.event === 'record' && typeOf(e) === 'message' && JSON.stringify(e.data).includes('first answer'),
      "the parent's answer in the fork",
    )

    expect((await s.call('DELETE', `/sessions/${id}`)).status).toBe(204)
    expect((await s.call('GET', `/sessions/${id}`)).status).toBe(404)
    expect((await s.call('DELETE', `/sessions/${id}`)).body.error.code).toBe('TAU_SERVE_NOT_FOUND')
    expect((await s.call('POST', '/sessions/nosuch/prompt', { text: 'x' })).status).toBe(404)
    expect((await s.call('POST', `/sessions/${fork.body.id}/prompt`, {})).body.error.message).toContain(
      'text',
    )
  })

  it('streams a run with seq ids, asks permission as a question answered by id, and aborts', async () => {
    const s = await serve([
      { toolCalls: [{ id: 'call-1', name: 'Write', input: { file_path: 'note.txt', content: 'hi' } }] },
      { text: 'wrote it' },
      { text: 'a slow answer that will be cut', chunkDelayMs: 200, deltaChars: 1 },
    ])
    const { body } = await s.call('POST', '/sessions', {})
    const id = body.id as string
    const events = await s.stream(`/sessions/${id}/events`)
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'write a note' })
    const question = await events.waitFor((e) => e.event === 'question', 'a permission question')
    const q = question.data.question as { id: string; kind: string; request: { toolName: string } }
    expect(q).toMatchObject({ kind: 'permission', request: { toolName: 'Write' } })
    expect((await s.call('GET', `/sessions/${id}/questions`)).body.questions).toHaveLength(1)
    const wrong = await s.call('POST', `/sessions/${id}/questions/${q.id}`, {
      answer: { decision: 'approve' },
    })
    expect(wrong.status).toBe(400)
    expect(wrong.body.error.message).toContain('permission question')
    expect((await s.call('POST', `/sessions/${id}/questions/${q.id}`, { answer: 'allow' })).body).toEqual({
      ok: true,
    })
    expect((await s.call('POST', `/sessions/${id}/questions/${q.id}`, { answer: 'allow' })).status).toBe(404)
    await events.waitFor(agentOf('result'), 'the result')
    expect(await readFile(join(s.dir, 'note.txt'), 'utf8')).toBe('hi')
    // Agent events carry the session's seq as their SSE id, increasing.
    const own = events.events.filter((e) => e.event === 'agent')
    for (const e of own) expect(e.id).toBe(String(e.data.seq))
    const seqs = own.map((e) => Number(e.id))
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)

    await events.waitFor((e) => e.event === 'idle', 'idle')
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'go slowly' })
    await events.waitFor(
      (e) => agentOf('text-delta')(e) && e.data.text !== '' && Number(e.id) > seqs.at(-1)!,
      'a delta',
    )
    const aborted = await s.call('POST', `/sessions/${id}/abort`)
    expect(aborted.body).toMatchObject({ aborted: true, taken: [] })
    const result = await events.waitFor(
      (e) => agentOf('result')(e) && e.data.stopReason === 'aborted',
      'aborted',
    )
    expect(result.data.isError).toBe(true)
  })

  it('approves a plan by id over HTTP: the session goes on in the mode picked; a queued prompt is handed back on abort', async () => {
    const s = await serve([
      { toolCalls: [{ id: 'p1', name: 'ExitPlanMode', input: { plan: '# Do it\n\n1. Write b.txt' } }] },
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'b.txt', content: 'b' } }] },
      { text: 'Done.' },
      { text: 'slow', firstByteDelayMs: 60_000 },
    ])
    const id = (await s.call('POST', '/sessions', { permissionMode: 'plan' })).body.id as string
    const events = await s.stream(`/sessions/${id}/events`)
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'make b.txt' })
    const asked = await events.waitFor((e) => e.event === 'question', 'the plan question')
    const question = asked.data.question as { id: string; kind: string; request: { plan: string } }
    expect(question).toMatchObject({ kind: 'plan', request: { plan: '# Do it\n\n1. Write b.txt' } })
    const answer = { decision: 'approve', mode: 'acceptEdits' }
    expect((await s.call('POST', `/sessions/${id}/questions/${question.id}`, { answer })).status).toBe(200)
    await events.waitFor((e) => agentOf('result')(e) && e.data.text === 'Done.', 'the result')
    expect(await readFile(join(s.dir, 'b.txt'), 'utf8')).toBe('b')
    // acceptEdits: the Write ran without another question.
    expect(events.events.filter((e) => e.event === 'question')).toHaveLength(1)
    expect((await s.call('GET', `/sessions/${id}`)).body.permissionMode).toBe('acceptEdits')
    await events.waitFor((e) => e.event === 'idle', 'idle')
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'a slow one' })
    expect((await s.call('POST', `/sessions/${id}/prompt`, { text: 'queued behind it' })).body).toEqual({
      accepted: true,
      queued: true,
    })
    expect((await s.call('GET', `/sessions/${id}`)).body).toMatchObject({
      status: 'running',
      queue: ['queued behind it'],
    })
    expect((await s.call('POST', `/sessions/${id}/abort`)).body).toEqual({
      aborted: true,
      taken: ['queued behind it'],
    })
    await events.waitFor((e) => agentOf('result')(e) && e.data.stopReason === 'aborted', 'the aborted result')
  })

  it('runs slash commands, lists them, and sets the mode', async () => {
    const s = await serve()
    const id = (await s.call('POST', '/sessions', {})).body.id as string
    const listed = await s.call('GET', `/sessions/${id}/commands`)
    expect(listed.body.commands.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['help', 'compact', 'mode']),
    )
    const events = await s.stream(`/sessions/${id}/events`)
    expect((await s.call('POST', `/sessions/${id}/commands`, { name: 'help' })).status).toBe(202)
    await events.waitFor(
      (e) => e.event === 'output' && String(e.data.text).includes('/compact'),
      '/help output',
    )
    expect(
      (await s.call('POST', `/sessions/${id}/commands`, { name: 'nosuch' })).body.error.message,
    ).toContain('no command /nosuch')
    expect((await s.call('POST', `/sessions/${id}/mode`, { mode: 'plan' })).body).toEqual({ ok: true })
    expect((await s.call('GET', `/sessions/${id}`)).body.permissionMode).toBe('plan')
    await events.waitFor((e) => e.event === 'mode' && e.data.mode === 'plan', 'the mode event')
  })
})

describe('tau serve: SSE resume', () => {
  it('resumes after a disconnect with Last-Event-ID and ?after=, with nothing lost or repeated', async () => {
    const s = await serve([{ text: 'one two three four five six', deltaChars: 3 }, { text: 'second answer' }])
    const id = (await s.call('POST', '/sessions', {})).body.id as string
    const full = await s.stream(`/sessions/${id}/events`)
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'count' })
    await full.waitFor((e) => e.event === 'idle', 'the first run')
    const cut = full.events.filter((e) => e.id !== undefined).findIndex((e) => typeOf(e) === 'text-delta')
    const withIds = full.events.filter((e) => e.id !== undefined)
    const at = withIds[cut]!.id!
    const resumed = await s.stream(`/sessions/${id}/events`, { 'last-event-id': at })
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'again' })
    await full.waitFor(
      (e) => e.event === 'idle' && e !== full.events.find((x) => x.event === 'idle'),
      'the second run',
    )
    await resumed.waitFor(agentOf('result'), 'result')
    await resumed.waitFor(
      (e) => e.event === 'idle' && resumed.events.filter((x) => x.event === 'idle').length === 2,
      'two idles',
    )
    const rest = withIds.length
    const expected = full.events
      .filter((e) => e.id !== undefined)
      .slice(cut + 1)
      .map((e) => e.id)
    expect(resumed.events.filter((e) => e.id !== undefined).map((e) => e.id)).toEqual(expected)
    expect(rest).toBeGreaterThan(cut + 1)
    const byQuery = await s.stream(`/sessions/${id}/events?after=${at}`)
    await byQuery.waitFor((e) => e.id === expected.at(-1), 'the last event')
    expect(byQuery.events.filter((e) => e.id !== undefined).map((e) => e.id)).toEqual(expected)
    const bad = await s.call('GET', `/sessions/${id}/events?after=abc`)
    expect(bad.status).toBe(400)
  })

  it('after a restart, replays the log after the seq the client saw, then follows the session live', async () => {
    const s = await serve([{ text: 'before the restart' }, { text: 'after the restart' }])
    const id = (await s.call('POST', '/sessions', {})).body.id as string
    const first = await s.stream(`/sessions/${id}/events`)
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'hello' })
    const prompt = await first.waitFor(agentOf('user-prompt'), 'the prompt')
    await first.waitFor((e) => e.event === 'idle', 'the run')
    await s.restart()
    first.close()
    expect((await s.call('GET', `/sessions/${id}`)).body).toMatchObject({
      id,
      loaded: false,
      status: 'idle',
      title: 'hello',
    })
    const resumed = await s.stream(`/sessions/${id}/events`, { 'last-event-id': prompt.id! })
    const answer = await resumed.waitFor(
      (e) =>
        e.event === 'record' &&
        typeOf(e) === 'message' &&
        JSON.stringify(e.data).includes('before the restart'),
      'the answer from the log',
    )
    expect(Number(answer.id)).toBeGreaterThan(Number(prompt.id))
    // Records the client had seen (up to the prompt) are not sent again.
    for (const e of resumed.events.filter((x) => x.event === 'record'))
      expect(Number(e.id)).toBeGreaterThan(Number(prompt.id))
    await s.call('POST', `/sessions/${id}/prompt`, { text: 'and now?' })
    const live = await resumed.waitFor(agentOf('result'), 'a live result after the replay')
    expect(live.data.text).toBe('after the restart')
    expect(Number(live.id)).toBeGreaterThan(Number(answer.id))
  })
})

describe('tau serve: many sessions', () => {
  it('runs 20 sessions at once through one server, each with its own conversation', async () => {
    const n = 20
    const s = await serve(Array.from({ length: n }, (_, i) => ({ text: `answer ${i}` })))
    const ids = await Promise.all(
      Array.from({ length: n }, async () => (await s.call('POST', '/sessions', {})).body.id as string),
    )
    expect(new Set(ids).size).toBe(n)
    const streams = await Promise.all(ids.map((id) => s.stream(`/sessions/${id}/events`)))
    await Promise.all(ids.map((id, i) => s.call('POST', `/sessions/${id}/prompt`, { text: `question ${i}` })))
    const results = await Promise.all(streams.map((stream) => stream.waitFor(agentOf('result'), 'a result')))
    expect(new Set(results.map((r) => r.data.text)).size).toBe(n)
    const provider = s.kernel.resolve(scriptedProviderRef)
    expect(provider.remaining()).toBe(0)
    // Each session's stream has its own prompt only, and its own session id on every event.
    for (const [i, stream] of streams.entries()) {
      const prompts = stream.events.filter(agentOf('user-prompt')).map((e) => e.data.prompt)
      expect(prompts).toEqual([`question ${i}`])
      for (const e of stream.events.filter((x) => x.event === 'agent')) expect(e.data.sessionId).toBe(ids[i])
    }
  })
})
