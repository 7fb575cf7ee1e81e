/**
 * Workflows and steps: the values users write. A step is a thin description (a kind, a name, an
 * `execute`); the engine runs every step through the step runner (a checkpoint per boundary), so
 * a combinator is just a step whose `execute` runs child steps with `ctx.run()`. A workflow is a
 * step too (kind `workflow`), with its own input schema and state: workflows nest.
 */
import type { z } from 'zod'
import type { Usage } from '../../kernel/index.js'
import type { AgentEvent, StopReason } from '../agent/index.js'
import type { StepKind } from './step-runner.js'

const STEP = Symbol.for('tau.orchestrate.step')
const WORKFLOW = Symbol.for('tau.orchestrate.workflow')

/** A zod schema for a step's or workflow's data. */
export type Schema<T> = z.ZodType<T>

/** Budgets that span the whole workflow run (every agent step's model calls count). */
export interface WorkflowBudget {
  /** Input + output tokens of every model call of the run. */
  readonly maxTokens?: number
  readonly maxCostUsd?: number
  /** Wall time of one attempt (a resumed run gets the time again). */
  readonly timeoutMs?: number
  /** Agent runs going on at once over the whole workflow. */
  readonly maxWorkers?: number
}

/** What an agent step tells the hub to run. */
export interface AgentRunRequest {
  /** A hub agent's name, or an inline definition. */
  readonly agent: string | InlineAgent
  readonly prompt: string
  /** Overrides the agent's model (`provider:model`). */
  readonly model?: string
  /** The answer must be JSON matching this schema (validated; asked again once). */
  readonly output?: Schema<unknown>
  readonly maxTurns?: number
}

export interface AgentRunResult {
  /** The final assistant text. */
  readonly text: string
  /** The parsed, validated answer when an `output` schema was given; else the text. */
  readonly output: unknown
  readonly sessionId: string
  readonly stopReason: StopReason
  readonly usage: Usage
  readonly costUsd?: number
}

/** An agent defined where it is used (no name in the config). */
export interface InlineAgent {
  readonly name?: string
  /** Added to the agent's system prompt. */
  readonly prompt?: string
  readonly model?: string
  readonly tools?: readonly string[]
  readonly permissionMode?: 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions'
  /**
   * Where its tools run and its MCP servers: `{ sandbox, mcpServers }` (merged over the global
   * config, checked when the step starts its session) or the name of one of
   * `orchestrate.environments` (else `subagents.environments`).
   */
  readonly environment?:
    | string
    | {
        readonly sandbox?: Readonly<Record<string, unknown>>
        readonly mcpServers?: Readonly<Record<string, unknown>>
      }
}

/** What a step sees while it runs. */
export interface StepContext<S = Record<string, unknown>> {
  readonly runId: string
  /** The step's path in the workflow: its checkpoint key. */
  readonly path: string
  /** The working directory of the run (artefacts live under it). */
  readonly cwd: string
  readonly signal: AbortSignal
  /** The state of the enclosing workflow, as it is now. */
  readonly state: Readonly<S>
  /** Merges `patch` into the state (validated by the workflow's state schema; recorded at the step's end). */
  update(patch: Partial<S>): void
  /** Runs a child step at `<path>/<segment>` (a checkpoint of its own). */
  run<I, O>(step: Step<I, O>, input: I, segment: string): Promise<O>
  /** Runs an agent as its own session (the hub); only agent steps should call it. */
  runAgent(request: AgentRunRequest): Promise<AgentRunResult>
  /** Writes a workspace file for other agents to read (messages by reference); returns its relative path. */
  writeArtefact(name: string, text: string): Promise<string>
  /** A notification in the run's event stream. */
  notify(message: string): void
}

export interface Step<I = unknown, O = unknown> {
  readonly [STEP]: true
  readonly kind: StepKind
  /** The step's path segment in a chain (default: its index). */
  readonly name?: string
  /** Checked before the step runs (typed loosely so steps stay assignable across combinators). */
  readonly input?: Schema<unknown>
  /** Checked before the output is recorded. */
  readonly output?: Schema<unknown>
  execute(input: I, ctx: StepContext): Promise<O>
}

export interface Workflow<
  I = unknown,
  O = unknown,
  S extends Record<string, unknown> = Record<string, unknown>,
> extends Step<I, O> {
  readonly [WORKFLOW]: true
  readonly kind: 'workflow'
  readonly name: string
  readonly description?: string
  readonly input: Schema<I>
  readonly state?: Schema<S>
  readonly budget?: WorkflowBudget
  /** The body. */
  readonly run: Step<I, O>
}

export interface WorkflowDefinition<I, O, S extends Record<string, unknown>> {
  /** Letters, digits, `-`, `_`: `tau workflow run NAME`. */
  readonly name: string
  readonly description?: string
  readonly input: Schema<I>
  readonly output?: Schema<O>
  /** The state's schema; its defaults are the initial state (`z.object({ notes: z.array(z.string()).default([]) })`). */
  readonly state?: Schema<S>
  readonly budget?: WorkflowBudget
  readonly run: Step<I, O>
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export function defineWorkflow<I, O, S extends Record<string, unknown> = Record<string, unknown>>(
  definition: WorkflowDefinition<I, O, S>,
): Workflow<I, O, S> {
  if (!NAME.test(definition.name)) {
    throw new TypeError(
      `defineWorkflow: name '${definition.name}' must be letters, digits, "-" and "_" (at most 64)`,
    )
  }
  if (!isStep(definition.run)) {
    throw new TypeError(
      `defineWorkflow('${definition.name}'): run must be a step (agent(), step(), chain(), route(), parallel(), vote(), orchestrate(), refine())`,
    )
  }
  const body = definition.run
  return {
    [STEP]: true,
    [WORKFLOW]: true,
    kind: 'workflow',
    name: definition.name,
    ...(definition.description ? { description: definition.description } : {}),
    input: definition.input,
    ...(definition.output ? { output: definition.output } : {}),
    ...(definition.state ? { state: definition.state } : {}),
    ...(definition.budget ? { budget: definition.budget } : {}),
    run: body,
    // The engine opens the workflow's state scope around this (see execution.ts).
    execute: (input, ctx) => ctx.run(body, input, 'run'),
  }
}

export function isStep(value: unknown): value is Step<unknown, unknown> {
  return typeof value === 'object' && value !== null && (value as { [STEP]?: unknown })[STEP] === true
}

export function isWorkflow(value: unknown): value is Workflow {
  return isStep(value) && (value as { [WORKFLOW]?: unknown })[WORKFLOW] === true
}

/** Makes a step value (for combinator authors). */
export function makeStep<I, O>(step: {
  kind: StepKind
  name?: string
  input?: Schema<I>
  output?: Schema<O>
  execute(input: I, ctx: StepContext): Promise<O>
}): Step<I, O> {
  return { [STEP]: true, ...step }
}

/** A function step: plain code between agent steps (parse, transform, decide). */
export function step<I, O>(
  name: string,
  run: (input: I, ctx: StepContext) => O | Promise<O>,
  schemas: { input?: Schema<I>; output?: Schema<O> } = {},
): Step<I, O> {
  return makeStep<I, O>({ kind: 'fn', name, ...schemas, execute: async (input, ctx) => run(input, ctx) })
}

/**
 * A gate in a chain: passes its input on when `check` returns true; any other answer (false, or
 * a string: the reason) stops the workflow with TAU_WORKFLOW_GATE.
 */
export function gate<T>(
  check: (value: T, ctx: StepContext) => boolean | string | Promise<boolean | string>,
  name = 'gate',
): Step<T, T> {
  return makeStep<T, T>({
    kind: 'gate',
    name,
    execute: async (value, ctx) => {
      const verdict = await check(value, ctx)
      if (verdict === true) return value
      throw new GateError(typeof verdict === 'string' ? verdict : `the gate '${name}' did not pass`)
    },
  })
}

export class GateError extends Error {}

/** Runs steps one after another, each getting the previous one's output. */
export function chain(steps: readonly Step<never, unknown>[], name?: string): Step<unknown, unknown>
export function chain<I, O>(steps: readonly Step[], name?: string): Step<I, O>
export function chain(steps: readonly Step[], name = 'chain'): Step<unknown, unknown> {
  if (steps.length === 0 || !steps.every(isStep))
    throw new TypeError('chain: give it a non-empty list of steps')
  // A step's checkpoint key: its name, made unique by its index when two steps share it.
  const segments = steps.map((s, index) => {
    const name = s.name ?? String(index)
    return steps.filter((o) => o.name === name).length > 1 ? `${index}-${name}` : name
  })
  return makeStep({
    kind: 'chain',
    name,
    execute: async (input, ctx) => {
      let value: unknown = input
      for (const [index, child] of steps.entries()) value = await ctx.run(child, value, segments[index]!)
      return value
    },
  })
}

/** The events of a workflow run: its own, and every event of its agent steps' runs. */
export type WorkflowEvent =
  | WorkflowOwnEvent
  | (AgentEvent & { readonly step: string; readonly workflowRunId: string })

export interface OwnBase {
  /** The workflow run (also its `sessionId`: the run is the stream's session). */
  readonly runId: string
  readonly sessionId: string
  readonly workflowRunId: string
  readonly seq: number
  readonly eventId: string
  readonly timestamp: number
}

export type WorkflowOwnEvent = OwnBase &
  (
    | {
        readonly type: 'workflow-start'
        readonly workflow: string
        readonly input: unknown
        readonly resumed: boolean
      }
    | { readonly type: 'step-start'; readonly step: string; readonly kind: StepKind; readonly input: unknown }
    | {
        readonly type: 'step-end'
        readonly step: string
        readonly kind: StepKind
        readonly output?: unknown
        readonly error?: { readonly code: string; readonly message: string }
        /** The output came from the log of an earlier attempt: the step did not run again. */
        readonly replayed: boolean
        readonly durationMs: number
      }
    | { readonly type: 'state'; readonly scope: string; readonly state: Readonly<Record<string, unknown>> }
    | {
        readonly type: 'workflow-notification'
        readonly step: string
        readonly level: 'info' | 'warn'
        readonly message: string
      }
    | {
        readonly type: 'workflow-end'
        readonly workflow: string
        readonly isError: boolean
        readonly output?: unknown
        readonly error?: { readonly code: string; readonly message: string }
        readonly usage: Usage
        readonly costUsd?: number
        readonly durationMs: number
      }
  )
