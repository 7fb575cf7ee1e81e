/** A scripted Anthropic server and a kernel with provider-anthropic pointed at it. */
import type { ModelRequest, StreamEvent } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import providerAnthropic from '../../../plugins/provider-anthropic/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/script.js'
import { type ScriptedServer, startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import type { ScriptedModel } from '../../../plugins/provider-scripted/wire/types.js'
import providers, { type ProviderRegistry, providerRegistryRef } from '../../../plugins/providers/index.js'

export const MODEL = 'claude-sonnet-4-6'
export const KEY = 'sk-ant-test-key-0123456789'

export interface Setup {
  server: ScriptedServer
  kernel: TestKernel
  registry: ProviderRegistry
  close(): Promise<void>
}

export async function setup(
  script: readonly ScriptTurn[],
  options: {
    anthropic?: Record<string, unknown>
    providers?: Record<string, unknown>
    models?: readonly ScriptedModel[]
    /** Appended to the server URL for the base URL (`/anthropic/` plays Azure AI Foundry). */
    basePath?: string
  } = {},
): Promise<Setup> {
  const server = await startScriptedServer({
    format: 'anthropic',
    script,
    ...(options.models ? { models: options.models } : {}),
  })
  const kernel = await createTestKernel({
    plugins: [providers, providerAnthropic],
    config: {
      providers: {
        retries: { baseDelayMs: 10, maxDelayMs: 50 },
        ...options.providers,
        anthropic: { baseURL: `${server.url}${options.basePath ?? ''}`, apiKey: KEY, ...options.anthropic },
      },
    },
  })
  const registry = kernel.resolve(providerRegistryRef)
  return {
    server,
    kernel,
    registry,
    async close() {
      await kernel.stop()
      await server.close()
    },
  }
}

export function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: { provider: 'anthropic', model: MODEL },
    messages: [{ role: 'user', content: 'Hello' }],
    ...overrides,
  }
}

export async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

export async function collectUntilError(
  events: AsyncIterable<StreamEvent>,
): Promise<{ events: StreamEvent[]; error: unknown }> {
  const out: StreamEvent[] = []
  try {
    for await (const event of events) out.push(event)
  } catch (error) {
    return { events: out, error }
  }
  return { events: out, error: undefined }
}

export const textOf = (events: readonly StreamEvent[]) =>
  events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('')

/** The POST /v1/messages requests the server received. */
export const messageRequests = (server: ScriptedServer) =>
  server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/v1/messages'))
