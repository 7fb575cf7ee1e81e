/** Hooks of the orchestrate plugin (`orchestrate.*`): workflow and step boundaries, for observers (telemetry). */
import { type AsyncSeriesHook, defineHooks, type Usage } from '../../kernel/index.js'
import type { StepKind } from './step-runner.js'

export interface WorkflowStartContext {
  readonly runId: string
  readonly workflow: string
  readonly input: unknown
  /** True for `tau workflow resume`. */
  readonly resumed: boolean
}

export interface WorkflowEndContext {
  readonly runId: string
  readonly workflow: string
  readonly isError: boolean
  readonly error?: { readonly code: string; readonly message: string }
  readonly usage: Usage
  readonly costUsd?: number
  readonly durationMs: number
}

export interface StepStartContext {
  readonly runId: string
  readonly step: string
  readonly kind: StepKind
  /** For a nested workflow (kind `workflow`): its name. */
  readonly workflow?: string
}

export interface StepEndContext extends StepStartContext {
  readonly isError: boolean
  readonly error?: { readonly code: string; readonly message: string }
  /** The outcome came from the log of an earlier attempt (nothing ran). */
  readonly replayed: boolean
}

export interface StepSessionContext {
  readonly runId: string
  readonly step: string
  /** The agent session the step runs (its runs' spans nest under the workflow's). */
  readonly sessionId: string
  readonly agent: string
}

export interface OrchestrateHooks {
  /** A workflow run begins (also a resumed one); awaited. */
  readonly workflowStart: AsyncSeriesHook<[WorkflowStartContext]>
  /** A workflow run ended, completed or failed; awaited. */
  readonly workflowEnd: AsyncSeriesHook<[WorkflowEndContext]>
  /** A step boundary is entered (not for steps a resumed run replays); awaited. */
  readonly stepStart: AsyncSeriesHook<[StepStartContext]>
  /** A step boundary is left, on every path; awaited. */
  readonly stepEnd: AsyncSeriesHook<[StepEndContext]>
  /** An agent step starts (or continues) its session, before the run; awaited. */
  readonly stepSession: AsyncSeriesHook<[StepSessionContext]>
}

export const orchestrateHooksRef = defineHooks<OrchestrateHooks>('orchestrate')
