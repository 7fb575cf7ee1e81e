/** Shared set-up for the Ollama provider tests: a scripted Ollama server and a kernel pointed at it. */
import type { ModelRequest, StreamEvent } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import providerOllama, { type OllamaProvider } from '../../../plugins/provider-ollama/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import type { ScriptedModel } from '../../../plugins/provider-scripted/wire/types.js'
import providers, { type ProviderRegistry, providerRegistryRef } from '../../../plugins/providers/index.js'

export const MODELS: ScriptedModel[] = [
  { name: 'qwen3:8b', capabilities: ['completion', 'tools', 'thinking'], contextLength: 40_960 },
  { name: 'gemma3:4b', capabilities: ['completion', 'vision'], contextLength: 131_072 },
  { name: 'gpt-oss:20b', capabilities: ['completion', 'tools', 'thinking'], contextLength: 131_072 },
  { name: 'llama3.2-vision:latest', capabilities: ['completion', 'tools', 'vision'], contextLength: 131_072 },
  { name: 'nomic-embed-text:latest', capabilities: ['embedding'], contextLength: 2048 },
]

export const qwen = { provider: 'ollama', model: 'qwen3:8b' }

export function request(extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: qwen, messages: [{ role: 'user', content: 'hi' }], ...extra }
}

export async function collect(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = []
  for await (const event of iterable) out.push(event)
  return out
}

/** Events up to a failure, and the failure. */
export async function collectUntilError(
  iterable: AsyncIterable<StreamEvent>,
): Promise<{ events: StreamEvent[]; error: unknown }> {
  const events: StreamEvent[] = []
  try {
    for await (const event of iterable) events.push(event)
  } catch (error) {
    return { events, error }
  }
  return { events, error: undefined }
}

export function textOf(events: readonly StreamEvent[]): string {
  return events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('')
}

export interface Harness {
  server: ScriptedServer
  kernel: TestKernel
  registry: ProviderRegistry
  provider: OllamaProvider
  /** Bodies the server received on a path, in order. */
  bodies(path: string): unknown[]
  stop(): Promise<void>
}

export interface HarnessOptions {
  models?: ScriptedModel[]
  /** Merged into providers.ollama (host defaults to the server). */
  ollama?: Record<string, unknown>
  /** Merged into providers (retries, timeouts). */
  providers?: Record<string, unknown>
  /** Leave providers.ollama.host unset (to test OLLAMA_HOST). */
  noHost?: boolean
}

export async function startHarness(turns: ScriptTurn[] = [], options: HarnessOptions = {}): Promise<Harness> {
  const server = await startScriptedServer({
    format: 'ollama',
    script: turns,
    models: options.models ?? MODELS,
  })
  const kernel = await createTestKernel({
    plugins: [providers, providerOllama],
    config: {
      providers: {
        retries: { baseDelayMs: 10, maxDelayMs: 50 },
        ...options.providers,
        ollama: { ...(options.noHost ? {} : { host: server.url }), ...options.ollama },
      },
    },
  })
  const registry = kernel.resolve(providerRegistryRef)
  return {
    server,
    kernel,
    registry,
    provider: registry.get('ollama') as OllamaProvider,
    bodies: (path) => server.requests.filter((r) => r.path === path).map((r) => r.body),
    async stop() {
      await kernel.stop()
      await server.close()
    },
  }
}
