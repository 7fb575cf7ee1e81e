/**
 * The Ollama provider: chat over the native API (/api/chat, NDJSON), embeddings (/api/embed),
 * the installed models (/api/tags) and what each can do (/api/show), and `tau doctor` checks.
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
  type HttpClient,
  type HttpResponse,
  isProviderError,
  type Provider,
  type ProviderCheck,
  ProviderError,
  streamEvents,
  withPlugin,
} from '../providers/index.js'
import { type OllamaChatRequest, toOllamaChatRequest } from './chat-request.js'
import { chatSource } from './chat-stream.js'

const PLUGIN = 'provider-ollama'

export interface OllamaSettings {
  /** Normalized base URL, e.g. http://127.0.0.1:11434 */
  readonly baseUrl: string
  /** Sent with every request (proxy headers, credentials from the address). */
  readonly headers: Readonly<Record<string, string>>
  readonly keepAlive?: string | number | undefined
  readonly numCtx?: number | undefined
  readonly thinkLevels: readonly string[]
  /** Where the credentials came from (never the key), for Provider.apiKeySource; default none. */
  readonly keySource?: string
}

interface TagsModel {
  name?: string
  model?: string
  details?: { parameter_size?: string; quantization_level?: string; context_length?: number }
  capabilities?: string[]
}

interface ShowResponse {
  capabilities?: string[]
  model_info?: Record<string, unknown>
  parameters?: string
  details?: { context_length?: number }
}

const THINKING_REFUSED = /does not support thinking/i

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Ollama resolves a name without a tag to `:latest`. */
function sameModel(installed: string, wanted: string): boolean {
  const full = (name: string) => (name.includes(':') ? name : `${name}:latest`)
  return full(installed) === full(wanted)
}

/** Errors leave this plugin carrying its name. */
const stamp = (error: unknown): unknown => withPlugin(error, PLUGIN)

/** The window the model really runs with: the configured num_ctx (or the Modelfile's), capped by training. */
export function contextWindowFrom(show: ShowResponse, numCtx: number | undefined): number | undefined {
  const info = isObject(show.model_info) ? show.model_info : {}
  const arch = info['general.architecture']
  let trained: number | undefined
  const byArch = typeof arch === 'string' ? info[`${arch}.context_length`] : undefined
  if (typeof byArch === 'number') trained = byArch
  else {
    for (const [key, value] of Object.entries(info)) {
      if (key.endsWith('.context_length') && typeof value === 'number') trained = value
    }
  }
  trained ??= typeof show.details?.context_length === 'number' ? show.details.context_length : undefined
  const modelfile = /(?:^|\n)\s*num_ctx\s+(\d+)/.exec(show.parameters ?? '')
  const running = numCtx ?? (modelfile ? Number(modelfile[1]) : undefined)
  if (running === undefined) return trained
  return trained === undefined ? running : Math.min(trained, running)
}

export function capabilitiesFrom(show: ShowResponse, numCtx: number | undefined): Partial<ModelCapabilities> {
  const out: Partial<ModelCapabilities> = {}
  if (Array.isArray(show.capabilities)) {
    const caps = show.capabilities
    out.tools = caps.includes('tools')
    out.vision = caps.includes('vision')
    out.reasoning = caps.includes('thinking')
    // `format` constrains any completion model to a JSON schema.
    out.structuredOutput = caps.includes('completion')
  }
  const window = contextWindowFrom(show, numCtx)
  if (window !== undefined) out.contextWindow = window
  return out
}

function describeError(error: unknown): string {
  // One line for a doctor check: the summary (message carries the cause on lines of its own).
  if (isProviderError(error)) return `${error.summary} (${error.hint})`
  return error instanceof Error ? error.message : String(error)
}

export class OllamaProvider implements Provider {
  readonly name = 'ollama'
  private readonly http: HttpClient
  private readonly settings: OllamaSettings
  private readonly logger: Logger | undefined
  private readonly idPrefix = Math.random().toString(36).slice(2, 8)
  /** Chat bodies as bytes, reusing the unchanged part of the last one (the conversation's start, tools). */
  private readonly bodies = new BodyEncoder()
  private idCounter = 0

  constructor(http: HttpClient, settings: OllamaSettings, logger?: Logger) {
    this.http = http
    this.settings = settings
    this.logger = logger
  }

  private url(path: string): string {
    return `${this.settings.baseUrl}${path}`
  }

  apiKeySource(): string {
    return this.settings.keySource ?? 'none'
  }

  private nextId = (): string => `call_${this.idPrefix}_${++this.idCounter}`

  private post(path: string, body: unknown, signal: AbortSignal | undefined): Promise<HttpResponse> {
    return this.http.send({
      method: 'POST',
      url: this.url(path),
      headers: { ...this.settings.headers },
      body,
      signal,
    })
  }

  private json<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined) {
    return this.http.json<T>({
      method,
      url: this.url(path),
      headers: { ...this.settings.headers },
      ...(body !== undefined ? { body } : {}),
      signal,
    })
  }

  /** The body tau sends to /api/chat for a request (exposed for tests and debugging). */
  chatRequest(request: ModelRequest): OllamaChatRequest {
    return toOllamaChatRequest(request, this.settings)
  }

  /** The request, then its events through one iterator (streamEvents); errors name the plugin. */
  stream(request: ModelRequest, options: CallOptions = {}): AsyncIterable<StreamEvent> {
    const read = { nextId: this.nextId, signal: options.signal }
    return streamEvents(
      async () => {
        try {
          const response = await this.sendChat(request, options.signal)
          return chatSource(response.body, read)
        } catch (error) {
          throw stamp(error)
        }
      },
      { recover: (error) => Promise.reject(stamp(error)), limit: this.http.eventLimit },
    )
  }

  private async sendChat(request: ModelRequest, signal: AbortSignal | undefined): Promise<HttpResponse> {
    const body = this.chatRequest(request)
    try {
      return await this.http.send({
        method: 'POST',
        url: this.url('/api/chat'),
        headers: { ...this.settings.headers },
        bytes: this.bodies.encode(body),
        signal,
      })
    } catch (error) {
      // "Reasoning where the model supports it": a model without thinking refuses `think`
      // before any output, so ask again without it.
      if (
        body.think === undefined ||
        body.think === false ||
        !isProviderError(error) ||
        error.kind !== 'bad-request' ||
        !THINKING_REFUSED.test(error.message)
      )
        throw error
      this.logger?.debug('model does not support thinking: asking again without `think`', {
        model: body.model,
      })
      const { think: _dropped, ...withoutThink } = body
      return await this.post('/api/chat', withoutThink, signal)
    }
  }

  async capabilities(
    model: string,
    options: CallOptions = {},
  ): Promise<Partial<ModelCapabilities> | undefined> {
    let show: ShowResponse
    try {
      show = await this.json<ShowResponse>('POST', '/api/show', { model }, options.signal)
    } catch (error) {
      // Unreachable, refused or missing: say so now. Anything else (an old server, a proxy
      // without /api/show): fall back to the catalogue.
      const fatal =
        isProviderError(error) &&
        (['connection', 'auth', 'aborted', 'timeout'].includes(error.kind) ||
          (error.kind === 'model-not-found' && /\bmodel\b/i.test(error.message)))
      if (fatal) throw stamp(error)
      this.logger?.debug('no capabilities from /api/show: using the catalogue', {
        model,
        error: error instanceof Error ? error.message : String(error),
      })
      return undefined
    }
    if (!isObject(show)) return undefined
    return capabilitiesFrom(show, this.settings.numCtx)
  }

  async embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResponse> {
    const body: Record<string, unknown> = { model: request.model.model, input: [...request.input] }
    if (request.dimensions !== undefined) body.dimensions = request.dimensions
    if (this.settings.keepAlive !== undefined) body.keep_alive = this.settings.keepAlive
    let answer: { embeddings?: unknown; prompt_eval_count?: unknown }
    try {
      answer = await this.json('POST', '/api/embed', body, options.signal)
    } catch (error) {
      throw stamp(error)
    }
    const embeddings = answer?.embeddings
    if (
      !Array.isArray(embeddings) ||
      embeddings.length !== request.input.length ||
      !embeddings.every((v) => Array.isArray(v) && v.every((n) => typeof n === 'number'))
    ) {
      throw new ProviderError(
        'bad-response',
        `ollama: /api/embed did not answer ${request.input.length} vector(s) of numbers`,
        { provider: this.name, plugin: PLUGIN, retryable: false },
      )
    }
    const tokens = answer.prompt_eval_count
    return {
      model: request.model,
      embeddings: embeddings as number[][],
      ...(typeof tokens === 'number' ? { usage: { inputTokens: tokens } } : {}),
    }
  }

  private async tags(signal: AbortSignal | undefined): Promise<TagsModel[]> {
    const answer = await this.json<{ models?: unknown }>('GET', '/api/tags', undefined, signal)
    if (!Array.isArray(answer?.models)) {
      throw new ProviderError('bad-response', 'ollama: /api/tags did not answer a list of models', {
        provider: this.name,
        plugin: PLUGIN,
        retryable: false,
      })
    }
    return answer.models.filter(isObject) as TagsModel[]
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    let models: TagsModel[]
    try {
      models = await this.tags(options.signal)
    } catch (error) {
      throw stamp(error)
    }
    return models
      .filter((m) => typeof (m.name ?? m.model) === 'string')
      .map((m) => {
        const name = (m.name ?? m.model) as string
        const size = [m.details?.parameter_size, m.details?.quantization_level].filter(Boolean).join(' ')
        const capabilities: Partial<ModelCapabilities> = {}
        if (Array.isArray(m.capabilities)) {
          capabilities.tools = m.capabilities.includes('tools')
          capabilities.vision = m.capabilities.includes('vision')
          capabilities.reasoning = m.capabilities.includes('thinking')
        }
        if (typeof m.details?.context_length === 'number')
          capabilities.contextWindow = m.details.context_length
        return {
          ref: { provider: this.name, model: name },
          displayName: size ? `${name} (${size})` : name,
          ...(Object.keys(capabilities).length > 0 ? { capabilities } : {}),
        }
      })
  }

  close(): Promise<void> {
    return this.http.close()
  }

  async check(model: string | undefined, options: CallOptions = {}): Promise<ProviderCheck[]> {
    const checks: ProviderCheck[] = []
    const where = this.settings.baseUrl
    try {
      const version = await this.json<{ version?: unknown }>('GET', '/api/version', undefined, options.signal)
      const v = typeof version?.version === 'string' ? ` ${version.version}` : ''
      checks.push({ name: 'reachable', ok: true, detail: `Ollama${v} answers at ${where}` })
    } catch (error) {
      // A proxy may not pass /api/version: any HTTP answer still proves the server is there.
      if (isProviderError(error) && error.kind === 'model-not-found') {
        checks.push({ name: 'reachable', ok: true, detail: `a server answers at ${where}` })
      } else if (isProviderError(error) && error.kind === 'auth') {
        checks.push({ name: 'reachable', ok: true, detail: `a server answers at ${where}` })
      } else {
        checks.push({ name: 'reachable', ok: false, detail: describeError(error) })
        return checks
      }
    }
    let installed: TagsModel[]
    try {
      installed = await this.tags(options.signal)
      const withKey = Object.keys(this.settings.headers).some((h) => h.toLowerCase() === 'authorization')
      checks.push({
        name: 'authenticated',
        ok: true,
        detail: withKey ? 'credentials accepted' : 'no credentials needed',
      })
    } catch (error) {
      const auth = isProviderError(error) && error.kind === 'auth'
      checks.push({ name: auth ? 'authenticated' : 'models', ok: false, detail: describeError(error) })
      return checks
    }
    const names = installed.map((m) => m.name ?? m.model).filter((n): n is string => typeof n === 'string')
    if (model === undefined) {
      checks.push({
        name: 'model',
        ok: true,
        detail: `${names.length} model(s) installed; the configured model is not an ollama one`,
      })
      return checks
    }
    const found = installed.find((m) => sameModel(m.name ?? m.model ?? '', model))
    if (!found) {
      checks.push({
        name: 'model',
        ok: false,
        detail: `'${model}' is not installed at ${where}${didYouMean(model, names)}: run \`ollama pull ${model}\``,
      })
      return checks
    }
    checks.push({ name: 'model', ok: true, detail: `${found.name ?? found.model} is installed` })
    try {
      const caps = await this.capabilities(model, options)
      if (caps?.tools === undefined) {
        checks.push({
          name: 'tool calling',
          ok: true,
          detail: 'this Ollama does not report capabilities; native tools will be tried',
        })
      } else if (caps.tools) {
        checks.push({ name: 'tool calling', ok: true, detail: 'native tool calling (capability `tools`)' })
      } else {
        checks.push({
          name: 'tool calling',
          ok: false,
          detail:
            'no native tool calling: tau will describe tools in the prompt, which is less reliable; choose a model with the `tools` capability',
        })
      }
    } catch (error) {
      checks.push({ name: 'tool calling', ok: false, detail: describeError(error) })
    }
    return checks
  }
}
