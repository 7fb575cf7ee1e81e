/**
 * How a run ends: max turns, token and cost budgets, wall clock, abort (mid-stream and
 * mid-tool), the stop hook asking to go on; usage and cost accounting. Whatever ends it, every
 * tool call has a result.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { costOf } from '../../../plugins/agent/cost.js'
import { agentHooksRef } from '../../../plugins/agent/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, harness, ofType, resultOf, toolText } from './helpers.js'

const ping = defineTool({
  name: 'Ping',
  description: 'ping',
  input: z.object({}),
  annotations: { readOnly: true },
  async execute() {
    return 'pong'
  },
})

const pingTurn = (n: number, usage = { inputTokens: 100, outputTokens: 50 }) => ({
  toolCalls: [{ id: `p${n}`, name: 'Ping', input: {} }],
  usage,
})

/** A tool that waits until it is aborted (or `ignoreAbort`: forever), recording what it saw. */
function waiter(seen: { started: number; aborted: number }, options: { ignoreAbort?: boolean } = {}) {
  return defineTool({
    name: 'Wait',
    description: 'waits',
    input: z.object({}),
    async execute(_input, ctx) {
      seen.started++
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          seen.aborted++
          if (!options.ignoreAbort) resolve()
        })
        ctx.progress('waiting')
      })
      return 'finished anyway'
    },
  })
}

describe('agent limits', () => {
  it('stops at maxTurns (config and per run) with an erroring result and a complete conversation', async () => {
    const h = await harness({
      tools: [ping],
      decide: allowAll,
      config: { agent: { maxTurns: 3 } },
      turns: [1, 2, 3, 4, 5].map((n) => pingTurn(n)),
    })
    const session = h.session()
    const events = await h.run(session, 'ping forever')
    expect(resultOf(events)).toMatchObject({
      stopReason: 'max-turns',
      isError: true,
      turns: 3,
      error: { code: 'TAU_AGENT_MAX_TURNS', message: 'the run reached its limit of 3 turns' },
    })
    expect(h.scripted.requests).toHaveLength(3)
    expect(session.conversation.isComplete()).toBe(true)
    const again = await h.run(session, 'once more', { maxTurns: 1 })
    expect(resultOf(again)).toMatchObject({ stopReason: 'max-turns', turns: 1 })
  })

  it("counts spentBefore against maxTurns and the budgets, names the run's limits, and its own counters from 0", async () => {
    const h = await harness({
      tools: [ping],
      decide: allowAll,
      capabilities: { pricing: { input: 10, output: 20 } },
      turns: [1, 2, 3, 4, 5, 6].map((n) => pingTurn(n)),
    })
    const session = h.session()
    // Two of 3 turns spent before: one call is left, and the message names 3.
    const turns = await h.run(session, 'go', {
      maxTurns: 3,
      spentBefore: { turns: 2, usage: { inputTokens: 0, outputTokens: 0 } },
    })
    expect(resultOf(turns)).toMatchObject({
      stopReason: 'max-turns',
      turns: 1,
      error: { message: 'the run reached its limit of 3 turns' },
    })
    expect(h.scripted.requests).toHaveLength(1)
    // 250 of 400 tokens spent before: one call (150) reaches the budget, the message counts both.
    const tokens = await h.run(session, 'go', {
      maxTokens: 400,
      spentBefore: { turns: 1, usage: { inputTokens: 200, outputTokens: 50 } },
    })
    expect(resultOf(tokens)).toMatchObject({
      stopReason: 'token-budget',
      turns: 1,
      usage: { inputTokens: 100, outputTokens: 50 },
      error: { message: 'the run used 400 tokens, its budget is 400' },
    })
    // $0.004 of $0.005 spent before: one call ($0.002) passes the budget.
    const cost = await h.run(session, 'go', {
      maxCostUsd: 0.005,
      spentBefore: { turns: 1, usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0.004 },
    })
    expect(resultOf(cost)).toMatchObject({ stopReason: 'cost-budget', turns: 1 })
    expect(resultOf(cost).costUsd).toBeCloseTo(0.002, 10)
    expect(resultOf(cost).error?.message).toMatch(/cost \$0\.0060, its budget is \$0\.005/)
    expect(h.scripted.requests).toHaveLength(3)
  })

  it('stops when the token budget (input + output over the run) is used up', async () => {
    const h = await harness({
      tools: [ping],
      decide: allowAll,
      config: { agent: { maxTokens: 200 } },
      turns: [1, 2, 3].map((n) => pingTurn(n)),
    })
    const events = await h.run(h.session(), 'go')
    expect(resultOf(events)).toMatchObject({
      stopReason: 'token-budget',
      isError: true,
      turns: 2,
      usage: { inputTokens: 200, outputTokens: 100 },
      error: { code: 'TAU_AGENT_TOKEN_BUDGET' },
    })
  })

  it('accounts usage and cost per call and in total, and stops at the cost budget', async () => {
    const h = await harness({
      tools: [ping],
      decide: allowAll,
      // $10 / $20 per million tokens: 100 in + 50 out = $0.002 a call.
      capabilities: { pricing: { input: 10, output: 20 } },
      config: { agent: { maxCostUsd: 0.005 } },
      turns: [1, 2, 3, 4].map((n) => pingTurn(n)),
    })
    const events = await h.run(h.session(), 'go')
    const usages = ofType(events, 'usage')
    expect(usages.map((u) => u.costUsd)).toEqual([
      expect.closeTo(0.002, 10),
      expect.closeTo(0.004, 10),
      expect.closeTo(0.006, 10),
    ])
    expect(usages[2]!.total).toEqual({ inputTokens: 300, outputTokens: 150 })
    expect(usages[2]!.usage).toEqual({ inputTokens: 100, outputTokens: 50 })
    const result = resultOf(events)
    expect(result).toMatchObject({ stopReason: 'cost-budget', isError: true, turns: 3 })
    expect(result.costUsd).toBeCloseTo(0.006, 10)
    expect(result.error?.message).toMatch(/cost \$0\.0060, its budget is \$0\.005/)
  })

  it('says so when a cost budget is set but the model has no prices, and does not stop for it', async () => {
    const h = await harness({ config: { agent: { maxCostUsd: 0.01 } }, turns: [{ text: 'free?' }] })
    const events = await h.run(h.session(), 'go')
    expect(ofType(events, 'notification')[0]).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('the cost budget is not enforced'),
    })
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn' })
    expect(resultOf(events).costUsd).toBeUndefined()
  })

  it('prices cached input at the cache rates, the rest at the input rate', () => {
    const cost = costOf(
      {
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
        cacheReadTokens: 600_000,
        cacheWriteTokens: 100_000,
      },
      { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    )
    expect(cost).toBeCloseTo(0.3 * 3 + 0.6 * 0.3 + 0.1 * 3.75 + 15, 10)
    expect(
      costOf({ inputTokens: 10, outputTokens: 0, cacheReadTokens: 10 }, { input: 1, output: 1 }),
    ).toBeCloseTo(0.00001, 12)
  })

  it('stops at the wall-clock limit: the running tool gets the abort and is answered', async () => {
    const seen = { started: 0, aborted: 0 }
    const h = await harness({
      tools: [waiter(seen)],
      decide: allowAll,
      // Long enough for the tool to start on a busy machine; the tool then waits until aborted.
      config: { agent: { timeoutMs: 1_000 } },
      turns: [{ toolCalls: [{ id: 'w1', name: 'Wait', input: {} }] }, { text: 'never' }],
    })
    const session = h.session()
    // The tool waits until it is aborted: the run ends only because the limit aborted it.
    const events = await h.run(session, 'wait')
    expect(seen).toEqual({ started: 1, aborted: 1 })
    expect(resultOf(events)).toMatchObject({
      stopReason: 'timeout',
      isError: true,
      error: { code: 'TAU_AGENT_TIMEOUT' },
    })
    expect(toolText(events, 'w1')).toMatch(/^Aborted/)
    expect(session.conversation.isComplete()).toBe(true)
    expect(h.scripted.requests).toHaveLength(1)
  })

  it('abort mid-tool: stops at once, the tool is aborted, every call (started or not) has a result', async () => {
    const seen = { started: 0, aborted: 0 }
    const h = await harness({
      tools: [waiter(seen, { ignoreAbort: true }), ping],
      decide: allowAll,
      turns: [
        {
          toolCalls: [
            { id: 'w1', name: 'Wait', input: {} },
            { id: 'p1', name: 'Ping', input: {} },
            { id: 'p2', name: 'Ping', input: {} },
          ],
        },
        { text: 'never' },
      ],
    })
    const session = h.session()
    const controller = new AbortController()
    const events = []
    for await (const event of session.run('wait', { signal: controller.signal })) {
      events.push(event)
      if (event.type === 'tool-start' && event.id === 'w1') {
        setTimeout(() => controller.abort(), 20)
      }
    }
    // The tool ignores its signal and never returns, yet the run ended.
    expect(seen).toEqual({ started: 1, aborted: 1 })
    expect(resultOf(events)).toMatchObject({
      stopReason: 'aborted',
      isError: true,
      error: { code: 'TAU_AGENT_ABORTED' },
    })
    for (const id of ['w1', 'p1', 'p2']) expect(toolText(events, id)).toMatch(/^Aborted/)
    expect(ofType(events, 'tool-start').map((e) => e.id)).toEqual(['w1', 'p1', 'p2'])
    expect(session.conversation.isComplete()).toBe(true)
    const last = session.conversation.last()!
    expect(last.role === 'tool' && last.content.map((part) => part.toolCallId)).toEqual(['w1', 'p1', 'p2'])
    expect(h.scripted.requests).toHaveLength(1)
    // The session goes on after an abort.
    const next = await h.run(session, 'are you there?')
    expect(resultOf(next)).toMatchObject({ stopReason: 'end-turn', text: 'never' })
  })

  it('abort mid-stream: the model call is cancelled, the text so far stays in the conversation', async () => {
    const h = await harness({
      turns: [{ text: 'one two three four five six seven', deltaChars: 4, chunkDelayMs: 30 }],
    })
    const session = h.session()
    const controller = new AbortController()
    const deltas: string[] = []
    let result: unknown
    for await (const event of session.run('count', { signal: controller.signal })) {
      if (event.type === 'text-delta') {
        deltas.push(event.text)
        if (deltas.length === 2) controller.abort()
      }
      if (event.type === 'result') result = event
    }
    expect(result).toMatchObject({ stopReason: 'aborted', text: 'one two ' })
    expect(deltas.join('')).toBe('one two ')
    expect(session.conversation.messages.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(session.conversation.isComplete()).toBe(true)
  })

  it('an already-aborted signal ends the run before any model call; leaving the loop early aborts the run', async () => {
    const h = await harness({ turns: [{ text: 'slow', chunkDelayMs: 50, deltaChars: 1 }] })
    const session = h.session()
    const events = await h.run(session, 'go', { signal: AbortSignal.abort() })
    expect(resultOf(events)).toMatchObject({ stopReason: 'aborted', turns: 0 })
    expect(h.scripted.requests).toHaveLength(0)

    for await (const event of session.run('go')) {
      if (event.type === 'text-delta') break
    }
    expect(session.running).toBe(false)
    expect(session.conversation.isComplete()).toBe(true)
  })

  it('stopping the kernel aborts a running run', async () => {
    const seen = { started: 0, aborted: 0 }
    const h = await harness({
      tools: [waiter(seen)],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 'w1', name: 'Wait', input: {} }] }],
    })
    const session = h.session()
    const events: string[] = []
    const running = (async () => {
      for await (const event of session.run('wait')) {
        events.push(event.type)
        if (event.type === 'tool-progress') void h.kernel.stop()
      }
    })()
    await running
    expect(seen.aborted).toBe(1)
    expect(events.at(-1)).toBe('result')
  })

  it('the stop hook may ask to go on, once in a row; it sees `continued`', async () => {
    const h = await harness({ turns: [{ text: 'done?' }, { text: 'really done' }, { text: 'never asked' }] })
    const seen: boolean[] = []
    h.kernel.hooksOf(agentHooksRef).stop.tap((context) => {
      seen.push(context.continued)
      return { continue: true, reason: 'Also run the tests.' }
    })
    const events = await h.run(h.session(), 'fix it')
    expect(h.scripted.requests).toHaveLength(2)
    expect(h.scripted.requests[1]!.messages.at(-1)).toEqual({ role: 'user', content: 'Also run the tests.' })
    expect(seen).toEqual([false, true])
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', text: 'really done', turns: 2 })
  })

  it('a stop hook that throws ends the run normally', async () => {
    const h = await harness({ turns: [{ text: 'done' }] })
    h.kernel.hooksOf(agentHooksRef).stop.tap(() => {
      throw new Error('stop tap broke')
    })
    const events = await h.run(h.session(), 'go')
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', isError: false })
    expect(h.kernel.logs.some((record) => record.message.includes('stop tap broke'))).toBe(true)
  })
})
