/**
 * Fidelity of the scripted OpenAI server (plugins/provider-scripted/wire/openai.ts): the official
 * `openai` client, which knows the real API, reads everything it serves.
 */
import OpenAI, { AzureOpenAI } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import {
  defaultEmbedding,
  type ScriptedServer,
  startScriptedServer,
} from '../../../plugins/provider-scripted/server.js'
import { MODELS } from './helpers.js'

let server: ScriptedServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function serve(turns: ScriptTurn[]): Promise<ScriptedServer> {
  server = await startScriptedServer({ format: 'openai', script: turns, models: MODELS })
  return server
}

const client = (s: ScriptedServer, apiKey = 'sk-test') =>
  new OpenAI({ apiKey, baseURL: `${s.url}/v1`, maxRetries: 0 })

const azure = (s: ScriptedServer, apiKey = 'azure-key') =>
  new AzureOpenAI({
    endpoint: s.url,
    apiKey,
    apiVersion: '2024-10-21',
    deployment: 'my-gpt4o',
    maxRetries: 0,
  })

const weatherTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

const toolTurn: ScriptTurn = {
  text: 'Checking both.',
  toolCalls: [
    { id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
    { id: 'call_oslo', name: 'get_weather', input: { city: 'Oslo' } },
  ],
  usage: { inputTokens: 20, outputTokens: 9, cacheReadTokens: 4, reasoningTokens: 0 },
}

describe('scripted OpenAI server, read by the official openai client', () => {
  it('streaming chat with parallel tool calls: the stream helper assembles the completion', async () => {
    const s = await serve([toolTurn])
    const stream = client(s).chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
      tools: [weatherTool],
      parallel_tool_calls: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    stream.on('chunk', (chunk) => chunks.push(chunk))
    const completion = await stream.finalChatCompletion()
    const message = completion.choices[0]!.message
    expect(message.content).toBe('Checking both.')
    expect(message.tool_calls).toMatchObject([
      {
        id: 'call_paris',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
      { id: 'call_oslo', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ])
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(completion.usage).toMatchObject({
      prompt_tokens: 20,
      completion_tokens: 9,
      total_tokens: 29,
      prompt_tokens_details: { cached_tokens: 4 },
    })
    // Every chunk is a chat.completion.chunk of one id; the last carries the usage and no choices.
    expect(new Set(chunks.map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']))
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(chunks.at(-1)!.choices).toEqual([])
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.every((c) => typeof c.created === 'number' && c.model === 'gpt-4o')).toBe(true)
    expect(chunks[0]!.system_fingerprint).toMatch(/^fp_/)
  })

  it('raw streaming chunks: tool-call deltas by index, id and name first, then argument pieces', async () => {
    const s = await serve([{ ...toolTurn, deltaChars: 3 }])
    const stream = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      stream: true,
    })
    const deltas: OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall[] = []
    let finish: string | null = null
    let last: OpenAI.Chat.ChatCompletionChunk | undefined
    for await (const chunk of stream) {
      last = chunk
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) deltas.push(call)
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    const first = deltas.filter((d) => d.id !== undefined)
    expect(first).toEqual([
      { index: 0, id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, id: 'call_oslo', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ])
    const args = (index: number) =>
      deltas
        .filter((d) => d.index === index)
        .map((d) => d.function?.arguments ?? '')
        .join('')
    expect(args(0)).toBe('{"city":"Paris"}')
    expect(args(1)).toBe('{"city":"Oslo"}')
    expect(deltas.filter((d) => d.id === undefined).length).toBeGreaterThan(4)
    expect(finish).toBe('tool_calls')
    // Without stream_options.include_usage there is no usage chunk.
    expect(last!.choices).toHaveLength(1)
    expect(last!.usage).toBeUndefined()
  })

  it('non-streaming chat: one chat.completion with the message, tool calls and usage', async () => {
    const s = await serve([toolTurn, { text: 'Plain answer.', usage: { inputTokens: 5, outputTokens: 3 } }])
    const withTools = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
    })
    expect(withTools.object).toBe('chat.completion')
    expect(withTools.choices[0]!.message.tool_calls?.map((c) => c.id)).toEqual(['call_paris', 'call_oslo'])
    expect(withTools.choices[0]!.finish_reason).toBe('tool_calls')
    const plain = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(plain.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Plain answer.' })
    expect(plain.choices[0]!.finish_reason).toBe('stop')
    expect(plain.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 })
  })

  it('reasoning_content deltas reach the client as an extra delta field', async () => {
    const s = await serve([{ reasoning: 'Thinking hard.', text: 'Done.' }])
    const stream = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    })
    let reasoning = ''
    let text = ''
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as
        | { content?: string | null; reasoning_content?: string }
        | undefined
      reasoning += delta?.reasoning_content ?? ''
      text += delta?.content ?? ''
    }
    expect(reasoning).toBe('Thinking hard.')
    expect(text).toBe('Done.')
  })

  it('embeddings: the client default (base64) decodes to the same floats; float as asked', async () => {
    const s = await serve([])
    const texts = ['one', 'two words']
    const base64 = await client(s).embeddings.create({ model: 'text-embedding-3-small', input: texts })
    expect((s.requests[0]!.body as { encoding_format?: string }).encoding_format).toBe('base64')
    expect(base64.object).toBe('list')
    expect(base64.data.map((d) => d.index)).toEqual([0, 1])
    for (const [i, item] of base64.data.entries()) {
      const expected = defaultEmbedding(texts[i]!)
      expect(item.embedding).toHaveLength(expected.length)
      item.embedding.forEach((v, j) => {
        expect(v).toBeCloseTo(expected[j]!, 5)
      })
    }
    const floats = await client(s).embeddings.create({
      model: 'text-embedding-3-small',
      input: 'one',
      encoding_format: 'float',
    })
    expect(floats.data[0]!.embedding).toEqual(defaultEmbedding('one'))
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0)
  })

  it('models: list and retrieve', async () => {
    const s = await serve([])
    const ids: string[] = []
    for await (const model of client(s).models.list()) ids.push(model.id)
    expect(ids).toEqual(MODELS.map((m) => m.name))
    const model = await client(s).models.retrieve('gpt-4o')
    expect(model).toMatchObject({ id: 'gpt-4o', object: 'model', owned_by: 'system' })
    await expect(client(s).models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('errors have the shapes the client maps to its error classes', async () => {
    const s = await serve([
      { status: 429, errorMessage: 'Rate limit reached', headers: { 'retry-after': '1' } },
      { status: 500, errorMessage: 'The server had an error' },
    ])
    const c = client(s)
    const ask = (model = 'gpt-4o') =>
      c.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] })
    const unauthorized = await client(s, 'sk-invalid-123456789')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(unauthorized).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'invalid_request_error',
    })
    const missing = await ask('gpt-99').catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect(missing).toMatchObject({ code: 'model_not_found' })
    const empty = await c.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch((e: unknown) => e)
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError)
    expect(empty).toMatchObject({ param: 'messages', code: 'empty_array' })
    const limited = await ask().catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
    expect(limited).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' })
    expect(await ask().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.InternalServerError)
  })

  it('an error event inside the stream makes the client throw after the content', async () => {
    const s = await serve([
      { text: 'partial', streamError: 'The server had an error while processing your request.' },
    ])
    const stream = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    })
    let text = ''
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(text).toBe('partial')
    expect(failure).toBeInstanceOf(OpenAI.APIError)
    expect((failure as Error).message).toContain('The server had an error')
  })
})

describe('scripted Azure OpenAI paths, read by the official AzureOpenAI client', () => {
  it('streams through the deployment path with api-version and api-key; the prompt-filter chunk is tolerated', async () => {
    const s = await serve([{ ...toolTurn, text: 'Azure says hi.' }])
    const stream = azure(s).chat.completions.stream({
      model: 'my-gpt4o',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      stream_options: { include_usage: true },
    })
    const raw: OpenAI.Chat.ChatCompletionChunk[] = []
    stream.on('chunk', (chunk) => raw.push(chunk))
    const completion = await stream.finalChatCompletion()
    expect(completion.choices[0]!.message.content).toBe('Azure says hi.')
    expect(completion.choices[0]!.message.tool_calls?.map((c) => c.function.name)).toEqual([
      'get_weather',
      'get_weather',
    ])
    expect(completion.usage?.total_tokens).toBe(29)
    const [sent] = s.requests
    expect(sent!.path).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21')
    expect(sent!.headers['api-key']).toBe('azure-key')
    expect(raw[0]).toMatchObject({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] })
  })

  it('non-streaming chat and embeddings through deployments', async () => {
    const s = await serve([{ text: 'Whole.', finishReason: 'content-filter' }])
    const answer = await azure(s).chat.completions.create({
      model: 'my-gpt4o',
      messages: [{ role: 'user', content: 'x' }],
    })
    expect(answer.choices[0]).toMatchObject({
      message: { content: 'Whole.' },
      finish_reason: 'content_filter',
    })
    const embedding = await new AzureOpenAI({
      endpoint: s.url,
      apiKey: 'azure-key',
      apiVersion: '2024-10-21',
      deployment: 'text-embedding-3-small',
      maxRetries: 0,
    }).embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'float' })
    expect(embedding.data[0]!.embedding).toEqual(defaultEmbedding('x'))
    expect(s.requests[1]!.path).toBe(
      '/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21',
    )
  })

  it('an unknown deployment is a 404 DeploymentNotFound', async () => {
    const s = await serve([])
    const error = await new AzureOpenAI({
      endpoint: s.url,
      apiKey: 'azure-key',
      apiVersion: '2024-10-21',
      deployment: 'nope',
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error).toMatchObject({ code: 'DeploymentNotFound' })
  })

  it('the v1 API (OpenAI client with baseURL {endpoint}/openai/v1) streams too', async () => {
    const s = await serve([{ text: 'v1 hello', usage: { inputTokens: 1, outputTokens: 2 } }])
    const v1 = new OpenAI({ apiKey: 'azure-key', baseURL: `${s.url}/openai/v1`, maxRetries: 0 })
    const stream = await v1.chat.completions.create({
      model: 'my-gpt4o',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      usage = chunk.usage ?? usage
    }
    expect(text).toBe('v1 hello')
    expect(usage?.total_tokens).toBe(3)
    expect(s.requests[0]!.path).toBe('/openai/v1/chat/completions')
  })
})
