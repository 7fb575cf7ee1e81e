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
 * - the run's result counts every model call its log holds (turns and usage), the killed
 *   worker's included; one handed back counts the calls before the handback, and its `maxTurns`
 *   from the run's start.
 * The tool's effect at a cut is what it was when that record was written: none before the
 * intent, one from the result on; between the two (the tool ran or not) both are tried.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TauConfig } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import type { RunInput } from '../../../plugins/durable-dbos/engine.js'
import { runDurably, runIdsOf } from '../../../plugins/durable-dbos/runner.js'
import providerAnthropic from '../../../plugins/provider-anthropic/index.js'
import providerOpenai from '../../../plugins/provider-openai/index.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import providers from '../../../plugins/providers/index.js'
import session, {
  replay,
  type SessionService,
  sessionServiceRef,
  type TranscriptRecord,
} from '../../../plugins/session/index.js'
import sessionPostgres from '../../../plugins/session-postgres/index.js'
import { allowAll, permissionsPlugin, tempDir, toolsPlugin } from '../agent/helpers.js'
import { usePgCluster } from '../session-postgres/pg-cluster.js'
import {
  type Cut,
  checkRecoveredLog,
  cutsOf,
  effectsOf,
  modelCallsOf,
  renamed,
  respond,
  toWire,
} from './kill-matrix-kit.js'
import { normalize, type WireFormat, type WireTurn } from './wire-rules.js'

const cluster = usePgCluster({ schema: 'session' })
const cleanups: Array<() => Promise<unknown>> = []
let dir = ''
let effects: ReturnType<typeof effectsOf>

beforeAll(async () => {
  const d = await tempDir('tau-kill-matrix-')
  cleanups.push(() => d.remove())
  dir = d.dir
  effects = effectsOf(join(dir, 'effects.log'))
  // The OpenAI provider reads its key from the environment; a fake one for the loopback model.
  process.env.TAU_TEST_KILL_MATRIX_KEY = 'sk-test-kill-matrix'
})
afterAll(async () => {
  delete process.env.TAU_TEST_KILL_MATRIX_KEY
  for (const cleanup of cleanups.reverse()) await cleanup()
})

interface Worker {
  readonly kernel: TestKernel
  readonly sessions: SessionService
  readonly server: ScriptedServer
  readonly format: WireFormat
  run(input: RunInput, signal?: AbortSignal): ReturnType<typeof runDurably>
}

/** Called with each model request's conversation before the model answers (a test stops its worker there). */
const onRequest: { hook?: (turns: WireTurn[]) => void } = {}

const workers = new Map<WireFormat, Promise<Worker>>()

/** A worker's kernel on the shared database, its model on `format`'s wire (one per format). */
function worker(format: WireFormat): Promise<Worker> {
  let made = workers.get(format)
  if (made) return made
  made = (async () => {
    const model = respond(format)
    const server = await startScriptedServer({
      format,
      script: [],
      respond: (request) => {
        onRequest.hook?.(normalize(format, request.body))
        return model(request)
      },
    })
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
        toolsPlugin([effects.tool]),
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
      run: (input, signal = new AbortController().signal) =>
        runDurably(deps, input, { executor: `w${++n}`, signal }),
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

/** The conversation a session's log holds. */
async function conversationOf(w: Worker, sessionId: string): Promise<WireTurn[]> {
  return toWire(replay((await w.sessions.store.read(sessionId)).records, sessionId).messages)
}

/** The run's result counts the model calls its log holds for it (its runs' `usage` records). */
async function expectCounted(
  w: Worker,
  out: Awaited<ReturnType<typeof runDurably>>,
  sessionId: string,
  shared: string | undefined,
  where: string,
): Promise<void> {
  const { records } = await w.sessions.store.read(sessionId)
  const mine = shared === undefined ? undefined : runIdsOf(records, shared)
  expect({ turns: out.turns, usage: out.usage }, `${where}: the run's counters`).toEqual(
    modelCallsOf(records, mine),
  )
}

/** Seeds the cut log under new ids, recovers the run, and checks it (kill-matrix-kit.ts). */
async function recover(
  w: Worker,
  cut: Cut,
  records: readonly TranscriptRecord[],
  ids: ReadonlyMap<string, string>,
  run: { readonly runId: string; readonly sessionId: string; readonly shared: boolean },
  earlier: readonly WireTurn[],
): Promise<void> {
  const prompt = `append ${run.runId}`
  await w.sessions.store.append(run.sessionId, renamed(records.slice(0, cut.keep), ids))
  if (cut.ran) effects.add(`${run.runId} ${cut.call}`)
  const ranBefore = new Set(effects.lines())
  const before = w.server.requests.length
  const where = `${w.format}, ${cut.label}`
  const out = await w.run(input(run.runId, prompt, run.shared ? run.sessionId : undefined))
  expect(out, where).toMatchObject({
    runId: run.runId,
    sessionId: run.sessionId,
    isError: false,
    text: 'done',
  })
  expect(out.stopReason, where).toBe('end-turn')
  await expectCounted(w, out, run.sessionId, run.shared ? run.runId : undefined, where)
  await checkRecoveredLog({
    where,
    format: w.format,
    store: w.sessions.store,
    sessionId: run.sessionId,
    ...(run.shared ? { runId: run.runId } : {}),
    prompt,
    tag: run.runId,
    earlier,
    sent: w.server.requests.slice(before),
    effects: effects.lines(),
    ranBefore,
  })
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
      await recover(w, cut, records, new Map([[ref, runId]]), { runId, sessionId: runId, shared: false }, [])
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
      const ids = new Map([
        [ref, runId],
        [sessionRef, sessionId],
      ])
      await recover(w, cut, records, ids, { runId, sessionId, shared: true }, earlier)
    }
  })

  it('killed again while it was being recovered is finished by the third worker, every call once', async () => {
    // The recovery of a cut after the model's call (answered not run, called again) is cut in
    // turn after each record it wrote: its chain of runs (run-start `resumes`) is followed.
    const w = await worker(format)
    const ref = 'run-twice-ref'
    await w.run(input(ref, `append ${ref}`))
    const original = (await w.sessions.store.read(ref)).records
    const keep = original.findIndex((r) => r.type === 'permission')
    expect(original[keep - 1]?.type).toBe('usage')
    const first = 'run-twice-first'
    await w.sessions.store.append(first, renamed(original.slice(0, keep), new Map([[ref, first]])))
    await w.run(input(first, `append ${first}`))
    const recovered = (await w.sessions.store.read(first)).records
    for (const [i, cut] of cutsOf(recovered, keep + 1).entries()) {
      const runId = `run-twice-${format}-${i}`
      await recover(
        w,
        cut,
        recovered,
        new Map([[first, runId]]),
        { runId, sessionId: runId, shared: false },
        [],
      )
    }
  })

  it('handed back by a stopping worker (its run aborted) is finished by the next worker, every call once', async () => {
    // `tau worker` stopping past its grace aborts its runs (the log ends them `aborted`) and hands
    // them back: the next worker continues them. Aborted in the tool call, and in the model call
    // after it; in a session of its own and in a shared one.
    const w = await worker(format)
    const conversation = `handback-conv-${format}`
    expect(await w.run(input(`handback-hello-${format}`, 'hello', conversation))).toMatchObject({
      text: 'hi there',
    })
    const earlier: WireTurn[] = [
      { role: 'user', text: 'hello' },
      { role: 'assistant', text: 'hi there', calls: [] },
    ]
    let n = 0
    for (const where of ['tool', 'model'] as const) {
      for (const shared of [false, true]) {
        const runId = `run-handback-${format}-${n++}`
        const sessionId = shared ? conversation : runId
        const stop = new AbortController()
        if (where === 'tool') effects.hooks.after = (line) => line.startsWith(`${runId} `) && stop.abort()
        else
          onRequest.hook = (turns) => {
            if (
              turns.at(-1)?.role === 'tool' &&
              turns.some((t) => t.role === 'user' && t.text === `append ${runId}`)
            )
              stop.abort()
          }
        try {
          const aborted = await w.run(
            input(runId, `append ${runId}`, shared ? sessionId : undefined),
            stop.signal,
          )
          expect(aborted.stopReason, `${where}, shared ${shared}`).toBe('aborted')
        } finally {
          effects.hooks.after = undefined
          onRequest.hook = undefined
        }
        const ranBefore = new Set(effects.lines())
        const before = w.server.requests.length
        const out = await w.run(input(runId, `append ${runId}`, shared ? sessionId : undefined))
        const label = `${format}, handed back in the ${where} call${shared ? ', shared session' : ''}`
        expect(out, label).toMatchObject({ runId, isError: false, text: 'done', recovered: true })
        // Its model calls from its start, the first worker's included: an uninterrupted run's two
        // (the call aborted in the model call gave nothing and was made again: it counts once).
        await expectCounted(w, out, sessionId, shared ? runId : undefined, label)
        expect(out.turns, label).toBe(2)
        await checkRecoveredLog({
          where: label,
          format,
          store: w.sessions.store,
          sessionId,
          ...(shared ? { runId } : {}),
          prompt: `append ${runId}`,
          tag: runId,
          earlier: shared ? earlier : [],
          sent: w.server.requests.slice(before),
          effects: effects.lines(),
          ranBefore,
        })
        if (shared) {
          // The next prompt of the conversation starts after this run's turns.
          earlier.push(...(await conversationOf(w, sessionId)).slice(earlier.length))
        }
      }
    }
  })

  it("handed back, counts maxTurns from the run's start: the turns before the handback count", async () => {
    // Handed back in its tool call after one turn; its log then says its first run started with
    // maxTurns 1 (the config of the worker that began it): no turn is left for the continuation.
    const w = await worker(format)
    const ref = `run-maxturns-ref-${format}`
    const stop = new AbortController()
    effects.hooks.after = (line) => line.startsWith(`${ref} `) && stop.abort()
    try {
      expect((await w.run(input(ref, `append ${ref}`), stop.signal)).stopReason).toBe('aborted')
    } finally {
      effects.hooks.after = undefined
    }
    const runId = `run-maxturns-${format}`
    const records = renamed((await w.sessions.store.read(ref)).records, new Map([[ref, runId]])).map((r) =>
      r.type === 'run-start' ? { ...r, options: { ...r.options, maxTurns: 1 } } : r,
    )
    await w.sessions.store.append(runId, records)
    const before = w.server.requests.length
    const out = await w.run(input(runId, `append ${runId}`))
    expect(out).toMatchObject({ runId, stopReason: 'max-turns', isError: true, turns: 1, recovered: true })
    expect(w.server.requests.length, 'no model call past the limit').toBe(before)
    await expectCounted(w, out, runId, undefined, 'maxTurns 1, handed back')
    // The stop names the run's limit (1), not what was left of it at the handback (0).
    const end = (await w.sessions.store.read(runId)).records.findLast(
      (r) => r.type === 'run-end' && r.stopReason === 'max-turns',
    )
    expect(end?.type === 'run-end' ? end.error?.message : undefined).toBe(
      'the run reached its limit of 1 turns',
    )
  })
})
