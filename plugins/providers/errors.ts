/**
 * Provider errors: typed by what the caller should do about them. The agent retries nothing
 * itself; it reads `kind` (compact on 'context-length', hand back to the user on 'auth', ...).
 */
import { defineErrors, TauError, type TauErrorOptions } from '../../kernel/index.js'

export const PROVIDER_ERRORS = defineErrors('providers', {
  TAU_PROVIDER_UNKNOWN: {
    title: 'A model ref names a provider that is not loaded',
    hint: 'Use a provider from the list shown (`provider:model`), or add its plugin to your config.',
    userError: true,
  },
  TAU_PROVIDER_NOT_CONFIGURED: {
    title: 'A provider is missing settings it needs (an endpoint or a key)',
    hint: 'Set the environment variable or config field named in the message.',
    userError: true,
  },
  TAU_PROVIDER_AUTH: {
    title: 'The provider refused the credentials (HTTP 401 or 403)',
    hint: 'Set or fix the API key variable named in the message.',
    userError: true,
  },
  TAU_PROVIDER_MODEL_NOT_FOUND: {
    title: 'The provider does not have the model (HTTP 404)',
    hint: 'Check the model name; for Ollama, pull it first (`ollama pull NAME`).',
    userError: true,
  },
  TAU_PROVIDER_RATE_LIMIT: {
    title: 'The provider kept answering 429 (rate limited) after the allowed retries',
    hint: 'Wait and try again, lower the request rate, or raise `providers.retries`.',
    userError: false,
  },
  TAU_PROVIDER_CONTEXT_LENGTH: {
    title: "The request is longer than the model's context window",
    hint: 'Compact the conversation or choose a model with a larger context window.',
    userError: false,
  },
  TAU_PROVIDER_BAD_REQUEST: {
    title: 'The provider rejected the request (HTTP 400 or 422)',
    hint: "Read the provider's message shown; an unsupported option for this model is the usual cause.",
    userError: false,
  },
  TAU_PROVIDER_CONNECTION: {
    title: 'The provider could not be reached, or the connection dropped',
    hint: 'Check that the server is running at the address shown and that the address is right.',
    userError: false,
  },
  TAU_PROVIDER_TIMEOUT: {
    title: 'The provider did not answer in time',
    hint: 'The server may be loading the model or overloaded; raise `providers.timeouts` if it is just slow.',
    userError: false,
  },
  TAU_PROVIDER_SERVER: {
    title: 'The provider failed (HTTP 5xx, or an error inside the stream)',
    hint: 'Usually temporary: try again. The provider message is shown.',
    userError: false,
  },
  TAU_PROVIDER_BAD_RESPONSE: {
    title: 'The provider answered with something that is not its wire format',
    hint: 'Check that the base URL points at the right kind of server (Ollama, OpenAI-compatible, Anthropic).',
    userError: false,
  },
  TAU_PROVIDER_EVENT_TOO_LARGE: {
    title: 'One event of a streamed answer is larger than providers.limits.maxEventBytes',
    hint: 'Usually a tool call writing a huge file at once: ask the model to work in parts, or raise `providers.limits.maxEventBytes`.',
    userError: false,
  },
  TAU_PROVIDER_ABORTED: {
    title: 'The model call was aborted',
    hint: 'Nothing to do: the caller cancelled it.',
    userError: false,
  },
  TAU_PROVIDER_UNSUPPORTED: {
    title: 'The provider does not support this operation (embeddings, listing models, ...)',
    hint: 'Use a provider that supports it, or a model that does.',
    userError: true,
  },
})

export type ProviderErrorKind =
  | 'unknown-provider'
  | 'not-configured'
  | 'auth'
  | 'model-not-found'
  | 'rate-limit'
  | 'context-length'
  | 'bad-request'
  | 'connection'
  | 'timeout'
  | 'server'
  | 'bad-response'
  | 'event-too-large'
  | 'aborted'
  | 'unsupported'

const CODES: Record<ProviderErrorKind, keyof typeof PROVIDER_ERRORS> = {
  'unknown-provider': 'TAU_PROVIDER_UNKNOWN',
  'not-configured': 'TAU_PROVIDER_NOT_CONFIGURED',
  auth: 'TAU_PROVIDER_AUTH',
  'model-not-found': 'TAU_PROVIDER_MODEL_NOT_FOUND',
  'rate-limit': 'TAU_PROVIDER_RATE_LIMIT',
  'context-length': 'TAU_PROVIDER_CONTEXT_LENGTH',
  'bad-request': 'TAU_PROVIDER_BAD_REQUEST',
  connection: 'TAU_PROVIDER_CONNECTION',
  timeout: 'TAU_PROVIDER_TIMEOUT',
  server: 'TAU_PROVIDER_SERVER',
  'bad-response': 'TAU_PROVIDER_BAD_RESPONSE',
  'event-too-large': 'TAU_PROVIDER_EVENT_TOO_LARGE',
  aborted: 'TAU_PROVIDER_ABORTED',
  unsupported: 'TAU_PROVIDER_UNSUPPORTED',
}

export interface ProviderErrorOptions extends TauErrorOptions {
  /** The provider the error came from (`ollama`, `openai`, ...). */
  provider: string
  /** HTTP status, when there was a response. */
  status?: number
  /** Whether trying the same request again may succeed. */
  retryable?: boolean
  /** Seconds the server asked us to wait (Retry-After). */
  retryAfterSeconds?: number
}

export class ProviderError extends TauError {
  readonly kind: ProviderErrorKind
  readonly provider: string
  readonly status: number | undefined
  readonly retryable: boolean
  readonly retryAfterSeconds: number | undefined

  constructor(kind: ProviderErrorKind, message: string, options: ProviderErrorOptions) {
    super(CODES[kind], message, options)
    this.name = 'ProviderError'
    this.kind = kind
    this.provider = options.provider
    this.status = options.status
    this.retryable =
      options.retryable ?? (kind === 'rate-limit' || kind === 'server' || kind === 'connection')
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError
}

/**
 * The same error, carrying the plugin it leaves through (errors made by the shared HttpClient
 * name the provider, not the plugin). Anything else passes unchanged.
 */
export function withPlugin(error: unknown, plugin: string): unknown {
  if (!isProviderError(error) || error.plugin !== undefined) return error
  return new ProviderError(error.kind, error.summary ?? error.message, {
    provider: error.provider,
    plugin,
    retryable: error.retryable,
    hint: error.hint,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
  })
}

const CONTEXT_LENGTH = [
  /context[_ ]length/i,
  /context window/i,
  /maximum context/i,
  /too many tokens/i,
  /prompt is too long/i,
  /exceeds? (the )?(model'?s? )?(max|maximum|context)/i,
  /input length .* exceeds/i,
  /reduce the length of the messages/i,
]

/** Whether a provider's error text says the request is too long for the model. */
export function isContextLengthMessage(message: string): boolean {
  return CONTEXT_LENGTH.some((pattern) => pattern.test(message))
}
