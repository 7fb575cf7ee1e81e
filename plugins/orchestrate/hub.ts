/**
 * The hub: named agents (orchestrate.agents, then the subagents catalog: subagents.agents,
 * .tau/agents/*.md, general-purpose), each run of one as its own agent session with its own
 * kernel scope (environment, permissions), the agent's model, tools and permission mode. An agent
 * step that must return data gets structured output: the JSON schema in its prompt, the answer
 * parsed and validated, asked again once in the same session when it does not fit.
 *
 * A step the process was killed in continues its session from the session's log (session
 * plugin's resume): an interrupted run goes on with `continue()`, a run that had ended gives its
 * last answer without a model call. Such a step's usage is its session's, from the log: the runs
 * that ended before (a structured retry's first answer, a run a stopping worker handed back
 * `aborted`), the interrupted run's counters, and what this attempt adds.
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { addUsage, type JsonSchema, type Session, TauError, textOf, type Usage } from '../../kernel/index.js'
import type { AgentEvent, AgentRuntime, AgentSession, RunOptions } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { SessionService, TranscriptRecord } from '../session/index.js'
import type { AgentDefinition, EnvironmentSettings } from '../subagents/index.js'
import type { ToolRegistry } from '../tools/index.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import type { GitSnapshots } from './git-snapshots.js'
import type { StepExecution } from './step-runner.js'
import type { AgentRunRequest, AgentRunResult, InlineAgent } from './workflow.js'

/**
 * A hub agent: the subagents' definition (one catalogue: its `permissionMode` and `environment`
 * say how its sessions run).
 */
export type HubAgent = AgentDefinition

export interface HubDeps {
  readonly agents: () => readonly HubAgent[]
  readonly runtime: () => AgentRuntime
  readonly registry: ToolRegistry
  readonly sessions: () => SessionService | undefined
  readonly openScope: (options: {
    id: string
    cwd: string
    settings?: Readonly<Record<string, unknown>>
  }) => Session
  /** Named environments (orchestrate.environments, then subagents.environments), for inline agents that name one. */
  readonly environments: () => Readonly<Record<string, EnvironmentSettings>>
  /** System-prompt sections of running hub sessions (the plugin's systemPrompt tap reads it). */
  readonly prompts: Map<string, string>
  /** JSON schemas of structured hub sessions (the plugin's beforeModelCall tap sets responseFormat). */
  readonly schemas: Map<string, JsonSchema>
  readonly defaultModel: () => string | undefined
  readonly defaultPermissionMode: PermissionMode | undefined
  /** The git facts of the run's sessions' system prompts (one `git status` per fan-out). */
  readonly git: GitSnapshots
}

export interface HubRun {
  readonly runId: string
  readonly workflow: string
  readonly step: string
  readonly cwd: string
  readonly signal: AbortSignal
  readonly execution: StepExecution
  readonly limits: Pick<RunOptions, 'maxTokens' | 'maxCostUsd'>
  emit(event: AgentEvent): void
  /** Fired before each session's run (telemetry nests its spans). */
  started(sessionId: string, agent: string): Promise<void>
}

const TASK_TOOL = 'Task'

export class Hub {
  constructor(private readonly deps: HubDeps) {}

  /** A step of the run ended or wrote an artefact: sessions that start now look at git again. */
  workspaceChanged(runId: string): void {
    this.deps.git.changed(runId)
  }

  list(): readonly HubAgent[] {
    return this.deps.agents()
  }

  resolve(agent: string | InlineAgent): HubAgent {
    if (typeof agent !== 'string') {
      return {
        name: agent.name ?? 'agent',
        description: 'inline agent',
        prompt: agent.prompt ?? '',
        source: 'inline',
        ...(agent.model ? { model: agent.model } : {}),
        ...(agent.tools ? { tools: agent.tools } : {}),
        ...(agent.permissionMode ? { permissionMode: agent.permissionMode } : {}),
        ...(agent.environment ? { environment: this.environmentOf(agent.environment) } : {}),
      }
    }
    const found = this.deps.agents().find((a) => a.name === agent)
    if (!found) {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_AGENT_NOT_FOUND,
        `there is no agent '${agent}'; the agents are: ${this.deps
          .agents()
          .map((a) => a.name)
          .join(', ')}`,
        { plugin: 'orchestrate' },
      )
    }
    return found
  }

  async run(request: AgentRunRequest, run: HubRun): Promise<AgentRunResult & { sessions: string[] }> {
    const definition = this.resolve(request.agent)
    const model = this.modelOf(definition, request.model)
    const schema = request.output
    const prompt = schema ? `${request.prompt}\n\n${structuredInstruction(schema)}` : request.prompt
    const session = await this.open(definition, model, run)
    if (schema) this.deps.schemas.set(session.agent.id, jsonSchemaOf(schema))
    // A resumed session: what its log says was spent before this attempt counts in the step.
    const before = session.spent
    let usage: Usage = before?.ended.usage ?? { inputTokens: 0, outputTokens: 0 }
    let costUsd: number | undefined = before?.ended.costUsd
    try {
      const first = await this.drive(
        session.agent,
        session.resumed ? undefined : prompt,
        before ? lessLimits(run, before.ended) : run,
        prompt,
      )
      usage = addUsage(usage, first.usage)
      costUsd = sumCost(costUsd, first.costUsd)
      // continue() carries the interrupted run's counters on; otherwise they are added here.
      if (before?.interrupted && !first.continued) {
        usage = addUsage(usage, before.interrupted.usage)
        costUsd = sumCost(costUsd, before.interrupted.costUsd)
      }
      let text = first.text
      let output: unknown = text
      if (schema) {
        let parsed = parseStructured(text, schema)
        if (!parsed.ok) {
          // Asked once more in the same session, with what was wrong.
          const retry = await this.drive(
            session.agent,
            `Your answer could not be used: ${parsed.error}\n\n${structuredInstruction(schema)}`,
            lessLimits(run, { usage, ...(costUsd !== undefined ? { costUsd } : {}) }),
            undefined,
          )
          usage = addUsage(usage, retry.usage)
          costUsd = sumCost(costUsd, retry.costUsd)
          text = retry.text
          parsed = parseStructured(text, schema)
          if (!parsed.ok) {
            throw new TauError(
              ORCHESTRATE_ERRORS.TAU_WORKFLOW_OUTPUT_INVALID,
              `the agent '${definition.name}' (step ${run.step}) did not answer with valid JSON, also when asked again: ${parsed.error}`,
              { plugin: 'orchestrate' },
            )
          }
        }
        output = parsed.value
      }
      return {
        text,
        output,
        sessionId: session.agent.id,
        stopReason: first.stopReason,
        usage,
        ...(costUsd !== undefined ? { costUsd } : {}),
        sessions: [session.agent.id],
      }
    } finally {
      this.deps.prompts.delete(session.agent.id)
      this.deps.schemas.delete(session.agent.id)
      await session.agent.close('workflow-step-done').catch(() => undefined)
      await session.scope.dispose().catch(() => undefined)
    }
  }

  private environmentOf(environment: string | EnvironmentSettings): EnvironmentSettings {
    if (typeof environment !== 'string') return environment
    const environments = this.deps.environments()
    const named = environments[environment]
    if (named) return named
    const known = Object.keys(environments)
    throw new TauError(
      ORCHESTRATE_ERRORS.TAU_WORKFLOW_INVALID,
      `an inline agent names the environment '${environment}', which neither orchestrate.environments nor subagents.environments defines (${known.length > 0 ? `it defines: ${known.join(', ')}` : 'it defines none'})`,
      { plugin: 'orchestrate' },
    )
  }

  private modelOf(definition: HubAgent, override: string | undefined): string {
    const model = override ?? definition.model
    if (model && model !== 'inherit') return model
    const fallback = this.deps.defaultModel()
    if (!fallback) {
      throw new TauError(
        'TAU_AGENT_NO_MODEL',
        `the agent '${definition.name}' has no model and none is configured`,
        {
          plugin: 'orchestrate',
        },
      )
    }
    return fallback
  }

  /** A new session for the step, or the interrupted one continued from its log. */
  private async open(
    definition: HubAgent,
    model: string,
    run: HubRun,
  ): Promise<{ agent: AgentSession; scope: Session; resumed: boolean; spent?: SpentBefore }> {
    const runtime = this.deps.runtime()
    const hidden = this.hiddenTools(definition)
    const permissionMode = definition.permissionMode ?? this.deps.defaultPermissionMode
    const gitFacts = (cwd: string, timeoutMs: number) => this.deps.git.get(run.runId, cwd, timeoutMs)
    const previous = run.execution.interruptedSessions.at(-1)
    const service = previous ? this.deps.sessions() : undefined
    if (previous && service) {
      const plan = await service.resume(previous).catch(() => undefined)
      if (plan) {
        const scope = this.deps.openScope({
          id: previous,
          cwd: plan.options.cwd,
          ...(definition.environment ? { settings: definition.environment } : {}),
        })
        this.deps.prompts.set(previous, this.systemSection(definition, run))
        const agent = runtime.createSession({
          ...plan.options,
          scope,
          disallowedTools: hidden,
          gitFacts,
          ...(permissionMode ? { permissionMode } : {}),
        })
        await run.started(previous, definition.name)
        const { records } = await service.store.read(previous)
        return {
          agent,
          scope,
          resumed: true,
          spent: spentBefore(records, plan.options.interrupted),
        }
      }
    }
    const id = randomUUID()
    await run.execution.recordSession(id)
    const scope = this.deps.openScope({
      id,
      cwd: run.cwd,
      ...(definition.environment ? { settings: definition.environment } : {}),
    })
    this.deps.prompts.set(id, this.systemSection(definition, run))
    const agent = runtime.createSession({
      id,
      cwd: run.cwd,
      model,
      scope,
      disallowedTools: hidden,
      gitFacts,
      ...(permissionMode ? { permissionMode } : {}),
    })
    await run.started(id, definition.name)
    return { agent, scope, resumed: false }
  }

  private hiddenTools(definition: HubAgent): string[] {
    const registered = this.deps.registry.list().map((t) => t.name)
    const wanted = definition.tools
      ? new Set(definition.tools.map((t) => t.replace(/\(.*$/s, '').trim()))
      : undefined
    return registered.filter((name) => (wanted ? !wanted.has(name) : name === TASK_TOOL))
  }

  private systemSection(definition: HubAgent, run: HubRun): string {
    return [
      `You are the '${definition.name}' agent in step '${run.step}' of the workflow '${run.workflow}'. Nobody can answer questions; your final answer is the step's result.`,
      definition.prompt,
    ]
      .filter((part) => part.trim() !== '')
      .join('\n\n')
  }

  /**
   * Runs a prompt (or continues an interrupted run: prompt undefined) and returns its result. A
   * resumed session whose last run had ended gives that run's answer without a model call.
   */
  private async drive(
    session: AgentSession,
    given: string | undefined,
    run: HubRun,
    original: string | undefined,
  ): Promise<{
    text: string
    usage: Usage
    costUsd?: number
    stopReason: AgentRunResult['stopReason']
    /** The interrupted run was continued (its counters are in `usage`). */
    continued: boolean
  }> {
    let prompt = given
    // Killed before the prompt reached the log: the resumed session starts with it.
    if (prompt === undefined && !session.conversation.messages.some((m) => m.role === 'user'))
      prompt = original
    if (prompt === undefined) {
      const last = session.conversation.last()
      if (last?.role === 'assistant' && !hasToolCalls(last)) {
        return {
          text: textOf(last),
          usage: { inputTokens: 0, outputTokens: 0 },
          stopReason: 'end-turn',
          continued: false,
        }
      }
    }
    const options: RunOptions = { signal: run.signal, ...run.limits }
    const events = prompt === undefined ? session.continue(options) : session.run(prompt, options)
    let result: Extract<AgentEvent, { type: 'result' }> | undefined
    for await (const event of events) {
      run.emit(event)
      if (event.type === 'result' && event.parentToolCallId === undefined) result = event
    }
    if (!result || result.isError) {
      const why = result?.error
        ? `${result.error.code}: ${result.error.message}`
        : (result?.stopReason ?? 'no result')
      const code =
        result?.stopReason === 'token-budget' || result?.stopReason === 'cost-budget'
          ? ORCHESTRATE_ERRORS.TAU_WORKFLOW_BUDGET
          : ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED
      throw new TauError(code, `the agent of step '${run.step}' failed (${why})`, { plugin: 'orchestrate' })
    }
    return {
      text: result.text,
      usage: result.usage,
      ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
      stopReason: result.stopReason,
      continued: prompt === undefined,
    }
  }
}

/** What a resumed step session's log says it spent before this attempt. */
interface SpentBefore {
  /** Its runs that ended: run-end counters (a structured retry's first run, a run handed back `aborted`). */
  readonly ended: { readonly usage: Usage; readonly costUsd?: number }
  /** The run it stopped in: continue() carries these counters on. */
  readonly interrupted?: { readonly usage: Usage; readonly costUsd?: number }
}

function spentBefore(
  records: readonly TranscriptRecord[],
  interrupted: { readonly usage: Usage; readonly costUsd?: number } | undefined,
): SpentBefore {
  let usage: Usage = { inputTokens: 0, outputTokens: 0 }
  let costUsd: number | undefined
  for (const record of records) {
    if (record.type !== 'run-end') continue
    usage = addUsage(usage, record.usage)
    costUsd = sumCost(costUsd, record.costUsd)
  }
  return {
    ended: { usage, ...(costUsd !== undefined ? { costUsd } : {}) },
    ...(interrupted ? { interrupted } : {}),
  }
}

/** The run's budget limits less what the step spent already (a run's own counters start at 0). */
function lessLimits(run: HubRun, spent: { readonly usage: Usage; readonly costUsd?: number }): HubRun {
  const { maxTokens, maxCostUsd } = run.limits
  if (maxTokens === undefined && maxCostUsd === undefined) return run
  const tokens = spent.usage.inputTokens + spent.usage.outputTokens
  return {
    ...run,
    emit: (event) => run.emit(event),
    started: (sessionId, agent) => run.started(sessionId, agent),
    limits: {
      ...(maxTokens !== undefined ? { maxTokens: Math.max(0, maxTokens - tokens) } : {}),
      ...(maxCostUsd !== undefined ? { maxCostUsd: Math.max(0, maxCostUsd - (spent.costUsd ?? 0)) } : {}),
    },
  }
}

function hasToolCalls(message: { content: unknown }): boolean {
  return (
    Array.isArray(message.content) &&
    message.content.some((p) => (p as { type?: string }).type === 'tool-call')
  )
}

function sumCost(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0)
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<
    string,
    unknown
  >
  return json
}

export function structuredInstruction(schema: z.ZodType): string {
  return `Answer with only a JSON value (no other text) that matches this JSON schema:\n${JSON.stringify(jsonSchemaOf(schema))}`
}

/** The JSON in an answer (a code fence or surrounding prose tolerated), validated. */
export function parseStructured<T>(
  text: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; error: string } {
  const candidate = jsonIn(text)
  if (candidate === undefined) return { ok: false, error: 'the answer holds no JSON value' }
  let data: unknown
  try {
    data = JSON.parse(candidate)
  } catch (error) {
    return { ok: false, error: `the answer is not valid JSON (${(error as Error).message})` }
  }
  const checked = schema.safeParse(data)
  if (checked.success) return { ok: true, value: checked.data }
  return {
    ok: false,
    error: checked.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
      .join('; '),
  }
}

function jsonIn(text: string): string | undefined {
  const fence = /```(?:json)?\s*\n([\s\S]*?)```/.exec(text)
  if (fence) return fence[1]!.trim()
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  const first = trimmed.search(/[[{]/)
  if (first < 0) return trimmed
  const close = trimmed[first] === '{' ? '}' : ']'
  const last = trimmed.lastIndexOf(close)
  return last > first ? trimmed.slice(first, last + 1) : trimmed.slice(first)
}
