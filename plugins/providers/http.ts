/**
 * HTTP for providers: undici with a keep-alive pool per origin, bounded retries with exponential
 * backoff and jitter that honour Retry-After, connect / first-byte / idle timeouts, and errors
 * mapped to ProviderError kinds with the provider's own hints.
 *
 * A request is retried only before any of its answer has been handed to the caller: once a
 * streamed body has produced a byte, a failure is reported, never retried (no duplicated text).
 *
 * undici is imported on the first request (its import alone costs ~80 ms), never at start-up.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Dispatcher, Pool } from 'undici'
import { isContextLengthMessage, ProviderError, type ProviderErrorKind } from './errors.js'

export interface RetrySettings {
  /** Retries after the first attempt. */
  max: number
  baseDelayMs: number
  maxDelayMs: number
}

export interface TimeoutSettings {
  /** TCP (and TLS) connect. */
  connectMs: number
  /** From sending the request to the response headers: a model loading counts here. */
  firstByteMs: number
  /** Longest silence between two chunks of a body. */
  idleMs: number
}

export interface HttpSettings {
  retries: RetrySettings
  timeouts: TimeoutSettings
}

export const DEFAULT_HTTP_SETTINGS: HttpSettings = Object.freeze({
  retries: Object.freeze({ max: 3, baseDelayMs: 500, maxDelayMs: 20_000 }),
  timeouts: Object.freeze({ connectMs: 10_000, firstByteMs: 300_000, idleMs: 120_000 }),
})

/** How a provider explains failures in its own terms. */
export interface ProviderHints {
  /** The variable to set when credentials are refused, e.g. `OPENAI_API_KEY`. */
  authVariable?: string
  /** Text for a 404: which model is missing and how to get it. */
  notFound?: (message: string) => string
  /** Text for a refused connection: what should be listening there. */
  unreachable?: (origin: string) => string
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: unknown
  signal?: AbortSignal | undefined
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body, chunk by chunk; failures after the first chunk are ProviderErrors, never retried. */
  body: AsyncIterable<Uint8Array>
}

type UndiciModule = typeof import('undici')
let undici: Promise<UndiciModule> | undefined
const loadUndici = () => {
  undici ??= import('undici')
  return undici
}

/** The longest Retry-After tau waits for before giving the error to the caller instead. */
const MAX_RETRY_AFTER_MS = 60_000

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529])
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
])

/** Seconds to wait from Retry-After (seconds or an HTTP date) or retry-after-ms. */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const ms = headers['retry-after-ms']
  if (typeof ms === 'string' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms) / 1000)
  const value = headers['retry-after']
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000)
}

/** Exponential backoff with jitter: half fixed, half random, so clients do not retry in step. */
export function backoffDelay(attempt: number, settings: RetrySettings, random = Math.random): number {
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** attempt)
  return exponential / 2 + (random() * exponential) / 2
}

/** The message inside a provider's error body: OpenAI/Anthropic `{error:{message}}`, Ollama `{error}`. */
export function errorMessageFromBody(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown }
    const error = json.error
    if (typeof error === 'string') return error
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message
    }
    if (typeof json.message === 'string') return json.message
    if (typeof json.detail === 'string') return json.detail
  } catch {
    // not JSON: use the text itself
  }
  return text.trim().slice(0, 500)
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true
  const name = (error as { name?: unknown })?.name
  return name === 'AbortError' || errorCode(error) === 'UND_ERR_ABORTED'
}

export class HttpClient {
  readonly provider: string
  private readonly settings: HttpSettings
  private readonly hints: ProviderHints
  private readonly pools = new Map<string, Pool>()
  private closed = false

  constructor(provider: string, settings: HttpSettings = DEFAULT_HTTP_SETTINGS, hints: ProviderHints = {}) {
    this.provider = provider
    this.settings = settings
    this.hints = hints
  }

  private async pool(origin: string): Promise<Pool> {
    let pool = this.pools.get(origin)
    if (!pool) {
      const { Pool } = await loadUndici()
      pool = new Pool(origin, {
        connect: { timeout: this.settings.timeouts.connectMs },
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** Sends a request and returns a 2xx response; retries (before any byte is consumed) where it may. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    if (this.closed)
      throw new ProviderError('aborted', `${this.provider}: the HTTP client is closed`, {
        provider: this.provider,
      })
    const url = new URL(request.url)
    let attempt = 0
    for (;;) {
      let failure: ProviderError
      try {
        return await this.attempt(url, request)
      } catch (error) {
        failure =
          error instanceof ProviderError
            ? error
            : this.mapTransportError(error, url, request.signal, 'before the answer')
      }
      if (!failure.retryable || attempt >= this.settings.retries.max || request.signal?.aborted) throw failure
      const waitMs =
        failure.retryAfterSeconds !== undefined
          ? failure.retryAfterSeconds * 1000
          : backoffDelay(attempt, this.settings.retries)
      // A server asking for a longer wait than a person would sit through is answered, not waited for.
      if (waitMs > MAX_RETRY_AFTER_MS) throw failure
      try {
        await delay(waitMs, undefined, request.signal ? { signal: request.signal } : {})
      } catch {
        throw new ProviderError('aborted', `${this.provider}: request aborted while waiting to retry`, {
          provider: this.provider,
        })
      }
      attempt++
    }
  }

  private async attempt(url: URL, request: HttpRequest): Promise<HttpResponse> {
    const pool = await this.pool(url.origin)
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers }
    let body: string | undefined
    if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers['content-type'] = 'application/json'
    }
    const options: Dispatcher.RequestOptions = {
      path: url.pathname + url.search,
      method: request.method,
      headers,
      headersTimeout: this.settings.timeouts.firstByteMs,
      bodyTimeout: this.settings.timeouts.idleMs,
      ...(body !== undefined ? { body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    }
    const response = await pool.request(options)
    const responseHeaders = response.headers as Record<string, string | string[] | undefined>
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return {
        status: response.statusCode,
        headers: responseHeaders,
        body: this.guardBody(response.body, url, request.signal),
      }
    }
    const text = await response.body.text().catch(() => '')
    throw this.statusError(response.statusCode, text, responseHeaders)
  }

  /** Turns transport failures while reading a body into ProviderErrors that are never retried. */
  private async *guardBody(
    body: AsyncIterable<Uint8Array> & { destroy?: () => void },
    url: URL,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array> {
    let complete = false
    try {
      for await (const chunk of body) yield chunk
      complete = true
      // undici returns the socket to the pool a tick after the body ends; waiting for it lets the
      // caller's next request (the next turn) reuse the connection instead of opening another.
      await new Promise((resolve) => setImmediate(resolve))
    } catch (error) {
      const mapped = this.mapTransportError(error, url, signal, 'while the answer was streaming')
      throw new ProviderError(mapped.kind, mapped.message, {
        provider: this.provider,
        retryable: false,
        cause: error,
      })
    } finally {
      // Stopping early (abort, or the consumer broke out) must release the socket; a body read
      // to its end leaves the connection to the pool for reuse.
      if (!complete) body.destroy?.()
    }
  }

  statusError(
    status: number,
    text: string,
    headers: Record<string, string | string[] | undefined> = {},
  ): ProviderError {
    const message = errorMessageFromBody(text)
    const provider = this.provider
    const base = { provider, status }
    const say = (what: string) => `${provider}: ${what} (HTTP ${status})${message ? `: ${message}` : ''}`
    if (status === 401 || status === 403) {
      const variable = this.hints.authVariable
      return new ProviderError('auth', say('credentials refused'), {
        ...base,
        retryable: false,
        ...(variable
          ? { hint: `Set ${variable} to a valid key (and check it has access to this model).` }
          : {}),
      })
    }
    if (status === 404) {
      return new ProviderError('model-not-found', say('not found'), {
        ...base,
        retryable: false,
        ...(this.hints.notFound ? { hint: this.hints.notFound(message) } : {}),
      })
    }
    if ((status === 400 || status === 413 || status === 422) && isContextLengthMessage(message)) {
      return new ProviderError('context-length', say('request too long for the model'), {
        ...base,
        retryable: false,
      })
    }
    if (status === 400 || status === 413 || status === 422) {
      return new ProviderError('bad-request', say('request rejected'), { ...base, retryable: false })
    }
    const retryAfter = parseRetryAfter(headers)
    const retryable = RETRYABLE_STATUS.has(status)
    const kind: ProviderErrorKind = status === 429 ? 'rate-limit' : status >= 500 ? 'server' : 'bad-request'
    return new ProviderError(kind, say(status === 429 ? 'rate limited' : 'request failed'), {
      ...base,
      retryable,
      ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    })
  }

  private mapTransportError(
    error: unknown,
    url: URL,
    signal: AbortSignal | undefined,
    when: string,
  ): ProviderError {
    const provider = this.provider
    if (isAbort(error, signal)) {
      return new ProviderError('aborted', `${provider}: request aborted`, {
        provider,
        retryable: false,
        cause: error,
      })
    }
    const code = errorCode(error)
    if (
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT'
    ) {
      const what =
        code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `could not connect to ${url.origin} within ${this.settings.timeouts.connectMs} ms`
          : code === 'UND_ERR_HEADERS_TIMEOUT'
            ? `no answer from ${url.origin} within ${this.settings.timeouts.firstByteMs} ms`
            : `the answer from ${url.origin} stalled for ${this.settings.timeouts.idleMs} ms`
      return new ProviderError('timeout', `${provider}: ${what}`, {
        provider,
        retryable: code === 'UND_ERR_CONNECT_TIMEOUT',
        cause: error,
      })
    }
    if (code !== undefined && CONNECTION_CODES.has(code)) {
      const refused = code === 'ECONNREFUSED'
      return new ProviderError(
        'connection',
        refused
          ? `${provider}: connection refused at ${url.origin}`
          : `${provider}: connection to ${url.origin} failed ${when} (${code})`,
        {
          provider,
          cause: error,
          ...(refused && this.hints.unreachable ? { hint: this.hints.unreachable(url.origin) } : {}),
        },
      )
    }
    const message = error instanceof Error ? error.message : String(error)
    return new ProviderError(
      'connection',
      `${provider}: request to ${url.origin} failed ${when}: ${message}`,
      {
        provider,
        cause: error,
      },
    )
  }

  /** Sends a request and parses its whole body as JSON. */
  async json<T>(request: HttpRequest): Promise<T> {
    const response = await this.send(request)
    const text = await readText(response.body)
    try {
      return JSON.parse(text) as T
    } catch (error) {
      throw new ProviderError(
        'bad-response',
        `${this.provider}: the answer is not JSON: ${text.slice(0, 200)}`,
        {
          provider: this.provider,
          cause: error,
        },
      )
    }
  }

  /** Closes every pooled connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())))
  }
}

export async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true })
  return text + decoder.decode()
}
