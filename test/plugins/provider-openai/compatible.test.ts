/** Named OpenAI-compatible servers (LM Studio, vLLM, llama.cpp, OpenRouter, ...) as providers of their own. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import providerOpenai from '../../../plugins/provider-openai/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import providers, { ProviderError } from '../../../plugins/providers/index.js'
import { collect, type Harness, type HarnessOptions, request, startHarness, toolEnds } from './helpers.js'

let harness: Harness | undefined
let extra: Server | undefined
afterEach(async () => {
  await harness?.stop()
  harness = undefined
  if (extra) await new Promise((resolve) => extra!.close(resolve))
  extra = undefined
})

async function start(
  turns: ScriptTurn[],
  compatible: Record<string, Record<string, unknown>>,
  options: HarnessOptions = {},
): Promise<Harness> {
  harness = await startHarness(turns, { ...options, compatible })
  return harness
}

const readTool = {
  name: 'Read',
  description: 'Read a file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
}

describe('compatible servers', () => {
  it('registers each named server as a provider; keys only where configured; max_tokens', async () => {
    const { registry, chatBodies, requests } = await start(
      [{ text: 'from lmstudio' }, { text: 'from openrouter' }],
      {
        lmstudio: {},
        openrouter: {
          apiKeyEnv: 'TAU_TEST_OPENROUTER_KEY',
          headers: { 'HTTP-Referer': 'https://example.test', 'X-Title': 'tau' },
        },
      },
      { env: { TAU_TEST_OPENROUTER_KEY: 'or-key-0123456789' } },
    )
    expect(registry.list().map((p) => p.name)).toEqual(['openai', 'azure', 'lmstudio', 'openrouter'])
    const model = 'qwen2.5-7b-instruct'
    await collect(registry.stream(request({ model: { provider: 'lmstudio', model }, maxOutputTokens: 50 })))
    await collect(registry.stream(request({ model: { provider: 'openrouter', model } })))
    const [lm, or] = chatBodies() as Array<Record<string, unknown>>
    const [lmRequest, orRequest] = requests('/v1/chat/completions')
    expect(lm).toMatchObject({ model, max_tokens: 50 })
    expect(lm).not.toHaveProperty('max_completion_tokens')
    expect(lmRequest!.headers.authorization).toBeUndefined()
    expect(orRequest!.headers.authorization).toBe('Bearer or-key-0123456789')
    expect(orRequest!.headers['http-referer']).toBe('https://example.test')
    expect(orRequest!.headers['x-title']).toBe('tau')
    expect(or).toMatchObject({ model })
  })

  it('a server whose key variable is unset: not-configured, naming the variable, no request made', async () => {
    const { registry, server } = await start([], {
      openrouter: { apiKeyEnv: 'TAU_TEST_UNSET_KEY' },
    })
    const failure = await collect(
      registry.get('openrouter').stream(request({ model: { provider: 'openrouter', model: 'x' } })),
    ).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(ProviderError)
    expect(failure).toMatchObject({ kind: 'not-configured', plugin: 'provider-openai' })
    expect((failure as Error).message).toContain('TAU_TEST_UNSET_KEY')
    expect(server.requests).toHaveLength(0)
  })

  it('sends reasoning_effort to a compatible server whenever the request asks for an effort', async () => {
    const { registry, chatBodies } = await start([{ reasoning: 'hmm', text: 'ok' }], { vllm: {} })
    const events = await collect(
      registry.get('vllm').stream(
        request({
          model: { provider: 'vllm', model: 'qwen2.5-7b-instruct' },
          reasoning: { effort: 'low' },
          temperature: 0.6,
        }),
      ),
    )
    expect(chatBodies()[0]).toMatchObject({ reasoning_effort: 'low', temperature: 0.6 })
    expect(events.some((e) => e.type === 'reasoning-delta')).toBe(true)
  })

  it('falls back to prompt tools when the server has tool calling turned off (vLLM without --enable-auto-tool-choice)', async () => {
    const { registry, chatBodies } = await start(
      [
        {
          status: 400,
          errorMessage:
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
        },
        { text: 'Reading.\n<tool_call>\n{"name": "Read", "arguments": {"path": "a.ts"}}\n</tool_call>' },
      ],
      { vllm: {} },
    )
    const events = await collect(
      registry.stream(
        request({ model: { provider: 'vllm', model: 'qwen2.5-7b-instruct' }, tools: [readTool] }),
      ),
    )
    expect(toolEnds(events)).toEqual([
      { type: 'tool-call-end', id: expect.any(String), name: 'Read', input: { path: 'a.ts' } },
    ])
    const [native, prompted] = chatBodies() as Array<Record<string, unknown>>
    expect(native).toHaveProperty('tools')
    expect(prompted).not.toHaveProperty('tools')
    expect(JSON.stringify(prompted!.messages)).toContain('<tool_call>')
  })

  it('rejects server names that are not provider names, or that this plugin already uses', async () => {
    const attempt = (compatible: Record<string, unknown>) =>
      createTestKernel({
        plugins: [providers, providerOpenai],
        config: { providers: { openai: { compatible } } },
      })
    const badName = await attempt({ Bad_Name: { baseURL: 'http://127.0.0.1:1/v1' } }).catch((e: unknown) => e)
    expect(badName).toMatchObject({ code: 'TAU_CONFIG_INVALID' })
    expect((badName as Error).message).toMatch(/compatible\.Bad_Name: 'Bad_Name' is not a provider name/)
    const taken = await attempt({ azure: { baseURL: 'http://127.0.0.1:1/v1' } }).catch((e: unknown) => e)
    expect(taken).toMatchObject({ code: 'TAU_CONFIG_INVALID' })
    expect((taken as Error).message).toMatch(/compatible\.azure: 'azure' is taken by this plugin/)
  })

  it('reads capabilities from what vLLM, llama.cpp and OpenRouter add to their model listing', async () => {
    extra = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          object: 'list',
          data: [
            { id: 'vllm-model', object: 'model', owned_by: 'vllm', max_model_len: 65_536 },
            { id: 'llama-model', object: 'model', owned_by: 'llamacpp', meta: { n_ctx_train: 131_072 } },
            {
              id: 'vendor/vision-model',
              object: 'model',
              context_length: 200_000,
              supported_parameters: ['max_tokens', 'temperature'],
              architecture: { input_modalities: ['text', 'image'] },
              top_provider: { max_completion_tokens: 8192 },
            },
          ],
        }),
      )
    })
    await new Promise<void>((resolve) => extra!.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(extra.address() as AddressInfo).port}/v1`
    harness = await startHarness([], { compatible: { local: { baseURL: url } } })
    const { registry } = harness
    expect(await registry.capabilities('local:vllm-model')).toMatchObject({ contextWindow: 65_536 })
    expect(await registry.capabilities('local:llama-model')).toMatchObject({ contextWindow: 131_072 })
    expect(await registry.capabilities('local:vendor/vision-model')).toMatchObject({
      contextWindow: 200_000,
      tools: false,
      vision: true,
      maxOutputTokens: 8192,
    })
    const listed = await harness.get('local').listModels()
    expect(listed.map((m) => m.ref.model)).toEqual(['vllm-model', 'llama-model', 'vendor/vision-model'])
  })
})
