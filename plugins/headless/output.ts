/**
 * What a headless run prints: the final text, one JSON result, or one JSON object a line in the
 * shapes of `claude -p --output-format stream-json` (system/init, assistant, user tool results,
 * result) where tau's concepts match Claude Code's.
 */
import { randomUUID } from 'node:crypto'
import type { AssistantMessage, FinishReason, ToolResultPart } from '../../kernel/index.js'
import type { AgentEvent, StopReason } from '../agent/index.js'
import { unwrapToolUseError } from '../tools/index.js'
import type { OutputFormat } from './args.js'
import { PartialMessages, wireUsage } from './partial-messages.js'

export { wireUsage }

type EventOf<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>

export const STOP_REASONS: Record<FinishReason, string | null> = {
  stop: 'end_turn',
  'tool-calls': 'tool_use',
  length: 'max_tokens',
  'content-filter': 'refusal',
  error: null,
  aborted: null,
}

/** Stops that end a run before its answer. */
const LIMITS: ReadonlySet<StopReason> = new Set(['max-turns', 'token-budget', 'cost-budget', 'timeout'])

export function resultSubtype(reason: StopReason): string {
  if (reason === 'end-turn') return 'success'
  if (reason === 'max-turns') return 'error_max_turns'
  if (reason === 'cost-budget') return 'error_max_budget_usd'
  return 'error_during_execution'
}

function contentBlocks(message: AssistantMessage): Array<Record<string, unknown>> {
  return message.content.map((part) => {
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text }
      case 'reasoning':
        return part.redacted
          ? { type: 'redacted_thinking', data: part.signature ?? '' }
          : { type: 'thinking', thinking: part.text, signature: part.signature ?? '' }
      default:
        return { type: 'tool_use', id: part.id, name: part.name, input: part.input }
    }
  })
}

function toolResultBlock(result: ToolResultPart): Record<string, unknown> {
  const only = result.content.length === 1 ? result.content[0] : undefined
  const content =
    only?.type === 'text'
      ? only.text
      : result.content.map((part) =>
          part.type === 'text'
            ? { type: 'text', text: part.text }
            : part.data !== undefined
              ? { type: 'image', source: { type: 'base64', media_type: part.mediaType, data: part.data } }
              : { type: 'image', source: { type: 'url', url: part.url ?? '' } },
        )
  return { type: 'tool_result', tool_use_id: result.toolCallId, content, is_error: result.isError === true }
}

/**
 * A user line's `tool_use_result`: the tool's structured result where it gives one (the shape
 * Claude Code reports for its tools), else the text the model got (an error as Claude Code
 * words it: `Error: ...`).
 */
function toolUseResult(result: ToolResultPart): unknown {
  if (result.structured !== undefined) return result.structured
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n')
  if (result.isError !== true) return text
  // Claude Code gives the error without its <tool_use_error> tags, and says Error: once.
  const inner = unwrapToolUseError(text)
  return /^(Error|InputValidationError): /.test(inner) ? inner : `Error: ${inner}`
}

/** What the init line reports from other plugins, read when the session starts. */
export interface InitInfo {
  /** Each MCP server and its status (`connected`, `failed`, `disabled`, ...), as Claude Code lists them. */
  readonly mcpServers?: () => Array<{ name: string; status: string }>
  /** --include-partial-messages: stream_event lines, Anthropic's stream events for every provider. */
  readonly partialMessages?: boolean
  /** A model's context window and largest answer (the result's modelUsage), looked up once per model. */
  readonly modelLimits?: (model: string) => Promise<ModelLimits | undefined>
  /** --json-schema: result events are kept back for the caller to check, then emitResult(). */
  readonly holdResults?: boolean
  /** The slash commands a prompt may start with (names without the slash). */
  readonly slashCommands?: readonly string[]
  /** The agent types the Task tool can start. */
  readonly agents?: readonly string[]
  /** The skills the Skill tool can load. */
  readonly skills?: readonly string[]
  /** Where the model's API key came from: the environment variable's name, the config key, or `none`. */
  readonly apiKeySource?: (model: string) => string
}

/** What the provider's model info or the configured capabilities say of a model's limits. */
export interface ModelLimits {
  readonly contextWindow?: number
  readonly maxOutputTokens?: number
}

/** One model's share of a run, in the shape of Claude Code's `modelUsage`. */
interface ModelUsage {
  inputTokens: number
  outputTokens: number
  cacheReadInputTokens: number
  cacheCreationInputTokens: number
  webSearchRequests: number
  costUSD: number
  contextWindow?: number
  maxOutputTokens?: number
}

export interface PermissionDenial {
  readonly tool_name: string
  readonly tool_use_id: string
  readonly tool_input: unknown
}

/**
 * Turns events into output lines; keeps what the final result needs. A subagent's events (those
 * with `parentToolCallId`) print as Claude Code prints them: its prompt as a user message, its
 * answers and tool results with `parent_tool_use_id` set to the Task call, every line with the
 * run's `session_id`; its session-start and result are not lines of their own.
 */
export class OutputWriter {
  private readonly inputs = new Map<string, unknown>()
  private readonly denials: PermissionDenial[] = []
  /** Each session's model: the run's own, and its subagents'. */
  private readonly models = new Map<string, string>()
  /** The run's own session (not a subagent's). */
  private sessionId: string | undefined
  result: EventOf<'result'> | undefined
  /** The run's last model answer's finish reason, for the result's stop_reason. */
  private lastFinish: FinishReason | undefined
  /** With json and --verbose: the lines so far, printed as one array at the end. */
  private readonly all: Array<Record<string, unknown>> = []
  /** Time spent in model calls, the subagents' included (duration_api_ms). */
  private apiMs = 0
  /** Tokens and cost per model, the subagents' included. */
  private readonly byModel = new Map<string, ModelUsage>()
  /** Each session's cost so far, to attribute a usage event's increase to its model. */
  private readonly sessionCost = new Map<string, number>()
  /** The model of each session's latest answer. */
  private readonly answeredBy = new Map<string, string>()
  /** --include-partial-messages: the message each session is streaming. */
  private readonly partial: PartialMessages | undefined
  /** Each model's limits, once looked up. */
  private readonly limits = new Map<string, ModelLimits>()
  /** Lookups of limits under way; a result waits for them (settled()). */
  private pending: Promise<unknown> = Promise.resolve()
  /** The run's first model call's time to first token. */
  private firstTokenMs: number | undefined
  /**
   * num_turns as Claude Code counts it: 1 for the prompt, then one per user message the run
   * adds — each tool call's result (one message each, also for calls run together) and each
   * message a Stop hook sent back. A subagent's do not count (its Task call's result does).
   */
  private turnCount = 1
  /** The run's latest answer called no tool: another answer means a Stop hook sent one back. */
  private answeredWithoutCalls = false
  /** --json-schema: a retry's turns add to its prompt's (Claude Code's retries are one query). */
  private carriedTurns = 0
  /** Each run's num_turns, set at its result. */
  private readonly numTurns = new Map<string, number>()

  constructor(
    private readonly format: OutputFormat,
    private readonly out: (text: string) => void,
    private readonly err: (text: string) => void,
    private readonly verbose: boolean,
    /** What the init line tells beyond the session: the MCP servers and their status. */
    private readonly init: InitInfo = {},
  ) {
    this.partial = init.partialMessages ? new PartialMessages() : undefined
  }

  /** Resolves once every result written so far is printed (they wait for the models' limits). */
  async settled(): Promise<void> {
    let seen: Promise<unknown> | undefined
    while (seen !== this.pending) {
      seen = this.pending
      await seen
    }
  }

  /** Starts the lookup of a model's limits, once, for the result's modelUsage. */
  private lookUpLimits(model: string): void {
    const lookup = this.init.modelLimits
    if (!lookup || this.format === 'text' || this.limits.has(model)) return
    this.limits.set(model, {})
    const found = lookup(model).then(
      (limits) => {
        if (limits) this.limits.set(model, limits)
      },
      () => undefined,
    )
    this.pending = Promise.all([this.pending, found])
  }

  write(event: AgentEvent): void {
    const child = event.parentToolCallId !== undefined
    const who = child ? 'tau: (subagent)' : 'tau:'
    switch (event.type) {
      case 'session-start':
        this.models.set(event.sessionId, event.model)
        this.lookUpLimits(event.model)
        if (child) break
        this.sessionId = event.sessionId
        this.line({
          type: 'system',
          subtype: 'init',
          cwd: event.cwd,
          session_id: event.sessionId,
          tools: event.tools,
          mcp_servers: this.init.mcpServers?.() ?? [],
          model: event.model,
          permissionMode: event.permissionMode,
          slash_commands: this.init.slashCommands ?? [],
          agents: this.init.agents ?? [],
          skills: this.init.skills ?? [],
          apiKeySource: this.init.apiKeySource?.(event.model) ?? 'none',
          output_style: 'default',
          uuid: randomUUID(),
        })
        break
      case 'model-stream':
        if (!this.partial) break
        for (const mapped of this.partial.map(event.sessionId, event.model, event.event)) {
          this.line({ type: 'stream_event', event: mapped, ...this.origin(event) })
        }
        break
      case 'user-prompt':
        // The run's own prompt is not echoed (as claude -p); a subagent's task is its first message.
        if (child) this.message(event, 'user', [{ type: 'text', text: event.prompt }])
        break
      case 'assistant-message': {
        if (!child) {
          this.lastFinish = event.finishReason
          const calls = event.message.content.filter((part) => part.type === 'tool-call').length
          this.turnCount += calls + (this.answeredWithoutCalls ? 1 : 0)
          this.answeredWithoutCalls = calls === 0
        }
        if (!child && this.firstTokenMs === undefined) this.firstTokenMs = event.firstTokenMs
        const model = event.model ?? this.models.get(event.sessionId) ?? ''
        this.lookUpLimits(model)
        this.apiMs += event.durationMs ?? 0
        // The id message_start announced, where the provider sent none.
        const streamedId = this.partial?.messageId(event.sessionId)
        if (this.partial) {
          const stop = STOP_REASONS[event.finishReason]
          for (const mapped of this.partial.finish(event.sessionId, stop, wireUsage(event.usage))) {
            this.line({ type: 'stream_event', event: mapped, ...this.origin(event) })
          }
        }
        this.answeredBy.set(event.sessionId, model)
        const counted = this.modelUsage(model)
        counted.inputTokens += wireUsage(event.usage).input_tokens ?? 0
        counted.outputTokens += event.usage.outputTokens
        counted.cacheReadInputTokens += event.usage.cacheReadTokens ?? 0
        counted.cacheCreationInputTokens += event.usage.cacheWriteTokens ?? 0
        this.line({
          type: 'assistant',
          message: {
            // The provider's id where it sent one (Anthropic's msg_...), else one made here.
            id: event.responseId ?? streamedId ?? `msg_${randomUUID().replaceAll('-', '')}`,
            type: 'message',
            role: 'assistant',
            model,
            content: contentBlocks(event.message),
            stop_reason: STOP_REASONS[event.finishReason],
            stop_sequence: null,
            usage: wireUsage(event.usage),
          },
          ...this.origin(event),
          // tau's: this model call's time to first token, ms.
          ...(event.firstTokenMs === undefined ? {} : { ttft_ms: event.firstTokenMs }),
        })
        break
      }
      case 'usage': {
        // costUsd is the session's total so far; its increase is this call's, of the model that answered.
        if (event.costUsd === undefined) break
        const before = this.sessionCost.get(event.sessionId) ?? 0
        this.sessionCost.set(event.sessionId, event.costUsd)
        const model = this.answeredBy.get(event.sessionId)
        if (model !== undefined) this.modelUsage(model).costUSD += Math.max(0, event.costUsd - before)
        break
      }
      case 'tool-start':
        this.inputs.set(callKey(event), event.input)
        if (this.verbose) this.err(`${who} ${event.name} ${brief(event.input)}\n`)
        break
      case 'tool-end':
        if (this.verbose) {
          const status = event.result.isError ? 'error' : 'ok'
          this.err(`${who} ${event.name} ${status} in ${event.durationMs} ms\n`)
        }
        this.message(event, 'user', [toolResultBlock(event.result)], {
          tool_use_result: toolUseResult(event.result),
        })
        break
      case 'permission-decision':
        if (event.behavior === 'deny') {
          this.denials.push({
            tool_name: event.name,
            tool_use_id: event.id,
            tool_input: this.inputs.get(callKey(event)),
          })
          if (this.verbose) this.err(`${who} ${event.name} denied (${event.source}): ${event.reason}\n`)
        }
        break
      case 'notification':
        if (this.verbose || event.level === 'warn') this.err(`${who} ${event.level}: ${event.message}\n`)
        break
      case 'error':
        if (this.verbose) this.err(`${who} error ${event.code}: ${event.message}\n`)
        break
      case 'result':
        // A subagent's result is its Task call's tool result, already printed.
        if (child) break
        this.result = event
        this.countTurns(event)
        if (this.init.holdResults) break
        // After the lookups of the models' limits (modelUsage's contextWindow).
        this.pending = this.pending.then(() => this.emitResult(event))
        break
      default:
        break
    }
  }

  /**
   * A run's num_turns. A --max-turns stop is Claude Code's count of the turn it refused to start:
   * the limit plus one (its loop counts model calls from 1 and stops when the next would pass it).
   */
  private countTurns(event: EventOf<'result'>): void {
    const own = event.stopReason === 'max-turns' ? event.turns + 1 : this.turnCount
    const total = this.carriedTurns + own
    this.numTurns.set(event.runId, total)
    this.turnCount = 1
    this.answeredWithoutCalls = false
    if (this.init.holdResults) this.carriedTurns = total
  }

  /** A new user turn (a prompt, a stream-json user line): --json-schema's carried count starts again. */
  beginPrompt(): void {
    this.carriedTurns = 0
  }

  /** Prints a result (with --json-schema, once checked): `extra` adds fields such as structured_output. */
  emitResult(event: EventOf<'result'>, extra: Record<string, unknown> = {}): void {
    this.result = event
    if (this.format === 'text') {
      if (!event.isError) this.out(event.text.endsWith('\n') ? event.text : `${event.text}\n`)
    } else this.line({ ...this.resultObject(event), ...extra }, true)
    if (event.isError) this.err(`tau: ${event.error?.message ?? event.stopReason}\n`)
  }

  /** --replay-user-messages: a user line read from stdin, echoed with the session's id. */
  replayUser(message: Record<string, unknown>, sessionId: string): void {
    this.line({
      type: 'user',
      message,
      parent_tool_use_id: null,
      session_id: sessionId,
      uuid: randomUUID(),
      isReplay: true,
    })
  }

  /** A user message line (a tool result, a subagent's prompt). */
  private message(
    event: AgentEvent,
    role: 'user',
    content: Array<Record<string, unknown>>,
    extra: Record<string, unknown> = {},
  ): void {
    this.line({ type: 'user', message: { role, content }, ...this.origin(event), ...extra })
  }

  private modelUsage(model: string): ModelUsage {
    let usage = this.byModel.get(model)
    if (!usage) {
      usage = {
        inputTokens: 0,
        outputTokens: 0,
        cacheReadInputTokens: 0,
        cacheCreationInputTokens: 0,
        webSearchRequests: 0,
        costUSD: 0,
      }
      this.byModel.set(model, usage)
    }
    return usage
  }

  /** Where a message line comes from: the Task call of a subagent's, and the run's session. */
  private origin(event: AgentEvent): Record<string, unknown> {
    return {
      parent_tool_use_id: event.parentToolCallId ?? null,
      session_id: this.sessionId ?? event.sessionId,
      uuid: randomUUID(),
    }
  }

  /** The result in Claude Code's shape, with tau's stop reason and error code alongside. */
  resultObject(event: EventOf<'result'>): Record<string, unknown> {
    return {
      type: 'result',
      subtype: resultSubtype(event.stopReason),
      is_error: event.isError,
      duration_ms: event.durationMs,
      duration_api_ms: this.apiMs,
      // tau's: the run's first model call's time to first token, ms (null: no token came).
      ttft_ms: this.firstTokenMs ?? null,
      num_turns: this.numTurns.get(event.runId) ?? event.turns,
      // A run a limit stopped has no answer (as Claude Code); why it stopped is terminal_reason.
      result: LIMITS.has(event.stopReason) ? null : event.text,
      stop_reason: this.lastFinish === undefined ? null : STOP_REASONS[this.lastFinish],
      ...(event.stopReason === 'end-turn' ? {} : { terminal_reason: event.stopReason }),
      session_id: event.sessionId,
      total_cost_usd: event.costUsd ?? 0,
      usage: wireUsage(event.usage),
      modelUsage: Object.fromEntries(
        [...this.byModel].map(([model, usage]) => [model, { ...usage, ...this.limits.get(model) }]),
      ),
      permission_denials: this.denials,
      ...(event.error ? { errors: [event.error.message], error: event.error } : {}),
      uuid: randomUUID(),
    }
  }

  /**
   * A call refused outside the permission check (AskUserQuestion nobody answered): listed in
   * the result's permission_denials, as Claude Code lists it, with the input its tool-start had.
   */
  denied(sessionId: string, toolCallId: string, name: string, reason: string): void {
    const key = callKey({ sessionId, id: toolCallId })
    this.denials.push({ tool_name: name, tool_use_id: toolCallId, tool_input: this.inputs.get(key) })
    const who = this.sessionId !== undefined && sessionId !== this.sessionId ? 'tau: (subagent)' : 'tau:'
    if (this.verbose) this.err(`${who} ${name} denied (not answered): ${reason}\n`)
  }

  /** A failure before any run (no model, a bad flag): the same result shape, as an error. */
  failure(code: string, message: string, sessionId = ''): void {
    this.err(`tau: ${message}\n`)
    if (this.format === 'text') return
    this.out(
      `${JSON.stringify({
        type: 'result',
        subtype: 'error_during_execution',
        is_error: true,
        duration_ms: 0,
        duration_api_ms: 0,
        num_turns: 0,
        result: '',
        stop_reason: 'error',
        session_id: sessionId,
        total_cost_usd: 0,
        usage: wireUsage({ inputTokens: 0, outputTokens: 0 }),
        modelUsage: {},
        permission_denials: [],
        errors: [message],
        error: { code, message },
        uuid: randomUUID(),
      })}\n`,
    )
  }

  private line(value: Record<string, unknown>, final = false): void {
    if (this.format === 'stream-json') this.out(`${JSON.stringify(value)}\n`)
    else if (this.format === 'json' && this.verbose) {
      // --output-format json --verbose: every message, printed as one array with the result.
      this.all.push(value)
      if (final) this.out(`${JSON.stringify(this.all)}\n`)
    } else if (final && this.format === 'json') this.out(`${JSON.stringify(value)}\n`)
  }
}

/** Tool call ids are unique within a session; a subagent's may repeat its parent's. */
const callKey = (event: { sessionId: string; id: string }) => `${event.sessionId}:${event.id}`

function brief(input: unknown): string {
  const text = JSON.stringify(input) ?? ''
  return text.length > 200 ? `${text.slice(0, 200)}...` : text
}
