/**
 * A workflow of plugins/orchestrate as a durable DBOS workflow: its step boundaries go through
 * orchestrate's StepRunner seam to DbosStepRunner, which makes them DBOS steps. When a worker
 * dies, another worker's DBOS re-runs the workflow function: the DBOS steps it completed hand back
 * their recorded outcomes without running (no model call, no tool call), and the step that was
 * running starts again, continuing the agent sessions it had started from their logs in
 * PostgreSQL (a tool call with a logged result is not run again).
 *
 * Which boundaries are DBOS steps. DBOS keys a step by its position in the workflow (the n-th
 * step call), not by name, so the order of step calls must be the same in every execution.
 * Leaf boundaries (`agent`, `fn`, `gate`) are DBOS steps; a combinator (`chain`, `route`,
 * `refine`, a nested `workflow`) is not: it runs in the workflow and its children are the steps,
 * called one after the other. A fan-out (`parallel`, `vote`, `orchestrate`) starts its branches in
 * order, but a branch with several steps would call its second one whenever its first ends, in an
 * order that depends on timing; so each branch of a fan-out is one DBOS step, started in order,
 * and what runs inside a DBOS step (DBOS does not nest steps) is checkpointed by path in
 * `tau_workflow_checkpoints`. The sessions each step starts are kept there too. DBOS names each
 * step by its path, so an execution that called steps in another order fails DBOS's name check
 * (DBOSUnexpectedStepError) instead of handing one step another's outcome.
 *
 * State and usage. orchestrate starts a resumed run with the state patches and usage of the steps
 * its local log says completed; a run recovered on another host has no such log. So every
 * outcome (those of DBOS steps too) is also recorded by path in `tau_workflow_checkpoints`, and
 * the runner's `restore()` hands them to orchestrate before the first step: the budget and the
 * state are then those of an uninterrupted run.
 */
import type { Logger, Usage } from '../../kernel/index.js'
import {
  CheckpointRunner,
  type Orchestrator,
  type StepBoundary,
  type StepExecution,
  type StepKind,
  type StepOutcome,
  type StepRun,
  type StepRunner,
  type WorkflowLog,
  type WorkflowOutcome,
} from '../orchestrate/index.js'
import type { TranscriptStore } from '../session/index.js'
import type { PgQueryable } from '../session-postgres/index.js'
import { endAnsweredRun, waitForLease } from './runner.js'

/** The DBOS statics the runner uses (the SDK is an optional peer: its type only). */
export interface DbosSteps {
  runStep<R>(fn: () => Promise<R>, config: { readonly name: string }): Promise<R>
  isInStep(): boolean
  readonly workflowID: string | undefined
  /** Inside a DBOS step: fires when `tau runs cancel` cancels its workflow (DBOS polls for it). */
  cancelSignal(): AbortSignal | undefined
}

const LEAF: ReadonlySet<StepKind> = new Set(['agent', 'fn', 'gate'])
const FAN_OUT: ReadonlySet<StepKind> = new Set(['parallel', 'vote', 'orchestrate'])

/** The DBOS step name of a boundary (also what `tau runs show` lists). */
export const stepName = (path: string): string => `step:${path}`

/** Step sessions and nested outcomes by path, in PostgreSQL. */
export class PgCheckpoints {
  constructor(private readonly db: PgQueryable) {}

  async sessions(runId: string, step: string): Promise<string[]> {
    const rows = await this.db.query<{ session_id: string }>(
      `SELECT session_id FROM tau_workflow_checkpoints WHERE run_id = $1 AND step = $2 AND session_id IS NOT NULL ORDER BY n`,
      [runId, step],
    )
    return [...new Set(rows.rows.map((r) => r.session_id))]
  }

  async recordSession(runId: string, step: string, sessionId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO tau_workflow_checkpoints (run_id, step, session_id) VALUES ($1, $2, $3)`,
      [runId, step, sessionId],
    )
  }

  /** True when an execution of the run has started a step before (this one is a recovery). */
  async started(runId: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM tau_workflow_checkpoints WHERE run_id = $1 LIMIT 1`, [
      runId,
    ])
    return rows.rows.length > 0
  }

  async outcome(runId: string, step: string): Promise<StepOutcome | undefined> {
    const rows = await this.db.query<{ outcome: StepOutcome }>(
      `SELECT outcome FROM tau_workflow_checkpoints WHERE run_id = $1 AND step = $2 AND outcome IS NOT NULL ORDER BY n LIMIT 1`,
      [runId, step],
    )
    return rows.rows[0]?.outcome
  }

  /**
   * Every step outcome recorded for the run (the first of each step, in the order they were
   * recorded): what a recovered execution restores the workflow's state and usage from.
   */
  async outcomes(runId: string): Promise<StepOutcome[]> {
    const rows = await this.db.query<{ outcome: StepOutcome }>(
      `SELECT outcome FROM (
         SELECT DISTINCT ON (step) n, outcome FROM tau_workflow_checkpoints
         WHERE run_id = $1 AND outcome IS NOT NULL ORDER BY step, n
       ) firsts ORDER BY n`,
      [runId],
    )
    return rows.rows.map((r) => r.outcome)
  }

  async complete(runId: string, step: string, outcome: StepOutcome): Promise<void> {
    await this.db.query(`INSERT INTO tau_workflow_checkpoints (run_id, step, outcome) VALUES ($1, $2, $3)`, [
      runId,
      step,
      JSON.stringify(outcome),
    ])
  }
}

export interface DbosStepRunnerDeps {
  readonly dbos: DbosSteps
  /** The durable run (the DBOS workflow id): what checkpoints are keyed by on every worker. */
  readonly runId: string
  readonly checkpoints: PgCheckpoints
  /** This worker's local view of the run (`tau workflow show` on this host). */
  readonly log: WorkflowLog
  readonly store: TranscriptStore
  /** How long to wait for a dead worker's session lease. */
  readonly leaseWaitMs: number
  readonly logger: Logger
  /** Aborts the workflow run at once (its running step's agent sessions with it). */
  readonly cancel: () => void
}

export class DbosStepRunner implements StepRunner {
  /** Kinds of the boundaries running now, by path (to find a boundary's parent). */
  private readonly running = new Map<string, StepKind>()

  constructor(private readonly deps: DbosStepRunnerDeps) {}

  /**
   * The outcomes of the steps earlier executions completed, wherever they ran: orchestrate starts
   * the run with their state and usage (its own local log has them only on the host that ran
   * them), so budgets and state are those of an uninterrupted run.
   */
  restore(): Promise<readonly StepOutcome[]> {
    return this.deps.checkpoints.outcomes(this.deps.runId)
  }

  async run<O>(
    boundary: StepBoundary,
    execute: (execution: StepExecution) => Promise<StepOutcome<O>>,
  ): Promise<StepRun<O>> {
    const parent = this.parentKind(boundary.step)
    this.running.set(boundary.step, boundary.kind)
    try {
      const { dbos } = this.deps
      if (dbos.isInStep()) {
        // Inside one DBOS step (a fan-out's branch): checkpointed by path.
        const done = await this.deps.checkpoints.outcome(this.deps.runId, boundary.step)
        if (done) return { outcome: done as StepOutcome<O>, replayed: true }
        const outcome = await this.attempt(boundary, execute)
        await this.deps.checkpoints.complete(this.deps.runId, boundary.step, outcome)
        return { outcome, replayed: false }
      }
      if (LEAF.has(boundary.kind) || (parent !== undefined && FAN_OUT.has(parent))) {
        let ran = false
        const outcome = await dbos.runStep(
          async () => {
            // Recorded by an execution that died before DBOS recorded the step: not run again.
            const done = await this.deps.checkpoints.outcome(this.deps.runId, boundary.step)
            if (done) return done as StepOutcome<O>
            ran = true
            // A cancel of the workflow aborts the step where it is (its sessions answer their
            // running tool calls and end), not at the next step boundary. DBOS gives the signal
            // to steps only; what runs nested in this step is inside it too.
            const cancelled = dbos.cancelSignal()
            const cancel = () => this.deps.cancel()
            if (cancelled?.aborted) cancel()
            cancelled?.addEventListener('abort', cancel, { once: true })
            try {
              const outcome = await this.attempt(boundary, execute)
              // Its state and usage, for an execution on another host (restore()); DBOS's own
              // record of the output is keyed by position and read only when the step is called.
              await this.deps.checkpoints.complete(this.deps.runId, boundary.step, outcome)
              return outcome
            } finally {
              cancelled?.removeEventListener('abort', cancel)
            }
          },
          { name: stepName(boundary.step) },
        )
        return { outcome, replayed: !ran }
      }
      // A combinator in the workflow: its children are the checkpoints.
      return { outcome: await this.attempt(boundary, execute), replayed: false }
    } finally {
      this.running.delete(boundary.step)
    }
  }

  private parentKind(path: string): StepKind | undefined {
    let best: string | undefined
    for (const candidate of this.running.keys()) {
      if (path.startsWith(`${candidate}/`) && (!best || candidate.length > best.length)) best = candidate
    }
    return best === undefined ? undefined : this.running.get(best)
  }

  /** One execution of a boundary: the sessions an interrupted one started are continued. */
  private async attempt<O>(
    boundary: StepBoundary,
    execute: (execution: StepExecution) => Promise<StepOutcome<O>>,
  ): Promise<StepOutcome<O>> {
    const { checkpoints, runId, log } = this.deps
    const interruptedSessions = await checkpoints.sessions(runId, boundary.step)
    // The dead worker's lease on them expires (or is taken over) before they are continued:
    // a session that cannot be resumed would be started afresh, running its calls again.
    // A session killed after its model's last answer and before its run-end gets that end (the
    // hub then takes the answer from the log without a model call).
    for (const id of interruptedSessions) {
      if (!(await this.deps.store.exists(id))) continue
      await waitForLease(this.deps.store, id, this.deps.leaseWaitMs)
      await endAnsweredRun(this.deps.store, id)
    }
    await this.local(log, {
      type: 'step-start',
      step: boundary.step,
      kind: boundary.kind,
      input: boundary.input,
    })
    const outcome = await execute({
      interruptedSessions,
      recordSession: async (sessionId) => {
        await checkpoints.recordSession(runId, boundary.step, sessionId)
        await this.local(log, { type: 'step-session', step: boundary.step, sessionId })
      },
    })
    await this.local(log, { type: 'step-end', step: boundary.step, outcome })
    return outcome
  }

  /** The local log is a view: a failure to write it does not stop the durable run. */
  private async local(log: WorkflowLog, record: Parameters<WorkflowLog['append']>[0]): Promise<void> {
    await log.append(record).catch((error: unknown) => {
      this.deps.logger.debug(
        `workflow log ${log.runId}: ${error instanceof Error ? error.message : String(error)}`,
      )
    })
  }
}

/** What `tau submit --workflow` enqueues. */
export interface WorkflowRunInput {
  readonly runId: string
  /** The workflow's name, as the workers' catalog knows it (tau.config, .tau/workflows/). */
  readonly workflow: string
  readonly input?: unknown
  readonly submittedAt: string
}

/** What a durable workflow run returns. */
export interface WorkflowRunOutput {
  readonly runId: string
  readonly workflow: string
  readonly isError: boolean
  readonly output?: unknown
  readonly error?: { readonly code: string; readonly message: string }
  /** Tokens (and cost, where prices are known) of all its steps, over every execution. */
  readonly usage?: Usage
  readonly costUsd?: number
  /** The worker that finished it. */
  readonly executor: string
  /** True when an earlier execution (a worker that died) had started steps of it. */
  readonly recovered: boolean
}

export interface WorkflowRunnerDeps {
  readonly orchestrator: Orchestrator
  readonly store: TranscriptStore
  readonly leaseWaitMs: number
  readonly logger: Logger
  readonly dbos: DbosSteps
  readonly db: PgQueryable
}

/**
 * The worker's durable workflows: installs a step runner on the orchestrator that, for a run
 * executing as a DBOS workflow (DBOS.workflowID is set in its async context), is DbosStepRunner,
 * and the log-checkpoint runner for anything else; `run()` is the body of the DBOS workflow.
 */
export class DurableWorkflows {
  private readonly checkpoints: PgCheckpoints
  private readonly undo: () => void
  /** The runs executing here, by run id: what a cancel seen in one of their steps aborts. */
  private readonly aborts = new Map<string, AbortController>()

  constructor(private readonly deps: WorkflowRunnerDeps) {
    this.checkpoints = new PgCheckpoints(deps.db)
    this.undo = deps.orchestrator.useStepRunner((log, logCheckpoints) => {
      const runId = deps.dbos.workflowID
      if (runId === undefined) return new CheckpointRunner(log, logCheckpoints)
      return new DbosStepRunner({
        dbos: deps.dbos,
        runId,
        checkpoints: this.checkpoints,
        log,
        store: deps.store,
        leaseWaitMs: deps.leaseWaitMs,
        logger: deps.logger,
        cancel: () => {
          const abort = this.aborts.get(runId)
          if (abort?.signal.aborted !== false) return
          deps.logger.info(`workflow run ${runId} cancelled: aborting its running step`)
          abort.abort(new Error(`workflow run ${runId} cancelled`))
        },
      })
    })
  }

  async run(
    input: WorkflowRunInput,
    context: { readonly executor: string; readonly signal: AbortSignal },
  ): Promise<WorkflowRunOutput> {
    const recovered = await this.checkpoints.started(input.runId)
    const abort = new AbortController()
    this.aborts.set(input.runId, abort)
    let outcome: WorkflowOutcome
    try {
      const run = await this.deps.orchestrator.run(input.workflow, input.input, {
        signal: AbortSignal.any([context.signal, abort.signal]),
      })
      for await (const _ of run) {
        // The events stay on the worker; `tau runs show` reads the outcome.
      }
      outcome = await run.done
    } finally {
      this.aborts.delete(input.runId)
    }
    return {
      runId: input.runId,
      workflow: input.workflow,
      isError: outcome.isError,
      ...(outcome.error ? { error: outcome.error } : { output: outcome.output }),
      usage: outcome.usage,
      ...(outcome.costUsd !== undefined ? { costUsd: outcome.costUsd } : {}),
      executor: context.executor,
      recovered,
    }
  }

  close(): void {
    this.undo()
  }
}
