/**
 * From agent hooks to command hooks and back: each agent hook runs the matching commands (in
 * parallel, identical commands once), with Claude Code's field names on stdin, and maps their
 * answers onto the agent hook's result.
 *
 * Fail closed where it decides something about security: for PreToolUse a command that prints
 * malformed output, or that hangs until its timeout, denies the call. Elsewhere such a command is
 * a non-blocking error, shown to the user (a `notification` event of the session's run, through
 * `AgentSession.notify`), as Claude Code shows it; so is a `systemMessage`.
 */
import { z } from 'zod'
import type { Logger } from '../../kernel/index.js'
import type {
  AgentSession,
  NotificationContext,
  PostToolUse,
  PostToolUseFailure,
  PreCompactContext,
  PreToolUse,
  PreToolUseDecision,
  PromptSubmission,
  SessionEndContext,
  SessionParent,
  SessionStartContext,
  StopContext,
  StopDecision,
  SystemPrompt,
} from '../agent/index.js'
import type { SubagentStart } from '../subagents/index.js'
import type { ToolOutput } from '../tools/index.js'
import type { HookEventName } from './config.js'
import { type HookOutcome, runHookCommand } from './runner.js'
import { type CommandHookEntry, describe } from './settings.js'

export interface DispatchDeps {
  readonly entries: readonly CommandHookEntry[]
  readonly logger: Logger
  readonly projectDir: string
  /** The working directory when a session's is not known. */
  readonly defaultCwd: string
  readonly env: Record<string, string>
  readonly killGraceMs: number
  readonly signal: AbortSignal
  /** The open agent session of an id: its permission mode, its parent (a subagent), notify(). */
  readonly session: (sessionId: string) => AgentSession | undefined
  /** The file a session's transcript is written to, when the session plugin writes one. */
  readonly transcriptPath: (sessionId: string) => string | undefined
}

const hookSpecific = z.looseObject({
  hookEventName: z.string().optional(),
  additionalContext: z.string().optional(),
})

const common = z.looseObject({
  continue: z.boolean().optional(),
  stopReason: z.string().optional(),
  suppressOutput: z.boolean().optional(),
  systemMessage: z.string().optional(),
  decision: z.literal('block').optional(),
  reason: z.string().optional(),
  hookSpecificOutput: hookSpecific.optional(),
})

const preToolUseOutput = common.extend({
  // `approve` / `block`: Claude Code's older top-level form, still read.
  decision: z.enum(['approve', 'block']).optional(),
  hookSpecificOutput: hookSpecific
    .extend({
      permissionDecision: z.enum(['allow', 'deny', 'ask']).optional(),
      permissionDecisionReason: z.string().optional(),
      updatedInput: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
})

const postToolUseOutput = common.extend({
  hookSpecificOutput: hookSpecific.extend({ updatedMCPToolOutput: z.unknown().optional() }).optional(),
})

/** What every event's output may hold; `decision` differs by event. */
interface Common {
  readonly continue?: boolean | undefined
  readonly stopReason?: string | undefined
  readonly systemMessage?: string | undefined
  readonly decision?: string | undefined
  readonly reason?: string | undefined
  readonly hookSpecificOutput?: { readonly additionalContext?: string | undefined } | undefined
}

/** One command's answer, checked against the event's output shape. */
type Answer<T> =
  | { readonly kind: 'json'; readonly entry: CommandHookEntry; readonly data: T }
  | { readonly kind: 'text'; readonly entry: CommandHookEntry; readonly text: string }
  | { readonly kind: 'block'; readonly entry: CommandHookEntry; readonly reason: string }
  | {
      readonly kind: 'failed'
      readonly entry: CommandHookEntry
      readonly message: string
      readonly timeout: boolean
    }

const RANK = { allow: 0, ask: 1, deny: 2 } as const

export class CommandHookDispatcher {
  private readonly cwds = new Map<string, string>()
  /** SessionStart (and, for a subagent, SubagentStart) context, added to the system prompt. */
  private readonly sessionContext = new Map<string, string[]>()
  /** PreToolUse additionalContext, added to the tool's result. */
  private readonly toolContext = new Map<string, string[]>()
  /** Each session's current run: the `prompt_id` of its events (a subagent's are its parent's prompt's). */
  private readonly promptIds = new Map<string, string>()

  constructor(private readonly deps: DispatchDeps) {}

  /** Which events have hooks (the others are not tapped at all). */
  has(event: HookEventName): boolean {
    return this.deps.entries.some((entry) => entry.event === event)
  }

  /** A run started: its id is the `prompt_id` of the events until the next one. */
  runStart(sessionId: string, runId: string): void {
    this.promptIds.set(sessionId, runId)
  }

  async sessionStart(context: SessionStartContext): Promise<void> {
    this.cwds.set(context.sessionId, context.cwd)
    const answers = await this.run('SessionStart', context.sessionId, context.source, common, {
      source: context.source,
      model: context.model,
    })
    // Plain stdout is context too, as Claude Code reads SessionStart's.
    await this.addSessionContext(context.sessionId, answers, context.sessionId, true)
  }

  /** A subagent is about to start (the subagents plugin's hook): its additionalContext goes to the child's system prompt. */
  async subagentStart(start: SubagentStart): Promise<void> {
    const answers = await this.run('SubagentStart', start.sessionId, start.agentType, common, {
      agent_id: start.agentSessionId,
      agent_type: start.agentType,
      prompt: start.prompt,
    })
    await this.addSessionContext(start.agentSessionId, answers, start.sessionId, false)
  }

  systemPrompt(prompt: SystemPrompt): SystemPrompt {
    const added = this.sessionContext.get(prompt.sessionId)
    if (!added) return prompt
    return {
      ...prompt,
      sections: [...prompt.sections, { id: 'command-hooks.session-start', text: added.join('\n\n') }],
    }
  }

  async userPromptSubmit(submission: PromptSubmission): Promise<PromptSubmission> {
    if (submission.blocked) return submission
    const answers = await this.run('UserPromptSubmit', submission.sessionId, undefined, common, {
      prompt: submission.prompt,
    })
    const context = [...(submission.additionalContext ?? [])]
    const blocks: string[] = []
    for (const answer of answers) {
      if (answer.kind === 'block') blocks.push(answer.reason)
      else if (answer.kind === 'text' && answer.text !== '') context.push(answer.text)
      else if (answer.kind === 'json') {
        const data = answer.data
        if (data.continue === false)
          blocks.push(data.stopReason ?? 'a UserPromptSubmit hook stopped the session')
        else if (data.decision === 'block')
          blocks.push(data.reason ?? 'a UserPromptSubmit hook blocked the prompt')
        else await this.showCommon(answer.entry, data, submission.sessionId, context)
      }
    }
    if (blocks.length > 0) return { ...submission, blocked: { reason: blocks.join('\n') } }
    return context.length === (submission.additionalContext?.length ?? 0)
      ? submission
      : { ...submission, additionalContext: context }
  }

  async preToolUse(call: PreToolUse): Promise<PreToolUseDecision | undefined> {
    const answers = await this.run('PreToolUse', call.sessionId, call.toolName, preToolUseOutput, {
      tool_name: call.toolName,
      tool_input: call.input,
      tool_use_id: call.toolCallId,
    })
    type Vote = { decision: keyof typeof RANK; reason?: string; updatedInput?: unknown }
    const votes: Vote[] = []
    const context: string[] = []
    const stops: string[] = []
    /** updatedInput without a permissionDecision: the permissions decide, with it. */
    const rewrites: Array<{ entry: CommandHookEntry; input: unknown }> = []
    for (const answer of answers) {
      const name = `the PreToolUse hook '${answer.entry.command}'`
      if (answer.kind === 'block') votes.push({ decision: 'deny', reason: answer.reason })
      else if (answer.kind === 'failed' && answer.timeout) {
        // A guard that did not answer never lets a call through.
        votes.push({ decision: 'deny', reason: `${name} ${answer.message}, so the call is denied` })
      } else if (answer.kind === 'failed' && answer.message.startsWith('malformed:')) {
        votes.push({
          decision: 'deny',
          reason: `${name} gave malformed output (${answer.message.slice(11)}), so the call is denied`,
        })
      } else if (answer.kind === 'text' && answer.text !== '') {
        votes.push({
          decision: 'deny',
          reason: `${name} printed text that is not a JSON decision, so the call is denied (a PreToolUse hook prints a JSON object or nothing on stdout; messages go to stderr)`,
        })
      } else if (answer.kind === 'json') {
        const data = answer.data
        const specific = data.hookSpecificOutput
        if (specific?.additionalContext) context.push(specific.additionalContext)
        if (data.systemMessage) await this.show(answer.entry, data.systemMessage, call.sessionId)
        if (data.continue === false) {
          // Stops the run; the call itself is denied with the reason.
          const reason = data.stopReason ?? `${name} stopped the run`
          votes.push({ decision: 'deny', reason })
          stops.push(reason)
          continue
        }
        const decision =
          specific?.permissionDecision ??
          (data.decision === 'approve' ? 'allow' : data.decision === 'block' ? 'deny' : undefined)
        const reason = specific?.permissionDecisionReason ?? data.reason
        if (decision) {
          votes.push({
            decision,
            ...(reason ? { reason } : {}),
            ...(specific?.updatedInput ? { updatedInput: specific.updatedInput } : {}),
          })
        } else if (specific?.updatedInput)
          rewrites.push({ entry: answer.entry, input: specific.updatedInput })
      }
    }
    if (votes.length === 0) {
      if (context.length > 0) this.toolContext.set(call.toolCallId, context)
      return rewrites[0] ? { updatedInput: rewrites[0].input } : undefined
    }
    // Another hook decided on the input as it was: a rewrite without a decision cannot join it.
    for (const rewrite of rewrites)
      await this.warn(
        rewrite.entry,
        'gave updatedInput without a permissionDecision while another PreToolUse hook decided the call; the rewrite is ignored',
        call.sessionId,
      )
    const worst = votes.reduce((a, b) => (RANK[b.decision] > RANK[a.decision] ? b : a))
    const same = votes.filter((vote) => vote.decision === worst.decision)
    const reasons = same.map((vote) => vote.reason).filter((r): r is string => r !== undefined && r !== '')
    const updatedInput =
      worst.decision === 'deny' ? undefined : same.find((v) => v.updatedInput)?.updatedInput
    if (worst.decision !== 'deny' && context.length > 0) this.toolContext.set(call.toolCallId, context)
    return {
      decision: worst.decision,
      ...(reasons.length > 0 ? { reason: reasons.join('\n') } : {}),
      ...(updatedInput === undefined ? {} : { updatedInput }),
      ...(stops.length > 0 ? { stop: { reason: stops.join('\n') } } : {}),
    }
  }

  async postToolUse(value: PostToolUse): Promise<PostToolUse> {
    const pending = this.toolContext.get(value.toolCallId) ?? []
    this.toolContext.delete(value.toolCallId)
    const answers = this.has('PostToolUse')
      ? await this.run('PostToolUse', value.sessionId, value.toolName, postToolUseOutput, {
          tool_name: value.toolName,
          tool_input: value.input,
          tool_response: toolResponse(value.toolName, value.output),
          tool_use_id: value.toolCallId,
          ...(value.durationMs === undefined ? {} : { duration_ms: value.durationMs }),
        })
      : []
    let content = value.output.content
    const added: string[] = pending.map((text) => `PreToolUse hook context: ${text}`)
    const stops: string[] = []
    for (const answer of answers) {
      if (answer.kind === 'block') added.push(`PostToolUse hook feedback: ${answer.reason}`)
      else if (answer.kind === 'json') {
        const data = answer.data
        if (data.systemMessage) await this.show(answer.entry, data.systemMessage, value.sessionId)
        if (data.continue === false) stops.push(data.stopReason ?? 'a PostToolUse hook stopped the run')
        if (data.decision === 'block') {
          added.push(
            `PostToolUse hook feedback: ${data.reason ?? 'a PostToolUse hook objected to this result'}`,
          )
        }
        const specific = data.hookSpecificOutput
        if (specific?.additionalContext) added.push(`PostToolUse hook context: ${specific.additionalContext}`)
        const replaced = specific?.updatedMCPToolOutput
        if (replaced !== undefined && value.toolName.startsWith('mcp__')) {
          content = [
            { type: 'text', text: typeof replaced === 'string' ? replaced : JSON.stringify(replaced) },
          ]
        }
      }
    }
    const stop = value.stop ?? (stops.length > 0 ? { reason: stops.join('\n') } : undefined)
    if (added.length === 0 && content === value.output.content && stop === value.stop) return value
    const output: ToolOutput =
      added.length === 0 && content === value.output.content
        ? value.output
        : {
            ...value.output,
            content: [...content, ...added.map((text) => ({ type: 'text' as const, text }))],
          }
    return { ...value, output, ...(stop ? { stop } : {}) }
  }

  async postToolUseFailure(value: PostToolUseFailure): Promise<void> {
    this.toolContext.delete(value.toolCallId)
    const answers = await this.run('PostToolUseFailure', value.sessionId, value.toolName, common, {
      tool_name: value.toolName,
      tool_input: value.input,
      tool_use_id: value.toolCallId,
      error: value.error,
      ...(value.durationMs === undefined ? {} : { duration_ms: value.durationMs }),
    })
    await this.showAll(answers, value.sessionId)
  }

  /** The model answered without tool calls: Stop hooks, or SubagentStop hooks in a subagent's session (as Claude Code). */
  async stop(context: StopContext): Promise<StopDecision | undefined> {
    const parent = this.deps.session(context.sessionId)?.parent
    if (parent) return this.subagentStop(context, parent)
    if (!this.has('Stop')) return undefined
    const answers = await this.run('Stop', context.sessionId, undefined, common, {
      stop_hook_active: context.continued,
      last_assistant_message: context.text,
    })
    return this.goOn(answers, context.sessionId, 'a Stop hook asked to go on')
  }

  /**
   * A subagent is about to stop: SubagentStop hooks (matched on the agent type) may make it go on.
   * `session_id` and `transcript_path` are the parent's, `agent_id` and `agent_transcript_path` the subagent's.
   */
  private async subagentStop(context: StopContext, parent: SessionParent): Promise<StopDecision | undefined> {
    const agentType = parent.agentType ?? ''
    const answers = await this.run('SubagentStop', parent.sessionId, agentType, common, {
      stop_hook_active: context.continued,
      agent_id: context.sessionId,
      agent_type: agentType,
      agent_transcript_path: this.deps.transcriptPath(context.sessionId) ?? '',
      last_assistant_message: context.text,
    })
    return this.goOn(answers, parent.sessionId, 'a SubagentStop hook asked to go on')
  }

  /** Stop and SubagentStop: exit 2 or decision block goes on with the reasons; continue: false stops. */
  private async goOn(
    answers: readonly Answer<Common>[],
    sessionId: string,
    fallback: string,
  ): Promise<StopDecision | undefined> {
    const reasons: string[] = []
    let halt = false
    for (const answer of answers) {
      if (answer.kind === 'block') reasons.push(answer.reason)
      else if (answer.kind === 'json') {
        if (answer.data.continue === false) halt = true
        else if (answer.data.decision === 'block') reasons.push(answer.data.reason ?? fallback)
        else await this.showCommon(answer.entry, answer.data, sessionId)
      }
    }
    if (halt || reasons.length === 0) return undefined
    return { continue: true, reason: reasons.join('\n') }
  }

  async preCompact(context: PreCompactContext): Promise<PreCompactContext> {
    const answers = await this.run('PreCompact', context.sessionId, context.trigger, common, {
      trigger: context.trigger,
      custom_instructions: context.instructions.join('\n'),
    })
    await this.showAll(answers, context.sessionId)
    return context
  }

  async notification(context: NotificationContext): Promise<void> {
    // Failures are logged in run(), never notified: a failing Notification hook must not feed itself.
    await this.run('Notification', context.sessionId, context.level, common, {
      message: context.message,
      notification_type: context.level,
    })
  }

  async sessionEnd(context: SessionEndContext): Promise<void> {
    try {
      const reason = sessionEndReason(context.reason)
      const answers = await this.run('SessionEnd', context.sessionId, reason, common, { reason })
      await this.showAll(answers, context.sessionId)
    } finally {
      this.promptIds.delete(context.sessionId)
      this.cwds.delete(context.sessionId)
      this.sessionContext.delete(context.sessionId)
    }
  }

  /**
   * SessionStart / SubagentStart answers: their additionalContext (and, with `text`, plain stdout)
   * becomes a system prompt section of `target`; they cannot block. Messages go to `shownIn`.
   */
  private async addSessionContext(
    target: string,
    answers: readonly Answer<Common>[],
    shownIn: string,
    text: boolean,
  ): Promise<void> {
    const added: string[] = []
    for (const answer of answers) {
      if (text && answer.kind === 'text' && answer.text !== '') added.push(answer.text)
      if (answer.kind === 'json') await this.showCommon(answer.entry, answer.data, shownIn, added)
      if (answer.kind === 'block')
        await this.warn(
          answer.entry,
          `blocked (exit 2), which ${answer.entry.event} ignores: ${answer.reason}`,
          shownIn,
        )
    }
    if (added.length > 0)
      this.sessionContext.set(target, [...(this.sessionContext.get(target) ?? []), ...added])
  }

  /** The fields every event's stdin starts with (Claude Code's), for the session an event is about. */
  private commonFields(event: HookEventName, sessionId: string): Record<string, unknown> {
    const session = this.deps.session(sessionId)
    const parent = session?.parent
    return {
      session_id: sessionId,
      transcript_path: this.deps.transcriptPath(sessionId) ?? '',
      cwd: this.cwdOf(sessionId),
      permission_mode: session?.permissions?.mode ?? 'default',
      hook_event_name: event,
      ...promptId(this.promptIds.get(parent?.sessionId ?? sessionId)),
      // Events inside a subagent's session say so, as Claude Code's do.
      ...(parent ? { agent_id: sessionId, agent_type: parent.agentType ?? '' } : {}),
    }
  }

  private cwdOf(sessionId: string): string {
    return this.cwds.get(sessionId) ?? this.deps.session(sessionId)?.cwd ?? this.deps.defaultCwd
  }

  /** Runs the matching commands of an event in parallel; each answer checked against `shape`. */
  private async run<T extends Common>(
    event: HookEventName,
    sessionId: string,
    matchOn: string | undefined,
    shape: z.ZodType<T>,
    fields: Record<string, unknown>,
  ): Promise<Answer<T>[]> {
    const seen = new Set<string>()
    const entries = this.deps.entries.filter((entry) => {
      if (entry.event !== event) return false
      if (matchOn !== undefined && !entry.matches(matchOn)) return false
      if (seen.has(entry.command)) return false
      seen.add(entry.command)
      return true
    })
    if (entries.length === 0) return []
    const cwd = this.cwdOf(sessionId)
    const input = { ...this.commonFields(event, sessionId), ...fields }
    return Promise.all(
      entries.map(async (entry): Promise<Answer<T>> => {
        const outcome: HookOutcome = await runHookCommand(entry.command, input, {
          cwd,
          env: this.deps.env,
          timeoutMs: entry.timeoutMs,
          killGraceMs: this.deps.killGraceMs,
          signal: this.deps.signal,
        })
        this.deps.logger.debug(`${event} hook ran`, { command: entry.command, outcome: outcome.kind })
        switch (outcome.kind) {
          case 'block':
            return { kind: 'block', entry, reason: outcome.reason }
          case 'error':
          case 'timeout':
            if (event !== 'PreToolUse' || outcome.kind === 'error')
              await this.warn(entry, outcome.message, sessionId)
            else await this.warn(entry, `${outcome.message}; the tool call is denied`, sessionId)
            return { kind: 'failed', entry, message: outcome.message, timeout: outcome.kind === 'timeout' }
          case 'malformed':
            await this.warn(entry, `gave malformed output: ${outcome.message}`, sessionId)
            return { kind: 'failed', entry, message: `malformed: ${outcome.message}`, timeout: false }
          case 'ok': {
            if (outcome.json === undefined) return { kind: 'text', entry, text: outcome.text }
            const checked = shape.safeParse(outcome.json)
            if (checked.success) return { kind: 'json', entry, data: checked.data }
            const issue = checked.error.issues[0]!
            const message = `${issue.path.map(String).join('.') || 'the output'}: ${issue.message}`
            await this.warn(entry, `gave malformed output: ${message}`, sessionId)
            return { kind: 'failed', entry, message: `malformed: ${message}`, timeout: false }
          }
        }
      }),
    )
  }

  /** Non-blocking results of events that decide nothing: exit 2 and failures are shown. */
  private async showAll(answers: readonly Answer<Common>[], sessionId: string): Promise<void> {
    for (const answer of answers) {
      if (answer.kind === 'block')
        await this.warn(answer.entry, `blocked (exit 2): ${answer.reason}`, sessionId)
      if (answer.kind === 'json') await this.showCommon(answer.entry, answer.data, sessionId)
    }
  }

  private async showCommon(
    entry: CommandHookEntry,
    data: Common,
    sessionId: string,
    context?: string[],
  ): Promise<void> {
    if (data.systemMessage) await this.show(entry, data.systemMessage, sessionId)
    const added = data.hookSpecificOutput?.additionalContext
    if (added && context) context.push(added)
  }

  /** A hook's `systemMessage`, shown to the user as it is. */
  private show(entry: CommandHookEntry, message: string, sessionId: string): Promise<void> {
    return this.tell(entry, sessionId, message, `${entry.event} hook: ${message}`)
  }

  /** A non-blocking error of a hook, shown to the user with where the hook is declared. */
  private warn(entry: CommandHookEntry, message: string, sessionId: string): Promise<void> {
    const text = `${entry.event} hook '${entry.command}' (${entry.field} in ${describe(entry.source)}) ${message}`
    return this.tell(entry, sessionId, text, text)
  }

  /**
   * A `notification` event of the session's run (and the notification hook), logged at debug; a
   * warning in the log when no open session can show it. A Notification hook's own messages are
   * only logged: notifying would run it again.
   */
  private async tell(
    entry: CommandHookEntry,
    sessionId: string,
    shown: string,
    logged: string,
  ): Promise<void> {
    const session = entry.event === 'Notification' ? undefined : this.deps.session(sessionId)
    if (!session) {
      this.deps.logger.warn(logged, { command: entry.command })
      return
    }
    this.deps.logger.debug(logged, { command: entry.command })
    await session.notify('warn', shown)
  }
}

const promptId = (id: string | undefined) => (id === undefined ? {} : { prompt_id: id })

/**
 * SessionEnd's `reason` in Claude Code's words: `clear` (/clear), `prompt_input_exit` (the user
 * or the -p run ended the session), `other` (tau stopped: a signal, the kernel's stop).
 */
export function sessionEndReason(reason: string): string {
  if (reason === 'clear') return 'clear'
  if (reason === 'exit') return 'prompt_input_exit'
  return 'other'
}

/**
 * What a PostToolUse command gets as `tool_response`: a built-in tool's structured result (the
 * shape Claude Code reports for its tools: Bash `{stdout, stderr, interrupted}`, Read
 * `{type, file}`, ...); else the result's text, and its data when it has any (an MCP tool).
 */
function toolResponse(toolName: string, output: ToolOutput): unknown {
  if (!toolName.startsWith('mcp__') && output.structured !== undefined) return output.structured
  const text = output.content
    .map((part) => (part.type === 'text' ? part.text : ''))
    .filter((t) => t !== '')
    .join('\n')
  return {
    content: text,
    ...(output.isError ? { is_error: true } : {}),
    ...(output.structured === undefined ? {} : { structured: output.structured }),
  }
}
