/**
 * Where each provider of this plugin sends its calls and how it authenticates: OpenAI itself,
 * Azure OpenAI / Azure AI Foundry in its three URL forms, and named OpenAI-compatible servers.
 * Everything else (the body, the stream) is the same Chat Completions wire for all of them.
 */
import { ProviderError } from '../providers/index.js'
import type { AzureConfig, CompatibleServerConfig, MaxTokensField, OpenAIConfig } from './config.js'

export type Flavour = 'openai' | 'azure' | 'compatible'
export type AzureStyle = 'v1' | 'deployments' | 'inference'

export const OPENAI_BASE_URL = 'https://api.openai.com/v1'
/** api-version for the deployments form when none is given: the one Azure documents reasoning models with. */
export const DEFAULT_AZURE_API_VERSION = '2025-04-01-preview'
/** api-version of the Azure AI model inference API (`.../models/chat/completions`). */
export const DEFAULT_INFERENCE_API_VERSION = '2024-05-01-preview'

type Env = Readonly<Record<string, string | undefined>>

export interface Endpoint {
  /** The provider name in ModelRefs. */
  readonly provider: string
  readonly flavour: Flavour
  readonly azureStyle?: AzureStyle
  /** A short description for logs and `tau doctor`: where the calls go (never a key). */
  readonly where: string
  /** The environment variable the key comes from, for error hints. */
  readonly keyVariable: string | undefined
  /**
   * Where the credentials came from, never the key: the variable's name when it is set, the
   * config's headers field when they carry the credential, else `none` (a keyless local server).
   */
  readonly keySource: string
  /** Undefined when usable; else what is missing (an unset endpoint or key). */
  readonly missing: string | undefined
  /** Values to mask in any error text (the key). */
  readonly secrets: readonly string[]
  readonly maxTokensField: MaxTokensField
  readonly includeUsage: boolean
  readonly parallelToolCalls: boolean | undefined
  chatUrl(model: string): string
  embeddingsUrl(model: string): string
  /** Undefined where the API has no model listing. */
  modelsUrl(): string | undefined
  /** Headers with the credentials. Throws 'not-configured' when something needed is missing. */
  headers(): Record<string, string>
}

const trimSlashes = (url: string) => url.replace(/\/+$/, '')
/** A URL from the environment may be anything: undefined when it is not an http(s) URL. */
function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined
  } catch {
    return undefined
  }
}
/** Endpoint.keySource: the variable set, else config headers carrying the credential, else none. */
function keySourceOf(
  key: string | undefined,
  variable: string | undefined,
  headers: Record<string, string>,
  headersField: string,
): string {
  if (key && variable) return variable
  return hasHeader(headers, 'authorization') || hasHeader(headers, 'api-key') ? headersField : 'none'
}

const hasHeader = (headers: Record<string, string>, name: string) =>
  Object.keys(headers).some((key) => key.toLowerCase() === name)
const keyFrom = (env: Env, variable: string | undefined) => {
  const value = variable ? env[variable]?.trim() : undefined
  return value ? value : undefined
}

function notConfigured(provider: string, what: string): ProviderError {
  return new ProviderError('not-configured', `${provider}: ${what}`, { provider, retryable: false })
}

function endpoint(base: Omit<Endpoint, 'headers'>, headers: () => Record<string, string>): Endpoint {
  return {
    ...base,
    headers: () => {
      if (base.missing) throw notConfigured(base.provider, base.missing)
      return headers()
    },
  }
}

/** OpenAI itself: $OPENAI_BASE_URL or api.openai.com, `Authorization: Bearer $OPENAI_API_KEY`. */
export function openaiEndpoint(config: OpenAIConfig, env: Env): Endpoint {
  const base = trimSlashes(config.baseURL ?? (env.OPENAI_BASE_URL?.trim() || OPENAI_BASE_URL))
  const key = keyFrom(env, config.apiKeyEnv)
  const parsed = parseUrl(base)
  const official = parsed?.hostname === 'api.openai.com'
  const organization = config.organization ?? (env.OPENAI_ORG_ID?.trim() || undefined)
  const project = config.project ?? (env.OPENAI_PROJECT_ID?.trim() || undefined)
  // api.openai.com needs a key; a local server behind OPENAI_BASE_URL may not.
  const missing = !parsed
    ? `the base URL ${JSON.stringify(base)} (OPENAI_BASE_URL or providers.openai.baseURL) is not an http(s) URL`
    : official && !key && !hasHeader(config.headers, 'authorization')
      ? `${config.apiKeyEnv} is not set: export your OpenAI API key in it (or point OPENAI_BASE_URL at another server)`
      : undefined
  return endpoint(
    {
      provider: 'openai',
      flavour: 'openai',
      where: base,
      keyVariable: config.apiKeyEnv,
      keySource: keySourceOf(key, config.apiKeyEnv, config.headers, 'providers.openai.headers'),
      missing,
      secrets: key ? [key] : [],
      maxTokensField: config.maxTokensField,
      includeUsage: config.includeUsage,
      parallelToolCalls: config.parallelToolCalls,
      chatUrl: () => `${base}/chat/completions`,
      embeddingsUrl: () => `${base}/embeddings`,
      modelsUrl: () => `${base}/models`,
    },
    () => ({
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(organization ? { 'openai-organization': organization } : {}),
      ...(project ? { 'openai-project': project } : {}),
      ...config.headers,
    }),
  )
}

/** Picks the Azure URL form: explicit config, else from the endpoint's path and the api-version. */
export function azureStyleOf(config: AzureConfig, endpointUrl: string | undefined, env: Env): AzureStyle {
  if (config.apiStyle) return config.apiStyle
  const path = endpointUrl ? trimSlashes(parseUrl(endpointUrl)?.pathname ?? '') : ''
  if (path.endsWith('/models')) return 'inference'
  if (path.endsWith('/openai/v1')) return 'v1'
  return (config.apiVersion ?? env.OPENAI_API_VERSION?.trim()) ? 'deployments' : 'v1'
}

/**
 * Azure OpenAI and Azure AI Foundry. The model part of an `azure:` ref is the deployment name.
 *
 *   v1           {endpoint}/openai/v1/chat/completions              deployment in the body
 *   deployments  {endpoint}/openai/deployments/{dep}/chat/completions?api-version=...
 *   inference    {endpoint ending in /models}/chat/completions?api-version=...   deployment in the body
 */
export function azureEndpoint(config: AzureConfig, env: Env): Endpoint {
  const raw = config.endpoint ?? (env.AZURE_OPENAI_ENDPOINT?.trim() || undefined)
  const key = keyFrom(env, config.apiKeyEnv)
  const style = azureStyleOf(config, raw, env)
  const envVersion = env.OPENAI_API_VERSION?.trim() || undefined
  let missing: string | undefined
  if (raw && !parseUrl(raw))
    missing = `the endpoint ${JSON.stringify(raw)} (AZURE_OPENAI_ENDPOINT or providers.openai.azure.endpoint) is not an http(s) URL`
  else if (!raw)
    missing =
      'AZURE_OPENAI_ENDPOINT is not set: export your resource endpoint in it (https://RESOURCE.openai.azure.com) or set providers.openai.azure.endpoint'
  else if (!key && !hasHeader(config.headers, 'api-key') && !hasHeader(config.headers, 'authorization'))
    missing = `${config.apiKeyEnv} is not set: export your Azure OpenAI key in it`

  const endpointUrl = trimSlashes(raw ?? 'https://azure-endpoint-not-set.invalid')
  // The resource root, whatever of /openai, /openai/v1 or /models the user wrote after it.
  const root = endpointUrl.replace(/\/openai(\/v1)?$/, '').replace(/\/models$/, '')
  const enc = encodeURIComponent
  let chat: (model: string) => string
  let embeddings: (model: string) => string
  let models: () => string | undefined
  let where: string
  if (style === 'deployments') {
    const version = enc(config.apiVersion ?? envVersion ?? DEFAULT_AZURE_API_VERSION)
    chat = (model) => `${root}/openai/deployments/${enc(model)}/chat/completions?api-version=${version}`
    embeddings = (model) => `${root}/openai/deployments/${enc(model)}/embeddings?api-version=${version}`
    models = () => `${root}/openai/models?api-version=${version}`
    where = `${root}/openai/deployments (api-version ${decodeURIComponent(version)})`
  } else if (style === 'inference') {
    // Only an explicit version: $OPENAI_API_VERSION names Azure OpenAI versions, not this API's.
    const version = enc(config.apiVersion ?? DEFAULT_INFERENCE_API_VERSION)
    const base = `${root}/models`
    chat = () => `${base}/chat/completions?api-version=${version}`
    embeddings = () => `${base}/embeddings?api-version=${version}`
    models = () => undefined
    where = `${base} (model inference, api-version ${decodeURIComponent(version)})`
  } else {
    // The v1 API takes no dated api-version; an explicit one (`preview`) is passed on.
    const query = config.apiVersion ? `?api-version=${enc(config.apiVersion)}` : ''
    const base = `${root}/openai/v1`
    chat = () => `${base}/chat/completions${query}`
    embeddings = () => `${base}/embeddings${query}`
    models = () => `${base}/models${query}`
    where = base
  }
  return endpoint(
    {
      provider: 'azure',
      flavour: 'azure',
      azureStyle: style,
      where,
      keyVariable: config.apiKeyEnv,
      keySource: keySourceOf(key, config.apiKeyEnv, config.headers, 'providers.openai.azure.headers'),
      missing,
      secrets: key ? [key] : [],
      maxTokensField: style === 'inference' ? 'max_tokens' : config.maxTokensField,
      includeUsage: config.includeUsage,
      parallelToolCalls: config.parallelToolCalls,
      chatUrl: chat,
      embeddingsUrl: embeddings,
      modelsUrl: models,
    },
    () => ({
      ...(key ? { 'api-key': key } : {}),
      // The inference API rejects parameters it does not know unless told to drop them.
      ...(style === 'inference' ? { 'extra-parameters': 'drop' } : {}),
      ...config.headers,
    }),
  )
}

/** A named OpenAI-compatible server (LM Studio, vLLM, llama.cpp, OpenRouter, ...). */
export function compatibleEndpoint(name: string, config: CompatibleServerConfig, env: Env): Endpoint {
  const base = trimSlashes(config.baseURL)
  const key = keyFrom(env, config.apiKeyEnv)
  return endpoint(
    {
      provider: name,
      flavour: 'compatible',
      where: base,
      keyVariable: config.apiKeyEnv,
      keySource: keySourceOf(
        key,
        config.apiKeyEnv,
        config.headers,
        `providers.openai.compatible.${name}.headers`,
      ),
      // A server configured with a key variable needs the key; one without takes no credentials.
      missing:
        config.apiKeyEnv && !key && !hasHeader(config.headers, 'authorization')
          ? `${config.apiKeyEnv} is not set: export the key for ${name} in it`
          : undefined,
      secrets: key ? [key] : [],
      maxTokensField: config.maxTokensField,
      includeUsage: config.includeUsage,
      parallelToolCalls: config.parallelToolCalls,
      chatUrl: () => `${base}/chat/completions`,
      embeddingsUrl: () => `${base}/embeddings`,
      modelsUrl: () => `${base}/models`,
    },
    () => ({ ...(key ? { authorization: `Bearer ${key}` } : {}), ...config.headers }),
  )
}
