/**
 * One Provider over the Chat Completions wire. The same class serves `openai`, `azure` and every
 * named compatible server; the Endpoint says where calls go and how they authenticate.
 */
import type {
  EmbeddingRequest,
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
  type CallOptions,
  type EventSource,
  type Provider,
  type ProviderCheck,
  ProviderError,
  type SseEvent,
  streamEvents,
} from '../providers/index.js'
import type { Endpoint } from './endpoints.js'
import { chatBody } from './request.js'
import { chatSource } from './stream.js'
import { type OpenAIHttpClient, stamp } from './wire-errors.js'

type Json = Record<string, unknown>

/** OpenAI takes at most 2048 inputs in one embeddings request. */
const EMBED_BATCH = 2048

export interface ProviderOptions {
  readonly endpoint: Endpoint
  readonly http: OpenAIHttpClient
  readonly logger: Logger
  /** The registry's view of a model (catalogue + config overrides), for reasoning-model rules and `check`. */
  readonly capabilitiesOf?: (model: string, options: CallOptions) => Promise<ModelCapabilities>
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** What compatible servers add to their model listing: vLLM, llama.cpp, OpenRouter, LM Studio. */
export function listedCapabilities(entry: Json): Partial<ModelCapabilities> | undefined {
  const caps: Partial<ModelCapabilities> = {}
  const meta = isObject(entry.meta) ? entry.meta : {}
  const context = [
    entry.max_model_len,
    entry.context_length,
    entry.max_context_length,
    meta.n_ctx,
    meta.n_ctx_train,
  ]
  const window = context.find((v): v is number => typeof v === 'number' && v > 0)
  if (window !== undefined) caps.contextWindow = window
  if (Array.isArray(entry.supported_parameters)) caps.tools = entry.supported_parameters.includes('tools')
  const modalities = isObject(entry.architecture) ? entry.architecture.input_modalities : undefined
  if (Array.isArray(modalities)) caps.vision = modalities.includes('image')
  if (isObject(entry.top_provider) && typeof entry.top_provider.max_completion_tokens === 'number') {
    caps.maxOutputTokens = entry.top_provider.max_completion_tokens
  }
  return Object.keys(caps).length > 0 ? caps : undefined
}

export class OpenAIProvider implements Provider {
  readonly name: string
  readonly endpoint: Endpoint
  private readonly http: OpenAIHttpClient
  private readonly logger: Logger
  private readonly capabilitiesOf: ProviderOptions['capabilitiesOf']
  private listing: Promise<Json[]> | undefined
  private readonly reasoningModels = new Map<string, boolean>()
  /** Chat bodies as bytes, reusing the unchanged part of the last one (the conversation's start, tools). */
  private readonly bodies = new BodyEncoder()
  private callCounter = 0
  private readonly idPrefix = Math.random().toString(36).slice(2, 10)

  constructor(options: ProviderOptions) {
    this.endpoint = options.endpoint
    this.name = options.endpoint.provider
    this.http = options.http
    this.logger = options.logger
    this.capabilitiesOf = options.capabilitiesOf
  }

  /** Where the key came from, for the init line's apiKeySource (Provider.apiKeySource). */
  apiKeySource(): string {
    return this.endpoint.keySource
  }

  private nextId = () => `call_${this.idPrefix}${(++this.callCounter).toString(36)}`

  /** The request, then its events through one iterator (streamEvents); errors name the plugin. */
  stream(request: ModelRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
    return streamEvents(
      async () => {
        try {
          return await this.open(request, options)
        } catch (error) {
          throw stamp(error)
        }
      },
      { recover: (error) => Promise.reject(stamp(error)), limit: this.http.eventLimit },
    )
  }

  /** Sends the chat request; the answer's reader. */
  private async open(
    request: ModelRequest,
    options: CallOptions,
  ): Promise<EventSource<SseEvent | string, StreamEvent>> {
    const endpoint = this.endpoint
    const headers = endpoint.headers()
    const model = request.model.model
    const reasoningModel = this.reasoningModels.get(model) ?? (await this.isReasoningModel(model, options))
    const extra = request.providerOptions?.[this.name]
    const body = chatBody(request, {
      flavour: endpoint.flavour,
      maxTokensField: endpoint.maxTokensField,
      includeUsage: endpoint.includeUsage,
      parallelToolCalls: endpoint.parallelToolCalls,
      reasoningModel,
      extra,
    })
    const url = endpoint.chatUrl(model)
    this.logger.debug('chat request', {
      provider: this.name,
      model,
      url: url.split('?')[0],
      messages: request.messages.length,
      tools: request.tools?.length ?? 0,
    })
    const response = await this.http.send({
      method: 'POST',
      url,
      headers,
      bytes: this.bodies.encode(body),
      signal: options.signal,
    })
    return chatSource(response, {
      provider: this.name,
      nextId: this.nextId,
      secrets: endpoint.secrets,
      signal: options.signal,
    })
  }

  /**
   * OpenAI's reasoning models have rules of their own; compatible servers are not held to them.
   * Known once per model: the registry's answer does not change within a run.
   */
  private async isReasoningModel(model: string, options: CallOptions): Promise<boolean> {
    const known =
      this.endpoint.flavour !== 'compatible' && this.capabilitiesOf
        ? (await this.capabilitiesOf(model, options)).reasoning
        : false
    this.reasoningModels.set(model, known)
    return known
  }

  /** Compatible servers may say more about a model in their listing; OpenAI's and Azure's say nothing. */
  async capabilities(
    model: string,
    options: CallOptions = {},
  ): Promise<Partial<ModelCapabilities> | undefined> {
    if (this.endpoint.flavour !== 'compatible' || this.endpoint.missing) return undefined
    try {
      const entry = (await this.listed(options)).find((m) => m.id === model)
      return entry ? listedCapabilities(entry) : undefined
    } catch (error) {
      this.logger.debug('model listing unavailable for capabilities', {
        provider: this.name,
        error: error instanceof Error ? error.message : String(error),
      })
      return undefined
    }
  }

  /** The raw model listing, fetched once (failures are not kept). */
  private listed(options: CallOptions): Promise<Json[]> {
    if (!this.listing) {
      this.listing = this.fetchModels(options)
      this.listing.catch(() => {
        this.listing = undefined
      })
    }
    return this.listing
  }

  private async fetchModels(options: CallOptions): Promise<Json[]> {
    const url = this.endpoint.modelsUrl()
    if (url === undefined) {
      throw new ProviderError('unsupported', `${this.name}: this endpoint has no model listing`, {
        provider: this.name,
      })
    }
    const answer = await this.http.json<unknown>({
      method: 'GET',
      url,
      headers: this.endpoint.headers(),
      signal: options.signal,
    })
    const data = isObject(answer) ? answer.data : undefined
    if (!Array.isArray(data)) {
      throw new ProviderError('bad-response', `${this.name}: the model listing has no data array`, {
        provider: this.name,
      })
    }
    return data.filter((m): m is Json => isObject(m) && typeof m.id === 'string')
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    const models = await this.fetchModels(options).catch((error: unknown) => Promise.reject(stamp(error)))
    return models.map((entry) => {
      const capabilities = listedCapabilities(entry)
      return {
        ref: { provider: this.name, model: String(entry.id) },
        ...(capabilities ? { capabilities } : {}),
      }
    })
  }

  async embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResponse> {
    try {
      return await this.embedBatches(request, options)
    } catch (error) {
      throw stamp(error)
    }
  }

  private async embedBatches(request: EmbeddingRequest, options: CallOptions): Promise<EmbeddingResponse> {
    const headers = this.endpoint.headers()
    const model = request.model.model
    const embeddings: number[][] = []
    let inputTokens: number | undefined
    for (let start = 0; start < request.input.length; start += EMBED_BATCH) {
      const input = request.input.slice(start, start + EMBED_BATCH)
      const answer = await this.http.json<unknown>({
        method: 'POST',
        url: this.endpoint.embeddingsUrl(model),
        headers,
        body: {
          model,
          input,
          ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
        },
        signal: options.signal,
      })
      const data = isObject(answer) && Array.isArray(answer.data) ? answer.data : undefined
      if (!data || data.length !== input.length) {
        throw new ProviderError(
          'bad-response',
          `${this.name}: expected ${input.length} embeddings, got ${data ? data.length : 'none'}`,
          { provider: this.name },
        )
      }
      const batch = new Array<number[]>(input.length)
      for (const [position, item] of data.entries()) {
        const index = isObject(item) && typeof item.index === 'number' ? item.index : position
        const vector = isObject(item) ? decodeEmbedding(item.embedding) : undefined
        if (!vector || index < 0 || index >= input.length) {
          throw new ProviderError('bad-response', `${this.name}: embedding ${position} is malformed`, {
            provider: this.name,
          })
        }
        batch[index] = vector
      }
      embeddings.push(...batch)
      const usage = isObject(answer) && isObject(answer.usage) ? answer.usage.prompt_tokens : undefined
      if (typeof usage === 'number') inputTokens = (inputTokens ?? 0) + usage
    }
    return {
      model: request.model,
      embeddings,
      ...(inputTokens !== undefined ? { usage: { inputTokens } } : {}),
    }
  }

  /**
   * For `tau doctor`: configured, reachable and authenticated (GET /models), the model present
   * (in the listing; for Azure, whose listing names models rather than deployments, by a probe
   * that costs no tokens), and tool calling (from the catalogue and config).
   */
  async check(model: string | undefined, options: CallOptions = {}): Promise<ProviderCheck[]> {
    const endpoint = this.endpoint
    if (endpoint.missing) {
      // Not set up: a failure only when the configured model is on this provider.
      return [
        {
          name: 'configured',
          ok: model === undefined,
          detail: model === undefined ? `not configured (${endpoint.missing})` : endpoint.missing,
        },
      ]
    }
    const checks: ProviderCheck[] = []
    let listed: Json[] | undefined
    if (endpoint.modelsUrl() === undefined) {
      checks.push({ name: 'reachable', ok: true, detail: `${endpoint.where} (no model listing to probe)` })
    } else {
      try {
        listed = await this.fetchModels(options)
        checks.push({ name: 'reachable', ok: true, detail: endpoint.where })
        checks.push({
          name: 'authenticated',
          ok: true,
          detail: endpoint.secrets.length > 0 ? `key from ${endpoint.keyVariable} accepted` : 'no key needed',
        })
      } catch (error) {
        const failure = asProviderError(error, this.name)
        if (failure.kind === 'connection' || failure.kind === 'timeout' || failure.kind === 'aborted') {
          checks.push({ name: 'reachable', ok: false, detail: `${failure.message} — ${failure.hint}` })
          return checks
        }
        checks.push({ name: 'reachable', ok: true, detail: endpoint.where })
        if (failure.kind === 'auth') {
          checks.push({ name: 'authenticated', ok: false, detail: `${failure.message} — ${failure.hint}` })
          return checks
        }
        // A server without GET /models (404) or with an odd one: nothing known about the key.
        checks.push({
          name: 'authenticated',
          ok: true,
          detail: `not verified: the model listing failed (${failure.message})`,
        })
      }
    }
    if (model !== undefined) checks.push(await this.checkModel(model, listed, options))
    if (model !== undefined && this.capabilitiesOf) {
      const caps = await this.capabilitiesOf(model, options).catch(() => undefined)
      checks.push({
        name: 'tools',
        ok: caps !== undefined,
        detail:
          caps === undefined
            ? 'capabilities unknown'
            : caps.tools
              ? 'native tool calling'
              : 'no native tool calling: tools are described in the prompt',
      })
    }
    return checks
  }

  private async checkModel(
    model: string,
    listed: Json[] | undefined,
    options: CallOptions,
  ): Promise<ProviderCheck> {
    const ids = (listed ?? []).map((m) => String(m.id))
    if (ids.includes(model)) return { name: 'model', ok: true, detail: `${model} is available` }
    if (this.endpoint.flavour === 'azure') return this.probeDeployment(model, options)
    if (listed === undefined)
      return { name: 'model', ok: true, detail: `${model}: not verified (no listing)` }
    return {
      name: 'model',
      ok: false,
      detail: `${model} is not among the ${ids.length} models ${this.name} lists${didYouMean(model, ids)}`,
    }
  }

  /** A chat call with no messages: refused with 400 when the deployment exists, 404 when it does not. */
  private async probeDeployment(model: string, options: CallOptions): Promise<ProviderCheck> {
    try {
      const response = await this.http.send({
        method: 'POST',
        url: this.endpoint.chatUrl(model),
        headers: this.endpoint.headers(),
        body: { model, messages: [] },
        signal: options.signal,
      })
      for await (const _ of response.body) {
        // drain
      }
      return { name: 'model', ok: true, detail: `deployment ${model} answers` }
    } catch (error) {
      const failure = asProviderError(error, this.name)
      if (failure.kind === 'bad-request' || failure.kind === 'context-length')
        return { name: 'model', ok: true, detail: `deployment ${model} exists` }
      if (failure.kind === 'model-not-found') {
        return {
          name: 'model',
          ok: false,
          detail: `no deployment named ${model} at ${this.endpoint.where} (the model part of an azure ref is the deployment name)`,
        }
      }
      return { name: 'model', ok: false, detail: failure.message }
    }
  }

  async close(): Promise<void> {
    await this.http.close()
  }
}

function asProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error
  return new ProviderError(
    'server',
    `${provider}: ${error instanceof Error ? error.message : String(error)}`,
    {
      provider,
    },
  )
}

/** An embedding as a number array, from floats or from base64 little-endian float32. */
function decodeEmbedding(value: unknown): number[] | undefined {
  if (Array.isArray(value)) return value.every((v) => typeof v === 'number') ? (value as number[]) : undefined
  if (typeof value !== 'string') return undefined
  const bytes = Buffer.from(value, 'base64')
  const out: number[] = []
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) out.push(bytes.readFloatLE(offset))
  return out
}
