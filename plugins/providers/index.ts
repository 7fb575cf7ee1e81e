/**
 * The `providers` plugin: the provider registry every model call goes through, the HTTP settings
 * provider plugins share, and `tau doctor`. Provider plugins (provider-ollama, provider-openai,
 * provider-anthropic, provider-scripted) depend on it and register themselves.
 */
import { z } from 'zod'
import {
  cliCommandsRef,
  definePlugin,
  defineService,
  isTauError,
  type ModelCapabilities,
} from '../../kernel/index.js'
import { sandboxChecks } from '../sandbox/index.js'
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from './http.js'
import { checkModel } from './model-ref.js'
import { type ProviderCheck, ProviderRegistry } from './provider.js'

export {
  deferred,
  type EventReader,
  type EventSource,
  type StreamEventsOptions,
  streamEvents,
} from './batches.js'
export { BodyEncoder } from './body-encoder.js'
export { CATALOG, type CatalogEntry, lookupCapabilities, UNKNOWN_MODEL } from './catalog.js'
export {
  isContextLengthMessage,
  isProviderError,
  PROVIDER_ERRORS,
  ProviderError,
  type ProviderErrorKind,
  withPlugin,
} from './errors.js'
export {
  type ChunkParser,
  jsonStringAt,
  NdjsonLines,
  parsedChunks,
  parseNdjson,
  parseNdjsonLine,
  parseSse,
  type SseEvent,
  SseParser,
} from './framing.js'
export {
  backoffDelay,
  DEFAULT_HTTP_SETTINGS,
  errorMessageFromBody,
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
  isLoopback,
  type ProviderHints,
  parseRetryAfter,
  readText,
  retryWaitMs,
  USER_AGENT,
} from './http.js'
export { checkModel, modelRefProblem } from './model-ref.js'
export { parsePromptTools, toolsPrompt, toPromptToolsRequest } from './prompt-tools.js'
export type { CallOptions, Provider, ProviderCheck, RegistryOptions, ToolMode } from './provider.js'
export { ProviderRegistry } from './provider.js'
export { pushEvent } from './stream-events.js'
export { parseToolArguments, type ToolArgumentsResult } from './tool-arguments.js'

/** The registry: `ctx.resolve(providerRegistryRef).stream(request)`. */
export const providerRegistryRef = defineService<ProviderRegistry>('providers.registry', {
  description: 'Every model call goes through it: provider by ModelRef, capabilities, prompt tools.',
})

/** The shared HTTP settings (retries, timeouts), for provider plugins to build their clients with. */
export const httpSettingsRef = defineService<HttpSettings>('providers.http', {
  description: 'Retry and timeout settings shared by the HTTP providers.',
})

const capabilitiesSchema = z
  .object({
    contextWindow: z.number().int().positive(),
    maxOutputTokens: z.number().int().positive(),
    tools: z.boolean(),
    vision: z.boolean(),
    reasoning: z.boolean(),
    structuredOutput: z.boolean(),
    pricing: z.object({
      input: z.number().nonnegative(),
      output: z.number().nonnegative(),
      cacheRead: z.number().nonnegative().optional(),
      cacheWrite: z.number().nonnegative().optional(),
    }),
  })
  .partial()

const { retries, timeouts, limits } = DEFAULT_HTTP_SETTINGS

export const providersConfig = z.strictObject({
  /** Retries of a failed request (429, 5xx, connection reset), before any output. */
  retries: z
    .strictObject({
      max: z.number().int().min(0).max(10).default(retries.max),
      baseDelayMs: z.number().int().min(0).default(retries.baseDelayMs),
      maxDelayMs: z.number().int().min(0).default(retries.maxDelayMs),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().positive().default(timeouts.connectMs),
      firstByteMs: z.number().int().positive().default(timeouts.firstByteMs),
      idleMs: z.number().int().positive().default(timeouts.idleMs),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** The largest event (one SSE line, one NDJSON line) of a streamed answer, in bytes. */
      maxEventBytes: z.number().int().positive().default(limits.maxEventBytes),
    })
    .prefault({}),
  /** `auto`: native tools where the model has them, tools described in the prompt elsewhere. */
  toolMode: z.enum(['auto', 'native', 'prompt']).default('auto'),
  /** Capability overrides, by ModelRef (`ollama:my-finetune`) or by provider name. */
  capabilities: z.record(z.string(), capabilitiesSchema).default({}),
})

export default definePlugin({
  name: 'providers',
  description: 'Model provider registry, shared HTTP settings, and `tau doctor`',
  config: providersConfig,
  setup(ctx) {
    const registry = new ProviderRegistry({
      capabilities: ctx.config.capabilities as Record<string, Partial<ModelCapabilities>>,
      toolMode: ctx.config.toolMode,
    })
    ctx.provide(providerRegistryRef, registry)
    ctx.provide(httpSettingsRef, {
      retries: ctx.config.retries,
      timeouts: ctx.config.timeouts,
      limits: ctx.config.limits,
    })
    ctx.provide(cliCommandsRef, {
      name: 'doctor',
      description:
        'check each configured model provider: reachable, authenticated, model present, tool calling',
      options: [
        { flags: '--json', description: 'print JSON' },
        {
          flags: '--model <ref>',
          description: "check this model instead of the config's (nothing is written)",
        },
      ],
      async run({ options, stdout, signal }) {
        const configured = typeof ctx.rootConfig.model === 'string' ? ctx.rootConfig.model : undefined
        const model = typeof options.model === 'string' ? options.model : configured
        const modelCheck = checkModel(
          model,
          registry.list().map((p) => p.name),
        )
        const results: Array<{ provider: string; skipped: boolean; checks: ProviderCheck[] }> = []
        for (const provider of registry.list()) {
          const target = model?.startsWith(`${provider.name}:`)
            ? model.slice(provider.name.length + 1)
            : undefined
          // A provider the user has not set up is reported, not failed, unless the model needs it.
          if (!registry.isConfigured(provider.name) && target === undefined) {
            results.push({
              provider: provider.name,
              skipped: true,
              checks: [{ name: 'configured', ok: true, detail: 'not set up, so not checked' }],
            })
            continue
          }
          let checks: ProviderCheck[]
          try {
            checks = provider.check
              ? await provider.check(target, { signal })
              : [{ name: 'configured', ok: true, detail: 'no checks for this provider' }]
          } catch (error) {
            checks = [
              {
                name: 'check',
                ok: false,
                // One line: a TauError's message carries its details on lines of their own.
                detail: isTauError(error)
                  ? error.summary
                  : error instanceof Error
                    ? error.message
                    : String(error),
              },
            ]
          }
          results.push({ provider: provider.name, skipped: false, checks })
        }
        // Where tool processes run (bubblewrap or not), next to the providers.
        const sandbox = sandboxChecks(ctx.rootConfig.sandbox)
        const failed =
          !modelCheck.ok || results.some((r) => r.checks.some((c) => !c.ok)) || sandbox.some((c) => !c.ok)
        if (options.json) {
          stdout.write(
            `${JSON.stringify({ ok: !failed, model: modelCheck, providers: results, sandbox }, null, 2)}\n`,
          )
          return failed ? 1 : 0
        }
        const line = (status: string, subject: string, check: ProviderCheck) =>
          stdout.write(`${status} ${subject.padEnd(10)} ${check.name.padEnd(12)} ${check.detail}\n`)
        line(modelCheck.ok ? 'ok  ' : 'FAIL', 'model', modelCheck)
        if (results.length === 0) stdout.write('no model providers are loaded (add a provider plugin)\n')
        for (const { provider, skipped, checks } of results) {
          for (const check of checks) line(skipped ? 'skip' : check.ok ? 'ok  ' : 'FAIL', provider, check)
        }
        for (const check of sandbox) line(check.ok ? 'ok  ' : 'FAIL', 'sandbox', check)
        return failed ? 1 : 0
      },
    })
    return () => registry.close()
  },
})
