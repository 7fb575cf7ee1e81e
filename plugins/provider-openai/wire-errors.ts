/**
 * OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}` (Azure: `{code, message}`),
 * read both from non-2xx answers and from an error event inside a 200 stream, and mapped to
 * ProviderError kinds by its `code` first and its message second.
 */
import { maskSecrets as maskSecretValues } from '../../kernel/index.js'
// isContextLengthMessage is not re-exported by the providers plugin's index (yet).
import {
  HttpClient,
  type HttpSettings,
  isContextLengthMessage,
  ProviderError,
  type ProviderErrorKind,
  type ProviderHints,
  withPlugin,
} from '../providers/index.js'

export interface WireError {
  readonly message: string
  readonly type: string | undefined
  readonly code: string | undefined
  readonly param: string | undefined
}

const str = (value: unknown) =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined

/** The error object of an OpenAI-shaped error (the body or a stream event), if it is one. */
export function wireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const inner = (value as { error?: unknown }).error
  if (typeof inner === 'string') return { message: inner, type: undefined, code: undefined, param: undefined }
  const error = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : undefined
  if (!error) return undefined
  return {
    message: str(error.message) ?? JSON.stringify(error).slice(0, 500),
    type: str(error.type),
    code: str(error.code),
    param: str(error.param),
  }
}

export function parseWireError(text: string): WireError | undefined {
  try {
    return wireError(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** The kernel's masking: whole values, never single characters (kernel/logger.ts). */
export const maskSecrets = maskSecretValues

const CONTEXT_CODES = new Set(['context_length_exceeded', 'string_above_max_length'])
/** Servers that have tools turned off say so in their own words; the registry then uses prompt tools. */
const TOOLS_OFF =
  /enable-auto-tool-choice|tool-call-parser|requires --jinja|tools param requires|tool calling is not (enabled|supported)/i

/** Kind of an error inside a stream (or a non-stream body), from its code and type. */
function streamKind(error: WireError): ProviderErrorKind {
  const code = error.code ?? ''
  if (CONTEXT_CODES.has(code) || isContextLengthMessage(error.message)) return 'context-length'
  if (
    code === 'rate_limit_exceeded' ||
    code === '429' ||
    error.type === 'rate_limit_error' ||
    error.type === 'requests'
  )
    return 'rate-limit'
  if (code === 'invalid_api_key' || code === '401' || error.type === 'authentication_error') return 'auth'
  if (code === 'model_not_found' || code === 'DeploymentNotFound') return 'model-not-found'
  if (error.type === 'invalid_request_error' || code === 'content_filter') return 'bad-request'
  return 'server'
}

/**
 * An error the server sent after answering 200. Never retried by the HTTP client; marked
 * retryable only when nothing had been produced yet, so a caller could try again.
 */
export function streamError(
  provider: string,
  error: WireError,
  produced: boolean,
  secrets: readonly string[],
): ProviderError {
  const kind = streamKind(error)
  const detail = [error.code, error.type].filter(Boolean).join(', ')
  const message = `${provider}: error inside the answer stream${detail ? ` (${detail})` : ''}: ${maskSecrets(error.message, secrets)}`
  return new ProviderError(kind, message, {
    provider,
    retryable: !produced && (kind === 'server' || kind === 'rate-limit'),
  })
}

/** The shared HttpClient, reading OpenAI's error codes where the status alone says too little. */
export class OpenAIHttpClient extends HttpClient {
  private readonly secrets: readonly string[]

  constructor(provider: string, settings: HttpSettings, hints: ProviderHints, secrets: readonly string[]) {
    super(provider, settings, hints)
    this.secrets = secrets
  }

  override statusError(
    status: number,
    text: string,
    headers: Record<string, string | string[] | undefined> = {},
  ): ProviderError {
    const clean = maskSecrets(text, this.secrets)
    const error = parseWireError(clean)
    const provider = this.provider
    const base = { provider, status, retryable: false }
    if (error) {
      const say = (what: string) => `${provider}: ${what} (HTTP ${status}): ${error.message}`
      if (error.code && CONTEXT_CODES.has(error.code)) {
        return new ProviderError('context-length', say('request too long for the model'), base)
      }
      if (status === 429 && error.code === 'insufficient_quota') {
        // Waiting does not help: the account is out of credit.
        return new ProviderError('rate-limit', say('quota exceeded'), {
          ...base,
          hint: 'Check the plan and billing of the account this key belongs to.',
        })
      }
      if ((status === 400 || status === 422) && TOOLS_OFF.test(error.message)) {
        return new ProviderError('bad-request', say('tools are not supported by this server'), base)
      }
    }
    return super.statusError(status, clean, headers)
  }
}

export const PLUGIN = 'provider-openai'

/** Errors leave this plugin carrying its name (those made by the shared HttpClient have none). */
export const stamp = (error: unknown): unknown => withPlugin(error, PLUGIN)
