/**
 * The one Provider interface every model provider implements, and the registry the agent calls
 * through. The registry adds what is the same for every provider: picking the provider from the
 * ModelRef, capabilities with the catalogue and config overrides, and tools for models without
 * native tool calling (described in the prompt and parsed back out of the text).
 */
import {
  collectStream,
  didYouMean,
  type EmbeddingRequest,
  type EmbeddingResponse,
  formatModelRef,
  type ModelCapabilities,
  type ModelInfo,
  type ModelRef,
  type ModelRequest,
  type ModelResponse,
  parseModelRef,
  type StreamEvent,
} from '../../kernel/index.js'
import { deferred } from './batches.js'
import { lookupCapabilities, UNKNOWN_MODEL } from './catalog.js'
import { ProviderError } from './errors.js'
import { modelRefProblem } from './model-ref.js'
import { parsePromptTools, toPromptToolsRequest } from './prompt-tools.js'

export interface CallOptions {
  /** Cancels the call: the HTTP request is aborted and the stream ends with an 'aborted' error. */
  readonly signal?: AbortSignal | undefined
}

/** One line of `tau doctor`. */
export interface ProviderCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface Provider {
  /** The name used in ModelRefs: `ollama` in `ollama:qwen3:8b`. */
  readonly name: string
  /** Streams one model call as normalized events. Failures are ProviderErrors. */
  stream(request: ModelRequest, options?: CallOptions): AsyncIterable<StreamEvent>
  /** What a model can do, from the provider's live answer where it has one (else undefined: the catalogue decides). */
  capabilities?(model: string, options?: CallOptions): Promise<Partial<ModelCapabilities> | undefined>
  embed?(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>
  listModels?(options?: CallOptions): Promise<ModelInfo[]>
  /** For `tau doctor`: reachable, authenticated, model present, tool calling. */
  check?(model: string | undefined, options?: CallOptions): Promise<ProviderCheck[]>
  /** Releases connections. */
  close?(): Promise<void>
  /**
   * Where the API key came from: the environment variable's name, the config key, or `none`
   * (the `apiKeySource` of `tau start -p`'s init line).
   */
  apiKeySource?(): string
}

export type ToolMode = 'auto' | 'native' | 'prompt'

export interface RegistryOptions {
  /** Capability overrides by ModelRef (`ollama:my-finetune`) or by provider (`ollama`). */
  capabilities?: Readonly<Record<string, Partial<ModelCapabilities>>>
  /** `auto` uses native tools where the model has them and prompt tools elsewhere. */
  toolMode?: ToolMode
}

const NO_TOOLS =
  /does not support tools|tools? (are|is) not supported|tool[_ ]?(use|calling|choice)? ?(is )?not supported/i

export class ProviderRegistry {
  private readonly providers = new Map<string, { provider: Provider; plugin: string; configured: boolean }>()
  private readonly capabilityCache = new Map<string, Promise<ModelCapabilities>>()
  /** Models that refused native tools at runtime: use prompt tools from then on. */
  private readonly promptToolModels = new Set<string>()
  private readonly options: RegistryOptions
  private idCounter = 0
  private readonly idPrefix = Math.random().toString(36).slice(2, 8)

  constructor(options: RegistryOptions = {}) {
    this.options = options
  }

  /**
   * Adds a provider. Two providers of one name is an error naming both plugins. `configured`
   * false says the user has not set it up (no key, no endpoint): `tau doctor` skips it unless the
   * configured model uses it.
   */
  register(provider: Provider, plugin: string, options: { configured?: boolean } = {}): void {
    const existing = this.providers.get(provider.name)
    if (existing) {
      throw new ProviderError(
        'not-configured',
        `provider '${provider.name}' is registered twice: by '${existing.plugin}' and by '${plugin}'`,
        { provider: provider.name, plugin },
      )
    }
    this.providers.set(provider.name, { provider, plugin, configured: options.configured ?? true })
  }

  /** False for a provider registered as not set up by the user. */
  isConfigured(name: string): boolean {
    return this.providers.get(name)?.configured ?? false
  }

  list(): Provider[] {
    return [...this.providers.values()].map((entry) => entry.provider)
  }

  has(name: string): boolean {
    return this.providers.has(name)
  }

  get(name: string): Provider {
    const entry = this.providers.get(name)
    if (!entry) {
      const names = [...this.providers.keys()]
      throw new ProviderError(
        'unknown-provider',
        `no provider named '${name}'${didYouMean(name, names)}; loaded providers: ${names.join(', ') || '(none)'}`,
        { provider: name },
      )
    }
    return entry.provider
  }

  /**
   * A model ref a session will use, checked now: well formed, and its provider loaded. The
   * error says where the ref came from (`where`: "config `model` (tau.config.ts)", "--model")
   * and suggests the ref meant (`gpt-4o` -> `openai:gpt-4o`) or names the loaded providers.
   */
  checkedRef(model: string, where: string): ModelRef {
    const problem = modelRefProblem(model, [...this.providers.keys()])
    if (problem === undefined) return this.ref(model)
    const parsed = parseModelRef(model)
    throw new ProviderError('unknown-provider', `${where}: ${problem}`, {
      provider: parsed.ok ? parsed.value.provider : 'unknown',
      retryable: false,
      hint: 'Write the model as `provider:model` with a provider from the list (or the suggestion shown), or add the plugin of the provider you meant to your config.',
    })
  }

  /** Parses `provider:model`, with a clear error for a malformed ref. */
  ref(model: string | ModelRef): ModelRef {
    if (typeof model !== 'string') return model
    const parsed = parseModelRef(model)
    if (!parsed.ok) throw new ProviderError('not-configured', parsed.error, { provider: 'unknown' })
    return parsed.value
  }

  /** Capabilities: config override, then the provider's live answer, then the catalogue, then defaults. */
  capabilities(model: string | ModelRef, options: CallOptions = {}): Promise<ModelCapabilities> {
    const ref = this.ref(model)
    const key = formatModelRef(ref)
    let cached = this.capabilityCache.get(key)
    if (!cached) {
      cached = this.computeCapabilities(ref, options)
      this.capabilityCache.set(key, cached)
      cached.catch(() => this.capabilityCache.delete(key))
    }
    return cached
  }

  private async computeCapabilities(ref: ModelRef, options: CallOptions): Promise<ModelCapabilities> {
    const provider = this.get(ref.provider)
    const live = (await provider.capabilities?.(ref.model, options)) ?? {}
    const catalogue = lookupCapabilities(ref.provider, ref.model) ?? UNKNOWN_MODEL
    return {
      ...catalogue,
      ...stripUndefined(live),
      ...this.options.capabilities?.[ref.provider],
      ...this.options.capabilities?.[formatModelRef(ref)],
    }
  }

  /**
   * Streams a call through its provider. Tools go natively where the model supports them and as
   * prompt text where it does not (or where it refuses them at runtime, before any output).
   */
  stream(request: ModelRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
    const hasTools = (request.tools?.length ?? 0) > 0
    const mode = this.options.toolMode ?? 'auto'
    // Without tools, or with tools sent natively as configured, the provider's stream is the
    // stream: no layer of its own in between (each costs per event).
    if (!hasTools || (mode === 'native' && !this.promptToolModels.has(formatModelRef(request.model))))
      return deferred(() => this.get(request.model.provider).stream(request, options))
    return this.streamWithTools(request, options)
  }

  /**
   * Tools in auto mode, or in the prompt: the provider's stream as it is, watched until its first
   * event (a model that refuses native tools before any output is asked again with the tools in
   * the prompt, and remembered). An iterator of its own rather than an async generator: after the
   * first event each next() is the provider's, with no promise, result object or microtask hop of
   * this layer per event.
   */
  private streamWithTools(request: ModelRequest, options: CallOptions): AsyncIterable<StreamEvent> {
    return { [Symbol.asyncIterator]: () => this.toolsIterator(request, options) }
  }

  private toolsIterator(request: ModelRequest, options: CallOptions): AsyncIterator<StreamEvent> {
    const key = formatModelRef(request.model)
    const hasTools = (request.tools?.length ?? 0) > 0
    const mode = this.options.toolMode ?? 'auto'
    let inner: AsyncIterator<StreamEvent> | undefined
    /** Until the first event: a refusal of tools then falls back to prompt tools. */
    let watching = false
    let started: Promise<void> | undefined
    const promptTools = (provider: Provider) => {
      const nextId = () => `call_${this.idPrefix}_${++this.idCounter}`
      return parsePromptTools(
        provider.stream(toPromptToolsRequest(request), options),
        request.tools ?? [],
        nextId,
      )[Symbol.asyncIterator]()
    }
    const start = async (): Promise<void> => {
      const provider = this.get(request.model.provider)
      let usePrompt = hasTools && (mode === 'prompt' || this.promptToolModels.has(key))
      if (hasTools && mode === 'auto' && !usePrompt)
        usePrompt = !(await this.capabilities(request.model, options)).tools
      if (usePrompt) {
        inner = promptTools(provider)
        return
      }
      // Only a model that may refuse tools at runtime needs watching; the rest is delegated whole.
      watching = hasTools && mode === 'auto'
      inner = provider.stream(request, options)[Symbol.asyncIterator]()
      if (watching) {
        const refused = (error: unknown) =>
          error instanceof ProviderError && error.kind === 'bad-request' && NO_TOOLS.test(error.message)
        const watched = inner
        inner = {
          next: () =>
            watched.next().then(
              (result) => {
                watching = false
                inner = watched
                return result
              },
              (error: unknown) => {
                watching = false
                inner = watched
                if (!refused(error)) throw error
                this.promptToolModels.add(key)
                inner = promptTools(provider)
                return inner.next()
              },
            ),
          ...(watched.return ? { return: () => watched.return!() } : {}),
        }
      }
    }
    return {
      next: () => {
        if (inner) return inner.next()
        started ??= start()
        return started.then(() => inner!.next())
      },
      return: async () => {
        await inner?.return?.()
        return { done: true, value: undefined }
      },
    }
  }

  /** The whole answer at once; the same events as stream(), folded. */
  complete(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    return collectStream(request.model, this.stream(request, options))
  }

  async embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResponse> {
    const provider = this.get(request.model.provider)
    if (!provider.embed) {
      throw new ProviderError('unsupported', `provider '${provider.name}' does not offer embeddings`, {
        provider: provider.name,
      })
    }
    return provider.embed(request, options)
  }

  async close(): Promise<void> {
    await Promise.all(this.list().map((provider) => provider.close?.().catch(() => undefined)))
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
