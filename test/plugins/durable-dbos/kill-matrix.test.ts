/**
 * A durable run survives a kill at every record boundary. A real run with one tool call writes
 * its log to PostgreSQL (the store workers share); that log is then cut after each of its records
 * — what a `kill -9` of the worker leaves at that moment — and handed to runDurably(), the work of
 * the worker that recovers the run. For a run of its own session (`tau submit`) and a run of a
 * shared session (`tau serve` in enqueue mode, after an earlier run of that conversation), on the
 * OpenAI and the Anthropic wire, every cut must give:
 * - a run that finishes with the model's answer, and a log whose last run record is this run's
 *   `run-end` (what `tau runs logs -f` and serve wait for), with nothing left interrupted;
 * - every tool call ran exactly once (its result was logged or it ran after the recovery), or was
 *   answered "not run" and did not run, or was answered "interrupted" and was not run again;
 * - the prompt in the conversation once, and every request the recovery sent one its provider
 *   accepts (wire-rules.ts), as is the conversation the log holds at the end.
 * The tool's effect at a cut is what it was when that record was written: none before the
 * intent, one from the result on; between the two (the tool ran or not) both are tried.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { TauConfig } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  agentRuntimeRef,
  INTERRUPTED_CALL_TEXT,
  UNSTARTED_CALL_TEXT,
} from '../../../plugins/agent/index.js'
import type { RunInput } from '../../../plugins/durable-dbos/engine.js'
import { runDurably, runIdsOf } from '../../../plugins/durable-dbos/runner.js'
import providerAnthropic from '../../../plugins/provider-anthropic/index.js'
import providerOpenai from '../../../plugins/provider-openai/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import providers from '../../../plugins/providers/index.js'
import session, {
  replay,
  type SessionService,
  sessionServiceRef,
  type TranscriptRecord,
} from '../../../plugins/session/index.js'
import sessionPostgres from '../../../plugins/session-postgres/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, permissionsPlugin, tempDir, toolsPlugin } from '../agent/helpers.js'
import { usePgCluster } from '../session-postgres/pg-cluster.js'
import { normalize, type WireFormat, type WireTurn, wireProblems } from './wire-rules.js'

const cluster = usePgCluster()
const cleanups: Array<() => Promise<unknown>> = []
let dir = ''
let effects = ''

beforeAll(async () => {
  const d = await tempDir('tau-kill-matrix-')
  cleanups.push(() => d.remove())
  dir = d.dir
  effects = join(dir, 'effects.log')
  // The OpenAI provider reads its key from the environment; a fake one for the loopback model.
  process.env.TAU_TEST_KILL_MATRIX_KEY = 'sk-test-kill-matrix'
})
afterAll(async () => {
  delete process.env.TAU_TEST_KILL_MATRIX_KEY
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** The one tool: appends its line to the effects file (each line names its run and call). */
const append = defineTool({
  name: 'Append',
  description: 'appends a line to the effects file',
  input: z.object({ line: z.string() }),
  async execute({ line }) {
    appendFileSync(effects, `${line}\n`)
    return `appended ${line}`
  },
})

const lines = (): string[] =>
  existsSync(effects) ? readFileSync(effects, 'utf8').split('\n').filter(Boolean) : []

/**
 * The model, answering each request from its own messages: to "append TAG" it calls Append with
 * the line `TAG call_N` (N: the conversation's calls so far, plus one); told a call did not run it
 * asks again; after a result (or an interrupted call, which may have had its effect) it says
 * "done". To "hello" it answers without tools.
 */
function respond(format: WireFormat) {
  return (request: { body?: unknown }): ScriptTurn => {
    const turns = normalize(format, request.body)
    const prompt = [...turns]
      .reverse()
      .find((t): t is Extract<WireTurn, { role: 'user' }> => t.role === 'user')
    const tag = /^append (\S+)/.exec(prompt?.text ?? '')?.[1]
    if (!tag) return { text: 'hi there' }
    const last = turns.at(-1)
    if (last?.role === 'tool' && !last.results.some((r) => r.text.includes(UNSTARTED_CALL_TEXT)))
      return { text: 'done' }
    const made = turns.reduce((n, t) => n + (t.role === 'assistant' ? t.calls.length : 0), 0)
    const id = `call_${made + 1}`
    return { toolCalls: [{ id, name: 'Append', input: { line: `${tag} ${id}` } }] }
  }
}

interface Worker {
  readonly kernel: TestKernel
  readonly sessions: SessionService
  readonly server: ScriptedServer
  readonly format: WireFormat
  run(input: RunInput): ReturnType<typeof runDurably>
}

const workers = new Map<WireFormat, Promise<Worker>>()

/** A worker's kernel on the shared database, its model on `format`'s wire (one per format). */
function worker(format: WireFormat): Promise<Worker> {
  let made = workers.get(format)
  if (made) return made
  made = (async () => {
    const server = await startScriptedServer({ format, script: [], respond: respond(format) })
    cleanups.push(() => server.close())
    const database = await cluster.createDatabase(`kill_matrix_${format}`)
    const config: TauConfig = {
      model: `${format}:scripted-model`,
      providers: {
        retries: { max: 0 },
        ...(format === 'openai'
          ? { openai: { baseURL: `${server.url}/v1`, apiKeyEnv: 'TAU_TEST_KILL_MATRIX_KEY' } }
          : { anthropic: { baseURL: server.url, apiKey: 'test-key' } }),
      },
      'session-postgres': { database },
    }
    const kernel = await createTestKernel({
      plugins: [
        providers,
        format === 'openai' ? providerOpenai : providerAnthropic,
        toolsPlugin([append]),
        agent,
        permissionsPlugin(allowAll, []),
        sessionPostgres,
        session,
      ],
      config,
      cwd: dir,
      tauHome: join(dir, `home-${format}`),
    })
    cleanups.push(() => kernel.stop())
    const sessions = kernel.resolve(sessionServiceRef) as SessionService
    const deps = { runtime: kernel.resolve(agentRuntimeRef), sessions, cwd: dir, leaseWaitMs: 10_000 }
    let n = 0
    return {
      kernel,
      sessions,
      server,
      format,
      run: (input) => runDurably(deps, input, { executor: `w${++n}`, signal: new AbortController().signal }),
    }
  })()
  workers.set(format, made)
  return made
}

const input = (runId: string, prompt: string, sessionId?: string): RunInput => ({
  runId,
  prompt,
  ...(sessionId ? { sessionId } : {}),
  submittedAt: new Date().toISOString(),
})

/** The records with every occurrence of each `from` id made its `to` (a copy under new ids). */
function renamed(records: readonly TranscriptRecord[], ids: ReadonlyMap<string, string>): TranscriptRecord[] {
  let text = JSON.stringify(records)
  for (const [from, to] of ids) text = text.replaceAll(from, to)
  return JSON.parse(text) as TranscriptRecord[]
}

/** One cut of the reference log: how many records are kept, and whether the tool had run. */
interface Cut {
  readonly keep: number
  readonly ran: boolean
  readonly label: string
}

/** Every cut from `from` on: after each record, and both ways between the intent and the result. */
function cutsOf(records: readonly TranscriptRecord[], from: number): Cut[] {
  const intent = records.findIndex((r) => r.type === 'tool-intent')
  // A turn of one call logs its result with the tool message (several calls: a tool-result each).
  const result = records.findIndex(
    (r, i) => i > intent && (r.type === 'tool-result' || (r.type === 'message' && r.message.role === 'tool')),
  )
  expect(intent, 'the reference run logged a tool intent').toBeGreaterThan(0)
  expect(result, 'the result is logged after the intent').toBeGreaterThan(intent)
  const cuts: Cut[] = []
  for (let keep = from; keep <= records.length; keep++) {
    const last = keep === 0 ? 'nothing' : records[keep - 1]!.type
    const label = `after record ${keep} (${last})`
    if (keep > intent && keep <= result) {
      cuts.push({ keep, ran: false, label: `${label}, the tool not started` })
      cuts.push({ keep, ran: true, label: `${label}, the tool's effect done` })
    } else cuts.push({ keep, ran: keep > result, label })
  }
  // Every record boundary from `from` on, and the second way for each between intent and result.
  expect(cuts).toHaveLength(records.length - from + 1 + (result - intent))
  return cuts
}

/** Checks a recovered run and its log (see the file's comment). */
async function checkRecovered(
  w: Worker,
  cut: Cut,
  run: { readonly runId: string; readonly sessionId: string; readonly prompt: string; readonly tag: string },
  requestsBefore: number,
  out: Awaited<ReturnType<typeof runDurably>>,
  earlier: readonly WireTurn[],
  ranBefore: ReadonlySet<string>,
) {
  const where = `${w.format}, ${cut.label}`
  expect(out, where).toMatchObject({
    runId: run.runId,
    sessionId: run.sessionId,
    isError: false,
    text: 'done',
  })
  expect(out.stopReason, where).toBe('end-turn')
  const { records } = await w.sessions.store.read(run.sessionId)
  const mine = runIdsOf(records, run.runId)
  // The log's last run record is this run's end, and nothing is left interrupted or unanswered.
  const boundaries = records.filter((r) => r.type === 'run-start' || r.type === 'run-end')
  const last = boundaries.at(-1)
  expect(last?.type, `${where}: the log ends its run`).toBe('run-end')
  expect(last?.type === 'run-end' && mine.has(last.runId), `${where}: the run-end is this run's`).toBe(true)
  expect(last?.type === 'run-end' ? last.stopReason : undefined, where).toBe('end-turn')
  const state = replay(records, where)
  expect(state.interrupted, `${where}: an open run in the log`).toBeUndefined()
  expect(state.answers, `${where}: unanswered calls in the log`).toBeUndefined()
  // The conversation the log holds, as the provider would be sent it next.
  const conversation = toWire(state.messages)
  expect(conversation.slice(0, earlier.length), `${where}: the earlier runs' conversation`).toEqual(earlier)
  const prompts = conversation.filter((t) => t.role === 'user' && t.text === run.prompt)
  expect(prompts, `${where}: the prompt once`).toHaveLength(1)
  expect(conversation.at(-1), where).toEqual({ role: 'assistant', text: 'done', calls: [] })
  // Every request the recovery sent is one its provider takes.
  const sent = w.server.requests.slice(requestsBefore).filter((r) => r.method === 'POST')
  for (const request of sent) expect(wireProblems(w.format, request.body), where).toEqual([])
  // Each call: ran once (a result), not run (and it did not), or interrupted (and not run again).
  const effects = lines().filter((line) => line.startsWith(`${run.tag} `))
  expect(new Set(effects).size, `${where}: a call's effect twice`).toBe(effects.length)
  const calls = conversation.flatMap((t) => (t.role === 'assistant' ? t.calls : []))
  expect(new Set(calls.map((c) => c.id)).size, `${where}: a call id twice`).toBe(calls.length)
  const answers = new Map(
    conversation.flatMap((t) => (t.role === 'tool' ? t.results.map((r) => [r.id, r.text]) : [])),
  )
  for (const call of calls) {
    const line = `${run.tag} ${call.id}`
    const answer = answers.get(call.id)
    expect(answer, `${where}: ${call.id} answered`).toBeDefined()
    const count = effects.filter((e) => e === line).length
    if (answer?.includes(UNSTARTED_CALL_TEXT)) expect(count, `${where}: ${call.id} said not run`).toBe(0)
    else if (answer?.includes(INTERRUPTED_CALL_TEXT))
      expect(count, `${where}: ${call.id} interrupted`).toBe(ranBefore.has(line) ? 1 : 0)
    else expect(count, `${where}: ${call.id} ran`).toBe(1)
  }
  expect(
    effects.every((e) => calls.some((c) => `${run.tag} ${c.id}` === e)),
    where,
  ).toBe(true)
}

/** The wire shape of a log's messages (what normalize() reads from a request). */
function toWire(messages: ReturnType<typeof replay>['messages']): WireTurn[] {
  const turns: WireTurn[] = []
  for (const m of messages) {
    const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : m.content
    const text = parts.map((p) => (p.type === 'text' ? p.text : '')).join('')
    if (m.role === 'user') turns.push({ role: 'user', text })
    else if (m.role === 'assistant')
      turns.push({
        role: 'assistant',
        text,
        calls: parts.flatMap((p) =>
          p.type === 'tool-call'
            ? [{ id: p.id, name: p.name, input: p.input as Record<string, unknown> }]
            : [],
        ),
      })
    else if (m.role === 'tool')
      turns.push({
        role: 'tool',
        results: parts.flatMap((p) =>
          p.type === 'tool-result'
            ? [{ id: p.toolCallId, text: p.content.map((c) => (c.type === 'text' ? c.text : '')).join('') }]
            : [],
        ),
      })
  }
  return turns
}

describe.each(['openai', 'anthropic'] as const)('a durable run killed at each record (%s wire)', (format) => {
  it('of its own session (tau submit) is finished by the next worker, every call once', async () => {
    const w = await worker(format)
    const ref = 'run-own-ref'
    const done = await w.run(input(ref, `append ${ref}`))
    expect(done).toMatchObject({ text: 'done', recovered: false })
    const records = (await w.sessions.store.read(ref)).records
    for (const [i, cut] of cutsOf(records, 1).entries()) {
      const runId = `run-own-${format}-${i}`
      await w.sessions.store.append(runId, renamed(records.slice(0, cut.keep), new Map([[ref, runId]])))
      if (cut.ran) appendFileSync(effects, `${runId} call_1\n`)
      const ranBefore = new Set(lines())
      const before = w.server.requests.length
      const out = await w.run(input(runId, `append ${runId}`))
      await checkRecovered(
        w,
        cut,
        { runId, sessionId: runId, prompt: `append ${runId}`, tag: runId },
        before,
        out,
        [],
        ranBefore,
      )
    }
  })

  it('of a shared session (tau serve, enqueue mode) is finished by the next worker, every call once', async () => {
    const w = await worker(format)
    const sessionRef = 'shared-ref'
    const first = 'run-conv-first'
    const ref = 'run-conv-ref'
    expect(await w.run(input(first, 'hello', sessionRef))).toMatchObject({ text: 'hi there' })
    const done = await w.run(input(ref, `append ${ref}`, sessionRef))
    expect(done).toMatchObject({ text: 'done', recovered: false })
    const records = (await w.sessions.store.read(sessionRef)).records
    const start = records.findIndex((r) => r.type === 'run-start' && r.runId === ref)
    const earlier: WireTurn[] = [
      { role: 'user', text: 'hello' },
      { role: 'assistant', text: 'hi there', calls: [] },
    ]
    for (const [i, cut] of cutsOf(records, start).entries()) {
      const runId = `run-conv-${format}-${i}`
      const sessionId = `conv-${format}-${i}`
      await w.sessions.store.append(
        sessionId,
        renamed(
          records.slice(0, cut.keep),
          new Map([
            [ref, runId],
            [sessionRef, sessionId],
          ]),
        ),
      )
      if (cut.ran) appendFileSync(effects, `${runId} call_1\n`)
      const ranBefore = new Set(lines())
      const before = w.server.requests.length
      const out = await w.run(input(runId, `append ${runId}`, sessionId))
      await checkRecovered(
        w,
        cut,
        { runId, sessionId, prompt: `append ${runId}`, tag: runId },
        before,
        out,
        earlier,
        ranBefore,
      )
    }
  })
})
