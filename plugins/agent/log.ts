/**
 * The durable entries the loop adds to a session's log besides its messages (the session plugin
 * stores them, stamped with `seq`, `id` and `at`). With the messages they are everything a
 * resumed session needs to be the same session: its mode, the rules granted in it, the skill
 * tool limit and counters of an interrupted run, the model override, and which tool calls were
 * in flight when the process stopped.
 */
import type { ToolResultPart } from '../../kernel/index.js'

export type LogEntry =
  /** A tool call is about to run (written before it runs). `input` only when a hook rewrote it. */
  | {
      readonly type: 'tool-intent'
      readonly runId: string
      readonly toolCallId: string
      readonly name: string
      readonly input?: unknown
    }
  /**
   * A tool call's result, as soon as it has one, in a turn of several calls (a single call's
   * result is in the tool message that follows at once): a resume keeps the finished ones.
   */
  | { readonly type: 'tool-result'; readonly runId: string; readonly result: ToolResultPart }
  /** A permission decision: what decided, and the rule and its file when a rule did. */
  | {
      readonly type: 'permission'
      readonly runId: string
      readonly toolCallId: string
      readonly tool: string
      readonly behavior: 'allow' | 'deny'
      readonly reason: string
      readonly source: 'rule' | 'mode' | 'hook' | 'user' | 'headless'
      readonly rule?: { readonly text: string; readonly scope: string; readonly file?: string }
    }
  /** The session's permission mode changed (or was set at the start). */
  | { readonly type: 'mode'; readonly mode: string }
  /** A rule was granted during the session (allow always; `persisted`: also written to that settings file). */
  | {
      readonly type: 'rule'
      readonly rule: string
      readonly behavior: 'allow' | 'ask' | 'deny'
      readonly persisted?: string
    }
  /** A skill's `allowed-tools` limits the rest of the run to these tools. */
  | { readonly type: 'skill-limit'; readonly runId: string; readonly tools: readonly string[] }
  /** The session calls another model than the one it was started (or last logged) with. */
  | { readonly type: 'model'; readonly model: string }

export type LogEntryType = LogEntry['type']

/** What a resumed session takes over from an interrupted run, so `continue()` goes on with it. */
export interface InterruptedRun {
  readonly runId: string
  readonly turns: number
  readonly usage: import('../../kernel/index.js').Usage
  readonly costUsd?: number
  readonly skillTools?: readonly string[]
}

/** The text a tool call gets when the process stopped while it was in flight (resume). */
export const INTERRUPTED_CALL_TEXT =
  'The tau process stopped during this tool call (it was killed or crashed), so its result was lost; it may have had partial effects. It was not run again: check its effects before calling it again.'

/** The text a tool call gets when the process stopped before it ran (resume). */
export const UNSTARTED_CALL_TEXT =
  'The tau process stopped before this tool call ran (it was killed or crashed); it was not run. Call it again if it is still needed.'
