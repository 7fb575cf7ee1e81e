/** The `orchestrate.service` contract: run and resume workflows, the hub, the workflow log. */
import { defineService } from '../../kernel/index.js'
import type { StartOptions, StepRunnerFactory, WorkflowRun } from './engine.js'
import type { Hub } from './hub.js'
import type { WorkflowRecord, WorkflowRunSummary } from './log.js'
import type { Workflow } from './workflow.js'
import type { WorkflowCatalog } from './workflows.js'

export interface Orchestrator {
  /** The hub: named agents, each run as its own session. */
  readonly hub: Hub
  /** The workflows of the config and of `.tau/workflows/` (loaded once, at first use). */
  catalog(): Promise<WorkflowCatalog>
  /**
   * Starts a workflow (a name, or a workflow value) with its input. Resolves once the run's log
   * is open; iterate the run for its events, await `done` for its outcome. Throws
   * TAU_WORKFLOW_NOT_FOUND, TAU_WORKFLOW_INPUT_INVALID.
   */
  run(workflow: string | Workflow, input: unknown, options?: StartOptions): Promise<WorkflowRun>
  /** Goes on with a run from its last completed step. */
  resume(runId: string, options?: StartOptions): Promise<WorkflowRun>
  /** The runs of this project, newest first. */
  runs(): Promise<WorkflowRunSummary[]>
  /** A run's log. */
  read(runId: string): Promise<WorkflowRecord[]>
  /**
   * Replaces the step runner of the runs started from now on (a durable engine's); returns the
   * undo. The default keeps checkpoints in the workflow log.
   */
  useStepRunner(factory: StepRunnerFactory): () => void
}

export const orchestratorRef = defineService<Orchestrator>('orchestrate.service', {
  description: 'Workflows (run, resume, list), the hub of named agents, the workflow log.',
})
