/**
 * `tau serve` as a user runs it: the real binary on the coding preset, a scripted model on
 * loopback in OpenAI's wire format. A session is prompted over HTTP and followed over SSE; the
 * server is killed with SIGKILL in the middle of the streamed answer; a new server lists the
 * session, reports its run as interrupted, replays its log over SSE, and continues the run
 * without inventing a user message. Every wait polls a condition; nothing sleeps a fixed time.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { projectKey } from '../../plugins/session/index.js'
import { typeOf } from '../plugins/serve/sse-client.js'
import { type Project, STACK_LINE, useProjects } from './run-tau.js'
import { startServe as startServeIn } from './serve-process.js'

const project = useProjects()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})
const startServe = (p: Project) => startServeIn(p, closers)

type WireMessage = { role: string; content?: unknown }

describe('tau serve (the real binary)', () => {
  it('prints the token once, refuses without it, and survives kill -9 mid-run: interrupted, then continued', async () => {
    const server: ScriptedServer = await startScriptedServer({
      format: 'openai',
      script: [
        // Slow enough to be killed in the middle of it.
        { text: 'a long answer that the crash cuts short, word by word', chunkDelayMs: 150, deltaChars: 2 },
        { text: 'finished after the restart' },
      ],
    })
    closers.push(() => server.close())
    const p = await project()
    await p.write({
      // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
      'tau.config.json': JSON.stringify({
        preset: 'coding',
        model: 'openai:scripted-model',
        providers: { openai: { baseURL: `${server.url}/v1` } },
        sandbox: { mode: 'off' },
      }),
    })
    const first = await startServe(p)
    expect(first.proc.output()).toContain(`created the bearer token`)
    expect(first.proc.output()).toContain(first.token)
    const refused = await fetch(`${first.url}/sessions`)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TAU_SERVE_UNAUTHORIZED')

    const created = await first.call('POST', '/sessions', {})
    expect(created.status).toBe(201)
    const id = created.body.id as string
    const live = await first.stream(`/sessions/${id}/events`)
    expect(
      (await first.call('POST', `/sessions/${id}/prompt`, { text: 'tell me a long story' })).status,
    ).toBe(202)
    await live.waitFor(
      (e) => e.event === 'agent' && typeOf(e) === 'text-delta' && String(e.data.text) !== '',
      'the answer streaming',
    )
    first.proc.child.kill('SIGKILL')
    expect((await first.proc.result).signal).toBe('SIGKILL')

    const second = await startServe(p)
    // The token is not printed again.
    expect(second.proc.output()).not.toContain(second.token)
    expect(second.token).toBe(first.token)
    const listed = await second.call('GET', '/sessions')
    expect((listed.body.sessions as Array<{ id: string }>).map((s) => s.id)).toContain(id)
    const got = await second.call('GET', `/sessions/${id}`)
    expect(got.body).toMatchObject({
      id,
      status: 'interrupted',
      loaded: false,
      title: 'tell me a long story',
    })

    const replay = await second.stream(`/sessions/${id}/events`)
    await replay.waitFor(
      (e) => e.event === 'record' && typeOf(e) === 'run-start',
      'the interrupted run replayed from the log',
    )
    const prompt = await replay.waitFor(
      (e) =>
        e.event === 'record' &&
        typeOf(e) === 'message' &&
        JSON.stringify(e.data).includes('tell me a long story'),
      'the prompt replayed',
    )
    expect(Number(prompt.id)).toBeGreaterThanOrEqual(0)
    expect((await second.call('POST', `/sessions/${id}/continue`)).status).toBe(202)
    const result = await replay.waitFor(
      (e) => e.event === 'agent' && typeOf(e) === 'result',
      'the continued result',
    )
    expect(result.data).toMatchObject({ text: 'finished after the restart', isError: false })
    expect(Number(result.id)).toBeGreaterThan(Number(prompt.id))
    // The continuation sent the conversation as it was: one user message, none invented.
    const messages = (server.requests.at(-1)!.body as { messages: WireMessage[] }).messages
    expect(messages.filter((m) => m.role === 'user')).toHaveLength(1)
    expect((await second.call('GET', `/sessions/${id}`)).body).toMatchObject({ status: 'idle', loaded: true })

    // SIGTERM stops it cleanly (128 + 15, as every tau command): the lease is released.
    const lock = join(p.tauHome, 'projects', projectKey(p.dir), `${id}.lock`)
    expect(existsSync(lock)).toBe(true)
    second.proc.child.kill('SIGTERM')
    const end = await second.proc.result
    expect(end.code, second.proc.output()).toBe(143)
    expect(end.stderr).not.toMatch(STACK_LINE)
    expect(existsSync(lock)).toBe(false)
  })
})
