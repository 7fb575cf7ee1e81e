/** The OpenAI provider streaming chat completions over real HTTP from the scripted OpenAI server. */
import { afterEach, describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import { chunkId } from '../../../plugins/provider-openai/stream.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { merged } from '../providers/merged.js'
import { ANSWER_NEVER_MS } from '../providers/never.js'
import {
  collect,
  collectUntilError,
  type Harness,
  type HarnessOptions,
  request,
  startHarness,
  textOf,
  toolEnds,
} from './helpers.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.stop()
  harness = undefined
})

async function start(turns: ScriptTurn[], options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(turns, options)
  return harness
}

const readTool = {
  name: 'Read',
  description: 'Read a file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
}

const sse = (...events: unknown[]) =>
  events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('')

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-x',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
})

describe('openai provider: streaming', () => {
  it('streams text deltas, then usage (with cached and reasoning tokens) and finish', async () => {
    const { provider, chatBodies } = await start([
      {
        text: 'Hello there, world!',
        usage: { inputTokens: 12, outputTokens: 5, cacheReadTokens: 8, reasoningTokens: 2 },
        // Each delta in its own network chunk: each reaches the consumer as it arrives.
        chunkDelayMs: 5,
      },
    ])
    const events = await collect(provider.stream(request()))
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1)
    expect(textOf(events)).toBe('Hello there, world!')
    expect(events.slice(-2)).toEqual([
      {
        type: 'usage',
        usage: { inputTokens: 12, outputTokens: 5, cacheReadTokens: 8, reasoningTokens: 2 },
      },
      // The answer's id, from its first chunk (the scripted server's chatcmpl-...).
      { type: 'finish', reason: 'stop', id: expect.stringMatching(/^chatcmpl-/) },
    ])
    // The same id opens the answer, before its first text.
    expect(events[0]).toEqual({ type: 'message-start', id: (events.at(-1) as { id: string }).id })
    expect(events[1]).toMatchObject({ type: 'text-delta' })
    expect(chatBodies()[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  it.each([1, 3, 7])('gives the same events when the stream is cut every %i bytes', async (chunkBytes) => {
    const turn: ScriptTurn = {
      reasoning: 'Think: ünïcødé 🤔 first.',
      text: 'Grüße, 世界! 👋🏽 done.',
      toolCalls: [{ id: 'call_a', name: 'Read', input: { path: 'ä/ö.ts' } }],
      usage: { inputTokens: 3, outputTokens: 4 },
    }
    const { provider } = await start([turn, { ...turn, chunkBytes }])
    const whole = await collect(provider.stream(request({ tools: [readTool] })))
    const cut = await collect(provider.stream(request({ tools: [readTool] })))
    // The same events, but for how adjacent deltas of one network chunk were merged (and the
    // id, each answer's own).
    const idless = (events: StreamEvent[]) =>
      merged(events).map((e) =>
        e.type === 'finish'
          ? { type: 'finish', reason: e.reason }
          : e.type === 'message-start'
            ? { type: e.type }
            : e,
      )
    expect(idless(cut)).toEqual(idless(whole))
    expect(textOf(cut)).toBe('Grüße, 世界! 👋🏽 done.')
    expect(toolEnds(cut)).toEqual([
      { type: 'tool-call-end', id: 'call_a', name: 'Read', input: { path: 'ä/ö.ts' } },
    ])
  })

  it('merges the deltas that arrive in one network chunk into one event', async () => {
    const body = sse(
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo, ' }),
      chunk({ content: 'world' }),
      chunk({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'Read', arguments: '' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"pa' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"a"}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    )
    const { provider } = await start([{ raw: body, headers: { 'content-type': 'text/event-stream' } }])
    const events = await collect(provider.stream(request({ tools: [readTool] })))
    expect(events).toEqual([
      { type: 'message-start', id: 'chatcmpl-x' },
      { type: 'text-delta', text: 'Hello, world' },
      { type: 'tool-call-start', id: 'call_1', name: 'Read' },
      { type: 'tool-call-delta', id: 'call_1', argumentsDelta: '{"path":"a"}' },
      { type: 'tool-call-end', id: 'call_1', name: 'Read', input: { path: 'a' } },
      { type: 'finish', reason: 'tool-calls', id: 'chatcmpl-x' },
    ])
  })

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const { provider, server } = await start([{ text: 'a' }, { text: 'b' }, { text: 'c' }])
    for (let i = 0; i < 3; i++) await collect(provider.stream(request()))
    expect(server.requests).toHaveLength(3)
    expect(server.connections()).toBe(1)
  })

  it('reads reasoning from reasoning_content (DeepSeek, vLLM) before the text', async () => {
    const { provider } = await start([{ reasoning: 'Let me think about it.', text: 'Answer.' }])
    const events = await collect(provider.stream(request()))
    const reasoning = events.filter((e) => e.type === 'reasoning-delta')
    expect(reasoning.map((e) => (e.type === 'reasoning-delta' ? e.text : '')).join('')).toBe(
      'Let me think about it.',
    )
    expect(events.findIndex((e) => e.type === 'reasoning-delta')).toBeLessThan(
      events.findIndex((e) => e.type === 'text-delta'),
    )
  })

  it('reads reasoning from `reasoning` (OpenRouter)', async () => {
    const { provider, server } = await start([{ reasoning: 'Routed thoughts.', text: 'Done.' }], {
      openai: { headers: { 'x-scripted-reasoning-field': 'reasoning' } },
    })
    const events = await collect(provider.stream(request()))
    expect(server.requests[0]!.rawBody).not.toContain('reasoning_content')
    expect(
      events
        .filter((e) => e.type === 'reasoning-delta')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('Routed thoughts.')
  })

  it('streams a tool call: start, argument deltas, end with parsed input, finish tool-calls', async () => {
    const { provider } = await start([
      {
        toolCalls: [{ id: 'call_123', name: 'Read', input: { path: 'src/index.ts' } }],
        deltaChars: 4,
        // Each piece in its own network chunk: pieces that arrive together are one delta, and
        // Node 24's server sends back-to-back writes in one packet.
        chunkDelayMs: 5,
      },
    ])
    const events = await collect(provider.stream(request({ tools: [readTool] })))
    const kinds = events.map((e) => e.type)
    expect(kinds.slice(0, 2)).toEqual(['message-start', 'tool-call-start'])
    expect(events[1]).toEqual({ type: 'tool-call-start', id: 'call_123', name: 'Read' })
    const deltas = events.filter((e) => e.type === 'tool-call-delta')
    expect(deltas.length).toBeGreaterThan(2)
    expect(deltas.map((e) => (e as { argumentsDelta: string }).argumentsDelta).join('')).toBe(
      '{"path":"src/index.ts"}',
    )
    expect(toolEnds(events)).toEqual([
      { type: 'tool-call-end', id: 'call_123', name: 'Read', input: { path: 'src/index.ts' } },
    ])
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' })
  })

  it('keeps parallel tool calls apart by index, in order', async () => {
    const { provider } = await start([
      {
        text: 'Reading both.',
        toolCalls: [
          { id: 'call_1', name: 'Read', input: { path: 'a.ts' } },
          { id: 'call_2', name: 'Read', input: { path: 'b.ts' } },
          { id: 'call_3', name: 'Glob', input: { pattern: '**/*.md' } },
        ],
      },
    ])
    const events = await collect(provider.stream(request({ tools: [readTool] })))
    expect(textOf(events)).toBe('Reading both.')
    expect(toolEnds(events)).toEqual([
      { type: 'tool-call-end', id: 'call_1', name: 'Read', input: { path: 'a.ts' } },
      { type: 'tool-call-end', id: 'call_2', name: 'Read', input: { path: 'b.ts' } },
      { type: 'tool-call-end', id: 'call_3', name: 'Glob', input: { pattern: '**/*.md' } },
    ])
  })

  it('gives tool calls without ids stable, unique generated ids', async () => {
    const calls = [
      { name: 'Read', input: { path: 'a.ts' } },
      { name: 'Read', input: { path: 'b.ts' } },
    ]
    const { provider } = await start([{ toolCalls: calls }, { toolCalls: calls }])
    const first = await collect(provider.stream(request({ tools: [readTool] })))
    const second = await collect(provider.stream(request({ tools: [readTool] })))
    const ids = [...toolEnds(first), ...toolEnds(second)].map((e) => e.id)
    expect(new Set(ids).size).toBe(4)
    for (const id of ids) expect(id).toMatch(/^call_/)
    // Start, deltas and end of one call share its id.
    const firstId = ids[0]!
    const kinds = first.filter((e) => 'id' in e && e.id === firstId).map((e) => e.type)
    expect(kinds[0]).toBe('tool-call-start')
    expect(kinds.at(-1)).toBe('tool-call-end')
    expect(kinds.slice(1, -1).every((k) => k === 'tool-call-delta')).toBe(true)
    expect(kinds.length).toBeGreaterThan(2)
  })

  it('repairs broken tool-call JSON where it can, and surfaces it as inputError where it cannot', async () => {
    const { provider } = await start([
      {
        toolCalls: [
          { id: 'call_fixable', name: 'Read', rawArguments: '{"path": "a.ts",' },
          { id: 'call_broken', name: 'Read', rawArguments: '{"path": "a.t' },
        ],
      },
    ])
    const ends = toolEnds(await collect(provider.stream(request({ tools: [readTool] }))))
    expect(ends[0]).toEqual({
      type: 'tool-call-end',
      id: 'call_fixable',
      name: 'Read',
      input: { path: 'a.ts' },
    })
    expect(ends[1]).toMatchObject({ id: 'call_broken', name: 'Read', input: '{"path": "a.t' })
    expect(ends[1]!.inputError).toMatch(/cut off/)
  })

  it('maps finish reasons: length and content_filter', async () => {
    const { provider } = await start([
      { text: 'cut', finishReason: 'length' },
      { text: 'filtered', finishReason: 'content-filter' },
    ])
    expect((await collect(provider.stream(request()))).at(-1)).toMatchObject({
      type: 'finish',
      reason: 'length',
    })
    expect((await collect(provider.stream(request()))).at(-1)).toMatchObject({
      type: 'finish',
      reason: 'content-filter',
    })
  })

  it('reads servers that send a whole tool call in one delta, reuse index 0 with new ids, and finish with stop', async () => {
    const raw = sse(
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [
          { index: 0, id: 'a1', type: 'function', function: { name: 'Read', arguments: '{"path":"x"}' } },
        ],
      }),
      chunk({
        tool_calls: [
          { index: 0, id: 'b2', type: 'function', function: { name: 'Read', arguments: { path: 'y' } } },
        ],
      }),
      chunk({}, 'stop'),
      '[DONE]',
    )
    const { provider } = await start([{ raw }])
    const events = await collect(provider.stream(request({ tools: [readTool] })))
    expect(toolEnds(events)).toEqual([
      { type: 'tool-call-end', id: 'a1', name: 'Read', input: { path: 'x' } },
      { type: 'tool-call-end', id: 'b2', name: 'Read', input: { path: 'y' } },
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls', id: 'chatcmpl-x' })
  })

  it('takes usage from a chunk that also has choices (llama.cpp, vLLM), and finishes without [DONE] after finish_reason', async () => {
    const raw = sse(chunk({ content: 'ok' }), {
      ...chunk({}, 'stop'),
      usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
    })
    const { provider } = await start([{ raw }])
    const events = await collect(provider.stream(request()))
    expect(events).toEqual([
      { type: 'message-start', id: 'chatcmpl-x' },
      { type: 'text-delta', text: 'ok' },
      { type: 'usage', usage: { inputTokens: 4, outputTokens: 1 } },
      { type: 'finish', reason: 'stop', id: 'chatcmpl-x' },
    ])
  })

  it('reads a whole chat.completion object from a server that ignores stream: true', async () => {
    const raw = JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Whole.',
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'Read', arguments: '{"path":"p"}' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    })
    const { provider } = await start([{ raw, headers: { 'content-type': 'application/json' } }])
    const events = await collect(provider.stream(request({ tools: [readTool] })))
    expect(textOf(events)).toBe('Whole.')
    expect(toolEnds(events)).toEqual([
      { type: 'tool-call-end', id: 'c1', name: 'Read', input: { path: 'p' } },
    ])
    expect(events[0]).toEqual({ type: 'message-start', id: 'chatcmpl-1' })
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 2, outputTokens: 3 } },
      { type: 'finish', reason: 'tool-calls', id: 'chatcmpl-1' },
    ])
  })

  it('stops at once when aborted mid-stream, with an aborted error and no further events', async () => {
    const { provider } = await start([
      { text: 'one two three four five six seven eight '.repeat(2_000), deltaChars: 4, chunkDelayMs: 40 },
    ])
    const controller = new AbortController()
    const events: StreamEvent[] = []
    let failure: unknown
    try {
      for await (const event of provider.stream(request(), { signal: controller.signal })) {
        events.push(event)
        if (events.length === 2) controller.abort()
      }
    } catch (error) {
      failure = error
    }
    expect(failure).toMatchObject({ kind: 'aborted', code: 'TAU_PROVIDER_ABORTED' })
    expect(events).toHaveLength(2)
  })

  it('aborts while waiting for the first byte: the HTTP request itself is cancelled', async () => {
    const { provider } = await start([{ text: 'too late', firstByteDelayMs: ANSWER_NEVER_MS }])
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const { events, error } = await collectUntilError(
      provider.stream(request(), { signal: controller.signal }),
    )
    expect(error).toMatchObject({ kind: 'aborted', plugin: 'provider-openai' })
    expect(events).toEqual([])
  })

  it('the registry folds the stream into a response (complete)', async () => {
    const { registry } = await start([
      {
        text: 'Calling.',
        toolCalls: [{ id: 'call_9', name: 'Read', input: { path: 'z' } }],
        usage: { inputTokens: 1, outputTokens: 2 },
      },
    ])
    const response = await registry.complete(request({ tools: [readTool] }))
    expect(response.message.content).toEqual([
      { type: 'text', text: 'Calling.' },
      { type: 'tool-call', id: 'call_9', name: 'Read', input: { path: 'z' } },
    ])
    expect(response.finishReason).toBe('tool-calls')
    expect(response.usage).toEqual({
      inputTokens: 1,
      outputTokens: 2,
      cacheReadTokens: 0,
      reasoningTokens: 0,
    })
  })

  it('skips events that only carry usage: null (no choices) and reads a refusal as text', async () => {
    const raw = sse(
      { ...chunk({ role: 'assistant', refusal: null }), usage: null },
      { ...chunk({ refusal: "I can't help with that." }), usage: null },
      { ...chunk({}, 'stop'), usage: null },
      { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: null },
      '[DONE]',
    )
    const { provider } = await start([{ raw }])
    const events = await collect(provider.stream(request()))
    expect(events).toEqual([
      { type: 'message-start', id: 'chatcmpl-x' },
      { type: 'text-delta', text: "I can't help with that." },
      { type: 'finish', reason: 'stop', id: 'chatcmpl-x' },
    ])
  })
})

describe('openai provider: the answer id', () => {
  it('an answer without content still gets its message-start; a server that sends no id, none', async () => {
    const empty = sse(chunk({ role: 'assistant', content: '' }), chunk({}, 'stop'), '[DONE]')
    const { id: _id, ...idless } = chunk({ content: 'no id' })
    const anonymous = sse(idless, { ...chunk({}, 'stop'), id: undefined }, '[DONE]')
    const { provider } = await start([{ raw: empty }, { raw: anonymous }])
    expect(await collect(provider.stream(request()))).toEqual([
      { type: 'message-start', id: 'chatcmpl-x' },
      { type: 'finish', reason: 'stop', id: 'chatcmpl-x' },
    ])
    expect(await collect(provider.stream(request()))).toEqual([
      { type: 'text-delta', text: 'no id' },
      { type: 'finish', reason: 'stop' },
    ])
  })

  it.each([
    ['{"id":"chatcmpl-abc","object":"chat.completion.chunk"}', 'chatcmpl-abc'],
    ['{ "object": "chat.completion.chunk", "id": "chatcmpl-spaced" }', 'chatcmpl-spaced'],
    ['{"id":"chat\\"q","choices":[]}', 'chat"q'],
    ['{"object":"chat.completion.chunk"}', undefined],
    ['not json', undefined],
  ])('chunkId(%s) is %s', (data, id) => {
    expect(chunkId(data)).toBe(id)
  })
})

describe('openai provider: a stream that ends badly', () => {
  it('reports a stream that ends without finish_reason or [DONE] as a connection error', async () => {
    const { provider } = await start([{ raw: sse(chunk({ content: 'partial' })) }])
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(textOf(events)).toBe('partial')
    expect(error).toMatchObject({ kind: 'connection', retryable: false })
  })
})
