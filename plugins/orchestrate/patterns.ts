/**
 * The patterns of Anthropic's "Building effective agents", as steps: agent (one agent run, with
 * structured output), route (classify, then one route's step), parallel (sections with a
 * partial-failure policy), vote (the same or several steps, an aggregator decides), orchestrate
 * (a lead plans subtasks at run time, workers run them, the lead synthesises) and refine
 * (generator and evaluator, bounded rounds). Each is a thin composition of child steps, so every
 * prompt and answer stays visible in the event stream, the log and the trace.
 */
import { z } from 'zod'
import { Semaphore } from '../subagents/index.js'
import { errorOf } from './step-runner.js'
import { type InlineAgent, isStep, makeStep, type Schema, type Step, type StepContext } from './workflow.js'

export interface AgentStepOptions<I, O> {
  /** The step's path segment (default: the agent's name). */
  readonly name?: string
  /** A hub agent's name, or an inline definition. */
  readonly agent: string | InlineAgent
  /** The task; default: the input itself (a string, or its JSON). */
  readonly prompt?: string | ((input: I, ctx: StepContext) => string)
  /** Overrides the agent's model. */
  readonly model?: string
  /** The answer is JSON matching this schema (structured output; validated, asked again once). */
  readonly output?: Schema<O>
  readonly maxTurns?: number
}

export type AgentStep<I, O> = Step<I, O> & {
  readonly agentOptions: AgentStepOptions<I, O>
}

export function defaultPrompt(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input, null, 2)
}

/** One agent run, as its own session. Without `output` the step's output is the final text. */
export function agent<I = unknown, O = string>(options: AgentStepOptions<I, O>): AgentStep<I, O> {
  const name =
    options.name ?? (typeof options.agent === 'string' ? options.agent : (options.agent.name ?? 'agent'))
  const step = makeStep<I, O>({
    kind: 'agent',
    name,
    execute: async (input, ctx) => {
      const prompt =
        typeof options.prompt === 'function'
          ? options.prompt(input, ctx)
          : (options.prompt ?? defaultPrompt(input))
      const result = await ctx.runAgent({
        agent: options.agent,
        prompt,
        ...(options.model ? { model: options.model } : {}),
        ...(options.output ? { output: options.output as Schema<unknown> } : {}),
        ...(options.maxTurns ? { maxTurns: options.maxTurns } : {}),
      })
      return result.output as O
    },
  })
  return Object.assign(step, { agentOptions: options })
}

function isAgentStep(value: Step): value is AgentStep<unknown, unknown> {
  return value.kind === 'agent' && 'agentOptions' in value
}

export interface RouteOptions<I, O> {
  readonly name?: string
  /**
   * Picks a route: a function of the input, or an agent (its answer is structured: one of the
   * routes' names, and why).
   */
  readonly classify:
    | ((input: I, ctx: StepContext) => string | Promise<string>)
    | {
        readonly agent: string | InlineAgent
        readonly model?: string
        readonly prompt?: (input: I) => string
      }
  /** The steps by route name, each with its own agents and models. */
  readonly routes: Readonly<Record<string, Step<I, O>>>
  /** Runs when the classifier names no route (or fails); without it that stops the workflow. */
  readonly fallback?: Step<I, O>
}

/** Classify, then run the chosen route's step. */
export function route<I, O>(options: RouteOptions<I, O>): Step<I, O> {
  const names = Object.keys(options.routes)
  if (names.length === 0) throw new TypeError('route: give it at least one route')
  const choice = z.object({ route: z.string(), reason: z.string().optional() })
  const classifier: Step<I, string> =
    typeof options.classify === 'function'
      ? makeStep<I, string>({
          kind: 'fn',
          name: 'classify',
          execute: async (input, ctx) =>
            (options.classify as (input: I, ctx: StepContext) => string | Promise<string>)(input, ctx),
        })
      : (() => {
          const spec = options.classify
          return makeStep<I, string>({
            kind: 'agent',
            name: 'classify',
            execute: async (input, ctx) => {
              const task = spec.prompt ? spec.prompt(input) : defaultPrompt(input)
              const result = await ctx.runAgent({
                agent: spec.agent,
                ...(spec.model ? { model: spec.model } : {}),
                prompt: `Classify the request below into exactly one of these routes: ${names.join(', ')}.\n\n${task}`,
                output: choice,
              })
              return (result.output as z.infer<typeof choice>).route
            },
          })
        })()
  return makeStep<I, O>({
    kind: 'route',
    name: options.name ?? 'route',
    execute: async (input, ctx) => {
      let picked: string | undefined
      try {
        picked = await ctx.run(classifier, input, 'classify')
      } catch (error) {
        if (!options.fallback) throw error
        ctx.notify(`the classifier failed (${errorOf(error).message}); taking the fallback`)
      }
      const chosen = picked !== undefined ? options.routes[picked] : undefined
      if (chosen) return ctx.run(chosen, input, `routes/${picked}`)
      if (!options.fallback) {
        throw new Error(
          `the classifier chose '${picked}', which is not a route (${names.join(', ')}) and there is no fallback`,
        )
      }
      return ctx.run(options.fallback, input, 'fallback')
    },
  })
}

/** How many sections may fail: `all` must succeed (default), any number (`settled`), or at least `min` succeed. */
export type FailurePolicy = 'all' | 'settled' | { readonly min: number }

export interface ParallelResult<O> {
  /** Outputs of the sections that succeeded. */
  readonly outputs: Readonly<Record<string, O>>
  /** The sections that failed, with why. */
  readonly errors: Readonly<Record<string, { readonly code: string; readonly message: string }>>
}

export interface ParallelOptions<I, O, A> {
  readonly name?: string
  /** Sections by name (or a list: named by index), all given the same input. */
  readonly sections: Readonly<Record<string, Step<I, O>>> | readonly Step<I, O>[]
  readonly policy?: FailurePolicy
  /** At most this many sections run at once (default: all). */
  readonly concurrency?: number
  /** Combines the results (a function, or a step: an aggregator agent); default: the ParallelResult. */
  readonly aggregate?:
    | ((result: ParallelResult<O>, ctx: StepContext) => A | Promise<A>)
    | Step<ParallelResult<O>, A>
}

function sectionsOf<I, O>(sections: ParallelOptions<I, O, unknown>['sections']): Array<[string, Step<I, O>]> {
  const entries = Array.isArray(sections)
    ? sections.map((s, i): [string, Step<I, O>] => [String(i), s])
    : Object.entries(sections as Record<string, Step<I, O>>)
  if (entries.length === 0 || !entries.every(([, s]) => isStep(s))) {
    throw new TypeError('parallel: give it a non-empty set of steps')
  }
  return entries
}

/** Runs sections side by side on the same input; the policy says how many may fail. */
export function parallel<I, O, A = ParallelResult<O>>(options: ParallelOptions<I, O, A>): Step<I, A> {
  const sections = sectionsOf(options.sections)
  const policy = options.policy ?? 'all'
  return makeStep<I, A>({
    kind: 'parallel',
    name: options.name ?? 'parallel',
    execute: async (input, ctx) => {
      const result = await runSections(sections, input, ctx, policy, options.concurrency, 'sections')
      return aggregate(result, options.aggregate, ctx)
    },
  })
}

async function runSections<I, O>(
  sections: ReadonlyArray<[string, Step<I, O>]>,
  input: I,
  ctx: StepContext,
  policy: FailurePolicy,
  concurrency: number | undefined,
  segment: string,
): Promise<ParallelResult<O>> {
  const limit = concurrency ? new Semaphore(concurrency) : undefined
  const settled = await Promise.allSettled(
    sections.map(async ([key, section]) => {
      const release = await limit?.acquire(ctx.signal)
      try {
        return await ctx.run(section, input, `${segment}/${key}`)
      } finally {
        release?.()
      }
    }),
  )
  const outputs: Record<string, O> = {}
  const errors: Record<string, { code: string; message: string }> = {}
  for (const [index, outcome] of settled.entries()) {
    const key = sections[index]![0]
    if (outcome.status === 'fulfilled') outputs[key] = outcome.value
    else errors[key] = errorOf(outcome.reason)
  }
  const failed = Object.keys(errors)
  const needed = policy === 'all' ? sections.length : policy === 'settled' ? 0 : policy.min
  if (sections.length - failed.length < needed) {
    const first = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult
    if (policy === 'all' && failed.length === 1) throw first.reason
    throw new Error(
      `${failed.length} of ${sections.length} sections failed (${failed
        .map((key) => `${key}: ${errors[key]!.message}`)
        .join('; ')}); the policy needs ${needed} to succeed`,
    )
  }
  return { outputs, errors }
}

async function aggregate<R, A>(
  result: R,
  aggregator: ((result: R, ctx: StepContext) => A | Promise<A>) | Step<R, A> | undefined,
  ctx: StepContext,
): Promise<A> {
  if (aggregator === undefined) return result as unknown as A
  if (isStep(aggregator)) return ctx.run(aggregator, result, 'aggregate')
  return aggregator(result, ctx)
}

export interface VoteOptions<I, O, A> {
  readonly name?: string
  /** The voters: several steps, or one step run `count` times. */
  readonly voters: readonly Step<I, O>[] | { readonly step: Step<I, O>; readonly count: number }
  /** Voters that must answer (default: all). */
  readonly quorum?: number
  /** `majority` (the most frequent answer, first on a tie; default), a function, or an aggregator step. */
  readonly aggregate?:
    | 'majority'
    | ((votes: readonly O[], ctx: StepContext) => A | Promise<A>)
    | Step<readonly O[], A>
}

/** Voting: the same question to several voters, an aggregator decides. */
export function vote<I, O, A = O>(options: VoteOptions<I, O, A>): Step<I, A> {
  const voters: Array<[string, Step<I, O>]> = Array.isArray(options.voters)
    ? (options.voters as Step<I, O>[]).map((s, i): [string, Step<I, O>] => [String(i), s])
    : Array.from({ length: (options.voters as { count: number }).count }, (_, i): [string, Step<I, O>] => [
        String(i),
        (options.voters as { step: Step<I, O> }).step,
      ])
  if (voters.length === 0) throw new TypeError('vote: give it at least one voter')
  return makeStep<I, A>({
    kind: 'vote',
    name: options.name ?? 'vote',
    execute: async (input, ctx) => {
      const result = await runSections(
        voters,
        input,
        ctx,
        { min: options.quorum ?? voters.length },
        undefined,
        'voters',
      )
      const votes = voters.flatMap(([key]) => (key in result.outputs ? [result.outputs[key]!] : []))
      const how = options.aggregate ?? 'majority'
      if (how === 'majority') return majority(votes) as unknown as A
      return aggregate(votes, how, ctx)
    },
  })
}

export function majority<T>(votes: readonly T[]): T {
  const counts = new Map<string, { vote: T; count: number }>()
  for (const v of votes) {
    const key = JSON.stringify(v)
    const entry = counts.get(key) ?? { vote: v, count: 0 }
    entry.count++
    counts.set(key, entry)
  }
  let best: { vote: T; count: number } | undefined
  for (const entry of counts.values()) if (!best || entry.count > best.count) best = entry
  return best!.vote
}

export const planSchema = z.object({
  subtasks: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        task: z.string().min(1),
        /** A worker agent's name (one of the workers), when there are several. */
        agent: z.string().optional(),
      }),
    )
    .min(1),
})
export type Plan = z.infer<typeof planSchema>

export interface WorkerReport {
  readonly id: string
  readonly task: string
  readonly agent: string
  /** The report's workspace file. */
  readonly artefact: string
  readonly ok: boolean
  readonly report: string
}

export interface OrchestrateOptions<I> {
  readonly name?: string
  /** The lead agent: it plans the subtasks and synthesises the workers' reports. */
  readonly lead: string | InlineAgent
  /** The worker agent (or give `workers`). */
  readonly worker?: string | InlineAgent
  /** Several worker agents by name: the lead picks one per subtask. */
  readonly workers?: Readonly<Record<string, string | InlineAgent>>
  /** The task for the lead (default: the input). */
  readonly prompt?: (input: I) => string
  /** Subtasks at most; a longer plan is cut (with a notification). Default 8. */
  readonly maxSubtasks?: number
  /** Workers running at once (default 3). */
  readonly concurrency?: number
  /** Default `settled`: the lead synthesises what the workers that finished found. */
  readonly policy?: FailurePolicy
}

/** A lead plans subtasks at run time, workers run them (limited), the lead synthesises. */
export function orchestrate<I>(options: OrchestrateOptions<I>): Step<I, string> {
  const workers: Record<string, string | InlineAgent> = {
    ...(options.worker !== undefined ? { worker: options.worker } : {}),
    ...options.workers,
  }
  const workerNames = Object.keys(workers)
  if (workerNames.length === 0) throw new TypeError('orchestrate: give it at least one worker')
  const maxSubtasks = options.maxSubtasks ?? 8
  return makeStep<I, string>({
    kind: 'orchestrate',
    name: options.name ?? 'orchestrate',
    execute: async (input, ctx) => {
      const task = options.prompt ? options.prompt(input) : defaultPrompt(input)
      const planner = agent<I, Plan>({
        name: 'plan',
        agent: options.lead,
        output: planSchema,
        prompt: () =>
          `Plan this task as independent subtasks for worker agents (at most ${maxSubtasks}). ${
            workerNames.length > 1
              ? `For each subtask name the worker to run it: one of ${workerNames.join(', ')}. `
              : ''
          }Give each subtask a short id and a self-contained task description.\n\nTask:\n${task}`,
      })
      let plan = await ctx.run(planner, input, 'plan')
      if (plan.subtasks.length > maxSubtasks) {
        ctx.notify(
          `the plan has ${plan.subtasks.length} subtasks; the first ${maxSubtasks} run (maxSubtasks)`,
        )
        plan = { subtasks: plan.subtasks.slice(0, maxSubtasks) }
      }
      const sections: Array<[string, Step<I, WorkerReport>]> = plan.subtasks.map((subtask) => {
        const workerName = subtask.agent && workers[subtask.agent] ? subtask.agent : workerNames[0]!
        const worker = agent<I, string>({
          name: subtask.id,
          agent: workers[workerName]!,
          prompt: () => `${subtask.task}\n\nThis is one subtask of a larger task:\n${task}`,
        })
        const section = makeStep<I, WorkerReport>({
          kind: 'fn',
          name: subtask.id,
          execute: async (value, sectionCtx) => {
            const report = await sectionCtx.run(worker, value, 'worker')
            const artefact = await sectionCtx.writeArtefact(`${subtask.id}.md`, report)
            return { id: subtask.id, task: subtask.task, agent: workerName, artefact, ok: true, report }
          },
        })
        return [subtask.id, section]
      })
      const result = await runSections(
        sections,
        input,
        ctx,
        options.policy ?? 'settled',
        options.concurrency ?? 3,
        'workers',
      )
      const reports = plan.subtasks.map(
        (s) =>
          result.outputs[s.id] ?? {
            id: s.id,
            task: s.task,
            agent: '',
            artefact: '',
            ok: false,
            report: `failed: ${result.errors[s.id]?.message ?? 'unknown'}`,
          },
      )
      const synthesis = agent<I, string>({
        name: 'synthesize',
        agent: options.lead,
        prompt: () =>
          `The workers finished the subtasks of this task:\n${task}\n\nTheir reports (each also in the workspace file named):\n\n${reports
            .map((r) => `## ${r.id}${r.artefact ? ` (${r.artefact})` : ''}\n${r.task}\n\n${r.report}`)
            .join('\n\n')}\n\nSynthesise one answer to the task from them.`,
      })
      return ctx.run(synthesis, input, 'synthesize')
    },
  })
}

export const verdictSchema = z.object({
  pass: z.boolean(),
  feedback: z.string(),
  score: z.number().optional(),
})
export type Verdict = z.infer<typeof verdictSchema>

export interface RefineInput<I, O> {
  readonly input: I
  readonly round: number
  /** The previous round's output and the evaluator's feedback on it. */
  readonly previous?: O
  readonly feedback?: string
}

export interface RefineResult<O> {
  readonly output: O
  readonly verdict: Verdict
  readonly rounds: number
}

export interface RefineOptions<I, O> {
  readonly name?: string
  /** Makes (or improves) the output; an agent step's default prompt gets the feedback. */
  readonly generator: Step<RefineInput<I, O>, O>
  /** Judges it: an agent step is given the verdict schema; any step must return a Verdict. */
  readonly evaluator: Step<{ input: I; output: O; round: number }, Verdict>
  /** Rounds at most (default 3); the last round's output is kept when none passed. */
  readonly maxRounds?: number
}

/** Generator and evaluator in bounded rounds, until the evaluator's verdict passes. */
export function refine<I, O>(options: RefineOptions<I, O>): Step<I, RefineResult<O>> {
  const maxRounds = options.maxRounds ?? 3
  const generator = isAgentStep(options.generator)
    ? agent({
        ...options.generator.agentOptions,
        prompt: options.generator.agentOptions.prompt ?? ((r: RefineInput<I, O>) => refinePrompt(r)),
      })
    : options.generator
  const evaluator = isAgentStep(options.evaluator)
    ? agent({
        ...options.evaluator.agentOptions,
        output: verdictSchema,
        prompt:
          options.evaluator.agentOptions.prompt ??
          ((e: { input: I; output: O; round: number }) =>
            `Evaluate this output for the task. Say whether it passes and what to improve.\n\nTask:\n${defaultPrompt(e.input)}\n\nOutput:\n${defaultPrompt(e.output)}`),
      })
    : options.evaluator
  return makeStep<I, RefineResult<O>>({
    kind: 'refine',
    name: options.name ?? 'refine',
    execute: async (input, ctx) => {
      let previous: O | undefined
      let feedback: string | undefined
      let verdict: Verdict = { pass: false, feedback: '' }
      let round = 0
      while (round < maxRounds) {
        round++
        const request: RefineInput<I, O> = {
          input,
          round,
          ...(previous !== undefined ? { previous } : {}),
          ...(feedback !== undefined ? { feedback } : {}),
        }
        const output = await ctx.run(
          generator as Step<RefineInput<I, O>, O>,
          request,
          `rounds/${round}/generate`,
        )
        verdict = await ctx.run(
          evaluator as Step<{ input: I; output: O; round: number }, Verdict>,
          { input, output, round },
          `rounds/${round}/evaluate`,
        )
        previous = output
        feedback = verdict.feedback
        if (verdict.pass) break
      }
      return { output: previous as O, verdict, rounds: round }
    },
  })
}

function refinePrompt<I, O>(request: RefineInput<I, O>): string {
  const task = defaultPrompt(request.input)
  if (request.previous === undefined) return task
  return `${task}\n\nYour previous answer:\n${defaultPrompt(request.previous)}\n\nFeedback on it:\n${request.feedback ?? ''}\n\nAnswer again, improved.`
}
