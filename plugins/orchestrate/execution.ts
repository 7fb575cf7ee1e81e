/**
 * One attempt of one workflow run (the engine's Execution): runs the steps through the step
 * runner, keeps the typed state per workflow scope (restored from the steps an earlier attempt
 * completed), counts usage and cost against the budget (tokens, cost, time over every attempt),
 * runs agent steps through the hub, writes artefacts, and emits the workflow's own events.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { addUsage, isTauError, type Logger, TauError, type Usage } from '../../kernel/index.js'
import type { EventChannel } from '../agent/index.js'
import { Semaphore } from '../subagents/index.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import type { OrchestrateHooks } from './hooks.js'
import type { Hub } from './hub.js'
import type { WorkflowLog, WorkflowRecord } from './log.js'
import { errorOf, type StepOutcome, type StepRunner } from './step-runner.js'
import {
  type AgentRunRequest,
  type AgentRunResult,
  GateError,
  isWorkflow,
  type Schema,
  type Step,
  type StepContext,
  type Workflow,
  type WorkflowEvent,
  type WorkflowOwnEvent,
} from './workflow.js'

/** What an attempt of a run needs of the engine's dependencies. */
export interface ExecutionDeps {
  readonly hub: Hub
  readonly hooks: OrchestrateHooks
  readonly logger: Logger
  readonly cwd: string
  /** Workspace-relative folder of artefacts (agents' messages by reference). */
  readonly artefactsDir: string
}

export interface WorkflowOutcome {
  readonly runId: string
  readonly workflow: string
  readonly isError: boolean
  readonly output?: unknown
  readonly error?: { readonly code: string; readonly message: string }
  readonly usage: Usage
  readonly costUsd?: number
  readonly durationMs: number
}

const ZERO: Usage = { inputTokens: 0, outputTokens: 0 }

interface Scope {
  readonly schema: Schema<Record<string, unknown>> | undefined
  value: Record<string, unknown>
}

/** One attempt of one workflow run. */
export class Execution {
  private readonly runId: string
  private seq = 0
  private usage: Usage = ZERO
  private costUsd: number | undefined
  private readonly scopes = new Map<string, Scope>()
  private readonly restored = new Map<string, Record<string, unknown>>()
  private readonly signal: AbortSignal
  private readonly timeout: AbortController = new AbortController()
  /** ms the earlier attempts of this run took: the time budget spans them too. */
  private elapsedBefore = 0
  private readonly workers: Semaphore | undefined

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly workflow: Workflow,
    private readonly workflowLog: WorkflowLog,
    private readonly runner: StepRunner,
    private readonly queue: EventChannel<WorkflowEvent>,
    signal: AbortSignal | undefined,
  ) {
    this.signal = signal ? AbortSignal.any([signal, this.timeout.signal]) : this.timeout.signal
    this.runId = workflowLog.runId
    const max = workflow.budget?.maxWorkers
    this.workers = max ? new Semaphore(max) : undefined
  }

  /** Usage and state of the steps an earlier attempt completed. */
  restore(records: readonly WorkflowRecord[]): void {
    // Time of earlier attempts: each from its start (or resume) record to its last record (a
    // killed attempt's time after its last record is not known, so not counted).
    let attemptStart: number | undefined
    let attemptLast = 0
    for (const record of records) {
      if (record.type === 'start' || record.type === 'resume') {
        if (attemptStart !== undefined) this.elapsedBefore += attemptLast - attemptStart
        attemptStart = record.time
      }
      attemptLast = record.time
    }
    if (attemptStart !== undefined) this.elapsedBefore += attemptLast - attemptStart
    for (const record of records) {
      if (record.type === 'step-end') this.restoreOutcome(record.outcome)
    }
  }

  private restoreOutcome({ usage, costUsd, state }: StepOutcome): void {
    if (usage) this.usage = addUsage(this.usage, usage)
    if (costUsd !== undefined) this.costUsd = (this.costUsd ?? 0) + costUsd
    for (const [scope, patch] of Object.entries(state ?? {})) {
      this.restored.set(scope, { ...this.restored.get(scope), ...patch })
    }
  }

  async run(input: unknown, resumed: boolean): Promise<WorkflowOutcome> {
    const started = Date.now()
    const budget = this.workflow.budget
    const remaining = budget?.timeoutMs !== undefined ? budget.timeoutMs - this.elapsedBefore : undefined
    if (remaining !== undefined && remaining <= 0) this.timeout.abort(new Error('time budget'))
    const timer =
      remaining !== undefined && remaining > 0
        ? setTimeout(() => this.timeout.abort(new Error('time budget')), remaining)
        : undefined
    const name = this.workflow.name
    let outcome: WorkflowOutcome
    try {
      // Steps completed on another host (a durable runner's record): their state and usage.
      for (const outcome of (await this.runner.restore?.()) ?? []) this.restoreOutcome(outcome)
      await this.deps.hooks.workflowStart.promise({ runId: this.runId, workflow: name, input, resumed })
      this.emit({ type: 'workflow-start', workflow: name, input, resumed })
      const output = await this.runStep(this.workflow, input, name, undefined)
      outcome = this.outcome(started, { output })
      await this.log({ type: 'end', status: 'completed', output, usage: this.usage, ...this.cost() })
    } catch (caught) {
      const error = this.timeout.signal.aborted
        ? {
            code: ORCHESTRATE_ERRORS.TAU_WORKFLOW_BUDGET,
            message: `the workflow's time budget (${budget?.timeoutMs} ms) is used up`,
          }
        : errorOf(caught)
      outcome = this.outcome(started, { error })
      await this.log({ type: 'end', status: 'failed', error, usage: this.usage, ...this.cost() })
    } finally {
      clearTimeout(timer)
    }
    await this.deps.hooks.workflowEnd
      .promise({
        runId: this.runId,
        workflow: name,
        isError: outcome.isError,
        ...(outcome.error ? { error: outcome.error } : {}),
        usage: outcome.usage,
        ...(outcome.costUsd !== undefined ? { costUsd: outcome.costUsd } : {}),
        durationMs: outcome.durationMs,
      })
      .catch((error: unknown) => this.deps.logger.warn(`workflowEnd: ${errorOf(error).message}`))
    this.emit({
      type: 'workflow-end',
      workflow: name,
      isError: outcome.isError,
      ...(outcome.error ? { error: outcome.error } : { output: outcome.output }),
      usage: outcome.usage,
      ...(outcome.costUsd !== undefined ? { costUsd: outcome.costUsd } : {}),
      durationMs: outcome.durationMs,
    })
    return outcome
  }

  private outcome(
    started: number,
    result: { output?: unknown; error?: { code: string; message: string } },
  ): WorkflowOutcome {
    return {
      runId: this.runId,
      workflow: this.workflow.name,
      isError: result.error !== undefined,
      ...(result.error ? { error: result.error } : { output: result.output }),
      usage: this.usage,
      ...this.cost(),
      durationMs: Date.now() - started,
    }
  }

  private cost(): { costUsd?: number } {
    return this.costUsd !== undefined ? { costUsd: this.costUsd } : {}
  }

  private async log(record: Parameters<WorkflowLog['append']>[0]): Promise<void> {
    await this.workflowLog.append(record, { sync: true }).catch((error: unknown) => {
      this.deps.logger.warn(
        `could not record the end of workflow run ${this.runId}: ${errorOf(error).message}`,
      )
    })
  }

  private scopeOf(path: string, workflow: Workflow): Scope {
    let scope = this.scopes.get(path)
    if (!scope) {
      const schema = workflow.state as Schema<Record<string, unknown>> | undefined
      const initial = schema
        ? validate(schema, {}, path, 'state', ORCHESTRATE_ERRORS.TAU_WORKFLOW_INVALID)
        : {}
      const value = { ...initial, ...this.restored.get(path) }
      scope = { schema, value }
      this.scopes.set(path, scope)
    }
    return scope
  }

  async runStep(
    step: Step,
    rawInput: unknown,
    path: string,
    parentScope: string | undefined,
  ): Promise<unknown> {
    if (this.signal.aborted) throw this.abortError()
    const input = step.input
      ? validate(step.input, rawInput, path, 'input', ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED)
      : rawInput
    const scopeId = isWorkflow(step) ? path : (parentScope ?? path)
    const started = Date.now()
    const kind = step.kind
    const workflowName = isWorkflow(step) ? { workflow: step.name } : {}
    let ran = false
    try {
      const { outcome, replayed } = await this.runner.run(
        { runId: this.runId, step: path, kind, input },
        async (execution) => {
          ran = true
          await this.deps.hooks.stepStart.promise({ runId: this.runId, step: path, kind, ...workflowName })
          this.emit({ type: 'step-start', step: path, kind, input })
          const scope = isWorkflow(step) ? this.scopeOf(path, step) : this.scopeOf(scopeId, this.workflow)
          const patches: Record<string, Record<string, unknown>> = {}
          let usage: Usage = ZERO
          let costUsd: number | undefined
          const sessions: string[] = []
          const ctx: StepContext = {
            runId: this.runId,
            path,
            cwd: this.deps.cwd,
            signal: this.signal,
            get state() {
              return scope.value
            },
            update: (patch) => {
              const next = { ...scope.value, ...patch }
              scope.value = scope.schema
                ? validate(scope.schema, next, path, 'state', ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED)
                : next
              patches[scopeId] = { ...patches[scopeId], ...(patch as Record<string, unknown>) }
              this.emit({ type: 'state', scope: scopeId, state: scope.value })
            },
            run: <CI, CO>(child: Step<CI, CO>, childInput: CI, segment: string) =>
              this.runStep(child as Step, childInput, `${path}/${segment}`, scopeId) as Promise<CO>,
            runAgent: async (request) => {
              const result = await this.runAgent(request, path, execution)
              usage = addUsage(usage, result.usage)
              if (result.costUsd !== undefined) costUsd = (costUsd ?? 0) + result.costUsd
              sessions.push(...result.sessions)
              return result
            },
            writeArtefact: (name, text) => this.writeArtefact(name, text),
            notify: (message) =>
              this.emit({ type: 'workflow-notification', step: path, level: 'info', message }),
          }
          const output = await step.execute(input, ctx)
          const checked = step.output
            ? validate(step.output, output, path, 'output', ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED)
            : output
          const outcome: StepOutcome = {
            output: checked,
            ...(Object.keys(patches).length > 0 ? { state: patches } : {}),
            ...(usage.inputTokens + usage.outputTokens > 0 ? { usage } : {}),
            ...(costUsd !== undefined ? { costUsd } : {}),
            ...(sessions.length > 0 ? { sessions } : {}),
          }
          return outcome
        },
      )
      // What the step did to the workspace is in the next sessions' git facts.
      this.deps.hub.workspaceChanged(this.runId)
      this.emit({
        type: 'step-end',
        step: path,
        kind,
        output: outcome.output,
        replayed,
        durationMs: Date.now() - started,
      })
      if (ran)
        await this.deps.hooks.stepEnd.promise({
          runId: this.runId,
          step: path,
          kind,
          ...workflowName,
          isError: false,
          replayed,
        })
      return outcome.output
    } catch (caught) {
      const error = this.stepError(caught, path)
      this.deps.hub.workspaceChanged(this.runId)
      this.emit({
        type: 'step-end',
        step: path,
        kind,
        error: errorOf(error),
        replayed: false,
        durationMs: Date.now() - started,
      })
      if (ran) {
        await this.deps.hooks.stepEnd
          .promise({
            runId: this.runId,
            step: path,
            kind,
            ...workflowName,
            isError: true,
            error: errorOf(error),
            replayed: false,
          })
          .catch(() => undefined)
      }
      throw error
    }
  }

  private stepError(caught: unknown, path: string): TauError {
    if (isTauError(caught)) return caught
    if (caught instanceof GateError) {
      return new TauError(ORCHESTRATE_ERRORS.TAU_WORKFLOW_GATE, `step ${path}: ${caught.message}`, {
        plugin: 'orchestrate',
      })
    }
    if (this.signal.aborted) return this.abortError()
    const message = caught instanceof Error ? caught.message : String(caught)
    return new TauError(ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED, `step ${path} failed: ${message}`, {
      plugin: 'orchestrate',
      cause: caught,
    })
  }

  private abortError(): TauError {
    if (this.timeout.signal.aborted) {
      return new TauError(ORCHESTRATE_ERRORS.TAU_WORKFLOW_BUDGET, `the workflow's time budget is used up`, {
        plugin: 'orchestrate',
      })
    }
    return new TauError(ORCHESTRATE_ERRORS.TAU_WORKFLOW_STEP_FAILED, 'the workflow run was aborted', {
      plugin: 'orchestrate',
    })
  }

  private checkBudget(path: string): { maxTokens?: number; maxCostUsd?: number } {
    const budget = this.workflow.budget
    const used = this.usage.inputTokens + this.usage.outputTokens
    if (budget?.maxTokens !== undefined && used >= budget.maxTokens) {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_BUDGET,
        `step ${path}: the workflow's token budget (${budget.maxTokens}) is used up (${used} tokens)`,
        { plugin: 'orchestrate' },
      )
    }
    if (budget?.maxCostUsd !== undefined && (this.costUsd ?? 0) >= budget.maxCostUsd) {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_BUDGET,
        `step ${path}: the workflow's cost budget ($${budget.maxCostUsd}) is used up`,
        { plugin: 'orchestrate' },
      )
    }
    return {
      ...(budget?.maxTokens !== undefined ? { maxTokens: budget.maxTokens - used } : {}),
      ...(budget?.maxCostUsd !== undefined ? { maxCostUsd: budget.maxCostUsd - (this.costUsd ?? 0) } : {}),
    }
  }

  private async runAgent(
    request: AgentRunRequest,
    path: string,
    execution: Parameters<Parameters<StepRunner['run']>[1]>[0],
  ): Promise<AgentRunResult & { sessions: string[] }> {
    const release = await this.workers?.acquire(this.signal)
    try {
      const limits = this.checkBudget(path)
      const result = await this.deps.hub.run(request, {
        runId: this.runId,
        workflow: this.workflow.name,
        step: path,
        cwd: this.deps.cwd,
        signal: this.signal,
        execution,
        limits,
        emit: (event) => this.queue.push({ ...event, step: path, workflowRunId: this.runId }),
        started: (sessionId, agent) =>
          this.deps.hooks.stepSession.promise({ runId: this.runId, step: path, sessionId, agent }),
      })
      this.usage = addUsage(this.usage, result.usage)
      if (result.costUsd !== undefined) this.costUsd = (this.costUsd ?? 0) + result.costUsd
      return result
    } finally {
      release?.()
    }
  }

  private async writeArtefact(name: string, text: string): Promise<string> {
    const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'artefact'
    const file = join(this.deps.cwd, this.deps.artefactsDir, this.runId, safe)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, text)
    this.deps.hub.workspaceChanged(this.runId)
    return relative(this.deps.cwd, file)
  }

  private emit(
    event: DistributiveOmit<
      WorkflowOwnEvent,
      'runId' | 'sessionId' | 'workflowRunId' | 'seq' | 'eventId' | 'timestamp'
    >,
  ): void {
    this.queue.push({
      ...event,
      runId: this.runId,
      sessionId: this.runId,
      workflowRunId: this.runId,
      seq: this.seq++,
      eventId: randomUUID(),
      timestamp: Date.now(),
    } as WorkflowOwnEvent)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export function validate<T>(schema: Schema<T>, value: unknown, where: string, what: string, code: string): T {
  const checked = schema.safeParse(value)
  if (checked.success) return checked.data
  throw new TauError(code, `${what} of ${where} is not valid`, {
    plugin: 'orchestrate',
    details: checked.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
    ),
  })
}
