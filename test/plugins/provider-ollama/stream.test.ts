/** The Ollama provider streaming chats over real HTTP from the scripted Ollama server. */
import { afterEach, describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { ANSWER_NEVER_MS } from '../providers/never.js'
import {
  collect,
  collectUntilError,
  type Harness,
  type HarnessOptions,
  request,
  startHarness,
  textOf,
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

const calls = (events: readonly StreamEvent[]) =>
  events.filter((e): e is Extract<StreamEvent, { type: 'tool-call-end' }> => e.type === 'tool-call-end')

describe('ollama provider: streaming', () => {
  it('streams text deltas, then usage from the counts and finish from done_reason', async () => {
    const { provider, bodies } = await start([
      {
        text: 'Hello from Ollama',
        usage: { inputTokens: 12, outputTokens: 5 },
        // Each delta in its own network chunk: deltas that arrive together are one delta, and
        // Node 24's server sends back-to-back writes in one packet.
        chunkDelayMs: 5,
      },
    ])
    const events = await collect(provider.stream(request()))
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1)
    expect(textOf(events)).toBe('Hello from Ollama')
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 5 } },
      { type: 'finish', reason: 'stop' },
    ])
    expect(bodies('/api/chat')).toEqual([
      { model: 'qwen3:8b', messages: [{ role: 'user', content: 'hi' }], stream: true },
    ])
  })

  it('an error line after the done line is not an error of this answer', async () => {
    const raw = `${[
      { model: 'qwen3:8b', message: { role: 'assistant', content: 'all here' }, done: false },
      { model: 'qwen3:8b', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' },
      { error: 'something after the answer' },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n')}\n`
    const { provider } = await start([{ raw }])
    const events = await collect(provider.stream(request()))
    expect(textOf(events)).toBe('all here')
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' })
  })

  it('reports done_reason "length" as a length finish', async () => {
    const { provider } = await start([{ text: 'cut', finishReason: 'length' }])
    const events = await collect(provider.stream(request({ maxOutputTokens: 1 })))
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'length' })
  })

  it.each([1, 3, 7])(
    'reads a stream cut every %i bytes, multi-byte characters included',
    async (chunkBytes) => {
      const text = 'Grüße, 世界! 🌍 naïve café — ok'
      const reasoning = 'Überlegung: 日本語 🤔'
      const { provider } = await start([
        { text, reasoning, chunkBytes, usage: { inputTokens: 3, outputTokens: 9 } },
        { text, reasoning, usage: { inputTokens: 3, outputTokens: 9 } },
      ])
      const cut = await collect(provider.stream(request()))
      const whole = await collect(provider.stream(request()))
      expect(textOf(cut)).toBe(text)
      expect(cut).toEqual(whole)
    },
  )

  it('streams reasoning from message.thinking before the text', async () => {
    const { provider, bodies } = await start([{ reasoning: 'First, think.', text: 'Answer.' }])
    const events = await collect(provider.stream(request({ reasoning: true })))
    const reasoning = events.filter((e) => e.type === 'reasoning-delta')
    expect(reasoning.map((e) => (e as { text: string }).text).join('')).toBe('First, think.')
    expect(events.findIndex((e) => e.type === 'reasoning-delta')).toBeLessThan(
      events.findIndex((e) => e.type === 'text-delta'),
    )
    expect(bodies('/api/chat')[0]).toMatchObject({ think: true })
  })

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const { provider, server } = await start([
      { text: 'one' },
      { text: 'two' },
      { text: 'three' },
      { text: 'four' },
    ])
    for (let i = 0; i < 4; i++) {
      await collect(provider.stream(request()))
      // As between agent turns. (Back to back, undici's pool may open a second socket for the
      // second call while it still counts the first as busy; it reuses them from then on.)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(server.requests).toHaveLength(4)
    expect(server.connections()).toBe(1)
  })

  it('aborts mid-stream at once: the request stops and the error says aborted', async () => {
    const { provider } = await start([{ text: 'x'.repeat(10_000), deltaChars: 1, chunkDelayMs: 20 }])
    const controller = new AbortController()
    const seen: StreamEvent[] = []
    const run = (async () => {
      for await (const event of provider.stream(request(), { signal: controller.signal })) {
        seen.push(event)
        if (seen.length === 2) controller.abort()
      }
    })()
    await expect(run).rejects.toMatchObject({ kind: 'aborted', code: 'TAU_PROVIDER_ABORTED' })
    expect(seen).toHaveLength(2)
  })

  it('aborts while waiting for the answer: the HTTP request itself is cancelled', async () => {
    const { provider } = await start([{ text: 'too late', firstByteDelayMs: ANSWER_NEVER_MS }])
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const { error } = await collectUntilError(provider.stream(request(), { signal: controller.signal }))
    expect(error).toMatchObject({ kind: 'aborted', plugin: 'provider-ollama' })
  })
})

describe('ollama provider: tool calls', () => {
  it('gives calls without ids stable, unique generated ids, across calls and turns', async () => {
    const { registry } = await start([
      {
        text: 'Reading both.',
        toolCalls: [
          { name: 'Read', input: { path: 'a.ts' } },
          { name: 'Read', input: { path: 'b.ts' } },
        ],
      },
      { toolCalls: [{ name: 'Read', input: { path: 'c.ts' } }] },
    ])
    const first = await collect(registry.stream(request({ tools: [readTool] })))
    const second = await collect(registry.stream(request({ tools: [readTool] })))
    const ids = [...calls(first), ...calls(second)].map((c) => c.id)
    expect(ids).toHaveLength(3)
    expect(new Set(ids).size).toBe(3)
    for (const id of ids) expect(id).toMatch(/^call_\w+_\d+$/)
    // One id per call through start, delta and end.
    for (const id of ids.slice(0, 2)) {
      expect(first.filter((e) => 'id' in e && e.id === id).map((e) => e.type)).toEqual([
        'tool-call-start',
        'tool-call-delta',
        'tool-call-end',
      ])
    }
    expect(calls(first).map((c) => c.input)).toEqual([{ path: 'a.ts' }, { path: 'b.ts' }])
    expect(textOf(first)).toBe('Reading both.')
    expect(first.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls' })
  })

  it('keeps the ids recent Ollama versions send, and replaces a repeated one', async () => {
    const { provider } = await start([
      {
        toolCalls: [
          { id: 'call_k3j2h1g0', name: 'Read', input: { path: 'a.ts' } },
          { id: 'call_k3j2h1g0', name: 'Read', input: { path: 'b.ts' } },
        ],
      },
    ])
    const ids = calls(await collect(provider.stream(request({ tools: [readTool] })))).map((c) => c.id)
    expect(ids[0]).toBe('call_k3j2h1g0')
    expect(ids[1]).not.toBe('call_k3j2h1g0')
  })

  it('repairs broken argument text where it can and reports it where it cannot', async () => {
    const { provider } = await start([
      {
        toolCalls: [
          { name: 'Read', rawArguments: '{"path": "a.ts",}' },
          { name: 'Read', rawArguments: '{"path": "b.t' },
        ],
      },
    ])
    const [repaired, broken] = calls(await collect(provider.stream(request({ tools: [readTool] }))))
    expect(repaired).toMatchObject({ name: 'Read', input: { path: 'a.ts' } })
    expect(repaired).not.toHaveProperty('inputError')
    expect(broken).toMatchObject({
      name: 'Read',
      input: '{"path": "b.t',
      inputError: expect.stringMatching(/cut off/),
    })
  })

  it('sends tools as functions; toolChoice none sends none, a named choice sends only that tool', async () => {
    const grep = { name: 'Grep', description: 'Search', inputSchema: { type: 'object' } }
    const { provider, bodies } = await start([{ text: 'a' }, { text: 'b' }, { text: 'c' }])
    await collect(provider.stream(request({ tools: [readTool, grep] })))
    await collect(provider.stream(request({ tools: [readTool, grep], toolChoice: 'none' })))
    await collect(provider.stream(request({ tools: [readTool, grep], toolChoice: { name: 'Grep' } })))
    const [all, none, named] = bodies('/api/chat') as Array<{ tools?: Array<{ function: { name: string } }> }>
    expect(all?.tools).toEqual([
      {
        type: 'function',
        function: { name: 'Read', description: 'Read a file', parameters: readTool.inputSchema },
      },
      { type: 'function', function: { name: 'Grep', description: 'Search', parameters: { type: 'object' } } },
    ])
    expect(none).not.toHaveProperty('tools')
    expect(named?.tools?.map((t) => t.function.name)).toEqual(['Grep'])
  })

  it('falls back to prompt tools when Ollama answers "does not support tools" (HTTP 400)', async () => {
    const { registry, bodies } = await start([
      { status: 400, errorMessage: 'registry.ollama.ai/library/qwen3:8b does not support tools' },
      { text: '<tool_call>{"name": "Read", "arguments": {"path": "y"}}</tool_call>' },
    ])
    const events = await collect(registry.stream(request({ tools: [readTool] })))
    expect(calls(events)).toMatchObject([{ name: 'Read', input: { path: 'y' } }])
    const [native, prompt] = bodies('/api/chat')
    expect(native).toHaveProperty('tools')
    expect(prompt).not.toHaveProperty('tools')
  })

  it('uses prompt tools for a model whose /api/show lacks the tools capability', async () => {
    const { registry, bodies } = await start([
      { text: '<tool_call>{"name": "Read", "arguments": {"path": "x"}}</tool_call>' },
    ])
    const events = await collect(
      registry.stream({
        ...request({ tools: [readTool] }),
        model: { provider: 'ollama', model: 'gemma3:4b' },
      }),
    )
    expect(calls(events)).toMatchObject([{ name: 'Read', input: { path: 'x' } }])
    expect(bodies('/api/show')).toEqual([{ model: 'gemma3:4b' }])
    expect(bodies('/api/chat')[0]).not.toHaveProperty('tools')
  })
})

describe('ollama provider: think, options and messages', () => {
  it('maps reasoning to think: booleans for most models, levels for models that take them', async () => {
    const turns = Array.from({ length: 7 }, () => ({ text: 'ok' }))
    const { provider, bodies } = await start(turns)
    const oss = { provider: 'ollama', model: 'gpt-oss:20b' }
    await collect(provider.stream(request()))
    await collect(provider.stream(request({ reasoning: false })))
    await collect(provider.stream(request({ reasoning: { effort: 'high' } })))
    await collect(provider.stream({ ...request({ reasoning: { effort: 'high' } }), model: oss }))
    await collect(provider.stream({ ...request({ reasoning: true }), model: oss }))
    await collect(provider.stream({ ...request({ reasoning: { budgetTokens: 1000 } }), model: oss }))
    await collect(provider.stream({ ...request({ reasoning: false }), model: oss }))
    expect(bodies('/api/chat').map((b) => (b as { think?: unknown }).think)).toEqual([
      undefined,
      false,
      true,
      'high',
      'medium',
      'low',
      'low',
    ])
  })

  it('asks again without think when the model does not support thinking (before any output)', async () => {
    const { provider, bodies } = await start([
      { status: 400, errorMessage: '"gemma3:4b" does not support thinking' },
      { text: 'plain answer' },
    ])
    const events = await collect(
      provider.stream({ ...request({ reasoning: true }), model: { provider: 'ollama', model: 'gemma3:4b' } }),
    )
    expect(textOf(events)).toBe('plain answer')
    expect(bodies('/api/chat').map((b) => (b as { think?: unknown }).think)).toEqual([true, undefined])
  })

  it('sends a bare-number keep_alive as seconds (Ollama rejects "-1" as a duration string)', async () => {
    const { provider, bodies } = await start([{ text: 'a' }], { ollama: { keepAlive: '-1' } })
    await collect(provider.stream(request()))
    expect(bodies('/api/chat')[0]).toMatchObject({ keep_alive: -1 })
  })

  it('sends keep_alive, num_ctx and provider options; format "json" without a schema', async () => {
    const { provider, bodies } = await start([{ text: '{}' }], { ollama: { keepAlive: 300, numCtx: 16_384 } })
    await collect(
      provider.stream(
        request({
          responseFormat: { type: 'json' },
          providerOptions: { ollama: { options: { seed: 7, num_ctx: 65_536 }, keep_alive: '1h' } },
        }),
      ),
    )
    expect(bodies('/api/chat')[0]).toMatchObject({
      format: 'json',
      options: { seed: 7, num_ctx: 65_536 },
      keep_alive: '1h',
    })
  })

  it('sends images inline as base64 (data URLs stripped) and refuses images by URL', async () => {
    const { provider, bodies } = await start([{ text: 'a cat' }])
    const dataUrl = 'data:image/png;base64,QUJD'
    await collect(
      provider.stream(
        request({
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is this?' },
                { type: 'image', mediaType: 'image/png', url: dataUrl },
              ],
            },
          ],
        }),
      ),
    )
    expect(bodies('/api/chat')[0]).toMatchObject({
      messages: [{ role: 'user', content: 'what is this?', images: ['QUJD'] }],
    })
    const byUrl = request({
      messages: [
        {
          role: 'user',
          content: [{ type: 'image', mediaType: 'image/png', url: 'https://x/cat.png?sig=s3cr3t' }],
        },
      ],
    })
    const failure = await collectUntilError(provider.stream(byUrl))
    expect(failure.error).toMatchObject({ kind: 'unsupported', plugin: 'provider-ollama' })
    expect(String((failure.error as Error).message)).not.toContain('s3cr3t')
  })

  it('sends each tool result as its own tool message naming the tool and the call', async () => {
    const { provider, bodies } = await start([{ text: 'done' }])
    await collect(
      provider.stream(
        request({
          messages: [
            { role: 'user', content: 'read both' },
            {
              role: 'assistant',
              content: [
                { type: 'tool-call', id: 'c1', name: 'Read', input: { path: 'a' } },
                { type: 'tool-call', id: 'c2', name: 'Read', input: '{"path": "b', inputError: 'cut off' },
              ],
            },
            {
              role: 'tool',
              content: [
                {
                  type: 'tool-result',
                  toolCallId: 'c1',
                  toolName: 'Read',
                  content: [{ type: 'text', text: 'A' }],
                },
                {
                  type: 'tool-result',
                  toolCallId: 'c2',
                  toolName: 'Read',
                  content: [{ type: 'text', text: 'arguments cut off' }],
                  isError: true,
                },
              ],
            },
          ],
        }),
      ),
    )
    expect((bodies('/api/chat')[0] as { messages: unknown[] }).messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'c1', function: { name: 'Read', arguments: { path: 'a' } } },
          { id: 'c2', function: { name: 'Read', arguments: {} } },
        ],
      },
      { role: 'tool', content: 'A', tool_name: 'Read', tool_call_id: 'c1' },
      { role: 'tool', content: 'Error: arguments cut off', tool_name: 'Read', tool_call_id: 'c2' },
    ])
  })
})

describe('ollama provider: failures', () => {
  it('times out a slow first byte (TAU_PROVIDER_TIMEOUT) without retrying', async () => {
    // undici checks header timeouts on a coarse (~0.5-1 s) timer: the delay must exceed that.
    const { provider, server } = await start([{ text: 'late', firstByteDelayMs: ANSWER_NEVER_MS }], {
      providers: { timeouts: { firstByteMs: 100 } },
    })
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(error).toMatchObject({
      kind: 'timeout',
      code: 'TAU_PROVIDER_TIMEOUT',
      plugin: 'provider-ollama',
      message: expect.stringContaining('within 100 ms'),
    })
    expect(events).toEqual([])
    expect(server.requests).toHaveLength(1)
  })

  it('reports a connection dropped mid-stream as a connection error, not retried, text not repeated', async () => {
    const text = 'This answer will be cut off halfway through by a dropped connection.'
    const { provider, server } = await start([{ text, dropAfterBytes: 400 }, { text: 'should not be used' }])
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(error).toMatchObject({ kind: 'connection', retryable: false, code: 'TAU_PROVIDER_CONNECTION' })
    const got = textOf(events)
    expect(got.length).toBeGreaterThan(0)
    expect(text.startsWith(got)).toBe(true)
    expect(got.length).toBeLessThan(text.length)
    expect(server.requests).toHaveLength(1)
    expect(server.remaining()).toBe(1)
  })

  it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
    const { provider, server } = await start(
      [
        { status: 429, errorMessage: 'too many requests', headers: { 'retry-after': '1' } },
        { text: 'finally' },
      ],
      { providers: { retries: { baseDelayMs: 10, maxDelayMs: 400 } } },
    )
    const started = Date.now()
    const events = await collect(provider.stream(request()))
    expect(textOf(events)).toBe('finally')
    expect(server.requests).toHaveLength(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('maps 401 to an auth error naming the key variable, not retried', async () => {
    const { provider, server } = await start([{ status: 401, errorMessage: 'unauthorized' }, { text: 'no' }])
    const { error } = await collectUntilError(provider.stream(request()))
    expect(error).toMatchObject({
      kind: 'auth',
      code: 'TAU_PROVIDER_AUTH',
      status: 401,
      hint: expect.stringContaining('OLLAMA_API_KEY'),
      plugin: 'provider-ollama',
    })
    expect(server.requests).toHaveLength(1)
  })

  it('maps a missing model (404) to model-not-found with `ollama pull NAME`', async () => {
    const { provider } = await start([{ text: 'unused' }])
    const { error } = await collectUntilError(
      provider.stream({ ...request(), model: { provider: 'ollama', model: 'llama9:70b' } }),
    )
    expect(error).toMatchObject({
      kind: 'model-not-found',
      code: 'TAU_PROVIDER_MODEL_NOT_FOUND',
      message: expect.stringContaining("model 'llama9:70b' not found"),
      hint: expect.stringContaining('ollama pull llama9:70b'),
    })
  })

  it('recognises a context-length error, as a 400 and inside the stream', async () => {
    const { provider } = await start([
      { status: 400, errorMessage: 'the input length exceeds the context length' },
      { text: 'some', streamError: 'the input length exceeds the context length' },
    ])
    const before = await collectUntilError(provider.stream(request()))
    expect(before.error).toMatchObject({ kind: 'context-length', code: 'TAU_PROVIDER_CONTEXT_LENGTH' })
    const during = await collectUntilError(provider.stream(request()))
    expect(textOf(during.events)).toBe('some')
    expect(during.error).toMatchObject({ kind: 'context-length' })
  })

  it('surfaces an error line inside a 200 stream after the text, without retrying', async () => {
    const { provider, server } = await start([
      { text: 'partial answer', streamError: 'an error was encountered while running the model' },
      { text: 'not used' },
    ])
    const { events, error } = await collectUntilError(provider.stream(request()))
    expect(textOf(events)).toBe('partial answer')
    expect(events.some((e) => e.type === 'finish')).toBe(false)
    expect(error).toMatchObject({
      kind: 'server',
      retryable: false,
      message: expect.stringContaining('an error was encountered while running the model'),
    })
    expect(server.requests).toHaveLength(1)
  })

  it('reports a body that is not NDJSON, and a stream without its done line, as bad responses', async () => {
    const { provider } = await start([
      { raw: '<html>502 Bad Gateway</html>\n' },
      {
        raw: '{"model":"qwen3:8b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}\n',
      },
    ])
    const html = await collectUntilError(provider.stream(request()))
    expect(html.error).toMatchObject({ kind: 'bad-response', code: 'TAU_PROVIDER_BAD_RESPONSE' })
    const cut = await collectUntilError(provider.stream(request()))
    expect(textOf(cut.events)).toBe('Hi')
    expect(cut.error).toMatchObject({ kind: 'bad-response', message: expect.stringContaining('done') })
  })

  it('says whether `ollama serve` is running at the address tried when the connection is refused', async () => {
    const { provider, server } = await start([])
    const { url } = server
    await server.close()
    const { error } = await collectUntilError(provider.stream(request()))
    expect(error).toMatchObject({
      kind: 'connection',
      message: expect.stringContaining(`connection refused at ${url}`),
      hint: expect.stringContaining('ollama serve'),
    })
    expect((error as { hint: string }).hint).toContain(url)
  })
})

describe('ollama provider: model refs', () => {
  it('sends everything after `ollama:` as the model name, tag and namespace included', async () => {
    const { registry, bodies } = await start([{ text: 'hi' }], {
      models: [{ name: 'hf.co/org/qwen3-gguf:Q4_K_M', capabilities: ['completion'] }],
    })
    const response = await registry.complete({
      model: registry.ref('ollama:hf.co/org/qwen3-gguf:Q4_K_M'),
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(response.message.content).toEqual([{ type: 'text', text: 'hi' }])
    expect(bodies('/api/chat')[0]).toMatchObject({ model: 'hf.co/org/qwen3-gguf:Q4_K_M' })
  })
})
