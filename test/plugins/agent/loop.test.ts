/**
 * The agent loop against the in-process scripted model: turns, tool calls and their failure
 * shapes, parallel read-only tools, events, usage and the conversation it leaves behind.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Conversation, definePlugin, textOf } from '../../../kernel/index.js'
import { agentHooksRef, agentRuntimeRef } from '../../../plugins/agent/index.js'
import { type Environment, environmentRef } from '../../../plugins/sandbox/environment.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { toolRegistryRef } from '../../../plugins/tools/tool.js'
import { allowAll, harness, ofType, resultOf, stubEnvironment, toolText } from './helpers.js'

const echo = defineTool({
  name: 'Echo',
  description: 'Returns its text',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: true },
  async execute({ text }, ctx) {
    ctx.progress(`echoing ${text.length} characters`, { length: text.length })
    return `echo: ${text}`
  },
})

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens })

describe('agent loop', () => {
  it('runs a multi-turn tool exchange: model -> tool -> result -> model, with events in order', async () => {
    const h = await harness({
      tools: [echo],
      decide: allowAll,
      turns: [
        {
          text: 'Let me echo.',
          toolCalls: [{ id: 'c1', name: 'Echo', input: { text: 'hi' } }],
          usage: usage(10, 5),
        },
        { text: 'The echo said hi.', usage: usage(20, 6) },
      ],
    })
    const session = h.session()
    const events = await h.run(session, 'echo hi')
    expect(events.map((e) => e.type).filter((t) => t !== 'text-delta')).toEqual([
      'session-start',
      'user-prompt',
      'assistant-message',
      'usage',
      'tool-start',
      'permission-decision',
      'tool-progress',
      'tool-end',
      'assistant-message',
      'usage',
      'result',
    ])
    // Text deltas come before the message they belong to.
    const firstMessage = events.findIndex((e) => e.type === 'assistant-message')
    expect(
      ofType(events.slice(0, firstMessage), 'text-delta')
        .map((e) => e.text)
        .join(''),
    ).toBe('Let me echo.')
    expect(events.every((e) => e.sessionId === session.id)).toBe(true)
    expect(toolText(events, 'c1')).toBe('echo: hi')
    expect(ofType(events, 'tool-progress')[0]).toMatchObject({
      id: 'c1',
      name: 'Echo',
      message: 'echoing 2 characters',
      data: { length: 2 },
    })
    expect(resultOf(events)).toMatchObject({
      stopReason: 'end-turn',
      isError: false,
      text: 'The echo said hi.',
      turns: 2,
      usage: { inputTokens: 30, outputTokens: 11 },
    })
    expect(resultOf(events).error).toBeUndefined()

    // The second request carried the tool result; the system prompt leads every request.
    const second = h.scripted.requests[1]!
    expect(second.messages[0]?.role).toBe('system')
    expect(second.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'Echo',
          content: [{ type: 'text', text: 'echo: hi' }],
        },
      ],
    })
    expect(second.tools?.map((t) => t.name)).toEqual(['Echo'])
    // The session keeps the conversation: user, assistant (tool call), tool, assistant.
    expect(session.conversation.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ])
    expect(session.conversation.isComplete()).toBe(true)
  })

  it('keeps the conversation across runs of one session', async () => {
    const h = await harness({ turns: [{ text: 'first answer' }, { text: 'second answer' }] })
    const session = h.session()
    await h.run(session, 'one')
    const events = await h.run(session, 'two')
    expect(resultOf(events).text).toBe('second answer')
    expect(h.scripted.requests[1]!.messages.slice(1).map((m) => textOf(m))).toEqual([
      'one',
      'first answer',
      'two',
    ])
    // session-start is the session's, not the run's.
    expect(ofType(events, 'session-start')).toHaveLength(0)
  })

  it('starts from a given conversation (resume) and says so to sessionStart', async () => {
    const h = await harness({ turns: [{ text: 'resumed' }] })
    const sources: string[] = []
    h.kernel.hooksOf(agentHooksRef).sessionStart.tap((context) => {
      sources.push(context.source)
    })
    const session = h.session({
      conversation: Conversation.of([
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: [{ type: 'text', text: 'earlier answer' }] },
      ]),
    })
    await h.run(session, 'now')
    expect(sources).toEqual(['resume'])
    expect(h.scripted.requests[0]!.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
    ])
  })

  it('answers an unknown tool with an error result listing the tools, and goes on', async () => {
    const h = await harness({
      tools: [echo],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 'u1', name: 'Ecko', input: {} }] }, { text: 'ok' }],
    })
    const events = await h.run(h.session(), 'go')
    const end = ofType(events, 'tool-end')[0]!
    expect(end.result.isError).toBe(true)
    expect(toolText(events, 'u1')).toMatch(
      /^<tool_use_error>Error: No such tool available: Ecko\. .*Echo.*<\/tool_use_error>$/,
    )
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', isError: false, turns: 2 })
    expect(h.permissions[0]!.decided, 'nothing to decide for a tool that does not exist').toEqual([])
  })

  it('answers broken tool arguments (inputError) with the error, without running the tool', async () => {
    let ran = 0
    const counted = defineTool({
      name: 'Counted',
      description: 'counts',
      input: z.object({ n: z.number() }),
      async execute() {
        ran++
        return 'ran'
      },
    })
    const h = await harness({
      tools: [counted],
      decide: allowAll,
      turns: [
        { toolCalls: [{ id: 'b1', name: 'Counted', rawArguments: '{"n": 1,,' }] },
        { text: 'retrying later' },
      ],
    })
    const events = await h.run(h.session(), 'go')
    expect(toolText(events, 'b1')).toMatch(/arguments for Counted are not valid JSON \(.+\)/)
    expect(ofType(events, 'tool-end')[0]!.result.isError).toBe(true)
    expect(ran).toBe(0)
    expect(resultOf(events).stopReason).toBe('end-turn')
  })

  it('answers input that fails the schema with the issues and their paths', async () => {
    const h = await harness({
      tools: [echo],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 's1', name: 'Echo', input: { text: 42 } }] }, { text: 'ok' }],
    })
    const events = await h.run(h.session(), 'go')
    expect(toolText(events, 's1')).toBe(
      '<tool_use_error>InputValidationError: Echo failed due to the following issue:\nThe parameter `text` type is expected as `string` but provided as `number`</tool_use_error>',
    )
    expect(h.permissions[0]!.decided).toEqual([])
  })

  it("refuses keys a z.object input does not name, in Claude Code's words and order; z.looseObject keeps them", async () => {
    let seen: unknown
    const loose = defineTool({
      name: 'Loose',
      description: 'takes anything more',
      input: z.looseObject({ text: z.string() }),
      async execute(input) {
        seen = input
        return 'ok'
      },
    })
    const h = await harness({
      tools: [echo, loose],
      decide: allowAll,
      turns: [
        {
          toolCalls: [
            { id: 'u1', name: 'Echo', input: { text: 'hi', path: 'x', mode: 1 } },
            { id: 'u2', name: 'Echo', input: { txt: 'hi' } },
            { id: 'u3', name: 'Loose', input: { text: 'hi', extra: true } },
          ],
        },
        { text: 'ok' },
      ],
    })
    const events = await h.run(h.session(), 'go')
    expect(toolText(events, 'u1')).toBe(
      '<tool_use_error>InputValidationError: Echo failed due to the following issues:\nAn unexpected parameter `path` was provided\nAn unexpected parameter `mode` was provided</tool_use_error>',
    )
    // Missing first, then unexpected (as Claude Code lists them).
    expect(toolText(events, 'u2')).toBe(
      '<tool_use_error>InputValidationError: Echo failed due to the following issues:\nThe required parameter `text` is missing\nAn unexpected parameter `txt` was provided</tool_use_error>',
    )
    expect(toolText(events, 'u3')).toBe('ok')
    expect(seen).toEqual({ text: 'hi', extra: true })
    // The model's schema is the object's: no additionalProperties added.
    expect(echo.inputSchema).not.toHaveProperty('additionalProperties')
  })

  it('answers a tool that throws with an error result, fires postToolUseFailure, and goes on', async () => {
    const broken = defineTool({
      name: 'Broken',
      description: 'always fails',
      input: z.object({}),
      async execute() {
        throw new Error('disk on fire')
      },
    })
    const h = await harness({
      tools: [broken],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 't1', name: 'Broken', input: {} }] }, { text: 'it failed' }],
    })
    const failures: string[] = []
    h.kernel.hooksOf(agentHooksRef).postToolUseFailure.tap((failure) => {
      failures.push(`${failure.toolName}: ${failure.error}`)
    })
    const events = await h.run(h.session(), 'go')
    expect(toolText(events, 't1')).toBe('<tool_use_error>Error: disk on fire</tool_use_error>')
    expect(failures).toEqual(['Broken: disk on fire'])
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', text: 'it failed' })
  })

  it('passes isError, structured and display of a tool output; display.todos becomes a todos event', async () => {
    const todo = defineTool({
      name: 'TodoWrite',
      description: 'todos',
      input: z.object({}),
      async execute() {
        return {
          content: [{ type: 'text', text: 'saved' }],
          structured: { count: 1 },
          display: { todos: [{ content: 'Run tests', status: 'in_progress', activeForm: 'Running tests' }] },
        }
      },
    })
    const h = await harness({
      tools: [todo],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 'd1', name: 'TodoWrite', input: {} }] }, { text: 'ok' }],
    })
    const events = await h.run(h.session(), 'go')
    const end = ofType(events, 'tool-end')[0]!
    expect(end.result.structured).toEqual({ count: 1 })
    expect(end.display).toEqual({
      todos: [{ content: 'Run tests', status: 'in_progress', activeForm: 'Running tests' }],
    })
    expect(ofType(events, 'todos')[0]!.todos).toEqual([
      { content: 'Run tests', status: 'in_progress', activeForm: 'Running tests' },
    ])
    expect(events.findIndex((e) => e.type === 'todos')).toBe(events.indexOf(end) + 1)
  })

  it('runs read-only calls of one turn in parallel (capped), the others in order, results in call order', async () => {
    let active = 0
    let peak = 0
    const log: string[] = []
    const slow = (name: string, readOnly: boolean) =>
      defineTool({
        name,
        description: name,
        input: z.object({ id: z.string() }),
        annotations: { readOnly },
        async execute({ id }) {
          active++
          peak = Math.max(peak, active)
          log.push(`start ${id}`)
          await new Promise((resolve) => setTimeout(resolve, 40))
          active--
          log.push(`end ${id}`)
          return id
        },
      })
    const h = await harness({
      tools: [slow('Look', true), slow('Change', false)],
      decide: allowAll,
      config: { agent: { maxParallelTools: 2 } },
      turns: [
        {
          toolCalls: [
            { id: 'r1', name: 'Look', input: { id: 'r1' } },
            { id: 'r2', name: 'Look', input: { id: 'r2' } },
            { id: 'r3', name: 'Look', input: { id: 'r3' } },
            { id: 'w1', name: 'Change', input: { id: 'w1' } },
            { id: 'r4', name: 'Look', input: { id: 'r4' } },
          ],
        },
        { text: 'done' },
      ],
    })
    await h.run(h.session(), 'go')
    expect(peak).toBe(2)
    // r1 and r2 overlap; the write waits for every read before it and the read after it waits for the write.
    expect(log.indexOf('start r2')).toBeLessThan(log.indexOf('end r1'))
    expect(log.indexOf('start w1')).toBeGreaterThan(log.indexOf('end r3'))
    expect(log.indexOf('start r4')).toBeGreaterThan(log.indexOf('end w1'))
    const results = h.scripted.requests[1]!.messages.at(-1)!
    expect(results.role === 'tool' && results.content.map((part) => part.toolCallId)).toEqual([
      'r1',
      'r2',
      'r3',
      'w1',
      'r4',
    ])
  })

  it('runs read-only calls one by one when parallelReadOnly is off', async () => {
    let active = 0
    let peak = 0
    const look = defineTool({
      name: 'Look',
      description: 'look',
      input: z.object({}),
      annotations: { readOnly: true },
      async execute() {
        peak = Math.max(peak, ++active)
        await new Promise((resolve) => setTimeout(resolve, 10))
        active--
        return 'seen'
      },
    })
    const h = await harness({
      tools: [look],
      decide: allowAll,
      config: { agent: { parallelReadOnly: false } },
      turns: [
        {
          toolCalls: [
            { id: 'a', name: 'Look', input: {} },
            { id: 'b', name: 'Look', input: {} },
          ],
        },
        { text: 'done' },
      ],
    })
    await h.run(h.session(), 'go')
    expect(peak).toBe(1)
  })

  it('gives tools their context: env, state shared within the session, call id, model vision', async () => {
    const seen: unknown[] = []
    const probe = defineTool({
      name: 'Probe',
      description: 'probe',
      input: z.object({}),
      async execute(_input, ctx) {
        const count = (ctx.state.get<number>('count') ?? 0) + 1
        ctx.state.set('count', count)
        seen.push({ count, callId: ctx.callId, vision: ctx.model.vision, aborted: ctx.signal.aborted })
        return String(count)
      },
    })
    const h = await harness({
      tools: [probe],
      decide: allowAll,
      capabilities: { vision: true },
      turns: [
        { toolCalls: [{ id: 'p1', name: 'Probe', input: {} }] },
        { toolCalls: [{ id: 'p2', name: 'Probe', input: {} }] },
        { text: 'done' },
        { toolCalls: [{ id: 'p3', name: 'Probe', input: {} }] },
        { text: 'done' },
      ],
    })
    await h.run(h.session(), 'go')
    await h.run(h.session(), 'again, in another session')
    expect(seen).toEqual([
      { count: 1, callId: 'p1', vision: true, aborted: false },
      { count: 2, callId: 'p2', vision: true, aborted: false },
      { count: 1, callId: 'p3', vision: true, aborted: false },
    ])
  })

  it('lets the hooks shape the run: the system prompt waterfall, a rewritten prompt, a rewritten request', async () => {
    const h = await harness({ turns: [{ text: 'ok' }] })
    const hooks = h.kernel.hooksOf(agentHooksRef)
    hooks.systemPrompt.tap((prompt) => ({
      ...prompt,
      sections: [...prompt.sections, { id: 'memory', text: 'Remember: tabs, not spaces.' }],
    }))
    hooks.userPromptSubmit.tap((submission) => ({
      ...submission,
      prompt: submission.prompt.toUpperCase(),
      additionalContext: ['(context from a hook)'],
    }))
    hooks.beforeModelCall.tap((call) => ({ ...call, request: { ...call.request, temperature: 0.1 } }))
    const calls: number[] = []
    hooks.afterModelCall.tap((result) => {
      calls.push(result.turn)
    })
    const session = h.session()
    await h.run(session, 'hello')
    const request = h.scripted.requests[0]!
    const system = textOf(request.messages[0]!)
    expect(system).toContain('You are tau, a coding agent')
    expect(system).toContain(`Working directory: ${session.cwd}`)
    expect(system).toMatch(/Date: \d{4}-\d\d-\d\d/)
    expect(system.endsWith('Remember: tabs, not spaces.')).toBe(true)
    expect(textOf(request.messages[1]!)).toBe('HELLO\n\n(context from a hook)')
    expect(request.temperature).toBe(0.1)
    expect(calls).toEqual([1])
  })

  it('builds the system prompt once per session (a stable prefix); a failed build is tried again', async () => {
    const h = await harness({ turns: [{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }] })
    let builds = 0
    h.kernel.hooksOf(agentHooksRef).systemPrompt.tap((prompt) => {
      builds++
      if (builds === 1) throw new Error('memory file unreadable')
      return prompt
    })
    const session = h.session()
    const failed = await h.run(session, 'one')
    expect(resultOf(failed)).toMatchObject({
      stopReason: 'error',
      error: { message: expect.stringContaining('memory file unreadable') },
    })
    await h.run(session, 'two')
    await h.run(session, 'three')
    expect(builds).toBe(2)
    const [first, second] = h.scripted.requests
    expect(first!.messages[0]).toEqual(second!.messages[0])
    await h.run(h.session(), 'another session builds its own')
    expect(builds).toBe(3)
  })

  it('offers tools registered after the session started from the next model call on', async () => {
    const h = await harness({ tools: [echo], turns: [{ text: 'a' }, { text: 'b' }] })
    const session = h.session()
    await h.run(session, 'one')
    const late = defineTool({
      name: 'Late',
      description: 'late',
      input: z.object({}),
      async execute() {
        return 'late'
      },
    })
    const remove = h.kernel.resolve(toolRegistryRef).register(late, 'mcp')
    await h.run(session, 'two')
    expect(h.scripted.requests.map((r) => r.tools?.map((t) => t.name))).toEqual([['Echo'], ['Echo', 'Late']])
    remove()
  })

  it('appends agent.systemPrompt from config', async () => {
    const h = await harness({
      turns: [{ text: 'ok' }],
      config: { agent: { systemPrompt: 'Answer in French.' } },
    })
    await h.run(h.session(), 'hello')
    expect(textOf(h.scripted.requests[0]!.messages[0]!)).toContain('Answer in French.')
  })

  it('stops with `blocked` when userPromptSubmit blocks the prompt, without calling the model', async () => {
    const h = await harness({ turns: [{ text: 'never' }] })
    h.kernel.hooksOf(agentHooksRef).userPromptSubmit.tap((submission) => ({
      ...submission,
      blocked: { reason: 'no secrets in prompts' },
    }))
    const events = await h.run(h.session(), 'my password is hunter2')
    expect(resultOf(events)).toMatchObject({
      stopReason: 'blocked',
      isError: true,
      turns: 0,
      error: { code: 'TAU_AGENT_PROMPT_BLOCKED', message: expect.stringContaining('no secrets in prompts') },
    })
    expect(h.scripted.requests).toHaveLength(0)
  })

  it('reports a model error as an error event and an erroring result with its code; the session stays usable', async () => {
    const h = await harness({
      turns: [{ status: 500, errorMessage: 'the GPU melted' }, { text: 'better now' }],
    })
    const session = h.session()
    const events = await h.run(session, 'go')
    expect(ofType(events, 'error')[0]).toMatchObject({ code: 'TAU_PROVIDER_SERVER', fatal: true })
    expect(resultOf(events)).toMatchObject({
      stopReason: 'error',
      isError: true,
      error: { code: 'TAU_PROVIDER_SERVER', message: expect.stringContaining('the GPU melted') },
    })
    const again = await h.run(session, 'try again')
    expect(resultOf(again)).toMatchObject({ stopReason: 'end-turn', text: 'better now' })
  })

  it('reports a context-length error as such', async () => {
    const h = await harness({
      turns: [
        {
          status: 400,
          errorMessage: "This model's maximum context length is 8192 tokens, your messages resulted in 9000",
        },
      ],
    })
    const events = await h.run(h.session(), 'go')
    expect(resultOf(events).error?.code).toBe('TAU_PROVIDER_CONTEXT_LENGTH')
  })

  it('refuses a second run while one runs (TAU_AGENT_BUSY) and runs on a closed session (TAU_AGENT_CLOSED)', async () => {
    const h = await harness({ turns: [{ text: 'slow', chunkDelayMs: 30 }] })
    const session = h.session()
    const first = h.run(session, 'one')
    expect(session.running).toBe(true)
    expect(() => session.run('two')).toThrow(expect.objectContaining({ code: 'TAU_AGENT_BUSY' }))
    await first
    expect(session.running).toBe(false)
    await session.close()
    expect(() => session.run('three')).toThrow(expect.objectContaining({ code: 'TAU_AGENT_CLOSED' }))
  })

  it('needs a model: TAU_AGENT_NO_MODEL when neither options, agent.model nor model name one', async () => {
    const h = await harness({ config: { model: undefined } })
    expect(() => h.session()).toThrow(
      expect.objectContaining({ code: 'TAU_AGENT_NO_MODEL', plugin: 'agent' }),
    )
    const runtime = h.kernel.resolve(agentRuntimeRef)
    expect(() => runtime.createSession({ model: 'not a ref' })).toThrow(/not a model ref/)
    expect(runtime.createSession({ model: 'scripted:other', scope: h.kernel.createSession() }).model).toBe(
      'scripted:other',
    )
  })

  it('opens a kernel session of its own when given none: its own environment and permissions, disposed at close', async () => {
    // Needs the kernel to offer plugins ctx.createSession(); see plugins/agent/README.md.
    const disposed: string[] = []
    const sandbox = definePlugin({
      name: 'sandbox',
      setup(ctx) {
        ctx.provide(
          environmentRef,
          (info) => ({ ...stubEnvironment(info.cwd), id: info.id }) as Environment,
          (env) => {
            disposed.push((env as Environment & { id: string }).id)
          },
        )
      },
    })
    const seen: string[] = []
    const where = defineTool({
      name: 'Where',
      description: 'where',
      input: z.object({}),
      async execute(_input, ctx) {
        seen.push(ctx.env.cwd)
        return ctx.env.cwd
      },
    })
    const h = await harness({
      tools: [where],
      decide: allowAll,
      plugins: [sandbox],
      turns: [{ toolCalls: [{ id: 'w', name: 'Where', input: {} }] }, { text: 'ok' }],
    })
    const cwd = h.kernel.paths.cwd
    const session = h.kernel.resolve(agentRuntimeRef).createSession({ cwd, permissionMode: 'plan' })
    await h.run(session, 'where are you?')
    expect(seen).toEqual([cwd])
    expect(h.permissions.map((p) => p.mode)).toEqual(['plan'])
    await session.close()
    expect(disposed).toEqual([session.id])
  })

  it('fires sessionEnd once at close, and at kernel stop for sessions still open', async () => {
    const h = await harness({ turns: [{ text: 'a' }, { text: 'b' }] })
    const ended: string[] = []
    h.kernel.hooksOf(agentHooksRef).sessionEnd.tap((context) => {
      ended.push(context.reason)
    })
    const one = h.session()
    const two = h.session()
    await h.run(one, 'x')
    await h.run(two, 'y')
    await one.close('done')
    await one.close('again')
    expect(ended).toEqual(['done'])
    await h.kernel.stop()
    expect(ended).toEqual(['done', 'stop'])
  })
})
