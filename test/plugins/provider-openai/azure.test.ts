/** The `azure` provider: Azure OpenAI / Azure AI Foundry in its URL forms, against the scripted server. */
import { AzureOpenAI } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../../kernel/index.js'
import { azureStyleOf } from '../../../plugins/provider-openai/endpoints.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { ProviderError } from '../../../plugins/providers/index.js'
import {
  AZURE_KEY,
  AZURE_KEY_VAR,
  collect,
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

async function start(
  turns: ScriptTurn[],
  azure: Record<string, unknown> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  harness = await startHarness(turns, { azureEndpoint: '', ...options, openai: { azure, ...options.openai } })
  return harness
}

const deployment = { provider: 'azure', model: 'my-gpt4o' }

async function failure(iterable: AsyncIterable<unknown>): Promise<ProviderError> {
  try {
    for await (const _ of iterable) {
      // consume
    }
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError)
    return error as ProviderError
  }
  throw new Error('expected the call to fail')
}

describe('azure provider: URL forms', () => {
  it('deployments form: the deployment in the path, api-version from OPENAI_API_VERSION, the key as api-key', async () => {
    const { registry, server } = await start(
      [{ text: 'Hello from Azure.', usage: { inputTokens: 3, outputTokens: 4 } }],
      {},
      {
        env: { OPENAI_API_VERSION: '2024-10-21' },
      },
    )
    const events = await collect(registry.get('azure').stream(request({ model: deployment })))
    const [sent] = server.requests
    expect(sent!.path).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21')
    expect(sent!.headers['api-key']).toBe(AZURE_KEY)
    expect(sent!.headers.authorization).toBeUndefined()
    expect(sent!.body).toMatchObject({ model: 'my-gpt4o', stream: true })
    // The first event (prompt_filter_results, empty choices) gives nothing: text comes first.
    expect(events[0]).toEqual({ type: 'text-delta', text: expect.any(String) })
    expect(textOf(events)).toBe('Hello from Azure.')
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, reasoningTokens: 0 } },
      { type: 'finish', reason: 'stop' },
    ])
  })

  it('v1 form (the default without an api-version): /openai/v1/chat/completions, deployment in the body', async () => {
    const { registry, server } = await start([{ text: 'v1' }])
    await collect(registry.get('azure').stream(request({ model: deployment })))
    expect(server.requests[0]!.path).toBe('/openai/v1/chat/completions')
    expect(server.requests[0]!.body).toMatchObject({ model: 'my-gpt4o', stream: true })
    expect(server.requests[0]!.headers['api-key']).toBe(AZURE_KEY)
  })

  it('v1 form with an explicit api-version (preview) passes it on', async () => {
    const { registry, server } = await start([{ text: 'v1' }], { apiStyle: 'v1', apiVersion: 'preview' })
    await collect(registry.get('azure').stream(request({ model: deployment })))
    expect(server.requests[0]!.path).toBe('/openai/v1/chat/completions?api-version=preview')
  })

  it('deployments form chosen explicitly without a version uses the default one', async () => {
    const { registry, server } = await start([{ text: 'd' }], { apiStyle: 'deployments' })
    await collect(registry.get('azure').stream(request({ model: deployment, maxOutputTokens: 64 })))
    expect(server.requests[0]!.path).toBe(
      '/openai/deployments/my-gpt4o/chat/completions?api-version=2025-04-01-preview',
    )
    expect(server.requests[0]!.body).toMatchObject({ max_completion_tokens: 64 })
  })

  it('model inference form for an endpoint ending in /models: extra-parameters: drop, max_tokens', async () => {
    const { registry, server } = await start([{ text: 'Foundry.' }], {}, { azureEndpoint: '/models' })
    await collect(registry.get('azure').stream(request({ model: deployment, maxOutputTokens: 32 })))
    const sent = server.requests[0]!
    expect(sent.path).toBe('/models/chat/completions?api-version=2024-05-01-preview')
    expect(sent.headers['extra-parameters']).toBe('drop')
    expect(sent.body).toMatchObject({ model: 'my-gpt4o', max_tokens: 32 })
    expect(sent.body).not.toHaveProperty('max_completion_tokens')
  })

  it('picks the style from config, the endpoint path and the api-version', () => {
    const base = {
      apiKeyEnv: 'X',
      headers: {},
      includeUsage: true,
      maxTokensField: 'max_completion_tokens' as const,
    }
    expect(azureStyleOf(base, 'https://r.openai.azure.com', {})).toBe('v1')
    expect(azureStyleOf(base, 'https://r.openai.azure.com', { OPENAI_API_VERSION: '2024-10-21' })).toBe(
      'deployments',
    )
    expect(azureStyleOf({ ...base, apiVersion: '2024-10-21' }, 'https://r.openai.azure.com', {})).toBe(
      'deployments',
    )
    expect(azureStyleOf(base, 'https://r.services.ai.azure.com/models', {})).toBe('inference')
    expect(azureStyleOf(base, 'https://r.openai.azure.com/openai/v1/', { OPENAI_API_VERSION: 'x' })).toBe(
      'v1',
    )
    expect(
      azureStyleOf({ ...base, apiStyle: 'v1' }, 'https://r.openai.azure.com', { OPENAI_API_VERSION: 'x' }),
    ).toBe('v1')
  })
})

describe('azure provider: errors', () => {
  it('a missing deployment is model-not-found, with a hint that the ref names the deployment', async () => {
    const { registry } = await start([])
    const error = await failure(
      registry.get('azure').stream(request({ model: { provider: 'azure', model: 'nope' } })),
    )
    expect(error).toMatchObject({ kind: 'model-not-found', status: 404, plugin: 'provider-openai' })
    expect(error.message).toMatch(/deployment for this resource does not exist/)
    expect(error.hint).toMatch(/deployment name/)
  })

  it('a refused key is an auth error naming the Azure key variable', async () => {
    const { registry } = await start([], {}, { env: { [AZURE_KEY_VAR]: 'invalid-azure-key-123456' } })
    const error = await failure(registry.get('azure').stream(request({ model: deployment })))
    expect(error).toMatchObject({ kind: 'auth', status: 401 })
    expect(error.hint).toContain(AZURE_KEY_VAR)
    expect(error.message).not.toContain('invalid-azure-key-123456')
  })

  it('maps finish_reason content_filter', async () => {
    const { registry } = await start([{ text: 'partial', finishReason: 'content-filter' }])
    const events = await collect(registry.get('azure').stream(request({ model: deployment })))
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'content-filter' })
  })

  it('without an endpoint: not-configured, naming AZURE_OPENAI_ENDPOINT', async () => {
    harness = await startHarness([])
    const error = await failure(harness.registry.get('azure').stream(request({ model: deployment })))
    expect(error).toMatchObject({ kind: 'not-configured', plugin: 'provider-openai' })
    expect(error.message).toContain('AZURE_OPENAI_ENDPOINT')
    expect(harness.server.requests).toHaveLength(0)
  })
})

describe('azure provider: against the official AzureOpenAI client', () => {
  const conversation: Message[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool-call', id: 'call_a', name: 'Read', input: { path: 'x' } },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'call_a',
          toolName: 'Read',
          content: [{ type: 'text', text: 'data' }],
        },
      ],
    },
  ]

  it('sends the same path, api-key and body as AzureOpenAI for the same conversation', async () => {
    const { registry, server, chatBodies } = await start([{ text: 'tau' }, { text: 'sdk' }], {
      apiStyle: 'deployments',
      apiVersion: '2024-10-21',
    })
    await collect(
      registry
        .get('azure')
        .stream(request({ model: deployment, messages: conversation, maxOutputTokens: 100 })),
    )
    const client = new AzureOpenAI({
      endpoint: server.url,
      apiKey: AZURE_KEY,
      apiVersion: '2024-10-21',
      deployment: 'my-gpt4o',
      maxRetries: 0,
    })
    const stream = await client.chat.completions.create({
      model: 'my-gpt4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'Read', arguments: '{"path":"x"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'data' },
      ],
      max_completion_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('sdk')
    const [tau, sdk] = server.requests
    expect(tau!.path).toBe(sdk!.path)
    expect(tau!.headers['api-key']).toBe(sdk!.headers['api-key'])
    const [tauBody, sdkBody] = chatBodies()
    expect(tauBody).toEqual(sdkBody)
  })
})
