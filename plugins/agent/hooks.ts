/**
 * The agent-loop hooks, declared by the agent plugin. Names and meanings follow the Claude Agent
 * SDK's hook events (messageAppended is tau's own: persistence). Each takes one context object; every hook is listed in docs/hooks.md.
 *
 * Security: preToolUse is a bail hook whose first decision wins; a tap that throws DENIES the
 * call (the loop catches it), so a broken guard never allows by accident.
 */
import type {
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  Message,
  ModelRequest,
  ModelResponse,
  SyncHook,
  Usage,
} from '../../kernel/index.js'
import { defineHooks } from '../../kernel/index.js'
import type { ToolOutput } from '../tools/index.js'
import type { AgentEvent, StopReason } from './events.js'
import type { LogEntry } from './log.js'
import type { SessionParent } from './runtime.js'

export interface SessionStartContext {
  readonly sessionId: string
  readonly cwd: string
  readonly model: string
  /** `startup` for a new session, `resume` when continuing one. */
  readonly source: 'startup' | 'resume'
}

/** Waterfall value: taps may rewrite the prompt, add context, or block it. */
export interface PromptSubmission {
  readonly sessionId: string
  readonly prompt: string
  /** Text added to the prompt as context for the model (after it). */
  readonly additionalContext?: readonly string[]
  /** Set to stop the run before any model call; the reason is shown to the user. */
  readonly blocked?: { readonly reason: string }
}

/** Waterfall value: the system prompt in sections, so plugins add or replace by id. */
export interface SystemPrompt {
  readonly sessionId: string
  readonly cwd: string
  readonly sections: ReadonlyArray<{ readonly id: string; readonly text: string }>
}

/** Waterfall value: the request about to be sent; taps may rewrite it. */
export interface ModelCall {
  readonly sessionId: string
  /** The run making the call. */
  readonly runId: string
  /** 1 for the first model call of the run. */
  readonly turn: number
  readonly request: ModelRequest
}

export interface ModelCallResult extends ModelCall {
  readonly response: ModelResponse
  /** The run's cost so far in USD (this call included), where the model's prices are known. */
  readonly costUsd?: number
}

export interface PreToolUse {
  readonly sessionId: string
  readonly toolName: string
  readonly toolCallId: string
  readonly input: unknown
}

/**
 * What a preToolUse tap decides; undefined passes to the next tap (and then to permissions). Like
 * any bail result, a returned object ends the hook: later taps do not see the call.
 */
export interface PreToolUseDecision {
  /**
   * `allow` skips the permission check; `deny` blocks (reason goes to the model); `ask` asks the
   * user. Left out: the permissions decide as if no tap had (with `updatedInput`, when given).
   */
  readonly decision?: 'allow' | 'deny' | 'ask'
  readonly reason?: string
  /** Replaces the tool input (validated again against the tool's schema). */
  readonly updatedInput?: unknown
  /**
   * Stops the run (stop reason `hook-stopped`, the reason in its error): this call is denied with
   * the reason whatever `decision` says, calls of the turn not started yet are not run, and no
   * model call follows.
   */
  readonly stop?: StopRequest
}

/** A hook's request to end the run (Claude Code's `continue: false`); `reason` is for the user. */
export interface StopRequest {
  readonly reason: string
}

/** Waterfall value: taps may rewrite what the model will see of a tool's result. */
export interface PostToolUse extends PreToolUse {
  readonly output: ToolOutput
  /** How long the tool ran, ms. */
  readonly durationMs?: number
  /**
   * Set by a tap to stop the run after this turn's calls (stop reason `hook-stopped`): the result
   * still joins the conversation, calls not started yet are not run, no model call follows.
   */
  readonly stop?: StopRequest
}

export interface PostToolUseFailure extends PreToolUse {
  readonly error: string
  /** How long the tool ran before it failed, ms. */
  readonly durationMs?: number
}

export interface StopContext {
  readonly sessionId: string
  readonly stopReason: string
  /** The last assistant text. */
  readonly text: string
  /** True when this stop follows a continuation a stop tap asked for (avoid loops). */
  readonly continued: boolean
}

/** A stop tap may ask the agent to go on; `reason` is given to the model as the next prompt. */
export interface StopDecision {
  readonly continue: true
  readonly reason: string
}

export interface PreCompactContext {
  readonly sessionId: string
  readonly trigger: 'auto' | 'manual'
  /** Waterfall: instructions for the summary (what to keep). */
  readonly instructions: readonly string[]
}

/** Why the loop asks for compaction: before a model call (the tap checks the threshold), or after the provider refused a request as too long. */
export type CompactReason = 'threshold' | 'context-length'

export interface CompactRequest {
  readonly sessionId: string
  readonly reason: CompactReason
  /** The run's signal: the summary call stops with it. */
  readonly signal: AbortSignal
}

/** What a compaction did (the agent emits it as a `compaction` event). */
export interface CompactionInfo {
  readonly trigger: 'auto' | 'manual'
  readonly reason: CompactReason | 'manual'
  /** Tool results replaced by a placeholder. */
  readonly clearedResults: number
  /** Messages replaced by the summary (0: no summary was made). */
  readonly summarizedMessages: number
  readonly tokensBefore: number
  readonly tokensAfter: number
}

/** A message joined the session's conversation (the loop waits for the taps before it goes on). */
export interface MessageAppended {
  readonly sessionId: string
  readonly message: Message
  /** Its position in the conversation (0 for the first message). */
  readonly index: number
}

export interface SessionEndContext {
  readonly sessionId: string
  readonly reason: string
}

export interface NotificationContext {
  readonly sessionId: string
  readonly level: 'info' | 'warn'
  readonly message: string
}

/** The limits a run was started with (after the config's defaults). */
export interface RunLimits {
  readonly maxTurns: number
  readonly maxTokens?: number
  readonly maxCostUsd?: number
  readonly timeoutMs?: number
}

export interface RunStartContext {
  readonly sessionId: string
  readonly runId: string
  /** The prompt; undefined for `continue()`, which goes on without a new user message. */
  readonly prompt: string | undefined
  readonly options: RunLimits
  readonly model: string
  /** Set by `continue()`: the interrupted run it goes on with (its counters carry over). */
  readonly resumes?: string
  /** Set on a subagent's runs: the parent session and its Task call (a trace nests them). */
  readonly parent?: SessionParent
}

export interface RunEndContext {
  readonly sessionId: string
  readonly runId: string
  readonly stopReason: StopReason
  readonly isError: boolean
  readonly turns: number
  readonly usage: Usage
  readonly costUsd?: number
  readonly durationMs: number
  readonly error?: { readonly code: string; readonly message: string }
}

export interface ModelCallFailure {
  readonly sessionId: string
  readonly runId: string
  readonly turn: number
  /** The request as sent (after beforeModelCall); undefined when the failure came before it. */
  readonly request: ModelRequest | undefined
  readonly error: { readonly code: string; readonly message: string }
  /** True when the run was aborted or timed out (the call was cancelled). */
  readonly aborted: boolean
}

/** Durable entries of the session log the loop produces (the session plugin writes them). */
export interface LogEntries {
  readonly sessionId: string
  readonly runId: string
  readonly entries: readonly LogEntry[]
}

export interface AgentHooks {
  /**
   * Every event of the stream, the session's own and its subagents' relayed ones, as it is emitted
   * (a SyncHook: the loop never waits for observers; a tap that throws is logged and ignored).
   */
  event: SyncHook<[AgentEvent]>
  /** A run begins (before its prompt joins the conversation); awaited. */
  runStart: AsyncSeriesHook<[RunStartContext]>
  /** A run ended, on every path (end-turn, error, abort, limit); awaited, before the `result` event. */
  runEnd: AsyncSeriesHook<[RunEndContext]>
  /** A model call failed (provider error, abort, timeout); awaited. */
  modelCallFailed: AsyncSeriesHook<[ModelCallFailure]>
  /**
   * Durable entries of the session log (tool intents, permission decisions, mode and rule
   * changes, the skill tool limit, the model override); the loop waits for the taps, so an
   * intent is stored before its tool runs.
   */
  record: AsyncSeriesHook<[LogEntries]>
  sessionStart: AsyncSeriesHook<[SessionStartContext]>
  userPromptSubmit: AsyncSeriesWaterfallHook<[PromptSubmission]>
  systemPrompt: AsyncSeriesWaterfallHook<[SystemPrompt]>
  beforeModelCall: AsyncSeriesWaterfallHook<[ModelCall]>
  afterModelCall: AsyncSeriesHook<[ModelCallResult]>
  preToolUse: AsyncSeriesBailHook<[PreToolUse], PreToolUseDecision | undefined>
  postToolUse: AsyncSeriesWaterfallHook<[PostToolUse]>
  postToolUseFailure: AsyncSeriesHook<[PostToolUseFailure]>
  stop: AsyncSeriesBailHook<[StopContext], StopDecision | undefined>
  preCompact: AsyncSeriesWaterfallHook<[PreCompactContext]>
  /**
   * Before each model call (reason `threshold`) and after a context-length error (`context-length`,
   * then the call is retried once): a tap (the session plugin) may compact the session's
   * conversation (through `AgentSession.replaceConversation`) and tell what it did; undefined: nothing.
   */
  compact: AsyncSeriesBailHook<[CompactRequest], CompactionInfo | undefined>
  /** After each message appended to a conversation, before the loop goes on (transcripts). */
  messageAppended: AsyncSeriesHook<[MessageAppended]>
  sessionEnd: AsyncSeriesHook<[SessionEndContext]>
  notification: AsyncSeriesHook<[NotificationContext]>
}

export const agentHooksRef = defineHooks<AgentHooks>('agent')
