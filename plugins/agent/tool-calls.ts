/**
 * Running the tool calls of one model answer: look the tool up, check the arguments against its
 * schema, ask the preToolUse hooks and the permissions, run it with its context, let postToolUse
 * rewrite the result. Every call gets exactly one result, whatever happens — an unknown tool,
 * broken arguments, a denial, a throw, an abort — so the conversation stays valid.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Logger, ToolCallPart, ToolResultPart } from '../../kernel/index.js'
import type { PermissionDecision, Permissions } from '../permissions/index.js'
import type { Environment } from '../sandbox/index.js'
import type { Tool, ToolOutput, ToolRegistry, ToolState } from '../tools/index.js'
import { inputValidationError, issueLines, toOutput, toolUseError } from '../tools/index.js'
import { AbortedError, forEachLimited, untilAborted } from './abort.js'
import { messageOf } from './errors.js'
import type { AgentEvent, Todo } from './events.js'
import type { AgentHooks, PreToolUseDecision } from './hooks.js'
import type { SessionInteraction } from './interaction.js'
import type { LogEntry } from './log.js'
import { networkGate } from './network-asks.js'
import type { EventBody } from './run-host.js'
import type { AskPermission, PermissionAnswer, SessionParent } from './runtime.js'
import type { AgentToolContext, AgentToolLink } from './tool-link.js'

/** What the tool runner needs from its session. */
export interface ToolCallHost {
  readonly sessionId: string
  readonly hooks: AgentHooks
  readonly tools: ToolRegistry
  readonly logger: Logger
  readonly permissions: Permissions | undefined
  readonly environment: Environment
  readonly toolState: ToolState
  readonly askPermission: AskPermission | undefined
  readonly interaction: SessionInteraction
  /** Set for a subagent's session: its permission requests say so. */
  readonly parent: SessionParent | undefined
  /** Bare tool names allowed by the session's options (used only without a permissions service). */
  readonly allowedNames: ReadonlySet<string>
  /** Tools the model may not see or call in this session. */
  readonly hiddenTools: ReadonlySet<string>
  readonly parallelReadOnly: boolean
  readonly maxParallelTools: number
  /** Whether the session's model takes images. */
  vision(): Promise<boolean>
  /** The logger a tool gets. */
  toolLogger(name: string): Logger
  /** Runs permission prompts one at a time. */
  queueAsk<T>(fn: () => Promise<T>): Promise<T>
  /** Adds durable entries to the session's log (the record hook); resolves once they are stored. */
  record(runId: string, entries: readonly LogEntry[]): Promise<void>
}

type Emit = (event: EventBody) => void

/** What the tool runner needs from its run. */
export interface ToolRun {
  readonly runId: string
  readonly signal: AbortSignal
  /** The run's own events (stamped with the session's id). */
  readonly emit: Emit
  /** An event a tool put into the stream (a subagent's), already tagged; see AgentToolLink.emit. */
  readonly relay: (event: AgentEvent) => void
  /** The tools an active skill's `allowed-tools` leaves (read at each call); undefined: no limit. */
  readonly limit: () => ReadonlySet<string> | undefined
  /** A preToolUse or postToolUse tap asked to stop the run: no more calls run, no model call follows. */
  readonly stop: (reason: string) => void
  /** The reason a hook stopped the run, once one did. */
  readonly stopped: () => string | undefined
}

const ABORTED_TEXT =
  'Aborted: the run was interrupted before this tool call finished; it may have had partial effects.'

/** Runs the calls of one turn: read-only calls next to each other in parallel, the others in order. */
export async function runToolCalls(
  host: ToolCallHost,
  calls: readonly ToolCallPart[],
  run: ToolRun,
): Promise<ToolResultPart[]> {
  const { signal, emit } = run
  const results = new Map<string, ToolResultPart>()
  // With several calls in the turn, each result is logged as it comes, so a resume after a crash
  // keeps the finished ones (one call's result is in the tool message that follows at once).
  const several = calls.length > 1
  const one = async (call: ToolCallPart) => {
    const result = await runToolCall(host, call, run)
    results.set(call.id, result)
    if (several && !signal.aborted)
      await host.record(run.runId, [{ type: 'tool-result', runId: run.runId, result }])
  }
  for (const batch of batchesOf(host, calls)) {
    if (signal.aborted) break
    if (batch.length === 1) await one(batch[0]!)
    else await forEachLimited(batch, host.maxParallelTools, one)
  }
  // Calls that never started (the run was aborted) are answered too.
  return calls.map((call) => {
    const done = results.get(call.id)
    if (done) return done
    emit({ type: 'tool-start', id: call.id, name: call.name, input: call.input })
    const result = errorResult(call, ABORTED_TEXT)
    emit({ type: 'tool-end', id: call.id, name: call.name, result, durationMs: 0 })
    return result
  })
}

/** Consecutive read-only calls form one parallel batch; every other call is a batch of its own. */
function batchesOf(host: ToolCallHost, calls: readonly ToolCallPart[]): ToolCallPart[][] {
  const batches: ToolCallPart[][] = []
  let parallel: ToolCallPart[] | undefined
  for (const call of calls) {
    const tool = host.hiddenTools.has(call.name) ? undefined : host.tools.get(call.name)
    if (host.parallelReadOnly && tool?.annotations.readOnly === true) {
      if (!parallel) {
        parallel = []
        batches.push(parallel)
      }
      parallel.push(call)
    } else {
      parallel = undefined
      batches.push([call])
    }
  }
  return batches
}

export function errorResult(call: Pick<ToolCallPart, 'id' | 'name'>, text: string): ToolResultPart {
  return {
    type: 'tool-result',
    toolCallId: call.id,
    toolName: call.name,
    content: [{ type: 'text', text }],
    isError: true,
  }
}

/** Validates with the tool's Standard Schema; the issues, readable by the model, when it fails. */
async function validate(
  tool: Tool,
  input: unknown,
): Promise<
  { ok: true; value: unknown } | { ok: false; error: string; issues: readonly StandardSchemaV1.Issue[] }
> {
  let result = tool.input['~standard'].validate(input)
  if (result instanceof Promise) result = await result
  if (result.issues === undefined) return { ok: true, value: result.value }
  return { ok: false, error: formatIssues(result.issues), issues: result.issues }
}

function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((segment) => (typeof segment === 'object' ? segment.key : segment))
        .map(String)
        .join('.')
      return path === '' ? issue.message : `${path}: ${issue.message}`
    })
    .join('; ')
}

/** The rule "allow always" keeps: the tool with this call's target, or the bare tool name. */
export function suggestedRule(tool: Tool, input: unknown): string {
  let target: string | undefined
  try {
    target = tool.permissionTarget?.(input)
  } catch {
    target = undefined
  }
  return target === undefined || target === '' ? tool.name : `${tool.name}(${target})`
}

interface Verdict {
  behavior: 'allow' | 'deny'
  reason: string
  source: 'rule' | 'mode' | 'hook' | 'user' | 'headless'
  /** The rule that decided, and where it is written. */
  rule?: { text: string; scope: string; file?: string }
}

/** The log entry of a permission decision. */
function permissionEntry(runId: string, call: ToolCallPart, verdict: Verdict): LogEntry {
  return {
    type: 'permission',
    runId,
    toolCallId: call.id,
    tool: call.name,
    behavior: verdict.behavior,
    reason: verdict.reason,
    source: verdict.source,
    ...(verdict.rule ? { rule: verdict.rule } : {}),
  }
}

async function runToolCall(host: ToolCallHost, call: ToolCallPart, run: ToolRun): Promise<ToolResultPart> {
  const { signal, emit } = run
  const limit = run.limit()
  const started = performance.now()
  let ended = false
  emit({ type: 'tool-start', id: call.id, name: call.name, input: call.input })
  const finish = (result: ToolResultPart, display?: unknown): ToolResultPart => {
    ended = true
    emit({
      type: 'tool-end',
      id: call.id,
      name: call.name,
      result,
      ...(display === undefined ? {} : { display }),
      durationMs: Math.round(performance.now() - started),
    })
    const todos = todosOf(display)
    if (todos) emit({ type: 'todos', todos })
    return result
  }
  const fail = (text: string) => finish(errorResult(call, text))

  if (signal.aborted) return fail(ABORTED_TEXT)
  const halted = run.stopped()
  if (halted !== undefined) return fail(`Not run: a hook stopped the run (${halted}).`)
  const tool = host.hiddenTools.has(call.name) ? undefined : host.tools.get(call.name)
  if (!tool) {
    const names = host.tools
      .list()
      .map((t) => t.name)
      .filter((name) => !host.hiddenTools.has(name))
    // Claude Code's words first (scripts match them), then the tools there are.
    return fail(
      toolUseError(
        `Error: No such tool available: ${call.name}. There is no tool named '${call.name}' here. The tools you can call are: ${names.join(', ') || '(none)'}.`,
      ),
    )
  }
  if (limit && !limit.has(call.name)) {
    const reason = `the active skill allows only ${[...limit].join(', ')}`
    emit({
      type: 'permission-decision',
      id: call.id,
      name: call.name,
      behavior: 'deny',
      reason,
      source: 'rule',
    })
    await host.record(run.runId, [
      permissionEntry(run.runId, call, { behavior: 'deny', reason, source: 'rule' }),
    ])
    return fail(`Permission to use ${call.name} was denied: ${reason}`)
  }
  if (call.inputError !== undefined) {
    return fail(
      inputValidationError(call.name, [
        `The arguments for ${call.name} are not valid JSON (${call.inputError}). Call the tool again with its arguments as one JSON object that matches its input schema.`,
      ]),
    )
  }
  const checked = await validate(tool, call.input)
  if (!checked.ok) return fail(inputValidationError(call.name, issueLines(checked.issues)))
  let input = checked.value

  // A deny rule refuses the call before any preToolUse hook is asked (as in Claude Code: a
  // PreToolUse command never sees a call that cannot run).
  let verdict: Verdict | undefined = ruleDenial(host, tool, input)
  // preToolUse: the first tap that decides wins; a tap that throws denies.
  let decision: PreToolUseDecision | undefined
  if (!verdict) {
    try {
      decision =
        (await untilAborted(
          host.hooks.preToolUse.promise({
            sessionId: host.sessionId,
            toolName: call.name,
            toolCallId: call.id,
            input,
          }),
          signal,
        )) ?? undefined
    } catch (error) {
      if (error instanceof AbortedError) return fail(ABORTED_TEXT)
      host.logger.warn(`a preToolUse hook failed, so ${call.name} is denied: ${messageOf(error)}`)
      verdict = { behavior: 'deny', reason: `a preToolUse hook failed: ${messageOf(error)}`, source: 'hook' }
    }
  }
  if (!verdict && decision?.stop) {
    run.stop(decision.stop.reason)
    verdict = {
      behavior: 'deny',
      reason: `a preToolUse hook stopped the run: ${decision.stop.reason}`,
      source: 'hook',
    }
  }
  if (!verdict && decision?.updatedInput !== undefined) {
    const again = await validate(tool, decision.updatedInput)
    if (!again.ok) {
      verdict = {
        behavior: 'deny',
        reason: `a preToolUse hook rewrote the input into something invalid: ${again.error}`,
        source: 'hook',
      }
    } else input = again.value
  }

  if (!verdict) {
    try {
      verdict = await decide(host, tool, call, input, decision, signal, emit, run.runId)
    } catch (error) {
      if (error instanceof AbortedError) return fail(ABORTED_TEXT)
      verdict = {
        behavior: 'deny',
        reason: `the permission check failed: ${messageOf(error)}`,
        source: 'rule',
      }
    }
  }
  emit({
    type: 'permission-decision',
    id: call.id,
    name: call.name,
    behavior: verdict.behavior,
    reason: verdict.reason,
    source: verdict.source,
  })
  // The decision, and for an allowed call its intent, are stored before the tool runs: a resume
  // after a crash knows the call was in flight (and answers it, never runs it again).
  const entries: LogEntry[] = [permissionEntry(run.runId, call, verdict)]
  if (verdict.behavior === 'allow') {
    entries.push({
      type: 'tool-intent',
      runId: run.runId,
      toolCallId: call.id,
      name: call.name,
      ...(decision?.updatedInput === undefined ? {} : { input }),
    })
  }
  await host.record(run.runId, entries)
  if (verdict.behavior === 'deny') return fail(`Permission to use ${call.name} was denied: ${verdict.reason}`)
  if (signal.aborted) return fail(ABORTED_TEXT)

  let output: ToolOutput
  /** When the tool began to run: the hooks' `durationMs` is the tool's own time. */
  let executing = performance.now()
  const vision = await host.vision()
  const link: AgentToolLink = {
    emit: (event) => {
      // Only between this call's tool-start and tool-end: a child still ending after an abort stays out.
      if (ended || signal.aborted) return
      run.relay(event.parentToolCallId === undefined ? { ...event, parentToolCallId: call.id } : event)
    },
    askPermission: host.askPermission && queued(host, host.askPermission),
    interaction: host.interaction,
  }
  try {
    const context: AgentToolContext = {
      signal,
      env: host.environment,
      sessionId: host.sessionId,
      callId: call.id,
      state: host.toolState,
      progress: (message, data) => {
        if (signal.aborted) return
        emit({
          type: 'tool-progress',
          id: call.id,
          name: call.name,
          message,
          ...(data === undefined ? {} : { data }),
        })
      },
      logger: host.toolLogger(call.name),
      model: { vision },
      isDenied: host.permissions?.pathDenial?.(tool),
      askNetwork: networkGate(host, call, signal, host.parent?.toolCallId),
      askQuestions: (questions) =>
        host.interaction.askQuestions({ sessionId: host.sessionId, toolCallId: call.id, questions, signal }),
      agent: link,
    }
    executing = performance.now()
    const running = tool.execute(input, context)
    output = toOutput(await untilAborted(Promise.resolve(running), signal))
  } catch (error) {
    if (signal.aborted) return fail(ABORTED_TEXT)
    const message = messageOf(error)
    await host.hooks.postToolUseFailure
      .promise({
        sessionId: host.sessionId,
        toolName: call.name,
        toolCallId: call.id,
        input,
        error: message,
        durationMs: Math.round(performance.now() - executing),
      })
      .catch((hookError: unknown) =>
        host.logger.warn(`postToolUseFailure hook failed: ${messageOf(hookError)}`),
      )
    return fail(toolUseError(`Error: ${message}`))
  }

  try {
    const rewritten = await host.hooks.postToolUse.promise({
      sessionId: host.sessionId,
      toolName: call.name,
      toolCallId: call.id,
      input,
      output,
      durationMs: Math.round(performance.now() - executing),
    })
    output = rewritten.output
    if (rewritten.stop) run.stop(rewritten.stop.reason)
  } catch (error) {
    // A rewrite may be a redaction: when it fails, the model gets no unfiltered output.
    host.logger.warn(`a postToolUse hook failed; the result of ${call.name} is withheld: ${messageOf(error)}`)
    return fail(`Error: the result of ${call.name} was withheld because a postToolUse hook failed.`)
  }
  const result: ToolResultPart = {
    type: 'tool-result',
    toolCallId: call.id,
    toolName: call.name,
    content: output.content,
    ...(output.isError ? { isError: true } : {}),
    ...(output.structured === undefined ? {} : { structured: output.structured }),
  }
  return finish(result, output.display)
}

/** The session's askPermission, asked one question at a time with the session's own. */
function queued(host: ToolCallHost, ask: AskPermission): AskPermission {
  return (request) => host.queueAsk(() => untilAborted(ask(request), request.signal))
}

/** The verdict of a deny rule that covers the call, if one does (a throwing check is left to decide()). */
function ruleDenial(host: ToolCallHost, tool: Tool, input: unknown): Verdict | undefined {
  let verdict: PermissionDecision | undefined
  try {
    verdict = host.permissions?.ruleDenial?.(tool, input)
  } catch {
    return undefined
  }
  if (verdict?.behavior !== 'deny' || !verdict.rule) return undefined
  const { rule } = verdict
  return {
    behavior: 'deny',
    reason: verdict.reason,
    source: 'rule',
    rule: {
      text: rule.text,
      scope: rule.source.scope,
      ...(rule.source.file === undefined ? {} : { file: rule.source.file }),
    },
  }
}

/** Hook decision, then the permissions service (fail closed: ask without one), then the user. */
async function decide(
  host: ToolCallHost,
  tool: Tool,
  call: ToolCallPart,
  input: unknown,
  decision: PreToolUseDecision | undefined,
  signal: AbortSignal,
  emit: Emit,
  runId: string,
): Promise<Verdict> {
  let reason: string
  if (decision?.decision === 'deny') {
    return { behavior: 'deny', reason: decision.reason ?? 'a preToolUse hook denied it', source: 'hook' }
  }
  if (decision?.decision === 'allow') {
    return { behavior: 'allow', reason: decision.reason ?? 'a preToolUse hook allowed it', source: 'hook' }
  }
  if (decision?.decision === 'ask') reason = decision.reason ?? 'a preToolUse hook asks for approval'
  else if (host.permissions) {
    const verdict: PermissionDecision = host.permissions.decide(tool, input)
    const source = verdict.rule ? 'rule' : 'mode'
    const rule = verdict.rule && {
      text: verdict.rule.text,
      scope: verdict.rule.source.scope,
      ...(verdict.rule.source.file === undefined ? {} : { file: verdict.rule.source.file }),
    }
    if (verdict.behavior === 'allow' || verdict.behavior === 'deny')
      return { behavior: verdict.behavior, reason: verdict.reason, source, ...(rule ? { rule } : {}) }
    reason = verdict.reason
  } else if (host.allowedNames.has(tool.name)) {
    return { behavior: 'allow', reason: `${tool.name} is in the allowed tools`, source: 'rule' }
  } else {
    reason = 'no permissions service is loaded, so every tool call needs approval'
  }

  emit({ type: 'permission-request', id: call.id, name: call.name, input, reason })
  const ask = host.askPermission
  if (!ask) {
    return {
      behavior: 'deny',
      reason: `${reason}, and this run is non-interactive (headless), so nobody can approve it. Do the task without this call, or tell the user which permission rule (for example --allowed-tools '${suggestedRule(tool, input)}') would allow it.`,
      source: 'headless',
    }
  }
  const rule = suggestedRule(tool, input)
  const answer = normalize(
    await host.queueAsk(() =>
      untilAborted(
        ask({
          sessionId: host.sessionId,
          toolCallId: call.id,
          toolName: call.name,
          input,
          reason,
          suggestedRule: rule,
          signal,
          ...(host.parent ? { parentToolCallId: host.parent.toolCallId } : {}),
          ...(host.parent?.agentType === undefined ? {} : { agentType: host.parent.agentType }),
        }),
        signal,
      ),
    ),
  )
  if (answer.behavior === 'deny') {
    return { behavior: 'deny', reason: answer.reason ?? 'the user denied it', source: 'user' }
  }
  if (answer.behavior === 'allow-always') {
    const keep = answer.rule ?? rule
    try {
      if (host.permissions) {
        await host.permissions.addRule(keep, 'allow', { persist: 'local' })
        await host.record(runId, [{ type: 'rule', rule: keep, behavior: 'allow', persisted: 'local' }])
      }
    } catch (error) {
      host.logger.warn(`could not keep the rule '${keep}': ${messageOf(error)}`)
      emit({
        type: 'notification',
        level: 'warn',
        message: `could not keep the rule '${keep}': ${messageOf(error)}`,
      })
    }
    return { behavior: 'allow', reason: `the user allowed it from now on (${keep})`, source: 'user' }
  }
  return { behavior: 'allow', reason: answer.reason ?? 'the user allowed it', source: 'user' }
}

function normalize(answer: PermissionAnswer): Exclude<PermissionAnswer, string> {
  if (typeof answer === 'string') return { behavior: answer }
  if (answer && (answer.behavior === 'allow' || answer.behavior === 'allow-always')) return answer
  // Anything else (deny, or a malformed answer) denies.
  return answer?.behavior === 'deny' ? answer : { behavior: 'deny', reason: 'the answer was not understood' }
}

/**
 * The tool names a Skill tool result's `display` (`{ type: 'skill', allowedTools }`) allows, as
 * bare names (`Bash(git:*)` -> `Bash`); undefined when it is not a skill result or has no limit.
 */
export function skillAllowedTools(display: unknown): string[] | undefined {
  if (typeof display !== 'object' || display === null) return undefined
  const { type, allowedTools } = display as { type?: unknown; allowedTools?: unknown }
  if (type !== 'skill' || !Array.isArray(allowedTools)) return undefined
  return allowedTools
    .filter((entry): entry is string => typeof entry === 'string')
    .map((entry) => entry.replace(/\(.*$/s, '').trim())
    .filter((name) => name !== '')
}

function todosOf(display: unknown): readonly Todo[] | undefined {
  if (typeof display !== 'object' || display === null) return undefined
  const todos = (display as { todos?: unknown }).todos
  return Array.isArray(todos) ? (todos as Todo[]) : undefined
}
