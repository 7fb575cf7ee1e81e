/** provider-anthropic over real HTTP against the scripted Anthropic server: streams and failures. */
import { afterEach, describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import {
  type AnthropicScriptTurn,
  scriptedSignature,
} from '../../../plugins/provider-scripted/wire/anthropic.js'
import { ProviderError } from '../../../plugins/providers/index.js'
import { merged } from '../providers/merged.js'
import { ANSWER_NEVER_MS } from '../providers/never.js'
import {
  collect,
  collectUntilError,
  KEY,
  MODEL,
  messageRequests,
  request,
  type Setup,
  setup,
  textOf,
} from './helpers.js'

let t: Setup | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const start = async (script: readonly ScriptTurn[], options: Parameters<typeof setup>[1] = {}) => {
  t = await setup(script, options)
  return t
}

const tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
}

describe('provider-anthropic streaming', () => {
  it('streams text, then usage and finish, from POST /v1/messages with the Anthropic headers', async () => {
    const { registry, server } = await start([
      // Each delta in its own network chunk: each reaches the consumer as it arrives.
      { text: 'Hello there, world!', usage: { inputTokens: 12, outputTokens: 5 }, chunkDelayMs: 5 },
    ])
    const events = await collect(registry.stream(request()))
    expect(textOf(events)).toBe('Hello there, world!')
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1)
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 } },
      // The message's id from message_start (the scripted server's msg_scripted...).
      { type: 'finish', reason: 'stop', id: expect.stringMatching(/^msg_scripted\d+$/) },
    ])
    const sent = messageRequests(server)[0]!
    expect(sent.path).toBe('/v1/messages')
    expect(sent.headers['x-api-key']).toBe(KEY)
    expect(sent.headers['anthropic-version']).toBe('2023-06-01')
    expect(sent.headers.authorization).toBeUndefined()
    expect(sent.body).toMatchObject({ model: MODEL, stream: true, max_tokens: 64_000 })
  })

  it.each([1, 3, 7])('gives the same events when the stream is cut every %i bytes', async (chunkBytes) => {
    const turn: AnthropicScriptTurn = {
      reasoning: 'Thinking in ünïcödé 🤔 here.',
      text: 'Ça va? 日本語のテキスト 👋',
      toolCalls: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Zürich' } }],
      usage: { inputTokens: 3, outputTokens: 4 },
      deltaChars: 3,
    }
    const { registry } = await start([turn, { ...turn, chunkBytes }])
    const whole = await collect(registry.stream(request()))
    const cut = await collect(registry.stream(request()))
    // The same events, but for how adjacent deltas of one network chunk were merged.
    // The message id is each answer's own.
    const idless = (events: StreamEvent[]) =>
      merged(events).map((e) =>
        e.type === 'finish'
          ? { type: 'finish', reason: e.reason }
          : e.type === 'message-start'
            ? { type: 'message-start', usage: e.usage }
            : e,
      )
    expect(idless(cut)).toEqual(idless(whole))
    expect(textOf(cut)).toBe('Ça va? 日本語のテキスト 👋')
    expect(cut.find((e) => e.type === 'tool-call-end')).toMatchObject({ input: { city: 'Zürich' } })
  })

  it("message-start carries message_start's id and input usage, right before the first content event", async () => {
    const { registry } = await start([
      { text: 'hi', usage: { inputTokens: 12, outputTokens: 5, cacheReadTokens: 4, cacheWriteTokens: 2 } },
    ])
    const events = await collect(registry.stream(request()))
    expect(events[0]).toEqual({
      type: 'message-start',
      id: expect.stringMatching(/^msg_scripted\d+$/),
      // The wire's input_tokens (12) exclude the cached parts; tau's inputTokens is the whole
      // prompt. Output is message_start's (at most 1).
      usage: { inputTokens: 18, outputTokens: 1, cacheReadTokens: 4, cacheWriteTokens: 2 },
    })
    expect(events[1]).toMatchObject({ type: 'text-delta' })
    expect(events.filter((e) => e.type === 'message-start')).toHaveLength(1)
    expect((events[0] as { id: string }).id).toBe((events.at(-1) as { id: string }).id)
  })

  it('an answer without content still gets its message-start, before usage and finish', async () => {
    const raw =
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_empty","usage":{"input_tokens":7,"output_tokens":1}}}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    const { registry } = await start([{ raw }])
    const events = await collect(registry.stream(request()))
    expect(events.map((e) => e.type)).toEqual(['message-start', 'usage', 'finish'])
    expect(events[0]).toEqual({
      type: 'message-start',
      id: 'msg_empty',
      usage: { inputTokens: 7, outputTokens: 1 },
    })
  })

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const { registry, server } = await start([{ text: 'a' }, { text: 'b' }, { text: 'c' }])
    for (let i = 0; i < 3; i++) await collect(registry.stream(request()))
    expect(messageRequests(server)).toHaveLength(3)
    expect(server.connections()).toBeLessThan(3)
  })

  it('times out a slow first byte (firstByteMs)', async () => {
    const { registry } = await start([{ text: 'late', firstByteDelayMs: ANSWER_NEVER_MS }], {
      providers: { timeouts: { firstByteMs: 100 } },
    })
    const { error } = await collectUntilError(registry.stream(request()))
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_TIMEOUT', kind: 'timeout' })
  })

  it('a connection dropped mid-stream is a connection error, not retried, text not duplicated', async () => {
    const { registry, server } = await start([
      { text: 'The first part arrives, then the line goes dead.', dropAfterBytes: 700, deltaChars: 4 },
      { text: 'never sent' },
    ])
    const { events, error } = await collectUntilError(registry.stream(request()))
    expect(error).toMatchObject({ kind: 'connection', retryable: false })
    const text = textOf(events)
    expect(text.length).toBeGreaterThan(0)
    expect('The first part arrives, then the line goes dead.'.startsWith(text)).toBe(true)
    expect(messageRequests(server)).toHaveLength(1)
    expect(server.remaining()).toBe(1)
  })

  it('retries a 429 after the Retry-After it was given, then streams', async () => {
    const { registry, server } = await start([
      {
        status: 429,
        errorMessage: 'Number of request tokens has exceeded your rate limit',
        headers: { 'retry-after': '0.12' },
      },
      { text: 'after the wait' },
    ])
    const began = Date.now()
    const events = await collect(registry.stream(request()))
    expect(Date.now() - began).toBeGreaterThanOrEqual(110)
    expect(textOf(events)).toBe('after the wait')
    expect(messageRequests(server)).toHaveLength(2)
  })

  it('retries 529 overloaded (HTTP status) before any output', async () => {
    const { registry, server } = await start([{ status: 529, errorMessage: 'Overloaded' }, { text: 'ok' }])
    expect(textOf(await collect(registry.stream(request())))).toBe('ok')
    expect(messageRequests(server)).toHaveLength(2)
  })

  it('401 is an auth error naming the key variable, without the key', async () => {
    const { registry } = await start([{ status: 401, errorMessage: 'invalid x-api-key' }])
    const { error } = await collectUntilError(registry.stream(request()))
    expect(error).toBeInstanceOf(ProviderError)
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_AUTH', kind: 'auth', status: 401 })
    expect((error as ProviderError).hint).toContain('ANTHROPIC_API_KEY')
    expect((error as Error).message).toContain('invalid x-api-key')
    expect(JSON.stringify(error) + (error as Error).message).not.toContain(KEY)
  })

  it('404 is model-not-found', async () => {
    const { registry } = await start([{ status: 404, errorMessage: `model: ${MODEL}-typo` }])
    const { error } = await collectUntilError(registry.stream(request()))
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_MODEL_NOT_FOUND', kind: 'model-not-found' })
  })

  it('recognises "prompt is too long" as context-length, as a status and inside the stream', async () => {
    const tooLong = 'prompt is too long: 210512 tokens > 200000 maximum'
    const { registry } = await start([
      { status: 400, errorMessage: tooLong },
      { streamError: tooLong, streamErrorType: 'invalid_request_error' } as AnthropicScriptTurn,
      { status: 400, errorMessage: 'messages.1.content: tool_use ids must be unique' },
    ])
    const first = await collectUntilError(registry.stream(request()))
    expect(first.error).toMatchObject({ code: 'TAU_PROVIDER_CONTEXT_LENGTH', kind: 'context-length' })
    const second = await collectUntilError(registry.stream(request()))
    expect(second.error).toMatchObject({ kind: 'context-length', retryable: false })
    const third = await collectUntilError(registry.stream(request()))
    expect(third.error).toMatchObject({ kind: 'bad-request' })
  })

  it('a body that is not the Messages stream is a bad-response error', async () => {
    const { registry } = await start([
      { raw: 'event: message_start\ndata: {"type":"message_start","message":{\n\n' },
      { raw: 'data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n' },
    ])
    const broken = await collectUntilError(registry.stream(request()))
    expect(broken.error).toMatchObject({ code: 'TAU_PROVIDER_BAD_RESPONSE', kind: 'bad-response' })
    const openai = await collectUntilError(registry.stream(request()))
    expect(openai.error).toMatchObject({ kind: 'bad-response' })
  })

  it('an error event after output ends the call with that error, not retried', async () => {
    const { registry, server } = await start([
      { text: 'Partial answer', streamError: 'Overloaded' },
      { text: 'must not be fetched' },
    ])
    const { events, error } = await collectUntilError(registry.stream(request()))
    expect(textOf(events)).toBe('Partial answer')
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_SERVER', kind: 'server', retryable: false })
    expect((error as Error).message).toContain('overloaded_error')
    expect(messageRequests(server)).toHaveLength(1)
  })

  it('an overloaded_error event before any output is retried; a non-retryable one is not', async () => {
    const { registry, server } = await start([
      { streamError: 'Overloaded' },
      { text: 'second try' },
      { streamError: 'bad thing', streamErrorType: 'invalid_request_error' } as AnthropicScriptTurn,
      { text: 'not reached' },
    ])
    const events = await collect(registry.stream(request()))
    expect(textOf(events)).toBe('second try')
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1)
    expect(messageRequests(server)).toHaveLength(2)
    const { error } = await collectUntilError(registry.stream(request()))
    expect(error).toMatchObject({ kind: 'bad-request' })
    expect(messageRequests(server)).toHaveLength(3)
  })

  it('a stream that ends before message_stop is an error', async () => {
    const { registry } = await start([
      {
        raw:
          'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":1,"output_tokens":1}}}\n\n' +
          'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
          'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"cut"}}\n\n',
      },
    ])
    const { events, error } = await collectUntilError(registry.stream(request()))
    expect(textOf(events)).toBe('cut')
    expect(error).toMatchObject({ kind: 'connection', retryable: false })
    expect((error as Error).message).toContain('message_stop')
  })

  it('tool calls: ids from the wire, parallel calls in order, arguments streamed and parsed', async () => {
    const { registry } = await start([
      {
        text: 'Checking both.',
        toolCalls: [
          { id: 'toolu_01AAA', name: 'get_weather', input: { city: 'Paris' } },
          { name: 'get_weather', input: { city: 'Rome' } },
        ],
        deltaChars: 4,
        chunkDelayMs: 2,
      },
    ])
    const events = await collect(registry.stream(request({ tools: [tool] })))
    const calls = events.filter((e) => e.type.startsWith('tool-call'))
    const starts = calls.filter((e) => e.type === 'tool-call-start')
    expect(starts.map((e) => (e as { id: string }).id)[0]).toBe('toolu_01AAA')
    // The second call had no id in the script: the server gave it one, and tau kept it.
    expect((starts[1] as { id: string }).id).toMatch(/^toolu_scripted/)
    const ends = calls.filter((e) => e.type === 'tool-call-end')
    expect(ends).toEqual([
      { type: 'tool-call-end', id: 'toolu_01AAA', name: 'get_weather', input: { city: 'Paris' } },
      {
        type: 'tool-call-end',
        id: (starts[1] as { id: string }).id,
        name: 'get_weather',
        input: { city: 'Rome' },
      },
    ])
    const firstArgs = calls
      .filter((e): e is Extract<StreamEvent, { type: 'tool-call-delta' }> => e.type === 'tool-call-delta')
      .filter((e) => e.id === 'toolu_01AAA')
      .map((e) => e.argumentsDelta)
    expect(firstArgs.length).toBeGreaterThan(1)
    expect(firstArgs.join('')).toBe('{"city":"Paris"}')
    // Each call starts after the previous one ended.
    expect(calls.map((e) => e.type)).toEqual(
      expect.arrayContaining(['tool-call-start', 'tool-call-delta', 'tool-call-end']),
    )
    const order = calls.map((e) => `${e.type}:${(e as { id: string }).id === 'toolu_01AAA' ? 1 : 2}`)
    expect(order.indexOf('tool-call-end:1')).toBeLessThan(order.indexOf('tool-call-start:2'))
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' })
  })

  it('a tool_use block without an id gets a stable, unique generated one', async () => {
    const block = (index: number, city: string) =>
      `event: content_block_start\ndata: {"type":"content_block_start","index":${index},"content_block":{"type":"tool_use","name":"get_weather","input":{}}}\n\n` +
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":"{\\"city\\":\\"${city}\\"}"}}\n\n` +
      `event: content_block_stop\ndata: {"type":"content_block_stop","index":${index}}\n\n`
    const raw =
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":1,"output_tokens":1}}}\n\n' +
      block(0, 'A') +
      block(1, 'B') +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    const { registry } = await start([{ raw }, { raw }])
    const first = await registry.complete(request({ tools: [tool] }))
    const second = await registry.complete(request({ tools: [tool] }))
    const ids = [...first.message.content, ...second.message.content].map((p) => (p as { id: string }).id)
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true)
    expect(new Set(ids).size).toBe(4)
    expect(first.message.content).toMatchObject([
      { type: 'tool-call', name: 'get_weather', input: { city: 'A' } },
      { type: 'tool-call', name: 'get_weather', input: { city: 'B' } },
    ])
  })

  it('broken tool-call JSON is repaired where it can be, else surfaced as inputError with the raw text', async () => {
    const { registry } = await start([
      {
        toolCalls: [
          { id: 'toolu_fix', name: 'get_weather', rawArguments: '{"city": "Paris",}' },
          { id: 'toolu_bad', name: 'get_weather', rawArguments: '{"city": "Par' },
        ],
      },
    ])
    const ends = (await collect(registry.stream(request({ tools: [tool] })))).filter(
      (e) => e.type === 'tool-call-end',
    )
    expect(ends[0]).toEqual({
      type: 'tool-call-end',
      id: 'toolu_fix',
      name: 'get_weather',
      input: { city: 'Paris' },
    })
    expect(ends[1]).toMatchObject({ id: 'toolu_bad', input: '{"city": "Par' })
    expect((ends[1] as { inputError?: string }).inputError).toMatch(/cut off/)
  })

  it('reasoning: thinking deltas, the signature, and both sent back on the next call', async () => {
    const reasoning = 'First, consider the question carefully.'
    const { registry, server } = await start([
      { reasoning, text: 'Answer.', deltaChars: 6 },
      { text: 'Next.' },
    ])
    const response = await registry.complete(request({ reasoning: true }))
    expect(response.message.content).toEqual([
      { type: 'reasoning', text: reasoning, signature: scriptedSignature(reasoning) },
      { type: 'text', text: 'Answer.' },
    ])
    await collect(
      registry.stream(
        request({
          reasoning: true,
          messages: [{ role: 'user', content: 'Q' }, response.message, { role: 'user', content: 'More' }],
        }),
      ),
    )
    const sent = messageRequests(server)[1]!.body as { messages: Array<{ role: string; content: unknown[] }> }
    expect(sent.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: reasoning, signature: scriptedSignature(reasoning) },
        { type: 'text', text: 'Answer.', cache_control: { type: 'ephemeral' } },
      ],
    })
  })

  it('redacted thinking comes through as opaque reasoning and goes back as redacted_thinking', async () => {
    const { registry, server } = await start([
      { redactedThinking: 'EncRyPtEd==', text: 'Done.' } as AnthropicScriptTurn,
      { text: 'ok' },
    ])
    const events = await collect(registry.stream(request({ reasoning: true })))
    expect(events.find((e) => e.type === 'reasoning-delta')).toEqual({
      type: 'reasoning-delta',
      text: '',
      signature: 'EncRyPtEd==',
      redacted: true,
    })
    const response = await registry.complete(
      request({
        messages: [
          { role: 'user', content: 'Q' },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: '', signature: 'EncRyPtEd==', redacted: true },
              { type: 'reasoning', text: '', redacted: true, signature: 'Other==' },
              { type: 'text', text: 'Done.' },
            ],
          },
          { role: 'user', content: 'again' },
        ],
      }),
    )
    expect(response.message.content).toEqual([{ type: 'text', text: 'ok' }])
    const sent = messageRequests(server)[1]!.body as { messages: Array<{ content: unknown[] }> }
    expect(sent.messages[1]!.content.slice(0, 2)).toEqual([
      { type: 'redacted_thinking', data: 'EncRyPtEd==' },
      { type: 'redacted_thinking', data: 'Other==' },
    ])
  })

  it('usage: the whole prompt as inputTokens, with cache reads and writes, output from message_delta', async () => {
    const { registry } = await start([
      {
        text: 'x',
        usage: { inputTokens: 120, outputTokens: 57, cacheReadTokens: 1000, cacheWriteTokens: 30 },
      },
    ])
    const events = await collect(registry.stream(request()))
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 1150, outputTokens: 57, cacheReadTokens: 1000, cacheWriteTokens: 30 },
    })
  })

  it.each([
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'stop'],
    ['model_context_window_exceeded', 'length'],
  ])('stop_reason %s finishes as %s', async (stopReason, reason) => {
    const { registry } = await start([{ text: 'x', stopReason } as AnthropicScriptTurn])
    const events = await collect(registry.stream(request()))
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason })
  })

  it('abort mid-stream stops at once with an aborted error and closes the request', async () => {
    const { registry, server } = await start([
      {
        text: 'a long answer that keeps on coming, chunk after chunk, for a while '.repeat(200),
        deltaChars: 2,
        chunkDelayMs: 30,
      },
      { text: 'next' },
    ])
    const controller = new AbortController()
    const seen: StreamEvent[] = []
    let error: unknown
    try {
      for await (const event of registry.stream(request(), { signal: controller.signal })) {
        seen.push(event)
        if (seen.length === 2) controller.abort()
      }
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_ABORTED', kind: 'aborted' })
    expect(seen).toHaveLength(2)
    // The provider still works after an abort.
    expect(textOf(await collect(registry.stream(request())))).toBe('next')
    expect(messageRequests(server)).toHaveLength(2)
  })

  it('without a key for api.anthropic.com it says which variable to set, and sends nothing', async () => {
    const { registry, server } = await start([], {
      anthropic: {
        apiKey: undefined,
        apiKeyVariable: 'TAU_TEST_UNSET_ANTHROPIC_KEY',
        baseURL: 'https://api.anthropic.com',
      },
    })
    const { error } = await collectUntilError(registry.stream(request()))
    expect(error).toMatchObject({ code: 'TAU_PROVIDER_NOT_CONFIGURED', kind: 'not-configured' })
    expect((error as Error).message).toContain('TAU_TEST_UNSET_ANTHROPIC_KEY')
    expect(server.requests).toHaveLength(0)
  })

  it('Azure AI Foundry: base URL with /anthropic, a bearer token, the same Messages API', async () => {
    const { registry, server } = await start([{ text: 'from foundry' }], {
      basePath: '/anthropic/',
      anthropic: { authHeader: 'bearer', apiKey: 'entra-token-xyz' },
    })
    const model = { provider: 'anthropic', model: 'my-claude-deployment' }
    expect(textOf(await collect(registry.stream(request({ model }))))).toBe('from foundry')
    const sent = messageRequests(server)[0]!
    expect(sent.path).toBe('/anthropic/v1/messages')
    expect(sent.headers.authorization).toBe('Bearer entra-token-xyz')
    expect(sent.headers['x-api-key']).toBeUndefined()
    expect(sent.body).toMatchObject({ model: 'my-claude-deployment' })
  })
})
