/** Capabilities (/api/show), embeddings (/api/embed), listing (/api/tags) and `tau doctor` checks. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import providerOllama from '../../../plugins/provider-ollama/index.js'
import { defaultEmbedding, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import providers, { lookupCapabilities, providerRegistryRef } from '../../../plugins/providers/index.js'
import { type Harness, type HarnessOptions, MODELS, startHarness } from './helpers.js'

let harness: Harness | undefined
afterEach(async () => {
  vi.unstubAllEnvs()
  await harness?.stop()
  harness = undefined
})

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness([], options)
  return harness
}

describe('ollama provider: capabilities from /api/show', () => {
  it('reads tools, thinking and vision from the capabilities array and the window from model_info', async () => {
    const { registry, bodies } = await start()
    expect(await registry.capabilities('ollama:qwen3:8b')).toMatchObject({
      contextWindow: 40_960,
      tools: true,
      reasoning: true,
      vision: false,
      structuredOutput: true,
    })
    expect(await registry.capabilities('ollama:gemma3:4b')).toMatchObject({
      contextWindow: 131_072,
      tools: false,
      vision: true,
      reasoning: false,
    })
    expect(bodies('/api/show')).toEqual([{ model: 'qwen3:8b' }, { model: 'gemma3:4b' }])
  })

  it('lets the live answer win over the catalogue', async () => {
    // The catalogue says llama3.2-vision has no tools; this server says it has.
    expect(lookupCapabilities('ollama', 'llama3.2-vision')?.tools).toBe(false)
    const { registry } = await start()
    expect(await registry.capabilities('ollama:llama3.2-vision')).toMatchObject({ tools: true, vision: true })
  })

  it('caps the window at the num_ctx the model is loaded with', async () => {
    const { registry } = await start({ ollama: { numCtx: 8192 } })
    expect((await registry.capabilities('ollama:qwen3:8b')).contextWindow).toBe(8192)
  })

  it('fails clearly for a missing model', async () => {
    const { registry } = await start()
    await expect(registry.capabilities('ollama:llama9')).rejects.toMatchObject({
      kind: 'model-not-found',
      hint: expect.stringContaining('ollama pull llama9'),
    })
  })

  it('falls back to the catalogue when the server has no /api/show (a proxy, an old server)', async () => {
    const proxy = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found')
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const { port } = proxy.address() as AddressInfo
    try {
      const { registry, provider } = await start({ ollama: { host: `127.0.0.1:${port}` } })
      expect(await provider.capabilities('qwen3:8b')).toBeUndefined()
      expect(await registry.capabilities('ollama:qwen3:8b')).toEqual(lookupCapabilities('ollama', 'qwen3:8b'))
    } finally {
      await new Promise((resolve) => proxy.close(resolve))
    }
  })
})

describe('ollama provider: embeddings and models', () => {
  it('embeds many inputs in one /api/embed call, in order, with the token count', async () => {
    const { registry, bodies } = await start({ ollama: { keepAlive: '5m' } })
    const model = { provider: 'ollama', model: 'nomic-embed-text' }
    const response = await registry.embed({ model, input: ['first text', 'second text'] })
    expect(response.model).toEqual(model)
    expect(response.embeddings).toEqual([defaultEmbedding('first text'), defaultEmbedding('second text')])
    expect(response.usage?.inputTokens).toBeGreaterThan(0)
    const cut = await registry.embed({ model, input: ['x'], dimensions: 3 })
    expect(cut.embeddings[0]).toHaveLength(3)
    expect(bodies('/api/embed')).toEqual([
      { model: 'nomic-embed-text', input: ['first text', 'second text'], keep_alive: '5m' },
      { model: 'nomic-embed-text', input: ['x'], dimensions: 3, keep_alive: '5m' },
    ])
    await expect(
      registry.embed({ model: { provider: 'ollama', model: 'missing-embedder' }, input: ['x'] }),
    ).rejects.toMatchObject({ kind: 'model-not-found', plugin: 'provider-ollama' })
  })

  it('lists the installed models with the capabilities /api/tags gives', async () => {
    const { provider } = await start()
    const models = await provider.listModels()
    expect(models.map((m) => m.ref)).toEqual(MODELS.map((m) => ({ provider: 'ollama', model: m.name })))
    expect(models[0]).toMatchObject({
      displayName: 'qwen3:8b (8.2B Q4_K_M)',
      capabilities: { tools: true, reasoning: true, vision: false },
    })
  })
})

describe('ollama provider: check() for tau doctor', () => {
  it('passes every check for an installed model with tools (a name without a tag means :latest)', async () => {
    const { provider } = await start()
    const checks = await provider.check('llama3.2-vision')
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['reachable', true],
      ['authenticated', true],
      ['model', true],
      ['tool calling', true],
    ])
    expect(checks[0]!.detail).toMatch(/^Ollama \d+\.\d+\.\d+ answers at http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('fails the model check with `ollama pull` and a did-you-mean for a model that is not installed', async () => {
    const { provider } = await start()
    const checks = await provider.check('qwen3:4b')
    expect(checks.at(-1)).toMatchObject({
      name: 'model',
      ok: false,
      detail: expect.stringMatching(/did you mean 'qwen3:8b'.*ollama pull qwen3:4b/),
    })
    expect(checks.some((c) => c.name === 'tool calling')).toBe(false)
  })

  it('fails the tool-calling check for a model without the tools capability', async () => {
    const { provider } = await start()
    expect((await provider.check('gemma3:4b')).at(-1)).toMatchObject({ name: 'tool calling', ok: false })
  })

  it('without an ollama model, checks the server and counts the models', async () => {
    const { provider } = await start()
    const checks = await provider.check(undefined)
    expect(checks.at(-1)).toMatchObject({
      name: 'model',
      ok: true,
      detail: expect.stringContaining('5 model(s)'),
    })
  })

  it('fails reachable, with the `ollama serve` hint, when nothing listens', async () => {
    const { provider, server } = await start({ providers: { retries: { max: 0 } } })
    await server.close()
    const checks = await provider.check('qwen3:8b')
    expect(checks).toEqual([
      { name: 'reachable', ok: false, detail: expect.stringMatching(/connection refused.*ollama serve/) },
    ])
  })
})

describe('ollama provider: where the server is', () => {
  it('uses OLLAMA_HOST in its host:port form when no host is configured', async () => {
    const server = await startScriptedServer({ format: 'ollama', script: [], models: MODELS })
    vi.stubEnv('OLLAMA_HOST', `0.0.0.0:${new URL(server.url).port}`)
    const kernel = await createTestKernel({ plugins: [providers, providerOllama] })
    try {
      const models = await kernel.resolve(providerRegistryRef).get('ollama').listModels!()
      expect(models).toHaveLength(MODELS.length)
      expect(server.requests).toMatchObject([{ method: 'GET', path: '/api/tags' }])
    } finally {
      await kernel.stop()
      await server.close()
    }
  })

  it('sends the configured headers (for a proxy) with every request', async () => {
    const { provider, server } = await start({ ollama: { headers: { 'x-proxy-token': 'abc123456' } } })
    await provider.listModels()
    await provider.check('qwen3:8b')
    expect(server.requests.length).toBeGreaterThan(2)
    for (const r of server.requests) expect(r.headers['x-proxy-token']).toBe('abc123456')
  })
})
