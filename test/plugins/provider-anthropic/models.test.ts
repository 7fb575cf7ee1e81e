/** Models, capabilities, embeddings and `tau doctor` checks of provider-anthropic. */
import { afterEach, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import providerAnthropic from '../../../plugins/provider-anthropic/index.js'
import type { ScriptedModel } from '../../../plugins/provider-scripted/wire/types.js'
import providers, { providerRegistryRef } from '../../../plugins/providers/index.js'
import { MODEL, type Setup, setup } from './helpers.js'

let t: Setup | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const models: ScriptedModel[] = [
  {
    name: 'claude-opus-4-1',
    capabilities: ['completion', 'tools', 'vision', 'thinking'],
    contextLength: 200_000,
  },
  { name: MODEL, capabilities: ['completion', 'tools', 'vision', 'thinking'], contextLength: 1_000_000 },
  { name: 'claude-3-5-haiku-latest', capabilities: ['completion', 'tools'], contextLength: 100_000 },
]

const provider = (s: Setup) => s.registry.get('anthropic')

describe('provider-anthropic models and checks', () => {
  it('lists models from GET /v1/models, following pages', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({
      name: `claude-test-${i}`,
      contextLength: 1000 + i,
    }))
    t = await setup([], { models: many })
    const listed = await provider(t).listModels!()
    expect(listed).toHaveLength(1001)
    expect(listed[0]).toEqual({
      ref: { provider: 'anthropic', model: 'claude-test-0' },
      displayName: 'claude-test-0',
      capabilities: {
        tools: true,
        contextWindow: 1000,
        vision: false,
        reasoning: false,
        structuredOutput: false,
      },
    })
    expect(listed[1000]!.ref.model).toBe('claude-test-1000')
    expect(t.server.requests.map((r) => r.path)).toEqual([
      '/v1/models?limit=1000',
      '/v1/models?limit=1000&after_id=claude-test-999',
    ])
  })

  it('capabilities: the live answer of /v1/models/{id} over the catalogue; the catalogue for unknown ids', async () => {
    t = await setup([], { models })
    const live = await t.registry.capabilities(`anthropic:${MODEL}`)
    expect(live).toMatchObject({ contextWindow: 1_000_000, tools: true, vision: true, reasoning: true })
    expect(live.maxOutputTokens).toBe(64_000) // the catalogue fills what the API leaves out
    const haiku = await t.registry.capabilities('anthropic:claude-3-5-haiku-latest')
    expect(haiku).toMatchObject({ contextWindow: 100_000, vision: false, reasoning: false })
    const unknown = await t.registry.capabilities('anthropic:claude-opus-4-9')
    expect(unknown).toMatchObject({ contextWindow: 200_000, maxOutputTokens: 32_000, reasoning: true })
    expect(t.server.requests.map((r) => r.path)).toContain('/v1/models/claude-opus-4-9')
  })

  it('has no embeddings: an unsupported error', async () => {
    t = await setup([])
    await expect(
      t.registry.embed({ model: { provider: 'anthropic', model: MODEL }, input: ['x'] }),
    ).rejects.toMatchObject({ code: 'TAU_PROVIDER_UNSUPPORTED', kind: 'unsupported' })
  })

  it('check(): reachable, authenticated, model present, tools', async () => {
    t = await setup([], { models })
    const checks = await provider(t).check!(MODEL)
    expect(checks).toEqual([
      { name: 'reachable', ok: true, detail: t.server.url },
      { name: 'authenticated', ok: true, detail: '3 models listed' },
      { name: 'model', ok: true, detail: MODEL },
      { name: 'tools', ok: true, detail: expect.stringContaining('tool_use') },
    ])
    expect(await provider(t).check!(undefined)).toHaveLength(2)
  })

  it('check(): a missing model fails with a suggestion', async () => {
    t = await setup([], { models })
    const checks = await provider(t).check!('claude-opus-4-')
    expect(checks.at(-1)).toMatchObject({ name: 'model', ok: false })
    expect(checks.at(-1)!.detail).toContain("did you mean 'claude-opus-4-1'")
  })

  it('check(): refused credentials fail "authenticated", naming the variable', async () => {
    // A gateway base URL and no key: tau sends no credentials, the server answers 401.
    t = await setup([], { models, anthropic: { apiKey: undefined, apiKeyVariable: 'TAU_TEST_UNSET_KEY' } })
    const checks = await provider(t).check!(MODEL)
    expect(checks).toEqual([
      { name: 'reachable', ok: true, detail: t.server.url },
      { name: 'authenticated', ok: false, detail: expect.stringContaining('TAU_TEST_UNSET_KEY') },
    ])
  })

  it('check(): nothing listening is "reachable" failing', async () => {
    t = await setup([], { models })
    const url = t.server.url
    await t.server.close()
    const kernel = await createTestKernel({
      plugins: [providers, providerAnthropic],
      config: { providers: { retries: { max: 0 }, anthropic: { baseURL: url, apiKey: 'k' } } },
    })
    try {
      const checks = await kernel.resolve(providerRegistryRef).get('anthropic').check!(MODEL)
      expect(checks).toEqual([{ name: 'reachable', ok: false, detail: expect.stringContaining('refused') }])
    } finally {
      await kernel.stop()
    }
  })

  it('check() on Azure AI Foundry (no models API): a one-token message proves key and model', async () => {
    t = await setup([{ text: 'p' }, { status: 404, errorMessage: 'deployment not found' }], {
      basePath: '/anthropic',
      anthropic: { authHeader: 'bearer' },
    })
    const ok = await provider(t).check!('my-claude')
    expect(ok).toEqual([
      { name: 'reachable', ok: true, detail: `${t.server.url}/anthropic (no models API)` },
      { name: 'authenticated', ok: true, detail: 'a one-token message was accepted' },
      { name: 'model', ok: true, detail: 'my-claude' },
      { name: 'tools', ok: true, detail: expect.any(String) },
    ])
    const probe = t.server.requests.find((r) => r.method === 'POST')!
    expect(probe.body).toEqual({
      model: 'my-claude',
      max_tokens: 1,
      messages: [{ role: 'user', content: 'ping' }],
    })
    const missing = await provider(t).check!('gone')
    expect(missing.at(-1)).toMatchObject({ name: 'model', ok: false })
    expect(missing.at(-1)!.detail).toContain('deployment not found')
  })
})
