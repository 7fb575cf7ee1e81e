/**
 * What the OpenAI provider sends: the request body and headers, checked on the server side. The
 * first test holds tau's body to the one the official `openai` client sends for the same
 * conversation written by hand in OpenAI's documented format.
 */
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../../kernel/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { collect, type Harness, type HarnessOptions, KEY, request, startHarness } from './helpers.js'

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

const conversation: Message[] = [
  { role: 'system', content: 'You are terse.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'What is in this image?' },
      { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
    ],
  },
  {
    role: 'assistant',
    content: [
      { type: 'reasoning', text: 'I should read both files.' },
      { type: 'text', text: 'Let me read the files.' },
      { type: 'tool-call', id: 'call_1', name: 'Read', input: { path: 'a.ts' } },
      { type: 'tool-call', id: 'call_2', name: 'Read', input: { path: 'b.ts' } },
    ],
  },
  {
    role: 'tool',
    content: [
      {
        type: 'tool-result',
        toolCallId: 'call_1',
        toolName: 'Read',
        content: [{ type: 'text', text: 'export {}' }],
      },
      {
        type: 'tool-result',
        toolCallId: 'call_2',
        toolName: 'Read',
        content: [{ type: 'text', text: 'ENOENT: no such file' }],
        isError: true,
      },
    ],
  },
  { role: 'user', content: 'Thanks. Summarise.' },
]

/** The same conversation as a user of the official client writes it. */
const officialParams: OpenAI.Chat.ChatCompletionCreateParamsStreaming = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this image?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ],
    },
    {
      role: 'assistant',
      content: 'Let me read the files.',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'Read', arguments: '{"path":"a.ts"}' } },
        { id: 'call_2', type: 'function', function: { name: 'Read', arguments: '{"path":"b.ts"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'export {}' },
    { role: 'tool', tool_call_id: 'call_2', content: 'Error: ENOENT: no such file' },
    { role: 'user', content: 'Thanks. Summarise.' },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'Read',
        description: 'Read a file',
        parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      },
    },
  ],
  tool_choice: 'auto',
  max_completion_tokens: 500,
  temperature: 0.2,
  top_p: 0.9,
  stop: ['END'],
  stream: true,
  stream_options: { include_usage: true },
}

describe('openai provider: the request', () => {
  it('sends the same body and auth header as the official client for the same conversation', async () => {
    const { provider, server, chatBodies } = await start([{ text: 'tau' }, { text: 'official' }])
    await collect(
      provider.stream(
        request({
          messages: conversation,
          tools: [readTool],
          toolChoice: 'auto',
          maxOutputTokens: 500,
          temperature: 0.2,
          topP: 0.9,
          stop: ['END'],
        }),
      ),
    )
    const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 })
    const stream = await client.chat.completions.create(officialParams)
    for await (const _ of stream) {
      // consume
    }
    const [tau, official] = chatBodies()
    expect(tau).toEqual(official)
    const [tauRequest, officialRequest] = server.requests
    expect(tauRequest!.path).toBe(officialRequest!.path)
    expect(tauRequest!.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(tauRequest!.headers.authorization).toBe(officialRequest!.headers.authorization)
    expect(tauRequest!.headers['content-type']).toBe(officialRequest!.headers['content-type'])
  })

  it('maps tool_choice: none, required, and a named tool; sends none of it without tools', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }, { text: '2' }, { text: '3' }, { text: '4' }])
    await collect(provider.stream(request({ tools: [readTool], toolChoice: 'none' })))
    await collect(provider.stream(request({ tools: [readTool], toolChoice: 'required' })))
    await collect(provider.stream(request({ tools: [readTool], toolChoice: { name: 'Read' } })))
    await collect(provider.stream(request({ toolChoice: 'required' })))
    const bodies = chatBodies() as Array<Record<string, unknown>>
    expect(bodies.map((b) => b.tool_choice)).toEqual([
      'none',
      'required',
      { type: 'function', function: { name: 'Read' } },
      undefined,
    ])
    expect(bodies[3]).not.toHaveProperty('tools')
  })

  it('sends parallel_tool_calls from config, only with tools', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }, { text: '2' }], {
      openai: { parallelToolCalls: false },
    })
    await collect(provider.stream(request({ tools: [readTool] })))
    await collect(provider.stream(request()))
    const bodies = chatBodies() as Array<Record<string, unknown>>
    expect(bodies[0]!.parallel_tool_calls).toBe(false)
    expect(bodies[1]).not.toHaveProperty('parallel_tool_calls')
  })

  it('maps responseFormat to json_schema (with a valid name) or json_object', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] }
    const { provider, chatBodies } = await start([{ text: '{}' }, { text: '{}' }])
    await collect(provider.stream(request({ responseFormat: { type: 'json', schema, name: 'the answer!' } })))
    await collect(provider.stream(request({ responseFormat: { type: 'json' } })))
    const bodies = chatBodies() as Array<Record<string, unknown>>
    expect(bodies[0]!.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'the_answer_', schema },
    })
    expect(bodies[1]!.response_format).toEqual({ type: 'json_object' })
  })

  it('for a reasoning model: reasoning_effort from the request, max_completion_tokens, no sampling settings', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }, { text: '2' }])
    const o4 = { provider: 'openai', model: 'o4-mini' }
    await collect(
      provider.stream(
        request({
          model: o4,
          reasoning: { effort: 'high' },
          temperature: 0.3,
          topP: 0.5,
          maxOutputTokens: 900,
        }),
      ),
    )
    await collect(provider.stream(request({ model: o4, reasoning: { budgetTokens: 2000 } })))
    const [first, second] = chatBodies() as Array<Record<string, unknown>>
    expect(first).toMatchObject({ reasoning_effort: 'high', max_completion_tokens: 900 })
    expect(first).not.toHaveProperty('temperature')
    expect(first).not.toHaveProperty('top_p')
    expect(first).not.toHaveProperty('max_tokens')
    expect(second).toMatchObject({ reasoning_effort: 'low' })
  })

  it('sends no reasoning_effort to an OpenAI model that does not reason, and keeps its temperature', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }])
    await collect(provider.stream(request({ reasoning: { effort: 'low' }, temperature: 0.3 })))
    const [body] = chatBodies() as Array<Record<string, unknown>>
    expect(body).not.toHaveProperty('reasoning_effort')
    expect(body!.temperature).toBe(0.3)
  })

  it('treats a model as reasoning when config says so (capabilities override)', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }], {
      providers: { capabilities: { 'openai:gpt-4o': { reasoning: true } } },
    })
    await collect(provider.stream(request({ reasoning: { effort: 'medium' }, temperature: 0.3 })))
    const [body] = chatBodies() as Array<Record<string, unknown>>
    expect(body).toMatchObject({ reasoning_effort: 'medium' })
    expect(body).not.toHaveProperty('temperature')
  })

  it('puts images from tool results in a user message after the tool messages, and sends unparsed arguments back raw', async () => {
    const { provider, chatBodies } = await start([{ text: 'ok' }])
    const messages: Message[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Shot ' },
          { type: 'text', text: 'please' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool-call', id: 'c1', name: 'Screenshot', input: {} },
          { type: 'tool-call', id: 'c2', name: 'Read', input: '{"path": "a.t', inputError: 'cut off' },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'Screenshot',
            content: [
              { type: 'text', text: 'Here it is.' },
              { type: 'image', mediaType: 'image/jpeg', data: '/9j/4AAQ' },
            ],
          },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c2',
            toolName: 'Read',
            content: [{ type: 'text', text: 'bad args' }],
            isError: true,
          },
        ],
      },
    ]
    await collect(provider.stream(request({ messages })))
    const [body] = chatBodies() as Array<{ messages: unknown[] }>
    expect(body!.messages).toEqual([
      { role: 'user', content: 'Shot please' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'Screenshot', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'Read', arguments: '{"path": "a.t' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'Here it is.\n[1 image attached in the next message]' },
      { role: 'tool', tool_call_id: 'c2', content: 'Error: bad args' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Images returned by the tools:' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
        ],
      },
    ])
  })

  it('merges providerOptions.openai into the body', async () => {
    const { provider, chatBodies } = await start([{ text: '1' }])
    await collect(
      provider.stream(
        request({ providerOptions: { openai: { seed: 7, service_tier: 'flex' }, other: { x: 1 } } }),
      ),
    )
    const [body] = chatBodies() as Array<Record<string, unknown>>
    expect(body).toMatchObject({ seed: 7, service_tier: 'flex' })
    expect(body).not.toHaveProperty('x')
  })

  it('leaves out stream_options when includeUsage is off', async () => {
    const { provider, chatBodies } = await start(
      [{ text: '1', usage: { inputTokens: 1, outputTokens: 1 } }],
      {
        openai: { includeUsage: false },
      },
    )
    const events = await collect(provider.stream(request()))
    expect(chatBodies()[0]).not.toHaveProperty('stream_options')
    expect(events.some((e) => e.type === 'usage')).toBe(false)
  })
})

describe('openai provider: environment', () => {
  it('reads OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID, and sends configured headers', async () => {
    // The server must exist before its URL can go into the environment.
    const first = await start([{ text: '1' }])
    const url = `${first.server.url}/v1`
    await first.kernel.stop()
    const { createTestKernel } = await import('../../../kernel/testing/index.js')
    const { default: providers, providerRegistryRef } = await import('../../../plugins/providers/index.js')
    const { default: providerOpenai } = await import('../../../plugins/provider-openai/index.js')
    const { withEnv, KEY_VAR } = await import('./helpers.js')
    const restore = withEnv({
      OPENAI_BASE_URL: url,
      OPENAI_ORG_ID: 'org-123',
      OPENAI_PROJECT_ID: 'proj_456',
      [KEY_VAR]: KEY,
    })
    const kernel = await createTestKernel({
      plugins: [providers, providerOpenai],
      config: { providers: { openai: { apiKeyEnv: KEY_VAR, headers: { 'x-gateway': 'tau' } } } },
    }).finally(restore)
    try {
      await collect(kernel.resolve(providerRegistryRef).get('openai').stream(request()))
    } finally {
      await kernel.stop()
    }
    const headers = first.server.requests[0]!.headers
    expect(headers['openai-organization']).toBe('org-123')
    expect(headers['openai-project']).toBe('proj_456')
    expect(headers['x-gateway']).toBe('tau')
    expect(headers.authorization).toBe(`Bearer ${KEY}`)
  })
})
