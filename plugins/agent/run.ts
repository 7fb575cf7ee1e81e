/**
 * One run of the loop: the prompt, then model call -> tool calls -> results, until the model
 * stops calling tools or a limit is reached. Everything it does is an event on the channel;
 * nothing prints. It never throws: failures become an `error` event and an erroring `result`.
 */
import { randomUUID } from 'node:crypto'
import {
  type AssistantMessage,
  addUsage,
  collectStream,
  formatModelRef,
  isTauError,
  type Message,
  type ModelRef,
  type ModelRequest,
  type ModelResponse,
  type ToolCallPart,
  textOf,
  toolCallsOf,
  type Usage,
} from '../../kernel/index.js'
import { isContextLengthMessage, isProviderError } from '../providers/index.js'
import { untilAborted } from './abort.js'
import { costOf } from './cost.js'
import { AGENT_ERRORS, messageOf } from './errors.js'
import type { EventChannel } from './event-channel.js'
import type { AgentEvent, StopReason } from './events.js'
import type { CompactionInfo, CompactReason } from './hooks.js'
import type { InterruptedRun } from './log.js'
import { fallsBack, isContextLength, modelCallFailed, type PartialCall, relay } from './model-stream.js'
import type { EventBody, RunHost } from './run-host.js'
import { limitReached, type RunLimits, runLimits, STOP_ERRORS, stopMessage, ZERO } from './run-limits.js'
import type { RunOptions } from './runtime.js'
import { errorResult, runToolCalls, skillAllowedTools } from './tool-calls.js'

export type { EventBody, RunHost } from './run-host.js'

export class Run {
  /** The run's id, on its events and log records. */
  readonly id: string
  private readonly controller = new AbortController()
  private cause: 'aborted' | 'timeout' | undefined
  private readonly started = performance.now()
  /**
   * Set by a Skill tool result with `allowed-tools`: the only tools offered and allowed for the
   * rest of this run (plus Skill). A later skill can narrow it, never widen it.
   */
  private skillTools: Set<string> | undefined
  private turns = 0
  private usage: Usage = ZERO
  private costUsd: number | undefined
  private priced = false
  private lastText = ''
  /** Set when a preToolUse or postToolUse tap asked to stop the run: its reason. */
  private hookStop: string | undefined
  /** The plan ExitPlanMode saved in plan mode: the run ends with it, for the user to approve. */
  private plan: string | undefined
  private error: { code: string; message: string } | undefined
  private readonly cleanups: Array<() => void> = []
  /** maxTurns, maxTokens and maxCostUsd, with RunOptions.spentBefore. */
  private readonly limits: RunLimits
  finished = false

  private readonly timeoutMs: number | undefined
  /** RunOptions.fallbackModel, parsed; `usingFallback` once the primary model failed. */
  private readonly fallback: ModelRef | undefined
  private usingFallback = false

  /**
   * `prompt` undefined: `continue()` — no user message; the run goes on from the conversation as
   * it is, with the counters and skill limit of the interrupted run it `resumes`.
   */
  constructor(
    private readonly host: RunHost,
    private readonly prompt: string | undefined,
    options: RunOptions,
    private readonly channel: EventChannel<AgentEvent>,
    private readonly resumes?: InterruptedRun,
  ) {
    const { config } = host
    this.id = options.runId ?? randomUUID()
    this.limits = runLimits(options, config)
    const timeoutMs = options.timeoutMs ?? config.timeoutMs
    this.timeoutMs = timeoutMs
    this.fallback =
      options.fallbackModel === undefined ? undefined : host.providers.ref(options.fallbackModel)
    if (resumes) {
      this.turns = resumes.turns
      this.usage = resumes.usage
      if (resumes.costUsd !== undefined) this.costUsd = resumes.costUsd
      if (resumes.skillTools) this.skillTools = new Set(resumes.skillTools)
    }
    this.follow(options.signal)
    this.follow(host.kernelSignal)
    if (timeoutMs !== undefined) {
      const timer = setTimeout(() => this.abort('timeout'), timeoutMs)
      this.cleanups.push(() => clearTimeout(timer))
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Stops the run at once. */
  abort(cause: 'aborted' | 'timeout' = 'aborted'): void {
    if (this.controller.signal.aborted) return
    this.cause = cause
    this.controller.abort(new Error(cause === 'timeout' ? 'the run timed out' : 'the run was aborted'))
  }

  private follow(signal: AbortSignal | undefined): void {
    if (!signal) return
    if (signal.aborted) {
      this.abort()
      return
    }
    const onAbort = () => this.abort()
    signal.addEventListener('abort', onAbort, { once: true })
    this.cleanups.push(() => signal.removeEventListener('abort', onAbort))
  }

  private readonly emit = (event: EventBody): void => {
    const stamped = {
      ...event,
      sessionId: this.host.sessionId,
      seq: this.host.nextSeq(),
      eventId: randomUUID(),
      timestamp: Date.now(),
      runId: this.id,
    } as AgentEvent
    // A subagent's events reach the hook once, relayed by its parent's run.
    if (this.host.parent === undefined) this.observe(stamped)
    this.channel.push(stamped)
  }

  /** The `event` hook: observers never slow or break the loop. */
  private observe(event: AgentEvent): void {
    const hook = this.host.hooks.event
    if (hook.taps.length === 0) return
    try {
      hook.call(event)
    } catch (error) {
      this.host.logger.warn(`an event hook failed: ${messageOf(error)}`)
    }
  }

  /** The run's cost so far of each session whose usage a tool relayed (a subagent's). */
  private readonly relayedCost = new Map<string, number>()

  /**
   * An event a tool put into the stream (a subagent's, tagged with the Task call): as it is. Its
   * model calls count in this run's usage and cost, as Claude Code's totals include subagents.
   */
  private readonly relayToolEvent = (event: AgentEvent): void => {
    if (event.type === 'usage') {
      this.usage = addUsage(this.usage, event.usage)
      if (event.costUsd !== undefined) {
        const before = this.relayedCost.get(event.sessionId) ?? 0
        this.relayedCost.set(event.sessionId, event.costUsd)
        this.costUsd = (this.costUsd ?? 0) + (event.costUsd - before)
      }
    }
    if (this.host.parent === undefined) this.observe(event)
    this.channel.push(event)
  }

  /** Runs to the end; never rejects. */
  async execute(): Promise<void> {
    let stopReason: StopReason = 'error'
    try {
      stopReason = await this.loop()
    } catch (error) {
      stopReason = this.failed(error)
    } finally {
      try {
        await this.answerPending()
      } catch (error) {
        this.host.logger.warn(`recording the answers to pending tool calls failed: ${messageOf(error)}`)
      }
      for (const cleanup of this.cleanups) cleanup()
    }
    const code = STOP_ERRORS[stopReason]
    if (code && !this.error)
      this.error = { code, message: stopMessage(this.limits, stopReason, this.usage, this.costUsd) }
    const isError = stopReason !== 'end-turn'
    const durationMs = Math.round(performance.now() - this.started)
    try {
      await this.host.logState(this.id)
      await this.host.hooks.runEnd.promise({
        sessionId: this.host.sessionId,
        runId: this.id,
        stopReason,
        isError,
        turns: this.turns,
        usage: this.usage,
        ...(this.costUsd === undefined ? {} : { costUsd: this.costUsd }),
        durationMs,
        ...(isError && this.error ? { error: this.error } : {}),
      })
    } catch (error) {
      this.host.logger.warn(`a runEnd hook failed: ${messageOf(error)}`)
    }
    this.emit({
      type: 'result',
      stopReason,
      isError,
      text: this.lastText,
      turns: this.turns,
      usage: this.usage,
      ...(this.costUsd === undefined ? {} : { costUsd: this.costUsd }),
      durationMs,
      ...(isError && this.error ? { error: this.error } : {}),
    })
    this.finished = true
  }

  private async loop(): Promise<StopReason> {
    const { host } = this
    const { hooks } = host
    const { maxTurns, maxTokens, maxCostUsd } = this.limits
    await untilAborted(host.begin(this.emit), this.signal)
    await untilAborted(
      hooks.runStart.promise({
        sessionId: host.sessionId,
        runId: this.id,
        prompt: this.prompt,
        options: {
          maxTurns,
          ...(maxTokens === undefined ? {} : { maxTokens }),
          ...(maxCostUsd === undefined ? {} : { maxCostUsd }),
          ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
        },
        model: host.modelText,
        ...(this.resumes ? { resumes: this.resumes.runId } : {}),
        ...(host.parent ? { parent: host.parent } : {}),
      }),
      this.signal,
    )
    await untilAborted(host.logState(this.id), this.signal)
    if (this.prompt !== undefined) {
      this.emit({ type: 'user-prompt', prompt: this.prompt })
      const submission = await untilAborted(
        hooks.userPromptSubmit.promise({ sessionId: host.sessionId, prompt: this.prompt }),
        this.signal,
      )
      if (submission.blocked) {
        this.error = {
          code: AGENT_ERRORS.TAU_AGENT_PROMPT_BLOCKED,
          message: `the prompt was blocked: ${submission.blocked.reason}`,
        }
        return 'blocked'
      }
      const context = submission.additionalContext ?? []
      const text = [submission.prompt, ...context].join('\n\n')
      await host.append({ role: 'user', content: text })
    }
    const system = await untilAborted(host.systemPrompt(), this.signal)

    let continued = false
    for (;;) {
      const limit = this.limitReached()
      if (limit) return limit
      const response = await this.callModel(system)
      const calls = toolCallsOf(response.message)
      if (calls.length === 0) {
        const decision = await this.stopHook('end-turn', continued)
        if (decision) {
          continued = true
          await host.append({ role: 'user', content: decision })
          continue
        }
        return 'end-turn'
      }
      continued = false
      await this.runTools(calls)
      if (this.signal.aborted) return this.cause ?? 'aborted'
      if (this.hookStop !== undefined) {
        this.error = {
          code: AGENT_ERRORS.TAU_AGENT_HOOK_STOPPED,
          message: `a hook stopped the run: ${this.hookStop}`,
        }
        return 'hook-stopped'
      }
      if (this.plan !== undefined) {
        // In plan mode the turn ends at ExitPlanMode: the plan is the answer, to approve or send back.
        this.lastText = this.plan
        return 'end-turn'
      }
    }
  }

  private limitReached(): StopReason | undefined {
    if (this.signal.aborted) return this.cause ?? 'aborted'
    return limitReached(this.limits, this.turns, this.usage, this.costUsd)
  }

  private async callModel(system: string): Promise<ModelResponse> {
    this.turns++
    await this.compact('threshold')
    try {
      return await this.callOnce(system)
    } catch (error) {
      const fallback = this.fallback
      if (fallback === undefined || this.usingFallback || !fallsBack(error) || this.signal.aborted)
        throw error
      // The model is overloaded or failing (its retries spent): the fallback answers the rest of the run.
      this.usingFallback = true
      await this.notify(
        'warn',
        `${this.host.modelText} failed (${messageOf(error)}); the fallback model ${formatModelRef(fallback)} answers for the rest of this run`,
      )
      return await this.callOnce(system)
    }
  }

  private async callOnce(system: string): Promise<ModelResponse> {
    try {
      return await this.modelCall(system)
    } catch (error) {
      if (this.signal.aborted || !isContextLength(error)) throw error
      // The provider refused the request as too long: compact, then try the call once more.
      if (!(await this.compact('context-length'))) throw error
      return await this.modelCall(system)
    }
  }

  /** Asks the compact hook (the session plugin) to compact; emits what it did. */
  private async compact(reason: CompactReason): Promise<boolean> {
    const { host } = this
    let info: CompactionInfo | undefined
    try {
      info = await untilAborted(
        host.hooks.compact.promise({ sessionId: host.sessionId, reason, signal: this.signal }),
        this.signal,
      )
    } catch (error) {
      if (this.signal.aborted) throw error
      // Said once, by the notification (a frontend shows it; -p prints it on stderr): the run's
      // error then reports the refused call, so a summary refused as too long is not quoted again.
      const message = isContextLength(error)
        ? 'compaction failed: the summary request was too long for the model as well'
        : `compaction failed: ${messageOf(error)}`
      host.logger.debug(message)
      await this.notify('warn', message)
      return false
    }
    if (!info) return false
    this.emit({ type: 'compaction', ...info })
    return true
  }

  /** A Skill result with `allowed-tools` limits the rest of the run (intersected with any earlier limit). */
  private notePlan(display: unknown): void {
    if (this.host.permissions?.mode !== 'plan') return
    const plan = display as { type?: unknown; plan?: unknown } | undefined
    // Sent back with comments, the model revises the plan in this run (plugins/plan).
    const revise = (display as { approval?: { decision?: unknown } }).approval?.decision === 'revise'
    if (plan?.type === 'plan' && typeof plan.plan === 'string' && !revise) this.plan = plan.plan
  }

  private limitBySkill(display: unknown): void {
    const allowed = skillAllowedTools(display)
    if (!allowed) return
    const next = new Set([...allowed, 'Skill'])
    const previous = this.skillTools
    this.skillTools = previous ? new Set([...next].filter((name) => previous.has(name))) : next
    this.limitChanged = true
  }

  /** Set when a skill changed the tool limit during the turn: logged with the turn's results. */
  private limitChanged = false

  /** The system message of the run's requests: one object for every call. */
  private systemMessage: Message | undefined

  /**
   * The system message, then the conversation. `concat` makes the array at its size in one
   * copy; a spread into an array literal grows it as it goes (3.6 MB over 200 turns).
   */
  private requestMessages(system: string, conversation: readonly Message[]): Message[] {
    let head = this.systemMessage
    if (head?.content !== system) {
      head = { role: 'system', content: system }
      this.systemMessage = head
    }
    return [head].concat(conversation)
  }

  private async modelCall(system: string): Promise<ModelResponse> {
    const { host } = this
    const limit = this.skillTools
    const tools = limit
      ? host.toolDefinitions().filter((tool) => limit.has(tool.name))
      : host.toolDefinitions()
    const request: ModelRequest = {
      model: this.usingFallback && this.fallback ? this.fallback : host.modelRef,
      messages: this.requestMessages(system, host.conversation.messages),
      ...(tools.length > 0 ? { tools } : {}),
    }
    const call = await untilAborted(
      host.hooks.beforeModelCall.promise({
        sessionId: host.sessionId,
        runId: this.id,
        turn: this.turns,
        request,
      }),
      this.signal,
    )
    const callStarted = performance.now()
    const partial: PartialCall = { text: '' }
    let response: ModelResponse
    const streamed = host.streamEvents ? formatModelRef(call.request.model) : undefined
    if (streamed !== undefined)
      this.emit({ type: 'model-stream', model: streamed, event: { type: 'call-start' } })
    try {
      response = await collectStream(
        call.request.model,
        relay(
          host.providers.stream(call.request, { signal: this.signal }),
          partial,
          streamed,
          this.signal,
          this.emit,
        ),
      )
    } catch (error) {
      await modelCallFailed(
        host,
        { runId: this.id, turn: this.turns, signal: this.signal },
        call.request,
        error,
      )
      // Keep what the user already saw, so the conversation shows where it was cut.
      if (this.signal.aborted && partial.text !== '') {
        await host.append({
          role: 'assistant',
          content: [{ type: 'text', text: partial.text }],
        })
        this.lastText = partial.text
      }
      throw error
    }
    const message: AssistantMessage = response.message
    if (message.content.length > 0) await host.append(message)
    const text = textOf(message)
    if (text !== '') this.lastText = text
    this.emit({
      type: 'assistant-message',
      message,
      finishReason: response.finishReason,
      usage: response.usage,
      model: formatModelRef(response.model),
      durationMs: Math.round(performance.now() - callStarted),
      ...(partial.firstToken === undefined
        ? {}
        : { firstTokenMs: Math.round(partial.firstToken - callStarted) }),
      ...(response.id === undefined ? {} : { responseId: response.id }),
    })
    await this.account(response.usage)
    await host.hooks.afterModelCall.promise({
      ...call,
      response,
      ...(this.costUsd === undefined ? {} : { costUsd: this.costUsd }),
    })
    return response
  }

  private async account(usage: Usage): Promise<void> {
    this.usage = addUsage(this.usage, usage)
    const pricing = (await this.host.capabilities())?.pricing
    if (pricing) {
      this.costUsd = (this.costUsd ?? 0) + costOf(usage, pricing)
      this.priced = true
    } else if (this.limits.maxCostUsd !== undefined && !this.priced && this.turns === 1) {
      const message = `the cost budget is not enforced: no prices are known for ${this.host.modelText} (set providers.capabilities['${this.host.modelText}'].pricing)`
      await this.notify('warn', message)
    }
    this.emit({
      type: 'usage',
      usage,
      total: this.usage,
      ...(this.costUsd === undefined ? {} : { costUsd: this.costUsd }),
    })
  }

  private async runTools(calls: ToolCallPart[]): Promise<void> {
    const results = await runToolCalls(this.host, calls, {
      runId: this.id,
      signal: this.signal,
      emit: (event) => {
        if (event.type === 'tool-end' && event.result.isError !== true) {
          this.limitBySkill(event.display)
          this.notePlan(event.display)
        }
        this.emit(event)
      },
      relay: this.relayToolEvent,
      limit: () => this.skillTools,
      stop: (reason) => {
        this.hookStop ??= reason
      },
      stopped: () => this.hookStop,
    })
    if (this.limitChanged && this.skillTools) {
      this.limitChanged = false
      await this.host.record(this.id, [{ type: 'skill-limit', runId: this.id, tools: [...this.skillTools] }])
    }
    await this.host.append({ role: 'tool', content: results })
  }

  /** The stop hook: the reason to go on, or undefined. At most one continuation in a row. */
  private async stopHook(stopReason: StopReason, continued: boolean): Promise<string | undefined> {
    try {
      const decision = await untilAborted(
        this.host.hooks.stop.promise({
          sessionId: this.host.sessionId,
          stopReason,
          text: this.lastText,
          continued,
        }),
        this.signal,
      )
      if (!decision?.continue) return undefined
      if (continued) {
        this.host.logger.info('a stop hook asked to continue again right after a continuation; stopping')
        return undefined
      }
      return decision.reason
    } catch (error) {
      if (this.signal.aborted) throw error
      this.host.logger.warn(`a stop hook failed: ${messageOf(error)}`)
      return undefined
    }
  }

  /** A `notification` event, then the notification hook (whose failure is only logged). */
  async notify(level: 'info' | 'warn', message: string): Promise<void> {
    this.emit({ type: 'notification', level, message })
    await this.host.hooks.notification
      .promise({ sessionId: this.host.sessionId, level, message })
      .catch((error: unknown) => this.host.logger.warn(`a notification hook failed: ${messageOf(error)}`))
  }

  /** Turns a failure into the run's stop reason, with an `error` event for real failures. */
  private failed(error: unknown): StopReason {
    if (this.signal.aborted) return this.cause ?? 'aborted'
    let code: string = isTauError(error) ? error.code : AGENT_ERRORS.TAU_AGENT_FAILED
    let message = messageOf(error)
    if (isProviderError(error)) {
      // Reported as such (compaction and one retry came first, see callModel).
      if (error.kind !== 'context-length' && isContextLengthMessage(message))
        code = 'TAU_PROVIDER_CONTEXT_LENGTH'
      message = `the model call failed: ${message}`
    }
    this.host.logger.debug('run failed', { code, error: message })
    this.error = { code, message }
    this.emit({ type: 'error', code, message, fatal: true })
    return 'error'
  }

  /** Every tool call of the conversation gets a result, whatever stopped the run. */
  private async answerPending(): Promise<void> {
    const pending = this.host.conversation.pendingToolCalls()
    if (pending.length === 0) return
    await this.host.append({
      role: 'tool',
      content: pending.map((call) =>
        errorResult(call, 'Aborted: the run stopped before this tool call ran.'),
      ),
    })
  }
}
