import { describe, expect, it } from 'vitest'
import type { ModelRequest, StreamEvent } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import providerScripted, {
  ScriptedProvider,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers, {
  ProviderError,
  ProviderRegistry,
  providerRegistryRef,
} from '../../../plugins/providers/index.js'

const model = { provider: 'scripted', model: 'm' }
const readTool = { name: 'Read', description: 'read', inputSchema: { type: 'object' } }
const request = (extra: Partial<ModelRequest> = {}): ModelRequest => ({
  model,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
})

async function events(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = []
  for await (const event of iterable) out.push(event)
  return out
}

describe('provider registry', () => {
  it('routes a request to the provider of its ModelRef and folds the stream for complete()', async () => {
    const kernel = await createTestKernel({
      plugins: [providers, providerScripted],
      config: {
        providers: {
          scripted: { turns: [{ text: 'Hello there', usage: { inputTokens: 3, outputTokens: 2 } }] },
        },
      },
    })
    const registry = kernel.resolve(providerRegistryRef)
    const response = await registry.complete(request())
    expect(response.message.content).toEqual([{ type: 'text', text: 'Hello there' }])
    expect(response.usage).toEqual({ inputTokens: 3, outputTokens: 2 })
    expect(response.finishReason).toBe('stop')
    expect(kernel.resolve(scriptedProviderRef).requests).toHaveLength(1)
    await kernel.stop()
  })

  it('names the loaded providers, with a did-you-mean, for an unknown provider', () => {
    const registry = new ProviderRegistry()
    registry.register(new ScriptedProvider(), 'provider-scripted')
    expect(() => registry.get('scriptd')).toThrow(
      "no provider named 'scriptd' (did you mean 'scripted'?); loaded providers: scripted",
    )
    expect(() => registry.register(new ScriptedProvider(), 'other')).toThrow(/registered twice/)
  })

  it('merges capabilities: catalogue, then the live answer, then config overrides', async () => {
    const registry = new ProviderRegistry({
      capabilities: { scripted: { vision: true }, 'scripted:m': { contextWindow: 999 } },
    })
    registry.register(new ScriptedProvider([], { contextWindow: 4096, tools: false }), 'p')
    expect(await registry.capabilities('scripted:m')).toMatchObject({
      contextWindow: 999,
      tools: false,
      vision: true,
    })
    expect(await registry.capabilities('scripted:other')).toMatchObject({ contextWindow: 4096, vision: true })
  })

  it('gives tools to a model without native tool calling through the prompt', async () => {
    const provider = new ScriptedProvider(
      [{ text: 'Reading.\n<tool_call>{"name": "Read", "arguments": {"file_path": "a.ts"}}</tool_call>' }],
      { tools: false },
    )
    const registry = new ProviderRegistry()
    registry.register(provider, 'p')
    const out = await events(registry.stream(request({ tools: [readTool] })))
    expect(out.filter((e) => e.type === 'tool-call-end')).toMatchObject([
      { name: 'Read', input: { file_path: 'a.ts' } },
    ])
    expect(out.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls' })
    // What the provider was sent: no native tools, the tools described in the system prompt.
    expect(provider.requests[0]?.tools).toBeUndefined()
    expect(provider.requests[0]?.messages[0]).toMatchObject({
      role: 'system',
      content: expect.stringContaining('<tools>'),
    })
  })

  it('falls back to prompt tools when a model refuses native tools before any output, and remembers it', async () => {
    const provider = new ScriptedProvider([
      { status: 400, errorMessage: 'registry.ollama.ai/library/phi4:latest does not support tools' },
      { text: '<tool_call>{"name":"Read","arguments":{}}</tool_call>' },
      { text: 'done' },
    ])
    const registry = new ProviderRegistry()
    registry.register(provider, 'p')
    const first = await events(registry.stream(request({ tools: [readTool] })))
    expect(first.some((e) => e.type === 'tool-call-end')).toBe(true)
    await events(registry.stream(request({ tools: [readTool] })))
    expect(provider.requests.map((r) => r.tools === undefined)).toEqual([false, true, true])
  })

  it('passes a tool-calling stream through as it is: a refusal after output is the error, and an early stop reaches the provider', async () => {
    // A model that streams, then fails with the words of a refusal: too late to ask again.
    const sent: string[] = []
    let stopped = 0
    const failing = {
      name: 'scripted',
      stream(): AsyncIterable<StreamEvent> {
        return {
          [Symbol.asyncIterator]: () => {
            let step = 0
            return {
              next: async (): Promise<IteratorResult<StreamEvent>> => {
                step++
                if (step === 1) return { done: false, value: { type: 'text-delta', text: 'Reading' } }
                if (step === 2) return { done: false, value: { type: 'text-delta', text: ' it' } }
                throw new ProviderError('bad-request', 'p: this model does not support tools', {
                  provider: 'scripted',
                })
              },
              return: async (): Promise<IteratorResult<StreamEvent>> => {
                stopped++
                return { done: true, value: undefined }
              },
            }
          },
        }
      },
      capabilities: async () => ({ tools: true }),
    }
    const registry = new ProviderRegistry()
    registry.register(failing, 'p')
    const stream = registry.stream(request({ tools: [readTool] }))
    await expect(
      (async () => {
        for await (const event of stream) if (event.type === 'text-delta') sent.push(event.text)
      })(),
    ).rejects.toMatchObject({ kind: 'bad-request' })
    expect(sent).toEqual(['Reading', ' it'])
    // Not remembered as a model without tools: the next call is sent with native tools again.
    const again: string[] = []
    for await (const event of registry.stream(request({ tools: [readTool] }))) {
      if (event.type === 'text-delta') again.push(event.text)
      break
    }
    expect(again).toEqual(['Reading'])
    expect(stopped).toBe(1)
  })

  it('does not fall back for other errors, and keeps tool mode "native" strict', async () => {
    const registry = new ProviderRegistry({ toolMode: 'native' })
    registry.register(
      new ScriptedProvider([{ status: 400, errorMessage: 'does not support tools' }], { tools: false }),
      'p',
    )
    await expect(events(registry.stream(request({ tools: [readTool] })))).rejects.toMatchObject({
      kind: 'bad-request',
    })
  })

  it('embed() on a provider without embeddings is an unsupported error', async () => {
    const registry = new ProviderRegistry()
    registry.register(new ScriptedProvider(), 'p')
    await expect(registry.embed({ model, input: ['x'] })).rejects.toBeInstanceOf(ProviderError)
    await expect(registry.embed({ model, input: ['x'] })).rejects.toMatchObject({
      code: 'TAU_PROVIDER_UNSUPPORTED',
    })
  })
})

describe('scripted provider', () => {
  it('plays tool calls with ids, repairs broken arguments, and reports unrepairable ones', async () => {
    const provider = new ScriptedProvider([
      {
        toolCalls: [
          { id: 'a', name: 'Read', input: { file_path: 'x' } },
          { name: 'Grep', rawArguments: '```json\n{"pattern": "TODO"}\n```' },
          { name: 'Bash', rawArguments: '{"command": "npm te' },
        ],
      },
    ])
    const registry = new ProviderRegistry()
    registry.register(provider, 'p')
    const response = await registry.complete(request())
    expect(response.finishReason).toBe('tool-calls')
    expect(response.message.content).toMatchObject([
      { type: 'tool-call', id: 'a', name: 'Read', input: { file_path: 'x' } },
      { type: 'tool-call', name: 'Grep', input: { pattern: 'TODO' } },
      {
        type: 'tool-call',
        name: 'Bash',
        input: '{"command": "npm te',
        inputError: expect.stringMatching(/cut off/),
      },
    ])
  })

  it('stops at once when aborted mid-stream', async () => {
    const provider = new ScriptedProvider([{ text: 'a long answer '.repeat(20), chunkDelayMs: 5 }])
    const controller = new AbortController()
    const seen: StreamEvent[] = []
    const run = (async () => {
      for await (const event of provider.stream(request(), { signal: controller.signal })) {
        seen.push(event)
        if (seen.length === 3) controller.abort()
      }
    })()
    await expect(run).rejects.toMatchObject({ kind: 'aborted' })
    expect(seen).toHaveLength(3)
  })

  it('loads turns from a script file and rejects a script that is used up', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'tau-script-'))
    await writeFile(join(dir, 'script.json'), JSON.stringify({ turns: [{ text: 'from file' }] }))
    const started = await createTestKernel({
      plugins: [providers, providerScripted],
      cwd: dir,
      config: { providers: { scripted: { file: 'script.json' } } },
    })
    const registry = started.resolve(providerRegistryRef)
    expect((await registry.complete(request())).message.content).toEqual([
      { type: 'text', text: 'from file' },
    ])
    await expect(registry.complete(request())).rejects.toMatchObject({
      message: expect.stringContaining('no turn left'),
    })
    await started.stop()
    await rm(dir, { recursive: true, force: true })
  })
})
