/**
 * A step runner's `restore()`: the outcomes of steps another host completed (a durable engine's
 * record; this process's workflow log has none of them). The run starts with their state and
 * usage, so its state, its budgets and its total usage are those of the run that was not
 * interrupted. The "hosts" are two kernels with their own TAU_HOME; the runner of the second
 * hands back the first's outcomes, as DBOS hands back recorded step outputs.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  agent,
  CheckpointRunner,
  chain,
  defineWorkflow,
  type StepBoundary,
  type StepExecution,
  type StepOutcome,
  type StepRun,
  type StepRunner,
  step,
  type WorkflowBudget,
} from '../../../plugins/orchestrate/index.js'
import { harness } from './helpers.js'

const workflowOf = (budget?: WorkflowBudget) =>
  defineWorkflow({
    name: 'restored',
    input: z.string(),
    state: z.object({ seen: z.array(z.string()).default([]) }),
    ...(budget ? { budget } : {}),
    run: chain([
      agent({ agent: 'writer', name: 'one' }),
      step('note-one', (x: string, ctx) => {
        ctx.update({ seen: [...(ctx.state.seen as string[]), 'one'] })
        return x
      }),
      agent({ agent: 'writer', name: 'two' }),
      step('final', (x: string, ctx) => ({ answer: x, state: ctx.state })),
    ]),
  })

/** Hands back `done` as replayed and from restore(); runs the rest with the local runner. */
class RemoteRunner implements StepRunner {
  constructor(
    private readonly local: StepRunner,
    private readonly done: ReadonlyMap<string, StepOutcome>,
  ) {}
  async run<O>(
    boundary: StepBoundary,
    execute: (execution: StepExecution) => Promise<StepOutcome<O>>,
  ): Promise<StepRun<O>> {
    const recorded = this.done.get(boundary.step)
    if (recorded) return { outcome: recorded as StepOutcome<O>, replayed: true }
    return this.local.run(boundary, execute)
  }
  async restore(): Promise<readonly StepOutcome[]> {
    return [...this.done.values()]
  }
}

const ONE = { text: 'first', usage: { inputTokens: 40, outputTokens: 10 } }
const TWO = { text: 'second', usage: { inputTokens: 7, outputTokens: 3 } }

/** The uninterrupted run on host A, with every leaf step's outcome by path. */
async function firstHost(budget?: WorkflowBudget) {
  const a = await harness({ turns: [ONE, TWO] })
  const outcomes = new Map<string, StepOutcome>()
  a.orchestrator.useStepRunner((log, checkpoints) => {
    const local = new CheckpointRunner(log, checkpoints)
    return {
      run: async (boundary, execute) => {
        const result = await local.run(boundary, execute)
        outcomes.set(boundary.step, result.outcome)
        return result
      },
    }
  })
  const { outcome } = await a.run(workflowOf(budget), 'go')
  return { outcome, outcomes }
}

describe("a step runner's restore()", () => {
  it("a run that meets steps another host completed has their state and usage: its outcome is the uninterrupted run's", async () => {
    const { outcome: uninterrupted, outcomes } = await firstHost()
    expect(uninterrupted.isError).toBe(false)
    // Host A "died" after the steps up to note-one; host B goes on.
    const done = new Map([...outcomes].filter(([path]) => /\/(one|note-one)$/.test(path)))
    expect(done.size).toBe(2)
    const b = await harness({ turns: [TWO] })
    b.orchestrator.useStepRunner(
      (log, checkpoints) => new RemoteRunner(new CheckpointRunner(log, checkpoints), done),
    )
    const { outcome } = await b.run(workflowOf(), 'go')
    expect(outcome.isError).toBe(false)
    expect(outcome.output).toEqual({ answer: 'second', state: { seen: ['one'] } })
    expect(outcome.output).toEqual(uninterrupted.output)
    expect(outcome.usage).toEqual(uninterrupted.usage)
    expect(outcome.usage).toMatchObject({ inputTokens: 47, outputTokens: 13 })
    // Host B made only step two's model call.
    expect(b.requests).toHaveLength(1)
  })

  it('the token budget counts the restored usage: a step past it does not call the model', async () => {
    // Step one alone uses 50 of 50 tokens: step two is over the budget on every host.
    const budget = { maxTokens: 50 }
    const { outcome: uninterrupted, outcomes } = await firstHost(budget)
    expect(uninterrupted.error?.code).toBe('TAU_WORKFLOW_BUDGET')
    const done = new Map([...outcomes].filter(([path]) => /\/(one|note-one)$/.test(path)))
    const b = await harness({ turns: [TWO] })
    b.orchestrator.useStepRunner(
      (log, checkpoints) => new RemoteRunner(new CheckpointRunner(log, checkpoints), done),
    )
    const { outcome } = await b.run(workflowOf(budget), 'go')
    expect(outcome.error?.code).toBe('TAU_WORKFLOW_BUDGET')
    expect(outcome.usage).toEqual(uninterrupted.usage)
    expect(b.requests).toHaveLength(0)
  })
})
