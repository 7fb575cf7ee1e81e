/** Shared set-up for the OpenAI provider tests: a scripted OpenAI server and a kernel pointed at it. */
import type { ModelRequest, StreamEvent } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import providerOpenai, { type OpenAIProvider } from '../../../plugins/provider-openai/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import type { ScriptedModel, WireRequest } from '../../../plugins/provider-scripted/wire/types.js'
import providers, { type ProviderRegistry, providerRegistryRef } from '../../../plugins/providers/index.js'

export const MODELS: ScriptedModel[] = [
  { name: 'gpt-4o' },
  { name: 'gpt-4o-mini' },
  { name: 'o4-mini' },
  { name: 'text-embedding-3-small' },
  { name: 'qwen2.5-7b-instruct' },
  { name: 'my-gpt4o' },
]

/** The key variables the tests use: never a real one. */
export const KEY_VAR = 'TAU_TEST_OPENAI_KEY'
export const AZURE_KEY_VAR = 'TAU_TEST_AZURE_KEY'
export const KEY = 'sk-test-0123456789abcdef'
export const AZURE_KEY = 'azure-key-0123456789abcdef'

export const gpt4o = { provider: 'openai', model: 'gpt-4o' }

export function request(extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: gpt4o, messages: [{ role: 'user', content: 'hi' }], ...extra }
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

export const toolEnds = (events: readonly StreamEvent[]) =>
  events.filter((e): e is Extract<StreamEvent, { type: 'tool-call-end' }> => e.type === 'tool-call-end')

export interface Harness {
  server: ScriptedServer
  kernel: TestKernel
  registry: ProviderRegistry
  /** The provider named (default `openai`). */
  provider: OpenAIProvider
  get(name: string): OpenAIProvider
  /** Requests the server received on a path (query ignored), in order. */
  requests(path: string): WireRequest[]
  /** Bodies of chat requests, in order. */
  chatBodies(): unknown[]
  stop(): Promise<void>
}

export interface HarnessOptions {
  models?: ScriptedModel[]
  /** Merged into providers.openai (baseURL defaults to the server's /v1). */
  openai?: Record<string, unknown>
  /** Merged into providers (retries, timeouts). */
  providers?: Record<string, unknown>
  /** Environment for the kernel's setup (the keys by default); undefined values unset a variable. */
  env?: Record<string, string | undefined>
  /** The provider `provider` returns. */
  provider?: string
  /** Point providers.openai.azure.endpoint at the server, plus this path (e.g. '/models'). */
  azureEndpoint?: string
  /** providers.openai.compatible; a server without baseURL gets the scripted server's /v1. */
  compatible?: Record<string, Record<string, unknown>>
}

/** Sets environment variables until the returned function restores them. */
export function withEnv(values: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>()
  for (const [name, value] of Object.entries(values)) {
    saved.set(name, process.env[name])
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

export async function startHarness(turns: ScriptTurn[] = [], options: HarnessOptions = {}): Promise<Harness> {
  const server = await startScriptedServer({
    format: 'openai',
    script: turns,
    models: options.models ?? MODELS,
  })
  const restore = withEnv({
    [KEY_VAR]: KEY,
    [AZURE_KEY_VAR]: AZURE_KEY,
    OPENAI_BASE_URL: undefined,
    OPENAI_API_VERSION: undefined,
    AZURE_OPENAI_ENDPOINT: undefined,
    OPENAI_ORG_ID: undefined,
    OPENAI_PROJECT_ID: undefined,
    ...options.env,
  })
  let kernel: TestKernel
  try {
    kernel = await createTestKernel({
      plugins: [providers, providerOpenai],
      config: {
        providers: {
          retries: { baseDelayMs: 10, maxDelayMs: 50 },
          ...options.providers,
          openai: {
            baseURL: `${server.url}/v1`,
            apiKeyEnv: KEY_VAR,
            ...options.openai,
            ...(options.compatible
              ? {
                  compatible: Object.fromEntries(
                    Object.entries(options.compatible).map(([name, server_]) => [
                      name,
                      { baseURL: `${server.url}/v1`, ...server_ },
                    ]),
                  ),
                }
              : {}),
            azure: {
              apiKeyEnv: AZURE_KEY_VAR,
              ...(options.azureEndpoint !== undefined
                ? { endpoint: `${server.url}${options.azureEndpoint}` }
                : {}),
              ...(options.openai?.azure as object | undefined),
            },
          },
        },
      },
    })
  } catch (error) {
    restore()
    await server.close()
    throw error
  }
  restore()
  const registry = kernel.resolve(providerRegistryRef)
  const pathOf = (r: WireRequest) => r.path.split('?')[0]
  return {
    server,
    kernel,
    registry,
    provider: registry.get(options.provider ?? 'openai') as OpenAIProvider,
    get: (name) => registry.get(name) as OpenAIProvider,
    requests: (path) => server.requests.filter((r) => pathOf(r) === path),
    chatBodies: () =>
      server.requests.filter((r) => pathOf(r)?.endsWith('/chat/completions')).map((r) => r.body),
    async stop() {
      await kernel.stop()
      await server.close()
    },
  }
}
