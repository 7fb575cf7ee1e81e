/**
 * The transcript of an agent session: an append-only list of records. The first record is the
 * session's `meta`; then the system prompt, every message of the conversation in order, the todo
 * list when it changes, the usage of each model call. A store keeps them (the default: one JSONL
 * file per session); `replay()` turns records back into the state a session resumes from.
 */
import {
  addUsage,
  defineService,
  type Message,
  type ToolCallPart,
  type ToolResultPart,
  type Usage,
} from '../../kernel/index.js'
import {
  INTERRUPTED_CALL_TEXT,
  type InterruptedRun,
  type LogEntry,
  type Todo,
  UNSTARTED_CALL_TEXT,
} from '../agent/index.js'
import { applyClearing, applySummary, type ClearedResult, type SummaryReplacement } from './compaction.js'

/**
 * Format version of the records, in `meta.version`. 2: every record has `seq` and `id`; run
 * boundaries, tool intents, permission decisions and session state are records. Version 1
 * transcripts (no seq, no id, none of those records) are read as they are.
 */
export const TRANSCRIPT_VERSION = 2

/** What every record carries from version 2 on (absent in version 1 transcripts). */
export interface Stamp {
  /** Position in the session's one sequence (shared with its events); monotonic in the file. */
  readonly seq?: number
  /** Unique id of the record. */
  readonly id?: string
}

export interface SessionMeta extends Stamp {
  readonly type: 'meta'
  readonly version: number
  readonly id: string
  /** ISO time the session started. */
  readonly startedAt: string
  readonly cwd: string
  /** `provider:model` at the start. */
  readonly model: string
  /** From the first prompt (one line, cut). */
  readonly title: string
  /** Set on a fork: the session it was copied from, and how many messages it took over. */
  readonly parent?: { readonly id: string; readonly messages: number }
  /** Set on a subagent's session: the session and Task tool call that started it. */
  readonly subagentOf?: { readonly id: string; readonly toolCallId: string }
  /**
   * The session's own settings by config key (`mcpServers`, `sandbox`), as it was created with
   * them, minus secrets (settings-log.ts); a reopened or forked session runs with them again.
   */
  readonly settings?: Readonly<Record<string, unknown>>
  /** Paths of the setting values left out of `settings` (literal values that may be secrets). */
  readonly withheld?: ReadonlyArray<readonly string[]>
}

/** A record without its stamp: what a writer hands over (the store's writer stamps it). */
export type RecordBody =
  /** Its `id` is the session's, which is also the meta record's id. */
  | Omit<SessionMeta, 'seq'>
  /** The system prompt the session sends (again when it changes). */
  | { readonly type: 'system'; readonly text: string }
  /** A message of the conversation; `index` is its position, so gaps and repeats are detected. */
  | { readonly type: 'message'; readonly index: number; readonly at: string; readonly message: Message }
  | { readonly type: 'todos'; readonly todos: readonly Todo[] }
  /**
   * Provider-reported usage of a model call; `messages` is the conversation length after it. From
   * version 2: the run, its model call number, and the run's cost so far where prices are known.
   */
  | {
      readonly type: 'usage'
      readonly usage: Usage
      readonly messages: number
      readonly runId?: string
      readonly turn?: number
      readonly costUsd?: number
    }
  | Omit<CompactionRecord, 'seq' | 'id'>
  /** A run began: its prompt (none for a continuation) and limits. */
  | {
      readonly type: 'run-start'
      readonly at: string
      readonly runId: string
      readonly prompt?: string
      readonly options: Readonly<Record<string, number>>
      readonly model: string
      /** A continuation: the interrupted run it goes on with. */
      readonly resumes?: string
    }
  /** A run ended (every path): why, and its counters. */
  | {
      readonly type: 'run-end'
      readonly at: string
      readonly runId: string
      readonly stopReason: string
      readonly turns: number
      readonly usage: Usage
      readonly costUsd?: number
      readonly durationMs: number
      readonly error?: { readonly code: string; readonly message: string }
    }
  /** What the loop logs besides messages (see plugins/agent/log.ts), with its time. */
  | (LogEntry & { readonly at: string })

export type TranscriptRecord = RecordBody & Stamp

/**
 * A compaction: first the cleared tool results (by message index), then, if there is one, the
 * summary replacing messages `[from, to)`. Messages after it are numbered from the new length.
 */
export interface CompactionRecord extends Stamp {
  readonly type: 'compaction'
  readonly at: string
  readonly trigger: 'auto' | 'manual'
  readonly reason: 'threshold' | 'context-length' | 'manual'
  readonly cleared: readonly ClearedResult[]
  readonly summary?: SummaryReplacement
  readonly tokensBefore: number
  readonly tokensAfter: number
}

export type RecordType = TranscriptRecord['type']

/** What a store hands back: the records, and what it tolerated on the way (a torn last line). */
export interface TranscriptRead {
  readonly records: readonly TranscriptRecord[]
  readonly warnings: readonly string[]
}

/** One line of `tau sessions`. */
export interface SessionSummary {
  readonly id: string
  readonly startedAt: string
  /** Last change (the store's modification time), ISO. */
  readonly updatedAt: string
  readonly title: string
  readonly model: string
  readonly cwd: string
  /** Prompts the user gave (user messages with text, not tool results). */
  readonly turns: number
  readonly messages: number
  readonly parent?: { readonly id: string; readonly messages: number }
  readonly subagentOf?: { readonly id: string; readonly toolCallId: string }
  /** The store's location of it (a file path for the JSONL store). */
  readonly location: string
  readonly warnings: readonly string[]
}

/** Who holds a session's lease (the one writer of its log). */
export interface LeaseHolder {
  readonly pid: number
  readonly host: string
  /** ISO time the holder took the lease. */
  readonly startedAt: string
}

/** The right to write a session's log; one writer at a time. */
export interface TranscriptLease {
  readonly sessionId: string
  readonly holder: LeaseHolder
  /** Keeps the lease (a store with expiring leases extends it); throws TAU_SESSION_LOCKED when it was lost. */
  renew(): Promise<void>
  /** Gives the lease up; idempotent. */
  release(): Promise<void>
}

/**
 * Where transcripts live. Appends are written when the promise resolves (the JSONL store writes
 * each record with one write call), so a crash of the process loses nothing appended; how soon
 * they reach the disk is the store's durability (see `sync`). SQLite or PostgreSQL stores
 * implement the same interface, and run the same contract tests
 * (test/plugins/session/store-contract.ts).
 */
export interface TranscriptStore {
  /** A name for messages (`jsonl`, `sqlite`). */
  readonly kind: string
  /**
   * Takes the session's lease: one writer at a time. A lease whose holder is gone (a dead process
   * on this host, an expired lease) is taken over. Throws TAU_SESSION_LOCKED naming the holder.
   */
  acquire(id: string): Promise<TranscriptLease>
  /** Appends records of a session, in order; resolves once they are written. */
  append(id: string, records: readonly TranscriptRecord[]): Promise<void>
  /**
   * A durability point (the end of a turn): what was appended so far goes to the disk. It may run
   * in the background; the next sync and close() wait for it, and report its failure.
   */
  sync(id: string): Promise<void>
  /** All records of a session; throws TAU_SESSION_NOT_FOUND or TAU_SESSION_CORRUPT. */
  read(id: string): Promise<TranscriptRead>
  exists(id: string): Promise<boolean>
  /** The sessions there are, newest (last changed) first. */
  list(): Promise<SessionSummary[]>
  /**
   * One session's summary, read directly (list() reads every transcript); undefined when there is
   * none. Optional: a caller without it summarises the records it read.
   */
  summary?(id: string): Promise<SessionSummary | undefined>
  /** Closes what the store holds open for a session (its file). */
  close(id: string): Promise<void>
  /** Where a session is kept, for messages. */
  location(id: string): string
}

export const transcriptStoreRef = defineService<TranscriptStore>('session.store', {
  description: 'Where session transcripts are kept (default: JSONL files under .tau/sessions/).',
})

/** The state a session resumes from. */
export interface Replayed {
  readonly meta: SessionMeta
  readonly messages: Message[]
  /** The highest `seq` in the log (-1: none, a version 1 transcript). */
  readonly lastSeq: number
  /** The mode, model and session rules the log last records. */
  readonly mode: string | undefined
  readonly model: string
  readonly rules: ReadonlyArray<{ readonly rule: string; readonly behavior: 'allow' | 'ask' | 'deny' }>
  /** The last run, when it has no run-end (the process stopped during it). */
  readonly interrupted: InterruptedRun | undefined
  /**
   * Results for the tool calls of the last assistant message that have none (the process
   * stopped during the turn): a logged result where there is one, else an error saying the call
   * was interrupted (it had an intent) or never ran. Undefined when nothing is pending.
   */
  readonly answers: ToolResultPart[] | undefined
  readonly todos: readonly Todo[]
  readonly systemPrompt: string | undefined
  /** Compactions applied on the way. */
  readonly compactions: number
  /** The last provider-reported usage, and the conversation length after that call. */
  readonly lastUsage: { readonly usage: Usage; readonly messages: number } | undefined
}

/** Rebuilds the conversation and state from records; throws on a broken sequence. */
export function replay(records: readonly TranscriptRecord[], where: string): Replayed {
  const first = records[0]
  if (first?.type !== 'meta') throw new Error(`${where}: the first record is not the session's meta line`)
  let messages: Message[] = []
  let compactions = 0
  let todos: readonly Todo[] = []
  let systemPrompt: string | undefined
  let lastUsage: Replayed['lastUsage']
  let lastSeq = first.seq ?? -1
  let mode: string | undefined
  let model = first.model
  const rules: Array<{ rule: string; behavior: 'allow' | 'ask' | 'deny' }> = []
  let run:
    | { runId: string; turns: number; usage: Usage; costUsd?: number; skillTools?: readonly string[] }
    | undefined
  // Of the tool calls since the last assistant message: which had an intent, which a result.
  let intents = new Set<string>()
  let results = new Map<string, ToolResultPart>()
  for (let i = 1; i < records.length; i++) {
    const record = records[i]!
    if (record.seq !== undefined && record.seq > lastSeq) lastSeq = record.seq
    switch (record.type) {
      case 'message':
        if (record.index !== messages.length) {
          throw new Error(
            `${where}: record ${i + 1} is message ${record.index}, expected message ${messages.length}`,
          )
        }
        messages.push(record.message)
        if (record.message.role !== 'tool') {
          intents = new Set()
          results = new Map()
        }
        break
      case 'run-start':
        // A continuation carries the counters of the interrupted run (still open) on.
        run =
          run !== undefined && record.resumes === run.runId
            ? { ...run, runId: record.runId }
            : { runId: record.runId, turns: 0, usage: { inputTokens: 0, outputTokens: 0 } }
        break
      case 'run-end':
        if (run?.runId === record.runId) run = undefined
        break
      case 'tool-intent':
        intents.add(record.toolCallId)
        break
      case 'tool-result':
        results.set(record.result.toolCallId, record.result)
        break
      case 'permission':
        break
      case 'mode':
        mode = record.mode
        break
      case 'model':
        model = record.model
        break
      case 'rule':
        if (record.persisted === undefined) rules.push({ rule: record.rule, behavior: record.behavior })
        break
      case 'skill-limit':
        if (run?.runId === record.runId) run = { ...run, skillTools: record.tools }
        break
      case 'system':
        systemPrompt = record.text
        break
      case 'todos':
        todos = record.todos
        break
      case 'usage':
        lastUsage = { usage: record.usage, messages: record.messages }
        if (run && record.runId === run.runId) {
          run = {
            ...run,
            turns: record.turn ?? run.turns + 1,
            usage: addUsage(run.usage, record.usage),
            ...(record.costUsd === undefined ? {} : { costUsd: record.costUsd }),
          }
        }
        break
      case 'compaction':
        try {
          messages = applyClearing(messages, record.cleared)
          if (record.summary) {
            if (record.summary.to > messages.length || record.summary.from > record.summary.to)
              throw new Error(`the summary replaces messages ${record.summary.from}-${record.summary.to}`)
            messages = applySummary(messages, record.summary)
          }
        } catch (error) {
          throw new Error(
            `${where}: record ${i + 1} is a compaction that does not fit the conversation (${error instanceof Error ? error.message : String(error)})`,
          )
        }
        compactions++
        // The reported usage counted the messages before the compaction.
        lastUsage = undefined
        break
      case 'meta':
        throw new Error(`${where}: record ${i + 1} is a second meta line`)
    }
  }
  const answers = pendingAnswers(messages, intents, results, (first.version ?? 1) < 2)
  return {
    meta: first,
    messages,
    todos,
    systemPrompt,
    compactions,
    lastUsage,
    lastSeq,
    mode,
    model,
    rules,
    interrupted: run,
    answers,
  }
}

/** Results for the calls of a trailing assistant message (see Replayed.answers). */
function pendingAnswers(
  messages: readonly Message[],
  intents: ReadonlySet<string>,
  results: ReadonlyMap<string, ToolResultPart>,
  legacy: boolean,
): ToolResultPart[] | undefined {
  const last = messages.at(-1)
  if (last?.role !== 'assistant' || typeof last.content === 'string') return undefined
  const calls = last.content.filter((part): part is ToolCallPart => part.type === 'tool-call')
  if (calls.length === 0) return undefined
  return calls.map((call) => {
    const logged = results.get(call.id)
    if (logged) return logged
    // A version 1 log has no intents: the call may have run.
    const text = legacy || intents.has(call.id) ? INTERRUPTED_CALL_TEXT : UNSTARTED_CALL_TEXT
    return {
      type: 'tool-result' as const,
      toolCallId: call.id,
      toolName: call.name,
      content: [{ type: 'text' as const, text }],
      isError: true,
    }
  })
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool'])

/** Checks the shape of a parsed line; returns what is wrong, or undefined. */
export function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  const record = value as Record<string, unknown>
  switch (record.type) {
    case 'meta':
      if (typeof record.id !== 'string' || typeof record.startedAt !== 'string')
        return 'a meta record needs id and startedAt'
      if (
        record.settings !== undefined &&
        (typeof record.settings !== 'object' || record.settings === null || Array.isArray(record.settings))
      )
        return "a meta record's settings are an object"
      return record.withheld === undefined ||
        (Array.isArray(record.withheld) && record.withheld.every((path) => Array.isArray(path)))
        ? undefined
        : "a meta record's withheld is a list of paths"
    case 'system':
      return needsStrings(record, 'text')
    case 'message': {
      const message = record.message as { role?: unknown; content?: unknown } | undefined
      if (typeof record.index !== 'number') return 'a message record needs an index'
      if (!message || !ROLES.has(message.role as string))
        return 'a message record needs a message with a role'
      if (typeof message.content !== 'string' && !Array.isArray(message.content))
        return 'a message needs content'
      return undefined
    }
    case 'todos':
      return Array.isArray(record.todos) ? undefined : 'a todos record needs todos'
    case 'usage':
      return typeof record.usage === 'object' && record.usage !== null && typeof record.messages === 'number'
        ? undefined
        : 'a usage record needs usage and messages'
    case 'compaction': {
      if (!Array.isArray(record.cleared)) return 'a compaction record needs cleared'
      const summary = record.summary as { from?: unknown; to?: unknown; message?: unknown } | undefined
      if (
        summary !== undefined &&
        (typeof summary.from !== 'number' ||
          typeof summary.to !== 'number' ||
          typeof summary.message !== 'object' ||
          summary.message === null)
      )
        return 'a compaction summary needs from, to and message'
      return undefined
    }
    case 'run-start':
      return needsStrings(record, 'runId')
    case 'run-end':
      return needsStrings(record, 'runId', 'stopReason')
    case 'tool-intent':
      return needsStrings(record, 'toolCallId')
    case 'tool-result': {
      const result = record.result as { toolCallId?: unknown } | undefined
      return typeof result?.toolCallId === 'string' ? undefined : 'a tool-result record needs a result'
    }
    case 'permission':
      return needsStrings(record, 'toolCallId', 'behavior')
    case 'mode':
      return needsStrings(record, 'mode')
    case 'model':
      return needsStrings(record, 'model')
    case 'rule':
      return needsStrings(record, 'rule', 'behavior')
    case 'skill-limit':
      return Array.isArray(record.tools) ? undefined : 'a skill-limit record needs tools'
    default:
      return `unknown record type ${JSON.stringify(record.type)}`
  }
}

/** The problem with a record whose `fields` must all be strings, or undefined. */
function needsStrings(record: Record<string, unknown>, ...fields: string[]): string | undefined {
  return fields.every((field) => typeof record[field] === 'string')
    ? undefined
    : `a ${String(record.type)} record needs ${fields.join(' and ')}`
}

/** The title of a session: the first line of its first prompt, cut to 80 characters. */
export function titleOf(prompt: string): string {
  const line = (prompt.split('\n').find((l) => l.trim() !== '') ?? '').trim().replace(/\s+/g, ' ')
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}
