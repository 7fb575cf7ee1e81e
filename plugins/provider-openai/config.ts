/**
 * The `providers.openai` config slice. Environment variables (OPENAI_API_KEY, OPENAI_BASE_URL,
 * AZURE_OPENAI_ENDPOINT, ...) are read in setup; config given here wins over them.
 */
import { z } from 'zod'

/** A provider name as it appears in a ModelRef (`lmstudio` in `lmstudio:qwen2.5-7b`). */
const PROVIDER_NAME = /^[a-z][a-z0-9-]*$/
const RESERVED = new Set(['openai', 'azure'])

const headers = z.record(z.string(), z.string()).default({})
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+/i, 'must be an http(s) URL')
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')

/**
 * Which field carries ModelRequest.maxOutputTokens. OpenAI deprecated `max_tokens` and its
 * reasoning models (o-series, gpt-5) reject it, so OpenAI and Azure default to
 * `max_completion_tokens`; OpenAI-compatible servers all understand `max_tokens`.
 */
const maxTokensField = z.enum(['max_completion_tokens', 'max_tokens'])

/** Options shared by every endpoint kind. */
const common = {
  /** Extra headers on every request (OpenRouter's `HTTP-Referer` / `X-Title`, a gateway's header, ...). */
  headers,
  /**
   * Sent as `parallel_tool_calls` when the request has tools. Unset: not sent, the server's
   * default applies (parallel on OpenAI).
   */
  parallelToolCalls: z.boolean().optional(),
  /** Ask for usage in the stream (`stream_options.include_usage`). Turn off for a server that rejects it. */
  includeUsage: z.boolean().default(true),
}

export const compatibleServerConfig = z.strictObject({
  /** The server's OpenAI API root, up to and including `/v1`, e.g. `http://127.0.0.1:1234/v1`. */
  baseURL: httpUrl,
  /** Environment variable holding the key, sent as `Authorization: Bearer`. No key: no header. */
  apiKeyEnv: envName.optional(),
  ...common,
  maxTokensField: maxTokensField.default('max_tokens'),
})

export const azureConfig = z.strictObject({
  /** `https://RESOURCE.openai.azure.com` (or `.services.ai.azure.com`). Default: $AZURE_OPENAI_ENDPOINT. */
  endpoint: httpUrl.optional(),
  /** Environment variable holding the key, sent as the `api-key` header. */
  apiKeyEnv: envName.default('AZURE_OPENAI_API_KEY'),
  /**
   * `v1`: `{endpoint}/openai/v1/chat/completions`, the deployment name in the body (no api-version).
   * `deployments`: `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`.
   * `inference`: Azure AI Foundry model inference, `{endpoint}/chat/completions?api-version=...`
   * with the endpoint ending in `/models`.
   * Unset: `inference` for an endpoint ending in `/models`, `deployments` when an api-version is
   * given (here or in $OPENAI_API_VERSION), else `v1`.
   */
  apiStyle: z.enum(['v1', 'deployments', 'inference']).optional(),
  /** The api-version query parameter. Default: $OPENAI_API_VERSION, else one that fits the style. */
  apiVersion: z.string().min(1).optional(),
  ...common,
  maxTokensField: maxTokensField.default('max_completion_tokens'),
})

export const openaiConfig = z.strictObject({
  /** OpenAI's API root. Default: $OPENAI_BASE_URL, else https://api.openai.com/v1. */
  baseURL: httpUrl.optional(),
  /** Environment variable holding the key, sent as `Authorization: Bearer`. */
  apiKeyEnv: envName.default('OPENAI_API_KEY'),
  /** `OpenAI-Organization` header. Default: $OPENAI_ORG_ID. */
  organization: z.string().min(1).optional(),
  /** `OpenAI-Project` header. Default: $OPENAI_PROJECT_ID. */
  project: z.string().min(1).optional(),
  ...common,
  maxTokensField: maxTokensField.default('max_completion_tokens'),
  /** Azure OpenAI / Azure AI Foundry, registered as provider `azure`. */
  azure: azureConfig.prefault({}),
  /** OpenAI-compatible servers, each registered as a provider of its own name. */
  compatible: z
    .record(z.string(), compatibleServerConfig)
    .default({})
    .superRefine((servers, ctx) => {
      for (const name of Object.keys(servers)) {
        if (!PROVIDER_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `'${name}' is not a provider name: use lowercase letters, digits and hyphens`,
          })
        } else if (RESERVED.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `'${name}' is taken by this plugin's own provider; choose another name`,
          })
        }
      }
    }),
})

export type OpenAIConfig = z.output<typeof openaiConfig>
export type AzureConfig = z.output<typeof azureConfig>
export type CompatibleServerConfig = z.output<typeof compatibleServerConfig>
export type MaxTokensField = z.output<typeof maxTokensField>
