/**
 * The agent runtime service (`agent.runtime`): creates sessions; a session keeps its
 * conversation across runs and runs the loop, yielding the one AgentEvent stream.
 */
import { type Conversation, defineService, type Session, type Usage } from '../../kernel/index.js'
import type { PermissionMode, Permissions } from '../permissions/index.js'
import type { Environment } from '../sandbox/index.js'
import type { AgentEvent, Todo } from './events.js'
import type { SessionInteraction, UserInteraction } from './interaction.js'
import type { InterruptedRun } from './log.js'
import type { GitFacts } from './system-prompt.js'

/** What the user answered to a permission request. */
export type PermissionAnswer =
  | 'allow'
  | 'allow-always'
  | 'deny'
  | {
      readonly behavior: 'allow' | 'allow-always' | 'deny'
      /** Shown to the model on a denial. */
      readonly reason?: string
      /** For `allow-always`: the rule to keep (default: the suggested rule). */
      readonly rule?: string
    }

export interface PermissionRequest {
  readonly sessionId: string
  readonly toolCallId: string
  readonly toolName: string
  readonly input: unknown
  /** Why the call needs approval (from the rule, the mode or the hook). */
  readonly reason: string
  /** The rule `allow-always` keeps: `Bash(npm test)`, `Edit(src/a.ts)`, or the bare tool name. */
  readonly suggestedRule: string
  /** Aborted when the run is: stop asking. */
  readonly signal: AbortSignal
  /**
   * Set when a subagent asks (its session has a `parent`): the parent's Task call id. `sessionId`
   * and `toolCallId` are the subagent's own; the frontend asked is the parent session's.
   */
  readonly parentToolCallId?: string
  /** Set when a subagent asks: its agent type (`general-purpose`, `code-reviewer`, ...). */
  readonly agentType?: string
}

/** Asks the user; frontends provide it. Requests are asked one at a time. */
export type AskPermission = (request: PermissionRequest) => Promise<PermissionAnswer>

export interface AgentSessionOptions {
  /** The session id (default: a new UUID). */
  readonly id?: string
  /** Working directory (default: the kernel's cwd). */
  readonly cwd?: string
  /** `provider:model` (default: `agent.model`, else the config's `model`). */
  readonly model?: string
  readonly permissionMode?: PermissionMode
  /** Permission rules allowed in this session (`Bash(npm test:*)`, `Read`). */
  readonly allowedTools?: readonly string[]
  /** Permission rules denied in this session; bare tool names are also hidden from the model. */
  readonly disallowedTools?: readonly string[]
  /**
   * Asks the person behind the session: permissions, plan approval, MCP elicitation, sampling and
   * logins (see interaction.ts). Without it (headless) every question gets the fail-closed answer.
   */
  readonly interaction?: UserInteraction
  /**
   * Asks the user when a call needs approval; the older form of `interaction.askPermission` (it
   * wins when both are given). Without either (headless), such calls are denied.
   */
  readonly askPermission?: AskPermission
  /** Start from this conversation (a resumed session). */
  readonly conversation?: Conversation
  /** Start with this todo list (a resumed session); TodoWrite's state. */
  readonly todos?: readonly Todo[]
  /**
   * Use this system prompt verbatim instead of building one (a resumed session: the requests
   * go on exactly as before the restart, and the provider's prompt cache still hits).
   */
  readonly systemPrompt?: string
  /**
   * The kernel session whose session services (environment, permissions) this agent session
   * uses. Default: a new one the agent session opens and disposes at close().
   */
  readonly scope?: Session
  /**
   * This session's own settings by plugin config key (`{ sandbox: { mode: 'bwrap' } }`), for the
   * scope the agent session opens (ignored with `scope`: that one has its own).
   */
  readonly settings?: Readonly<Record<string, unknown>>
  /** Set for a subagent: the session and the Task tool call that started it. */
  readonly parent?: SessionParent
  /**
   * The git facts of the system prompt's environment section (default: `git status` in the
   * session's cwd). A workflow run shares one among the sessions that start together.
   */
  readonly gitFacts?: (cwd: string, timeoutMs: number) => Promise<GitFacts>
  /** Emit `model-stream` events (the provider's raw stream); off, the loop pays nothing for them. */
  readonly streamEvents?: boolean
  /** A resumed session: the last `seq` of its log (its events and records go on after it). */
  readonly lastSeq?: number
  /** A resumed session: rules granted during it (session scope), restored in order. */
  readonly sessionRules?: ReadonlyArray<{
    readonly rule: string
    readonly behavior: 'allow' | 'ask' | 'deny'
  }>
  /** A resumed session: the mode and model its log last records (only changes are logged again). */
  readonly loggedMode?: string
  readonly loggedModel?: string
  /** A resumed session whose last run was cut short (a crash): `continue()` goes on with it. */
  readonly interrupted?: InterruptedRun
  /**
   * Wraps the session's environment (the sandbox's) before any tool uses it: an editor frontend
   * routes file reads and writes through the editor's buffers, and commands to its terminals.
   */
  readonly wrapEnvironment?: (environment: Environment) => Environment
}

/** The session and tool call a subagent's session was started from. */
export interface SessionParent {
  readonly sessionId: string
  readonly toolCallId: string
  /** The subagent's agent type; its permission requests carry it. */
  readonly agentType?: string
}

export interface RunOptions {
  /** Aborts the run at once: the model call is cancelled, running tools are killed. */
  readonly signal?: AbortSignal
  /** Override `agent.maxTurns` for this run. */
  readonly maxTurns?: number
  /** Override `agent.maxTokens` for this run. */
  readonly maxTokens?: number
  /** Override `agent.maxCostUsd` for this run. */
  readonly maxCostUsd?: number
  /** Override `agent.timeoutMs` for this run. */
  readonly timeoutMs?: number
  /**
   * `provider:model` that answers when the session's model fails with an overload, rate-limit,
   * server or timeout error (after the provider's own retries): for the rest of the run.
   */
  readonly fallbackModel?: string
  /**
   * The run's id (its events' and log records' `runId`; default a new UUID): a durable run passes
   * its own, so the log says which runs of a session it started.
   */
  readonly runId?: string
  /**
   * What earlier runs of the same work spent (a durable run's runs before a stopping worker
   * handed it back): `maxTurns` and the budgets count it as well as this run's own calls, and a
   * limit's stop message names the limit and the totals. The run's own counters (its result, its
   * log's usage records) still start at 0.
   */
  readonly spentBefore?: SpentBefore
}

/** RunOptions.spentBefore: model calls, their usage and cost. */
export interface SpentBefore {
  readonly turns: number
  readonly usage: Usage
  readonly costUsd?: number
}

export interface AgentSession {
  readonly id: string
  readonly cwd: string
  /** `provider:model` this session calls. */
  readonly model: string
  /** Set for a subagent: the session and Task call that started it. */
  readonly parent: SessionParent | undefined
  /** Created with `streamEvents`: its runs emit `model-stream` events (subagents pass it on). */
  readonly streamEvents: boolean
  /**
   * The settings it was created with (`AgentSessionOptions.settings`, as given, not merged over
   * the config); undefined with none or with a `scope` of its own. The session log keeps them.
   */
  readonly settings: Readonly<Record<string, unknown>> | undefined
  /** The session's permissions service, when the permissions plugin is loaded (subagents pass its rules on). */
  readonly permissions: Permissions | undefined
  /** The conversation so far (a value: each change makes a new one). */
  readonly conversation: Conversation
  /** True while a run is going on. */
  readonly running: boolean
  /** The todo list (TodoWrite's state). */
  readonly todos: readonly Todo[]
  /**
   * The session's questions to the user, one at a time (the frontend's UserInteraction, with
   * fail-closed answers for what it leaves out). MCP asks the session whose call is in flight.
   */
  readonly interaction: SessionInteraction
  /**
   * Replaces the conversation (compaction). The next model call sends it; messages appended later
   * are numbered from its length.
   */
  replaceConversation(conversation: Conversation): void
  /**
   * Fires the preCompact hook (only the agent can): the instructions for a compaction summary,
   * after its taps added theirs.
   */
  compactInstructions(
    trigger: 'auto' | 'manual',
    instructions?: readonly string[],
  ): Promise<readonly string[]>
  /** The session's system prompt: built once, at the first call (or given in the options). */
  systemPrompt(): Promise<string>
  /**
   * Runs one prompt to its end and yields every event on the way; the last one is `result`.
   * Stopping the iteration early aborts the run.
   */
  run(prompt: string, options?: RunOptions): AsyncIterable<AgentEvent>
  /**
   * Goes on without a new user message, where the conversation waits for the model (a resumed
   * session whose run was interrupted: its counters and skill tool limit carry over). Throws
   * TAU_AGENT_NOTHING_TO_CONTINUE when the conversation ends with the model's answer.
   */
  continue(options?: RunOptions): AsyncIterable<AgentEvent>
  /** The next position in the session's one sequence (its events and log records share it). */
  nextSeq(): number
  /**
   * Shows the user a message (hook taps use it: a warning, a command hook's `systemMessage`): a
   * `notification` event in the running run's stream, then the `notification` hook. Without a
   * run going on there is no stream, and only the hook fires. Resolves after the hook's taps.
   */
  notify(level: 'info' | 'warn', message: string): Promise<void>
  /** Aborts a running run, fires sessionEnd, disposes the session scope it opened. Idempotent. */
  close(reason?: string): Promise<void>
}

export interface AgentRuntime {
  createSession(options?: AgentSessionOptions): AgentSession
  /** Sessions not closed yet. */
  sessions(): readonly AgentSession[]
}

export const agentRuntimeRef = defineService<AgentRuntime>('agent.runtime', {
  description: 'Creates agent sessions that run the agentic loop and yield its event stream.',
})
