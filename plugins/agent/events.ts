/**
 * The one event stream of the agent. The terminal UI, `tau start -p --output-format stream-json`,
 * servers, telemetry and tests all consume it; nothing prints from inside the loop.
 */
import type {
  AssistantMessage,
  FinishReason,
  StreamEvent,
  ToolResultPart,
  Usage,
} from '../../kernel/index.js'
import type { Todo } from '../tools/index.js'

export type StopReason =
  /** The model answered without calling tools. */
  | 'end-turn'
  | 'max-turns'
  /** The token budget (input + output over the run) was used up. */
  | 'token-budget'
  | 'cost-budget'
  | 'timeout'
  | 'aborted'
  /** userPromptSubmit blocked the prompt. */
  | 'blocked'
  /** A preToolUse or postToolUse tap asked to stop the run (`stop`; a command hook's `continue: false`). */
  | 'hook-stopped'
  | 'error'

// The TodoWrite tool owns the shape of a task list item; the `todos` event carries it.
export type { Todo }

interface Base {
  /** The session the event is about: a subagent's events carry the subagent's own. */
  readonly sessionId: string
  /**
   * Position in the session's one sequence (events and log records share it): monotonic per
   * session, continued by a resumed session after the last record of its log.
   */
  readonly seq: number
  /** Unique id of this event (the tool events' `id` is the tool call's). */
  readonly eventId: string
  /** When it was emitted, ms since the epoch. */
  readonly timestamp: number
  /** The run that emitted it (a subagent's events carry the subagent's run). */
  readonly runId: string
  /**
   * Set on a subagent's events in its parent's stream: the parent's Task tool-call id. Events
   * without it are the run's own (its `result` is the last event of the stream).
   */
  readonly parentToolCallId?: string
}

export type AgentEvent = Base &
  (
    | {
        readonly type: 'session-start'
        readonly model: string
        readonly cwd: string
        readonly tools: readonly string[]
        readonly permissionMode: string
      }
    | { readonly type: 'user-prompt'; readonly prompt: string }
    | { readonly type: 'text-delta'; readonly text: string }
    | { readonly type: 'reasoning-delta'; readonly text: string }
    | {
        /**
         * Only in sessions created with `streamEvents` (`--include-partial-messages`): each event
         * of the provider's stream as it comes; `call-start` opens a model call.
         */
        readonly type: 'model-stream'
        /** The model called (`provider:model`). */
        readonly model: string
        readonly event: StreamEvent | { readonly type: 'call-start' }
      }
    | {
        readonly type: 'assistant-message'
        readonly message: AssistantMessage
        readonly finishReason: FinishReason
        readonly usage: Usage
        /** The model that answered (`provider:model`). */
        readonly model?: string
        /** How long the model call took, ms (the stream from request to its end). */
        readonly durationMs?: number
        /** Time to first token, ms: from the request to the provider's first text, reasoning or tool call. */
        readonly firstTokenMs?: number
        /** The provider's id of the message (Anthropic's `msg_...`), where it sends one. */
        readonly responseId?: string
      }
    | { readonly type: 'tool-start'; readonly id: string; readonly name: string; readonly input: unknown }
    | {
        readonly type: 'tool-progress'
        readonly id: string
        readonly name: string
        readonly message: string
        readonly data?: unknown
      }
    | {
        readonly type: 'tool-end'
        readonly id: string
        readonly name: string
        readonly result: ToolResultPart
        /** Extra data for frontends (a diff, the todo list); not sent to the model. */
        readonly display?: unknown
        readonly durationMs: number
      }
    | {
        readonly type: 'permission-request'
        readonly id: string
        readonly name: string
        readonly input: unknown
        readonly reason: string
      }
    | {
        readonly type: 'permission-decision'
        readonly id: string
        readonly name: string
        readonly behavior: 'allow' | 'deny'
        readonly reason: string
        /** What decided: a rule, the mode, a hook, the user, or headless mode's "nobody to ask". */
        readonly source: 'rule' | 'mode' | 'hook' | 'user' | 'headless'
      }
    | {
        readonly type: 'usage'
        /** This model call. */
        readonly usage: Usage
        /** The run so far. */
        readonly total: Usage
        /** The run so far in USD, where the model's prices are known. */
        readonly costUsd?: number
      }
    | { readonly type: 'todos'; readonly todos: readonly Todo[] }
    | {
        /** The conversation was compacted (old tool results cleared, older turns summarised). */
        readonly type: 'compaction'
        readonly trigger: 'auto' | 'manual'
        readonly reason: 'threshold' | 'context-length' | 'manual'
        readonly clearedResults: number
        readonly summarizedMessages: number
        readonly tokensBefore: number
        readonly tokensAfter: number
      }
    | { readonly type: 'notification'; readonly level: 'info' | 'warn'; readonly message: string }
    | { readonly type: 'error'; readonly code: string; readonly message: string; readonly fatal: boolean }
    | {
        readonly type: 'result'
        readonly stopReason: StopReason
        readonly isError: boolean
        /** The last assistant text of the run. */
        readonly text: string
        readonly turns: number
        readonly usage: Usage
        readonly costUsd?: number
        readonly durationMs: number
        /** For isError: what went wrong. */
        readonly error?: { readonly code: string; readonly message: string }
      }
  )

export type AgentEventType = AgentEvent['type']
