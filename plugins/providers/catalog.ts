/**
 * What the models tau is usually run with can do: context window, tool calling, vision,
 * reasoning, and prices where published. The agent asks capabilities, never a model's name; a
 * provider's live answer (Ollama's /api/show) wins over this table, and config can override both.
 *
 * Matching is by model-name pattern, first match wins, so put specific patterns first. Prices are
 * USD per million tokens as published by the vendors; override them in config where they differ.
 */
import type { ModelCapabilities } from '../../kernel/index.js'

export interface CatalogEntry {
  /** Providers this entry applies to (`ollama`, `openai`, `azure`, `anthropic`, ...). */
  readonly providers: readonly string[]
  readonly pattern: RegExp
  readonly capabilities: ModelCapabilities
}

const K = 1024

const entries: CatalogEntry[] = [
  // --- Ollama (local): the concept's model list ---
  {
    providers: ['ollama'],
    pattern: /^qwen3-vl/,
    capabilities: { contextWindow: 256 * K, tools: true, vision: true, reasoning: true },
  },
  {
    providers: ['ollama'],
    pattern: /^qwen3/,
    capabilities: { contextWindow: 40 * K, tools: true, vision: false, reasoning: true },
  },
  {
    providers: ['ollama'],
    pattern: /^qwen2\.5-coder|^qwen2\.5/,
    capabilities: { contextWindow: 32 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^llama3\.2-vision/,
    capabilities: { contextWindow: 128 * K, tools: false, vision: true, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^llama3\.[123]/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^mistral-small|^mistral-nemo/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^mistral/,
    capabilities: { contextWindow: 32 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^deepseek-r1/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: true },
  },
  {
    providers: ['ollama'],
    pattern: /^deepseek-coder/,
    capabilities: { contextWindow: 16 * K, tools: false, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^deepseek-v3/,
    capabilities: { contextWindow: 160 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^granite3\.[23]/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: true },
  },
  {
    providers: ['ollama'],
    pattern: /^granite3/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^phi4-mini/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^phi4/,
    capabilities: { contextWindow: 16 * K, tools: false, vision: false, reasoning: false },
  },
  {
    providers: ['ollama'],
    pattern: /^gpt-oss/,
    capabilities: { contextWindow: 128 * K, tools: true, vision: false, reasoning: true },
  },

  // --- OpenAI and Azure AI Foundry (deployments are often named after the model) ---
  {
    providers: ['openai', 'azure'],
    pattern: /^gpt-4o-mini/,
    capabilities: {
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      tools: true,
      vision: true,
      reasoning: false,
      structuredOutput: true,
      pricing: { input: 0.15, output: 0.6, cacheRead: 0.075 },
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^gpt-4o/,
    capabilities: {
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      tools: true,
      vision: true,
      reasoning: false,
      structuredOutput: true,
      pricing: { input: 2.5, output: 10, cacheRead: 1.25 },
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^gpt-4\.1-mini/,
    capabilities: {
      contextWindow: 1_047_576,
      maxOutputTokens: 32_768,
      tools: true,
      vision: true,
      reasoning: false,
      structuredOutput: true,
      pricing: { input: 0.4, output: 1.6, cacheRead: 0.1 },
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^gpt-4\.1/,
    capabilities: {
      contextWindow: 1_047_576,
      maxOutputTokens: 32_768,
      tools: true,
      vision: true,
      reasoning: false,
      structuredOutput: true,
      pricing: { input: 2, output: 8, cacheRead: 0.5 },
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^gpt-5/,
    capabilities: {
      contextWindow: 400_000,
      maxOutputTokens: 128_000,
      tools: true,
      vision: true,
      reasoning: true,
      structuredOutput: true,
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^o[134](-mini)?/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 100_000,
      tools: true,
      vision: true,
      reasoning: true,
      structuredOutput: true,
    },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /^mistral-large/i,
    capabilities: { contextWindow: 128_000, tools: true, vision: false, reasoning: false },
  },
  {
    providers: ['openai', 'azure'],
    pattern: /llama-3\.[123]|llama3\.[123]|meta-llama-3/i,
    capabilities: { contextWindow: 128_000, tools: true, vision: false, reasoning: false },
  },

  // --- Anthropic (also Claude on Azure AI Foundry) ---
  {
    providers: ['anthropic', 'azure'],
    pattern: /^claude-opus-4/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 32_000,
      tools: true,
      vision: true,
      reasoning: true,
      pricing: { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
    },
  },
  {
    providers: ['anthropic', 'azure'],
    pattern: /^claude-sonnet-4|^claude-3-7-sonnet/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      tools: true,
      vision: true,
      reasoning: true,
      pricing: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    },
  },
  {
    providers: ['anthropic', 'azure'],
    pattern: /^claude-haiku-4/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      tools: true,
      vision: true,
      reasoning: true,
      pricing: { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
    },
  },
  {
    providers: ['anthropic', 'azure'],
    pattern: /^claude-3-5-haiku/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 8_192,
      tools: true,
      vision: true,
      reasoning: false,
      pricing: { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
    },
  },
  {
    providers: ['anthropic', 'azure'],
    pattern: /^claude/,
    capabilities: {
      contextWindow: 200_000,
      maxOutputTokens: 8_192,
      tools: true,
      vision: true,
      reasoning: false,
    },
  },
]

/** Used when nothing is known about a model: small window, tools assumed (a refusal falls back to prompt tools). */
export const UNKNOWN_MODEL: ModelCapabilities = Object.freeze({
  contextWindow: 8_192,
  tools: true,
  vision: false,
  reasoning: false,
})

export const CATALOG: readonly CatalogEntry[] = Object.freeze(entries)

/** The catalogue's entry for a model, or undefined. Provider-qualified names (`org/model`) match by their last part. */
export function lookupCapabilities(provider: string, model: string): ModelCapabilities | undefined {
  const name = model.toLowerCase().split('/').pop() ?? model
  for (const entry of CATALOG) {
    if (entry.providers.includes(provider) && entry.pattern.test(name)) return entry.capabilities
  }
  // Compatible servers (vLLM, LM Studio, ...) serve the same open models under their usual names.
  for (const entry of CATALOG) if (entry.pattern.test(name)) return entry.capabilities
  return undefined
}
