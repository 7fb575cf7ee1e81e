/** The `providers.anthropic` config slice. Environment variables are read in setup, not here. */
import { z } from 'zod'

export const DEFAULT_BASE_URL = 'https://api.anthropic.com'
export const DEFAULT_API_VERSION = '2023-06-01'

export const anthropicConfig = z.strictObject({
  /**
   * Where the Messages API lives: `https://api.anthropic.com` (default, or ANTHROPIC_BASE_URL),
   * or Claude on Azure AI Foundry: `https://<resource>.services.ai.azure.com/anthropic`.
   * `/v1/messages` and `/v1/models` are appended; a trailing `/v1` is accepted too.
   */
  baseURL: z.url().optional(),
  /** The key itself. Prefer the environment variable (apiKeyVariable): config files get committed. */
  apiKey: z.string().min(1).optional(),
  /** The environment variable holding the key (or, with authHeader 'bearer', the token). */
  apiKeyVariable: z.string().min(1).default('ANTHROPIC_API_KEY'),
  /**
   * How the key is sent: `x-api-key` (Anthropic, and Foundry API keys) or `bearer`
   * (`Authorization: Bearer`, for Foundry with a Microsoft Entra ID token, or a gateway).
   */
  authHeader: z.enum(['x-api-key', 'bearer']).default('x-api-key'),
  /** The `anthropic-version` header. */
  apiVersion: z.string().min(1).default(DEFAULT_API_VERSION),
  /** Extra headers on every request, e.g. `{ 'anthropic-beta': '...' }`. */
  headers: z.record(z.string(), z.string()).default({}),
  /** max_tokens when a request sets none (default: the model's catalogue maximum, else 8192). */
  maxTokens: z.number().int().positive().optional(),
  /**
   * How reasoning is asked for: `enabled` (a thinking budget, from the request or thinkingBudget)
   * or `adaptive` (the model decides; a requested effort goes to output_config.effort), which the
   * newest models prefer.
   */
  thinking: z.enum(['enabled', 'adaptive']).default('enabled'),
  /** Thinking budget when reasoning is asked for without one (`reasoning: true`). */
  thinkingBudget: z.number().int().min(1024).default(8192),
  /** Mark the stable prefix (tools, system, conversation history) with cache_control breakpoints. */
  promptCaching: z.boolean().default(true),
})

export type AnthropicConfig = z.infer<typeof anthropicConfig>
