/**
 * The transcript of an agent session: an append-only list of records. The first record is the
 * session's `meta`; then the system prompt, every message of the conversation in order, the todo
 * list when it changes, the usage of each model call. A store keeps them (the default: one JSONL
 * file per session); `replay()` turns records back into the state a session resumes from.
 */
import { defineService, type Message, type Usage } from '../../kernel/index.js'
import type { Todo } from '../agent/index.js'
import { applyClearing, applySummary, type ClearedResult, type SummaryReplacement } from './compaction.js'

/** Format version of the records, in `meta.version`. */
export const TRANSCRIPT_VERSION = 1

export interface SessionMeta {
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
}

export type TranscriptRecord =
  | SessionMeta
  /** The system prompt the session sends (again when it changes). */
  | { readonly type: 'system'; readonly text: string }
  /** A message of the conversation; `index` is its position, so gaps and repeats are detected. */
  | { readonly type: 'message'; readonly index: number; readonly at: string; readonly message: Message }
  | { readonly type: 'todos'; readonly todos: readonly Todo[] }
  /** Provider-reported usage of a model call; `messages` is the conversation length after it. */
  | { readonly type: 'usage'; readonly usage: Usage; readonly messages: number }
  | CompactionRecord

/**
 * A compaction: first the cleared tool results (by message index), then, if there is one, the
 * summary replacing messages `[from, to)`. Messages after it are numbered from the new length.
 */
export interface CompactionRecord {
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

/**
 * Where transcripts live. Appends are durable when the promise resolves (the JSONL store writes
 * each record with one write call and syncs it), so a crash loses at most the record being
 * written. SQLite or PostgreSQL stores implement the same interface.
 */
export interface TranscriptStore {
  /** A name for messages (`jsonl`, `sqlite`). */
  readonly kind: string
  /** Appends records of a session, in order; resolves once they are stored. */
  append(id: string, records: readonly TranscriptRecord[]): Promise<void>
  /** All records of a session; throws TAU_SESSION_NOT_FOUND or TAU_SESSION_CORRUPT. */
  read(id: string): Promise<TranscriptRead>
  exists(id: string): Promise<boolean>
  /** The sessions there are, newest (last changed) first. */
  list(): Promise<SessionSummary[]>
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
  for (let i = 1; i < records.length; i++) {
    const record = records[i]!
    switch (record.type) {
      case 'message':
        if (record.index !== messages.length) {
          throw new Error(
            `${where}: record ${i + 1} is message ${record.index}, expected message ${messages.length}`,
          )
        }
        messages.push(record.message)
        break
      case 'system':
        systemPrompt = record.text
        break
      case 'todos':
        todos = record.todos
        break
      case 'usage':
        lastUsage = { usage: record.usage, messages: record.messages }
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
  return { meta: first, messages, todos, systemPrompt, compactions, lastUsage }
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool'])

/** Checks the shape of a parsed line; returns what is wrong, or undefined. */
export function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  const record = value as Record<string, unknown>
  switch (record.type) {
    case 'meta':
      return typeof record.id === 'string' && typeof record.startedAt === 'string'
        ? undefined
        : 'a meta record needs id and startedAt'
    case 'system':
      return typeof record.text === 'string' ? undefined : 'a system record needs text'
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
    default:
      return `unknown record type ${JSON.stringify(record.type)}`
  }
}

/** The title of a session: the first line of its first prompt, cut to 80 characters. */
export function titleOf(prompt: string): string {
  const line = (prompt.split('\n').find((l) => l.trim() !== '') ?? '').trim().replace(/\s+/g, ' ')
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}
