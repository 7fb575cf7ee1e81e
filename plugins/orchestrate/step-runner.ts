/**
 * The step-execution seam. Every step boundary of a workflow (an agent step, a function, a whole
 * chain or parallel block) goes through one `StepRunner.run()`: it runs the step at most once per
 * workflow run and records what it produced. The default runner (CheckpointRunner) keeps the
 * records in the workflow's JSONL log; a durable engine (plugins/durable-*) provides its own
 * runner on the same interface (e.g. a DBOS step per boundary) and nothing else changes.
 */
import type { Usage } from '../../kernel/index.js'
import type { WorkflowLog, WorkflowRecord } from './log.js'

export type StepKind =
  | 'agent'
  | 'fn'
  | 'gate'
  | 'chain'
  | 'route'
  | 'parallel'
  | 'vote'
  | 'orchestrate'
  | 'refine'
  | 'workflow'

/** One step boundary: where in the workflow, and with what input. */
export interface StepBoundary {
  /** The workflow run. */
  readonly runId: string
  /** The step's path in the workflow (`main/0`, `main/review/sections/security`): stable across runs. */
  readonly step: string
  readonly kind: StepKind
  readonly input: unknown
}

/** What a step produced: recorded at its end, handed back as-is when a resumed run meets it again. */
export interface StepOutcome<O = unknown> {
  readonly output: O
  /** State changes the step made, by state scope (a nested workflow has its own). */
  readonly state?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  /** Tokens and cost the step's own model calls used (not its child steps': they record theirs). */
  readonly usage?: Usage
  readonly costUsd?: number
  /** Agent sessions the step ran (their transcripts are the step's detail). */
  readonly sessions?: readonly string[]
}

/** Given to a step while it runs. */
export interface StepExecution {
  /**
   * Agent sessions an earlier, interrupted attempt of this step started (a kill mid-step): the
   * step continues them from their logs instead of starting afresh.
   */
  readonly interruptedSessions: readonly string[]
  /** Records that the step starts an agent session, before its first model call. */
  recordSession(sessionId: string): Promise<void>
}

export interface StepRun<O> {
  readonly outcome: StepOutcome<O>
  /** True when the outcome came from the record of an earlier attempt (the step did not run). */
  readonly replayed: boolean
}

export interface StepRunner {
  /**
   * Runs `execute` for the boundary unless the run already completed it (then its recorded
   * outcome is returned and nothing runs). A step that throws is recorded as failed and the
   * error rethrown; a failed step runs again when the workflow is resumed.
   */
  run<O>(
    boundary: StepBoundary,
    execute: (execution: StepExecution) => Promise<StepOutcome<O>>,
  ): Promise<StepRun<O>>
  /**
   * Optional: the outcomes of the steps earlier attempts of this run completed that the local
   * log does not have (a durable engine's record, when the run is recovered on another host).
   * Asked once before the first step; the run starts with their state and usage, as a resume from
   * the local log starts with its step-end records.
   */
  restore?(): Promise<readonly StepOutcome[]>
}

/** What a workflow log says about its steps, for a resumed run. */
export interface Checkpoints {
  readonly completed: ReadonlyMap<string, StepOutcome>
  /** Steps started and never ended, with the sessions they had started. */
  readonly interrupted: ReadonlyMap<string, readonly string[]>
}

export function checkpointsOf(records: readonly WorkflowRecord[]): Checkpoints {
  const completed = new Map<string, StepOutcome>()
  const open = new Map<string, string[]>()
  for (const record of records) {
    if (record.type === 'step-start') open.set(record.step, open.get(record.step) ?? [])
    else if (record.type === 'step-session') {
      const sessions = open.get(record.step) ?? []
      if (!sessions.includes(record.sessionId)) sessions.push(record.sessionId)
      open.set(record.step, sessions)
    } else if (record.type === 'step-end') {
      open.delete(record.step)
      completed.set(record.step, record.outcome)
    } else if (record.type === 'step-failed') {
      // A failed step starts afresh on resume; the sessions it had are kept for reading only.
      open.delete(record.step)
    }
  }
  return { completed, interrupted: open }
}

/** The default runner: checkpoints in the workflow's log; completed steps are never run twice. */
export class CheckpointRunner implements StepRunner {
  private readonly completed: Map<string, StepOutcome>
  private readonly interrupted: Map<string, readonly string[]>

  constructor(
    private readonly log: WorkflowLog,
    checkpoints: Checkpoints = { completed: new Map(), interrupted: new Map() },
  ) {
    this.completed = new Map(checkpoints.completed)
    this.interrupted = new Map(checkpoints.interrupted)
  }

  async run<O>(
    boundary: StepBoundary,
    execute: (execution: StepExecution) => Promise<StepOutcome<O>>,
  ): Promise<StepRun<O>> {
    const done = this.completed.get(boundary.step)
    if (done) return { outcome: done as StepOutcome<O>, replayed: true }
    const interruptedSessions = this.interrupted.get(boundary.step) ?? []
    this.interrupted.delete(boundary.step)
    await this.log.append({
      type: 'step-start',
      step: boundary.step,
      kind: boundary.kind,
      input: boundary.input,
    })
    let outcome: StepOutcome<O>
    try {
      outcome = await execute({
        interruptedSessions,
        recordSession: (sessionId) =>
          this.log.append({ type: 'step-session', step: boundary.step, sessionId }),
      })
    } catch (error) {
      await this.log
        .append({ type: 'step-failed', step: boundary.step, error: errorOf(error) })
        .catch(() => undefined)
      throw error
    }
    await this.log.append({ type: 'step-end', step: boundary.step, outcome }, { sync: true })
    this.completed.set(boundary.step, outcome)
    return { outcome, replayed: false }
  }
}

export function errorOf(error: unknown): { code: string; message: string } {
  if (error !== null && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown }
    return {
      code: typeof code === 'string' ? code : 'TAU_WORKFLOW_STEP_FAILED',
      message: typeof message === 'string' ? message : String(error),
    }
  }
  return { code: 'TAU_WORKFLOW_STEP_FAILED', message: String(error) }
}
