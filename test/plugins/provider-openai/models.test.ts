/** Embeddings, model listing, capabilities and `check()` (tau doctor) of the OpenAI provider. */

import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { defaultEmbedding } from '../../../plugins/provider-scripted/server.js'
import { ProviderError } from '../../../plugins/providers/index.js'
import { AZURE_KEY_VAR, type Harness, type HarnessOptions, KEY_VAR, MODELS, startHarness } from './helpers.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.stop()
  harness = undefined
})

async function start(turns: ScriptTurn[] = [], options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(turns, options)
  return harness
}

const embedModel = { provider: 'openai', model: 'text-embedding-3-small' }

describe('openai provider: embeddings', () => {
  it('embeds inputs in order, with usage, through the registry', async () => {
    const { registry, requests } = await start()
    const texts = ['alpha', 'beta gamma', 'δέλτα']
    const response = await registry.embed({ model: embedModel, input: texts })
    expect(response.model).toEqual(embedModel)
    expect(response.embeddings).toEqual(texts.map(defaultEmbedding))
    expect(response.usage?.inputTokens).toBeGreaterThan(0)
    expect(requests('/v1/embeddings')[0]!.body).toEqual({ model: 'text-embedding-3-small', input: texts })
  })

  it('passes dimensions on', async () => {
    const { registry, requests } = await start()
    const response = await registry.embed({ model: embedModel, input: ['a text'], dimensions: 4 })
    expect(response.embeddings[0]).toHaveLength(4)
    expect(requests('/v1/embeddings')[0]!.body).toMatchObject({ dimensions: 4 })
  })

  it('sends more than 2048 inputs in batches and keeps their order', async () => {
    const { registry, requests } = await start()
    const texts = Array.from({ length: 2050 }, (_, i) => `text number ${i}`)
    const response = await registry.embed({ model: embedModel, input: texts })
    expect(requests('/v1/embeddings').map((r) => (r.body as { input: string[] }).input.length)).toEqual([
      2048, 2,
    ])
    expect(response.embeddings).toHaveLength(2050)
    expect(response.embeddings[2049]).toEqual(defaultEmbedding('text number 2049'))
  })

  it('reports an unknown embedding model as model-not-found', async () => {
    const { registry } = await start()
    const error = await registry
      .embed({ model: { provider: 'openai', model: 'nope' }, input: ['x'] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect(error).toMatchObject({ kind: 'model-not-found', plugin: 'provider-openai' })
  })

  it('embeds through an Azure deployment', async () => {
    const { registry, server } = await start([], {
      azureEndpoint: '',
      openai: { azure: { apiStyle: 'deployments', apiVersion: '2024-10-21' } },
    })
    const response = await registry.embed({
      model: { provider: 'azure', model: 'text-embedding-3-small' },
      input: ['x'],
    })
    expect(response.embeddings).toEqual([defaultEmbedding('x')])
    expect(server.requests[0]!.path).toBe(
      '/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21',
    )
  })
})

describe('openai provider: models', () => {
  it('lists the models the server has, as refs of this provider', async () => {
    const { provider } = await start()
    const models = await provider.listModels()
    expect(models.map((m) => m.ref)).toEqual(MODELS.map((m) => ({ provider: 'openai', model: m.name })))
  })

  it('takes capabilities of OpenAI models from the catalogue, config overriding', async () => {
    const { registry } = await start([], {
      providers: { capabilities: { 'openai:gpt-4o': { contextWindow: 64_000 } } },
    })
    expect(await registry.capabilities('openai:o4-mini')).toMatchObject({ reasoning: true, tools: true })
    expect(await registry.capabilities('openai:gpt-4o')).toMatchObject({
      contextWindow: 64_000,
      vision: true,
    })
    expect(await registry.capabilities('azure:gpt-4o-mini')).toMatchObject({ tools: true, reasoning: false })
  })
})

describe('openai provider: check (tau doctor)', () => {
  it('all good: reachable, authenticated, model present, native tools', async () => {
    const { provider } = await start()
    const checks = await provider.check('gpt-4o')
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['reachable', true],
      ['authenticated', true],
      ['model', true],
      ['tools', true],
    ])
    expect(checks[1]!.detail).toContain(KEY_VAR)
    expect(checks[3]!.detail).toMatch(/native/)
  })

  it('a model the server does not list fails, with a suggestion', async () => {
    const { provider } = await start()
    const model = (await provider.check('gpt-4o-mni')).find((c) => c.name === 'model')
    expect(model).toMatchObject({ ok: false })
    expect(model!.detail).toMatch(/gpt-4o-mini/)
  })

  it('a refused key fails authenticated, naming the variable', async () => {
    const { provider } = await start([], { env: { [KEY_VAR]: 'sk-invalid-0123456789' } })
    const checks = await provider.check('gpt-4o')
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['reachable', true],
      ['authenticated', false],
    ])
    expect(checks[1]!.detail).toContain(KEY_VAR)
  })

  it('an unreachable server fails reachable', async () => {
    const listener = createServer()
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const { port } = listener.address() as AddressInfo
    await new Promise((resolve) => listener.close(resolve))
    const { provider } = await start([], {
      openai: { baseURL: `http://127.0.0.1:${port}/v1` },
      providers: { retries: { max: 0 } },
    })
    const checks = await provider.check('gpt-4o')
    expect(checks).toHaveLength(1)
    expect(checks[0]).toMatchObject({ name: 'reachable', ok: false })
    expect(checks[0]!.detail).toMatch(/refused/)
  })

  it('not configured: fine when unused, a failure when the configured model is on it', async () => {
    const { registry, server } = await start()
    const azure = registry.get('azure')
    expect(await azure.check!(undefined)).toEqual([
      { name: 'configured', ok: true, detail: expect.stringMatching(/not configured/) },
    ])
    const used = await azure.check!('my-gpt4o')
    expect(used).toEqual([
      { name: 'configured', ok: false, detail: expect.stringContaining('AZURE_OPENAI_ENDPOINT') },
    ])
    expect(server.requests).toHaveLength(0)
  })

  it('azure: a deployment missing from the listing is probed with an empty chat (no tokens) and reported', async () => {
    const { registry, server } = await start([], {
      azureEndpoint: '',
      openai: { azure: { apiStyle: 'deployments', apiVersion: '2024-10-21' } },
    })
    const azure = registry.get('azure')
    const present = await azure.check!('my-gpt4o')
    expect(present.map((c) => [c.name, c.ok])).toEqual([
      ['reachable', true],
      ['authenticated', true],
      ['model', true],
      ['tools', true],
    ])
    const missing = (await azure.check!('no-such-deployment')).find((c) => c.name === 'model')
    expect(missing).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/no deployment named no-such-deployment/),
    })
    const probe = server.requests.find((r) => r.method === 'POST')
    expect(probe?.path).toBe('/openai/deployments/no-such-deployment/chat/completions?api-version=2024-10-21')
    expect(probe?.body).toEqual({ model: 'no-such-deployment', messages: [] })
    expect(server.remaining()).toBe(0)
  })

  it('azure: a refused key fails authenticated, naming the Azure variable', async () => {
    const { registry } = await start([], {
      azureEndpoint: '',
      env: { [AZURE_KEY_VAR]: 'invalid-0123456789' },
    })
    const checks = await registry.get('azure').check!('my-gpt4o')
    expect(checks.find((c) => c.name === 'authenticated')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(AZURE_KEY_VAR),
    })
  })
})
