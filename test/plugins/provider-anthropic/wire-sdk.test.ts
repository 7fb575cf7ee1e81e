/**
 * The scripted Anthropic server is faithful: the official `@anthropic-ai/sdk` client reads its
 * streams, messages, model pages and errors. And tau sends what the SDK sends for the same
 * conversation (body and headers), so tests against the server say something about the API.
 */
import Anthropic from '@anthropic-ai/sdk'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../../kernel/index.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import {
  type AnthropicScriptTurn,
  scriptedSignature,
} from '../../../plugins/provider-scripted/wire/anthropic.js'
import { collect, KEY, MODEL, messageRequests, setup } from './helpers.js'

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

let server: ScriptedServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const client = (url: string) => new Anthropic({ apiKey: KEY, baseURL: url, maxRetries: 0 })

describe('scripted anthropic server, read by the official SDK', () => {
  it('streams thinking, text and parallel tool calls that MessageStream accumulates exactly', async () => {
    const turn: AnthropicScriptTurn = {
      reasoning: 'The user wants weather for two cities.',
      text: 'Let me look both up.',
      toolCalls: [
        { id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
        { id: 'toolu_01B', name: 'get_weather', input: { city: 'Tōkyō' } },
      ],
      usage: { inputTokens: 120, outputTokens: 57, cacheReadTokens: 1000, cacheWriteTokens: 30 },
      deltaChars: 5,
    }
    server = await startScriptedServer({ format: 'anthropic', script: [turn] })
    const stream = client(server.url).messages.stream({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
    })
    const types: string[] = []
    stream.on('streamEvent', (event) => types.push(event.type))
    const message = await stream.finalMessage()

    expect(message.content).toEqual([
      {
        type: 'thinking',
        thinking: 'The user wants weather for two cities.',
        signature: scriptedSignature('The user wants weather for two cities.'),
      },
      { type: 'text', text: 'Let me look both up.' },
      { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_01B', name: 'get_weather', input: { city: 'Tōkyō' } },
    ])
    expect(message.stop_reason).toBe('tool_use')
    expect(message.model).toBe(MODEL)
    expect(message.id).toMatch(/^msg_/)
    expect(message.usage).toMatchObject({
      input_tokens: 120,
      output_tokens: 57,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 30,
    })
    expect(types[0]).toBe('message_start')
    expect(types.at(-2)).toBe('message_delta')
    expect(types.at(-1)).toBe('message_stop')
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(4)
    expect(types.filter((t) => t === 'content_block_stop')).toHaveLength(4)
  })

  it('sends the raw event sequence with event: lines, a ping, and signature_delta before the block stops', async () => {
    server = await startScriptedServer({ format: 'anthropic', script: [{ reasoning: 'hmm', text: 'ok' }] })
    const events = await client(server.url).messages.create({
      model: MODEL,
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    })
    const seen: string[] = []
    for await (const event of events) {
      seen.push(event.type === 'content_block_delta' ? `delta:${event.delta.type}` : event.type)
    }
    expect(seen).toEqual([
      'message_start',
      'content_block_start',
      'delta:thinking_delta',
      'delta:signature_delta',
      'content_block_stop',
      'content_block_start',
      'delta:text_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    // The SDK skips pings; they are on the wire, each event as `event:` + `data:` lines.
    const response = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, stream: true, messages: [] }),
    })
    expect(response.status).toBe(500) // the script is used up: an Anthropic-shaped api_error
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } })
    server.push({ text: 'x' })
    const raw = await (
      await fetch(`${server.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ model: MODEL, max_tokens: 10, stream: true, messages: [] }),
      })
    ).text()
    expect(raw).toMatch(/^event: message_start\ndata: \{"type":"message_start"/)
    expect(raw).toContain('event: ping\ndata: {"type":"ping"}\n\n')
    expect(raw.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true)
  })

  it('answers without streaming with one Message', async () => {
    server = await startScriptedServer({
      format: 'anthropic',
      script: [
        {
          text: 'Calling.',
          toolCalls: [{ id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } }],
          usage: { inputTokens: 9, outputTokens: 4 },
        },
      ],
    })
    const message = await client(server.url).messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Oslo?' }],
    })
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      stop_reason: 'tool_use',
      stop_sequence: null,
      content: [
        { type: 'text', text: 'Calling.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      usage: { input_tokens: 9, output_tokens: 4 },
    })
  })

  it('lists models page by page, retrieves one, and 404s an unknown one', async () => {
    const models = ['claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5'].map((name) => ({
      name,
      capabilities: ['completion', 'tools', 'vision', 'thinking'],
      contextLength: 200_000,
    }))
    server = await startScriptedServer({ format: 'anthropic', script: [], models })
    const sdk = client(server.url)
    const ids: string[] = []
    for await (const model of sdk.models.list({ limit: 2 })) ids.push(model.id)
    expect(ids).toEqual(['claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5'])
    expect(server.requests.filter((r) => r.path.startsWith('/v1/models')).map((r) => r.path)).toEqual([
      '/v1/models?limit=2',
      '/v1/models?limit=2&after_id=claude-sonnet-4-5',
    ])
    const one = await sdk.models.retrieve('claude-haiku-4-5')
    expect(one).toMatchObject({ type: 'model', id: 'claude-haiku-4-5', max_input_tokens: 200_000 })
    const missing = await sdk.models.retrieve('claude-nope').catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError)
    expect((missing as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    })
  })

  it('errors: HTTP statuses with the error body, and an error event inside a 200 stream', async () => {
    server = await startScriptedServer({
      format: 'anthropic',
      script: [
        { status: 529, errorMessage: 'Overloaded' },
        { text: 'partial answer', streamError: 'Overloaded' },
      ],
    })
    const sdk = client(server.url)
    const overloaded = await sdk.messages
      .create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(overloaded).toBeInstanceOf(Anthropic.APIError)
    expect(overloaded).toMatchObject({
      status: 529,
      error: { error: { type: 'overloaded_error', message: 'Overloaded' } },
    })

    const stream = sdk.messages.stream({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }],
    })
    const inStream = await stream.finalMessage().catch((e: unknown) => e)
    expect(inStream).toBeInstanceOf(Anthropic.APIError)
    expect(inStream).toMatchObject({ error: { type: 'error', error: { type: 'overloaded_error' } } })
  })

  // SDK 1.x speaks API version 2026-10-21 with `Authorization: Bearer`; tau defaults to the
  // long-standing 2023-06-01 with x-api-key (what Azure AI Foundry documents too). Configured
  // like the SDK, tau's headers are the SDK's; its body is the same under both versions.
  it('tau sends the body and headers the SDK sends for the same conversation', async () => {
    const image = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk'
    const signature = scriptedSignature('thinking about weather')
    const conversation: Message[] = [
      { role: 'system', content: 'You are terse.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather here?' },
          { type: 'image', mediaType: 'image/png', data: image },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'thinking about weather', signature },
          { type: 'text', text: 'Checking.' },
          { type: 'tool-call', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool-call', id: 'toolu_2', name: 'get_weather', input: { city: 'Nowhere' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'toolu_1',
            toolName: 'get_weather',
            content: [{ type: 'text', text: 'sunny' }],
          },
          {
            type: 'tool-result',
            toolCallId: 'toolu_2',
            toolName: 'get_weather',
            content: [{ type: 'text', text: 'no such city' }],
            isError: true,
          },
        ],
      },
      { role: 'user', content: 'And tomorrow?' },
    ]
    const t = await setup([{ text: 'ok' }], { anthropic: { authHeader: 'bearer', apiVersion: '2026-10-21' } })
    try {
      await collect(
        t.registry.stream({
          model: { provider: 'anthropic', model: MODEL },
          messages: conversation,
          tools: [weather],
          toolChoice: 'auto',
          maxOutputTokens: 4096,
          reasoning: { budgetTokens: 2048 },
          stop: ['END'],
        }),
      )
      const tau = messageRequests(t.server)[0]!

      t.server.push({ text: 'ok' })
      const ephemeral = { type: 'ephemeral' } as const
      const sdkStream = client(t.server.url).messages.stream({
        model: MODEL,
        max_tokens: 4096,
        system: [{ type: 'text', text: 'You are terse.', cache_control: ephemeral }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Weather here?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'thinking about weather', signature },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
              {
                type: 'tool_use',
                id: 'toolu_2',
                name: 'get_weather',
                input: { city: 'Nowhere' },
                cache_control: ephemeral,
              },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
              {
                type: 'tool_result',
                tool_use_id: 'toolu_2',
                content: [{ type: 'text', text: 'no such city' }],
                is_error: true,
              },
              { type: 'text', text: 'And tomorrow?', cache_control: ephemeral },
            ],
          },
        ],
        tools: [
          {
            name: 'get_weather',
            description: 'Weather for a city',
            input_schema: weather.inputSchema as { type: 'object' },
            cache_control: ephemeral,
          },
        ],
        tool_choice: { type: 'auto' },
        thinking: { type: 'enabled', budget_tokens: 2048 },
        stop_sequences: ['END'],
      })
      await sdkStream.finalMessage()
      const sdk = messageRequests(t.server)[1]!

      expect(tau.body).toEqual(sdk.body)
      expect(tau.path).toBe(sdk.path)
      for (const header of ['authorization', 'x-api-key', 'anthropic-version', 'content-type'])
        expect({ header, value: tau.headers[header] }).toEqual({ header, value: sdk.headers[header] })
      expect(tau.headers.authorization).toBe(`Bearer ${KEY}`)
    } finally {
      await t.close()
    }
  })
})
