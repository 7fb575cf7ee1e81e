/**
 * The session plugin: transcripts written as the loop goes (meta first, every message, system
 * prompt, todos, usage), crash safety (a torn last line is a warning; a bad middle line an error
 * naming file and line), resume that sends exactly the request the model would have received
 * without the restart, fork, token accounting and `tau sessions`.
 */
import fs from 'node:fs'
import { appendFile, readFile, truncate, writeFile } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CliCommand, cliCommandsRef, type Message } from '../../../kernel/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import session, {
  JsonlTranscriptStore,
  projectKey,
  type SessionService,
  type SessionSummary,
  sessionServiceRef,
  type TranscriptRecord,
} from '../../../plugins/session/index.js'
import { todoWriteTool } from '../../../plugins/tools/builtins/todo.js'
import { allowAll, harness, resultOf, tempDir } from '../agent/helpers.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})
async function project(): Promise<string> {
  const d = await tempDir('tau-session-')
  dirs.push(d)
  return d.dir
}

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens })
const todos = [
  { content: 'Write the test', status: 'completed', activeForm: 'Writing the test' },
  { content: 'Fix the bug', status: 'in_progress', activeForm: 'Fixing the bug' },
] as const

/** The first prompt's script: a TodoWrite call, then an answer. */
const FIRST: ScriptTurn[] = [
  {
    text: 'Planning.',
    toolCalls: [{ id: 't1', name: 'TodoWrite', input: { todos } }],
    usage: usage(100, 20),
  },
  { text: 'Planned.', usage: usage(180, 5) },
]
const SECOND: ScriptTurn[] = [{ text: 'Done with the second.', usage: usage(250, 7) }]

async function kernelIn(
  cwd: string,
  turns: ScriptTurn[],
  extra: Record<string, unknown> = {},
  agentConfig: Record<string, unknown> = {},
) {
  const h = await harness({
    cwd,
    turns,
    tools: [todoWriteTool],
    decide: allowAll,
    plugins: [session],
    capabilities: { contextWindow: 2000 },
    tauHome: homeOf(cwd),
    config: { session: { durability: 'off', ...extra }, agent: agentConfig },
  })
  return { h, sessions: h.kernel.resolve(sessionServiceRef) as SessionService }
}

async function readRecords(file: string): Promise<TranscriptRecord[]> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TranscriptRecord)
}

/** TAU_HOME of a test project's kernels: the same for each, so a second kernel resumes the first's sessions. */
const homeOf = (cwd: string) => join(cwd, '.tau-home')
const sessionsDir = (cwd: string) => join(homeOf(cwd), 'projects', projectKey(cwd))

async function runSessions(h: Awaited<ReturnType<typeof harness>>, json: boolean): Promise<string> {
  const command = (h.kernel.resolve(cliCommandsRef) as CliCommand[]).find((c) => c.name === 'sessions')!
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk) => {
    out += chunk
  })
  const code = await command.run({
    args: [],
    options: json ? { json: true } : {},
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    signal: new AbortController().signal,
  })
  expect(code).toBe(0)
  return out
}

describe('transcript store (JSONL)', () => {
  const meta: TranscriptRecord = {
    type: 'meta',
    version: 1,
    id: 's1',
    startedAt: '2025-01-01T00:00:00.000Z',
    cwd: '/p',
    model: 'scripted:x',
    title: 'hello',
  }
  const message = (index: number, content: string): TranscriptRecord => ({
    type: 'message',
    index,
    at: '2025-01-01T00:00:01.000Z',
    message: { role: 'user', content },
  })

  it('a torn last line (a crash mid-write) is read back with a warning; the next append cuts it off', async () => {
    const dir = await project()
    const store = new JsonlTranscriptStore(dir)
    await store.append('s1', [meta, message(0, 'one'), message(1, 'two')])
    await store.close('s1')
    const file = join(dir, 's1.jsonl')
    const text = await readFile(file, 'utf8')
    // Cut the last line in the middle, as a crash during its write would.
    await truncate(file, Buffer.byteLength(text) - 12)
    const read = await store.read('s1')
    expect(read.records).toEqual([meta, message(0, 'one')])
    expect(read.warnings).toHaveLength(1)
    expect(read.warnings[0]).toMatch(/s1\.jsonl:3: the last line is incomplete/)

    await store.append('s1', [message(1, 'again')])
    await store.close('s1')
    const again = await store.read('s1')
    expect(again.warnings).toEqual([])
    expect(again.records).toEqual([meta, message(0, 'one'), message(1, 'again')])
  })

  it('with durability record, each record is written before append() resolves, the next one only once the one before is synced, and close() waits for the last sync', async () => {
    const dir = await project()
    const file = join(dir, 's1.jsonl')
    const lines = async () => (await readFile(file, 'utf8')).split('\n').length - 1
    const syncs: Array<{ lines: number; release: () => void }> = []
    const syncCalled = async (n: number) => {
      while (syncs.length < n) await new Promise((resolve) => setTimeout(resolve, 2))
      return syncs[n - 1]!
    }
    const store = new JsonlTranscriptStore(dir, {
      durability: 'record',
      datasync: async () => {
        const seen = await lines()
        await new Promise<void>((release) => syncs.push({ lines: seen, release }))
      },
    })
    // Written (readable by anyone) when append() resolves; its sync still in flight.
    await store.append('s1', [meta])
    expect(await lines()).toBe(1)
    const second = store.append('s1', [message(0, 'one'), message(1, 'two')])
    const first = await syncCalled(1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    // Held back until the record before it is on disk.
    expect(await lines()).toBe(1)
    first.release()
    ;(await syncCalled(2)).release()
    await second
    expect(await lines()).toBe(3)
    let closed = false
    const closing = store.close('s1').then(() => {
      closed = true
    })
    const last = await syncCalled(3)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(closed).toBe(false)
    last.release()
    await closing
    // Each sync saw exactly the records written before it: never two unsynced records at once.
    expect(syncs.map((sync) => sync.lines)).toEqual([1, 2, 3])
    expect((await store.read('s1')).records).toEqual([meta, message(0, 'one'), message(1, 'two')])
  })

  it("an append's records are one write call in durability turn and off, one a record in record", async () => {
    const dir = await project()
    const file = join(dir, 's1.jsonl')
    // The store's named import of writeSync sees the spy once the builtin's exports are synced.
    const spy = vi.spyOn(fs, 'writeSync')
    syncBuiltinESMExports()
    try {
      for (const [durability, writes] of [
        ['turn', 1],
        ['off', 1],
        ['record', 3],
      ] as const) {
        await writeFile(file, '')
        const store = new JsonlTranscriptStore(dir, { durability, datasync: async () => {} })
        await store.append('s1', [meta])
        spy.mockClear()
        await store.append('s1', [message(0, 'one'), message(1, 'two'), message(2, 'three')])
        expect(spy.mock.calls.length, durability).toBe(writes)
        await store.close('s1')
        expect((await store.read('s1')).records).toEqual([
          meta,
          message(0, 'one'),
          message(1, 'two'),
          message(2, 'three'),
        ])
      }
    } finally {
      spy.mockRestore()
      syncBuiltinESMExports()
    }
  })

  it('a failed sync is reported by the next append and by close(), never dropped', async () => {
    const dir = await project()
    const store = new JsonlTranscriptStore(dir, {
      durability: 'record',
      datasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    })
    await store.append('s1', [meta])
    await expect(store.append('s1', [message(0, 'one')])).rejects.toMatchObject({ code: 'EIO' })
    await expect(store.close('s1')).rejects.toMatchObject({ code: 'EIO' })
    // The record that could not follow a failed sync was not written.
    expect((await store.read('s1')).records).toEqual([meta])
  })

  it('a complete last record without its newline is kept, and the next record starts on a new line', async () => {
    const dir = await project()
    await writeFile(join(dir, 's1.jsonl'), `${JSON.stringify(meta)}\n${JSON.stringify(message(0, 'x'))}`)
    const store = new JsonlTranscriptStore(dir)
    expect((await store.read('s1')).records).toHaveLength(2)
    await store.append('s1', [message(1, 'y')])
    await store.close('s1')
    expect((await store.read('s1')).records.map((r) => r.type)).toEqual(['meta', 'message', 'message'])
  })

  it('a malformed middle line is an error naming the file and line, never skipped', async () => {
    const dir = await project()
    const file = join(dir, 's1.jsonl')
    await writeFile(file, `${JSON.stringify(meta)}\n{"type":"message",\n${JSON.stringify(message(0, 'x'))}\n`)
    const store = new JsonlTranscriptStore(dir)
    await expect(store.read('s1')).rejects.toMatchObject({
      code: 'TAU_SESSION_CORRUPT',
      message: expect.stringContaining(`${file}:2:`),
    })
    // A line that parses but is no record is refused the same way.
    await writeFile(
      file,
      `${JSON.stringify(meta)}\n{"type":"nonsense"}\n${JSON.stringify(message(0, 'x'))}\n`,
    )
    await expect(store.read('s1')).rejects.toMatchObject({
      code: 'TAU_SESSION_CORRUPT',
      message: expect.stringMatching(/s1\.jsonl:2: unknown record type "nonsense"/),
    })
    await expect(store.read('nope')).rejects.toMatchObject({ code: 'TAU_SESSION_NOT_FOUND' })
    expect(() => store.location('../escape')).toThrow(/not a session id/)
  })
})

describe('session plugin', () => {
  it('writes the transcript as the loop goes: meta first, system prompt, every message, todos, usage', async () => {
    const cwd = await project()
    const { h } = await kernelIn(cwd, FIRST)
    const agent = h.session()
    const events = await h.run(agent, 'Plan the fix\nwith details')
    expect(resultOf(events).stopReason).toBe('end-turn')
    const records = await readRecords(join(sessionsDir(cwd), `${agent.id}.jsonl`))
    expect(records[0]).toMatchObject({
      type: 'meta',
      id: agent.id,
      cwd: agent.cwd,
      model: 'scripted:test',
      title: 'Plan the fix',
    })
    expect(records.map((r) => r.type)).toEqual([
      'meta',
      'run-start',
      'mode', // the session's permission mode, logged at its first run
      'message', // the prompt
      'system',
      'message', // assistant: TodoWrite
      'usage',
      'permission', // allowed, and its intent before it ran
      'tool-intent',
      'message', // the tool result
      'todos',
      'message', // the answer
      'usage',
      'run-end',
    ])
    // One sequence, shared with the run's events: increasing through the file; every record has an id.
    const seqs = records.map((r) => r.seq!)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length)
    const eventSeqs = events.map((e) => e.seq)
    for (const seq of eventSeqs) expect(seqs).not.toContain(seq)
    expect(records.find((r) => r.type === 'run-start')).toMatchObject({
      runId: resultOf(events).runId,
      prompt: 'Plan the fix\nwith details',
      options: { maxTurns: 50 },
    })
    expect(records.find((r) => r.type === 'permission')).toMatchObject({
      toolCallId: 't1',
      tool: 'TodoWrite',
      behavior: 'allow',
    })
    expect(records.find((r) => r.type === 'tool-intent')).toMatchObject({
      toolCallId: 't1',
      name: 'TodoWrite',
    })
    expect(records.at(-1)).toMatchObject({ type: 'run-end', stopReason: 'end-turn', turns: 2 })
    const messages = records.flatMap((r) => (r.type === 'message' ? [r.message] : []))
    expect(messages).toEqual(JSON.parse(JSON.stringify(agent.conversation.messages)))
    expect(records.find((r) => r.type === 'system')).toMatchObject({ text: await agent.systemPrompt() })
    expect(records.find((r) => r.type === 'todos')).toMatchObject({ todos })
    expect(records.at(-2)).toMatchObject({ type: 'usage', usage: usage(180, 5), messages: 4 })
  })

  it('the transcript holds each message before the model is called again', async () => {
    const cwd = await project()
    const { h } = await kernelIn(cwd, FIRST)
    const agent = h.session()
    const before: number[] = []
    h.kernel
      .hooksOf((await import('../../../plugins/agent/hooks.js')).agentHooksRef)
      .beforeModelCall.tapPromise(async (call) => {
        const records = await readRecords(join(sessionsDir(cwd), `${agent.id}.jsonl`))
        before.push(records.filter((r) => r.type === 'message').length)
        return call
      })
    await h.run(agent, 'go')
    // First call: the prompt is stored; second call: the assistant message and tool result too.
    expect(before).toEqual([1, 3])
  })

  it('resume sends exactly the request the model would have received without the restart, with the todo list', async () => {
    const cwd = await project()
    // Without a restart: both prompts in one session.
    const control = await kernelIn(await project(), [...FIRST, ...SECOND])
    const c = control.h.session()
    await control.h.run(c, 'Plan the fix')
    await control.h.run(c, 'Now the second part')
    const expected = control.h.scripted.requests[2]!

    // With a restart: the first prompt in one kernel, the second after resuming in another.
    const first = await kernelIn(cwd, FIRST)
    const s1 = first.h.session()
    await first.h.run(s1, 'Plan the fix')
    const stored = s1.id
    await first.h.kernel.stop()

    // The config changed meanwhile: a rebuilt system prompt would differ; the stored one is sent.
    const second = await kernelIn(cwd, SECOND, {}, { systemPrompt: 'Changed after the restart.' })
    const plan = await second.sessions.resume('latest')
    expect(plan.options.id).toBe(stored)
    expect(plan.warnings).toEqual([])
    const s2 = second.h.session({ ...plan.options })
    expect(s2.todos).toEqual(todos)
    const events = await second.h.run(s2, 'Now the second part')
    expect(resultOf(events).text).toBe('Done with the second.')
    const actual = second.h.scripted.requests[0]!
    // The system prompt is the stored one; the control's was built in another directory.
    const system = (r: typeof actual) => r.messages[0]!.content as string
    expect(system(actual)).toBe(system(first.h.scripted.requests[0]!))
    expect(system(actual)).not.toContain('Changed after the restart.')
    expect(system(actual).replaceAll(cwd, 'CWD')).toBe(system(expected).replaceAll(c.cwd, 'CWD'))
    expect(JSON.parse(JSON.stringify(actual.messages.slice(1)))).toEqual(
      JSON.parse(JSON.stringify(expected.messages.slice(1))),
    )
    expect(actual.tools).toEqual(expected.tools)
    expect(actual.model).toEqual(expected.model)

    // The resumed session appended to the same file: one meta line, messages 0..5 in order.
    const records = await readRecords(join(sessionsDir(cwd), `${stored}.jsonl`))
    expect(records.filter((r) => r.type === 'meta')).toHaveLength(1)
    expect(records.flatMap((r) => (r.type === 'message' ? [r.index] : []))).toEqual([0, 1, 2, 3, 4, 5])
    // The system prompt was not written again: it did not change.
    expect(records.filter((r) => r.type === 'system')).toHaveLength(1)
  })

  it('resume after a crash that tore the last line: a warning, and the session goes on from the last whole message', async () => {
    const cwd = await project()
    const first = await kernelIn(cwd, FIRST)
    const s1 = first.h.session()
    await first.h.run(s1, 'Plan the fix')
    await first.h.kernel.stop()
    const file = join(sessionsDir(cwd), `${s1.id}.jsonl`)
    // A half-written message at the end.
    await appendFile(file, '{"type":"message","index":4,"at":"2025-01-01T00:00:00Z","message":{"role":"us')
    const second = await kernelIn(cwd, SECOND)
    const plan = await second.sessions.resume(s1.id)
    expect(plan.warnings[0]).toMatch(/the last line is incomplete/)
    expect(plan.options.conversation.length).toBe(4)
    const s2 = second.h.session({ ...plan.options })
    await second.h.run(s2, 'again')
    await second.h.kernel.stop()
    const read = await new JsonlTranscriptStore(sessionsDir(cwd)).read(s1.id)
    expect(read.warnings).toEqual([])
    expect(read.records.filter((r) => r.type === 'message')).toHaveLength(6)
  })

  it('a fork is a copy under a new id linked to its parent; the parent stays as it was', async () => {
    const cwd = await project()
    const first = await kernelIn(cwd, FIRST)
    const s1 = first.h.session()
    await first.h.run(s1, 'Plan the fix')
    await first.h.kernel.stop()
    const parentFile = join(sessionsDir(cwd), `${s1.id}.jsonl`)
    const parentText = await readFile(parentFile, 'utf8')

    const second = await kernelIn(cwd, SECOND)
    const plan = await second.sessions.resume(s1.id, { fork: true })
    expect(plan.forkedFrom).toBe(s1.id)
    expect(plan.options.id).not.toBe(s1.id)
    const fork = second.h.session({ ...plan.options })
    await second.h.run(fork, 'Now the second part')
    expect(await readFile(parentFile, 'utf8')).toBe(parentText)
    const records = await readRecords(join(sessionsDir(cwd), `${fork.id}.jsonl`))
    expect(records[0]).toMatchObject({
      type: 'meta',
      id: fork.id,
      title: 'Plan the fix',
      parent: { id: s1.id, messages: 4 },
    })
    expect(records.flatMap((r) => (r.type === 'message' ? [r.index] : []))).toEqual([0, 1, 2, 3, 4, 5])
    const list = await second.sessions.list()
    expect(list.map((s) => s.id)).toEqual([fork.id, s1.id])
    expect(await runSessions(second.h, false)).toContain(`(fork of ${s1.id.slice(0, 8)})`)
  })

  it('--continue with no stored session fails with TAU_SESSION_NOT_FOUND', async () => {
    const { sessions } = await kernelIn(await project(), [])
    await expect(sessions.resume('latest')).rejects.toMatchObject({ code: 'TAU_SESSION_NOT_FOUND' })
    await expect(sessions.resume('no-such-id')).rejects.toMatchObject({ code: 'TAU_SESSION_NOT_FOUND' })
  })

  it('tau sessions lists the sessions newest first with id, start, title, turns and model; --json', async () => {
    const cwd = await project()
    const { h } = await kernelIn(cwd, [...FIRST, ...SECOND, { text: 'other' }])
    const a = h.session()
    await h.run(a, 'Plan the fix')
    await h.run(a, 'Now the second part')
    const b = h.session()
    await h.run(b, 'Another task')
    const json = JSON.parse(await runSessions(h, true)) as SessionSummary[]
    expect(json.map((s) => [s.id, s.title, s.turns, s.model, s.messages])).toEqual([
      [b.id, 'Another task', 1, 'scripted:test', 2],
      [a.id, 'Plan the fix', 2, 'scripted:test', 6],
    ])
    expect(json[0]!.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    const text = await runSessions(h, false)
    const lines = text.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+STARTED\s+TURNS\s+MODEL\s+TITLE$/)
    expect(lines[1]).toContain(b.id)
    expect(lines[1]).toMatch(/\s1\s+scripted:test\s+Another task$/)
    expect(lines[2]).toMatch(/\s2\s+scripted:test\s+Plan the fix$/)
  })

  it('tokens(): the provider-reported usage of the last call plus an estimate of what was added since; the window from capabilities', async () => {
    const cwd = await project()
    const { h, sessions } = await kernelIn(cwd, FIRST)
    const agent = h.session()
    const fresh = await sessions.tokens(agent.id)
    // Nothing sent yet: all estimated (system prompt, tools).
    expect(fresh.reported).toBe(0)
    expect(fresh.estimate).toBeGreaterThan(0)
    expect(fresh.used).toBe(fresh.estimate)
    expect(fresh.window).toBe(2000)
    await h.run(agent, 'Plan the fix')
    const after = await sessions.tokens(agent.id)
    // The last call reported 180 in, 5 out, and nothing was appended after its answer.
    expect(after).toEqual({ used: 185, window: 2000, estimate: 0, reported: 185 })
    // After a resume the count goes on from the stored usage, plus the new prompt's estimate.
    await h.kernel.stop()
    const next = await kernelIn(cwd, [])
    const plan = await next.sessions.resume(agent.id)
    const long = 'x'.repeat(400)
    const conversation = plan.options.conversation.append({ role: 'user', content: long } as Message)
    const resumed = next.h.session({ ...plan.options, conversation })
    expect(await next.sessions.tokens(resumed.id)).toEqual({
      used: 185 + 104,
      window: 2000,
      estimate: 104,
      reported: 185,
    })
  })

  it('persist: false writes nothing', async () => {
    const cwd = await project()
    const { h, sessions } = await kernelIn(cwd, FIRST, { persist: false })
    const agent = h.session()
    await h.run(agent, 'Plan the fix')
    expect(await new JsonlTranscriptStore(sessionsDir(cwd)).list()).toEqual([])
    expect(sessions.transcriptPath(agent.id)).toBeUndefined()
  })

  it('transcriptPath(): the file the transcript is written to, before and after its first line', async () => {
    const cwd = await project()
    const { h, sessions } = await kernelIn(cwd, FIRST)
    const agent = h.session()
    const file = join(sessionsDir(cwd), `${agent.id}.jsonl`)
    expect(sessions.transcriptPath(agent.id)).toBe(file)
    await h.run(agent, 'Plan the fix')
    expect(sessions.transcriptPath(agent.id)).toBe(file)
    expect((await readRecords(file))[0]).toMatchObject({ type: 'meta', id: agent.id })
    expect(sessions.transcriptPath('../escape')).toBeUndefined()
  })
})

describe('headless resume flags', () => {
  it('--continue, --resume ID, --fork-session parse; misuse is a usage error', async () => {
    const { parseHeadlessArgs } = await import('../../../plugins/headless/args.js')
    expect(parseHeadlessArgs(['-p', '-c', 'hi'])).toMatchObject({
      ok: true,
      value: { continue: true, prompt: 'hi' },
    })
    expect(parseHeadlessArgs(['-p', '--resume', 'abc', '--fork-session', 'hi'])).toMatchObject({
      ok: true,
      value: { resume: 'abc', forkSession: true },
    })
    expect(parseHeadlessArgs(['-p', '--fork-session', 'hi'])).toEqual({
      ok: false,
      error: '--fork-session needs --continue or --resume ID',
    })
    expect(parseHeadlessArgs(['-p', '-c', '-r', 'abc', 'hi'])).toMatchObject({ ok: false })
  })
})
