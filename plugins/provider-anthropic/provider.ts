/**
 * Claude through Anthropic's Messages API: api.anthropic.com, Claude on Azure AI Foundry (by base
 * URL and auth header), or any gateway that speaks the same API.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type {
  EmbeddingResponse,
  Logger,
  ModelCapabilities,
  ModelInfo,
  ModelRequest,
  StreamEvent,
} from '../../kernel/index.js'
import { didYouMean } from '../../kernel/index.js'
import {
  BodyEncoder,
  backoffDelay,
  type CallOptions,
  type HttpClient,
  type HttpSettings,
  lookupCapabilities,
  type Provider,
  type ProviderCheck,
  ProviderError,
  readText,
  streamEvents,
} from '../providers/index.js'
import { type AnthropicConfig, DEFAULT_BASE_URL } from './config.js'
import { type MessagesBody, toMessagesRequest } from './request.js'
import { messagesSource } from './stream.js'

export const PROVIDER = 'anthropic'
const FALLBACK_MAX_TOKENS = 8192

export interface AnthropicSettings extends Omit<AnthropicConfig, 'baseURL' | 'apiKey'> {
  baseURL: string
  apiKey: string | undefined
  /** Where apiKey came from (see Provider.apiKeySource). */
  apiKeySource?: string
}

/** One entry of GET /v1/models. */
interface WireModel {
  id?: unknown
  display_name?: unknown
  max_input_tokens?: unknown
  max_tokens?: unknown
  capabilities?: {
    image_input?: { supported?: unknown } | null
    thinking?: { supported?: unknown } | null
    structured_outputs?: { supported?: unknown } | null
  } | null
}

interface ModelPage {
  data?: WireModel[]
  has_more?: boolean
  last_id?: string | null
}

/** `https://host/anthropic/` and `https://host/anthropic/v1` both mean `https://host/anthropic`. */
export function normalizeBaseURL(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '')
}

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined

/** What /v1/models says a model can do; unknown fields stay undefined (the catalogue decides). */
export function capabilitiesOf(model: WireModel): Partial<ModelCapabilities> {
  const caps: Partial<ModelCapabilities> = { tools: true }
  const context = positive(model.max_input_tokens)
  const output = positive(model.max_tokens)
  if (context !== undefined) caps.contextWindow = context
  if (output !== undefined) caps.maxOutputTokens = output
  const flag = (entry: { supported?: unknown } | null | undefined) =>
    typeof entry?.supported === 'boolean' ? entry.supported : undefined
  const vision = flag(model.capabilities?.image_input)
  const reasoning = flag(model.capabilities?.thinking)
  const structured = flag(model.capabilities?.structured_outputs)
  if (vision !== undefined) caps.vision = vision
  if (reasoning !== undefined) caps.reasoning = reasoning
  if (structured !== undefined) caps.structuredOutput = structured
  return caps
}

export class AnthropicProvider implements Provider {
  readonly name = PROVIDER
  private readonly http: HttpClient
  private readonly settings: AnthropicSettings
  private readonly retries: HttpSettings['retries']
  private readonly logger: Logger | undefined
  private readonly idPrefix = Math.random().toString(36).slice(2, 8)
  private idCounter = 0
  private readonly maxTokens = new Map<string, number>()
  /** Message bodies as bytes, reusing the unchanged part of the last one (the conversation's start, tools). */
  private readonly bodies = new BodyEncoder()

  constructor(
    http: HttpClient,
    settings: AnthropicSettings,
    retries: HttpSettings['retries'],
    logger?: Logger,
  ) {
    this.http = http
    this.settings = { ...settings, baseURL: normalizeBaseURL(settings.baseURL) }
    this.retries = retries
    this.logger = logger
    this.messagesUrl = this.url('/v1/messages')
  }

  private readonly messagesUrl: string
  private builtHeaders: Record<string, string> | undefined
  private readonly newToolCallId = () => `toolu_tau_${this.idPrefix}_${++this.idCounter}`
  private readonly note = (message: string) => this.logger?.debug(message)

  private url(path: string): string {
    return `${this.settings.baseURL}${path}`
  }

  /** Auth and version headers. Without a key, only a non-Anthropic base URL (a gateway) is tried. */
  private headers(): Record<string, string> {
    // The settings never change: built once (the missing-key error is thrown on every call).
    if (this.builtHeaders) return this.builtHeaders
    const headers: Record<string, string> = {
      ...this.settings.headers,
      'anthropic-version': this.settings.apiVersion,
    }
    const key = this.settings.apiKey
    if (key) {
      if (this.settings.authHeader === 'bearer') headers.authorization = `Bearer ${key}`
      else headers['x-api-key'] = key
    } else if (this.settings.baseURL === DEFAULT_BASE_URL) {
      throw new ProviderError(
        'not-configured',
        `${PROVIDER}: no API key: set ${this.settings.apiKeyVariable} (or providers.anthropic.apiKey)`,
        { provider: PROVIDER, retryable: false },
      )
    }
    this.builtHeaders = headers
    return headers
  }

  /** The request body tau sends for a ModelRequest (without `stream`). */
  body(request: ModelRequest): MessagesBody {
    return toMessagesRequest(request, {
      defaultMaxTokens: this.defaultMaxTokens(request.model.model),
      thinkingType: this.settings.thinking,
      thinkingBudget: this.settings.thinkingBudget,
      promptCaching: this.settings.promptCaching,
      note: (message) => this.logger?.debug(message, { model: request.model.model }),
    })
  }

  /** max_tokens when the request sets none: config, else the catalogue's (looked up once per model). */
  private defaultMaxTokens(model: string): number {
    let tokens = this.maxTokens.get(model)
    if (tokens === undefined) {
      tokens =
        this.settings.maxTokens ?? lookupCapabilities(PROVIDER, model)?.maxOutputTokens ?? FALLBACK_MAX_TOKENS
      this.maxTokens.set(model, tokens)
    }
    return tokens
  }

  /**
   * The request, then its events through one iterator (streamEvents). An error before any output
   * (an overloaded_error event, typically) sends the request again, within the retry settings.
   */
  stream(request: ModelRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
    const signal = options.signal
    const read = { newToolCallId: this.newToolCallId, note: this.note, signal }
    return streamEvents(
      async () => {
        const response = await this.http.send({
          method: 'POST',
          url: this.messagesUrl,
          headers: this.headers(),
          bytes: this.bodies.encode({ ...this.body(request), stream: true }),
          signal,
        })
        return messagesSource(response.body, read)
      },
      {
        recover: async (error, attempt, produced) => {
          if (signal?.aborted) throw this.aborted(error)
          // The HTTP client retried what failed before the answer; here, what the stream said.
          const again =
            !produced && error instanceof ProviderError && error.retryable && attempt < this.retries.max
          if (!again) throw error
          this.logger?.debug('retrying after an error at the start of the stream', { error: error.message })
          try {
            await delay(backoffDelay(attempt, this.retries), undefined, signal ? { signal } : {})
          } catch {
            throw this.aborted()
          }
        },
        limit: this.http.eventLimit,
      },
    )
  }

  private aborted(cause?: unknown): ProviderError {
    return new ProviderError('aborted', `${PROVIDER}: request aborted`, {
      provider: PROVIDER,
      retryable: false,
      ...(cause !== undefined ? { cause } : {}),
    })
  }

  async embed(): Promise<EmbeddingResponse> {
    throw new ProviderError(
      'unsupported',
      `${PROVIDER}: Anthropic has no embeddings API; configure an embedding model from another provider`,
      { provider: PROVIDER, retryable: false },
    )
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    const models: ModelInfo[] = []
    let after: string | undefined
    for (let page = 0; page < 50; page++) {
      const query = new URLSearchParams({ limit: '1000', ...(after ? { after_id: after } : {}) })
      const answer = await this.http.json<ModelPage>({
        method: 'GET',
        url: this.url(`/v1/models?${query}`),
        headers: this.headers(),
        signal: options.signal,
      })
      for (const model of answer.data ?? []) {
        if (typeof model.id !== 'string') continue
        models.push({
          ref: { provider: PROVIDER, model: model.id },
          ...(typeof model.display_name === 'string' ? { displayName: model.display_name } : {}),
          capabilities: capabilitiesOf(model),
        })
      }
      if (!answer.has_more || !answer.last_id) break
      after = answer.last_id
    }
    return models
  }

  /** GET /v1/models/{id}: resolves aliases; undefined where the server has no models API (Foundry). */
  private async retrieve(model: string, options: CallOptions): Promise<WireModel | undefined> {
    try {
      return await this.http.json<WireModel>({
        method: 'GET',
        url: this.url(`/v1/models/${encodeURIComponent(model)}`),
        headers: this.headers(),
        signal: options.signal,
      })
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'model-not-found') return undefined
      throw error
    }
  }

  async capabilities(
    model: string,
    options: CallOptions = {},
  ): Promise<Partial<ModelCapabilities> | undefined> {
    try {
      const info = await this.retrieve(model, options)
      return info ? capabilitiesOf(info) : undefined
    } catch (error) {
      this.logger?.debug('no live capabilities; using the catalogue', {
        model,
        error: error instanceof Error ? error.message : String(error),
      })
      return undefined
    }
  }

  /**
   * For `tau doctor`. Reachable and authenticated from GET /v1/models; where the server has no
   * models API (Azure AI Foundry), from a one-token message to the model instead.
   */
  async check(model: string | undefined, options: CallOptions = {}): Promise<ProviderCheck[]> {
    const checks: ProviderCheck[] = []
    const where = this.settings.baseURL
    let models: ModelInfo[] | undefined
    try {
      models = await this.listModels(options)
      checks.push({ name: 'reachable', ok: true, detail: where })
      checks.push({ name: 'authenticated', ok: true, detail: `${models.length} models listed` })
    } catch (error) {
      const failure = error instanceof ProviderError ? error : undefined
      if (failure?.kind === 'not-configured')
        return [{ name: 'configured', ok: false, detail: failure.message }]
      if (failure?.kind === 'auth') {
        return [
          { name: 'reachable', ok: true, detail: where },
          { name: 'authenticated', ok: false, detail: `${failure.message}${this.keyHint()}` },
        ]
      }
      if (failure?.kind !== 'model-not-found') {
        return [
          { name: 'reachable', ok: false, detail: error instanceof Error ? error.message : String(error) },
        ]
      }
      // No /v1/models here: reachable it is; authentication shows in a real call.
      checks.push({ name: 'reachable', ok: true, detail: `${where} (no models API)` })
      if (model === undefined) {
        checks.push({ name: 'authenticated', ok: true, detail: 'not verified: no model set to try' })
        return checks
      }
      const probe = await this.probe(model, options)
      if (probe.kind === 'auth') {
        checks.push({ name: 'authenticated', ok: false, detail: `${probe.detail}${this.keyHint()}` })
        return checks
      }
      if (probe.kind === 'other') {
        checks.push({ name: 'model', ok: false, detail: probe.detail })
        return checks
      }
      if (probe.kind === 'missing') {
        checks.push({ name: 'authenticated', ok: true, detail: 'the key was accepted' })
        checks.push({ name: 'model', ok: false, detail: probe.detail })
        return checks
      }
      checks.push({ name: 'authenticated', ok: true, detail: 'a one-token message was accepted' })
      checks.push({ name: 'model', ok: true, detail: model })
      checks.push(this.toolsCheck(model))
      return checks
    }
    if (model === undefined) return checks
    try {
      const info = await this.retrieve(model, options)
      if (info) {
        const id = typeof info.id === 'string' ? info.id : model
        checks.push({ name: 'model', ok: true, detail: id === model ? model : `${model} (${id})` })
      } else {
        const names = (models ?? []).map((m) => m.ref.model)
        checks.push({
          name: 'model',
          ok: false,
          detail: `'${model}' is not available${didYouMean(model, names)}`,
        })
        return checks
      }
    } catch (error) {
      checks.push({
        name: 'model',
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      })
      return checks
    }
    checks.push(this.toolsCheck(model))
    return checks
  }

  private keyHint(): string {
    return this.settings.apiKey
      ? ` (check ${this.settings.apiKeyVariable})`
      : ` (set ${this.settings.apiKeyVariable})`
  }

  private toolsCheck(model: string): ProviderCheck {
    const catalogue = lookupCapabilities(PROVIDER, model)
    return catalogue?.tools === false
      ? { name: 'tools', ok: false, detail: 'the catalogue says this model has no tool calling' }
      : { name: 'tools', ok: true, detail: 'native tool use (tool_use / tool_result blocks)' }
  }

  /** One token from the model, not streamed: proves the key and the model where /v1/models is missing. */
  private async probe(
    model: string,
    options: CallOptions,
  ): Promise<{ kind: 'ok' | 'auth' | 'missing' | 'other'; detail: string }> {
    try {
      const response = await this.http.send({
        method: 'POST',
        url: this.url('/v1/messages'),
        headers: this.headers(),
        body: { model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] },
        signal: options.signal,
      })
      await readText(response.body)
      return { kind: 'ok', detail: model }
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      if (error instanceof ProviderError && error.kind === 'auth') return { kind: 'auth', detail }
      if (error instanceof ProviderError && error.kind === 'model-not-found')
        return { kind: 'missing', detail }
      return { kind: 'other', detail }
    }
  }

  apiKeySource(): string {
    return this.settings.apiKeySource ?? (this.settings.apiKey ? this.settings.apiKeyVariable : 'none')
  }

  async close(): Promise<void> {
    await this.http.close()
  }
}
