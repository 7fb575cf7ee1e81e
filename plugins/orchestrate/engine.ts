/**
 * The workflow engine: starts a run (its input checked, its log opened) or resumes one that did
 * not complete (checkpoints, state and usage rebuilt from the log), and yields one event stream:
 * the workflow's own events and its agent steps' events as they are. The steps run through the
 * step runner (a checkpoint per boundary) in one attempt, an Execution (execution.ts): a resumed
 * run runs the same code, and the steps the log has completed hand back their recorded outputs
 * without running.
 */
import { randomUUID } from 'node:crypto'
import { TauError } from '../../kernel/index.js'
import { EventChannel } from '../agent/index.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import { Execution, type ExecutionDeps, validate, type WorkflowOutcome } from './execution.js'
import type { WorkflowLog, WorkflowRecord, WorkflowStore } from './log.js'
import { CheckpointRunner, type Checkpoints, checkpointsOf, errorOf, type StepRunner } from './step-runner.js'
import type { Workflow, WorkflowEvent } from './workflow.js'

export type { WorkflowOutcome } from './execution.js'

/** Makes the step runner of a run; a durable engine provides its own (orchestrate.stepRunner). */
export type StepRunnerFactory = (log: WorkflowLog, checkpoints: Checkpoints) => StepRunner

export interface WorkflowRun extends AsyncIterable<WorkflowEvent> {
  readonly id: string
  /** Settles when the run ended; never rejects (a failure is `isError`). */
  readonly done: Promise<WorkflowOutcome>
}

export interface StartOptions {
  readonly signal?: AbortSignal
  /** The file the workflow came from (recorded, for a resume in another process). */
  readonly file?: string
}

export interface EngineDeps extends ExecutionDeps {
  readonly store: WorkflowStore
  readonly runnerFactory: () => StepRunnerFactory | undefined
  /** Finds a workflow by name (for resume). */
  readonly find: (name: string) => Promise<Workflow>
}

export class WorkflowEngine {
  constructor(private readonly deps: EngineDeps) {}

  /** Validates the input, opens the run's log and starts it. Throws TAU_WORKFLOW_INPUT_INVALID. */
  async start(workflow: Workflow, input: unknown, options: StartOptions = {}): Promise<WorkflowRun> {
    const value = validate(
      workflow.input,
      input,
      workflow.name,
      'input',
      ORCHESTRATE_ERRORS.TAU_WORKFLOW_INPUT_INVALID,
    )
    const runId = randomUUID()
    const log = await this.deps.store.create({
      type: 'start',
      runId,
      workflow: workflow.name,
      input: value,
      cwd: this.deps.cwd,
      ...(options.file ? { file: options.file } : {}),
    })
    return this.launch(workflow, value, log, [], false, options)
  }

  /** Goes on with a run that did not complete. Throws TAU_WORKFLOW_RUN_NOT_FOUND, _LOCKED, _FINISHED. */
  async resume(runId: string, options: StartOptions = {}): Promise<WorkflowRun> {
    const records = await this.deps.store.read(runId)
    const start = records[0]
    if (start?.type !== 'start') {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_LOG_CORRUPT,
        `the log of run '${runId}' has no start`,
        {
          plugin: 'orchestrate',
        },
      )
    }
    const last = records.at(-1)
    if (last?.type === 'end' && last.status === 'completed') {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_FINISHED,
        `workflow run '${runId}' has already completed`,
        {
          plugin: 'orchestrate',
        },
      )
    }
    const workflow = await this.deps.find(start.workflow)
    const { records: current, log } = await this.deps.store.reopen(runId)
    await log.append({ type: 'resume', pid: process.pid })
    return this.launch(workflow, start.input, log, current, true, options)
  }

  private launch(
    workflow: Workflow,
    input: unknown,
    log: WorkflowLog,
    records: readonly WorkflowRecord[],
    resumed: boolean,
    options: StartOptions,
  ): WorkflowRun {
    const queue = new EventChannel<WorkflowEvent>()
    const checkpoints = checkpointsOf(records)
    const runner = this.deps.runnerFactory()?.(log, checkpoints) ?? new CheckpointRunner(log, checkpoints)
    const execution = new Execution(this.deps, workflow, log, runner, queue, options.signal)
    execution.restore(records)
    const done = execution.run(input, resumed).finally(async () => {
      queue.end()
      // A sync that failed at the end (the run's outcome is already decided) is said, not thrown.
      await log
        .close()
        .catch((error: unknown) =>
          this.deps.logger.warn(`closing the log of workflow run ${log.runId}: ${errorOf(error).message}`),
        )
    })
    return {
      id: log.runId,
      done,
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    }
  }
}
