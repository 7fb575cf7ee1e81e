/**
 * The scripted Ollama server against the OFFICIAL `ollama` client: if the client reads our
 * answers as it reads a real server's, the provider tests that use the server mean something.
 * And the request tau sends equals the one the official client sends for the same conversation.
 */
import { Ollama } from 'ollama'
import { afterEach, describe, expect, it } from 'vitest'
import type { ModelRequest } from '../../../kernel/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import {
  defaultEmbedding,
  type ScriptedServer,
  startScriptedServer,
} from '../../../plugins/provider-scripted/server.js'
import { collect, type Harness, MODELS, startHarness } from './helpers.js'

let server: ScriptedServer | undefined
let harness: Harness | undefined

afterEach(async () => {
  await server?.close()
  await harness?.stop()
  server = undefined
  harness = undefined
})

async function official(turns: ScriptTurn[]): Promise<Ollama> {
  server = await startScriptedServer({ format: 'ollama', script: turns, models: MODELS })
  return new Ollama({ host: server.url })
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

describe('scripted Ollama server, read by the official ollama client', () => {
  it('streams a chat as NDJSON the client parses: thinking, content, then a final done line with counts', async () => {
    const client = await official([
      { reasoning: 'Let me think.', text: 'The sky is blue.', usage: { inputTokens: 26, outputTokens: 7 } },
    ])
    const parts = []
    for await (const part of await client.chat({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'why?' }],
      think: true,
      stream: true,
    }))
      parts.push(part)
    expect(parts.length).toBeGreaterThan(3)
    expect(parts.map((p) => p.message.thinking ?? '').join('')).toBe('Let me think.')
    expect(parts.map((p) => p.message.content).join('')).toBe('The sky is blue.')
    for (const part of parts) {
      expect(part.model).toBe('qwen3:8b')
      expect(Number.isNaN(Date.parse(String(part.created_at)))).toBe(false)
      expect(part.message.role).toBe('assistant')
    }
    const last = parts.at(-1)!
    expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 26, eval_count: 7 })
    expect(last.total_duration).toBeGreaterThan(0)
    expect(parts.slice(0, -1).every((p) => p.done === false)).toBe(true)
    expect(server!.requests[0]).toMatchObject({ method: 'POST', path: '/api/chat' })
    expect(server!.requests[0]!.headers['content-type']).toBe('application/json')
  })

  it('answers a non-streamed chat with one object, tool calls with object arguments', async () => {
    const client = await official([
      {
        toolCalls: [{ name: 'get_weather', input: { city: 'Tokyo' } }],
        usage: { inputTokens: 169, outputTokens: 18 },
      },
    ])
    const response = await client.chat({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'weather in tokyo?' }],
      tools: [weatherTool],
    })
    expect(response).toMatchObject({
      model: 'qwen3:8b',
      done: true,
      done_reason: 'stop',
      message: {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Tokyo' } } }],
      },
      prompt_eval_count: 169,
      eval_count: 18,
    })
    expect(response.message.tool_calls?.[0]).not.toHaveProperty('id')
    expect(server!.requests[0]!.body).toMatchObject({ stream: false, tools: [weatherTool] })
  })

  it('streams tool calls (with the id recent Ollama versions add) in chunks of their own', async () => {
    const client = await official([
      {
        toolCalls: [
          { id: 'call_abc12345', name: 'get_weather', input: { city: 'Paris' } },
          { name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
    ])
    const calls = []
    for await (const part of await client.chat({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [weatherTool],
      stream: true,
    }))
      calls.push(...(part.message.tool_calls ?? []))
    expect(calls).toEqual([
      { id: 'call_abc12345', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } },
      { function: { index: 1, name: 'get_weather', arguments: { city: 'Rome' } } },
    ])
  })

  it('reports an error inside the 200 stream the way the client surfaces it', async () => {
    const client = await official([
      { text: 'partial', streamError: 'an error was encountered while running the model' },
    ])
    const seen: string[] = []
    const run = async () => {
      for await (const part of await client.chat({
        model: 'qwen3:8b',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      }))
        seen.push(part.message.content)
    }
    await expect(run()).rejects.toThrow('an error was encountered while running the model')
    expect(seen.join('')).toBe('partial')
  })

  it("answers a missing model with 404 and Ollama's error body, taking no turn", async () => {
    const client = await official([{ text: 'unused' }])
    await expect(
      client.chat({ model: 'llama9', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      name: 'ResponseError',
      status_code: 404,
      error: "model 'llama9' not found",
    })
    expect(server!.remaining()).toBe(1)
  })

  it('answers a scripted status with the error body and headers', async () => {
    const client = await official([
      { status: 429, errorMessage: 'too many requests', headers: { 'retry-after': '3' } },
    ])
    await expect(
      client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status_code: 429,
      error: 'too many requests',
    })
  })

  it('serves embeddings, for one input and for many, with dimensions', async () => {
    const client = await official([])
    const one = await client.embed({ model: 'nomic-embed-text', input: 'Why is the sky blue?' })
    expect(one.model).toBe('nomic-embed-text')
    expect(one.embeddings).toEqual([defaultEmbedding('Why is the sky blue?')])
    expect(one.prompt_eval_count).toBeGreaterThan(0)
    const many = await client.embed({ model: 'nomic-embed-text', input: ['a', 'bb'], dimensions: 4 })
    expect(many.embeddings).toHaveLength(2)
    expect(many.embeddings.every((v) => v.length === 4)).toBe(true)
    await expect(client.embed({ model: 'missing', input: 'x' })).rejects.toMatchObject({ status_code: 404 })
  })

  it('lists models, shows capabilities and context length, and reports a version', async () => {
    const client = await official([])
    const list = await client.list()
    expect(list.models.map((m) => m.name)).toEqual(MODELS.map((m) => m.name))
    expect(list.models[0]).toMatchObject({
      model: 'qwen3:8b',
      size: expect.any(Number),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      details: { format: 'gguf', family: 'qwen3', quantization_level: expect.any(String) },
    })
    const show = await client.show({ model: 'qwen3:8b' })
    expect(show.capabilities).toEqual(['completion', 'tools', 'thinking'])
    const info = show.model_info as unknown as Record<string, unknown>
    expect(info['general.architecture']).toBe('qwen3')
    expect(info['qwen3.context_length']).toBe(40_960)
    await expect(client.show({ model: 'nope' })).rejects.toMatchObject({ status_code: 404 })
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/)
  })
})

describe('what tau sends equals what the official client sends', () => {
  it('for a whole conversation: system, images, reasoning, tool calls and results, format, options', async () => {
    const image =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] }
    const request: ModelRequest = {
      model: { provider: 'ollama', model: 'qwen3:8b' },
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', mediaType: 'image/png', data: image },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'I should check the weather.' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Tokyo' } },
          ],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'call_1',
              toolName: 'get_weather',
              content: [{ type: 'text', text: 'service down' }],
              isError: true,
            },
          ],
        },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Get the weather in a city',
          inputSchema: weatherTool.function.parameters,
        },
      ],
      reasoning: true,
      responseFormat: { type: 'json', schema },
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 256,
      stop: ['</answer>'],
    }
    harness = await startHarness([{ text: '{"answer":"a pixel"}' }, { text: '{"answer":"a pixel"}' }], {
      ollama: { keepAlive: '10m', numCtx: 32_768 },
    })
    await collect(harness.provider.stream(request))
    const tauBody = harness.bodies('/api/chat')[0]

    const client = new Ollama({ host: harness.server.url })
    for await (const _ of await client.chat({
      model: 'qwen3:8b',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is in this picture?', images: [image] },
        {
          role: 'assistant',
          content: 'Checking.',
          thinking: 'I should check the weather.',
          tool_calls: [
            { id: 'call_1', function: { name: 'get_weather', arguments: { city: 'Tokyo' } } } as never,
          ],
        },
        {
          role: 'tool',
          content: 'Error: service down',
          tool_name: 'get_weather',
          tool_call_id: 'call_1',
        } as never,
      ],
      tools: [weatherTool],
      think: true,
      format: schema,
      options: { temperature: 0.2, top_p: 0.9, num_predict: 256, stop: ['</answer>'], num_ctx: 32_768 },
      keep_alive: '10m',
      stream: true,
    })) {
      // drain
    }
    const officialBody = harness.bodies('/api/chat')[1]
    expect(harness.bodies('/api/chat')).toHaveLength(2)
    expect(tauBody).toMatchObject({ model: 'qwen3:8b', stream: true, think: true, format: schema })
    expect(tauBody).toEqual(officialBody)
  })
})
