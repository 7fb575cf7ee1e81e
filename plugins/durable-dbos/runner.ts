/**
 * The work of one durable agent run, on whichever worker runs it: start the session, or — when the
 * log shows the run began elsewhere (a worker died, or handed it back) — resume it from the log and
 * go on. Tool calls already executed are never executed again: resume() answers them from the log
 * (a logged result) or as interrupted (an intent without a result), exactly as a local resume.
 */
import { randomUUID } from 'node:crypto'
import { addUsage, TauError, type Usage } from '../../kernel/index.js'
import type { AgentEvent, AgentRuntime, InterruptedRun, RunOptions } from '../agent/index.js'
import { replay, type SessionService, type TranscriptRecord, type TranscriptStore } from '../session/index.js'
import { DeltaPublisher, type Notify } from './deltas.js'
import type { RunInput, RunOutput } from './engine.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the session's lease can be taken (the dead worker's expires, or a dead process on
 * this host is taken over at once), up to `timeoutMs`, then lets it go again.
 */
export async function waitForLease(store: TranscriptStore, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const lease = await store.acquire(id)
      await lease.release()
      return
    } catch (error) {
      if (!(error instanceof TauError && error.code === 'TAU_SESSION_LOCKED') || Date.now() > deadline)
        throw error
      await sleep(250)
    }
  }
}

interface RunEndRecord {
  readonly type: 'run-end'
  readonly runId: string
  readonly stopReason: string
  readonly turns: number
  readonly error?: { readonly code: string; readonly message: string }
}

/** The text of the log's last assistant message. */
function lastAnswer(records: readonly TranscriptRecord[]): string {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!
    if (record.type !== 'message' || record.message.role !== 'assistant') continue
    const content = record.message.content
    if (typeof content === 'string') return content
    return content.map((part) => (part.type === 'text' ? part.text : '')).join('')
  }
  return ''
}

export interface RunnerDeps {
  readonly runtime: AgentRuntime
  readonly sessions: SessionService
  /** The worker's project directory (a run without cwd works there). */
  readonly cwd: string
  /** How long to wait for a dead writer's lease. */
  readonly leaseWaitMs: number
}

/**
 * The agent runs of a session's log that belong to the durable run `runId`: the one it started
 * (its agent run has the durable run's id) and the continuations that resume it.
 */
export function runIdsOf(records: readonly TranscriptRecord[], runId: string): Set<string> {
  const ids = new Set<string>()
  for (const record of records) {
    if (record.type !== 'run-start') continue
    if (record.runId === runId || (record.resumes !== undefined && ids.has(record.resumes)))
      ids.add(record.runId)
  }
  return ids
}

/** What agent runs spent: their model calls (turns), usage and cost. */
interface Spent {
  readonly turns: number
  readonly usage: Usage
  readonly costUsd?: number
}

const NOTHING: Spent = { turns: 0, usage: { inputTokens: 0, outputTokens: 0 } }

function plus(a: Spent, b: Spent): Spent {
  const costUsd =
    a.costUsd === undefined && b.costUsd === undefined ? undefined : (a.costUsd ?? 0) + (b.costUsd ?? 0)
  return {
    turns: a.turns + b.turns,
    usage: addUsage(a.usage, b.usage),
    ...(costUsd === undefined ? {} : { costUsd }),
  }
}

/**
 * What the durable run's agent runs that ended spent (their run-end counters): before a handback
 * (a stopping worker ends its run `aborted`) or a later recovery, which start their counters at
 * 0 again. An aborted run's turns are the model calls it had answered (its `usage` records): the
 * call it was aborted in gave nothing and the continuation makes it again, so it counts once, as
 * in a run never handed back. An interrupted run's counters are not in it: continue() carries
 * those on.
 */
function endedSpent(records: readonly TranscriptRecord[], mine: ReadonlySet<string> | undefined): Spent {
  let spent = NOTHING
  const answered = new Map<string, number>()
  for (const r of records) {
    if (r.type === 'usage' && r.runId !== undefined)
      answered.set(r.runId, r.turn ?? (answered.get(r.runId) ?? 0) + 1)
    if (r.type !== 'run-end' || (mine !== undefined && !mine.has(r.runId))) continue
    const turns = r.stopReason === 'aborted' ? (answered.get(r.runId) ?? 0) : r.turns
    spent = plus(spent, { ...r, turns })
    // A later run under the same id (a handback's continuation) counts its own calls.
    answered.delete(r.runId)
  }
  return spent
}

/**
 * The limits of a continuation that comes after runs that ended: those the durable run's first
 * agent run started with (its run-start logs them), with what the ended runs spent counted
 * against them (spentBefore), so that `maxTurns` and the budgets count from the durable run's
 * start and not from the handback, and a limit's message names the run's own limit.
 */
function continuedLimits(
  records: readonly TranscriptRecord[],
  runId: string,
  spent: Spent,
): Pick<RunOptions, 'maxTurns' | 'maxTokens' | 'maxCostUsd' | 'spentBefore'> {
  if (spent.turns === 0) return {}
  const start = records.find((r) => r.type === 'run-start' && r.runId === runId)
  const limits = start?.type === 'run-start' ? start.options : {}
  return {
    ...(limits.maxTurns === undefined ? {} : { maxTurns: limits.maxTurns }),
    ...(limits.maxTokens === undefined ? {} : { maxTokens: limits.maxTokens }),
    ...(limits.maxCostUsd === undefined ? {} : { maxCostUsd: limits.maxCostUsd }),
    spentBefore: spent,
  }
}

/** True when the durable run's prompt reached the log (a user message after its first run-start). */
function promptLogged(records: readonly TranscriptRecord[], runId: string): boolean {
  const start = records.findIndex((r) => r.type === 'run-start' && r.runId === runId)
  if (start < 0) return false
  return records.slice(start).some((r) => r.type === 'message' && r.message.role === 'user')
}

/**
 * Ends a run the log has open although the model gave its last answer: the worker was killed
 * after that answer's message was logged and before the run's `run-end`. There is nothing to
 * continue, but `tau runs logs -f`, serve's enqueue mode and the next resume read the log: without
 * its end the run stays "running" (followers wait for ever) and a resume counts it interrupted.
 * Writes the run-end (stop reason `end-turn`, the run's counters from the log) under the session's
 * lease; returns the run it ended, or undefined when the log is not in that state.
 */
export async function endAnsweredRun(
  store: TranscriptStore,
  sessionId: string,
): Promise<InterruptedRun | undefined> {
  const lease = await store.acquire(sessionId)
  try {
    const { records } = await store.read(sessionId)
    const state = replay(records, store.location(sessionId))
    const open = state.interrupted
    const last = state.messages.at(-1)
    if (!open || last?.role !== 'assistant') return undefined
    if (Array.isArray(last.content) && last.content.some((p) => p.type === 'tool-call')) return undefined
    const end = {
      seq: state.lastSeq + 1,
      id: randomUUID(),
      type: 'run-end',
      at: new Date().toISOString(),
      runId: open.runId,
      stopReason: 'end-turn',
      turns: open.turns,
      usage: open.usage,
      ...(open.costUsd === undefined ? {} : { costUsd: open.costUsd }),
      durationMs: 0,
    } satisfies TranscriptRecord
    await store.append(sessionId, [end])
    await store.sync(sessionId)
    return open
  } finally {
    await lease.release()
  }
}

export async function runDurably(
  deps: RunnerDeps,
  input: RunInput,
  context: { readonly executor: string; readonly signal: AbortSignal; readonly notify?: Notify },
): Promise<RunOutput> {
  const { runtime, sessions } = deps
  const store = sessions.store
  // A run of its own session (tau submit) has the run's id; one of `tau serve`'s conversations
  // (enqueue mode) continues the session it names.
  const sessionId = input.sessionId ?? input.runId
  await waitForLease(store, sessionId, deps.leaseWaitMs)
  let recovered = false
  let before = NOTHING
  let events: AsyncIterable<AgentEvent>
  let close: () => Promise<void>
  const exists = await store.exists(sessionId)
  const records = exists ? (await store.read(sessionId)).records : []
  // In a session of its own, any log is this run's; in a shared one, only the agent runs it started.
  const mine = input.sessionId === undefined ? undefined : runIdsOf(records, input.runId)
  // Begun only once its prompt is in the log: a worker killed after writing the session's meta line
  // (or its run-start) and before the prompt leaves a log with nothing to continue — run the prompt.
  const began = exists && promptLogged(records, input.runId)
  if (began) {
    recovered = true
    // What its runs that ended spent (all of them when it ended: the result counts from the start).
    const ended = endedSpent(records, mine)
    const ends = records.filter(
      (r): r is TranscriptRecord & RunEndRecord =>
        r.type === 'run-end' && (mine === undefined || mine.has(r.runId)),
    )
    const end = ends.at(-1)
    // The run ended before the step's completion was recorded: its result is in the log.
    if (end && end.stopReason !== 'aborted') {
      return {
        runId: input.runId,
        sessionId,
        stopReason: end.stopReason,
        isError: end.error !== undefined,
        text: lastAnswer(records),
        ...ended,
        executor: context.executor,
        recovered,
      }
    }
    const answered = await endAnsweredRun(store, sessionId)
    if (answered) {
      return {
        runId: input.runId,
        sessionId,
        stopReason: 'end-turn',
        isError: false,
        text: lastAnswer(records),
        ...plus(ended, answered),
        executor: context.executor,
        recovered,
      }
    }
    const plan = await sessions.resume(sessionId)
    const session = runtime.createSession({ ...plan.options })
    close = () => session.close('durable run ended')
    const last = plan.options.conversation.messages.at(-1)
    if (
      last?.role === 'assistant' &&
      !(Array.isArray(last.content) && last.content.some((p) => p.type === 'tool-call'))
    ) {
      // Aborted right after the model's last answer (its end is logged): nothing to continue.
      await close()
      return {
        runId: input.runId,
        sessionId,
        stopReason: end?.stopReason ?? 'end-turn',
        isError: false,
        text: lastAnswer(records),
        ...ended,
        executor: context.executor,
        recovered,
      }
    }
    // A run killed mid-way is open in the log: its continuation's run-start names it (`resumes`).
    // One ended `aborted` (a stopping worker handed it back) is not: the continuation takes the
    // durable run's id instead, so the log still says which runs are this one's (runIdsOf(): a
    // later recovery, `tau runs logs -f` and serve's enqueue mode find its run-end).
    // After runs that ended (handed back), its limits and counters go on from theirs.
    before = ended
    events = session.continue({
      signal: context.signal,
      ...continuedLimits(records, input.runId, ended),
      ...(plan.options.interrupted ? {} : { runId: input.runId }),
    })
  } else if (exists) {
    // A new prompt in a conversation that has a log (its earlier runs).
    const plan = await sessions.resume(sessionId)
    const session = runtime.createSession({
      ...plan.options,
      ...(input.model ? { model: input.model } : {}),
    })
    close = () => session.close('durable run ended')
    events = session.run(input.prompt, { signal: context.signal, runId: input.runId })
  } else {
    const session = runtime.createSession({
      id: sessionId,
      cwd: input.cwd ?? deps.cwd,
      ...(input.model ? { model: input.model } : {}),
    })
    close = () => session.close('durable run ended')
    events = session.run(input.prompt, { signal: context.signal, runId: input.runId })
  }
  // The run's text as it streams, to whoever follows the session on another host.
  const deltas = context.notify ? new DeltaPublisher(context.notify, sessionId) : undefined
  try {
    let result: Extract<AgentEvent, { type: 'result' }> | undefined
    for await (const event of events) {
      if (event.type === 'text-delta' && event.sessionId === sessionId && !event.parentToolCallId)
        deltas?.push(event)
      if (event.type === 'result') result = event
    }
    if (!result) throw new Error(`run ${input.runId} ended without a result`)
    return {
      runId: input.runId,
      sessionId,
      stopReason: result.stopReason,
      isError: result.isError,
      text: result.text,
      ...plus(before, result),
      executor: context.executor,
      recovered,
    }
  } finally {
    await deltas?.close()
    await close()
  }
}
