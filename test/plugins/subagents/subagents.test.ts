/**
 * The subagents plugin through the real agent loop: the Task tool runs a child session served by
 * the same scripted model (its turns answer the parent's and the children's calls in order), with
 * the real permissions plugin deciding both. Here: the Task tool, the child's events in the
 * parent's stream, abort and parallel Task calls (the child's permissions, agent files and
 * childModel are in child-permissions, agent-files and child-model.test.ts).
 */
import { describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../../plugins/agent/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import sessionPlugin, { sessionServiceRef } from '../../../plugins/session/index.js'
import { type SubagentStart, type SubagentStop, subagentHooksRef } from '../../../plugins/subagents/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { collect, ofType, resultOf, toolText } from '../agent/helpers.js'
import { childEvents, executed, setup, task, toolNames } from './helpers.js'

describe('Task tool', () => {
  it("records the child's session linked to the parent session and Task call (with the session plugin)", async () => {
    const h = await setup({
      turns: [task('task_link', 'reader', 'look'), { text: 'child report' }, { text: 'parent done' }],
      extraPlugins: [sessionPlugin],
    })
    const parent = h.session()
    await collect(parent.run('go'))
    const sessions = await h.kernel.resolve(sessionServiceRef).list()
    const child = sessions.find((s) => s.id !== parent.id)
    expect(child?.subagentOf).toEqual({ id: parent.id, toolCallId: 'task_link' })
    expect(sessions.find((s) => s.id === parent.id)?.subagentOf).toBeUndefined()
  })

  it('runs a child with its restricted tool set and returns its report, child events tagged with the call id', async () => {
    const h = await setup({
      turns: [
        task('task_1', 'reader', 'find the answer'),
        { toolCalls: [{ id: 'c_secret', name: 'Secret', input: {} }] },
        { toolCalls: [{ id: 'c_echo', name: 'Echo', input: { text: 'hi' } }] },
        { text: 'REPORT: the answer is 42' },
        { text: 'parent done' },
      ],
    })
    const events = await collect(h.session().run('go'))
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', isError: false, text: 'parent done' })
    // The parent got the child's final report as the Task result.
    const end = ofType(events, 'tool-end').find((e) => e.id === 'task_1')!
    expect(end.result.isError ?? false).toBe(false)
    expect(toolText(events, 'task_1')).toBe('REPORT: the answer is 42')

    // The child saw only Echo; Secret (registered, outside its list) was refused and never ran.
    const [parentCall, childCall] = h.scripted.requests
    expect(toolNames(parentCall!)).toContain('Task')
    expect(toolNames(childCall!)).toEqual(['Echo'])
    expect(JSON.stringify(childCall!.messages)).toContain('READER PROMPT')
    expect(JSON.stringify(childCall!.messages)).toContain('find the answer')
    expect(JSON.stringify(parentCall!.messages)).not.toContain('READER PROMPT')
    expect(executed).toEqual(['Echo:hi'])

    const child = childEvents(events, 'task_1')
    expect(child.length).toBeGreaterThan(0)
    expect(child.every((e) => e.parentToolCallId === 'task_1')).toBe(true)
    expect(child.every((e) => e.sessionId !== events[0]!.sessionId)).toBe(true)
    const secretEnd = ofType(child, 'tool-end').find((e) => e.id === 'c_secret')!
    expect(secretEnd.result.isError).toBe(true)
    const secretText = secretEnd.result.content.map((p) => (p.type === 'text' ? p.text : '')).join('')
    expect(secretText).toContain("no tool named 'Secret'")
    expect(secretText).toContain('The tools you can call are: Echo.')
    expect(ofType(child, 'result')[0]).toMatchObject({ text: 'REPORT: the answer is 42', isError: false })
    // The child session is closed after the call.
    expect(h.runtime.sessions()).toHaveLength(1)
  })

  it('fires subagentStart and subagentStop, and runs the child on the definition model', async () => {
    const h = await setup({ turns: [task('t', 'other'), { text: 'child report' }, { text: 'ok' }] })
    const seen: Array<SubagentStart | SubagentStop> = []
    const view = h.kernel.hooksOf(subagentHooksRef)
    view.subagentStart.tapPromise(async (c) => void seen.push(c))
    view.subagentStop.tapPromise(async (c) => void seen.push(c))
    await collect(h.session().run('go'))
    expect(h.scripted.requests[1]!.model).toEqual({ provider: 'scripted', model: 'other' })
    expect(h.scripted.requests[0]!.model).toEqual({ provider: 'scripted', model: 'test' })
    expect(seen).toHaveLength(2)
    expect(seen[0]).toMatchObject({
      toolCallId: 't',
      agentType: 'other',
      model: 'scripted:other',
      tools: ['Echo'],
    })
    expect(seen[1]).toMatchObject({
      toolCallId: 't',
      stopReason: 'end-turn',
      isError: false,
      text: 'child report',
    })
  })

  it('answers an unknown subagent_type with an error naming the agent types', async () => {
    const h = await setup({ turns: [task('t', 'nope'), { text: 'ok' }] })
    const events = await collect(h.session().run('go'))
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 't')).toContain("no agent type 'nope'")
    expect(toolText(events, 't')).toContain('general-purpose')
    expect(h.scripted.requests).toHaveLength(2)
  })

  it("without subagent_type the general-purpose agent runs; Claude Code's model parameter is accepted", async () => {
    const h = await setup({
      turns: [
        {
          toolCalls: [
            { id: 't', name: 'Task', input: { description: 'look', prompt: 'look around', model: 'haiku' } },
          ],
        },
        { text: 'general report' },
        { text: 'ok' },
      ],
    })
    const events = await collect(h.session().run('go'))
    expect(toolText(events, 't')).toBe('general report')
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.display).toMatchObject({ agentType: 'general-purpose' })
  })

  it('reports a failed child as an error result', async () => {
    const h = await setup({
      turns: [task('t', 'reader'), { status: 500, errorMessage: 'model down' }, { text: 'ok' }],
    })
    const events = await collect(h.session().run('go'))
    const end = ofType(events, 'tool-end').find((e) => e.id === 't')!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 't')).toContain("The subagent 'reader' failed")
  })
})

describe("the child's events in the parent's stream", () => {
  it("arrive as first-class events between the Task call's tool-start and tool-end, tagged and with the child's session id", async () => {
    const h = await setup({
      turns: [
        task('task_1', 'reader', 'look around'),
        { toolCalls: [{ id: 'c_echo', name: 'Echo', input: { text: 'hi' } }] },
        { text: 'child report' },
        { text: 'parent done' },
      ],
    })
    const events = await collect(h.session().run('go'))
    const parentId = events[0]!.sessionId
    const start = events.findIndex((e) => e.type === 'tool-start' && e.id === 'task_1')
    const end = events.findIndex((e) => e.type === 'tool-end' && e.id === 'task_1')
    const tagged = events.flatMap((e, i) => (e.parentToolCallId === 'task_1' ? [i] : []))
    expect(tagged.length).toBeGreaterThan(0)
    expect(tagged.every((i) => i > start && i < end)).toBe(true)
    const child = childEvents(events, 'task_1')
    const childId = child[0]!.sessionId
    expect(childId).not.toBe(parentId)
    expect(child.every((e) => e.sessionId === childId)).toBe(true)
    expect(child.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'session-start',
        'user-prompt',
        'text-delta',
        'assistant-message',
        'tool-start',
        'permission-decision',
        'tool-end',
        'usage',
        'result',
      ]),
    )
    expect(ofType(child, 'user-prompt')[0]!.prompt).toBe('look around')
    expect(ofType(child, 'tool-end')[0]).toMatchObject({ id: 'c_echo', name: 'Echo' })
    // No more nesting in tool-progress; everything else is the parent's own.
    expect(ofType(events, 'tool-progress')).toEqual([])
    expect(
      events.filter((e) => e.parentToolCallId === undefined).every((e) => e.sessionId === parentId),
    ).toBe(true)
    expect(events.at(-1)).toMatchObject({ type: 'result', sessionId: parentId, text: 'parent done' })
    expect(events.at(-1)!.parentToolCallId).toBeUndefined()
  })

  it("count the child's model calls in the parent's usage and cost (as Claude Code's totals do)", async () => {
    const usage = { inputTokens: 100, outputTokens: 50 }
    const h = await setup({
      config: {
        // $10 / $20 per million tokens: 100 in + 50 out = $0.002 a call.
        providers: {
          scripted: {
            capabilities: { pricing: { input: 10, output: 20 } },
            turns: [
              { ...task('t', 'reader'), usage },
              { toolCalls: [{ id: 'e', name: 'Echo', input: { text: 'x' } }], usage },
              { text: 'child report', usage },
              { text: 'parent done', usage },
            ],
          },
        },
      },
      turns: [],
    })
    const events = await collect(h.session().run('go'))
    const child = ofType(childEvents(events, 't'), 'result')[0]!
    expect(child.usage).toEqual({ inputTokens: 200, outputTokens: 100 })
    expect(child.costUsd).toBeCloseTo(0.004, 10)
    const result = resultOf(events)
    expect(result.turns).toBe(2)
    expect(result.usage).toEqual({ inputTokens: 400, outputTokens: 200 })
    expect(result.costUsd).toBeCloseTo(0.008, 10)
    // The parent's last usage event's total includes the child's calls too.
    const own = ofType(events, 'usage').filter((e) => e.parentToolCallId === undefined)
    expect(own.at(-1)!.total).toEqual({ inputTokens: 400, outputTokens: 200 })
  })

  it('of parallel Task calls each carry their own call id and stay within their call', async () => {
    const child: ScriptTurn = { text: 'report' }
    const h = await setup({
      turns: [
        {
          toolCalls: ['p1', 'p2'].map((id) => ({
            id,
            name: 'Task',
            input: { description: 'x', prompt: `task ${id}`, subagent_type: 'reader' },
          })),
        },
        child,
        child,
        { text: 'ok' },
      ],
    })
    const events = await collect(h.session().run('go'))
    const sessions = new Set<string>()
    for (const id of ['p1', 'p2']) {
      const start = events.findIndex((e) => e.type === 'tool-start' && e.id === id)
      const end = events.findIndex((e) => e.type === 'tool-end' && e.id === id)
      const mine = events.flatMap((e, i) => (e.parentToolCallId === id ? [i] : []))
      expect(mine.length).toBeGreaterThan(0)
      expect(mine.every((i) => i > start && i < end)).toBe(true)
      const ids = new Set(childEvents(events, id).map((e) => e.sessionId))
      expect(ids.size).toBe(1)
      sessions.add([...ids][0]!)
      expect(ofType(childEvents(events, id), 'user-prompt')[0]!.prompt).toBe(`task ${id}`)
    }
    expect(sessions.size).toBe(2)
  })
})

describe('abort and parallel Task calls', () => {
  it("aborting the parent's run aborts the child at once", async () => {
    const h = await setup({ turns: [task('t', 'reader'), { text: 'never', firstByteDelayMs: 120_000 }] })
    const stops: SubagentStop[] = []
    h.kernel.hooksOf(subagentHooksRef).subagentStop.tapPromise(async (c) => void stops.push(c))
    const controller = new AbortController()
    const events: AgentEvent[] = []
    // The child's model answers after two minutes, past the test's limit: the run ends only by the abort.
    for await (const event of h.session().run('go', { signal: controller.signal })) {
      events.push(event)
      if (event.type === 'user-prompt' && event.parentToolCallId === 't') controller.abort()
    }
    expect(resultOf(events).stopReason).toBe('aborted')
    // The aborted child's last events (its result) stay out of the parent's stream after the call ended.
    const end = events.findIndex((e) => e.type === 'tool-end' && e.id === 't')
    expect(end).toBeGreaterThan(0)
    expect(events.slice(end + 1).filter((e) => e.parentToolCallId !== undefined)).toEqual([])
    // The child ends too (the loop does not wait for aborted tools): its run stops as aborted.
    await expect.poll(() => stops.length, { timeout: HANG_LIMIT_MS }).toBe(1)
    expect(stops[0]).toMatchObject({ stopReason: 'aborted', isError: true })
    await expect.poll(() => h.runtime.sessions().length, { timeout: HANG_LIMIT_MS }).toBe(1)
  })

  for (const maxParallel of [1, 2]) {
    it(`runs Task calls of one turn in parallel, at most subagents.maxParallel (${maxParallel}) at once`, async () => {
      const child: ScriptTurn = { text: 'report', firstByteDelayMs: 150 }
      const h = await setup({
        config: { subagents: { maxParallel, agents: {} } },
        turns: [
          {
            toolCalls: [1, 2, 3].map((i) => ({
              id: `t${i}`,
              name: 'Task',
              input: { description: 'x', prompt: 'p', subagent_type: 'general-purpose' },
            })),
          },
          child,
          child,
          child,
          { text: 'ok' },
        ],
      })
      let running = 0
      let most = 0
      const view = h.kernel.hooksOf(subagentHooksRef)
      view.subagentStart.tapPromise(async () => {
        running++
        most = Math.max(most, running)
      })
      view.subagentStop.tapPromise(async () => void running--)
      const events = await collect(h.session().run('go'))
      expect(resultOf(events).isError).toBe(false)
      for (const id of ['t1', 't2', 't3']) expect(toolText(events, id)).toBe('report')
      expect(most).toBe(maxParallel)
    })
  }
})
