/**
 * HTTP for providers: undici with a keep-alive pool per origin, bounded retries with exponential
 * backoff and jitter that honour Retry-After, connect / first-byte / idle timeouts, and errors
 * mapped to ProviderError kinds with the provider's own hints.
 *
 * A request is retried only before any of its answer has been handed to the caller: once a
 * streamed body has produced a byte, a failure is reported, never retried (no duplicated text).
 *
 * undici's Pool is imported on the first request, never at start-up, and from its own module
 * rather than undici's index (which loads fetch, WebSocket, caches and mocks too: ~35 ms more).
 * Requests go through `pool.dispatch()` with a handler of tau's own instead of `pool.request()`:
 * the body arrives as chunks in a small queue, without a Node stream and its async iterator
 * around it, and errors are mapped where they arrive. See docs/benchmarks.md for what it saves.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Dispatcher, Pool } from 'undici'
import { tauVersion } from '../../kernel/index.js'
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
  /** Caps on what one answer may hold (default: DEFAULT_HTTP_SETTINGS.limits). */
  limits?: { maxEventBytes: number }
}

export const DEFAULT_HTTP_SETTINGS = Object.freeze({
  retries: Object.freeze({ max: 3, baseDelayMs: 500, maxDelayMs: 20_000 }),
  timeouts: Object.freeze({ connectMs: 10_000, firstByteMs: 300_000, idleMs: 120_000 }),
  limits: Object.freeze({ maxEventBytes: 64 * 1024 * 1024 }),
}) satisfies HttpSettings

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
  /** The body already serialised as JSON text (then `body` is not used). */
  json?: string
  /** The body already serialised as JSON and encoded (BodyEncoder); then `json` and `body` are not used. */
  bytes?: Uint8Array
  signal?: AbortSignal | undefined
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body, chunk by chunk; failures after the first chunk are ProviderErrors, never retried. */
  body: AsyncIterable<Uint8Array>
}

interface UndiciParts {
  readonly Pool: typeof Pool
  readonly parseHeaders: (headers: Buffer[]) => Record<string, string | string[]>
}
let undici: Promise<UndiciParts> | undefined
const loadUndici = () => {
  undici ??= Promise.all([import('undici/lib/dispatcher/pool.js'), import('undici/lib/core/util.js')]).then(
    ([pool, util]) => ({ Pool: pool.default, parseHeaders: util.parseHeaders }),
  )
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

/** `tau/<version>`, sent as the user-agent of every provider request, as the official clients do. */
export const USER_AGENT = `tau/${tauVersion()}`

/** A header's value (the first, when it came more than once), lower-cased and trimmed. */
function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' ? first.trim().toLowerCase() : undefined
}

/** Whether an origin is this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopback(origin: string): boolean {
  let host: string
  try {
    host = new URL(origin).hostname
  } catch {
    return false
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\./.test(host) ||
    host === '[::1]' ||
    host === '::1'
  )
}

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

/**
 * How long to wait before retry `attempt` (0-based) after `failure`: the server's Retry-After
 * when it asks for a wait, else backoff. Retry-After: 0 (or a date already past) is no reason to
 * retry at once, so it backs off too, as the official OpenAI and Anthropic clients do.
 */
export function retryWaitMs(
  failure: { readonly retryAfterSeconds?: number | undefined },
  attempt: number,
  settings: RetrySettings,
  random = Math.random,
): number {
  const after = failure.retryAfterSeconds
  return after !== undefined && after > 0 ? after * 1000 : backoffDelay(attempt, settings, random)
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

/** Bytes a response may buffer ahead of its reader before undici stops reading the socket. */
const HIGH_WATER_BYTES = 256 * 1024

/** A parsed request URL; the same few URLs are used over and over, so they are parsed once. */
interface Target {
  readonly origin: string
  readonly path: string
}

/**
 * A response body fed by undici's dispatch handler: chunks are queued as they arrive and handed
 * to the reader in order. Backpressure: past HIGH_WATER_BYTES undici is told to pause, and is
 * resumed once the reader has caught up. A reader that stops early (return()) aborts the request,
 * which releases the socket; a body read to its end leaves the connection to the pool.
 */
class ResponseBody implements AsyncIterableIterator<Uint8Array> {
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  private ended = false
  private failure: ProviderError | undefined
  private waiting:
    | { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void }
    | undefined
  private paused = false

  constructor(
    private readonly resume: () => void,
    private readonly abort: (reason?: Error) => void,
  ) {}

  /** From undici: a chunk. False asks undici to pause until resume(). */
  push(chunk: Uint8Array): boolean {
    const waiting = this.waiting
    if (waiting) {
      this.waiting = undefined
      waiting.resolve({ value: chunk, done: false })
      return true
    }
    this.chunks.push(chunk)
    this.buffered += chunk.byteLength
    if (this.buffered < HIGH_WATER_BYTES) return true
    this.paused = true
    return false
  }

  /** From undici: the body is complete. */
  end(): void {
    this.ended = true
    const waiting = this.waiting
    if (waiting) {
      this.waiting = undefined
      waiting.resolve({ value: undefined, done: true })
    }
  }

  /** From undici: the body failed after it began (already mapped to a ProviderError). */
  fail(error: ProviderError): void {
    if (this.ended) return
    this.failure = error
    const waiting = this.waiting
    if (waiting) {
      this.waiting = undefined
      waiting.reject(error)
    }
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.chunks.shift()
    if (chunk !== undefined) {
      this.buffered -= chunk.byteLength
      if (this.paused && this.buffered < HIGH_WATER_BYTES / 2) {
        this.paused = false
        this.resume()
      }
      return Promise.resolve({ value: chunk, done: false })
    }
    if (this.failure) return Promise.reject(this.failure)
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
    })
  }

  /** The reader stopped early (abort, or it broke out of its loop): release the socket. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && !this.failure) {
      this.ended = true
      this.abort(new Error('the response body was not read to its end'))
    }
    this.chunks.length = 0
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

export class HttpClient {
  readonly provider: string
  private readonly settings: HttpSettings
  private readonly hints: ProviderHints
  private readonly pools = new Map<string, Pool>()
  /** Origins whose last response ended this very event-loop turn (see send()). */
  private readonly settling = new Map<string, Promise<void>>()
  private readonly targets = new Map<string, Target>()
  private parts: UndiciParts | undefined
  private closed = false

  constructor(provider: string, settings: HttpSettings = DEFAULT_HTTP_SETTINGS, hints: ProviderHints = {}) {
    this.provider = provider
    this.settings = settings
    this.hints = hints
  }

  /** The cap on one event of an answer, for streamEvents' `limit` option. */
  get eventLimit(): { readonly maxEventBytes: number; readonly provider: string } {
    return {
      maxEventBytes: this.settings.limits?.maxEventBytes ?? DEFAULT_HTTP_SETTINGS.limits.maxEventBytes,
      provider: this.provider,
    }
  }

  private target(url: string): Target {
    let target = this.targets.get(url)
    if (!target) {
      const parsed = new URL(url)
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search }
      // Providers call a handful of URLs; a client that is handed many (listing pages) stays bounded.
      if (this.targets.size >= 64) this.targets.clear()
      this.targets.set(url, target)
    }
    return target
  }

  private pool(origin: string, parts: UndiciParts): Pool {
    let pool = this.pools.get(origin)
    if (!pool) {
      pool = new parts.Pool(origin, {
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
    const target = this.target(request.url)
    this.parts ??= await loadUndici()
    const parts = this.parts
    // undici hands a kept-alive socket back to its pool one event-loop turn after a response
    // ends; a request sent before then would open a second connection. An agent's next turn
    // comes long after (tools, transcript writes); a caller sending back to back waits here.
    const settling = this.settling.get(target.origin)
    if (settling) await settling
    const body =
      request.bytes ?? request.json ?? (request.body !== undefined ? JSON.stringify(request.body) : undefined)
    let attempt = 0
    for (;;) {
      let failure: ProviderError
      try {
        return await this.attempt(target, request, body, parts)
      } catch (error) {
        failure =
          error instanceof ProviderError
            ? error
            : this.mapTransportError(error, target.origin, request.signal, 'before the answer')
      }
      if (!failure.retryable || attempt >= this.settings.retries.max || request.signal?.aborted) throw failure
      const waitMs = retryWaitMs(failure, attempt, this.settings.retries)
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

  private async attempt(
    target: Target,
    request: HttpRequest,
    body: string | Uint8Array | undefined,
    parts: UndiciParts,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...request.headers,
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const options: Dispatcher.DispatchOptions = {
      path: target.path,
      method: request.method,
      headers,
      headersTimeout: this.settings.timeouts.firstByteMs,
      bodyTimeout: this.settings.timeouts.idleMs,
    }
    if (body !== undefined) options.body = body
    const response = await this.dispatch(
      this.pool(target.origin, parts),
      options,
      target,
      request.signal,
      parts,
    )
    if (response.status >= 200 && response.status < 300) return response
    const text = await readText(response.body).catch(() => '')
    throw this.statusError(response.status, text, response.headers)
  }

  /**
   * One request through undici's dispatch API. Resolves at the response headers (any status);
   * rejects with undici's own error if the request fails before them (send() maps and retries it).
   * A failure after the headers reaches the body's reader as a ProviderError that is never retried.
   */
  private dispatch(
    pool: Pool,
    options: Dispatcher.DispatchOptions,
    target: Target,
    signal: AbortSignal | undefined,
    parts: UndiciParts,
  ): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason ?? new Error('aborted'))
        return
      }
      let abort: ((reason?: Error) => void) | undefined
      let body: ResponseBody | undefined
      let aborted: Error | undefined
      const onAbort = () => {
        aborted = signal?.reason instanceof Error ? signal.reason : new Error('aborted')
        abort?.(aborted)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const done = () => signal?.removeEventListener('abort', onAbort)
      const handler: Dispatcher.DispatchHandler = {
        onConnect: (abortRequest) => {
          abort = abortRequest
          if (aborted) abortRequest(aborted)
        },
        onHeaders: (status, rawHeaders, resume) => {
          if (status < 200) return true
          body = new ResponseBody(resume, (reason) => abort?.(reason))
          resolve({
            status,
            headers: parts.parseHeaders(rawHeaders as unknown as Buffer[]),
            body,
          })
          return true
        },
        onData: (chunk) => (body ? body.push(chunk) : true),
        onComplete: () => {
          done()
          body?.end()
          // After undici's own setImmediate, scheduled once this callback returns.
          queueMicrotask(() => this.settle(target.origin))
        },
        onError: (error) => {
          done()
          if (!body) {
            reject(error)
            return
          }
          const mapped = this.mapTransportError(
            error,
            target.origin,
            signal,
            'while the answer was streaming',
          )
          body.fail(
            new ProviderError(mapped.kind, mapped.message, {
              provider: this.provider,
              retryable: false,
              cause: error,
            }),
          )
        },
      }
      pool.dispatch(options, handler)
    })
  }

  /** Marks an origin as settling until the next event-loop turn (see send()). */
  private settle(origin: string): void {
    if (this.settling.has(origin)) return
    this.settling.set(
      origin,
      new Promise<void>((resolve) =>
        setImmediate(() => {
          this.settling.delete(origin)
          resolve()
        }),
      ),
    )
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
    // OpenAI's and Anthropic's servers say whether a retry can help; their official clients obey.
    const shouldRetry = headerValue(headers, 'x-should-retry')
    const retryable =
      shouldRetry === 'false' ? false : shouldRetry === 'true' ? true : RETRYABLE_STATUS.has(status)
    const kind: ProviderErrorKind = status === 429 ? 'rate-limit' : status >= 500 ? 'server' : 'bad-request'
    return new ProviderError(kind, say(status === 429 ? 'rate limited' : 'request failed'), {
      ...base,
      retryable,
      ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    })
  }

  private mapTransportError(
    error: unknown,
    origin: string,
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
          ? `could not connect to ${origin} within ${this.settings.timeouts.connectMs} ms`
          : code === 'UND_ERR_HEADERS_TIMEOUT'
            ? `no answer from ${origin} within ${this.settings.timeouts.firstByteMs} ms`
            : `the answer from ${origin} stalled for ${this.settings.timeouts.idleMs} ms`
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
          ? `${provider}: connection refused at ${origin}`
          : `${provider}: connection to ${origin} failed ${when} (${code})`,
        {
          provider,
          cause: error,
          // Nothing listening on this machine will not start listening in the next few seconds:
          // fail at once (a remote server refusing may be restarting, so that one is retried).
          ...(refused && isLoopback(origin) ? { retryable: false } : {}),
          ...(refused && this.hints.unreachable ? { hint: this.hints.unreachable(origin) } : {}),
        },
      )
    }
    const message = error instanceof Error ? error.message : String(error)
    return new ProviderError('connection', `${provider}: request to ${origin} failed ${when}: ${message}`, {
      provider,
      cause: error,
    })
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
