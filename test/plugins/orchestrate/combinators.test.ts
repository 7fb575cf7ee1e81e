/**
 * Every combinator through the real agent loop: hub agents on their own scripted models, each run
 * as its own session; structured output validated and retried once; the event stream, state, the
 * workflow log and budgets.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  agent,
  chain,
  defineWorkflow,
  gate,
  orchestrate,
  parallel,
  refine,
  route,
  step,
  vote,
} from '../../../plugins/orchestrate/index.js'
import { harness, lastUser, stepEnds, systemOf } from './helpers.js'

const text = z.string()

describe('chain and gates', () => {
  const workflow = defineWorkflow({
    name: 'outline-then-draft',
    input: z.object({ topic: z.string() }),
    state: z.object({ notes: z.array(z.string()).default([]) }),
    run: chain([
      agent({ agent: 'writer', name: 'outline', prompt: (i: { topic: string }) => `Outline ${i.topic}` }),
      gate((outline: string) => outline.includes('1.') || 'the outline has no numbered points'),
      step('note', (outline: string, ctx) => {
        ctx.update({ notes: [...(ctx.state.notes as string[]), `outline has ${outline.length} chars`] })
        return outline
      }),
      agent({ agent: 'critic', name: 'draft', prompt: (outline: string) => `Draft from:\n${outline}` }),
    ]),
  })

  it('runs its steps in order, each agent in its own session on its own model, and records the state', async () => {
    const h = await harness({ turns: [{ text: '1. intro 2. end' }, { text: 'THE DRAFT' }] })
    const { events, outcome } = await h.run(workflow, { topic: 'owls' })
    expect(outcome).toMatchObject({ isError: false, output: 'THE DRAFT' })
    expect(h.requests.map((r) => r.model.model)).toEqual(['writer-model', 'critic-model'])
    expect(lastUser(h.requests[0]!)).toBe('Outline owls')
    expect(lastUser(h.requests[1]!)).toBe('Draft from:\n1. intro 2. end')
    expect(systemOf(h.requests[0]!)).toContain('WRITER PROMPT')
    expect(systemOf(h.requests[1]!)).toContain('CRITIC PROMPT')
    expect(systemOf(h.requests[1]!)).not.toContain('WRITER PROMPT')
    // Agent events come through as themselves, tagged with their step; two sessions.
    const agentEvents = events.filter((e) => 'step' in e && e.type === 'result')
    expect(agentEvents.map((e) => ('step' in e ? e.step : ''))).toEqual([
      'outline-then-draft/run/outline',
      'outline-then-draft/run/draft',
    ])
    expect(new Set(agentEvents.map((e) => e.sessionId)).size).toBe(2)
    expect(events.at(-1)).toMatchObject({ type: 'workflow-end', isError: false })
    expect(events.find((e) => e.type === 'state')).toMatchObject({
      state: { notes: ['outline has 15 chars'] },
    })
    const records = await h.orchestrator.read(outcome.runId)
    const note = records.find((r) => r.type === 'step-end' && r.step.endsWith('/note'))
    expect(note).toMatchObject({
      outcome: { state: { 'outline-then-draft': { notes: ['outline has 15 chars'] } } },
    })
    const outline = records.find((r) => r.type === 'step-end' && r.step.endsWith('/outline'))
    expect(outline).toMatchObject({ outcome: { output: '1. intro 2. end', sessions: [expect.any(String)] } })
    expect(records.at(-1)).toMatchObject({ type: 'end', status: 'completed', output: 'THE DRAFT' })
  })

  it('stops at a gate that does not pass, with its reason, and runs nothing after it', async () => {
    const h = await harness({ turns: [{ text: 'no points here' }, { text: 'never' }] })
    const { outcome } = await h.run(workflow, { topic: 'owls' })
    expect(outcome).toMatchObject({
      isError: true,
      error: {
        code: 'TAU_WORKFLOW_GATE',
        message: expect.stringContaining('the outline has no numbered points'),
      },
    })
    expect(h.requests).toHaveLength(1)
  })

  it('refuses input that does not match the schema, before anything runs', async () => {
    const h = await harness()
    await expect(h.orchestrator.run(workflow, { topic: 3 })).rejects.toMatchObject({
      code: 'TAU_WORKFLOW_INPUT_INVALID',
      details: [expect.stringContaining('topic')],
    })
    expect(await h.orchestrator.runs()).toEqual([])
  })
})

describe('structured output', () => {
  const workflow = defineWorkflow({
    name: 'extract',
    input: text,
    run: agent({ agent: 'writer', output: z.object({ title: z.string(), words: z.number() }) }),
  })

  it('parses and validates the JSON answer; the prompt carries the schema', async () => {
    const h = await harness({ turns: [{ text: '```json\n{"title":"Owls","words":3}\n```' }] })
    const { outcome } = await h.run(workflow, 'Owls are birds')
    expect(outcome.output).toEqual({ title: 'Owls', words: 3 })
    expect(lastUser(h.requests[0]!)).toContain('"words"')
    expect(h.requests[0]!.responseFormat).toMatchObject({ type: 'json' })
  })

  it('asks again once, in the same session, saying what was wrong', async () => {
    const h = await harness({ turns: [{ text: '{"title":"Owls"}' }, { text: '{"title":"Owls","words":3}' }] })
    const { outcome } = await h.run(workflow, 'Owls are birds')
    expect(outcome.output).toEqual({ title: 'Owls', words: 3 })
    expect(lastUser(h.requests[1]!)).toContain('words')
    // The retry goes on in the first answer's conversation.
    expect(h.requests[1]!.messages.some((m) => m.role === 'assistant')).toBe(true)
  })

  it('fails the step when the retry is not valid either', async () => {
    const h = await harness({ turns: [{ text: 'no json' }, { text: 'still none' }] })
    const { outcome } = await h.run(workflow, 'x')
    expect(outcome.error?.code).toBe('TAU_WORKFLOW_OUTPUT_INVALID')
    expect(h.requests).toHaveLength(2)
  })
})

describe('route', () => {
  const routes = {
    billing: agent({ agent: 'writer', name: 'billing', prompt: (q: string) => `BILLING: ${q}` }),
    tech: agent({
      agent: 'critic',
      name: 'tech',
      model: 'scripted:big-model',
      prompt: (q: string) => `TECH: ${q}`,
    }),
  }
  const fallback = step('fallback', (q: string) => `no route for ${q}`)

  it('an LLM classifier picks the route; that route runs with its own agent and model', async () => {
    const workflow = defineWorkflow({
      name: 'support',
      input: text,
      run: route({ classify: { agent: 'lead' }, routes, fallback }),
    })
    const h = await harness({
      turns: [{ text: '{"route":"tech","reason":"a crash"}' }, { text: 'reboot it' }],
    })
    const { outcome, events } = await h.run(workflow, 'my app crashes')
    expect(outcome.output).toBe('reboot it')
    expect(h.requests.map((r) => r.model.model)).toEqual(['lead-model', 'big-model'])
    expect(lastUser(h.requests[0]!)).toContain('billing, tech')
    expect(stepEnds(events).map((e) => e.step)).toContain('support/run/routes/tech')
  })

  it('a function classifier, and the fallback when it names no route', async () => {
    const workflow = defineWorkflow({
      name: 'support-fn',
      input: text,
      run: route({
        classify: (q: string) => (q.includes('invoice') ? 'billing' : 'other'),
        routes,
        fallback,
      }),
    })
    const h = await harness({ turns: [{ text: 'paid' }] })
    expect((await h.run(workflow, 'my invoice')).outcome.output).toBe('paid')
    expect((await h.run(workflow, 'hello')).outcome.output).toBe('no route for hello')
    expect(h.requests).toHaveLength(1)
  })

  it('the fallback also when the LLM classifier fails', async () => {
    const workflow = defineWorkflow({
      name: 'support-broken',
      input: text,
      run: route({ classify: { agent: 'lead' }, routes, fallback }),
    })
    const h = await harness({ turns: [{ text: 'dunno' }, { text: 'still dunno' }] })
    const { outcome, events } = await h.run(workflow, 'hm')
    expect(outcome.output).toBe('no route for hm')
    expect(events.some((e) => e.type === 'workflow-notification')).toBe(true)
  })
})

describe('parallel', () => {
  const section = (name: string) => agent({ agent: 'worker', name, prompt: (t: string) => `${name}: ${t}` })

  it('runs the sections side by side and aggregates them', async () => {
    const workflow = defineWorkflow({
      name: 'review',
      input: text,
      run: parallel({
        sections: { security: section('security'), style: section('style') },
        aggregate: (r) => Object.keys(r.outputs).sort().join('+'),
      }),
    })
    const h = await harness({ turns: [{ text: 'fine' }, { text: 'fine' }] })
    const { outcome } = await h.run(workflow, 'the diff')
    expect(outcome.output).toBe('security+style')
    expect(h.requests.map(lastUser).sort()).toEqual(['security: the diff', 'style: the diff'])
  })

  it("policy 'all' fails the step when a section fails; 'settled' keeps the others' results", async () => {
    const failing = step('broken', () => {
      throw new Error('the linter crashed')
    })
    const make = (policy: 'all' | 'settled' | { min: number }) =>
      defineWorkflow({
        name: `review-${typeof policy === 'string' ? policy : 'min'}`,
        input: text,
        run: parallel({ sections: { ok: section('ok'), broken: failing }, policy }),
      })
    const h = await harness({ turns: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] })
    const all = await h.run(make('all'), 'x')
    expect(all.outcome.error).toMatchObject({
      code: 'TAU_WORKFLOW_STEP_FAILED',
      message: expect.stringContaining('the linter crashed'),
    })
    const settled = await h.run(make('settled'), 'x')
    expect(settled.outcome.output).toEqual({
      outputs: { ok: 'b' },
      errors: {
        broken: { code: 'TAU_WORKFLOW_STEP_FAILED', message: expect.stringContaining('the linter crashed') },
      },
    })
    const min = await h.run(make({ min: 2 }), 'x')
    expect(min.outcome.error?.message).toContain('the policy needs 2 to succeed')
  })

  it('votes: the majority of the voters wins; an aggregator agent can decide instead', async () => {
    const voter = agent({ agent: 'critic', output: z.object({ ok: z.boolean() }) })
    const majority = defineWorkflow({
      name: 'vote-majority',
      input: text,
      run: vote({ voters: { step: voter, count: 3 } }),
    })
    const h = await harness({
      turns: [{ text: '{"ok":true}' }, { text: '{"ok":false}' }, { text: '{"ok":true}' }],
    })
    expect((await h.run(majority, 'is it safe?')).outcome.output).toEqual({ ok: true })
    const judged = defineWorkflow({
      name: 'vote-judged',
      input: text,
      run: vote({
        voters: [agent({ agent: 'writer', name: 'a' }), agent({ agent: 'critic', name: 'b' })],
        aggregate: agent({
          agent: 'lead',
          prompt: (votes: readonly string[]) => `Pick one: ${votes.join(' | ')}`,
        }),
      }),
    })
    h.push({ text: 'yes' }, { text: 'yes' }, { text: 'final: yes' })
    const { outcome } = await h.run(judged, 'q')
    expect(outcome.output).toBe('final: yes')
    expect(lastUser(h.requests.at(-1)!)).toBe('Pick one: yes | yes')
  })
})

describe('orchestrate', () => {
  it('the lead plans at run time, workers run the subtasks (their reports as artefacts), the lead synthesises', async () => {
    const workflow = defineWorkflow({
      name: 'research',
      input: text,
      run: orchestrate({
        lead: 'lead',
        workers: { worker: 'worker', writer: 'writer' },
        concurrency: 1,
        maxSubtasks: 2,
      }),
    })
    const plan = {
      subtasks: [
        { id: 'history', task: 'Find the history', agent: 'worker' },
        { id: 'today', task: 'Find the state today', agent: 'writer' },
        { id: 'extra', task: 'One too many' },
      ],
    }
    const h = await harness({
      turns: [
        { text: JSON.stringify(plan) },
        { text: 'HISTORY REPORT' },
        { text: 'TODAY REPORT' },
        { text: 'SYNTHESIS' },
      ],
    })
    const { outcome, events } = await h.run(workflow, 'Owls')
    expect(outcome.output).toBe('SYNTHESIS')
    expect(h.requests.map((r) => r.model.model)).toEqual([
      'lead-model',
      'worker-model',
      'writer-model',
      'lead-model',
    ])
    expect(lastUser(h.requests[1]!)).toContain('Find the history')
    const synth = lastUser(h.requests[3]!)
    expect(synth).toContain('HISTORY REPORT')
    expect(synth).toMatch(/\.tau\/artefacts\/[^/]+\/history\.md/)
    expect(synth).not.toContain('One too many')
    expect(events.some((e) => e.type === 'workflow-notification' && e.message.includes('maxSubtasks'))).toBe(
      true,
    )
    const { readFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const artefact = /(\.tau\/artefacts\/\S+\/history\.md)/.exec(synth)![1]!
    expect(await readFile(join(h.kernel.paths.cwd, artefact), 'utf8')).toBe('HISTORY REPORT')
  })

  it('a failed worker does not stop the synthesis (policy settled); its failure is in the report', async () => {
    const workflow = defineWorkflow({
      name: 'research-fail',
      input: text,
      run: orchestrate({ lead: 'lead', worker: 'worker', concurrency: 1 }),
    })
    const plan = {
      subtasks: [
        { id: 'a', task: 'A' },
        { id: 'b', task: 'B' },
      ],
    }
    const h = await harness({
      turns: [
        { text: JSON.stringify(plan) },
        { status: 500, errorMessage: 'boom' },
        { text: 'B DONE' },
        { text: 'SYNTH' },
      ],
    })
    const { outcome } = await h.run(workflow, 'task')
    expect(outcome.output).toBe('SYNTH')
    expect(lastUser(h.requests.at(-1)!)).toMatch(/## a[\s\S]*failed:/)
  })
})

describe('refine', () => {
  it('rounds of generator and evaluator until the verdict passes, the feedback fed back', async () => {
    const workflow = defineWorkflow({
      name: 'polish',
      input: text,
      run: refine({
        generator: agent({ agent: 'writer' }),
        evaluator: agent({ agent: 'critic' }),
        maxRounds: 3,
      }),
    })
    const h = await harness({
      turns: [
        { text: 'draft 1' },
        { text: '{"pass":false,"feedback":"too short"}' },
        { text: 'draft 2, longer' },
        { text: '{"pass":true,"feedback":"good","score":9}' },
      ],
    })
    const { outcome } = await h.run(workflow, 'Write a line')
    expect(outcome.output).toEqual({
      output: 'draft 2, longer',
      verdict: { pass: true, feedback: 'good', score: 9 },
      rounds: 2,
    })
    expect(lastUser(h.requests[2]!)).toContain('too short')
    expect(lastUser(h.requests[2]!)).toContain('draft 1')
  })

  it('stops after maxRounds with the last output and verdict', async () => {
    const workflow = defineWorkflow({
      name: 'polish-bounded',
      input: text,
      run: refine({
        generator: agent({ agent: 'writer' }),
        evaluator: agent({ agent: 'critic' }),
        maxRounds: 1,
      }),
    })
    const h = await harness({ turns: [{ text: 'd1' }, { text: '{"pass":false,"feedback":"no"}' }] })
    const { outcome } = await h.run(workflow, 'x')
    expect(outcome.output).toMatchObject({ output: 'd1', rounds: 1, verdict: { pass: false } })
    expect(h.remaining()).toBe(0)
  })
})

describe('nesting and budgets', () => {
  it('a workflow is a step of another, with its own state; its events are in the same stream', async () => {
    const inner = defineWorkflow({
      name: 'inner',
      input: text,
      state: z.object({ seen: z.number().default(0) }),
      run: chain([
        step('count', (t: string, ctx) => {
          ctx.update({ seen: (ctx.state.seen as number) + 1 })
          return t
        }),
        agent({ agent: 'writer' }),
      ]),
    })
    const outer = defineWorkflow({
      name: 'outer',
      input: text,
      run: chain([inner, parallel({ sections: { again: inner }, aggregate: (r) => r.outputs.again })]),
    })
    const h = await harness({ turns: [{ text: 'one' }, { text: 'two' }] })
    const { outcome, events } = await h.run(outer, 'go')
    expect(outcome.output).toBe('two')
    const steps = stepEnds(events).map((e) => e.step)
    expect(steps).toContain('outer/run/inner/run/writer')
    expect(steps).toContain('outer/run/parallel/sections/again/run/writer')
    const states = events.flatMap((e) => (e.type === 'state' ? [e] : []))
    expect(states.map((s) => s.scope)).toEqual(['outer/run/inner', 'outer/run/parallel/sections/again'])
  })

  it('a token budget spans the whole workflow: the step after it is used up does not run', async () => {
    const workflow = defineWorkflow({
      name: 'budgeted',
      input: text,
      budget: { maxTokens: 100 },
      run: chain([agent({ agent: 'writer', name: 'a' }), agent({ agent: 'writer', name: 'b' })]),
    })
    const h = await harness({
      turns: [{ text: 'big', usage: { inputTokens: 90, outputTokens: 20 } }, { text: 'never' }],
    })
    const { outcome } = await h.run(workflow, 'x')
    expect(outcome.error?.code).toBe('TAU_WORKFLOW_BUDGET')
    expect(outcome.usage).toMatchObject({ inputTokens: 90, outputTokens: 20 })
    expect(h.requests).toHaveLength(1)
  })

  it('an unknown agent is a clear error naming the agents', async () => {
    const workflow = defineWorkflow({ name: 'bad', input: text, run: agent({ agent: 'nobody' }) })
    const h = await harness()
    const { outcome } = await h.run(workflow, 'x')
    expect(outcome.error).toMatchObject({
      code: 'TAU_WORKFLOW_AGENT_NOT_FOUND',
      message: expect.stringContaining('writer'),
    })
  })
})

describe('checkpoints in one process', () => {
  it('a failed run resumes from the last completed step: completed steps are not run again', async () => {
    let flaky = true
    const workflow = defineWorkflow({
      name: 'flaky',
      input: text,
      run: chain([
        agent({ agent: 'writer', name: 'first' }),
        step('sometimes', (t: string) => {
          if (flaky) throw new Error('not yet')
          return `${t}!`
        }),
        agent({ agent: 'critic', name: 'last' }),
      ]),
    })
    const h = await harness({ turns: [{ text: 'FIRST' }], workflows: [workflow] })
    const failed = await h.run('flaky', 'go')
    expect(failed.outcome.error?.message).toContain('not yet')
    flaky = false
    h.push({ text: 'LAST' })
    const resumed = await h.resume(failed.outcome.runId)
    expect(resumed.outcome).toMatchObject({ isError: false, output: 'LAST' })
    expect(h.requests).toHaveLength(2)
    expect(lastUser(h.requests[1]!)).toBe('FIRST!')
    const replayed = stepEnds(resumed.events)
      .filter((e) => e.replayed)
      .map((e) => e.step)
    expect(replayed).toEqual(['flaky/run/first'])
    await expect(h.orchestrator.resume(failed.outcome.runId)).rejects.toMatchObject({
      code: 'TAU_WORKFLOW_FINISHED',
    })
    expect((await h.orchestrator.runs())[0]).toMatchObject({ workflow: 'flaky', status: 'completed' })
  })

  it('the time budget spans the attempts: a resumed run has only what the earlier ones left', async () => {
    // Each slow step lasts at least 600 ms (a condition, polled); the budget is 1000 ms. A fresh
    // budget on resume would let 'second' (600 ms) and 'after' run; the one that spans the
    // attempts has about 400 ms left, so the step after 'second' does not start.
    const atLeast = async (ms: number) => {
      const until = Date.now() + ms
      while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    let failOnce = true
    const ran: string[] = []
    const workflow = defineWorkflow({
      name: 'timed',
      input: text,
      budget: { timeoutMs: 1000 },
      run: chain([
        step('first', async (t: string) => {
          await atLeast(600)
          return t
        }),
        step('flaky', (t: string) => {
          if (failOnce) {
            failOnce = false
            throw new Error('not yet')
          }
          return t
        }),
        step('second', async (t: string) => {
          await atLeast(600)
          return t
        }),
        step('after', (t: string) => {
          ran.push('after')
          return t
        }),
      ]),
    })
    const h = await harness({ workflows: [workflow] })
    const failed = await h.run('timed', 'go')
    expect(failed.outcome.error?.message).toContain('not yet')
    const resumed = await h.resume(failed.outcome.runId)
    expect(resumed.outcome).toMatchObject({ isError: true, error: { code: 'TAU_WORKFLOW_BUDGET' } })
    expect(ran).toEqual([])
  })
})
